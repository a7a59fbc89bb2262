//! Training a model file (SPEC §11): the convention's checks, the training step (the
//! file's own `fn step(p, x, y, lr) -> (P, f32)`, or SGD on `grad(loss(p, x, y), p)`
//! generated as tensorc source), the epoch loop and test accuracy.
//!
//! Everything runs through [`Module::compile`] and [`Module::run`], so training uses
//! whichever backend the [`Session`] has. Parameters stay host [`Tensor`]s between steps
//! (device tensors on the GPU); every step has the same argument types (the last
//! partial batch of an epoch is dropped), so the step compiles once. The step is
//! compiled donating the old parameters ([`Module::compile_donating`]): the loop gives
//! them up, so the new ones may be written into their storage.
//!
//! ```no_run
//! # fn main() -> Result<(), tensorc::Error> {
//! use tc_train::train::{self, Model, TrainOptions};
//! let session = tensorc::Session::new(tensorc::Backend::Interp)?;
//! let model = Model::compile_file(&session, "examples/fashion_mlp.tc")?;
//! let data = tc_train::data::synthetic(512);
//! let outcome = train::train(&session, &model, &data, &TrainOptions::default(), &mut |_| {})?;
//! println!("{:.2}%", 100.0 * outcome.epochs.last().unwrap().test_accuracy);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tc_syntax::ast::{Dim, FnItem, Item, Span, Type as AstType};
use tc_syntax::diag::{Diagnostic, Loc};

use crate::data::{self, DataSet, Layout, Rng, Split};
use tensorc::{out_type_string, ArgValue, Compiled, DType, Diagnostics, Error, Held, Module, OutTree, Session, Tensor, Value};

/// The name of the SGD step generated for files without a `step`.
pub const SGD_STEP: &str = "__tensorc_sgd_step";

const CONVENTION: &str = "a model file defines `fn init(seed) -> P` (a tuple of tensors), \
                          `fn loss(p: P, x, y) -> f32` and `fn predict(p: P, x)` (logits), \
                          and optionally `fn step(p, x, y, lr) -> (P, f32)` (SPEC §11)";

/// The knobs of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Examples per step; the last partial batch of each epoch is dropped.
    pub batch: usize,
    /// Passed to the step as a scalar (`f32` unless `step` annotates `lr` otherwise).
    pub lr: f64,
    /// Seeds `init` and the shuffling of every epoch.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions { epochs: 5, batch: 64, lr: 0.1, seed: 0 }
    }
}

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Mean of the step losses.
    pub loss: f64,
    /// Fraction of the test split whose `argmax(predict)` is the label.
    pub test_accuracy: f64,
    /// Training examples per second (steps only, without evaluation).
    pub examples_per_s: f64,
    pub steps: usize,
    pub train_time: Duration,
    pub eval_time: Duration,
    /// Bytes uploaded to and read back from the GPU by the epoch's steps (zero on host
    /// backends): the batches and the losses, since parameters stay on the device.
    pub transfers: tc_wgpu::Transfers,
}

/// Progress, reported to the caller while training.
#[derive(Debug)]
pub enum Event<'a> {
    /// Everything compiled and checked, before the first epoch: the parameters from
    /// `init` and the step's entry point (`step` or [`SGD_STEP`]).
    Ready { params: &'a Value, step: &'a str },
    /// Before the first step of an epoch; `dropped` examples do not fill a batch.
    EpochStart { epoch: usize, epochs: usize, steps: usize, dropped: usize },
    /// After each step: the 1-based step and the mean loss of the epoch so far.
    Step { step: usize, loss: f64 },
    /// The steps of the epoch are done; test accuracy is being computed.
    Evaluating,
    EpochEnd(&'a EpochReport),
}

/// The result of [`train`].
#[derive(Clone, Debug)]
pub struct Outcome {
    pub epochs: Vec<EpochReport>,
    /// The final parameters, shaped as `init` returned them.
    pub params: Value,
}

/// A model file, compiled and checked against the convention of SPEC §11.
pub struct Model {
    module: Module,
    pub(crate) name: String,
    pub(crate) text: String,
    /// The root file's functions by name.
    items: HashMap<String, FnItem>,
    /// Images as `[B, 784]` or, when `loss`'s or `predict`'s `x` is annotated 4-D, `[B, 1, 28, 28]`.
    pub layout: Layout,
    /// The float dtype of `x` if annotated, else `f32`.
    pub x_dtype: DType,
}

/// Required functions and their parameters, in order.
const REQUIRED: [(&str, &[&str]); 3] = [("init", &["seed"]), ("loss", &["p", "x", "y"]), ("predict", &["p", "x"])];
const STEP: (&str, &[&str]) = ("step", &["p", "x", "y", "lr"]);

impl Model {
    /// Read and compile the model in `path`.
    pub fn compile_file(session: &Session, path: impl AsRef<Path>) -> Result<Model, Error> {
        let path = path.as_ref();
        let text = tensorc::read_source(path)?;
        Model::compile_source(session, path.display().to_string(), text)
    }

    /// Compile the model `text`, shown in diagnostics as the file `name`; a compile error
    /// if `init`, `loss` or `predict` is missing or takes the wrong number of arguments.
    pub fn compile_source(session: &Session, name: impl Into<String>, text: impl Into<String>) -> Result<Model, Error> {
        let (name, text) = (name.into(), text.into());
        let module = session.compile_source(name.clone(), text.clone())?;
        let (file, _) = tc_syntax::parse_file(module.root(), &text);
        let items: HashMap<String, FnItem> = file
            .items
            .into_iter()
            .filter_map(|item| match item {
                Item::Fn(f) => Some((f.name.name.clone(), f)),
                _ => None,
            })
            .collect();
        let mut model = Model { module, name, text, items, layout: Layout::Flat, x_dtype: DType::F32 };
        let mut diagnostics = Vec::new();
        for (fname, params) in REQUIRED {
            match model.items.get(fname) {
                None => diagnostics.push(
                    Diagnostic::new("E0102", model.loc(Span { start: 0, end: 0 }), format!("the model has no function `{fname}`"))
                        .with_label(format!("`fn {fname}({})` is missing", params.join(", ")))
                        .with_hint(CONVENTION),
                ),
                Some(item) => diagnostics.extend(model.arity(item, params)),
            }
        }
        if let Some(item) = model.items.get(STEP.0) {
            diagnostics.extend(model.arity(item, STEP.1));
        }
        if !diagnostics.is_empty() {
            return Err(model.errors(diagnostics));
        }
        let x_types: Vec<&AstType> =
            ["loss", "predict"].iter().filter_map(|f| model.items[*f].params.get(1)?.ty.as_ref()).collect();
        for ty in x_types {
            if let AstType::Tensor { dtype, dims: Some(dims), .. } = ty {
                if dims.len() == 4 && !dims.iter().any(|d| matches!(d, Dim::Rest(_))) {
                    model.layout = Layout::Image;
                }
                if let Some(dtype) = DType::from_name(&dtype.name).filter(|d| d.is_float()) {
                    model.x_dtype = dtype;
                }
            }
        }
        Ok(model)
    }

    /// The compiled program of the model file.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Whether the file defines its own `step`.
    pub fn has_step(&self) -> bool {
        self.items.contains_key(STEP.0)
    }

    /// The name of `predict`'s parameter tuple (`p` by the convention): `--save` names
    /// the tensors `p.0`, `p.1`, ... so that `tensorc run` binds them to it.
    pub fn params_name(&self) -> &str {
        self.items.get("predict").and_then(|f| f.params.first()).map_or("p", |p| p.name.name.as_str())
    }

    fn loc(&self, span: Span) -> Loc {
        Loc { file: self.module.root(), span }
    }

    fn errors(&self, diagnostics: Vec<Diagnostic>) -> Error {
        Error::Compile(Diagnostics { sources: self.module.sources().clone(), root: self.module.root(), diagnostics })
    }

    /// A compile error at function `fname`'s name.
    fn error_at(&self, fname: &str, code: &'static str, message: String, label: String) -> Error {
        let span = self.items.get(fname).map_or(Span { start: 0, end: 0 }, |f| f.name.span);
        self.errors(vec![Diagnostic::new(code, self.loc(span), message).with_label(label).with_hint(CONVENTION)])
    }

    /// A diagnostic unless `item` can be called with exactly `params.len()` arguments.
    fn arity(&self, item: &FnItem, params: &[&str]) -> Option<Diagnostic> {
        let required = item.params.iter().filter(|p| p.default.is_none()).count();
        let n = params.len();
        if required <= n && n <= item.params.len() {
            return None;
        }
        let fname = &item.name.name;
        Some(
            Diagnostic::new(
                "E0206",
                self.loc(item.name.span),
                format!("`{fname}` must take {n} argument{} ({}); it takes {}", plural(n), params.join(", "), item.params.len()),
            )
            .with_label(format!("expected `fn {fname}({})`", params.join(", ")))
            .with_hint(CONVENTION),
        )
    }

    /// The dtype of parameter `index` of `fname` when annotated as a scalar.
    fn scalar_param_dtype(&self, fname: &str, index: usize) -> Option<DType> {
        match self.items.get(fname)?.params.get(index)?.ty.as_ref()? {
            AstType::Tensor { dtype, dims: None, .. } => DType::from_name(&dtype.name),
            AstType::Tensor { dtype, dims: Some(dims), .. } if dims.is_empty() => DType::from_name(&dtype.name),
            _ => None,
        }
    }

    /// The initial parameters `init(seed)`: a compile error unless they are a tuple.
    pub fn init(&self, seed: u64) -> Result<Value, Error> {
        let dtype = self.scalar_param_dtype("init", 0).filter(|d| d.is_int()).unwrap_or(DType::I32);
        // Seeds wrap into the dtype: the same --seed always gives the same parameters.
        let seed = Tensor::new(Vec::new(), tc_tensor::Data::from_i64(dtype, &[seed as i64]))
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let params = self.module.call_bound("init", &self.with_defaults("init", vec![Some(Value::Tensor(seed))]))?;
        match &params {
            Value::Tuple(elems) if !elems.is_empty() => Ok(params),
            other => Err(self.error_at(
                "init",
                "E0310",
                format!("`init` must return the parameters as a tuple of tensors, but it returns {}", other.type_string()),
                "defined here".to_string(),
            )),
        }
    }

    /// `args` padded with `None` (defaults) to `fname`'s parameter count.
    fn with_defaults<T>(&self, fname: &str, mut args: Vec<Option<T>>) -> Vec<Option<T>> {
        let n = self.items.get(fname).map_or(args.len(), |f| f.params.len());
        args.resize_with(n, || None);
        args
    }
}

impl Model {
    /// Check that `loss(params, x, y)` is a scalar float (compiling it once).
    pub fn check_loss(&self, params: &Value, x: &Tensor, y: &Tensor) -> Result<(), Error> {
        let args = self.with_defaults("loss", vec![Some(params.arg_type()), Some(tensor_type(x)), Some(tensor_type(y))]);
        let compiled = self.module.compile("loss", &args)?;
        let types = compiled.graph.output_types();
        let scalar = compiled.outputs == OutTree::Tensor && types[0].shape.is_empty() && types[0].dtype.is_float();
        if scalar {
            return Ok(());
        }
        Err(self.error_at(
            "loss",
            "E0303",
            format!(
                "`loss` must return the mean loss of the batch as a scalar f32, but it returns {}",
                out_type_string(&compiled.outputs, &types)
            ),
            format!("called with p: {}, x: {}, y: {}", params.type_string(), x.type_string(), y.type_string()),
        ))
    }

    /// The compiled `predict` for parameters `params` and a batch `x`, checked to give
    /// logits `[B, C]`.
    fn compiled_predict(&self, params: &ArgValue, x: &Tensor) -> Result<Arc<Compiled>, Error> {
        let args = self.with_defaults("predict", vec![Some(params.clone()), Some(tensor_type(x))]);
        let compiled = self.module.compile("predict", &args)?;
        let types = compiled.graph.output_types();
        let b = x.shape()[0];
        let logits = compiled.outputs == OutTree::Tensor && types[0].rank() == 2 && types[0].shape[0] == b;
        if logits {
            return Ok(compiled);
        }
        Err(self.error_at(
            "predict",
            "E0303",
            format!(
                "`predict` must return logits f32[B, C] (B = {b} here), but it returns {}",
                out_type_string(&compiled.outputs, &types)
            ),
            format!("called with x: {}", x.type_string()),
        ))
    }

    /// The fraction of `split` whose `argmax(predict(params, x))` is the label, in
    /// batches of `batch` (the last one may be smaller).
    pub fn accuracy(&self, params: &Value, split: &Split, batch: usize) -> Result<f64, Error> {
        let leaves: Vec<Tensor> = params.leaves().into_iter().cloned().collect();
        self.accuracy_of(&params.arg_type(), &leaves, split, batch)
    }

    fn accuracy_of(&self, params: &ArgValue, leaves: &[Tensor], split: &Split, batch: usize) -> Result<f64, Error> {
        let indices: Vec<usize> = (0..split.len()).collect();
        let mut correct = 0usize;
        for chunk in indices.chunks(batch.max(1)) {
            let (x, _) = data::batch(split, chunk, self.layout, self.x_dtype);
            let compiled = self.compiled_predict(params, &x)?;
            let mut inputs = leaves.to_vec();
            inputs.push(x);
            let logits = self.module.run(&compiled, &inputs)?.swap_remove(0);
            let classes = logits.shape()[1];
            let values = logits.data().to_f64_vec();
            for (row, &i) in chunk.iter().enumerate() {
                let row = &values[row * classes..(row + 1) * classes];
                if argmax(row) == Some(usize::from(split.labels[i])) {
                    correct += 1;
                }
            }
        }
        Ok(correct as f64 / split.len().max(1) as f64)
    }

    /// Compile the training step for parameters `params` and batches like `x`, `y`:
    /// the file's `step`, or SGD generated as tensorc source appended to the file.
    pub fn stepper(&self, session: &Session, params: &Value, x: &Tensor, y: &Tensor, lr: f64) -> Result<Stepper, Error> {
        let (own, entry, lr_dtype) = if self.has_step() {
            let dtype = self.scalar_param_dtype("step", 3).filter(|d| d.is_float()).unwrap_or(DType::F32);
            (None, "step", dtype)
        } else {
            let text = format!("{}\n{}", self.text, sgd_source(params));
            (Some(session.compile_source(self.name.clone(), text)?), SGD_STEP, DType::F32)
        };
        let lr = Tensor::new(Vec::new(), tc_tensor::Data::from_f64(lr_dtype, &[lr])).map_err(|e| Error::Runtime(e.to_string()))?;
        let args = vec![Some(params.arg_type()), Some(tensor_type(x)), Some(tensor_type(y)), Some(tensor_type(&lr))];
        let args = if own.is_none() { self.with_defaults("step", args) } else { args };
        let module = own.as_ref().unwrap_or(&self.module);
        let param_types: Vec<tensorc::Type> = params.leaves().iter().map(|t| tensorc::Type::new(t.dtype(), t.shape().to_vec())).collect();
        let n = param_types.len();
        // The old parameters (the first `n` inputs) are given up to the new ones.
        let compiled = module.compile_donating(entry, &args, &(0..n).collect::<Vec<_>>())?;
        let types = compiled.graph.output_types();
        let want = OutTree::Tuple(vec![tree_of(params), OutTree::Tensor]);
        let fits = compiled.outputs == want
            && types[..n] == param_types[..]
            && types[n].shape.is_empty()
            && types[n].dtype.is_float();
        if !fits {
            return Err(self.error_at(
                "step",
                "E0303",
                format!(
                    "`step` must return (P, loss): the parameters with the types `init` gives, {}, and a scalar loss; \
                     it returns {}",
                    params.type_string(),
                    out_type_string(&compiled.outputs, &types)
                ),
                "defined here".to_string(),
            ));
        }
        let lr = module.hold(lr)?;
        Ok(Stepper { own, entry, compiled, lr, leaves: n })
    }
}

/// A compiled training step: `(P, x, y, lr) -> (P, loss)`.
pub struct Stepper {
    /// The module of the generated SGD step (`None`: the file's own `step`).
    own: Option<Module>,
    entry: &'static str,
    compiled: Arc<Compiled>,
    /// The learning rate where the step runs (on the GPU: uploaded once).
    lr: Held,
    leaves: usize,
}

impl Stepper {
    /// `step` or [`SGD_STEP`].
    pub fn entry(&self) -> &str {
        self.entry
    }

    /// One step on host tensors: the new parameter tensors and the batch's loss.
    pub fn step(&self, model: &Model, params: Vec<Tensor>, x: Tensor, y: Tensor) -> Result<(Vec<Tensor>, f64), Error> {
        let module = self.module(model);
        let params = params.into_iter().map(Held::Host).collect();
        let (params, loss) = self.launch(model, params, Held::Host(x), Held::Host(y))?;
        let params = params.into_iter().map(|p| module.into_host(p)).collect::<Result<_, _>>()?;
        let loss = module.into_host(loss)?.data().to_f64_vec().first().copied().unwrap_or(f64::NAN);
        Ok((params, loss))
    }

    /// One step on held tensors ([`Module::hold`]): the new parameters and the loss,
    /// left where the step ran. On the GPU nothing is read back, so the caller can
    /// prepare the next batch while the device computes, then read the loss.
    pub fn launch(&self, model: &Model, params: Vec<Held>, x: Held, y: Held) -> Result<(Vec<Held>, Held), Error> {
        let mut inputs = params;
        inputs.extend([x, y, self.lr.clone()]);
        let mut outputs = self.module(model).run_held(&self.compiled, inputs)?;
        if outputs.len() != self.leaves + 1 {
            return Err(Error::Runtime(format!("`{}` gave {} results, expected {}", self.entry, outputs.len(), self.leaves + 1)));
        }
        let loss = outputs.pop().expect("counted");
        Ok((outputs, loss))
    }

    fn module<'a>(&'a self, model: &'a Model) -> &'a Module {
        self.own.as_ref().unwrap_or(&model.module)
    }
}

/// Salt of the shuffling seed, so that it differs from the seed `init` gets.
const SHUFFLE_SALT: u64 = 0x5a1f_f1e5_eed5_a1f0;

/// Train `model` on `data`: `init(seed)`, then `epochs` passes over the shuffled
/// training split in batches of `batch` (the last partial batch dropped), each followed
/// by test accuracy. `on_event` hears about every step. A learning rate that is not a
/// positive number, or a batch that is empty or larger than the training split, is a
/// usage error.
pub fn train(
    session: &Session,
    model: &Model,
    data: &DataSet,
    options: &TrainOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome, Error> {
    if !(options.lr > 0.0 && options.lr.is_finite()) {
        return Err(Error::Usage(format!("--lr {}: must be positive", options.lr)));
    }
    let n = data.train.len();
    let batch = options.batch;
    if batch == 0 || batch > n {
        return Err(Error::Usage(format!(
            "--batch {batch}: must be between 1 and the {n} training examples of {}",
            data.name
        )));
    }
    let template = model.init(options.seed)?;
    let first: Vec<usize> = (0..batch).collect();
    let (x, y) = data::batch(&data.train, &first, model.layout, model.x_dtype);
    model.check_loss(&template, &x, &y)?;
    let eval_batch = batch.min(data.test.len());
    let eval_first: Vec<usize> = (0..eval_batch).collect();
    model.compiled_predict(&template.arg_type(), &data::batch(&data.test, &eval_first, model.layout, model.x_dtype).0)?;
    let stepper = model.stepper(session, &template, &x, &y, options.lr)?;

    on_event(Event::Ready { params: &template, step: stepper.entry() });
    let params_type = template.arg_type();
    let module = &model.module;
    // The parameters stay where the step runs (on the GPU: uploaded once, here).
    let mut params: Vec<Held> = template.clone().into_leaves().into_iter().map(|t| module.hold(t)).collect::<Result<_, _>>()?;
    let load = |chunk: &[usize]| -> Result<(Held, Held), Error> {
        let (x, y) = data::batch(&data.train, chunk, model.layout, model.x_dtype);
        Ok((module.hold(x)?, module.hold(y)?))
    };
    let mut rng = Rng::new(options.seed ^ SHUFFLE_SALT);
    let mut order: Vec<usize> = (0..n).collect();
    let (steps, dropped) = (n / batch, n % batch);
    let mut reports = Vec::new();
    for epoch in 1..=options.epochs {
        rng.shuffle(&mut order);
        on_event(Event::EpochStart { epoch, epochs: options.epochs, steps, dropped });
        let start = Instant::now();
        let before = tc_wgpu::thread_transfers();
        let mut total = 0.0;
        let chunks: Vec<&[usize]> = order.chunks_exact(batch).collect();
        let mut upcoming = chunks.first().map(|c| load(c)).transpose()?;
        for i in 0..chunks.len() {
            let (x, y) = upcoming.take().expect("loaded ahead");
            let (next, loss) = stepper.launch(model, std::mem::take(&mut params), x, y)?;
            // The next batch is gathered and uploaded while the device runs this step.
            upcoming = chunks.get(i + 1).map(|c| load(c)).transpose()?;
            let loss = module.into_host(loss)?.data().to_f64_vec().first().copied().unwrap_or(f64::NAN);
            if !loss.is_finite() {
                return Err(Error::Runtime(format!(
                    "the loss is {loss} at step {} of epoch {epoch}; try a smaller --lr (now {})",
                    i + 1,
                    options.lr
                )));
            }
            params = next;
            total += loss;
            on_event(Event::Step { step: i + 1, loss: total / (i + 1) as f64 });
        }
        let train_time = start.elapsed();
        let transfers = tc_wgpu::thread_transfers().since(before);
        on_event(Event::Evaluating);
        let start = Instant::now();
        let leaves: Vec<Tensor> = params.iter().map(|p| module.read(p)).collect::<Result<_, _>>()?;
        let test_accuracy = model.accuracy_of(&params_type, &leaves, &data.test, eval_batch)?;
        let report = EpochReport {
            epoch,
            loss: total / steps as f64,
            test_accuracy,
            examples_per_s: (steps * batch) as f64 / train_time.as_secs_f64().max(1e-9),
            steps,
            train_time,
            eval_time: start.elapsed(),
            transfers,
        };
        on_event(Event::EpochEnd(&report));
        reports.push(report);
    }
    let leaves: Vec<Tensor> = params.into_iter().map(|p| module.into_host(p)).collect::<Result<_, _>>()?;
    let params = rebuild(&template, &mut leaves.into_iter());
    Ok(Outcome { epochs: reports, params })
}

/// Name the leaves of `params` `NAME.0`, `NAME.1`, `NAME.1.0`, ... (how `tensorc run`
/// reads a tuple parameter `NAME` from safetensors) and write them to `path`; the names,
/// depth-first.
pub fn save(path: impl AsRef<Path>, name: &str, params: &Value) -> Result<Vec<String>, Error> {
    fn walk(value: &Value, path: &str, out: &mut Vec<(String, Tensor)>) {
        match value {
            Value::Tensor(t) => out.push((path.to_string(), t.clone())),
            Value::Tuple(elems) => {
                for (i, e) in elems.iter().enumerate() {
                    walk(e, &format!("{path}.{i}"), out);
                }
            }
        }
    }
    let mut named = Vec::new();
    walk(params, name, &mut named);
    tensorc::save_safetensors(path, &named)?;
    Ok(named.into_iter().map(|(name, _)| name).collect())
}

/// The source of the default step: SGD on every float parameter.
pub fn sgd_source(params: &Value) -> String {
    fn update(value: &Value, path: &str) -> String {
        match value {
            Value::Tensor(t) if t.dtype().is_float() => {
                let lr = if t.dtype() == DType::F32 { "lr".to_string() } else { format!("(lr as {})", t.dtype().name()) };
                format!("{} - {lr} * {}", field("p", path), field("g", path))
            }
            Value::Tensor(_) => field("p", path),
            Value::Tuple(elems) => {
                let parts: Vec<String> = elems.iter().enumerate().map(|(i, e)| update(e, &format!("{path}.{i}"))).collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
        }
    }
    format!(
        "/// SGD on `grad(loss(p, x, y), p)`, generated by `tensorc train`.\n\
         fn {SGD_STEP}(p, x, y, lr: f32) {{\n    \
             let l = loss(p, x, y);\n    \
             let g = grad(l, p);\n    \
             ({}, l)\n\
         }}\n",
        update(params, "")
    )
}

/// The field `p.1.0` of a nested tuple, parenthesised as `(p.1).0` so that it never
/// depends on how `.1.0` is lexed.
pub(crate) fn field(base: &str, path: &str) -> String {
    path.split('.').filter(|s| !s.is_empty()).fold(base.to_string(), |acc, i| {
        if acc.contains('.') {
            format!("({acc}).{i}")
        } else {
            format!("{acc}.{i}")
        }
    })
}

pub(crate) fn tensor_type(t: &Tensor) -> ArgValue {
    Value::Tensor(t.clone()).arg_type()
}

fn tree_of(value: &Value) -> OutTree {
    match value {
        Value::Tensor(_) => OutTree::Tensor,
        Value::Tuple(elems) => OutTree::Tuple(elems.iter().map(tree_of).collect()),
    }
}

/// `template`'s tuple structure filled with `leaves` in order.
pub(crate) fn rebuild(template: &Value, leaves: &mut impl Iterator<Item = Tensor>) -> Value {
    match template {
        Value::Tensor(t) => Value::Tensor(leaves.next().unwrap_or_else(|| t.clone())),
        Value::Tuple(elems) => Value::Tuple(elems.iter().map(|e| rebuild(e, leaves)).collect()),
    }
}

/// The first index of the largest value (NaN never wins); `None` if empty.
fn argmax(row: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in row.iter().enumerate() {
        if best.map_or(!v.is_nan(), |(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
