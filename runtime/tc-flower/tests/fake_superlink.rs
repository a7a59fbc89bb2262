//! The node against a fake SuperLink (a small HTTP server in the test) that answers
//! with garbage, wrong hashes, oversized replies and errors: the node reports clear
//! errors or error replies and never panics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message as _;
use tc_flower::node::{self, Event, NodeOptions};
use tc_flower::{proto, Error, Handler, Identity, Message, RecordDict, Tls};

type Reply = (u16, Vec<u8>);
type Route = dyn Fn(&str, &[u8]) -> Reply + Send + Sync;
/// The calls a fake SuperLink received: name and body.
type Calls = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Serve `route(path, body)` on a free loopback port; the calls made, in order.
fn serve(route: Arc<Route>) -> (String, Calls) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&calls);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (route, log) = (Arc::clone(&route), Arc::clone(&log));
            std::thread::spawn(move || connection(stream, &*route, &log));
        }
    });
    (address, calls)
}

fn connection(stream: TcpStream, route: &Route, log: &Mutex<Vec<(String, Vec<u8>)>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let name = path.trim_start_matches("/v1/fleet/").to_string();
        log.lock().unwrap().push((name.clone(), body.clone()));
        let (status, reply) = route(&name, &body);
        let head = format!("HTTP/1.1 {status} X\r\ncontent-type: application/protobuf\r\ncontent-length: {}\r\n\r\n", reply.len());
        if out
            .write_all(head.as_bytes())
            .and_then(|_| out.write_all(&reply))
            .is_err()
        {
            return;
        }
    }
}

struct Echo;

impl Handler for Echo {
    fn handle(&mut self, _: &Message) -> Result<RecordDict, String> {
        Ok(RecordDict::default())
    }
}

fn options(address: &str) -> NodeOptions {
    let mut o = NodeOptions::new(address, Tls::Insecure, Identity::generate());
    o.heartbeat = 10.0;
    o.poll = Duration::from_millis(50);
    o.timeout = Duration::from_secs(5);
    o
}

fn names(calls: &Mutex<Vec<(String, Vec<u8>)>>) -> Vec<String> {
    calls
        .lock()
        .unwrap()
        .iter()
        .map(|(n, _)| n.clone())
        .collect()
}

#[test]
fn garbage_replies_are_protocol_errors() {
    let (address, _) = serve(Arc::new(|_: &str, _: &[u8]| {
        (200, vec![0xff, 0xff, 0xff, 0x0f])
    }));
    let stop = AtomicBool::new(false);
    match node::run(&options(&address), &mut Echo, &stop, &mut |_| {}) {
        Err(Error::Protocol(m)) => {
            assert!(m.contains("register-node") && m.contains("protobuf"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_replies_are_refused_before_they_are_read() {
    let (address, _) = serve(Arc::new(|_: &str, _: &[u8]| (200, vec![0u8; 18 << 20])));
    let stop = AtomicBool::new(false);
    match node::run(&options(&address), &mut Echo, &stop, &mut |_| {}) {
        Err(Error::Protocol(m)) => assert!(m.contains("larger than"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn refusals_carry_flowers_error_and_server_errors_are_retried() {
    let (address, _) = serve(Arc::new(|name: &str, _: &[u8]| match name {
        "register-node" => (500, b"{\"code\": 1, \"detail\": \"busy\"}".to_vec()),
        _ => (
            401,
            b"{\"code\": 2001, \"detail\": \"bad signature\"}".to_vec(),
        ),
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let mut retries = 0;
    let stopper = Arc::clone(&stop);
    let result = node::run(&options(&address), &mut Echo, &stop, &mut |e| {
        if let Event::Retrying { error, .. } = e {
            assert!(error.to_string().contains("busy"), "{error}");
            retries += 1;
            if retries == 2 {
                stopper.store(true, Ordering::Relaxed);
            }
        }
    });
    assert_eq!(result, Err(Error::Stopped));
    assert_eq!(retries, 2);
}

#[test]
fn a_message_with_bad_objects_gets_an_error_reply_and_the_node_goes_on() {
    let root = "ab".repeat(32);
    let pulled = Arc::new(AtomicBool::new(false));
    let (root2, pulled2) = (root.clone(), Arc::clone(&pulled));
    let (address, calls) = serve(Arc::new(move |name: &str, body: &[u8]| match name {
        "activate-node" => (
            200,
            proto::ActivateNodeResponse { node_id: 77 }.encode_to_vec(),
        ),
        "pull-messages" if !pulled2.swap(true, Ordering::SeqCst) => {
            let metadata = proto::Metadata {
                run_id: 9,
                message_id: root2.clone(),
                src_node_id: 1,
                message_type: "train".into(),
                created_at: 1.0e9,
                ttl: 1.0e10,
                ..Default::default()
            };
            let response = proto::PullMessagesResponse {
                reconnect: None,
                messages_list: vec![proto::Message {
                    metadata: Some(metadata),
                    content: None,
                    error: None,
                }],
                message_object_trees: vec![proto::ObjectTree {
                    object_id: root2.clone(),
                    children: vec![],
                }],
            };
            (200, response.encode_to_vec())
        }
        "pull-object" => {
            let response = proto::PullObjectResponse {
                object_found: true,
                object_available: true,
                object_content: b"not it".to_vec(),
            };
            (200, response.encode_to_vec())
        }
        "push-messages" => {
            let request = proto::PushMessagesRequest::decode(body).unwrap();
            let ids = vec![request.message_object_trees[0].object_id.clone()];
            (
                200,
                proto::PushMessagesResponse {
                    reconnect: None,
                    objects_to_push: ids,
                    session_id: "s".into(),
                }
                .encode_to_vec(),
            )
        }
        "push-object" => (
            200,
            proto::PushObjectResponse { stored: true }.encode_to_vec(),
        ),
        "get-run" => (
            400,
            b"{\"code\": 2007, \"detail\": \"Run is finished.\"}".to_vec(),
        ),
        _ => (200, Vec::new()),
    }));
    let stop = AtomicBool::new(false);
    let mut o = options(&address);
    o.max_runs = Some(1);
    let mut replies = Vec::new();
    let summary = node::run(&o, &mut Echo, &stop, &mut |e| {
        if let Event::Replied(r) = e {
            replies.push(r.clone());
        }
    })
    .unwrap();
    assert_eq!(
        (
            summary.node_id,
            summary.messages,
            summary.errors,
            summary.runs_finished
        ),
        (77, 1, 1, 1)
    );
    let reason = replies[0].error.clone().unwrap();
    assert!(reason.contains("hashes to"), "{reason}");
    let names = names(&calls);
    for expected in [
        "register-node",
        "activate-node",
        "pull-object",
        "confirm-message-received",
        "push-messages",
        "push-object",
        "get-run",
        "deactivate-node",
        "unregister-node",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} not in {names:?}"
        );
    }
    assert_eq!(names.iter().filter(|n| *n == "push-messages").count(), 1);
    // The reply is an error Message addressed back to the instruction's sender.
    let calls = calls.lock().unwrap();
    let (_, body) = calls.iter().find(|(n, _)| n == "push-messages").unwrap();
    let request = proto::PushMessagesRequest::decode(&body[..]).unwrap();
    let m = &request.messages_list[0];
    assert!(m.error.is_some() && m.content.is_none());
    let md = m.metadata.as_ref().unwrap();
    assert_eq!(
        (
            md.dst_node_id,
            md.src_node_id,
            md.reply_to_message_id.as_str(),
            md.run_id
        ),
        (1, 77, root.as_str(), 9)
    );
    assert_eq!(md.message_id, request.message_object_trees[0].object_id);
}
