//! `tensorc train` (SPEC §11): the command's output around [`tc_train::train::train`]: a
//! header, a progress bar per epoch (on stderr, only on a terminal), one line per epoch,
//! `--save` and, with `--json`, one final JSON object on stdout (the human-readable
//! lines then go to stderr, so that stdout is exactly the object).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tc_train::data::{self, DataSpec};
use tc_train::train::{self, EpochReport, Event, Model, TrainOptions, SGD_STEP};
use tensorc::{Error, Session, Value};

/// What the command line asked for.
pub struct Request<'a> {
    pub file: &'a Path,
    pub data: &'a str,
    pub options: TrainOptions,
    pub save: Option<&'a Path>,
    pub json: bool,
}

/// Run `tensorc train`.
pub fn run(session: &Session, request: &Request<'_>) -> Result<(), Error> {
    let spec = DataSpec::parse(request.data)?;
    if let Some(path) = request.save {
        check_save_path(path)?;
    }
    let model = Model::compile_file(session, request.file)?;
    let data = data::load(&spec)?;
    let mut out = Output { json: request.json };
    let options = &request.options;
    out.line(&format!(
        "training {} on {}: {} training and {} test examples",
        request.file.display(),
        data.name,
        data.train.len(),
        data.test.len()
    ));
    let mut bar: Option<ProgressBar> = None;
    let outcome = train::train(&model, &data, options, &mut |event| match event {
        Event::Ready { params, step } => {
            let leaves = params.leaves();
            let count: usize = leaves.iter().map(|t| t.len()).sum();
            let step = if step == SGD_STEP { "SGD on grad(loss, p)".to_string() } else { format!("`{step}` of the file") };
            out.line(&format!(
                "backend {}, {} epoch{}, batch {}, lr {}, seed {}; {count} parameters in {} tensors; step: {step}",
                session.backend(),
                options.epochs,
                if options.epochs == 1 { "" } else { "s" },
                options.batch,
                options.lr,
                options.seed,
                leaves.len()
            ));
        }
        Event::EpochStart { epoch, epochs, steps, dropped } => {
            if epoch == 1 && dropped > 0 {
                out.line(&format!(
                    "note: the last {dropped} training examples of each (shuffled) epoch do not fill a batch of {} and are dropped",
                    options.batch
                ));
            }
            let progress = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            progress.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps  {msg}  eta {eta}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            progress.set_prefix(format!("epoch {epoch}/{epochs}"));
            bar = Some(progress);
        }
        Event::Step { step, loss } => {
            if let Some(progress) = &bar {
                progress.set_message(format!("loss {loss:.4}"));
                progress.set_position(step as u64);
            }
        }
        Event::Evaluating => {
            if let Some(progress) = &bar {
                progress.set_message("computing test accuracy");
            }
        }
        Event::EpochEnd(report) => {
            if let Some(progress) = bar.take() {
                progress.finish_and_clear();
            }
            out.line(&epoch_line(report, options.epochs));
        }
    });
    if let Some(progress) = bar.take() {
        progress.finish_and_clear();
    }
    let outcome = outcome?;
    if let Some(path) = request.save {
        let names = train::save(path, model.params_name(), &outcome.params)?;
        let named = match names.as_slice() {
            [] => String::new(),
            [only] => format!(" as {only}"),
            [first, .., last] => format!(" as {first} .. {last}, each named by its place in `{}`", model.params_name()),
        };
        out.line(&format!("saved {} parameter tensors to {}{named}", names.len(), path.display()));
    }
    if request.json {
        print_stdout(&format!("{}\n", json(&outcome.epochs, &outcome.params)));
    }
    Ok(())
}

/// Before any training: a usage error unless `--save` names a `.safetensors` file, and
/// the error of opening it unless it can be written (a missing directory, no
/// permission), so that a run is not lost at the end for want of a place to put it. The
/// probe leaves no file behind and does not change an existing one.
fn check_save_path(path: &Path) -> Result<(), Error> {
    if path.extension().is_none_or(|e| e != "safetensors") {
        return Err(Error::Usage(format!(
            "--save {}: the parameters are written as safetensors; name a file ending in .safetensors",
            path.display()
        )));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|error| Error::Io { path: path.to_path_buf(), error })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// `epoch 1/5  loss 0.5123  test acc 84.31%  12345 examples/s  (train 40.2 s, test 3.1 s)`,
/// and on the GPU the bytes each step moved: `  per step: 100480 B up, 4 B down`.
pub fn epoch_line(r: &EpochReport, epochs: usize) -> String {
    let mut line = format!(
        "epoch {}/{epochs}  loss {:.4}  test acc {:.2}%  {:.0} examples/s  (train {}, test {})",
        r.epoch,
        r.loss,
        100.0 * r.test_accuracy,
        r.examples_per_s,
        seconds(r.train_time),
        seconds(r.eval_time)
    );
    let moved = r.transfers;
    if moved != tc_wgpu::Transfers::default() {
        let steps = r.steps.max(1) as u64;
        line.push_str(&format!("  per step: {} B up, {} B down", moved.h2d_bytes / steps, moved.d2h_bytes / steps));
    }
    line
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `{"epochs", "final_loss", "test_accuracy", "examples_per_s", "parameters", "history"}`:
/// the last epoch's loss and accuracy, examples/s over all epochs, and each epoch's numbers.
/// NaN and infinities, which JSON lacks, are `null`.
fn json(reports: &[EpochReport], params: &Value) -> String {
    let last = reports.last();
    let examples: f64 = reports.iter().map(|r| r.examples_per_s * r.train_time.as_secs_f64()).sum();
    let time: f64 = reports.iter().map(|r| r.train_time.as_secs_f64()).sum();
    let history: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::json!({
                "epoch": r.epoch,
                "loss": r.loss,
                "test_accuracy": r.test_accuracy,
                "examples_per_s": r.examples_per_s,
                "train_s": r.train_time.as_secs_f64(),
                "test_s": r.eval_time.as_secs_f64(),
                "h2d_bytes": r.transfers.h2d_bytes,
                "d2h_bytes": r.transfers.d2h_bytes,
            })
        })
        .collect();
    crate::json::line(&serde_json::json!({
        "epochs": reports.len(),
        "final_loss": last.map(|r| r.loss),
        "test_accuracy": last.map(|r| r.test_accuracy),
        "examples_per_s": (time > 0.0).then(|| examples / time),
        "parameters": params.leaves().iter().map(|t| t.len()).sum::<usize>(),
        "history": history,
    }))
}

/// Human-readable lines: stdout, or stderr when stdout is reserved for `--json`.
struct Output {
    json: bool,
}

impl Output {
    fn line(&mut self, text: &str) {
        if self.json {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            print_stdout(&format!("{text}\n"));
        }
    }
}

fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
