//! Rounds over a scripted [`Transport`]: sampling, accounting of reports, failures, late
//! and unmentioned clients, bytes, and the model kept when nobody reports.

use std::collections::HashMap;

use tc_fed::{
    sample_clients, Arrival, ClientId, Coordinator, CoordinatorConfig, DropReason, Reason, Server, ServerConfig,
    Strategy, Task, Tensor, Transport, TransportError, Update,
};

/// What each client does when asked, by id; clients not listed are never mentioned.
#[derive(Clone, Copy)]
enum Script {
    /// Report `delta` at `at` seconds.
    Report {
        delta: f32,
        at: f64,
    },
    Fail,
    /// Send a NaN update.
    Nan,
}

/// An in-process transport that plays a script and honours the deadline.
struct Scripted {
    script: HashMap<ClientId, Script>,
    /// Reports from a client that was not sampled, sent every round.
    intruder: Option<ClientId>,
    rounds: Vec<u64>,
    /// What the coordinator handed back after each round.
    reclaimed: Vec<Vec<Vec<Tensor>>>,
}

impl Transport for Scripted {
    fn exchange(&mut self, task: &Task<'_>, sink: &mut dyn FnMut(Arrival)) -> Result<u64, TransportError> {
        self.rounds.push(task.round);
        let model = |v: f32| vec![Tensor::from_f32(vec![3], vec![v; 3]).unwrap()];
        for &client in task.clients {
            match self.script.get(&client) {
                Some(Script::Report { delta, at }) if task.deadline.is_none_or(|d| *at <= d) => {
                    sink(Arrival::Report { update: Update::new(client, 10, model(*delta)), at: *at })
                }
                Some(Script::Report { at, .. }) => {
                    sink(Arrival::Dropped { client, reason: DropReason::Late { at: *at } })
                }
                Some(Script::Fail) => sink(Arrival::Dropped { client, reason: DropReason::Failed }),
                Some(Script::Nan) => {
                    sink(Arrival::Report { update: Update::new(client, 10, model(f32::NAN)), at: 0.0 })
                }
                None => {}
            }
        }
        if let Some(client) = self.intruder {
            sink(Arrival::Report { update: Update::new(client, 10, model(100.0)), at: 0.0 });
        }
        Ok(12 * task.clients.len() as u64)
    }

    fn reclaim(&mut self, spent: Vec<Vec<Tensor>>) {
        self.reclaimed.push(spent);
    }
}

fn coordinator(population: u64, fraction: f64, deadline: Option<f64>) -> Coordinator {
    let server =
        Server::new(vec![Tensor::from_f32(vec![3], vec![0.0; 3]).unwrap()], Strategy::FedAvg, ServerConfig::default())
            .unwrap();
    Coordinator::new(server, CoordinatorConfig { population, fraction, seed: 7, deadline }).unwrap()
}

#[test]
fn sampling_is_deterministic_distinct_and_sized() {
    for (population, fraction, m) in [(100, 0.1, 10), (100, 0.0001, 1), (7, 1.0, 7), (1, 0.5, 1), (1000, 0.25, 250)] {
        let a = sample_clients(3, 5, population, fraction);
        assert_eq!(a, sample_clients(3, 5, population, fraction));
        assert_eq!(a.len(), m);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|&c| c < population));
    }
    assert_ne!(sample_clients(3, 5, 100, 0.1), sample_clients(3, 6, 100, 0.1), "rounds differ");
    assert_ne!(sample_clients(3, 5, 100, 0.1), sample_clients(4, 5, 100, 0.1), "seeds differ");
    // Over many rounds every client gets picked about equally often.
    let mut counts = [0usize; 20];
    for round in 0..2000 {
        for c in sample_clients(1, round, 20, 0.25) {
            counts[c as usize] += 1;
        }
    }
    assert!(counts.iter().all(|&n| (400..600).contains(&n)), "{counts:?}");
}

#[test]
fn every_sampled_client_is_accounted_for() {
    // Everyone is sampled (C = 1): 0 and 1 report in time, 2 fails, 3 is late, 4 sends
    // NaN, 5 is never mentioned; client 99 was not sampled but reports anyway.
    let script = HashMap::from([
        (0, Script::Report { delta: 1.0, at: 0.5 }),
        (1, Script::Report { delta: 3.0, at: 1.5 }),
        (2, Script::Fail),
        (3, Script::Report { delta: 50.0, at: 9.0 }),
        (4, Script::Nan),
    ]);
    let mut transport = Scripted { script, intruder: Some(99), rounds: vec![], reclaimed: vec![] };
    let mut c = coordinator(6, 1.0, Some(2.0));
    let report = c.run_round(&mut transport).unwrap();
    assert_eq!(report.sampled, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!((report.reported, report.failed, report.late, report.dropped()), (3, 2, 1, 3));
    let tally = report.outcome.tally();
    assert_eq!((report.outcome.accepted, tally.get(Reason::NonFinite), tally.get(Reason::Unexpected)), (2, 1, 1));
    assert_eq!(report.bytes_up, 4 * 12, "the three sampled reports and the intruder's");
    assert_eq!(report.bytes_down, 6 * 12);
    assert_eq!(c.server().global()[0].as_f32().unwrap(), &[2.0; 3], "mean of 1 and 3");
    // The two accepted updates go back to the transport, in arrival order.
    let delta = |v: f32| vec![Tensor::from_f32(vec![3], vec![v; 3]).unwrap()];
    assert_eq!(transport.reclaimed, vec![vec![delta(1.0), delta(3.0)]]);
}

#[test]
fn a_round_without_reports_keeps_the_model() {
    let script = HashMap::from([(0, Script::Fail), (1, Script::Report { delta: 1.0, at: 30.0 })]);
    let mut transport = Scripted { script, intruder: None, rounds: vec![], reclaimed: vec![] };
    let mut c = coordinator(2, 1.0, Some(10.0));
    for round in 0..3 {
        let report = c.run_round(&mut transport).unwrap();
        assert!(!report.outcome.applied);
        assert_eq!((report.outcome.round, report.reported, report.failed, report.late), (round, 0, 1, 1));
        assert_eq!(c.server().global()[0].as_f32().unwrap(), &[0.0; 3]);
    }
    assert_eq!(transport.rounds, vec![0, 1, 2]);
    assert_eq!(transport.reclaimed, vec![Vec::<Vec<Tensor>>::new(); 3]);
}

#[test]
fn configuration_is_checked() {
    let server = || {
        Server::new(vec![Tensor::from_f32(vec![1], vec![0.0]).unwrap()], Strategy::FedAvg, ServerConfig::default())
            .unwrap()
    };
    for (population, fraction, deadline) in [(0, 0.1, None), (10, 0.0, None), (10, 1.5, None), (10, 0.1, Some(-1.0))] {
        let config = CoordinatorConfig { population, fraction, seed: 0, deadline };
        assert!(Coordinator::new(server(), config).is_err());
    }
}
