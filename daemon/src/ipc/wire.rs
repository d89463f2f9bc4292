//! JSON-RPC 2.0 framing: one JSON object per line. Turns a received line into a request (or
//! the error to answer), and builds the typed response and notification lines.
//!
//! Ids are kept as the exact text the client sent (`Id`): a number above 2^53 or 2^64 comes
//! back digit for digit, never rounded through a float.

use crate::ipc::api::NotificationMethod;
use crate::ipc::error::{ErrorObject, RpcError};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;

/// The notification method for session progress.
pub const SESSION_EVENT: &str = crate::ipc::api::SessionEventNotice::NAME;

/// A request id exactly as written: a string, a number of any size, or `null`.
#[derive(Clone)]
pub struct Id(Box<RawValue>);

impl Id {
    /// `null`, for errors about a line whose id cannot be trusted.
    pub fn null() -> Self {
        Self(raw("null"))
    }

    pub fn number(n: u64) -> Self {
        Self(raw(&n.to_string()))
    }

    /// The id as the client wrote it (JSON text).
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    pub fn is_null(&self) -> bool {
        self.as_json() == "null"
    }

    /// The id, if it is a non-negative integer that fits in a u64.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_json().parse().ok()
    }

    fn kind_is_valid(&self) -> bool {
        let text = self.as_json();
        text == "null"
            || text.starts_with('"')
            || text.starts_with('-')
            || text.starts_with(|c: char| c.is_ascii_digit())
    }
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string()).unwrap_or_else(|_| raw("null"))
}

impl PartialEq for Id {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.as_json())
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// `Some` whenever the member is there, `null` included: `"id": null` is a request (JSON-RPC
/// 2.0 §4: a notification is a request *without* an id member).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Id>, D::Error> {
    Box::<RawValue>::deserialize(d).map(|raw| Some(Id(raw)))
}

/// A well-formed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `None` for a JSON-RPC notification (no `id` member): it runs, but gets no answer.
    pub id: Option<Id>,
    pub method: String,
    /// Always an object (absent params read as `{}`).
    pub params: Map<String, Value>,
}

/// Why a line is not a usable request, and the id to answer with (`null` when the line has
/// none we can trust). `id` is `None` when the message was a notification: it gets no answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Option<Id>,
    pub error: RpcError,
}

/// The members of a request object we look at (others are ignored).
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    jsonrpc: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Id>,
    #[serde(default)]
    method: Option<Value>,
    #[serde(default)]
    params: Option<Value>,
}

/// Parses one line (without its `\n`). `Ok(None)` for a blank line, which is ignored.
pub fn parse_line(line: &[u8]) -> Result<Option<Request>, Rejected> {
    let reject = |id: Option<Id>, error| Rejected { id, error };
    let null = || Some(Id::null());
    let text = std::str::from_utf8(line).map_err(|e| {
        reject(
            null(),
            RpcError::parse(format!(
                "the request is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            )),
        )
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: &RawValue = serde_json::from_str(text).map_err(|e| {
        reject(
            null(),
            RpcError::parse(format!("the request is not valid JSON: {e}")),
        )
    })?;
    let value = value.get();
    if value.starts_with('[') {
        return Err(reject(
            null(),
            RpcError::invalid_request(
                "batch requests (JSON arrays) are not supported: send one request object per line",
            ),
        ));
    }
    if !value.starts_with('{') {
        return Err(reject(
            null(),
            RpcError::invalid_request("a request must be a JSON object"),
        ));
    }
    let envelope: Envelope = serde_json::from_str(value).map_err(|e| {
        reject(
            null(),
            RpcError::invalid_request(format!("the request object cannot be read: {e}")),
        )
    })?;
    let id = envelope.id;
    if id.as_ref().is_some_and(|id| !id.kind_is_valid()) {
        return Err(reject(
            null(),
            RpcError::invalid_request("\"id\" must be a string, a number or null"),
        ));
    }
    // From here on errors are answered with the request's id (JSON-RPC 2.0 §5).
    let answer_id = Some(id.clone().unwrap_or_else(Id::null));
    if envelope.jsonrpc.as_ref().and_then(Value::as_str) != Some("2.0") {
        return Err(reject(
            answer_id,
            RpcError::invalid_request("the request must contain \"jsonrpc\": \"2.0\""),
        ));
    }
    let method = match envelope.method {
        Some(Value::String(method)) => method,
        Some(_) => {
            return Err(reject(
                answer_id,
                RpcError::invalid_request("\"method\" must be a string"),
            ))
        }
        None => {
            return Err(reject(
                answer_id,
                RpcError::invalid_request("the request has no \"method\""),
            ))
        }
    };
    let params = match envelope.params {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => {
            // A structurally valid request whose params we cannot use: answer like any other
            // bad params, unless it was a notification.
            return Err(reject(
                id,
                RpcError::invalid_params("\"params\" must be an object with named members"),
            ));
        }
    };
    Ok(Some(Request { id, method, params }))
}

/// A request line, as a client writes it.
#[derive(Serialize)]
struct RequestLine<'a, P> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    params: &'a P,
}

/// A client's request line (`id` `None`: a notification, which gets no answer).
pub fn request<P: Serialize>(id: Option<u64>, method: &str, params: &P) -> String {
    line(&RequestLine {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

/// What a client receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Notification {
        method: String,
        params: Value,
    },
    Response {
        /// `null` for errors about a line the daemon could not read (fatal for the caller).
        id: Id,
        outcome: Result<Value, RpcError>,
    },
}

/// Any message the daemon sends, as read by a client.
#[derive(Deserialize)]
struct ReplyLine {
    jsonrpc: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Id>,
    #[serde(default, deserialize_with = "some_value")]
    result: Option<Value>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// `"result": null` is a result, not a missing one.
fn some_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Reads a line the daemon sent.
pub fn parse_reply(line: &[u8]) -> Result<Reply, String> {
    let message: ReplyLine = serde_json::from_slice(line)
        .map_err(|e| format!("a line is not a JSON-RPC message: {e}"))?;
    if message.jsonrpc.as_deref() != Some("2.0") {
        return Err("a message without \"jsonrpc\": \"2.0\"".into());
    }
    if let Some(method) = message.method {
        return Ok(Reply::Notification {
            method,
            params: message.params.unwrap_or(Value::Null),
        });
    }
    let id = message.id.unwrap_or_else(Id::null);
    let outcome = match (message.result, message.error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(RpcError::from(error)),
        _ => return Err("a response with neither or both of result and error".into()),
    };
    Ok(Reply::Response { id, outcome })
}

#[derive(Serialize)]
struct Success<'a, R> {
    jsonrpc: &'static str,
    id: &'a Id,
    result: &'a R,
}

#[derive(Serialize)]
struct Failure<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    error: ErrorObject,
}

#[derive(Serialize)]
struct NotificationLine<'a, P> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a P,
}

/// `{"jsonrpc":"2.0","id":…,"result":…}`
pub fn success<R: Serialize>(id: &Id, result: &R) -> String {
    line(&Success {
        jsonrpc: "2.0",
        id,
        result,
    })
}

/// `{"jsonrpc":"2.0","id":…,"error":{code, message, data:{code}}}`
pub fn failure(id: &Id, error: &RpcError) -> String {
    line(&Failure {
        jsonrpc: "2.0",
        id,
        error: error.to_object(),
    })
}

/// `{"jsonrpc":"2.0","method":…,"params":…}`
pub fn notification<N: NotificationMethod>(params: &N::Params) -> String {
    line(&NotificationLine {
        jsonrpc: "2.0",
        method: N::NAME,
        params,
    })
}

/// One line of JSON. Serialising our own types cannot fail (string keys, no foreign maps);
/// if it ever did, the peer gets an internal error rather than half a line.
fn line<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| {
        format!(
            r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":-32603,"message":"cabled could not encode its answer: {}","data":{{"code":"internal_error"}}}}}}"#,
            e.to_string().replace(['"', '\\'], "'")
        )
    })
}
