//! The protobuf messages of Flower 1.41's Fleet API that a node exchanges, derived by
//! hand from the package's descriptors (`flwr/proto/{node,heartbeat,error,recorddict,
//! message,run,fleet}.proto`) with the same field numbers and types. Messages the node
//! never reads are left out, and so are fields it never reads (a `Run` keeps only its
//! id and status): prost skips unknown fields when decoding.
//!
//! `tests/flwr_fixtures.rs` checks the encodings against object ids that `flwr==1.41.0`
//! itself computed for the same content (a Message's id covers its encoded metadata).

#![allow(missing_docs)]

/// `flwr.proto.Node`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Node {
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
}

/// `flwr.proto.SendNodeHeartbeatRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendNodeHeartbeatRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(double, tag = "2")]
    pub heartbeat_interval: f64,
}

/// `flwr.proto.SendNodeHeartbeatResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendNodeHeartbeatResponse {
    #[prost(bool, tag = "1")]
    pub success: bool,
}

/// `flwr.proto.Error`: a failed instruction's reply carries one instead of content.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Error {
    #[prost(sint64, tag = "1")]
    pub code: i64,
    #[prost(string, tag = "2")]
    pub reason: String,
}

/// `flwr.proto.DoubleList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DoubleList {
    #[prost(double, repeated, tag = "1")]
    pub vals: Vec<f64>,
}

/// `flwr.proto.SintList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SintList {
    #[prost(sint64, repeated, tag = "1")]
    pub vals: Vec<i64>,
}

/// `flwr.proto.UintList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UintList {
    #[prost(uint64, repeated, tag = "1")]
    pub vals: Vec<u64>,
}

/// `flwr.proto.BoolList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BoolList {
    #[prost(bool, repeated, tag = "1")]
    pub vals: Vec<bool>,
}

/// `flwr.proto.StringList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringList {
    #[prost(string, repeated, tag = "1")]
    pub vals: Vec<String>,
}

/// `flwr.proto.BytesList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub vals: Vec<Vec<u8>>,
}

/// `flwr.proto.MetricRecordValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricRecordValue {
    #[prost(oneof = "metric_record_value::Value", tags = "1, 2, 3, 21, 22, 23")]
    pub value: Option<metric_record_value::Value>,
}

pub mod metric_record_value {
    /// The value of a metric.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(double, tag = "1")]
        Double(f64),
        #[prost(sint64, tag = "2")]
        Sint64(i64),
        #[prost(uint64, tag = "3")]
        Uint64(u64),
        #[prost(message, tag = "21")]
        DoubleList(super::DoubleList),
        #[prost(message, tag = "22")]
        SintList(super::SintList),
        #[prost(message, tag = "23")]
        UintList(super::UintList),
    }
}

/// `flwr.proto.ConfigRecordValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigRecordValue {
    #[prost(
        oneof = "config_record_value::Value",
        tags = "1, 2, 3, 4, 5, 6, 21, 22, 23, 24, 25, 26"
    )]
    pub value: Option<config_record_value::Value>,
}

pub mod config_record_value {
    /// The value of a configuration entry.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(double, tag = "1")]
        Double(f64),
        #[prost(sint64, tag = "2")]
        Sint64(i64),
        #[prost(uint64, tag = "3")]
        Uint64(u64),
        #[prost(bool, tag = "4")]
        Bool(bool),
        #[prost(string, tag = "5")]
        String(String),
        #[prost(bytes = "vec", tag = "6")]
        Bytes(Vec<u8>),
        #[prost(message, tag = "21")]
        DoubleList(super::DoubleList),
        #[prost(message, tag = "22")]
        SintList(super::SintList),
        #[prost(message, tag = "23")]
        UintList(super::UintList),
        #[prost(message, tag = "24")]
        BoolList(super::BoolList),
        #[prost(message, tag = "25")]
        StringList(super::StringList),
        #[prost(message, tag = "26")]
        BytesList(super::BytesList),
    }
}

/// `flwr.proto.MetricRecord`: the body of a MetricRecord object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricRecord {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<MetricItem>,
}

/// `flwr.proto.MetricRecord.Item`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<MetricRecordValue>,
}

/// `flwr.proto.ConfigRecord`: the body of a ConfigRecord object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigRecord {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<ConfigItem>,
}

/// `flwr.proto.ConfigRecord.Item`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<ConfigRecordValue>,
}

/// `flwr.proto.RecordDict`: only ever sent empty (a pushed Message's content travels
/// as objects).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecordDict {}

/// `flwr.proto.Message`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<Metadata>,
    #[prost(message, optional, tag = "2")]
    pub content: Option<RecordDict>,
    #[prost(message, optional, tag = "3")]
    pub error: Option<Error>,
}

/// `flwr.proto.Metadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metadata {
    #[prost(uint64, tag = "1")]
    pub run_id: u64,
    #[prost(string, tag = "2")]
    pub message_id: String,
    #[prost(uint64, tag = "3")]
    pub src_node_id: u64,
    #[prost(uint64, tag = "4")]
    pub dst_node_id: u64,
    #[prost(string, tag = "5")]
    pub reply_to_message_id: String,
    #[prost(string, tag = "6")]
    pub group_id: String,
    #[prost(double, tag = "7")]
    pub ttl: f64,
    #[prost(string, tag = "8")]
    pub message_type: String,
    #[prost(double, tag = "9")]
    pub created_at: f64,
    #[prost(uint64, optional, tag = "10")]
    pub src_task_id: Option<u64>,
    #[prost(uint64, optional, tag = "11")]
    pub dst_task_id: Option<u64>,
}

/// `flwr.proto.ObjectTree`: an object's id and its children's trees.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ObjectTree {
    #[prost(string, tag = "1")]
    pub object_id: String,
    #[prost(message, repeated, tag = "2")]
    pub children: Vec<ObjectTree>,
}

/// `flwr.proto.PushObjectRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushObjectRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(uint64, tag = "2")]
    pub run_id: u64,
    #[prost(string, tag = "3")]
    pub object_id: String,
    #[prost(bytes = "vec", tag = "4")]
    pub object_content: Vec<u8>,
    #[prost(string, tag = "5")]
    pub session_id: String,
}

/// `flwr.proto.PushObjectResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushObjectResponse {
    #[prost(bool, tag = "1")]
    pub stored: bool,
}

/// `flwr.proto.PullObjectRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullObjectRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(uint64, tag = "2")]
    pub run_id: u64,
    #[prost(string, tag = "3")]
    pub object_id: String,
}

/// `flwr.proto.PullObjectResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullObjectResponse {
    #[prost(bool, tag = "1")]
    pub object_found: bool,
    #[prost(bool, tag = "2")]
    pub object_available: bool,
    #[prost(bytes = "vec", tag = "3")]
    pub object_content: Vec<u8>,
}

/// `flwr.proto.ConfirmMessageReceivedRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfirmMessageReceivedRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(uint64, tag = "2")]
    pub run_id: u64,
    #[prost(string, tag = "3")]
    pub message_object_id: String,
}

/// `flwr.proto.ConfirmMessageReceivedResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfirmMessageReceivedResponse {}

/// `flwr.proto.RegisterNodeFleetRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RegisterNodeFleetRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub public_key: Vec<u8>,
}

/// `flwr.proto.RegisterNodeFleetResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RegisterNodeFleetResponse {
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
}

/// `flwr.proto.ActivateNodeRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActivateNodeRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub public_key: Vec<u8>,
    #[prost(double, tag = "2")]
    pub heartbeat_interval: f64,
}

/// `flwr.proto.ActivateNodeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActivateNodeResponse {
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
}

/// `flwr.proto.DeactivateNodeRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeactivateNodeRequest {
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
}

/// `flwr.proto.DeactivateNodeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeactivateNodeResponse {}

/// `flwr.proto.UnregisterNodeFleetRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UnregisterNodeFleetRequest {
    #[prost(uint64, tag = "1")]
    pub node_id: u64,
}

/// `flwr.proto.UnregisterNodeFleetResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UnregisterNodeFleetResponse {}

/// `flwr.proto.PullMessagesRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullMessagesRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(string, repeated, tag = "2")]
    pub message_ids: Vec<String>,
}

/// `flwr.proto.PullMessagesResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullMessagesResponse {
    #[prost(message, optional, tag = "1")]
    pub reconnect: Option<Reconnect>,
    #[prost(message, repeated, tag = "2")]
    pub messages_list: Vec<Message>,
    #[prost(message, repeated, tag = "3")]
    pub message_object_trees: Vec<ObjectTree>,
}

/// `flwr.proto.PushMessagesRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushMessagesRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(message, repeated, tag = "2")]
    pub messages_list: Vec<Message>,
    #[prost(message, repeated, tag = "3")]
    pub message_object_trees: Vec<ObjectTree>,
    #[prost(double, repeated, tag = "4")]
    pub clientapp_runtime_list: Vec<f64>,
}

/// `flwr.proto.PushMessagesResponse` (its `results` map left out).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushMessagesResponse {
    #[prost(message, optional, tag = "1")]
    pub reconnect: Option<Reconnect>,
    #[prost(string, repeated, tag = "3")]
    pub objects_to_push: Vec<String>,
    #[prost(string, tag = "4")]
    pub session_id: String,
}

/// `flwr.proto.Reconnect`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Reconnect {
    #[prost(uint64, tag = "1")]
    pub reconnect: u64,
}

/// `flwr.proto.GetRunRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetRunRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<Node>,
    #[prost(uint64, tag = "2")]
    pub run_id: u64,
}

/// `flwr.proto.GetRunResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetRunResponse {
    #[prost(message, optional, tag = "1")]
    pub run: Option<Run>,
}

/// `flwr.proto.Run`: only its id and status.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Run {
    #[prost(uint64, tag = "1")]
    pub run_id: u64,
    #[prost(message, optional, tag = "10")]
    pub status: Option<RunStatus>,
}

/// `flwr.proto.RunStatus`: `status` is `pending`, `starting`, `running` or `finished`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RunStatus {
    #[prost(string, tag = "1")]
    pub status: String,
    #[prost(string, tag = "2")]
    pub sub_status: String,
    #[prost(string, tag = "3")]
    pub details: String,
}
