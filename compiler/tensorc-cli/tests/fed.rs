//! `tensorc fed simulate` (SPEC §11) end to end on `synthetic:N` with a linear model:
//! learning, dropouts and deadlines that never hang a round and are counted, link
//! transfer time, a round
//! without reports that keeps the model, determinism for a seed, the data splits,
//! FedProx / FedSGD / robust strategies, Byzantine updates, and the command line.

use std::path::PathBuf;
use std::process::Command;

use tc_fed::{Reason, Strategy};
use tc_train::data::{self, DataSet};
use tc_train::fed::{self, Attack, Batch, Byzantine, Options, RoundStats, SplitSpec, Summary};
mod common;

use common::LINEAR;
use tc_train::train::Model;
use tensorc::{Backend, Error, Session, Value};

/// The `--json` object of a summary, parsed.
fn json(summary: &Summary) -> serde_json::Value {
    serde_json::from_str(&tensorc_cli::fed_cli::summary_json(summary)).expect("valid JSON")
}


fn session() -> Session {
    Session::new(Backend::Interp).expect("the interpreter is always built")
}

fn model(session: &Session) -> Model {
    Model::compile_source(session, "linear.tc", LINEAR).expect("the linear model compiles")
}

/// 20 clients of 20 examples, 5 per round, 4 rounds.
fn small() -> Options {
    Options { clients: 20, fraction: 0.25, rounds: 4, lr: 0.05, threads: 2, ..Options::default() }
}

fn run(data: &DataSet, options: &Options) -> Result<(Summary, Vec<RoundStats>), Error> {
    let session = session();
    let model = model(&session);
    let mut lines = Vec::new();
    let summary = fed::simulate(&model, data, options, &mut |r| lines.push(r.clone()))?;
    Ok((summary, lines))
}

fn sim(options: &Options) -> Summary {
    run(&data::synthetic(400), options).expect("the simulation runs").0
}

fn leaves(v: &Value) -> Vec<Vec<f64>> {
    v.leaves().iter().map(|t| t.data().to_f64_vec()).collect()
}

#[test]
fn fedavg_learns_and_reports_every_round() {
    let data = data::synthetic(400);
    let (summary, lines) = run(&data, &small()).unwrap();
    assert_eq!(summary.rounds(), 4);
    assert_eq!(lines, summary.history, "on_round hears every round");
    assert_eq!(summary.clients_per_round, 5);
    assert_eq!(summary.shard_sizes, vec![20; 20]);
    assert!(summary.final_accuracy > 0.6, "accuracy {}", summary.final_accuracy);
    for r in &summary.history {
        assert_eq!((r.sampled, r.reported, r.accepted, r.dropped()), (5, 5, 5, 0));
        assert!(r.applied && r.accuracy.is_some() && r.loss.is_finite());
        // Each client downloads and uploads the 7,850 f32 parameters.
        assert_eq!((r.bytes_down, r.bytes_up), (5 * 7850 * 4, 5 * 7850 * 4));
        assert!((r.seconds - 20.0 / fed::EXAMPLES_PER_SECOND).abs() < 1e-12);
    }
    let json = json(&summary);
    for key in
        ["rounds", "rounds_to_target", "final_accuracy", "clients_per_round", "dropped", "bytes_up", "bytes_down"]
    {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert!(json["rounds_to_target"].is_null() && json["rounds"] == 4, "{json}");
}

#[test]
fn the_target_stops_the_run() {
    let summary = sim(&Options { rounds: 30, target: Some(0.5), ..small() });
    let reached = summary.rounds_to_target.expect("the target is reached");
    assert_eq!(summary.rounds(), reached);
    assert!(summary.final_accuracy >= 0.5);
    assert!(summary.history[..reached - 1].iter().all(|r| r.accuracy.unwrap() < 0.5));
    assert_eq!(json(&summary)["rounds_to_target"], reached);
}

#[test]
fn dropouts_never_hang_and_are_counted() {
    let summary = sim(&Options { dropout: 0.5, rounds: 6, ..small() });
    assert_eq!(summary.rounds(), 6);
    for r in &summary.history {
        assert_eq!(r.reported + r.failed + r.late, r.sampled);
        assert_eq!(r.late, 0);
        assert_eq!(r.applied, r.reported > 0);
    }
    let dropped = summary.dropped();
    assert!(dropped > 0 && dropped < 30, "{dropped} of 30 dropped");
    assert_eq!(json(&summary)["dropped"], dropped);
    // Dropped clients upload nothing.
    let reported: usize = summary.history.iter().map(|r| r.reported).sum();
    assert_eq!(summary.bytes_up(), reported as u64 * 7850 * 4);
}

#[test]
fn a_round_without_reports_keeps_the_model() {
    let options = Options { dropout: 1.0, rounds: 3, ..small() };
    let (summary, _) = run(&data::synthetic(400), &options).unwrap();
    for r in &summary.history {
        assert_eq!((r.reported, r.failed, r.applied, r.bytes_up), (0, 5, false, 0));
        assert!(tensorc_cli::fed_cli::round_line(r, 3).contains("no reports: model kept"), "{}", tensorc_cli::fed_cli::round_line(r, 3));
    }
    let session = session();
    let init = model(&session).init(options.seed).unwrap();
    assert_eq!(leaves(&summary.params), leaves(&init));
}

#[test]
fn the_deadline_drops_slow_clients() {
    // Shards of 20 examples take 0.02 s; slow clients (half of them) 10× as long.
    let options = Options { slow: Some((0.5, 10.0)), deadline: Some(0.1), rounds: 5, ..small() };
    let summary = sim(&options);
    let late: usize = summary.history.iter().map(|r| r.late).sum();
    let reported: usize = summary.history.iter().map(|r| r.reported).sum();
    assert!(late > 0 && reported > 0, "late {late}, reported {reported}");
    for r in &summary.history {
        assert_eq!(r.failed, 0);
        assert_eq!(r.reported + r.late, r.sampled);
        let expected = if r.late > 0 { 0.1 } else { 0.02 };
        assert!((r.seconds - expected).abs() < 1e-12, "round {} took {}", r.round, r.seconds);
    }
    // Without a deadline the slow clients report, later.
    let patient = sim(&Options { deadline: None, ..options });
    assert!(patient.history.iter().all(|r| r.late == 0 && r.reported == r.sampled));
    assert!(patient.history.iter().any(|r| (r.seconds - 0.2).abs() < 1e-12));
}

#[test]
fn the_link_adds_transfer_time_and_slow_clients_have_slow_links() {
    // Shards of 20 examples train in 0.02 s. A round's bytes down are one copy of the
    // model per sampled client, and an update is as large as the model.
    let base = Options { rounds: 3, ..small() };
    let instant = sim(&base);
    let r = &instant.history[0];
    let model_bytes = (r.bytes_down / r.sampled as u64) as f64;
    let transfer = 2.0 * model_bytes * 8.0 / 1e6; // at 1 Mbit/s
    let linked = sim(&Options { link: Some(1.0), ..base.clone() });
    for (a, b) in instant.history.iter().zip(&linked.history) {
        assert!((a.seconds - 0.02).abs() < 1e-12);
        assert!((b.seconds - (0.02 + transfer)).abs() < 1e-9, "round {} took {}", b.round, b.seconds);
    }
    // The link changes time, not training: the same models.
    assert_eq!(leaves(&instant.params), leaves(&linked.params));
    // Slow clients are slow on the link too; a deadline between the fast and the slow
    // clients' arrival drops exactly the slow ones.
    let slow = Options { link: Some(1.0), slow: Some((0.5, 3.0)), ..base };
    let patient = sim(&slow);
    assert!(patient.history.iter().any(|r| (r.seconds - 3.0 * (0.02 + transfer)).abs() < 1e-9));
    let strict = sim(&Options { deadline: Some(2.0 * (0.02 + transfer)), ..slow });
    let late: usize = strict.history.iter().map(|r| r.late).sum();
    assert!(late > 0);
    for r in &strict.history {
        assert_eq!(r.reported + r.late, r.sampled);
    }
}

#[test]
fn runs_are_deterministic_for_a_seed_whatever_the_threads() {
    let options = Options { dropout: 0.2, slow: Some((0.3, 4.0)), deadline: Some(0.05), ..small() };
    let a = sim(&options);
    let b = sim(&Options { threads: 1, ..options.clone() });
    assert_eq!(a.history, b.history);
    assert_eq!(leaves(&a.params), leaves(&b.params));
    let c = sim(&Options { seed: 1, ..options });
    assert_ne!(leaves(&a.params), leaves(&c.params), "another seed, another run");
}

#[test]
fn splits_deal_every_example_once() {
    let labels: Vec<u8> = (0..1000).map(|i| (i * 7 % 10) as u8).collect();
    for spec in [SplitSpec::Iid, SplitSpec::Shards(2), SplitSpec::Dirichlet(0.3), SplitSpec::Dirichlet(100.0)] {
        let shards = fed::split(&labels, 50, spec, 3).unwrap();
        assert_eq!(shards.len(), 50);
        assert!(shards.iter().all(|s| !s.is_empty()), "{spec:?}: an empty client");
        let mut all: Vec<usize> = shards.concat();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>(), "{spec:?}");
        assert_eq!(shards, fed::split(&labels, 50, spec, 3).unwrap(), "{spec:?} is seeded");
    }
    let classes = |shard: &[usize]| {
        let mut c: Vec<u8> = shard.iter().map(|&i| labels[i]).collect();
        c.sort();
        c.dedup();
        c.len()
    };
    let iid = fed::split(&labels, 50, SplitSpec::Iid, 3).unwrap();
    assert!(iid.iter().all(|s| s.len() == 20));
    let shards = fed::split(&labels, 50, SplitSpec::Shards(2), 3).unwrap();
    assert!(shards.iter().all(|s| s.len() == 20 && classes(s) <= 2), "two label-sorted shards each");
    let skewed = fed::split(&labels, 50, SplitSpec::Dirichlet(0.1), 3).unwrap();
    let mean = |s: &[Vec<usize>]| s.iter().map(|s| classes(s)).sum::<usize>() as f64 / s.len() as f64;
    assert!(mean(&skewed) < mean(&iid) - 3.0, "small α concentrates labels: {} vs {}", mean(&skewed), mean(&iid));
    assert!(matches!(fed::split(&labels, 1001, SplitSpec::Iid, 0), Err(Error::Usage(_))));
}

#[test]
fn fedprox_fedsgd_and_fedadam_learn() {
    let fedprox = sim(&Options { strategy: Strategy::parse("fedprox:0.1").unwrap(), ..small() });
    assert!(fedprox.final_accuracy > 0.6, "fedprox {}", fedprox.final_accuracy);
    // FedSGD: one full-shard batch per client and round.
    let fedsgd = sim(&Options { batch: Batch::All, lr: 0.5, rounds: 3, ..small() });
    assert_eq!(fedsgd.rounds(), 3);
    assert!(fedsgd.history.iter().all(|r| r.applied));
    let fedadam = sim(&Options { strategy: Strategy::parse("fedadam:0.01").unwrap(), ..small() });
    assert!(fedadam.final_accuracy > 0.3, "fedadam {}", fedadam.final_accuracy);
}

#[test]
fn fedprox_with_mu_zero_is_fedavg() {
    let avg = sim(&Options { rounds: 2, ..small() });
    let prox = sim(&Options { rounds: 2, strategy: Strategy::FedProx { mu: 0.0 }, ..small() });
    for (a, b) in leaves(&avg.params).iter().zip(&leaves(&prox.params)) {
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-5, "{worst}");
    }
}

#[test]
fn byzantine_updates_are_rejected_or_outvoted() {
    let nan = Byzantine { fraction: 0.25, attack: Attack::Nan };
    let summary = sim(&Options { byzantine: Some(nan), ..small() });
    let rejected = summary.rejected();
    assert!(rejected.get(Reason::NonFinite) > 0 && rejected.total() == rejected.get(Reason::NonFinite));
    assert!(summary.final_accuracy > 0.6, "{}", summary.final_accuracy);
    for r in &summary.history {
        assert_eq!(r.accepted + r.rejected.total(), r.reported);
    }

    // 4 of 40 clients attack, so they are at most 4 of a round's 10: a minority.
    let scale = Byzantine { fraction: 0.1, attack: Attack::Scale(-50.0) };
    let crowd = Options { clients: 40, fraction: 0.25, byzantine: Some(scale), rounds: 5, ..small() };
    let fedavg = sim(&crowd);
    let median = sim(&Options { strategy: Strategy::Median, ..crowd.clone() });
    let trimmed = sim(&Options { strategy: Strategy::TrimmedMean { beta: 0.4 }, ..crowd.clone() });
    assert!(median.final_accuracy > 0.6, "median {}", median.final_accuracy);
    assert!(trimmed.final_accuracy > 0.6, "trimmed {}", trimmed.final_accuracy);
    assert!(fedavg.final_accuracy < median.final_accuracy, "fedavg {}", fedavg.final_accuracy);
    let bounded = sim(&Options { max_norm: Some(5.0), ..crowd.clone() });
    assert!(bounded.rejected().get(Reason::Norm) > 0);

    // trimmed:0.1 trims one value per end; clipping to twice the median norm first bounds
    // the attackers that remain.
    let trimmed = Options { strategy: Strategy::TrimmedMean { beta: 0.1 }, ..crowd };
    let clipped = sim(&Options { clip: Some(2.0), ..trimmed.clone() });
    assert!(clipped.final_accuracy > 0.6, "trimmed + clip {}", clipped.final_accuracy);
    assert!(clipped.history.iter().any(|r| r.clipped.is_some_and(|c| c > 0)));
    assert!(tensorc_cli::fed_cli::round_line(&clipped.history[0], 5).contains("  clipped "));
    assert!(sim(&trimmed).history.iter().all(|r| r.clipped.is_none()));
}

#[test]
fn bad_options_are_usage_errors() {
    let data = data::synthetic(100);
    for options in [
        Options { clients: 0, ..small() },
        Options { clients: 101, ..small() },
        Options { fraction: 0.0, ..small() },
        Options { local_epochs: 0, ..small() },
        Options { dropout: 1.5, ..small() },
        Options { target: Some(2.0), ..small() },
        Options { clip: Some(0.0), ..small() },
        Options { link: Some(0.0), ..small() },
        Options { link: Some(f64::INFINITY), ..small() },
        Options { split: SplitSpec::Shards(6), ..small() },
    ] {
        assert!(matches!(run(&data, &options), Err(Error::Usage(_))), "{options:?}");
    }
    assert_eq!(Batch::parse("all"), Ok(Batch::All));
    assert!(Batch::parse("0").is_err());
    assert_eq!(SplitSpec::parse("dirichlet:0.5"), Ok(SplitSpec::Dirichlet(0.5)));
    assert!(SplitSpec::parse("shards:0").is_err() && SplitSpec::parse("noniid").is_err());
    assert_eq!(Byzantine::parse("0.1:scale"), Ok(Byzantine { fraction: 0.1, attack: Attack::Scale(100.0) }));
    assert_eq!(Byzantine::parse("0.1:scale:-5"), Ok(Byzantine { fraction: 0.1, attack: Attack::Scale(-5.0) }));
    assert!(Byzantine::parse("2:nan").is_err() && Byzantine::parse("0.1:flip").is_err());
    assert_eq!(fed::parse_slow("0.2:5"), Ok((0.2, 5.0)));
    assert!(fed::parse_slow("0.2:0.5").is_err());
}

/// A model file written for the command-line tests.
fn model_file(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorc-fed-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    let path = dir.join("linear.tc");
    std::fs::write(&path, LINEAR).expect("write the model");
    path
}

fn tensorc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tensorc")).args(args).output().expect("run tensorc");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "tensorc panicked: {stderr}");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn the_command_line_prints_rounds_and_json() {
    let model = model_file("cli");
    let model = model.to_str().unwrap();
    let common =
        ["fed", "simulate", model, "--data", "synthetic:200", "--clients", "10", "--fraction", "0.5", "--rounds", "2"];
    let (status, stdout, stderr) = tensorc(&common);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("round ")).count(), 2, "{stdout}");
    assert!(stdout.contains("reported 5/5") && stdout.contains("up 0.16 MB"), "{stdout}");
    let (status, stdout, stderr) = tensorc(&[&common[..], &["--strategy", "trimmed:0.1", "--clip", "2"]].concat());
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("rejected none  clipped "), "{stdout}");

    let mut args = common.to_vec();
    args.extend(["--json", "--dropout", "1", "--strategy", "median", "--split", "shards:2", "--batch", "all"]);
    let (status, stdout, stderr) = tensorc(&args);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "stdout is the JSON object alone: {stdout}");
    assert!(stdout.starts_with("{\"rounds\": 2, \"rounds_to_target\": null, "), "{stdout}");
    assert!(stdout.contains("\"dropped\": 10") && stdout.contains("\"bytes_up\": 0"), "{stdout}");
    assert!(stderr.contains("no reports: model kept"), "{stderr}");

    for bad in [
        ["--strategy", "fedsgd"],
        ["--split", "halves"],
        ["--batch", "0"],
        ["--slow", "0.5"],
        ["--byzantine", "0.1:flip"],
        ["--fraction", "2"],
        ["--clip", "0"],
    ] {
        let mut args = common.to_vec();
        args.extend(bad);
        let (status, _, stderr) = tensorc(&args);
        assert_eq!(status, 2, "{bad:?}: {stderr}");
    }
}

#[test]
fn more_clients_than_examples_is_refused_before_any_work() {
    let model = model_file("too-many-clients");
    let model = model.to_str().unwrap();
    let common = ["fed", "simulate", model, "--data", "synthetic:100", "--rounds", "1"];
    let (status, stdout, stderr) = tensorc(&[&common[..], &["--clients", "4294967295", "--fraction", "1"]].concat());
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("--clients 4294967295") && stderr.contains("100 training examples"), "{stderr}");
    assert!(stdout.is_empty(), "nothing runs before the check: {stdout}");
    let (status, stdout, stderr) =
        tensorc(&[&common[..], &["--clients", "10", "--split", &format!("shards:{}", usize::MAX)]].concat());
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("--split shards:"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    // Options that need no data are checked before the data is made.
    let (status, _, stderr) = tensorc(&["fed", "simulate", model, "--data", "synthetic:99999999999", "--lr=-1"]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("--lr -1"), "{stderr}");
}

#[test]
fn a_dirichlet_split_over_as_many_clients_as_examples_gives_each_one() {
    let labels: Vec<u8> = (0..500).map(|i| (i % 10) as u8).collect();
    let shards = fed::split(&labels, 500, SplitSpec::Dirichlet(0.01), 3).expect("as many clients as examples");
    assert!(shards.iter().all(|s| s.len() == 1), "{:?}", shards.iter().map(Vec::len).collect::<Vec<_>>());
    let mut all: Vec<usize> = shards.concat();
    all.sort();
    assert_eq!(all, (0..500).collect::<Vec<_>>());
}
