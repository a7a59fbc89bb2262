//! Objects encoded here against the ids `flwr==1.41.0` computed for the same messages
//! (`fixtures/make_fixtures.py`), decoding Flower's own bytes, and decoding bad input:
//! every corruption is an error, never a panic.

use std::collections::HashMap;

use tc_flower::objects::{self, ConfigValue, Limits, MetricValue};
use tc_flower::proto::{self, ObjectTree};
use tc_flower::{Array, Body, Error, Message, Record, RecordDict};
use tc_tensor::{DType, Tensor};

fn fixtures() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/flwr_1_41_objects.json")).unwrap()
}

fn metadata(message_type: &str, task_ids: bool) -> proto::Metadata {
    proto::Metadata {
        run_id: 4242,
        message_id: String::new(),
        src_node_id: 1,
        dst_node_id: 987_654_321,
        reply_to_message_id: String::new(),
        group_id: "3".into(),
        ttl: 43200.0,
        message_type: message_type.into(),
        created_at: 1_767_323_045.5,
        src_task_id: task_ids.then_some(7),
        dst_task_id: None,
    }
}

fn array(t: Tensor) -> Array {
    Array::from_tensor(&t).unwrap()
}

fn small() -> Message {
    let arrays = vec![
        (
            "0".to_string(),
            array(Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.5]).unwrap()),
        ),
        (
            "1".to_string(),
            array(Tensor::from_i32(vec![3], vec![5, -6, 7]).unwrap()),
        ),
        (
            "2".to_string(),
            array(Tensor::from_f64_values(DType::F64, vec![], &[0.25]).unwrap()),
        ),
    ];
    let config = vec![
        ("lr".to_string(), ConfigValue::Double(0.05)),
        ("server-round".to_string(), ConfigValue::Sint64(3)),
        (
            "name".to_string(),
            ConfigValue::String("caf\u{e9} \"x\"".into()),
        ),
        ("flag".to_string(), ConfigValue::Bool(true)),
    ];
    let metrics = vec![
        ("num-examples".to_string(), objects::metric_int(100)),
        ("accuracy".to_string(), MetricValue::Double(0.5)),
        ("big".to_string(), objects::metric_int((1 << 63) + 5)),
    ];
    let content = RecordDict(vec![
        ("arrays".into(), Record::Arrays(arrays)),
        ("config".into(), Record::Config(config)),
        ("metrics".into(), Record::Metrics(metrics)),
    ]);
    Message {
        metadata: metadata("train", true),
        body: Body::Content(content),
    }
}

fn large() -> Message {
    let arrays = vec![
        (
            "0".to_string(),
            array(Tensor::from_f32(vec![4_000_000], vec![0.0; 4_000_000]).unwrap()),
        ),
        (
            "1".to_string(),
            array(
                Tensor::from_f64_values(
                    DType::I64,
                    vec![10],
                    &(0..10).map(f64::from).collect::<Vec<_>>(),
                )
                .unwrap(),
            ),
        ),
    ];
    Message {
        metadata: metadata("train", false),
        body: Body::Content(RecordDict(vec![("arrays".into(), Record::Arrays(arrays))])),
    }
}

fn error() -> Message {
    Message {
        metadata: metadata("evaluate", false),
        body: Body::Error(proto::Error {
            code: 2,
            reason: "shapes do not fit".into(),
        }),
    }
}

fn ids(value: &serde_json::Value) -> Vec<String> {
    value["object_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn flower_objects(value: &serde_json::Value) -> HashMap<String, Vec<u8>> {
    let unhex = |s: &str| {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    value["objects"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), unhex(v.as_str().unwrap())))
        .collect()
}

#[test]
fn ids_equal_flowers() {
    let f = fixtures();
    for (name, message) in [("small", small()), ("large", large()), ("error", error())] {
        let encoded = objects::encode(&message);
        let mine: Vec<String> = encoded.objects.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(mine, ids(&f[name]), "{name}: object ids, children first");
        assert_eq!(
            encoded.id,
            f[name]["message_id"].as_str().unwrap(),
            "{name}"
        );
    }
    // The four chunks of the zeros: the middle two are equal and stored once.
    let encoded = objects::encode(&large());
    let chunks = encoded
        .objects
        .iter()
        .filter(|(_, b)| b.starts_with(b"ArrayChunk "))
        .count();
    assert_eq!(
        chunks, 4,
        "three distinct chunks of the zeros and one of the arange"
    );
    let array = encoded
        .objects
        .iter()
        .find(|(_, b)| b.starts_with(b"Array "))
        .unwrap();
    assert!(String::from_utf8_lossy(&array.1).ends_with("\"arraychunk_ids\": [0, 1, 1, 2]}"));
}

#[test]
fn flowers_bytes_decode_to_the_same_message() {
    let f = fixtures();
    for (name, message) in [("small", small()), ("error", error())] {
        let objects = flower_objects(&f[name]);
        let tree = objects::encode(&message).tree;
        let decoded = objects::decode(&tree, &objects, &Limits::default()).unwrap();
        let mut expected = message.clone();
        expected.metadata.message_id = tree.object_id.clone();
        assert_eq!(decoded, expected, "{name}");
    }
    let decoded = objects::decode(
        &objects::encode(&small()).tree,
        &flower_objects(&f["small"]),
        &Limits::default(),
    )
    .unwrap();
    let Body::Content(content) = decoded.body else {
        panic!()
    };
    let Some(Record::Arrays(arrays)) = content.get("arrays") else {
        panic!()
    };
    assert_eq!(
        arrays[0].1.to_tensor().unwrap().as_f32().unwrap(),
        &[1.0, 2.0, 3.0, 4.5]
    );
    assert_eq!(arrays[2].1.to_tensor().unwrap().shape(), &[] as &[usize]);
}

fn round_trip(
    objects: &HashMap<String, Vec<u8>>,
    tree: &ObjectTree,
    limits: &Limits,
) -> Result<Message, Error> {
    objects::decode(tree, objects, limits)
}

fn encoded_small() -> (ObjectTree, HashMap<String, Vec<u8>>) {
    let e = objects::encode(&small());
    (e.tree.clone(), e.objects.into_iter().collect())
}

/// Replace object `old` by `bytes` (under its true id) in the map and the tree, and
/// every object that refers to it by the same text with the new id (re-hashed in turn):
/// the result passes every hash check, so only the other checks can refuse it.
fn replace(
    tree: &mut ObjectTree,
    objects: &mut HashMap<String, Vec<u8>>,
    old: &str,
    bytes: Vec<u8>,
) {
    fn rename(t: &mut ObjectTree, old: &str, new: &str) {
        if t.object_id == old {
            t.object_id = new.to_string();
        }
        for c in &mut t.children {
            rename(c, old, new);
        }
    }
    let new = objects::object_id(&bytes);
    objects.remove(old);
    objects.insert(new.clone(), bytes);
    rename(tree, old, &new);
    let parents: Vec<String> = objects
        .iter()
        .filter(|(_, b)| b.windows(old.len()).any(|w| w == old.as_bytes()))
        .map(|(k, _)| k.clone())
        .collect();
    for parent in parents {
        let bytes = objects[&parent].clone();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(old.as_bytes()) {
                out.extend_from_slice(new.as_bytes());
                i += old.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        replace(tree, objects, &parent, out);
    }
}

fn find(objects: &HashMap<String, Vec<u8>>, prefix: &str) -> String {
    objects
        .iter()
        .find(|(_, b)| b.starts_with(prefix.as_bytes()))
        .map(|(k, _)| k.clone())
        .unwrap()
}

fn expect_protocol(result: Result<Message, Error>, needle: &str) {
    match result {
        Err(Error::Protocol(m)) => assert!(m.contains(needle), "`{m}` lacks `{needle}`"),
        other => panic!("expected a protocol error about `{needle}`, got {other:?}"),
    }
}

#[test]
fn tampered_content_fails_its_hash() {
    let (tree, mut objects) = encoded_small();
    let id = find(&objects, "ArrayChunk");
    objects.get_mut(&id).unwrap().push(0);
    expect_protocol(round_trip(&objects, &tree, &Limits::default()), "hashes to");
}

#[test]
fn bad_headers_and_bodies_are_refused() {
    let limits = Limits::default();
    // A body length that lies (re-hashed, so only the header check can catch it).
    let (mut tree, mut objects) = encoded_small();
    let root = tree.object_id.clone();
    let bytes = objects[&root].clone();
    let nul = bytes.iter().position(|&b| b == 0).unwrap();
    let mut lying = format!("Message {} 9999", tree.children[0].object_id).into_bytes();
    lying.extend_from_slice(&bytes[nul..]);
    replace(&mut tree, &mut objects, &root, lying);
    expect_protocol(round_trip(&objects, &tree, &limits), "body of 9999 bytes");

    // A chunk where an array belongs.
    let (mut tree, mut objects) = encoded_small();
    let id = find(&objects, "Array ");
    replace(
        &mut tree,
        &mut objects,
        &id,
        objects::with_header("ArrayChunk", &[], b"xyz"),
    );
    expect_protocol(round_trip(&objects, &tree, &limits), "");

    // A chunk index beyond the array's chunks.
    let (mut tree, mut objects) = encoded_small();
    let id = find(&objects, "Array ");
    let text = String::from_utf8(objects[&id].clone()).unwrap();
    let (head, body) = text.split_once('\0').unwrap();
    let children: Vec<String> = head
        .split(' ')
        .nth(1)
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    let body = body.replace("\"arraychunk_ids\": [0]", "\"arraychunk_ids\": [7]");
    replace(
        &mut tree,
        &mut objects,
        &id,
        objects::with_header("Array", &children, body.as_bytes()),
    );
    expect_protocol(round_trip(&objects, &tree, &limits), "arraychunk_ids");

    // Not JSON.
    let (mut tree, mut objects) = encoded_small();
    let id = find(&objects, "RecordDict");
    let children: Vec<String> = tree.children[0]
        .children
        .iter()
        .map(|c| c.object_id.clone())
        .collect();
    replace(
        &mut tree,
        &mut objects,
        &id,
        objects::with_header("RecordDict", &children, b"{\"arrays\": "),
    );
    expect_protocol(round_trip(&objects, &tree, &limits), "bad JSON");

    // A header naming children the tree does not have.
    let (mut tree, mut objects) = encoded_small();
    let id = find(&objects, "MetricRecord");
    let stray = "0".repeat(64);
    replace(
        &mut tree,
        &mut objects,
        &id,
        objects::with_header("MetricRecord", &[stray], b""),
    );
    expect_protocol(round_trip(&objects, &tree, &limits), "children differ");
}

#[test]
fn declared_dtype_and_shape_must_match_the_npy_data() {
    let mut a = array(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap());
    a.dtype = "int32".into();
    assert!(matches!(a.to_tensor(), Err(Error::Protocol(_))));
    let mut a = array(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap());
    a.shape = vec![1, 2];
    assert!(matches!(a.to_tensor(), Err(Error::Protocol(_))));
    let mut a = array(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap());
    a.data.truncate(a.data.len() - 1);
    assert!(matches!(a.to_tensor(), Err(Error::Protocol(_))));
    let mut a = array(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap());
    a.dtype = "complex128".into();
    assert!(matches!(a.to_tensor(), Err(Error::Protocol(_))));
}

#[test]
fn limits_bound_what_is_accepted() {
    let (tree, objects) = encoded_small();
    let tight = Limits {
        message_bytes: 100,
        ..Limits::default()
    };
    expect_protocol(round_trip(&objects, &tree, &tight), "exceed");
    let few = Limits {
        objects: 3,
        ..Limits::default()
    };
    expect_protocol(round_trip(&objects, &tree, &few), "more than 3 objects");
    let small_objects = Limits {
        object_bytes: 64,
        ..Limits::default()
    };
    expect_protocol(round_trip(&objects, &tree, &small_objects), "more than 64");
    // Too deep, and ids that are not digests.
    let mut deep = ObjectTree {
        object_id: "a".repeat(64),
        children: vec![],
    };
    for _ in 0..6 {
        deep = ObjectTree {
            object_id: "a".repeat(64),
            children: vec![deep],
        };
    }
    expect_protocol(round_trip(&objects, &deep, &Limits::default()), "deeper");
    let bad = ObjectTree {
        object_id: "../etc/passwd".into(),
        children: vec![],
    };
    expect_protocol(
        round_trip(&objects, &bad, &Limits::default()),
        "not a SHA-256",
    );
}

#[test]
fn mutated_objects_never_panic() {
    // Every object of the small message, each byte flipped in turn (and re-hashed so
    // that the hash check passes): decoding gives a message or an error.
    let (tree, objects) = encoded_small();
    let mut checked = 0;
    for id in objects.keys() {
        let original = objects[id].clone();
        for i in (0..original.len()).step_by(3) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bytes = original.clone();
                bytes[i] ^= flip;
                let (mut t, mut o) = (tree.clone(), objects.clone());
                replace(&mut t, &mut o, id, bytes);
                let _ = round_trip(&o, &t, &Limits::default());
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}
