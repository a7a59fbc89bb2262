//! A node's life in a Flower federation: register and activate, send heartbeats on a
//! thread of their own, pull instructions, fetch and check their objects, hand each to
//! a [`Handler`], push the reply and its objects, and at the end deactivate and
//! unregister.
//!
//! What is unreachable is retried with exponential backoff (0.5 s doubling to 30 s),
//! for as long as the node runs; within an exchange (fetching an instruction, pushing
//! its reply) a failed call is tried twice more before the exchange is given up; what
//! is invalid is never retried: an instruction
//! whose objects are malformed gets an error reply when its metadata is readable,
//! and the node goes on serving. A node that the SuperLink no longer knows (it
//! restarted with fresh state) registers and activates again.
//!
//! `max_runs` makes the node leave once that many runs it served have finished: while
//! idle it asks the SuperLink (`get-run`) about each run it took part in.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::{Fleet, Tls};
use crate::objects::{self, Body, Encoded, Limits, Message, RecordDict};
use crate::{proto, Error, Identity};

/// Flower's error code for a failure in the app that handled the message
/// (`ErrorCode.CLIENT_APP_RAISED_EXCEPTION`).
pub const APP_ERROR: i64 = 2;
/// Flower's API error code for a call about a run that is not running.
pub const RUN_NOT_RUNNING: i64 = 2007;

/// What handles instructions: training and evaluation.
pub trait Handler {
    /// The reply's content for an instruction, or the reason it failed (sent back as
    /// the reply's error).
    fn handle(&mut self, message: &Message) -> Result<RecordDict, String>;

    /// A few words on the last instruction handled (examples, loss), for the log.
    fn note(&self) -> String {
        String::new()
    }
}

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The SuperLink's Fleet API, `HOST:PORT`.
    pub superlink: String,
    pub tls: Tls,
    pub identity: Identity,
    /// Seconds between heartbeats promised to the SuperLink (10 to 1800); they are sent
    /// every two thirds of it.
    pub heartbeat: f64,
    /// How long to wait between polls when there is nothing to do.
    pub poll: Duration,
    /// The bound on every request.
    pub timeout: Duration,
    /// Leave after this many runs have finished.
    pub max_runs: Option<usize>,
    pub limits: Limits,
}

impl NodeOptions {
    /// Defaults: heartbeat 30 s, poll 1 s, timeout 60 s, no run limit.
    pub fn new(superlink: impl Into<String>, tls: Tls, identity: Identity) -> NodeOptions {
        NodeOptions {
            superlink: superlink.into(),
            tls,
            identity,
            heartbeat: 30.0,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
            max_runs: None,
            limits: Limits::default(),
        }
    }
}

/// What the node reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// Activated with this node id.
    Connected { node_id: u64 },
    /// An instruction was handled and its reply sent.
    Replied(&'a Reply),
    /// A call failed and is retried after `wait`.
    Retrying { error: &'a Error, wait: Duration },
    /// A run the node served has finished.
    RunFinished { run_id: u64 },
    /// Something worth a line in the log.
    Note(String),
}

/// One instruction and its reply.
#[derive(Clone, Debug)]
pub struct Reply {
    pub run_id: u64,
    pub message_type: String,
    /// The ConfigRecord `config`'s `server-round`, when there is one.
    pub round: Option<i64>,
    /// The reply's error reason, if it is an error reply.
    pub error: Option<String>,
    /// Bytes of the instruction's objects, and of the reply's.
    pub bytes_in: usize,
    pub bytes_out: usize,
    /// The handler's words on it ([`Handler::note`]).
    pub note: String,
    /// Seconds the handler took, and the whole exchange (from the pulled instruction to
    /// the last object of the reply pushed).
    pub handle_seconds: f64,
    pub total_seconds: f64,
    /// The protocol's share of `total_seconds`: fetching the instruction's objects and
    /// confirming it (receive), checking and decoding them into arrays (decode),
    /// encoding the reply into objects (encode), pushing the reply and its objects (send).
    pub receive_seconds: f64,
    pub decode_seconds: f64,
    pub encode_seconds: f64,
    pub send_seconds: f64,
}

/// What a node did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub node_id: u64,
    pub messages: usize,
    pub errors: usize,
    pub runs_finished: usize,
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Sleep `wait`, waking early if `stop` is set; whether it was.
fn sleep(wait: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + wait;
    while Instant::now() < end {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    stop.load(Ordering::Relaxed)
}

/// Exponential backoff: 0.5 s doubling to 30 s.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(Duration::from_millis(500))
    }
    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(30));
        wait
    }
}

/// `f` until it succeeds, retrying transient errors with backoff until `stop`.
fn retrying<T>(
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
    mut f: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let mut backoff = Backoff::new();
    loop {
        match f() {
            Err(e) if e.is_transient() => {
                let wait = backoff.next();
                on_event(Event::Retrying { error: &e, wait });
                if sleep(wait, stop) {
                    return Err(Error::Stopped);
                }
            }
            other => return other,
        }
    }
}

/// `f`, tried again up to twice (after 0.5 s, then 1 s) while it fails transiently: for
/// the calls of one exchange, whose loss would cost the ServerApp a reply.
fn few_tries<T>(stop: &AtomicBool, mut f: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let mut wait = Duration::from_millis(500);
    for _ in 0..2 {
        match f() {
            Err(e) if e.is_transient() => {
                if sleep(wait, stop) {
                    return Err(Error::Stopped);
                }
                wait *= 2;
            }
            other => return other,
        }
    }
    f()
}

/// Serve instructions until `stop` is set or `max_runs` runs have finished, then
/// deactivate and unregister. Errors only for what the node cannot go on after: bad
/// options, or a SuperLink that refuses to register or activate it.
pub fn run(
    options: &NodeOptions,
    handler: &mut dyn Handler,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary, Error> {
    if !(10.0..=1800.0).contains(&options.heartbeat) {
        return Err(Error::Config(format!(
            "--heartbeat {}: must be between 10 and 1800 seconds",
            options.heartbeat
        )));
    }
    let fleet = Arc::new(Fleet::new(
        &options.superlink,
        &options.tls,
        options.identity.clone(),
        options.timeout,
        &options.limits,
    )?);
    let node_id = connect(&fleet, options, stop, on_event)?;
    on_event(Event::Connected { node_id });
    let node = Arc::new(std::sync::atomic::AtomicU64::new(node_id));
    let beating = Arc::new(AtomicBool::new(true));
    let heartbeat = {
        let (fleet, node, beating, interval) = (
            Arc::clone(&fleet),
            Arc::clone(&node),
            Arc::clone(&beating),
            options.heartbeat,
        );
        std::thread::Builder::new()
            .name("flower-heartbeat".to_string())
            .spawn(move || {
                let period = Duration::from_secs_f64(interval * 2.0 / 3.0);
                let mut wait = period;
                loop {
                    let end = Instant::now() + wait;
                    while Instant::now() < end && beating.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    if !beating.load(Ordering::Relaxed) {
                        return;
                    }
                    // A failed heartbeat is tried again sooner; the main loop notices a
                    // SuperLink that forgot the node.
                    wait = match fleet.send_heartbeat(node.load(Ordering::Relaxed), interval) {
                        Ok(true) => period,
                        _ => Duration::from_secs(2).min(period),
                    };
                }
            })
            .map_err(|e| Error::Config(format!("cannot start the heartbeat thread: {e}")))?
    };
    let mut summary = Summary {
        node_id,
        ..Summary::default()
    };
    let result = serve(
        &fleet,
        &node,
        options,
        handler,
        stop,
        on_event,
        &mut summary,
    );
    beating.store(false, Ordering::Relaxed);
    let _ = heartbeat.join();
    let node_id = node.load(Ordering::Relaxed);
    // Leaving is best effort: one try each, bounded by the request timeout.
    if let Err(e) = fleet.deactivate_node(node_id) {
        on_event(Event::Note(format!("deactivate: {e}")));
    }
    if let Err(e) = fleet.unregister_node(node_id) {
        on_event(Event::Note(format!("unregister: {e}")));
    }
    match result {
        Ok(()) | Err(Error::Stopped) => Ok(summary),
        Err(e) => Err(e),
    }
}

/// Register (unless the SuperLink registers nodes itself: then its refusal is not an
/// error) and activate; the node id.
fn connect(
    fleet: &Fleet,
    options: &NodeOptions,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<u64, Error> {
    match retrying(stop, on_event, || fleet.register_node()) {
        Ok(()) => {}
        Err(e @ Error::Api { .. }) => on_event(Event::Note(format!(
            "register: {e}; activating a pre-registered key"
        ))),
        Err(e) => return Err(e),
    }
    retrying(stop, on_event, || fleet.activate_node(options.heartbeat))
}

fn serve(
    fleet: &Fleet,
    node: &std::sync::atomic::AtomicU64,
    options: &NodeOptions,
    handler: &mut dyn Handler,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
    summary: &mut Summary,
) -> Result<(), Error> {
    let mut runs: BTreeSet<u64> = BTreeSet::new();
    let mut backoff = Backoff::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Stopped);
        }
        let node_id = node.load(Ordering::Relaxed);
        let pulled = match fleet.pull_messages(node_id) {
            Ok(p) => {
                backoff = Backoff::new();
                p
            }
            Err(e) if e.is_transient() => {
                let wait = backoff.next();
                on_event(Event::Retrying { error: &e, wait });
                if sleep(wait, stop) {
                    return Err(Error::Stopped);
                }
                continue;
            }
            Err(e @ Error::Api { .. }) => {
                // The SuperLink does not know this node (it restarted): join again.
                on_event(Event::Note(format!("{e}; registering again")));
                if sleep(backoff.next(), stop) {
                    return Err(Error::Stopped);
                }
                let id = connect(fleet, options, stop, on_event)?;
                node.store(id, Ordering::Relaxed);
                summary.node_id = id;
                on_event(Event::Connected { node_id: id });
                continue;
            }
            Err(e) => {
                on_event(Event::Note(format!("{e}")));
                if sleep(backoff.next(), stop) {
                    return Err(Error::Stopped);
                }
                continue;
            }
        };
        let (Some(message), Some(tree)) = (
            pulled.messages_list.first(),
            pulled.message_object_trees.first(),
        ) else {
            if finished_runs(fleet, node_id, &mut runs, summary, on_event)
                && options.max_runs.is_some_and(|n| summary.runs_finished >= n)
            {
                return Ok(());
            }
            if sleep(options.poll, stop) {
                return Err(Error::Stopped);
            }
            continue;
        };
        let metadata = message.metadata.clone().unwrap_or_default();
        if metadata.run_id != 0 {
            runs.insert(metadata.run_id);
        }
        match exchange(fleet, node_id, &metadata, tree, options, handler, stop) {
            Ok(reply) => {
                summary.messages += 1;
                summary.errors += usize::from(reply.error.is_some());
                on_event(Event::Replied(&reply));
            }
            Err(Error::Stopped) => return Err(Error::Stopped),
            Err(e) => {
                summary.errors += 1;
                on_event(Event::Note(format!(
                    "message of run {}: {e}",
                    metadata.run_id
                )));
            }
        }
    }
}

/// Ask about each run served and not yet known finished; whether one has finished.
fn finished_runs(
    fleet: &Fleet,
    node_id: u64,
    runs: &mut BTreeSet<u64>,
    summary: &mut Summary,
    on_event: &mut dyn FnMut(Event<'_>),
) -> bool {
    let mut any = false;
    for run_id in runs.clone() {
        let finished = match fleet.get_run_status(node_id, run_id) {
            Ok(status) => status == "finished",
            Err(Error::Api {
                code: Some(RUN_NOT_RUNNING),
                ..
            }) => true,
            Err(_) => false,
        };
        if finished {
            runs.remove(&run_id);
            summary.runs_finished += 1;
            on_event(Event::RunFinished { run_id });
            any = true;
        }
    }
    any
}

/// Fetch an instruction's objects, handle it, send the reply.
fn exchange(
    fleet: &Fleet,
    node_id: u64,
    metadata: &proto::Metadata,
    tree: &proto::ObjectTree,
    options: &NodeOptions,
    handler: &mut dyn Handler,
    stop: &AtomicBool,
) -> Result<Reply, Error> {
    let start = Instant::now();
    let run_id = metadata.run_id;
    if tree.object_id != metadata.message_id {
        return Err(Error::protocol(
            "the pulled message's id is not its object tree's root",
        ));
    }
    let fetched = fetch(fleet, node_id, run_id, tree, &options.limits, stop);
    let mut receive_seconds = start.elapsed().as_secs_f64();
    let bytes_in = fetched
        .as_ref()
        .map_or(0, |o| o.values().map(Vec::len).sum());
    let decode_start = Instant::now();
    let instruction = fetched.and_then(|objects| objects::decode(tree, &objects, &options.limits));
    let decode_seconds = decode_start.elapsed().as_secs_f64();
    // The message is taken off the SuperLink's queue whether or not it is valid.
    let confirm_start = Instant::now();
    few_tries(stop, || {
        fleet.confirm_message_received(node_id, run_id, &metadata.message_id)
    })?;
    receive_seconds += confirm_start.elapsed().as_secs_f64();
    let handle_start = Instant::now();
    let (reply_body, round) = match &instruction {
        Ok(message) => {
            let round = match &message.body {
                Body::Content(content) => server_round(content),
                Body::Error(_) => None,
            };
            match handler.handle(message) {
                Ok(content) => (Body::Content(content), round),
                Err(reason) => (
                    Body::Error(proto::Error {
                        code: APP_ERROR,
                        reason,
                    }),
                    round,
                ),
            }
        }
        Err(Error::Stopped) => return Err(Error::Stopped),
        Err(e) => (
            Body::Error(proto::Error {
                code: APP_ERROR,
                reason: e.to_string(),
            }),
            None,
        ),
    };
    let handle_seconds = handle_start.elapsed().as_secs_f64();
    let error = match &reply_body {
        Body::Error(e) => Some(e.reason.clone()),
        Body::Content(_) => None,
    };
    let reply = Message {
        metadata: reply_metadata(metadata, node_id),
        body: reply_body,
    };
    let encode_start = Instant::now();
    let encoded = objects::encode(&reply);
    let encode_seconds = encode_start.elapsed().as_secs_f64();
    let send_start = Instant::now();
    push(fleet, node_id, &reply, &encoded, handle_seconds, stop)?;
    let send_seconds = send_start.elapsed().as_secs_f64();
    Ok(Reply {
        run_id,
        message_type: metadata.message_type.clone(),
        round,
        error,
        bytes_in,
        bytes_out: encoded.bytes(),
        note: handler.note(),
        handle_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
        receive_seconds,
        decode_seconds,
        encode_seconds,
        send_seconds,
    })
}

/// `config`'s `server-round`, if it has one.
fn server_round(content: &RecordDict) -> Option<i64> {
    match content.get("config") {
        Some(objects::Record::Config(items)) => items
            .iter()
            .find(|(k, _)| k == "server-round")
            .and_then(|(_, v)| objects::config_number(v))
            .map(|v| v as i64),
        _ => None,
    }
}

/// The metadata of the reply to an instruction (as Flower's `Message(reply_to=…)`).
pub fn reply_metadata(instruction: &proto::Metadata, node_id: u64) -> proto::Metadata {
    let now = now_seconds();
    proto::Metadata {
        run_id: instruction.run_id,
        message_id: String::new(),
        src_node_id: node_id,
        dst_node_id: instruction.src_node_id,
        reply_to_message_id: instruction.message_id.clone(),
        group_id: instruction.group_id.clone(),
        ttl: instruction.created_at + instruction.ttl - now,
        message_type: instruction.message_type.clone(),
        created_at: now,
        src_task_id: instruction.dst_task_id,
        dst_task_id: instruction.src_task_id,
    }
}

/// Pull every object of `tree`, each checked against its id and the limits.
fn fetch(
    fleet: &Fleet,
    node_id: u64,
    run_id: u64,
    tree: &proto::ObjectTree,
    limits: &Limits,
    stop: &AtomicBool,
) -> Result<HashMap<String, Vec<u8>>, Error> {
    let ids = objects::tree_ids(tree, limits)?;
    let mut objects = HashMap::with_capacity(ids.len());
    let mut total = 0usize;
    for id in ids {
        let mut tries = 0;
        let content = loop {
            let response = few_tries(stop, || fleet.pull_object(node_id, run_id, &id))?;
            if !response.object_found {
                return Err(Error::protocol(format!(
                    "object {id} of the message is not on the SuperLink"
                )));
            }
            if response.object_available {
                break response.object_content;
            }
            tries += 1;
            if tries > 600 {
                return Err(Error::protocol(format!(
                    "object {id} did not become available in 60 s"
                )));
            }
            if sleep(Duration::from_millis(100), stop) {
                return Err(Error::Stopped);
            }
        };
        objects::check_object(&id, &content, limits)?;
        total += content.len();
        if total > limits.message_bytes {
            return Err(Error::protocol(format!(
                "the message's objects exceed {} bytes",
                limits.message_bytes
            )));
        }
        objects.insert(id, content);
    }
    Ok(objects)
}

/// Push the reply's message and then the objects the SuperLink asks for, children first.
fn push(
    fleet: &Fleet,
    node_id: u64,
    reply: &Message,
    encoded: &Encoded,
    runtime: f64,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let mut metadata = reply.metadata.clone();
    metadata.message_id = encoded.id.clone();
    let (content, error) = match &reply.body {
        Body::Content(_) => (Some(proto::RecordDict {}), None),
        Body::Error(e) => (None, Some(e.clone())),
    };
    let request = proto::PushMessagesRequest {
        node: Some(proto::Node { node_id }),
        messages_list: vec![proto::Message {
            metadata: Some(metadata),
            content,
            error,
        }],
        message_object_trees: vec![encoded.tree.clone()],
        clientapp_runtime_list: vec![runtime],
    };
    let response = few_tries(stop, || fleet.push_messages(&request))?;
    let wanted: BTreeSet<&str> = response
        .objects_to_push
        .iter()
        .map(String::as_str)
        .collect();
    if let Some(unknown) = wanted.iter().find(|id| encoded.object(id).is_none()) {
        return Err(Error::protocol(format!(
            "the SuperLink asks for object {unknown}, which the reply does not have"
        )));
    }
    for (id, bytes) in &encoded.objects {
        if !wanted.contains(id.as_str()) {
            continue;
        }
        if !few_tries(stop, || {
            fleet.push_object(
                node_id,
                reply.metadata.run_id,
                id,
                bytes.clone(),
                &response.session_id,
            )
        })? {
            return Err(Error::protocol(format!(
                "the SuperLink did not store object {id}"
            )));
        }
    }
    Ok(())
}
