//! The Fleet API client: one method per call, each a signed `POST
//! http(s)://HOST:PORT/v1/fleet/<call>` with a protobuf body, bounded by a timeout, its
//! reply read up to a size limit and decoded.
//!
//! A non-200 reply is an [`Error::Api`] with Flower's JSON `{code, detail}` when the
//! SuperLink sent one; a connection that fails is an [`Error::Transport`]. Calls are not
//! retried here: [`crate::node`] decides what to retry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Identity;
use crate::objects::Limits;
use crate::proto;
use crate::Error;

/// How to reach the SuperLink.
#[derive(Clone, Debug)]
pub enum Tls {
    /// Plain HTTP (the SuperLink runs with `--insecure`).
    Insecure,
    /// HTTPS, trusting only the certificates of this PEM text (the SuperLink's CA).
    RootCertificates(Vec<u8>),
}

/// A connection to a SuperLink's Fleet API, shared by the node loop and its heartbeat.
pub struct Fleet {
    agent: ureq::Agent,
    base: String,
    identity: Identity,
    max_reply: u64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").field("base", &self.base).finish()
    }
}

/// Check a `HOST:PORT` address (no scheme, no path).
pub fn check_address(address: &str) -> Result<(), Error> {
    let bad = |why: &str| {
        Error::Config(format!(
            "--superlink `{address}`: {why}; expected HOST:PORT"
        ))
    };
    if address.contains("://") || address.contains('/') {
        return Err(bad("give the address without a scheme or path"));
    }
    let (host, port) = address.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(bad("no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad("the port is not a number from 1 to 65535")),
    }
}

impl Fleet {
    /// A client of the SuperLink at `address` (`HOST:PORT`); every request times out
    /// after `timeout`, and no reply may exceed what `limits` allow for one object.
    pub fn new(
        address: &str,
        tls: &Tls,
        identity: Identity,
        timeout: Duration,
        limits: &Limits,
    ) -> Result<Fleet, Error> {
        check_address(address)?;
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .http_status_as_error(false)
            .max_redirects(0)
            // Flower's SuperLink (uvicorn) closes a connection idle for 5 s; one reused
            // after that is reset mid-request. Idle connections are dropped before.
            .max_idle_age(Duration::from_secs(2))
            .user_agent("tensorc-fed-node");
        let scheme = match tls {
            Tls::Insecure => "http",
            Tls::RootCertificates(pem) => {
                let mut certs = Vec::new();
                for item in ureq::tls::parse_pem(pem) {
                    match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                        Ok(_) => {}
                        Err(e) => return Err(Error::Config(format!("--root-certificates: {e}"))),
                    }
                }
                if certs.is_empty() {
                    return Err(Error::Config(
                        "--root-certificates: no certificate in the PEM file".to_string(),
                    ));
                }
                let tls_config = ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
                    .build();
                config = config.tls_config(tls_config);
                "https"
            }
        };
        let agent: ureq::Agent = config.build().into();
        Ok(Fleet {
            agent,
            base: format!("{scheme}://{address}/v1/fleet"),
            identity,
            max_reply: limits.object_bytes as u64 + (1 << 20),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
        })
    }

    /// The node's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Request and reply body bytes so far.
    pub fn traffic(&self) -> (u64, u64) {
        (
            self.bytes_up.load(Ordering::Relaxed),
            self.bytes_down.load(Ordering::Relaxed),
        )
    }

    fn call<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        name: &str,
        request: &Req,
    ) -> Result<Resp, Error> {
        let body = request.encode_to_vec();
        let mut builder = self
            .agent
            .post(format!("{}/{name}", self.base))
            .header("content-type", "application/protobuf");
        for (k, v) in self.identity.headers() {
            builder = builder.header(k, v);
        }
        let transport = |e: ureq::Error| Error::Transport {
            call: name.to_string(),
            detail: e.to_string(),
        };
        let mut response = builder.send(&body[..]).map_err(transport)?;
        self.bytes_up
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_reply)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(limit) => {
                    Error::protocol(format!("`{name}`: the reply is larger than {limit} bytes"))
                }
                e => transport(e),
            })?;
        self.bytes_down
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if status != 200 {
            return Err(api_error(name, status, &bytes));
        }
        Resp::decode(&bytes[..]).map_err(|e| {
            Error::protocol(format!(
                "`{name}`: the reply is not a valid protobuf: {}",
                shorten(&e.to_string())
            ))
        })
    }

    fn node(node_id: u64) -> Option<proto::Node> {
        Some(proto::Node { node_id })
    }

    pub fn register_node(&self) -> Result<(), Error> {
        let request = proto::RegisterNodeFleetRequest {
            public_key: self.identity.public_pem.clone(),
        };
        self.call::<_, proto::RegisterNodeFleetResponse>("register-node", &request)
            .map(|_| ())
    }

    /// Activate the node; its id.
    pub fn activate_node(&self, heartbeat_interval: f64) -> Result<u64, Error> {
        let request = proto::ActivateNodeRequest {
            public_key: self.identity.public_pem.clone(),
            heartbeat_interval,
        };
        let response: proto::ActivateNodeResponse = self.call("activate-node", &request)?;
        if response.node_id == 0 {
            return Err(Error::protocol("`activate-node` gave node id 0"));
        }
        Ok(response.node_id)
    }

    pub fn deactivate_node(&self, node_id: u64) -> Result<(), Error> {
        self.call::<_, proto::DeactivateNodeResponse>(
            "deactivate-node",
            &proto::DeactivateNodeRequest { node_id },
        )
        .map(|_| ())
    }

    pub fn unregister_node(&self, node_id: u64) -> Result<(), Error> {
        let request = proto::UnregisterNodeFleetRequest { node_id };
        self.call::<_, proto::UnregisterNodeFleetResponse>("unregister-node", &request)
            .map(|_| ())
    }

    /// Whether the SuperLink accepted the heartbeat.
    pub fn send_heartbeat(&self, node_id: u64, heartbeat_interval: f64) -> Result<bool, Error> {
        let request = proto::SendNodeHeartbeatRequest {
            node: Self::node(node_id),
            heartbeat_interval,
        };
        let response: proto::SendNodeHeartbeatResponse =
            self.call("send-node-heartbeat", &request)?;
        Ok(response.success)
    }

    pub fn pull_messages(&self, node_id: u64) -> Result<proto::PullMessagesResponse, Error> {
        self.call(
            "pull-messages",
            &proto::PullMessagesRequest {
                node: Self::node(node_id),
                message_ids: Vec::new(),
            },
        )
    }

    pub fn pull_object(
        &self,
        node_id: u64,
        run_id: u64,
        object_id: &str,
    ) -> Result<proto::PullObjectResponse, Error> {
        let request = proto::PullObjectRequest {
            node: Self::node(node_id),
            run_id,
            object_id: object_id.to_string(),
        };
        self.call("pull-object", &request)
    }

    pub fn confirm_message_received(
        &self,
        node_id: u64,
        run_id: u64,
        message_id: &str,
    ) -> Result<(), Error> {
        let request = proto::ConfirmMessageReceivedRequest {
            node: Self::node(node_id),
            run_id,
            message_object_id: message_id.to_string(),
        };
        self.call::<_, proto::ConfirmMessageReceivedResponse>("confirm-message-received", &request)
            .map(|_| ())
    }

    pub fn push_messages(
        &self,
        request: &proto::PushMessagesRequest,
    ) -> Result<proto::PushMessagesResponse, Error> {
        self.call("push-messages", request)
    }

    /// Whether the SuperLink stored the object.
    pub fn push_object(
        &self,
        node_id: u64,
        run_id: u64,
        object_id: &str,
        content: Vec<u8>,
        session_id: &str,
    ) -> Result<bool, Error> {
        let request = proto::PushObjectRequest {
            node: Self::node(node_id),
            run_id,
            object_id: object_id.to_string(),
            object_content: content,
            session_id: session_id.to_string(),
        };
        let response: proto::PushObjectResponse = self.call("push-object", &request)?;
        Ok(response.stored)
    }

    /// The run's status (`pending`, `starting`, `running`, `finished`).
    pub fn get_run_status(&self, node_id: u64, run_id: u64) -> Result<String, Error> {
        let response: proto::GetRunResponse = self.call(
            "get-run",
            &proto::GetRunRequest {
                node: Self::node(node_id),
                run_id,
            },
        )?;
        Ok(response
            .run
            .and_then(|r| r.status)
            .map(|s| s.status)
            .unwrap_or_default())
    }
}

/// `text`, or its first and last 100 characters when it is longer than 240 (prost
/// names every level of a message nested too deep).
fn shorten(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 240 {
        return text.to_string();
    }
    let head: String = chars[..100].iter().collect();
    let tail: String = chars[chars.len() - 100..].iter().collect();
    format!("{head} … {tail}")
}

/// The error of a non-200 reply: Flower's `{code, detail}` if the body is that JSON.
fn api_error(call: &str, status: u16, body: &[u8]) -> Error {
    let parsed: Option<(Option<i64>, String)> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let detail = v.get("detail")?.as_str()?.to_string();
            Some((v.get("code").and_then(|c| c.as_i64()), detail))
        });
    let (code, detail) =
        parsed.unwrap_or_else(|| (None, String::from_utf8_lossy(body).into_owned()));
    let mut detail: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    if detail.is_empty() {
        detail = "(no detail)".to_string();
    }
    Error::Api {
        call: call.to_string(),
        status,
        code,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "127.0.0.1:9092",
            "localhost:1",
            "[::1]:9092",
            "superlink.example.org:443",
        ] {
            check_address(good).unwrap();
        }
        for bad in [
            "127.0.0.1",
            "http://x:1",
            ":80",
            "x:0",
            "x:65536",
            "x:port",
            "x:1/v1",
        ] {
            assert!(matches!(check_address(bad), Err(Error::Config(_))), "{bad}");
        }
    }

    #[test]
    fn long_errors_are_shortened() {
        assert_eq!(shorten("short"), "short");
        let long = format!("{}{}", "a".repeat(200), "b".repeat(200));
        let s = shorten(&long);
        assert_eq!(s.chars().count(), 203);
        assert!(s.starts_with("aaa") && s.ends_with("bbb") && s.contains(" … "));
    }

    #[test]
    fn api_errors_carry_flowers_code() {
        let e = api_error(
            "get-run",
            400,
            br#"{"code": 2007, "detail": "Run is finished."}"#,
        );
        assert_eq!(
            e,
            Error::Api {
                call: "get-run".into(),
                status: 400,
                code: Some(2007),
                detail: "Run is finished.".into()
            }
        );
        let e = api_error("x", 502, b"\x00\xffgarbage");
        assert!(matches!(
            e,
            Error::Api {
                code: None,
                status: 502,
                ..
            }
        ));
        assert!(e.is_transient());
    }
}
