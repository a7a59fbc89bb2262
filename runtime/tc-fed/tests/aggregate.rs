//! Aggregation maths against hand computations, independence of arrival order, and
//! update validation with every kind of bad update injected.

use tc_fed::{
    AdamConfig, DType, FedError, Reason, Rejection, RoundOutcome, Server, ServerConfig, Strategy, Tensor, Update,
};

fn t(shape: &[usize], values: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), values.to_vec()).unwrap()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.as_f32().unwrap().to_vec()
}

/// A server on a two-tensor model: `a: f32[2] = [1, 2]`, `b: f32[2, 2] = 0`.
fn server(strategy: Strategy) -> Server {
    server_with(strategy, ServerConfig::default())
}

fn server_with(strategy: Strategy, config: ServerConfig) -> Server {
    Server::new(vec![t(&[2], &[1.0, 2.0]), t(&[2, 2], &[0.0; 4])], strategy, config).unwrap()
}

fn update(client: u64, examples: u64, a: [f32; 2], b: [f32; 4]) -> Update {
    Update::new(client, examples, vec![t(&[2], &a), t(&[2, 2], &b)])
}

/// One round of `updates` (all must be accepted).
fn round(server: &mut Server, updates: Vec<Update>) -> RoundOutcome {
    let mut round = server.begin_round();
    for u in updates {
        round.offer(u).unwrap();
    }
    server.finish_round(round).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

#[test]
fn fedavg_weights_updates_by_examples() {
    let mut s = server(Strategy::FedAvg);
    let outcome = round(
        &mut s,
        vec![update(0, 10, [1.0, 0.0], [1.0, 2.0, 3.0, 4.0]), update(1, 30, [-1.0, 2.0], [0.0, 0.0, 0.0, 8.0])],
    );
    assert!(outcome.applied);
    assert_eq!((outcome.accepted, outcome.examples), (2, 40));
    // a: [1, 2] + [(10 − 30) / 40, 60 / 40] = [0.5, 3.5]; b: [10, 20, 30, 40 + 240] / 40.
    assert_eq!(f32s(&s.global()[0]), [0.5, 3.5]);
    assert_eq!(f32s(&s.global()[1]), [0.25, 0.5, 0.75, 7.0]);
    let expected_norm =
        (0.5f64.powi(2) + 1.5f64.powi(2) + 0.25f64.powi(2) + 0.5f64.powi(2) + 0.75f64.powi(2) + 49.0).sqrt();
    assert!((outcome.step_norm - expected_norm).abs() < 1e-12);
}

#[test]
fn fedprox_aggregates_as_fedavg() {
    let updates = || vec![update(0, 3, [1.0, 0.0], [1.0; 4]), update(1, 1, [-3.0, 4.0], [0.0; 4])];
    let (mut avg, mut prox) = (server(Strategy::FedAvg), server(Strategy::FedProx { mu: 0.1 }));
    round(&mut avg, updates());
    round(&mut prox, updates());
    assert_eq!(avg.global(), prox.global());
    assert_eq!(f32s(&prox.global()[0]), [1.0, 3.0]);
    assert_eq!(prox.strategy().proximal_mu(), Some(0.1));
}

#[test]
fn median_is_coordinate_wise_and_unweighted() {
    let mut s = server(Strategy::Median);
    round(
        &mut s,
        vec![
            update(0, 1000, [1.0, -5.0], [0.0, 1.0, 2.0, 3.0]),
            update(1, 1, [2.0, 100.0], [9.0, 1.0, -2.0, 3.0]),
            update(2, 1, [-7.0, 0.5], [1.0, 1.0, 7.0, f32::MAX]),
        ],
    );
    // Medians: a [1, 0.5], b [1, 1, 2, 3].
    assert_eq!(f32s(&s.global()[0]), [2.0, 2.5]);
    assert_eq!(f32s(&s.global()[1]), [1.0, 1.0, 2.0, 3.0]);

    // An even count takes the mean of the two middle values.
    let mut s = server(Strategy::Median);
    round(&mut s, vec![update(0, 1, [1.0, 0.0], [0.0; 4]), update(1, 1, [2.0, 10.0], [0.0; 4])]);
    assert_eq!(f32s(&s.global()[0]), [2.5, 7.0]);
}

#[test]
fn trimmed_mean_drops_beta_of_each_end() {
    let mut s = server(Strategy::TrimmedMean { beta: 0.2 });
    let a = [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [-1000.0, 1e6]];
    // n = 5, k = ⌊0.2·5⌋ = 1 per end: a₀ from {1, 2, 3, 4, −1000} keeps {1, 2, 3} → 2;
    // a₁ from {10, 20, 30, 40, 1e6} keeps {20, 30, 40} → 30.
    round(&mut s, a.iter().enumerate().map(|(i, a)| update(i as u64, 1 + i as u64, *a, [i as f32; 4])).collect());
    assert_eq!(f32s(&s.global()[0]), [1.0 + 2.0, 2.0 + 30.0]);
    assert_eq!(f32s(&s.global()[1]), [2.0; 4]);

    // β = 0 is the plain unweighted mean.
    let mut s = server(Strategy::TrimmedMean { beta: 0.0 });
    round(&mut s, vec![update(0, 1, [1.0, 0.0], [0.0; 4]), update(1, 9, [2.0, 1.0], [0.0; 4])]);
    assert_eq!(f32s(&s.global()[0]), [2.5, 2.5]);
}

#[test]
fn fedadam_takes_the_papers_step() {
    let config = AdamConfig { lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 };
    let mut s = server(Strategy::FedAdam(config));
    // Two clients whose weighted mean update is Δ = a: [0.1, −0.2], b: 0.
    round(&mut s, vec![update(0, 1, [0.4, -0.2], [0.0; 4]), update(1, 3, [0.0, -0.2], [0.0; 4])]);
    let mut m = [0.0f64; 2];
    let mut v = [0.0f64; 2];
    let mut w = [1.0f64, 2.0];
    // The model is stored as f32 between rounds; updates arrive as f32.
    let mut adam = |delta: [f32; 2]| {
        for i in 0..2 {
            let d = f64::from(delta[i]);
            m[i] = 0.9 * m[i] + 0.1 * d;
            v[i] = 0.99 * v[i] + 0.01 * d * d;
            w[i] = f64::from((w[i] + 0.01 * m[i] / (v[i].sqrt() + 1e-3)) as f32);
        }
        [w[0] as f32, w[1] as f32]
    };
    // By hand: m = [0.01, −0.02], √v = [0.01, 0.02]: steps 0.01·0.01/0.011 and 0.01·(−0.02)/0.021.
    let first = adam([0.1, -0.2]);
    close(&first, &[1.0 + 0.0001 / 0.011, 2.0 - 0.0002 / 0.021], 1e-7);
    assert_eq!(f32s(&s.global()[0]), first);
    assert_eq!(f32s(&s.global()[1]), [0.0; 4], "zero update, zero step");
    // The moments carry over to the next round.
    round(&mut s, vec![update(0, 1, [-0.3, 0.1], [0.0; 4])]);
    assert_eq!(f32s(&s.global()[0]), adam([-0.3, 0.1]));
}

/// A deterministic stream of pseudo-random numbers in [−1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Updates of a bigger model (so that the kernels split over threads).
fn random_updates(n: usize, len: usize, seed: u64) -> Vec<Update> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|c| {
            let scale = 10f32.powi(c as i32 % 5 - 2);
            let a: Vec<f32> = (0..len).map(|_| rng.next() * scale).collect();
            let b: Vec<f32> = (0..3).map(|_| rng.next()).collect();
            Update::new(c as u64, 1 + (c as u64 * 37) % 600, vec![Tensor::from_f32(vec![len], a).unwrap(), t(&[3], &b)])
        })
        .collect()
}

#[test]
fn arrival_order_does_not_matter() {
    let len = 300_007;
    let updates = random_updates(12, len, 5);
    let init = vec![Tensor::from_f32(vec![len], vec![0.25; len]).unwrap(), t(&[3], &[0.0; 3])];
    let strategies = [
        Strategy::FedAvg,
        Strategy::FedAdam(AdamConfig::default()),
        Strategy::Median,
        Strategy::TrimmedMean { beta: 0.25 },
    ];
    for strategy in strategies {
        // Folding the updates 1, 4 or 16 (all) at a time adds them in the same order.
        let run = |order: &[usize], threads: usize| -> Vec<Tensor> {
            let config = ServerConfig { threads, fold: [16, 1, 4][threads - 1], ..ServerConfig::default() };
            let mut s = Server::new(init.clone(), strategy, config).unwrap();
            round(&mut s, order.iter().map(|&i| updates[i].clone()).collect());
            s.into_global()
        };
        let forward: Vec<usize> = (0..updates.len()).collect();
        let reference = run(&forward, 1);
        let mut order = forward.clone();
        let mut rng = Lcg(99);
        for trial in 0..4 {
            for i in (1..order.len()).rev() {
                order.swap(i, ((rng.next() + 1.0) / 2.0 * (i + 1) as f32) as usize % (i + 1));
            }
            let other = run(&order, 1 + trial % 3);
            for (a, b) in reference.iter().zip(&other) {
                let (a, b) = (a.as_f32().unwrap(), b.as_f32().unwrap());
                if strategy.is_robust() {
                    assert_eq!(a, b, "{strategy}: sorted per coordinate, so exactly equal");
                } else {
                    // f64 sums rounded once to f32: equal but for rare double roundings.
                    let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
                    let worst = a.iter().zip(b).map(|(x, y)| ((x - y) / x.abs().max(1e-30)).abs()).fold(0.0, f32::max);
                    assert!(
                        differ * 10_000 <= a.len() && worst <= f32::EPSILON,
                        "{strategy}: {differ} differ, worst {worst}"
                    );
                }
            }
        }
    }
}

/// The reason of offering `bad` to a fresh FedAvg round with a norm bound of 10, and
/// checks that it left the model untouched.
fn reject(bad: Update) -> Rejection {
    let mut s = server_with(Strategy::FedAvg, ServerConfig { max_norm: Some(10.0), ..ServerConfig::default() });
    let before = s.global().to_vec();
    let mut r = s.begin_round();
    let rejection = r.offer(bad).unwrap_err();
    let outcome = s.finish_round(r).unwrap();
    assert!(!outcome.applied, "a round with no accepted update keeps the model");
    assert_eq!((outcome.accepted, outcome.tally().total()), (0, 1));
    assert_eq!(outcome.tally().get(rejection.reason()), 1);
    assert_eq!(s.global(), before);
    rejection
}

#[test]
fn every_kind_of_bad_update_is_rejected_with_its_reason() {
    let good = update(0, 5, [1.0, 1.0], [0.0; 4]);
    let with = |f: &dyn Fn(&mut Update)| {
        let mut u = good.clone();
        f(&mut u);
        u
    };
    assert_eq!(reject(with(&|u| u.examples = 0)), Rejection::NoExamples);
    assert_eq!(
        reject(with(&|u| {
            u.delta.pop();
        })),
        Rejection::TensorCount { expected: 2, found: 1 }
    );
    assert_eq!(reject(with(&|u| u.delta.push(t(&[1], &[0.0])))), Rejection::TensorCount { expected: 2, found: 3 });
    assert_eq!(
        reject(with(&|u| u.delta[1] = t(&[4], &[0.0; 4]))),
        Rejection::Shape { tensor: 1, expected: vec![2, 2], found: vec![4] }
    );
    assert_eq!(
        reject(with(&|u| u.delta[0] = Tensor::from_vec(vec![2], vec![1.0f64, 1.0]).unwrap())),
        Rejection::DType { tensor: 0, expected: DType::F32, found: DType::F64 }
    );
    assert_eq!(
        reject(with(&|u| u.delta[1] = t(&[2, 2], &[0.0, f32::NAN, 1.0, f32::NAN]))),
        Rejection::NonFinite { tensor: 1, count: 2 }
    );
    assert_eq!(
        reject(with(&|u| u.delta[0] = t(&[2], &[f32::NEG_INFINITY, 0.0]))),
        Rejection::NonFinite { tensor: 0, count: 1 }
    );
    match reject(with(&|u| u.delta[1] = t(&[2, 2], &[6.0, 8.0, 0.0, 0.5]))) {
        Rejection::Norm { norm, bound } => {
            assert_eq!(bound, 10.0);
            assert!((norm - (1.0f64 + 1.0 + 36.0 + 64.0 + 0.25).sqrt()).abs() < 1e-12);
        }
        other => panic!("expected a norm rejection, got {other:?}"),
    }
    for reason in Reason::ALL {
        assert!(!reason.name().is_empty());
    }
}

#[test]
fn rejected_updates_never_reach_the_model() {
    let config = ServerConfig { max_norm: Some(100.0), ..ServerConfig::default() };
    let good = update(3, 10, [0.5, -0.5], [1.0, 2.0, 3.0, 4.0]);
    let mut clean = server_with(Strategy::FedAvg, config.clone());
    round(&mut clean, vec![good.clone()]);

    let mut s = server_with(Strategy::FedAvg, config);
    let mut r = s.begin_round();
    r.expect(&[1, 2, 3, 4, 5]);
    assert_eq!(r.offer(update(1, 1000, [f32::NAN, 0.0], [0.0; 4])), Err(Rejection::NonFinite { tensor: 0, count: 1 }));
    assert!(matches!(r.offer(update(2, 1000, [1e3, 0.0], [0.0; 4])), Err(Rejection::Norm { .. })));
    assert_eq!(r.offer(update(9, 10, [1.0, 1.0], [0.0; 4])), Err(Rejection::Unexpected), "not sampled");
    r.offer(good.clone()).unwrap();
    assert_eq!(r.offer(good), Err(Rejection::Unexpected), "a second report from the same client");
    assert_eq!(r.offer(Update::new(4, 1, vec![])), Err(Rejection::TensorCount { expected: 2, found: 0 }));
    let outcome = s.finish_round(r).unwrap();
    assert_eq!((outcome.accepted, outcome.rejected.len()), (1, 5));
    let tally = outcome.tally();
    assert_eq!(
        (
            tally.get(Reason::NonFinite),
            tally.get(Reason::Norm),
            tally.get(Reason::Unexpected),
            tally.get(Reason::TensorCount)
        ),
        (1, 1, 2, 1)
    );
    assert_eq!(tally.to_string(), "tensor-count 1, non-finite 1, norm 1, unexpected 2");
    assert_eq!(s.global(), clean.global());
}

#[test]
fn robust_strategies_cap_their_buffer() {
    let config = ServerConfig { max_buffered: 2, ..ServerConfig::default() };
    let mut s = server_with(Strategy::Median, config);
    let mut r = s.begin_round();
    r.offer(update(0, 1, [1.0, 1.0], [0.0; 4])).unwrap();
    r.offer(update(1, 1, [3.0, 1.0], [0.0; 4])).unwrap();
    assert_eq!(r.offer(update(2, 1, [5.0, 1.0], [0.0; 4])), Err(Rejection::Capacity { max: 2 }));
    s.finish_round(r).unwrap();
    assert_eq!(f32s(&s.global()[0]), [3.0, 3.0]);
}

#[test]
fn an_empty_round_keeps_the_model_and_counts() {
    for strategy in [Strategy::FedAvg, Strategy::FedAdam(AdamConfig::default()), Strategy::Median] {
        let mut s = server(strategy);
        let before = s.global().to_vec();
        let outcome = round(&mut s, vec![]);
        assert!(!outcome.applied);
        assert_eq!((outcome.round, outcome.accepted, outcome.step_norm), (0, 0, 0.0));
        assert_eq!(s.global(), before);
        assert_eq!(s.rounds(), 1);
    }
}

#[test]
fn rounds_belong_to_their_server() {
    let mut a = server(Strategy::FedAvg);
    let mut b = server(Strategy::FedAvg);
    let from_b = b.begin_round();
    assert_eq!(a.finish_round(from_b), Err(FedError::StaleRound { expected: 0, found: 0 }), "another server's round");
    let first = a.begin_round();
    let again = a.begin_round();
    a.finish_round(first).unwrap();
    assert_eq!(a.finish_round(again), Err(FedError::StaleRound { expected: 1, found: 0 }), "an old round");
}

#[test]
fn other_float_dtypes_round_once() {
    let g = vec![
        Tensor::from_vec(vec![2], vec![1.0f64, 2.0]).unwrap(),
        Tensor::from_vec(vec![1], vec![half::f16::ONE]).unwrap(),
    ];
    let mut s = Server::new(g, Strategy::FedAvg, ServerConfig::default()).unwrap();
    let delta = |a: f64, h: f32| {
        vec![
            Tensor::from_vec(vec![2], vec![a, -a]).unwrap(),
            Tensor::from_vec(vec![1], vec![half::f16::from_f32(h)]).unwrap(),
        ]
    };
    round(&mut s, vec![Update::new(0, 1, delta(0.1, 0.5)), Update::new(1, 2, delta(0.4, 0.25))]);
    let a = s.global()[0].as_slice::<f64>().unwrap();
    assert!((a[0] - 1.3).abs() < 1e-15 && (a[1] - 1.7).abs() < 1e-15);
    assert_eq!(s.global()[1].as_slice::<half::f16>().unwrap(), &[half::f16::from_f32(4.0 / 3.0)]);
}

#[test]
fn setup_errors() {
    assert_eq!(Server::new(vec![], Strategy::FedAvg, ServerConfig::default()).unwrap_err(), FedError::EmptyModel);
    let ints = vec![t(&[1], &[0.0]), Tensor::from_i32(vec![1], vec![1]).unwrap()];
    assert_eq!(
        Server::new(ints, Strategy::FedAvg, ServerConfig::default()).unwrap_err(),
        FedError::NotFloat { tensor: 1, dtype: DType::I32 }
    );
    let bad = Strategy::TrimmedMean { beta: 0.5 };
    assert!(matches!(Server::new(vec![t(&[1], &[0.0])], bad, ServerConfig::default()), Err(FedError::Strategy(_))));
}

#[test]
fn clipping_scales_outliers_to_a_multiple_of_the_median_norm() {
    // Norms 1, 1 and 50 (over both tensors): the median is 1, so with clip 1 the third
    // update is scaled by 1/50 before FedAvg weighs it.
    let config = ServerConfig { clip: Some(1.0), ..ServerConfig::default() };
    let mut s = server_with(Strategy::FedAvg, config.clone());
    let outcome = round(
        &mut s,
        vec![
            update(0, 1, [1.0, 0.0], [0.0; 4]),
            update(1, 2, [0.0, 0.0], [0.0, 1.0, 0.0, 0.0]),
            update(2, 1, [30.0, 40.0], [0.0; 4]),
        ],
    );
    assert_eq!(outcome.clipped, 1);
    // a: 1 + (1·1 + 1·0.6)/4, 2 + (1·0.8)/4; b: (2·1)/4 at [0, 1].
    close(&f32s(&s.global()[0]), &[1.4, 2.2], 1e-6);
    close(&f32s(&s.global()[1]), &[0.0, 0.5, 0.0, 0.0], 1e-6);

    // Without outliers clipping changes nothing, for every strategy.
    for strategy in [Strategy::FedAvg, Strategy::FedAdam(AdamConfig::default()), Strategy::TrimmedMean { beta: 0.2 }] {
        let updates: Vec<Update> =
            (0..5).map(|i| update(i, 1 + i, [1.0 + i as f32 * 0.1, -0.5], [i as f32 * 0.01; 4])).collect();
        let mut clipped = server_with(strategy, ServerConfig { clip: Some(2.0), ..config.clone() });
        let mut plain = server(strategy);
        assert_eq!(round(&mut clipped, updates.clone()).clipped, 0);
        round(&mut plain, updates);
        assert_eq!(clipped.global(), plain.global(), "{strategy}");
    }
}

#[test]
fn clipping_lets_the_trimmed_mean_survive_more_attackers_than_it_trims() {
    // 10 updates, 2 of them 100× an honest one: trimmed:0.1 drops one value per end of
    // each coordinate, so one attacker stays in the mean unless it is clipped first.
    let honest = |i: u64| [0.1 + 0.01 * i as f32, -0.1 - 0.01 * i as f32];
    let updates: Vec<Update> = (0..10)
        .map(|i| {
            let scale = if i < 2 { 100.0 } else { 1.0 };
            let [a, b] = honest(i);
            update(i, 10, [a * scale, b * scale], [0.0; 4])
        })
        .collect();
    let trimmed = Strategy::TrimmedMean { beta: 0.1 };
    let mut plain = server(trimmed);
    round(&mut plain, updates.clone());
    let mut clipped = server_with(trimmed, ServerConfig { clip: Some(2.0), ..ServerConfig::default() });
    assert_eq!(round(&mut clipped, updates).clipped, 2);
    let shift = |s: &Server| (f32s(&s.global()[0])[0] - 1.0).abs();
    // Honest updates are 0.1…0.19; one 100× attacker in the mean of 8 adds ≥ 1.
    assert!(shift(&plain) > 1.0, "{}", shift(&plain));
    assert!(shift(&clipped) < 0.2, "{}", shift(&clipped));
}

#[test]
fn clip_must_be_positive() {
    for clip in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let config = ServerConfig { clip: Some(clip), ..ServerConfig::default() };
        let result = Server::new(vec![t(&[1], &[0.0])], Strategy::FedAvg, config);
        assert!(matches!(result, Err(FedError::Config(_))), "{clip}");
    }
}

#[test]
fn finishing_a_round_can_hand_the_updates_back() {
    let len = 300_007;
    let updates = random_updates(6, len, 11);
    let init = vec![Tensor::from_f32(vec![len], vec![0.25; len]).unwrap(), t(&[3], &[0.0; 3])];
    let strategies = [Strategy::FedAvg, Strategy::FedAdam(AdamConfig::default()), Strategy::TrimmedMean { beta: 0.2 }];
    for strategy in strategies {
        for (fold, clip) in [(16, None), (4, None), (4, Some(2.0))] {
            let config = ServerConfig { fold, clip, threads: 2, ..ServerConfig::default() };
            let mut reclaiming = Server::new(init.clone(), strategy, config.clone()).unwrap();
            let mut r = reclaiming.begin_round();
            for u in updates.clone() {
                r.offer(u).unwrap();
            }
            r.offer(Update::new(99, 10, updates[0].delta.clone())).unwrap();
            assert!(r.offer(Update::new(98, 10, vec![t(&[1], &[1.0])])).is_err());
            let (outcome, spent) = reclaiming.finish_round_reclaim(r).unwrap();
            assert_eq!((outcome.accepted, outcome.rejected.len()), (7, 1));
            // The accepted deltas the round still held, in order: all 7 unless folded
            // 4 at a time as they came (then the 4 folded ones were dropped on the way).
            let kept = if fold == 4 && clip.is_none() && !strategy.is_robust() { 3 } else { 7 };
            let mut held: Vec<Vec<Tensor>> = updates.iter().map(|u| u.delta.clone()).collect();
            held.push(updates[0].delta.clone());
            assert_eq!(spent, held[7 - kept..], "{strategy}, fold {fold}, clip {clip:?}");
            // The same model as a plain round of the same updates plus client 99's.
            let mut plain = Server::new(init.clone(), strategy, config).unwrap();
            let mut with_99 = updates.clone();
            with_99.push(Update::new(99, 10, updates[0].delta.clone()));
            let o = round(&mut plain, with_99);
            assert_eq!((o.accepted, o.step_norm, o.clipped), (outcome.accepted, outcome.step_norm, outcome.clipped));
            assert_eq!(plain.global(), reclaiming.global(), "{strategy}, fold {fold}, clip {clip:?}");
        }
    }
    // An empty round gives nothing back.
    let mut s = server(Strategy::FedAvg);
    let r = s.begin_round();
    let (outcome, spent) = s.finish_round_reclaim(r).unwrap();
    assert!(!outcome.applied && spent.is_empty());
}
