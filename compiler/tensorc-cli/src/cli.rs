//! The subcommands of `tensorc` (SPEC §7), their clap definitions and what they do.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use tensorc::{optimize, Backend, DType, Error, Precision, Session, Tensor, Value};

use crate::{args, bench, fed_cli, repl, systolic, train_cli};

#[derive(Parser)]
#[command(name = "tensorc", version, about = "The tensorc compiler: check, run, inspect and time tensor programs")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check files; print diagnostics
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Run a function on inputs; print its results and optionally save them
    Run(RunArgs),
    /// Print the text of one compiler stage for a function
    Emit(EmitArgs),
    /// Time a function: median and minimum, GB/s and GFLOP/s
    Bench(BenchArgs),
    /// Map every matmul and convolution onto a systolic array: folds, cycles, utilisation, traffic
    Systolic(SystolicArgs),
    /// Train a model file (init, loss, predict) on a data set
    Train(TrainArgs),
    /// Federated learning: `fed simulate` runs federated averaging with simulated clients
    #[command(subcommand)]
    Fed(fed_cli::FedCommand),
    /// Interactive read-eval-print loop
    Repl {
        /// Load this file's items first
        file: Option<PathBuf>,
        /// The backend: interp, cpu, wgpu or mlir (those this build has)
    #[arg(long, value_name = "B", default_value_t = Backend::default(), value_parser = parse_backend)]
        backend: Backend,
    },
}

/// A function of a file and its arguments.
#[derive(Args)]
struct Target {
    /// The program (a .tc file)
    file: PathBuf,
    /// The function to call
    #[arg(short = 'e', long = "entry", value_name = "ENTRY", default_value = "main")]
    entry: String,
    /// Arguments by parameter name: NAME=PATH.npy, NAME=PATH.safetensors or NAME=NUMBER
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Where and how a program compiles, shared by run, emit, bench and train.
#[derive(Args)]
struct Pipeline {
    /// The backend: interp, cpu, wgpu or mlir (those this build has)
    #[arg(long, value_name = "B", default_value_t = Backend::default(), value_parser = parse_backend)]
    backend: Backend,
    /// Cap the peak memory of the compiled program (64MiB, 1GB, 4096)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    mem_budget: Option<u64>,
    /// f32 (as written) or bf16: f32 matmul and conv2d operands rounded to bf16, f32 accumulation
    #[arg(long, value_name = "P", default_value = "f32", value_parser = Precision::parse)]
    precision: Precision,
    /// Run bf16 matmuls on the CPU's AMX tiles (--backend mlir; an error where the CPU has none)
    #[arg(long)]
    amx: bool,
}

impl Pipeline {
    fn session(&self) -> Result<Session, Error> {
        Session::new(self.backend)?.with_mem_budget(self.mem_budget).with_precision(self.precision)?.with_amx(self.amx)
    }
}

/// A function of a file, its arguments and the ones given up (`--donate`).
#[derive(Args)]
struct Call {
    #[command(flatten)]
    target: Target,
    /// Give up these arguments' tensors: results of their types may be written into them
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    donate: Vec<String>,
}

/// The entry's parameters, each with the argument given for it.
type Bound = Vec<(tensorc::ParamInfo, Option<args::CliArg>)>;

impl Call {
    /// The module of the file, compiled by `session`, and the arguments bound to the
    /// entry's parameters.
    fn bind(&self, session: &Session) -> Result<(tensorc::Module, Bound), Error> {
        let module = session.compile_file(&self.target.file)?;
        let bound = args::bind(&module, &self.target.entry, &self.target.args)?;
        Ok((module, bound))
    }

    /// The entry compiled for the given arguments (donating those named by `--donate`),
    /// with its flat inputs.
    fn compile(&self, session: &Session) -> Result<Compiled, Error> {
        let (module, bound) = self.bind(session)?;
        let values = args::values(&bound)?;
        let types = args::types_of(&bound, &values);
        let donate = args::leaf_indices(&bound, &types, &self.donate)?;
        let compiled = module.compile_donating(&self.target.entry, &types, &donate)?;
        let inputs: Vec<Tensor> = values.into_iter().flatten().flat_map(Value::into_leaves).collect();
        Ok(Compiled { module, compiled, inputs, donate })
    }
}

/// A [`Call`] compiled: its module, program and flat inputs, and the donated ones.
struct Compiled {
    module: tensorc::Module,
    compiled: std::sync::Arc<tensorc::Compiled>,
    inputs: Vec<Tensor>,
    donate: Vec<usize>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    call: Call,
    /// Write the results as DIR/0.npy, DIR/1.npy, ... (nested tuples flattened depth-first),
    /// or, for a PATH ending in .safetensors, into that one file with keys 0, 1, ... (the form for bf16)
    #[arg(short = 'o', long = "out", value_name = "DIR|PATH.safetensors")]
    out: Option<PathBuf>,
    #[command(flatten)]
    pipeline: Pipeline,
}

#[derive(Args)]
#[command(after_help = "Each ARG may also be a type without data, NAME=f32[2,3]: emit needs types, not values.")]
struct EmitArgs {
    #[command(flatten)]
    call: Call,
    /// The stage to print
    #[arg(long, value_name = "STAGE", value_parser = PossibleValuesParser::new(tensorc::emit::STAGES))]
    stage: String,
    #[command(flatten)]
    pipeline: Pipeline,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    call: Call,
    /// Print one JSON object: median_ms, min_ms, compile_ms, bytes, flops, peak_bytes
    #[arg(long)]
    json: bool,
    /// Repetitions after the warm-up (default: as many as fit in about a second, at least 5)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    reps: Option<u64>,
    #[command(flatten)]
    pipeline: Pipeline,
}

#[derive(Args)]
struct SystolicArgs {
    /// FILE may also be a SCALE-Sim topology .csv; ARG may be a type: NAME=f32[2,3]
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    options: systolic::Options,
}

#[derive(Args)]
struct TrainArgs {
    /// The model: a .tc file with `fn init(seed)`, `fn loss(p, x, y)`, `fn predict(p, x)`
    file: PathBuf,
    /// fashion-mnist, fashion-mnist:DIR (IDX files, gzipped or not) or synthetic:N
    #[arg(long, value_name = "DATA")]
    data: String,
    /// Passes over the training set
    #[arg(long, value_name = "N", default_value_t = 5)]
    epochs: usize,
    /// Examples per step (the last partial batch of an epoch is dropped)
    #[arg(long, value_name = "B", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// Learning rate, passed to the step
    #[arg(long, value_name = "LR", default_value_t = 0.1)]
    lr: f64,
    /// Seed of `init` and of the shuffling
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Write the trained parameters as safetensors, named by their place in the tuple `p` (`p.0`, `p.1.0`, ...)
    #[arg(long, value_name = "PATH")]
    save: Option<PathBuf>,
    /// Print one JSON object at the end: epochs, final_loss, test_accuracy, examples_per_s
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pipeline: Pipeline,
}

/// Run the command; the exit status.
pub fn execute(cli: Cli, color: bool) -> u8 {
    let result = match cli.command {
        Command::Check { files } => return check(&files, color),
        Command::Run(a) => run(a),
        Command::Emit(a) => emit(a),
        Command::Bench(a) => bench(a),
        Command::Systolic(a) => systolic(a),
        Command::Train(a) => train(a),
        Command::Fed(command) => fed_cli::run_command(command),
        Command::Repl { file, backend } => repl::run(file.as_deref(), backend, color),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            report(&error, color);
            exit_status(&error)
        }
    }
}

fn exit_status(error: &Error) -> u8 {
    match error {
        Error::Compile(_) => 1,
        Error::Usage(_) => 2,
        Error::Argument { .. } | Error::Runtime(_) | Error::Io { .. } => 3,
    }
}

fn report(error: &Error, color: bool) {
    let text = match error {
        Error::Compile(diagnostics) => diagnostics.render(color),
        other => format!("error: {other}\n"),
    };
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn print(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn parse_backend(name: &str) -> Result<Backend, String> {
    Backend::parse(name).map_err(|e| e.to_string())
}

/// `4096`, `64KB`, `64KiB`, `1.5MiB`, `2G` (K, M, G alone are binary).
fn parse_size(text: &str) -> Result<u64, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`; use B, KB, MB, GB, KiB, MiB or GiB")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a size like 64MiB"))?;
    Ok((value * scale as f64) as u64)
}

fn check(files: &[PathBuf], color: bool) -> u8 {
    let session = match Session::new(Backend::default()) {
        Ok(session) => session,
        Err(error) => {
            report(&error, color);
            return exit_status(&error);
        }
    };
    let mut status = 0;
    for file in files {
        if let Err(error) = session.compile_file(file) {
            report(&error, color);
            if status == 0 {
                status = exit_status(&error);
            }
        }
    }
    status
}

fn run(a: RunArgs) -> Result<(), Error> {
    let call = a.call.compile(&a.pipeline.session()?)?;
    let (results, _) = call.module.run_donated(&call.compiled, call.inputs)?;
    let mut text = String::new();
    for (i, tensor) in results.iter().enumerate() {
        if results.len() > 1 {
            text.push_str(&format!("{i}: "));
        }
        text.push_str(&format!("{}\n{}\n", tensor.type_string(), tc_tensor::format_tensor(tensor)));
    }
    print(&text);
    match &a.out {
        Some(path) if path.extension().is_some_and(|e| e == "safetensors") => {
            let named: Vec<(String, Tensor)> = results.into_iter().enumerate().map(|(i, t)| (i.to_string(), t)).collect();
            tensorc::save_safetensors(path, &named)?;
        }
        Some(dir) => tensorc::save_npy_results(dir, &results).map_err(|e| match e {
            Error::Runtime(message) if results.iter().any(|t| t.dtype() == DType::BF16) => {
                Error::Runtime(format!("{message}; `-o PATH.safetensors` writes all results into one file"))
            }
            other => other,
        })?,
        None => {}
    }
    Ok(())
}

fn emit(a: EmitArgs) -> Result<(), Error> {
    let file = &a.call.target.file;
    if a.stage == "ast" {
        let text = tensorc::read_source(file)?;
        print(&tc_syntax::pretty(&tensorc::emit::parse(&file.display().to_string(), &text)?));
        return Ok(());
    }
    let (module, bound) = a.call.bind(&a.pipeline.session()?)?;
    let types = args::types(&bound)?;
    let donate = args::leaf_indices(&bound, &types, &a.call.donate)?;
    print(&tensorc::emit::graph_stage(&module, &a.call.target.entry, &types, &donate, &a.stage)?);
    Ok(())
}

fn bench(a: BenchArgs) -> Result<(), Error> {
    let Compiled { module, compiled, inputs, donate } = a.call.compile(&a.pipeline.session()?)?;
    let entry = &a.call.target.entry;
    if let Some(reps) = a.reps {
        // One time per repetition is kept, for the median.
        let per_rep = std::mem::size_of::<std::time::Duration>() as u128;
        tensorc::memory::check_memory(&format!("--reps {reps}"), u128::from(reps) * per_rep)?;
    }
    let reps = a.reps.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let measurement = bench::measure(&module, &compiled, &inputs, reps, !donate.is_empty())?;
    print(&format!("{}\n", if a.json { measurement.json() } else { measurement.text(entry) }));
    if let Some(note) = measurement.constant_note(entry) {
        let _ = writeln!(std::io::stderr(), "{note}");
    }
    Ok(())
}

/// `tensorc systolic`: the layers of the entry's optimised graph, or of a topology CSV.
fn systolic(a: SystolicArgs) -> Result<(), Error> {
    let file = &a.target.file;
    let layers = if file.extension().is_some_and(|e| e == "csv") {
        let text = std::fs::read_to_string(file).map_err(|error| Error::Io { path: file.clone(), error })?;
        systolic::topology_layers(&text)?
    } else {
        let module = Session::new(Backend::default())?.compile_file(file)?;
        // A parameter annotated with concrete sizes needs no argument: its annotation is its type.
        let mut texts = a.target.args.clone();
        for param in module.function(&a.target.entry)?.params {
            let given = a.target.args.iter().any(|t| t.split_once('=').is_some_and(|(n, _)| n.trim() == param.name));
            let concrete = |ty: &String| ty.split_once('[').is_some_and(|(_, d)| d.chars().all(|c| c.is_ascii_digit() || ", ]".contains(c)));
            if let Some(ty) = param.annotation.filter(|ty| !given && concrete(ty)) {
                texts.push(format!("{}={ty}", param.name));
            }
        }
        let bound = args::bind(&module, &a.target.entry, &texts)?;
        let spec = module.specialize(&a.target.entry, &args::types(&bound)?)?;
        systolic::graph_layers(&optimize(&spec.graph))
    };
    let evaluation = systolic::evaluate(layers, &a.options)?;
    print(&if a.options.json { evaluation.json() + "\n" } else { evaluation.table() });
    Ok(())
}

fn train(a: TrainArgs) -> Result<(), Error> {
    let session = a.pipeline.session()?;
    let options = tc_train::train::TrainOptions {
        epochs: a.epochs,
        batch: usize::try_from(a.batch).unwrap_or(usize::MAX),
        lr: a.lr,
        seed: a.seed,
    };
    let request =
        train_cli::Request { file: &a.file, data: &a.data, options, save: a.save.as_deref(), json: a.json };
    train_cli::run(&session, &request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert!(parse_size("64 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn clap_definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
