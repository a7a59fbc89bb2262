//! `tensorc fed node` (SPEC §11 v1) without a SuperLink: the handler's replies to
//! `train`, `evaluate` and everything else, through the same `tc_flower` records a
//! SuperLink delivers, and the command line's usage errors. The run against a real
//! Flower federation is `tests/flower/e2e.sh`.

mod common;

use common::{expect_status, scratch, tensorc, write, LINEAR};
use tc_flower::objects::{self, ConfigValue, MetricValue};
use tc_flower::{proto, Array, Body, Handler, Message, Record, RecordDict};
use tc_train::data;
use tc_train::fed::local::{partition, LocalTrainer};
use tc_train::fed::node::{ModelHandler, NodeSettings};
use tc_train::fed::SplitSpec;
use tc_train::train::Model;
use tensorc::{Backend, Session, Tensor};

fn instruction(kind: &str, content: RecordDict) -> Message {
    let metadata = proto::Metadata {
        run_id: 1,
        message_type: kind.to_string(),
        ..Default::default()
    };
    Message {
        metadata,
        body: Body::Content(content),
    }
}

fn arrays(leaves: &[Tensor]) -> Record {
    Record::Arrays(
        leaves
            .iter()
            .enumerate()
            .map(|(i, t)| (i.to_string(), Array::from_tensor(t).unwrap()))
            .collect(),
    )
}

fn metrics(content: &RecordDict) -> Vec<(String, f64)> {
    match content.get("metrics") {
        Some(Record::Metrics(items)) => items
            .iter()
            .map(|(k, v)| (k.clone(), objects::metric_number(v).unwrap()))
            .collect(),
        other => panic!("no MetricRecord `metrics`: {other:?}"),
    }
}

#[test]
fn train_and_evaluate_reply_with_exactly_the_specs_records() {
    let session = Session::new(Backend::Interp).unwrap();
    let model = Model::compile_source(&session, "linear.tc", LINEAR).unwrap();
    let data = data::synthetic(200);
    let part = partition(&data, 1, 2, SplitSpec::Iid, 3).unwrap();
    let template = model.init(0).unwrap();
    let leaves: Vec<Tensor> = template.leaves().into_iter().cloned().collect();
    let mut handler = ModelHandler::new(
        LocalTrainer::new(&model, template),
        &data,
        part,
        NodeSettings::default(),
    );

    let config = Record::Config(vec![
        ("lr".into(), ConfigValue::Double(0.05)),
        ("server-round".into(), ConfigValue::Sint64(1)),
        ("local-epochs".into(), ConfigValue::Sint64(2)),
    ]);
    let content = RecordDict(vec![
        ("arrays".into(), arrays(&leaves)),
        ("config".into(), config),
    ]);
    let reply = handler
        .handle(&instruction("train", content.clone()))
        .unwrap();
    assert_eq!(
        reply.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["arrays", "metrics"]
    );
    let m = metrics(&reply);
    assert_eq!(
        m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["num-examples", "train-loss"]
    );
    assert_eq!(m[0].1, 100.0);
    assert!(m[1].1.is_finite() && m[1].1 > 0.0);
    let Some(Record::Arrays(trained)) = reply.get("arrays") else {
        panic!()
    };
    assert_eq!(
        trained.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["0", "1"]
    );
    let trained: Vec<Tensor> = trained
        .iter()
        .map(|(_, a)| a.to_tensor().unwrap())
        .collect();
    for (t, l) in trained.iter().zip(&leaves) {
        assert_eq!((t.dtype(), t.shape()), (l.dtype(), l.shape()));
    }
    assert_ne!(trained[0], leaves[0], "training changed the weights");
    // `train.<action>` is `train`, and the same instruction gives the same update.
    let again = handler
        .handle(&instruction("train.finetune", content))
        .unwrap();
    assert_eq!(again, reply);

    let before = handler
        .handle(&instruction(
            "evaluate",
            RecordDict(vec![("arrays".into(), arrays(&leaves))]),
        ))
        .unwrap();
    let after = handler
        .handle(&instruction(
            "evaluate",
            RecordDict(vec![("arrays".into(), arrays(&trained))]),
        ))
        .unwrap();
    assert_eq!(after.0.len(), 1);
    let (b, a) = (metrics(&before), metrics(&after));
    assert_eq!(
        a.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["num-examples", "loss", "accuracy"]
    );
    assert_eq!(a[0].1, 20.0, "its half of the 40 test examples");
    assert!(a[1].1 < b[1].1, "evaluate loss {} -> {}", b[1].1, a[1].1);
}

#[test]
fn anything_that_does_not_fit_is_an_error_reply_naming_the_problem() {
    let session = Session::new(Backend::Interp).unwrap();
    let model = Model::compile_source(&session, "linear.tc", LINEAR).unwrap();
    let data = data::synthetic(50);
    let part = partition(&data, 0, 1, SplitSpec::Iid, 0).unwrap();
    let template = model.init(0).unwrap();
    let leaves: Vec<Tensor> = template.leaves().into_iter().cloned().collect();
    let mut handler = ModelHandler::new(
        LocalTrainer::new(&model, template),
        &data,
        part,
        NodeSettings::default(),
    );
    let with = |arrays: Record| RecordDict(vec![("arrays".into(), arrays)]);
    let cases: Vec<(&str, RecordDict, &str)> = vec![
        ("query", with(arrays(&leaves)), "message type `query`"),
        ("train", RecordDict::default(), "no ArrayRecord `arrays`"),
        ("train", with(arrays(&leaves[..1])), "2 parameter tensors"),
        (
            "train",
            with(arrays(&[leaves[1].clone(), leaves[0].clone()])),
            "parameter 0",
        ),
        (
            "evaluate",
            with(arrays(&[
                Tensor::from_f32(vec![784, 10], vec![0.0; 7840]).unwrap(),
                Tensor::from_i32(vec![10], vec![0; 10]).unwrap(),
            ])),
            "parameter 1",
        ),
        (
            "train",
            with(Record::Arrays(vec![
                ("w".into(), Array::from_tensor(&leaves[0]).unwrap()),
                ("1".into(), Array::from_tensor(&leaves[1]).unwrap()),
            ])),
            "array key `w`",
        ),
        (
            "train",
            RecordDict(vec![
                ("arrays".into(), arrays(&leaves)),
                (
                    "config".into(),
                    Record::Config(vec![("lr".into(), ConfigValue::String("fast".into()))]),
                ),
            ]),
            "config `lr` must be a number",
        ),
        (
            "train",
            RecordDict(vec![
                ("arrays".into(), arrays(&leaves)),
                (
                    "config".into(),
                    Record::Config(vec![("batch-size".into(), ConfigValue::Sint64(0))]),
                ),
            ]),
            "batch-size",
        ),
        (
            "train",
            RecordDict(vec![(
                "arrays".into(),
                Record::Metrics(vec![("x".into(), MetricValue::Double(1.0))]),
            )]),
            "not an ArrayRecord",
        ),
    ];
    for (kind, content, needle) in cases {
        match handler.handle(&instruction(kind, content)) {
            Err(reason) => assert!(
                reason.contains(needle),
                "{kind}: `{reason}` lacks `{needle}`"
            ),
            Ok(reply) => panic!("{kind} ({needle}) was answered: {reply:?}"),
        }
    }
    // A garbled array (declared float32, int32 data) is refused too.
    let mut bad = Array::from_tensor(&leaves[1]).unwrap();
    bad.data = Array::from_tensor(&Tensor::from_i32(vec![10], vec![1; 10]).unwrap())
        .unwrap()
        .data;
    let content = RecordDict(vec![(
        "arrays".into(),
        Record::Arrays(vec![
            ("0".into(), Array::from_tensor(&leaves[0]).unwrap()),
            ("1".into(), bad),
        ]),
    )]);
    assert!(handler
        .handle(&instruction("train", content))
        .unwrap_err()
        .contains("array `1`"));
    // And the handler still serves.
    assert!(handler
        .handle(&instruction("evaluate", with(arrays(&leaves))))
        .is_ok());
}

#[test]
fn the_command_line_refuses_bad_options() {
    let dir = scratch("fed-node-usage");
    let file = write(&dir, "linear.tc", LINEAR);
    let base = ["fed", "node", file.as_str(), "--data", "synthetic:20"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--superlink", "127.0.0.1:9"], "--insecure"),
        (vec!["--superlink", "127.0.0.1", "--insecure"], "HOST:PORT"),
        (
            vec![
                "--superlink",
                "127.0.0.1:9",
                "--insecure",
                "--partition",
                "2/2",
            ],
            "I/N",
        ),
        (
            vec![
                "--superlink",
                "127.0.0.1:9",
                "--insecure",
                "--heartbeat",
                "5",
            ],
            "--heartbeat",
        ),
        (
            vec![
                "--superlink",
                "127.0.0.1:9",
                "--insecure",
                "--auth-key",
                file.as_str(),
            ],
            "P-384",
        ),
    ];
    for (extra, needle) in cases {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let out = tensorc(&args);
        expect_status(&out, 2);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
}
