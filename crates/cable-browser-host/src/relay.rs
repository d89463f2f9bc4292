//! The relay between the extension and cabled, sans-IO: a native message in becomes one
//! JSON-RPC line for cabled (or an answer the host gives itself), and each line cabled writes
//! becomes one native message back.
//!
//! The host is the extension's only way into cabled, so it lets through only the methods a
//! web page's ceremony needs, rebuilds every request from its known members (the extension
//! cannot smuggle other JSON-RPC members), and remembers which ids await an answer so that a
//! daemon that goes away mid-ceremony still answers each of them.

use crate::framing::{encode, MAX_TO_BROWSER};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use thiserror::Error;

/// The methods the extension may call: the two ceremonies, cancelling one, and what the
/// prompt window shows (the linked phones, whether cabled runs). Pairing, forgetting phones,
/// raw CTAP and history stay with `cablectl`.
pub const ALLOWED_METHODS: &[&str] = &[
    "webauthn.create",
    "webauthn.get",
    "session.cancel",
    "devices.list",
    "daemon.status",
];

/// cabled's default `max_line_bytes`: a longer request would make cabled close the connection
/// (and end every ceremony on it), so the host refuses it itself.
pub const DEFAULT_MAX_REQUEST_LINE: usize = 1024 * 1024;

/// The longest line accepted from cabled before it is taken as broken. Lines over the
/// browsers' 1 MiB are still read whole, to answer their id with `message_too_large`.
pub const MAX_DAEMON_LINE: usize = 64 * 1024 * 1024;

/// JSON-RPC numeric codes the host answers with.
pub mod rpc {
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const SERVER_ERROR: i64 = -32000;
}

/// The stable `error.data.code` strings the host itself produces (docs/browser-host.md).
pub mod codes {
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const REQUEST_TOO_LARGE: &str = "request_too_large";
    pub const MESSAGE_TOO_LARGE: &str = "message_too_large";
    pub const DAEMON_UNAVAILABLE: &str = "daemon_unavailable";
    pub const DAEMON_GONE: &str = "daemon_gone";
}

/// What the person reads when cabled is not running.
pub const DAEMON_UNAVAILABLE_MESSAGE: &str = "cabled is not running: start it with \
     `systemctl --user start cabled.socket` (or run `cabled`)";

/// A native message that ends the host: the stream from the browser can no longer be trusted
/// to be in step.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FatalMessage {
    #[error("a message from the browser is not UTF-8 (byte {at} is not valid)")]
    NotUtf8 { at: usize },
    #[error("a message from the browser is not JSON: {0}")]
    NotJson(String),
}

/// Where a message from the browser goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A request line for cabled (ending in `\n`); its id now awaits an answer.
    ToDaemon { id: Value, line: Vec<u8> },
    /// A native frame the host answers itself, cabled untouched.
    ToBrowser(Vec<u8>),
}

/// The relay's state: the ids sent to cabled and not yet answered, and the partial line
/// cabled is writing.
#[derive(Debug)]
pub struct Relay {
    pending: HashSet<String>,
    partial: Vec<u8>,
    max_request_line: usize,
}

impl Default for Relay {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_REQUEST_LINE)
    }
}

/// The members of a cabled line the relay looks at; the rest is skipped without being built.
#[derive(Deserialize)]
struct DaemonLine {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    result: Present,
    #[serde(default)]
    error: Present,
}

/// Whether a member is there at all (`"result": null` is still an answer).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d)?;
        Ok(Self(true))
    }
}

impl Relay {
    /// A relay refusing request lines longer than `max_request_line` bytes.
    pub fn new(max_request_line: usize) -> Self {
        Self {
            pending: HashSet::new(),
            partial: Vec::new(),
            max_request_line,
        }
    }

    /// How many requests await cabled's answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// One message from the browser (a decoded frame's body).
    pub fn from_browser(&mut self, message: &[u8]) -> Result<Routed, FatalMessage> {
        let text = std::str::from_utf8(message).map_err(|e| FatalMessage::NotUtf8 {
            at: e.valid_up_to(),
        })?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| FatalMessage::NotJson(e.to_string()))?;
        let Value::Object(mut request) = value else {
            return Ok(self.refuse(
                Value::Null,
                "a message to the host must be a JSON object {\"id\", \"method\", \"params\"}",
            ));
        };
        let id = match request.remove("id") {
            Some(id @ (Value::Number(_) | Value::String(_))) => id,
            Some(_) => {
                return Ok(self.refuse(Value::Null, "\"id\" must be a number or a string"));
            }
            None => return Ok(self.refuse(Value::Null, "the message has no \"id\"")),
        };
        let method = match request.remove("method") {
            Some(Value::String(method)) => method,
            _ => return Ok(self.refuse(id, "\"method\" must be a string")),
        };
        if !ALLOWED_METHODS.contains(&method.as_str()) {
            // A hostile name can be megabytes: the answer names only its start.
            let shown: String = method.chars().take(64).collect();
            let message = format!(
                "the browser extension may not call {shown:?}; it may call {}",
                ALLOWED_METHODS.join(", ")
            );
            return Ok(error_frame(
                &id,
                rpc::METHOD_NOT_FOUND,
                codes::METHOD_NOT_ALLOWED,
                &message,
            ));
        }
        let key = id.to_string();
        if self.pending.contains(&key) {
            return Ok(self.refuse(
                id,
                "a request with this id is still in progress; use a new id",
            ));
        }
        let mut out = Map::new();
        out.insert("jsonrpc".into(), Value::from("2.0"));
        out.insert("id".into(), id.clone());
        out.insert("method".into(), Value::String(method));
        if let Some(params) = request.remove("params") {
            out.insert("params".into(), params);
        }
        let mut line = serde_json::to_vec(&out).unwrap_or_default();
        if line.len() + 1 > self.max_request_line {
            let message = format!(
                "the request is {} bytes, more than the {} bytes cabled reads in one request",
                line.len() + 1,
                self.max_request_line
            );
            return Ok(error_frame(
                &id,
                rpc::INVALID_REQUEST,
                codes::REQUEST_TOO_LARGE,
                &message,
            ));
        }
        line.push(b'\n');
        self.pending.insert(key);
        Ok(Routed::ToDaemon { id, line })
    }

    /// cabled could not be reached for the request `id` (as [`Routed::ToDaemon`] gave it);
    /// `detail` adds why when it is not the usual "not running".
    pub fn unavailable(&mut self, id: &Value, detail: Option<&str>) -> Vec<u8> {
        self.pending.remove(&id.to_string());
        let message = match detail {
            Some(detail) => format!("{DAEMON_UNAVAILABLE_MESSAGE} ({detail})"),
            None => DAEMON_UNAVAILABLE_MESSAGE.to_string(),
        };
        frame_or_bare(&id_error(
            id,
            rpc::SERVER_ERROR,
            codes::DAEMON_UNAVAILABLE,
            &message,
        ))
    }

    /// Bytes read from cabled's socket: a native frame for each whole line among them. A line
    /// longer than [`MAX_DAEMON_LINE`] is an error: the connection must be dropped.
    pub fn from_daemon(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DaemonLineTooLong> {
        let mut frames = Vec::new();
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(newline);
            rest = &tail[1..];
            if self.partial.is_empty() {
                frames.extend(self.daemon_line(head));
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                frames.extend(self.daemon_line(&line));
            }
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_DAEMON_LINE {
            self.partial = Vec::new();
            return Err(DaemonLineTooLong);
        }
        Ok(frames)
    }

    /// cabled closed the connection (or it broke): every request still waiting gets
    /// `daemon_gone`; the next request connects afresh.
    pub fn daemon_gone(&mut self) -> Vec<Vec<u8>> {
        self.partial = Vec::new();
        let mut ids: Vec<String> = self.pending.drain().collect();
        ids.sort();
        ids.iter()
            .map(|key| {
                let id = serde_json::from_str(key).unwrap_or(Value::Null);
                frame_or_bare(&id_error(
                    &id,
                    rpc::SERVER_ERROR,
                    codes::DAEMON_GONE,
                    "cabled closed the connection before answering (it stopped or restarted); \
                     the ceremony ended: try again",
                ))
            })
            .collect()
    }

    /// One whole line from cabled, without its `\n`: passed through as it is, unless it is
    /// too large for the browser (then its id gets `message_too_large`, and a notification is
    /// dropped) or it is not JSON (a broken daemon: dropped).
    fn daemon_line(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let head: DaemonLine = serde_json::from_slice(line).ok()?;
        let id = head.id.filter(|id| !id.is_null());
        let answer = head.result.0 || head.error.0;
        if let (Some(id), true) = (&id, answer) {
            self.pending.remove(&id.to_string());
        }
        match encode(line) {
            Ok(frame) => Some(frame),
            Err(_) => {
                let id = id.filter(|_| answer)?;
                let message = format!(
                    "cabled's answer is {} bytes, more than the {MAX_TO_BROWSER} bytes a \
                     browser accepts from a native host",
                    line.len()
                );
                Some(frame_or_bare(&id_error(
                    &id,
                    rpc::SERVER_ERROR,
                    codes::MESSAGE_TOO_LARGE,
                    &message,
                )))
            }
        }
    }

    fn refuse(&self, id: Value, message: &str) -> Routed {
        error_frame(&id, rpc::INVALID_REQUEST, codes::INVALID_REQUEST, message)
    }
}

/// cabled wrote a line longer than [`MAX_DAEMON_LINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("cabled wrote a line longer than {MAX_DAEMON_LINE} bytes; the connection is dropped")]
pub struct DaemonLineTooLong;

fn id_error(id: &Value, rpc_code: i64, code: &str, message: &str) -> Value {
    json!({"id": id, "error": {"code": rpc_code, "message": message, "data": {"code": code}}})
}

fn error_frame(id: &Value, rpc_code: i64, code: &str, message: &str) -> Routed {
    Routed::ToBrowser(frame_or_bare(&id_error(id, rpc_code, code, message)))
}

/// The host's own answers are small, except for an id the extension made huge: then the id
/// cannot be echoed, and `null` stands in for it.
fn frame_or_bare(answer: &Value) -> Vec<u8> {
    let bytes = serde_json::to_vec(answer).unwrap_or_default();
    encode(&bytes).unwrap_or_else(|_| {
        let mut answer = answer.clone();
        answer["id"] = Value::Null;
        let bytes = serde_json::to_vec(&answer).unwrap_or_default();
        encode(&bytes).unwrap_or_default()
    })
}
