//! Flower's content-addressed objects: a Message and its records travel as a tree of
//! objects, each stored under the hex SHA-256 of its bytes.
//!
//! An object's bytes are `"<Type> <child ids joined by ','> <body length>"`, a NUL
//! byte, and the body:
//!
//! | type | body | children |
//! |---|---|---|
//! | `Message` | protobuf `Message` with `message_id = ""` and no content | its `RecordDict`, if any |
//! | `RecordDict`, `ArrayRecord` | JSON `{name: child id}` | the distinct child ids, in order |
//! | `Array` | JSON `{"dtype", "shape", "stype", "arraychunk_ids"}` | the distinct chunk ids |
//! | `ArrayChunk` | raw bytes, at most 5 MiB | none |
//! | `ConfigRecord`, `MetricRecord` | protobuf `{items: [{key, value}]}` | none |
//!
//! An Array's data is a whole `.npy` file (as `numpy.save` writes it), cut into chunks;
//! `arraychunk_ids` lists, for each chunk in order, its index among the distinct ones.
//! JSON is written as Python's `json.dumps` writes it (`", "`, `": "`, non-ASCII
//! escaped), so ids equal those Flower computes for the same content.
//!
//! Decoding checks everything before it is used: every hash, every header against the
//! tree, body lengths, JSON shapes, chunk indices, sizes against [`Limits`] before
//! anything is allocated, and each array's `.npy` header against its declared dtype
//! and shape. A malformed tree is an [`Error::Protocol`], never a panic.

use std::collections::{HashMap, HashSet};

use prost::Message as _;
use sha2::{Digest, Sha256};
use tc_tensor::{DType, Tensor};

use crate::proto::{self, config_record_value, metric_record_value, ObjectTree};
use crate::Error;

/// Flower's largest ArrayChunk (`FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE`).
pub const MAX_CHUNK: usize = 5 * 1024 * 1024;
/// The `stype` of arrays held as `.npy` bytes.
pub const NUMPY_STYPE: &str = "numpy.ndarray";

/// Bounds on what a received message may make the node allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of all the objects of one message together.
    pub message_bytes: usize,
    /// Objects in one message's tree.
    pub objects: usize,
    /// Bytes of one object (a chunk is at most [`MAX_CHUNK`] plus its header).
    pub object_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            message_bytes: 1 << 30,
            objects: 1 << 16,
            object_bytes: 16 << 20,
        }
    }
}

/// One array of an ArrayRecord: NumPy dtype name, shape and the `.npy` bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub stype: String,
    pub data: Vec<u8>,
}

impl Array {
    /// The array of a tensor, as `numpy.save` writes it (bf16 has no NumPy dtype: an error).
    pub fn from_tensor(t: &Tensor) -> Result<Array, Error> {
        let dtype = numpy_name(t.dtype())
            .ok_or_else(|| Error::Config(format!("{} tensors have no NumPy dtype", t.dtype())))?;
        let data = tc_tensor::write_npy(t).map_err(|e| Error::Config(e.to_string()))?;
        Ok(Array {
            dtype: dtype.to_string(),
            shape: t.shape().to_vec(),
            stype: NUMPY_STYPE.to_string(),
            data,
        })
    }

    /// The tensor these `.npy` bytes hold, checked against the declared dtype and shape.
    pub fn to_tensor(&self) -> Result<Tensor, Error> {
        if self.stype != NUMPY_STYPE {
            return Err(Error::protocol(format!(
                "array stype `{}`: only `{NUMPY_STYPE}` is supported",
                self.stype
            )));
        }
        let dtype = dtype_of_numpy(&self.dtype).ok_or_else(|| {
            Error::protocol(format!(
                "array dtype `{}` is not one tensorc has",
                self.dtype
            ))
        })?;
        let t = tc_tensor::read_npy(&self.data)
            .map_err(|e| Error::protocol(format!("array data: {e}")))?;
        if t.dtype() != dtype || t.shape() != self.shape.as_slice() {
            return Err(Error::protocol(format!(
                "array declared {} {:?} but its .npy data holds {} {:?}",
                self.dtype,
                self.shape,
                numpy_name(t.dtype()).unwrap_or("?"),
                t.shape()
            )));
        }
        Ok(t)
    }
}

/// NumPy's name of a dtype (`str(ndarray.dtype)`); `None` for bf16.
pub fn numpy_name(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F64 => "float64",
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::I64 => "int64",
        DType::I32 => "int32",
        DType::U8 => "uint8",
        DType::Bool => "bool",
        DType::BF16 => return None,
    })
}

fn dtype_of_numpy(name: &str) -> Option<DType> {
    [
        DType::F64,
        DType::F32,
        DType::F16,
        DType::I64,
        DType::I32,
        DType::U8,
        DType::Bool,
    ]
    .into_iter()
    .find(|&d| numpy_name(d) == Some(name))
}

/// A ConfigRecord's or MetricRecord's value, as the records carry them.
pub type ConfigValue = config_record_value::Value;
/// A MetricRecord's value.
pub type MetricValue = metric_record_value::Value;

/// One record of a RecordDict.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Arrays(Vec<(String, Array)>),
    Config(Vec<(String, ConfigValue)>),
    Metrics(Vec<(String, MetricValue)>),
}

impl Record {
    /// `ArrayRecord`, `ConfigRecord` or `MetricRecord`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Record::Arrays(_) => "ArrayRecord",
            Record::Config(_) => "ConfigRecord",
            Record::Metrics(_) => "MetricRecord",
        }
    }
}

/// A Message's content: named records, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordDict(pub Vec<(String, Record)>);

impl RecordDict {
    pub fn get(&self, name: &str) -> Option<&Record> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }
}

/// A Message: its metadata, and content or an error.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub metadata: proto::Metadata,
    pub body: Body,
}

/// What a Message carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Content(RecordDict),
    Error(proto::Error),
}

/// A message deflated into objects, ready to push.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// The Message's object id (its `message_id`).
    pub id: String,
    pub tree: ObjectTree,
    /// Every distinct object, children before parents.
    pub objects: Vec<(String, Vec<u8>)>,
}

impl Encoded {
    /// The bytes of object `id`.
    pub fn object(&self, id: &str) -> Option<&[u8]> {
        self.objects
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, b)| b.as_slice())
    }

    /// Bytes of all objects.
    pub fn bytes(&self) -> usize {
        self.objects.iter().map(|(_, b)| b.len()).sum()
    }
}

/// Hex SHA-256 of `bytes`: an object's id.
pub fn object_id(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Whether `id` looks like an object id: 64 lowercase hex digits.
pub fn is_object_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The bytes of an object: header, NUL, body.
pub fn with_header(kind: &str, children: &[String], body: &[u8]) -> Vec<u8> {
    let head = format!("{kind} {} {}", children.join(","), body.len());
    let mut out = Vec::with_capacity(head.len() + 1 + body.len());
    out.extend_from_slice(head.as_bytes());
    out.push(0);
    out.extend_from_slice(body);
    out
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn py_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// `{"name": "id", ...}` as `json.dumps` writes a dict of strings.
fn py_json_refs(refs: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (name, id)) in refs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_json_string(name, &mut out);
        out.push_str(": ");
        py_json_string(id, &mut out);
    }
    out.push('}');
    out
}

/// Collects objects while a message is deflated.
struct Deflater {
    objects: Vec<(String, Vec<u8>)>,
    seen: HashSet<String>,
}

impl Deflater {
    fn add(&mut self, bytes: Vec<u8>, children: Vec<ObjectTree>) -> ObjectTree {
        let id = object_id(&bytes);
        if self.seen.insert(id.clone()) {
            self.objects.push((id.clone(), bytes));
        }
        ObjectTree {
            object_id: id,
            children,
        }
    }

    /// Each distinct child tree once, in order.
    fn distinct_trees(trees: Vec<ObjectTree>) -> (Vec<String>, Vec<ObjectTree>) {
        let mut seen = HashSet::new();
        let trees: Vec<ObjectTree> = trees
            .into_iter()
            .filter(|t| seen.insert(t.object_id.clone()))
            .collect();
        (trees.iter().map(|t| t.object_id.clone()).collect(), trees)
    }

    fn array(&mut self, array: &Array) -> ObjectTree {
        let chunks: Vec<ObjectTree> = array
            .data
            .chunks(MAX_CHUNK)
            .map(|c| self.add(with_header("ArrayChunk", &[], c), Vec::new()))
            .collect();
        let all: Vec<String> = chunks.iter().map(|t| t.object_id.clone()).collect();
        let (unique, trees) = Self::distinct_trees(chunks);
        let indices: Vec<String> = all
            .iter()
            .map(|id| unique.iter().position(|u| u == id).unwrap_or(0).to_string())
            .collect();
        let mut body = String::from("{\"dtype\": ");
        py_json_string(&array.dtype, &mut body);
        body.push_str(", \"shape\": [");
        body.push_str(
            &array
                .shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        body.push_str("], \"stype\": ");
        py_json_string(&array.stype, &mut body);
        body.push_str(", \"arraychunk_ids\": [");
        body.push_str(&indices.join(", "));
        body.push_str("]}");
        self.add(with_header("Array", &unique, body.as_bytes()), trees)
    }

    fn refs(&mut self, kind: &str, named: Vec<(String, ObjectTree)>) -> ObjectTree {
        let refs: Vec<(String, String)> = named
            .iter()
            .map(|(n, t)| (n.clone(), t.object_id.clone()))
            .collect();
        let (unique, trees) = Self::distinct_trees(named.into_iter().map(|(_, t)| t).collect());
        self.add(
            with_header(kind, &unique, py_json_refs(&refs).as_bytes()),
            trees,
        )
    }

    fn record(&mut self, record: &Record) -> ObjectTree {
        match record {
            Record::Arrays(arrays) => {
                let named = arrays
                    .iter()
                    .map(|(n, a)| (n.clone(), self.array(a)))
                    .collect();
                self.refs("ArrayRecord", named)
            }
            Record::Config(items) => {
                let body = proto::ConfigRecord {
                    items: items
                        .iter()
                        .map(|(k, v)| proto::ConfigItem {
                            key: k.clone(),
                            value: Some(proto::ConfigRecordValue {
                                value: Some(v.clone()),
                            }),
                        })
                        .collect(),
                };
                self.add(
                    with_header("ConfigRecord", &[], &body.encode_to_vec()),
                    Vec::new(),
                )
            }
            Record::Metrics(items) => {
                let body = proto::MetricRecord {
                    items: items
                        .iter()
                        .map(|(k, v)| proto::MetricItem {
                            key: k.clone(),
                            value: Some(proto::MetricRecordValue {
                                value: Some(v.clone()),
                            }),
                        })
                        .collect(),
                };
                self.add(
                    with_header("MetricRecord", &[], &body.encode_to_vec()),
                    Vec::new(),
                )
            }
        }
    }
}

/// Deflate a message into its objects. The metadata's `message_id` is ignored (an id
/// cannot be part of what it hashes); set it to [`Encoded::id`] when sending.
pub fn encode(message: &Message) -> Encoded {
    let mut d = Deflater {
        objects: Vec::new(),
        seen: HashSet::new(),
    };
    let mut metadata = message.metadata.clone();
    metadata.message_id.clear();
    let (children, error) = match &message.body {
        Body::Content(dict) => {
            let named = dict
                .0
                .iter()
                .map(|(n, r)| (n.clone(), d.record(r)))
                .collect();
            (vec![d.refs("RecordDict", named)], None)
        }
        Body::Error(e) => (Vec::new(), Some(e.clone())),
    };
    let body = proto::Message {
        metadata: Some(metadata),
        content: None,
        error,
    }
    .encode_to_vec();
    let ids: Vec<String> = children.iter().map(|t| t.object_id.clone()).collect();
    let tree = d.add(with_header("Message", &ids, &body), children);
    Encoded {
        id: tree.object_id.clone(),
        tree,
        objects: d.objects,
    }
}

/// An object split into its header's fields and its body.
struct Parsed<'a> {
    kind: &'a str,
    children: Vec<&'a str>,
    body: &'a [u8],
}

fn parse_object<'a>(id: &str, bytes: &'a [u8]) -> Result<Parsed<'a>, Error> {
    let bad = |why: &str| Error::protocol(format!("object {id}: {why}"));
    let nul = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| bad("no header (no NUL byte)"))?;
    let head = std::str::from_utf8(&bytes[..nul]).map_err(|_| bad("the header is not UTF-8"))?;
    let body = &bytes[nul + 1..];
    let fields: Vec<&str> = head.split(' ').collect();
    let [kind, children, len] = fields[..] else {
        return Err(bad("the header is not `TYPE CHILDREN LENGTH`"));
    };
    if len.parse::<usize>().ok() != Some(body.len()) {
        return Err(bad(&format!(
            "the header says a body of {len} bytes, the body has {}",
            body.len()
        )));
    }
    let children: Vec<&str> = if children.is_empty() {
        Vec::new()
    } else {
        children.split(',').collect()
    };
    if let Some(c) = children.iter().find(|c| !is_object_id(c)) {
        return Err(bad(&format!(
            "child id `{}` is not a SHA-256 hex digest",
            c.chars().take(80).collect::<String>()
        )));
    }
    Ok(Parsed {
        kind,
        children,
        body,
    })
}

/// Rebuilds a message from its tree and the pulled objects (each already checked
/// against its id by [`check_object`]).
struct Inflater<'a> {
    objects: &'a HashMap<String, Vec<u8>>,
    limits: Limits,
    array_bytes: usize,
}

impl<'a> Inflater<'a> {
    /// The object of `tree`, its header checked against the tree and `kind`.
    fn object(&self, tree: &'a ObjectTree, kind: &str) -> Result<Parsed<'a>, Error> {
        let id = tree.object_id.as_str();
        let bytes = self
            .objects
            .get(id)
            .ok_or_else(|| Error::protocol(format!("object {id} was not received")))?;
        let parsed = parse_object(id, bytes)?;
        if parsed.kind != kind {
            return Err(Error::protocol(format!(
                "object {id} is a `{}` where a `{kind}` belongs",
                parsed.kind
            )));
        }
        let tree_children: Vec<&str> = tree.children.iter().map(|c| c.object_id.as_str()).collect();
        if parsed.children != tree_children {
            return Err(Error::protocol(format!(
                "object {id}: its header's children differ from the object tree's"
            )));
        }
        Ok(parsed)
    }

    /// The child tree with id `id` among `tree`'s children.
    fn child(tree: &'a ObjectTree, id: &str) -> Result<&'a ObjectTree, Error> {
        tree.children
            .iter()
            .find(|c| c.object_id == id)
            .ok_or_else(|| {
                Error::protocol(format!(
                    "object {}: reference {id} is not one of its children",
                    tree.object_id
                ))
            })
    }

    /// A JSON object of strings, in order.
    fn refs(id: &str, body: &[u8]) -> Result<Vec<(String, String)>, Error> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| Error::protocol(format!("object {id}: bad JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(Error::protocol(format!(
                "object {id}: expected a JSON object"
            )));
        };
        map.into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k, s)),
                _ => Err(Error::protocol(format!(
                    "object {id}: entry `{k}` is not an object id"
                ))),
            })
            .collect()
    }

    fn message(&mut self, tree: &'a ObjectTree) -> Result<Message, Error> {
        let parsed = self.object(tree, "Message")?;
        let proto = proto::Message::decode(parsed.body).map_err(|e| {
            Error::protocol(format!("message {}: bad protobuf: {e}", tree.object_id))
        })?;
        let metadata = proto
            .metadata
            .ok_or_else(|| Error::protocol("a message without metadata"))?;
        let body = match (proto.error, parsed.children.as_slice()) {
            (Some(e), []) => Body::Error(e),
            (None, [_]) => Body::Content(self.record_dict(&tree.children[0])?),
            _ => {
                return Err(Error::protocol(
                    "a message must carry either content or an error",
                ))
            }
        };
        Ok(Message { metadata, body })
    }

    fn record_dict(&mut self, tree: &'a ObjectTree) -> Result<RecordDict, Error> {
        let parsed = self.object(tree, "RecordDict")?;
        let mut records = Vec::new();
        for (name, id) in Self::refs(&tree.object_id, parsed.body)? {
            let child = Self::child(tree, &id)?;
            let bytes = self
                .objects
                .get(&id)
                .ok_or_else(|| Error::protocol(format!("object {id} was not received")))?;
            let kind = parse_object(&id, bytes)?.kind;
            let record = match kind {
                "ArrayRecord" => Record::Arrays(self.array_record(child)?),
                "ConfigRecord" => Record::Config(self.config_record(child)?),
                "MetricRecord" => Record::Metrics(self.metric_record(child)?),
                other => return Err(Error::protocol(format!("record `{name}` is a `{other}`"))),
            };
            records.push((name, record));
        }
        Ok(RecordDict(records))
    }

    fn array_record(&mut self, tree: &'a ObjectTree) -> Result<Vec<(String, Array)>, Error> {
        let parsed = self.object(tree, "ArrayRecord")?;
        let mut arrays = Vec::new();
        for (name, id) in Self::refs(&tree.object_id, parsed.body)? {
            arrays.push((name, self.array(Self::child(tree, &id)?)?));
        }
        Ok(arrays)
    }

    fn array(&mut self, tree: &'a ObjectTree) -> Result<Array, Error> {
        let id = &tree.object_id;
        let parsed = self.object(tree, "Array")?;
        let bad = |why: &str| Error::protocol(format!("array {id}: {why}"));
        let value: serde_json::Value =
            serde_json::from_slice(parsed.body).map_err(|e| bad(&format!("bad JSON: {e}")))?;
        let dtype = value
            .get("dtype")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("no `dtype`"))?;
        let stype = value
            .get("stype")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("no `stype`"))?;
        let shape = value
            .get("shape")
            .and_then(|v| v.as_array())
            .ok_or_else(|| bad("no `shape`"))?
            .iter()
            .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad("`shape` is not a list of sizes"))?;
        let indices = value
            .get("arraychunk_ids")
            .and_then(|v| v.as_array())
            .ok_or_else(|| bad("no `arraychunk_ids`"))?
            .iter()
            .map(|i| {
                i.as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|&i| i < parsed.children.len())
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad("`arraychunk_ids` holds an index that is not one of its chunks"))?;
        // Sizes first: the data is allocated only once it is known to fit.
        let mut total = 0usize;
        let mut chunks = Vec::with_capacity(indices.len().min(self.limits.objects));
        for &i in &indices {
            let chunk = &tree.children[i];
            let c = self.object(chunk, "ArrayChunk")?;
            if !c.children.is_empty() {
                return Err(bad("a chunk with children"));
            }
            total = total.saturating_add(c.body.len());
            self.array_bytes = self.array_bytes.saturating_add(c.body.len());
            if self.array_bytes > self.limits.message_bytes {
                return Err(bad(&format!(
                    "the message's arrays exceed {} bytes",
                    self.limits.message_bytes
                )));
            }
            chunks.push(c.body);
        }
        let mut data = Vec::with_capacity(total);
        for c in chunks {
            data.extend_from_slice(c);
        }
        Ok(Array {
            dtype: dtype.to_string(),
            shape,
            stype: stype.to_string(),
            data,
        })
    }

    fn config_record(&mut self, tree: &'a ObjectTree) -> Result<Vec<(String, ConfigValue)>, Error> {
        let parsed = self.object(tree, "ConfigRecord")?;
        let record = proto::ConfigRecord::decode(parsed.body).map_err(|e| {
            Error::protocol(format!(
                "config record {}: bad protobuf: {e}",
                tree.object_id
            ))
        })?;
        record
            .items
            .into_iter()
            .map(|i| match i.value.and_then(|v| v.value) {
                Some(v) => Ok((i.key, v)),
                None => Err(Error::protocol(format!(
                    "config entry `{}` has no value",
                    i.key
                ))),
            })
            .collect()
    }

    fn metric_record(&mut self, tree: &'a ObjectTree) -> Result<Vec<(String, MetricValue)>, Error> {
        let parsed = self.object(tree, "MetricRecord")?;
        let record = proto::MetricRecord::decode(parsed.body).map_err(|e| {
            Error::protocol(format!(
                "metric record {}: bad protobuf: {e}",
                tree.object_id
            ))
        })?;
        record
            .items
            .into_iter()
            .map(|i| match i.value.and_then(|v| v.value) {
                Some(v) => Ok((i.key, v)),
                None => Err(Error::protocol(format!("metric `{}` has no value", i.key))),
            })
            .collect()
    }
}

/// The distinct object ids of a tree, children before parents, after checking its
/// shape: ids are SHA-256 digests, a message is at most 5 levels deep (Message,
/// RecordDict, record, Array, ArrayChunk) and has at most `limits.objects` objects.
pub fn tree_ids(tree: &ObjectTree, limits: &Limits) -> Result<Vec<String>, Error> {
    fn walk(
        t: &ObjectTree,
        depth: usize,
        count: &mut usize,
        limits: &Limits,
        seen: &mut HashSet<String>,
        out: &mut Vec<String>,
    ) -> Result<(), Error> {
        if depth > 5 {
            return Err(Error::protocol(
                "the object tree is deeper than a message can be",
            ));
        }
        *count += 1;
        if *count > limits.objects {
            return Err(Error::protocol(format!(
                "the object tree has more than {} objects",
                limits.objects
            )));
        }
        if !is_object_id(&t.object_id) {
            return Err(Error::protocol(format!(
                "object id `{}` is not a SHA-256 hex digest",
                t.object_id.chars().take(80).collect::<String>()
            )));
        }
        for c in &t.children {
            walk(c, depth + 1, count, limits, seen, out)?;
        }
        if seen.insert(t.object_id.clone()) {
            out.push(t.object_id.clone());
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(tree, 1, &mut 0, limits, &mut HashSet::new(), &mut out)?;
    Ok(out)
}

/// Check a pulled object: its size and its hash against its id.
pub fn check_object(id: &str, bytes: &[u8], limits: &Limits) -> Result<(), Error> {
    if bytes.len() > limits.object_bytes {
        return Err(Error::protocol(format!(
            "object {id} has {} bytes, more than {}",
            bytes.len(),
            limits.object_bytes
        )));
    }
    let actual = object_id(bytes);
    if actual != id {
        return Err(Error::protocol(format!(
            "object {id}: its content hashes to {actual}"
        )));
    }
    Ok(())
}

/// Inflate the message of `tree` from `objects` (id → bytes, each checked with
/// [`check_object`]); the result's `message_id` is the tree's root id.
pub fn decode(
    tree: &ObjectTree,
    objects: &HashMap<String, Vec<u8>>,
    limits: &Limits,
) -> Result<Message, Error> {
    tree_ids(tree, limits)?;
    for (id, bytes) in objects {
        check_object(id, bytes, limits)?;
    }
    let mut inflater = Inflater {
        objects,
        limits: *limits,
        array_bytes: 0,
    };
    let mut message = inflater.message(tree)?;
    message.metadata.message_id = tree.object_id.clone();
    Ok(message)
}

/// A config or metric value as a number, if it is one.
pub fn config_number(value: &ConfigValue) -> Option<f64> {
    match value {
        ConfigValue::Double(v) => Some(*v),
        ConfigValue::Sint64(v) => Some(*v as f64),
        ConfigValue::Uint64(v) => Some(*v as f64),
        _ => None,
    }
}

/// A metric's value as a number, if it is a scalar.
pub fn metric_number(value: &MetricValue) -> Option<f64> {
    match value {
        MetricValue::Double(v) => Some(*v),
        MetricValue::Sint64(v) => Some(*v as f64),
        MetricValue::Uint64(v) => Some(*v as f64),
        _ => None,
    }
}

/// An integer as Flower stores a Python `int`: `sint64`, or `uint64` beyond it.
pub fn metric_int(v: u64) -> MetricValue {
    match i64::try_from(v) {
        Ok(v) => MetricValue::Sint64(v),
        Err(_) => MetricValue::Uint64(v),
    }
}
