//! Training a model file (SPEC §11): the convention's checks, the training step (the
//! file's own `fn step(p, x, y, lr) -> (P, f32)`, or SGD on the gradient of `loss`,
//! built as IR), the epoch loop and test accuracy.
//!
//! The model's functions and their annotations are read from the checked program
//! ([`Module::functions`]). The generated SGD step is `loss` specialised for the
//! parameters and a batch ([`Module::specialize`]), extended with the graph builder of
//! `tc_ir` and the gradient of `tc_grad::vjp`, and compiled by [`Module::compile_graph`]:
//! no source is generated and parsed again.
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
//! let outcome = train::train(&model, &data, &TrainOptions::default(), &mut |_| {})?;
//! println!("{:.2}%", 100.0 * outcome.epochs.last().unwrap().test_accuracy);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tc_ir::{BinaryOp, Graph, NodeId, Op, ReduceOp};
use tc_syntax::ast::Span;
use tc_syntax::diag::{Diagnostic, Loc};

use crate::data::{self, DataSet, Layout, Rng, Split};
use tensorc::{
    out_type_string, ArgValue, Compiled, DType, Diagnostics, Error, FnInfo, Held, Module, OutTree, Session, Specialization,
    Tensor, TensorAnnotation, Type, Value,
};

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
    /// The root file's functions by name.
    items: HashMap<String, FnInfo>,
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
        let module = session.compile_source(name, text)?;
        let items: HashMap<String, FnInfo> = module.functions().into_iter().map(|f| (f.name.clone(), f)).collect();
        let mut model = Model { module, items, layout: Layout::Flat, x_dtype: DType::F32 };
        let mut diagnostics = Vec::new();
        for (fname, params) in REQUIRED {
            match model.items.get(fname) {
                None => diagnostics.push(
                    Diagnostic::new("E0102", model.loc(Span { start: 0, end: 0 }), format!("the model has no function `{fname}`"))
                        .with_label(format!("`fn {fname}({})` is missing", params.join(", ")))
                        .with_hint(CONVENTION),
                ),
                Some(info) => diagnostics.extend(model.arity(info, params)),
            }
        }
        if let Some(info) = model.items.get(STEP.0) {
            diagnostics.extend(model.arity(info, STEP.1));
        }
        if !diagnostics.is_empty() {
            return Err(model.errors(diagnostics));
        }
        let x_types: Vec<TensorAnnotation> =
            ["loss", "predict"].iter().filter_map(|f| model.items[*f].params.get(1)?.tensor).collect();
        for ty in x_types {
            if let Some(rank) = ty.rank {
                if rank == 4 && !ty.rest {
                    model.layout = Layout::Image;
                }
                if let Some(dtype) = ty.dtype.filter(|d| d.is_float()) {
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
        self.items.get("predict").and_then(|f| f.params.first()).map_or("p", |p| p.name.as_str())
    }

    fn loc(&self, span: Span) -> Loc {
        Loc { file: self.module.root(), span }
    }

    fn errors(&self, diagnostics: Vec<Diagnostic>) -> Error {
        Error::Compile(Diagnostics { sources: self.module.sources().clone(), root: self.module.root(), diagnostics })
    }

    /// A compile error at function `fname`'s name.
    fn error_at(&self, fname: &str, code: &'static str, message: String, label: String) -> Error {
        let span = self.items.get(fname).map_or(Span { start: 0, end: 0 }, |f| f.span);
        self.errors(vec![Diagnostic::new(code, self.loc(span), message).with_label(label).with_hint(CONVENTION)])
    }

    /// A diagnostic unless `item` can be called with exactly `params.len()` arguments.
    fn arity(&self, item: &FnInfo, params: &[&str]) -> Option<Diagnostic> {
        let required = item.params.iter().filter(|p| !p.has_default).count();
        let n = params.len();
        if required <= n && n <= item.params.len() {
            return None;
        }
        let fname = &item.name;
        Some(
            Diagnostic::new(
                "E0206",
                self.loc(item.span),
                format!("`{fname}` must take {n} argument{} ({}); it takes {}", plural(n), params.join(", "), item.params.len()),
            )
            .with_label(format!("expected `fn {fname}({})`", params.join(", ")))
            .with_hint(CONVENTION),
        )
    }

    /// The dtype of parameter `index` of `fname` when annotated as a scalar.
    fn scalar_param_dtype(&self, fname: &str, index: usize) -> Option<DType> {
        let ty = self.items.get(fname)?.params.get(index)?.tensor?;
        // `f32` and `f32[]` are scalars.
        if ty.rank.unwrap_or(0) == 0 {
            ty.dtype
        } else {
            None
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
        let compiled = self.module.compile("loss", &self.loss_args(params, x, y))?;
        self.scalar_loss(&compiled.outputs, &compiled.graph, params, x, y)
    }

    fn loss_args(&self, params: &Value, x: &Tensor, y: &Tensor) -> Vec<Option<ArgValue>> {
        self.with_defaults("loss", vec![Some(params.arg_type()), Some(tensor_type(x)), Some(tensor_type(y))])
    }

    /// E0303 unless `loss`'s graph returns a scalar float.
    fn scalar_loss(&self, outputs: &OutTree, graph: &Graph, params: &Value, x: &Tensor, y: &Tensor) -> Result<(), Error> {
        let types = graph.output_types();
        if *outputs == OutTree::Tensor && types[0].shape.is_empty() && types[0].dtype.is_float() {
            return Ok(());
        }
        Err(self.error_at(
            "loss",
            "E0303",
            format!(
                "`loss` must return the mean loss of the batch as a scalar f32, but it returns {}",
                out_type_string(outputs, &types)
            ),
            format!("called with p: {}, x: {}, y: {}", params.type_string(), x.type_string(), y.type_string()),
        ))
    }

    /// `loss(params, x, y)` as a graph to extend into a training step.
    pub(crate) fn loss_graph(&self, params: &Value, x: &Tensor, y: &Tensor) -> Result<LossGraph, Error> {
        let spec = self.module.specialize("loss", &self.loss_args(params, x, y))?;
        self.scalar_loss(&spec.outputs, &spec.graph, params, x, y)?;
        let mut graph = spec.graph;
        let loss = graph.outputs[0];
        let leaves = params.leaves();
        // The graph's parameters are the leaves of `params`, then `x` and `y`.
        let mut nodes: Vec<Option<NodeId>> = vec![None; leaves.len()];
        for (i, node) in graph.nodes.iter().enumerate() {
            if let Op::Param(k) = node.op {
                if k < leaves.len() && nodes[k].is_none() {
                    nodes[k] = Some(NodeId(i as u32));
                }
            }
        }
        let params = nodes
            .into_iter()
            .zip(&leaves)
            .enumerate()
            .map(|(k, (node, leaf))| node.unwrap_or_else(|| graph.param(k, Type::new(leaf.dtype(), leaf.shape().to_vec()))))
            .collect();
        Ok(LossGraph { graph, loss, params, next_param: leaves.len() + 2 })
    }

    /// The gradients of `loss` by the float leaves of `params` (`None` for the others),
    /// appended to `graph`; a compile error at `loss` if it cannot be differentiated.
    pub(crate) fn gradients(&self, graph: &mut Graph, loss: NodeId, params: &[NodeId]) -> Result<Vec<Option<NodeId>>, Error> {
        let floats: Vec<NodeId> = params.iter().copied().filter(|&p| graph.ty(p).dtype.is_float()).collect();
        let grads = tc_grad::vjp(graph, loss, &floats).map_err(|e| {
            self.error_at("loss", "E0209", format!("cannot differentiate `loss`: {e}"), "defined here".to_string())
        })?;
        let mut grads = grads.into_iter();
        Ok(params.iter().map(|&p| graph.ty(p).dtype.is_float().then(|| grads.next().expect("one gradient per float leaf"))).collect())
    }

    /// The SGD step on `loss`: `(P, x, y, lr: f32) -> (P', loss)`, each float leaf
    /// `p - (lr as dtype) * grad(loss, p)`, the other leaves unchanged.
    pub(crate) fn sgd_graph(&self, params: &Value, x: &Tensor, y: &Tensor) -> Result<Specialization, Error> {
        let LossGraph { mut graph, loss, params: leaves, next_param } = self.loss_graph(params, x, y)?;
        let lr = graph.param(next_param, Type::scalar(DType::F32));
        let grads = self.gradients(&mut graph, loss, &leaves)?;
        graph.outputs = sgd_update(&mut graph, &leaves, &grads, lr);
        graph.outputs.push(loss);
        graph.name = SGD_STEP.to_string();
        Ok(Specialization { graph, outputs: step_tree(params) })
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

    /// Mean loss and accuracy of `params` on the examples `indices` of `split`, in
    /// batches of `batch` (the last one may be smaller); the loss is weighted by batch
    /// size, so it is the mean over all examples. `(NaN, NaN)` for no examples.
    pub fn evaluate(&self, params: &Value, split: &Split, indices: &[usize], batch: usize) -> Result<(f64, f64), Error> {
        let leaves: Vec<Tensor> = params.leaves().into_iter().cloned().collect();
        let params_type = params.arg_type();
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for chunk in indices.chunks(batch.max(1)) {
            let (x, y) = data::batch(split, chunk, self.layout, self.x_dtype);
            let loss = self.module.compile("loss", &self.loss_args(params, &x, &y))?;
            self.scalar_loss(&loss.outputs, &loss.graph, params, &x, &y)?;
            let predict = self.compiled_predict(&params_type, &x)?;
            let mut inputs = leaves.clone();
            inputs.push(x);
            let logits = self.module.run(&predict, &inputs)?.swap_remove(0);
            inputs.push(y);
            let value = self.module.run(&loss, &inputs)?.swap_remove(0);
            loss_sum += value.data().to_f64_vec().first().copied().unwrap_or(f64::NAN) * chunk.len() as f64;
            let classes = logits.shape()[1];
            let values = logits.data().to_f64_vec();
            for (row, &i) in chunk.iter().enumerate() {
                if argmax(&values[row * classes..(row + 1) * classes]) == Some(usize::from(split.labels[i])) {
                    correct += 1;
                }
            }
        }
        let n = indices.len() as f64;
        Ok((loss_sum / n, correct as f64 / n))
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
    /// the file's `step`, or SGD on `loss` built as a graph ([`SGD_STEP`]).
    pub fn stepper(&self, params: &Value, x: &Tensor, y: &Tensor, lr: f64) -> Result<Stepper, Error> {
        if !self.has_step() {
            let spec = self.sgd_graph(params, x, y)?;
            return Stepper::generated(self, SGD_STEP, spec, vec![scalar(DType::F32, lr)?]);
        }
        let lr_dtype = self.scalar_param_dtype("step", 3).filter(|d| d.is_float()).unwrap_or(DType::F32);
        let lr = scalar(lr_dtype, lr)?;
        let args = vec![Some(params.arg_type()), Some(tensor_type(x)), Some(tensor_type(y)), Some(tensor_type(&lr))];
        let param_types: Vec<Type> = params.leaves().iter().map(|t| Type::new(t.dtype(), t.shape().to_vec())).collect();
        let n = param_types.len();
        // The old parameters (the first `n` inputs) are given up to the new ones.
        let compiled = self.module.compile_donating("step", &self.with_defaults("step", args), &(0..n).collect::<Vec<_>>())?;
        let types = compiled.graph.output_types();
        let fits = compiled.outputs == step_tree(params)
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
        Ok(Stepper { entry: "step", compiled, scalars: vec![self.module.hold(lr)?], leaves: n })
    }
}

/// `loss` specialised for (P, x, y), to be extended into a training step.
pub(crate) struct LossGraph {
    pub graph: Graph,
    /// The scalar loss.
    pub loss: NodeId,
    /// The parameter nodes of P's leaves, in order.
    pub params: Vec<NodeId>,
    /// The first parameter index after P, x and y.
    pub next_param: usize,
}

/// `p - (lr as dtype) * g` for each leaf `p` with a gradient `g`, the leaf itself
/// otherwise: the update of the generated SGD and FedProx steps.
pub(crate) fn sgd_update(graph: &mut Graph, params: &[NodeId], grads: &[Option<NodeId>], lr: NodeId) -> Vec<NodeId> {
    params
        .iter()
        .zip(grads)
        .map(|(&p, &g)| match g {
            None => p,
            Some(g) => {
                let ty = graph.ty(p).clone();
                let lr = graph.cast(lr, ty.dtype);
                let lr = graph.broadcast(lr, &ty.shape);
                let delta = graph.mul(lr, g);
                graph.sub(p, delta)
            }
        })
        .collect()
}

/// `sum((p - w) ** 2)` over the float leaves, each converted to f32: the proximal term
/// of FedProx; `None` without float leaves.
pub(crate) fn squared_distance(graph: &mut Graph, params: &[NodeId], global: &[NodeId]) -> Option<NodeId> {
    let mut total: Option<NodeId> = None;
    for (&p, &w) in params.iter().zip(global) {
        let ty = graph.ty(p).clone();
        if !ty.dtype.is_float() {
            continue;
        }
        let d = graph.sub(p, w);
        let two = graph.full(&ty, 2.0);
        let squared = graph.binary(BinaryOp::Pow, d, two);
        let axes: Vec<usize> = (0..ty.rank()).collect();
        let term = graph.reduce(ReduceOp::Sum, squared, &axes);
        let term = graph.cast(term, DType::F32);
        total = Some(match total {
            Some(t) => graph.add(t, term),
            None => term,
        });
    }
    total
}

/// The result structure of a step: `(P, loss)`.
pub(crate) fn step_tree(params: &Value) -> OutTree {
    OutTree::Tuple(vec![tree_of(params), OutTree::Tensor])
}

/// A scalar tensor of `dtype` holding `v`.
fn scalar(dtype: DType, v: f64) -> Result<Tensor, Error> {
    Tensor::new(Vec::new(), tc_tensor::Data::from_f64(dtype, &[v])).map_err(|e| Error::Runtime(e.to_string()))
}

/// A compiled training step: `(P, x, y, lr, ...) -> (P, loss)`.
pub struct Stepper {
    /// `step`, [`SGD_STEP`] or FedProx's step.
    entry: &'static str,
    compiled: Arc<Compiled>,
    /// The inputs after the batch: the learning rate, and FedProx's `mu` (on the GPU:
    /// uploaded once).
    scalars: Vec<Held>,
    leaves: usize,
}

impl Stepper {
    /// A step built as a graph (its parameters P, x, y, then `scalars`, then whatever
    /// [`Stepper::step`] is given after them), compiled donating the old parameters.
    pub(crate) fn generated(model: &Model, entry: &'static str, spec: Specialization, scalars: Vec<Tensor>) -> Result<Stepper, Error> {
        let leaves = match &spec.outputs {
            OutTree::Tuple(parts) => count_leaves(&parts[0]),
            OutTree::Tensor => 0,
        };
        // The graph is a function of its parameter types, given the model and the entry.
        let key = format!("{entry} {:?}", spec.graph.param_types());
        let compiled = model.module.compile_graph(&key, spec, &(0..leaves).collect::<Vec<_>>())?;
        let scalars = scalars.into_iter().map(|t| model.module.hold(t)).collect::<Result<_, _>>()?;
        Ok(Stepper { entry, compiled, scalars, leaves })
    }

    /// `step`, [`SGD_STEP`] or [`crate::fed::FEDPROX_STEP`].
    pub fn entry(&self) -> &str {
        self.entry
    }

    /// One step on host tensors: the new parameter tensors and the batch's loss.
    /// `global` are the inputs after the learning rate: FedProx's global model, empty
    /// for the other steps.
    pub fn step(&self, model: &Model, params: Vec<Tensor>, x: Tensor, y: Tensor, global: &[Tensor]) -> Result<(Vec<Tensor>, f64), Error> {
        let module = &model.module;
        let params = params.into_iter().map(Held::Host).collect();
        let global = global.iter().cloned().map(Held::Host).collect();
        let (params, loss) = self.launch_with(model, params, Held::Host(x), Held::Host(y), global)?;
        let params = params.into_iter().map(|p| module.into_host(p)).collect::<Result<_, _>>()?;
        let loss = module.into_host(loss)?.data().to_f64_vec().first().copied().unwrap_or(f64::NAN);
        Ok((params, loss))
    }

    /// One step on held tensors ([`Module::hold`]): the new parameters and the loss,
    /// left where the step ran. On the GPU nothing is read back, so the caller can
    /// prepare the next batch while the device computes, then read the loss.
    pub fn launch(&self, model: &Model, params: Vec<Held>, x: Held, y: Held) -> Result<(Vec<Held>, Held), Error> {
        self.launch_with(model, params, x, y, Vec::new())
    }

    fn launch_with(&self, model: &Model, params: Vec<Held>, x: Held, y: Held, global: Vec<Held>) -> Result<(Vec<Held>, Held), Error> {
        let mut inputs = params;
        inputs.extend([x, y]);
        inputs.extend(self.scalars.iter().cloned());
        inputs.extend(global);
        let mut outputs = model.module.run_held(&self.compiled, inputs)?;
        if outputs.len() != self.leaves + 1 {
            return Err(Error::Runtime(format!("`{}` gave {} results, expected {}", self.entry, outputs.len(), self.leaves + 1)));
        }
        let loss = outputs.pop().expect("counted");
        Ok((outputs, loss))
    }
}

fn count_leaves(tree: &OutTree) -> usize {
    match tree {
        OutTree::Tensor => 1,
        OutTree::Tuple(parts) => parts.iter().map(count_leaves).sum(),
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
    let stepper = model.stepper(&template, &x, &y, options.lr)?;

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A classifier whose parameters nest, with an f64 leaf (its update converts `lr`).
    pub(crate) const NESTED: &str = "use nn;

fn init(seed) {
    (random_normal(seed, (784, 10)) * 0.01, (zeros((10,)), full((), 0.5, f64)))
}

fn predict(p, x: f32[B, 784]) {
    let (b, s) = p.1;
    (x @ p.0 + b) * (s as f32)
}

fn loss(p, x, y: i32[B]) -> f32 {
    nn::cross_entropy(predict(p, x), y) + sum(p.0 * p.0) * 0.001
}
";

    /// Plain SGD written in tensorc: what the generated step computes.
    const SGD_BY_HAND: &str = "
fn step(p, x, y, lr: f32) {
    let l = loss(p, x, y);
    let g = grad(l, p);
    ((p.0 - lr * g.0, ((p.1).0 - lr * (g.1).0, (p.1).1 - (lr as f64) * (g.1).1)), l)
}
";

    /// The first `n` training examples of a synthetic data set, and `init(seed)`.
    pub(crate) fn setup(model: &Model, n: usize) -> (Value, Tensor, Tensor) {
        let data = data::synthetic(4 * n);
        let first: Vec<usize> = (0..n).collect();
        let (x, y) = data::batch(&data.train, &first, model.layout, model.x_dtype);
        (model.init(7).unwrap(), x, y)
    }

    /// Bit for bit: the graph is built with the ops the checker elaborates the source to.
    pub(crate) fn assert_same(a: &Tensor, b: &Tensor, what: &str) {
        assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "{what}");
        let bits = |t: &Tensor| t.data().to_f64_vec().into_iter().map(f64::to_bits).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "{what}");
    }

    #[test]
    fn the_sgd_graph_computes_sgd_written_in_tensorc() {
        let session = Session::new(tensorc::Backend::Interp).unwrap();
        let generated = Model::compile_source(&session, "nested.tc", NESTED).unwrap();
        let by_hand = Model::compile_source(&session, "nested.tc", format!("{NESTED}{SGD_BY_HAND}")).unwrap();
        assert!(!generated.has_step() && by_hand.has_step());
        let (params, x, y) = setup(&generated, 16);
        let ours = generated.stepper(&params, &x, &y, 0.1).unwrap();
        let theirs = by_hand.stepper(&params, &x, &y, 0.1).unwrap();
        assert_eq!((ours.entry(), theirs.entry()), (SGD_STEP, "step"));
        let leaves: Vec<Tensor> = params.leaves().into_iter().cloned().collect();
        let mut a = (leaves.clone(), 0.0);
        let mut b = (leaves, 0.0);
        for _ in 0..3 {
            a = ours.step(&generated, a.0, x.clone(), y.clone(), &[]).unwrap();
            b = theirs.step(&by_hand, b.0, x.clone(), y.clone(), &[]).unwrap();
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "loss {} vs {}", a.1, b.1);
            for (i, (p, q)) in a.0.iter().zip(&b.0).enumerate() {
                assert_same(p, q, &format!("leaf {i}"));
            }
        }
        assert_ne!(a.0[0].data().to_f64_vec(), params.leaves()[0].data().to_f64_vec(), "the step moves the weights");
    }

    #[test]
    fn integer_leaves_pass_through_the_sgd_graph() {
        let session = Session::new(tensorc::Backend::Interp).unwrap();
        let source = NESTED.replace("full((), 0.5, f64)))", "full((), 0.5, f64)), full((3,), 4, i32))");
        let model = Model::compile_source(&session, "counted.tc", source).unwrap();
        let (params, x, y) = setup(&model, 8);
        let stepper = model.stepper(&params, &x, &y, 0.1).unwrap();
        let leaves: Vec<Tensor> = params.leaves().into_iter().cloned().collect();
        let (next, loss) = stepper.step(&model, leaves.clone(), x, y, &[]).unwrap();
        assert!(loss.is_finite());
        assert_eq!(next.len(), 4);
        assert_eq!(next[3].data().to_f64_vec(), vec![4.0; 3]);
        assert_ne!(next[0].data().to_f64_vec(), leaves[0].data().to_f64_vec());
    }
}
