//! `tensorc fed …`: the command-line options, the per-round lines and the final JSON
//! object of `fed simulate`; `fed node`'s options, signal handling and log lines.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tc_flower::node::{Event as NodeEvent, NodeOptions};
use tc_flower::{Identity, Tls};
use tc_train::fed::local::{partition, LocalTrainer};
use tc_train::fed::node::{ModelHandler, NodeSettings};

use tc_train::data::{self, DataSpec};
use tc_train::fed::{check, check_clients, clients_per_round, simulate, Batch, Byzantine, Options, RoundStats, SplitSpec, Summary, parse_slow};
use tc_train::train::Model;
use tc_fed::Strategy;
use tensorc::{Backend, Error, Session};

/// `tensorc fed …`.
#[derive(clap::Subcommand)]
pub enum FedCommand {
    /// Federated averaging with simulated clients (SPEC §11)
    Simulate(SimulateArgs),
    /// Join a Flower federation (flwr 1.41) as a native node: train and evaluate on this machine's data
    Node(NodeArgs),
}

/// `tensorc fed node FILE --superlink HOST:PORT --data DATA [options]`.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// The model: a .tc file with `fn init(seed)`, `fn loss(p, x, y)`, `fn predict(p, x)`
    file: PathBuf,
    /// The SuperLink's Fleet API address
    #[arg(long, value_name = "HOST:PORT")]
    superlink: String,
    /// fashion-mnist, fashion-mnist:DIR (IDX files, gzipped or not) or synthetic:N
    #[arg(long, value_name = "DATA")]
    data: String,
    /// I/N: this node's share of the data (0-based I of N shares); default: all of it
    #[arg(long, value_name = "I/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
    /// How the training set is dealt to the N shares: iid, shards:S or dirichlet:ALPHA
    #[arg(long, value_name = "SPLIT", default_value = "iid", value_parser = SplitSpec::parse)]
    split: SplitSpec,
    /// Seeds the split and local shuffling
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Learning rate when the instruction's config has no `lr`
    #[arg(long, value_name = "LR", default_value_t = 0.1)]
    lr: f64,
    /// Local batch size when the instruction's config has no `batch-size`
    #[arg(long, value_name = "B", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// Plain HTTP (a SuperLink started with --insecure)
    #[arg(long, conflicts_with = "root_certificates")]
    insecure: bool,
    /// HTTPS, trusting the CA certificates in this PEM file
    #[arg(long, value_name = "PEM")]
    root_certificates: Option<PathBuf>,
    /// The node's P-384 private key (OpenSSH format as `ssh-keygen -t ecdsa -b 384` writes it, PKCS#8 or SEC1 PEM) when the SuperLink authenticates nodes; default: a fresh key
    #[arg(long, value_name = "PEM")]
    auth_key: Option<PathBuf>,
    /// Seconds between heartbeats promised to the SuperLink (10 to 1800)
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    heartbeat: f64,
    /// Leave after N runs have finished (default: serve until SIGINT/SIGTERM)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_runs: Option<u64>,
    /// Seconds before a request to the SuperLink is given up (and retried)
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,
    /// The backend: interp, cpu, wgpu or mlir (those this build has)
    #[arg(long, value_name = "B", default_value_t = Backend::default(), value_parser = parse_backend)]
    backend: Backend,
    /// Also write each train reply's parameters to DIR as round<R>-<KEY>.npy (for checking aggregation)
    #[arg(long, value_name = "DIR", hide = true)]
    dump_updates: Option<PathBuf>,
}

fn parse_partition(text: &str) -> Result<(usize, usize), String> {
    let parsed = text.split_once('/').and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => Err(format!("`{text}`: expected I/N with 0 <= I < N, e.g. 0/3")),
    }
}

/// Run `tensorc fed node`: serve until the runs are done or a signal arrives.
fn node(a: NodeArgs) -> Result<(), Error> {
    let tls = match (&a.root_certificates, a.insecure) {
        (Some(path), false) => {
            Tls::RootCertificates(std::fs::read(path).map_err(|error| Error::Io { path: path.clone(), error })?)
        }
        (None, true) => Tls::Insecure,
        _ => return Err(Error::Usage("give --insecure (plain HTTP) or --root-certificates PEM (HTTPS)".to_string())),
    };
    let identity = match &a.auth_key {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| Error::Io { path: path.clone(), error })?;
            Identity::from_pem(&text).map_err(|e| Error::Usage(format!("--auth-key {}: {e}", path.display())))?
        }
        None => Identity::generate(),
    };
    if !(a.timeout > 0.0 && a.timeout <= 3600.0) {
        return Err(Error::Usage(format!("--timeout {}: must be between 0 and 3600 seconds", a.timeout)));
    }
    if !(10.0..=1800.0).contains(&a.heartbeat) {
        return Err(Error::Usage(format!("--heartbeat {}: must be between 10 and 1800 seconds", a.heartbeat)));
    }
    tc_flower::client::check_address(&a.superlink).map_err(|e| Error::Usage(e.to_string()))?;
    let mut options = NodeOptions::new(a.superlink.clone(), tls, identity);
    options.heartbeat = a.heartbeat;
    options.timeout = std::time::Duration::from_secs_f64(a.timeout);
    options.max_runs = a.max_runs.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let spec = DataSpec::parse(&a.data)?;
    let session = Session::new(a.backend)?;
    let model = Model::compile_file(&session, &a.file)?;
    let data = data::load(&spec)?;
    let (index, count) = a.partition.unwrap_or((0, 1));
    let part = partition(&data, index, count, a.split, a.seed)?;
    let template = model.init(a.seed)?;
    let settings = NodeSettings {
        lr: a.lr,
        batch: usize::try_from(a.batch).unwrap_or(usize::MAX),
        seed: a.seed,
        dump_updates: a.dump_updates.clone(),
        ..NodeSettings::default()
    };
    let line = |text: &str| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    };
    line(&format!(
        "node {} on {} (share {index}/{count}: {} training, {} test examples), backend {}, SuperLink {} ({})",
        a.file.display(),
        data.name,
        part.train.len(),
        part.test.len(),
        session.backend(),
        a.superlink,
        if a.insecure { "insecure" } else { "TLS" }
    ));
    let mut handler = ModelHandler::new(LocalTrainer::new(&model, template), &data, part, settings);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::Runtime(format!("cannot handle signals: {e}")))?;
    }
    let summary = tc_flower::node::run(&options, &mut handler, &stop, &mut |event| match event {
        NodeEvent::Connected { node_id } => line(&format!("connected: node {node_id}")),
        NodeEvent::Replied(r) => line(&format!(
            "run {} round {} {}: {}{}  {:.2} s (handler {:.2} s; receive {:.4} s, decode {:.4} s, encode {:.4} s, send {:.4} s)  in {}  out {}",
            r.run_id,
            r.round.map_or("-".to_string(), |n| n.to_string()),
            r.message_type,
            r.note,
            r.error.as_ref().map_or(String::new(), |e| format!("error reply: {e}")),
            r.total_seconds,
            r.handle_seconds,
            r.receive_seconds,
            r.decode_seconds,
            r.encode_seconds,
            r.send_seconds,
            megabytes(r.bytes_in as u64),
            megabytes(r.bytes_out as u64)
        )),
        NodeEvent::Retrying { error, wait } => line(&format!("{error}; retrying in {:.1} s", wait.as_secs_f64())),
        NodeEvent::RunFinished { run_id } => line(&format!("run {run_id} finished")),
        NodeEvent::Note(text) => line(&text),
    })
    .map_err(|e| match e {
        tc_flower::Error::Config(m) => Error::Usage(m),
        other => Error::Runtime(other.to_string()),
    })?;
    line(&format!(
        "left the federation: node {}, {} messages ({} error replies), {} runs finished",
        summary.node_id, summary.messages, summary.errors, summary.runs_finished
    ));
    Ok(())
}

/// `tensorc fed simulate FILE --data DATA [options]`.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The model: a .tc file with `fn init(seed)`, `fn loss(p, x, y)`, `fn predict(p, x)`
    file: PathBuf,
    /// fashion-mnist, fashion-mnist:DIR (IDX files, gzipped or not) or synthetic:N
    #[arg(long, value_name = "DATA")]
    data: String,
    /// K: clients the training set is dealt to
    #[arg(long, value_name = "K", default_value_t = 100)]
    clients: usize,
    /// C: fraction of clients sampled per round
    #[arg(long, value_name = "C", default_value_t = 0.1)]
    fraction: f64,
    /// R: the most rounds to run
    #[arg(long, value_name = "R", default_value_t = 100)]
    rounds: usize,
    /// E: local epochs per round
    #[arg(long, value_name = "E", default_value_t = 1)]
    local_epochs: usize,
    /// B: local batch size, or `all` for the client's whole shard (FedSGD)
    #[arg(long, value_name = "B", default_value = "10", value_parser = Batch::parse)]
    batch: Batch,
    /// Client learning rate
    #[arg(long, value_name = "LR", default_value_t = 0.1)]
    lr: f64,
    /// iid, shards:S (S label-sorted shards per client) or dirichlet:ALPHA
    #[arg(long, value_name = "SPLIT", default_value = "iid", value_parser = SplitSpec::parse)]
    split: SplitSpec,
    /// Probability that a sampled client fails to report
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    dropout: f64,
    /// P:F: a fraction P of the clients is F times slower
    #[arg(long, value_name = "P:F", value_parser = parse_slow)]
    slow: Option<(f64, f64)>,
    /// Drop reports arriving later than this many simulated seconds (a client trains 1000 examples/s)
    #[arg(long, value_name = "SECONDS")]
    deadline: Option<f64>,
    /// Each client's network link in megabits per second: downloading the model and uploading the update take simulated time
    #[arg(long, value_name = "MBIT")]
    link: Option<f64>,
    /// fedavg, fedprox:MU, fedadam[:LR], median or trimmed:BETA
    #[arg(long, value_name = "S", default_value = "fedavg", value_parser = parse_strategy)]
    strategy: Strategy,
    /// Stop when test accuracy reaches ACC (a fraction, e.g. 0.85)
    #[arg(long, value_name = "ACC")]
    target: Option<f64>,
    /// Seeds init, the split, sampling, dropouts and local shuffling
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// P:scale[:S] or P:nan: a fraction P of the clients sends S× (default 100) or NaN updates
    #[arg(long, value_name = "P:KIND", value_parser = Byzantine::parse)]
    byzantine: Option<Byzantine>,
    /// Reject updates whose L2 norm is above this bound
    #[arg(long, value_name = "NORM")]
    max_norm: Option<f64>,
    /// Scale updates down to at most C times the median L2 norm of the round's accepted updates
    #[arg(long, value_name = "C")]
    clip: Option<f64>,
    /// Threads for clients and aggregation (default: one per core)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
    /// Measure test accuracy every N rounds (and after the last)
    #[arg(long, value_name = "N", default_value_t = 1)]
    eval_every: usize,
    /// The backend: interp, cpu, wgpu or mlir (those this build has)
    #[arg(long, value_name = "B", default_value_t = Backend::default(), value_parser = parse_backend)]
    backend: Backend,
    /// Print one JSON object at the end: rounds, rounds_to_target, final_accuracy, clients_per_round, dropped, bytes_up, bytes_down
    #[arg(long)]
    json: bool,
}

fn parse_strategy(text: &str) -> Result<Strategy, String> {
    Strategy::parse(text).map_err(|e| e.to_string())
}

fn parse_backend(name: &str) -> Result<Backend, String> {
    Backend::parse(name).map_err(|e| e.to_string())
}

/// Run a `tensorc fed` command: per-round lines (on stderr with `--json`, whose object is
/// then all of stdout).
pub fn run_command(command: FedCommand) -> Result<(), Error> {
    let a = match command {
        FedCommand::Simulate(a) => a,
        FedCommand::Node(a) => return node(a),
    };
    let options = Options {
        clients: a.clients,
        fraction: a.fraction,
        rounds: a.rounds,
        local_epochs: a.local_epochs,
        batch: a.batch,
        lr: a.lr,
        split: a.split,
        dropout: a.dropout,
        slow: a.slow,
        deadline: a.deadline,
        link: a.link,
        strategy: a.strategy,
        target: a.target,
        seed: a.seed,
        byzantine: a.byzantine,
        max_norm: a.max_norm,
        clip: a.clip,
        threads: a.threads.map_or(Options::default().threads, |t| usize::try_from(t).unwrap_or(usize::MAX)),
        eval_every: a.eval_every,
    };
    // Every option is checked before any work, and the number of clients against the
    // data as soon as it is loaded: no work grows with a K that is then refused.
    check(&options)?;
    let spec = DataSpec::parse(&a.data)?;
    let session = Session::new(a.backend)?;
    let model = Model::compile_file(&session, &a.file)?;
    let data = data::load(&spec)?;
    check_clients(options.clients, options.split, data.train.len())?;
    let json = a.json;
    let line = |text: &str| {
        if json {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    };
    line(&format!(
        "federated {} on {}: {} clients, {} per round, E = {}, B = {}, lr {}, split {}, strategy {}, backend {}, seed {}",
        a.file.display(),
        data.name,
        options.clients,
        clients_per_round(&options),
        options.local_epochs,
        match options.batch {
            Batch::All => "all".to_string(),
            Batch::Size(b) => b.to_string(),
        },
        options.lr,
        a.split_text(),
        options.strategy,
        session.backend(),
        options.seed
    ));
    let summary = simulate(&model, &data, &options, &mut |r| line(&round_line(r, options.rounds)))?;
    line(&format!(
        "{} rounds; {}; final accuracy {:.2}%; dropped {}; rejected {}; {} up, {} down",
        summary.rounds(),
        match (summary.rounds_to_target, options.target) {
            (Some(r), Some(t)) => format!("reached {:.2}% in round {r}", 100.0 * t),
            (None, Some(t)) => format!("did not reach {:.2}%", 100.0 * t),
            _ => "no target".to_string(),
        },
        100.0 * summary.final_accuracy,
        summary.dropped(),
        summary.rejected(),
        megabytes(summary.bytes_up()),
        megabytes(summary.bytes_down())
    ));
    if json {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{}", summary_json(&summary));
        let _ = out.flush();
    }
    Ok(())
}

impl SimulateArgs {
    fn split_text(&self) -> String {
        match self.split {
            SplitSpec::Iid => "iid".to_string(),
            SplitSpec::Shards(s) => format!("shards:{s}"),
            SplitSpec::Dirichlet(a) => format!("dirichlet:{a}"),
        }
    }
}

/// `round 3/100  acc 71.20%  loss 0.8123  reported 9/10  dropped 1 (1 failed, 0 late)  rejected none  up 7.17 MB  down 7.97 MB  3.6 s`,
/// with `  clipped N` after `rejected …` under `--clip`, and `no reports: model kept` for a
/// round without accepted updates.
pub fn round_line(r: &RoundStats, rounds: usize) -> String {
    format!(
        "round {}/{rounds}  acc {}  loss {}  reported {}/{}  dropped {} ({} failed, {} late)  rejected {}{}  up {}  down {}  {:.1} s{}",
        r.round,
        r.accuracy.map_or("-".to_string(), |a| format!("{:.2}%", 100.0 * a)),
        if r.loss.is_finite() { format!("{:.4}", r.loss) } else { "-".to_string() },
        r.reported,
        r.sampled,
        r.dropped(),
        r.failed,
        r.late,
        r.rejected,
        r.clipped.map_or(String::new(), |c| format!("  clipped {c}")),
        megabytes(r.bytes_up),
        megabytes(r.bytes_down),
        r.seconds,
        if r.applied {
            String::new()
        } else if r.reported == 0 {
            "  no reports: model kept".to_string()
        } else {
            "  no update accepted: model kept".to_string()
        }
    )
}

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}


/// The final object of `--json` (SPEC §11); JSON has no NaN, so a non-finite accuracy is `null`.
pub fn summary_json(summary: &Summary) -> String {
    crate::json::line(&serde_json::json!({
        "rounds": summary.rounds(),
        "rounds_to_target": summary.rounds_to_target,
        "final_accuracy": summary.final_accuracy.is_finite().then_some(summary.final_accuracy),
        "clients_per_round": summary.clients_per_round,
        "dropped": summary.dropped(),
        "bytes_up": summary.bytes_up(),
        "bytes_down": summary.bytes_down(),
    }))
}
