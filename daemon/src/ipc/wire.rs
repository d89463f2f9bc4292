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

/// Why a line from the daemon is not a JSON-RPC 2.0 message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReplyError {
    #[error("a line is not a JSON-RPC message: {0}")]
    NotJson(std::sync::Arc<serde_json::Error>),
    #[error("a message without \"jsonrpc\": \"2.0\"")]
    NotVersion2,
    #[error("a response with neither or both of result and error")]
    ResultAndError,
}

/// Reads a line the daemon sent.
pub fn parse_reply(line: &[u8]) -> Result<Reply, ReplyError> {
    let message: ReplyLine =
        serde_json::from_slice(line).map_err(|e| ReplyError::NotJson(std::sync::Arc::new(e)))?;
    if message.jsonrpc.as_deref() != Some("2.0") {
        return Err(ReplyError::NotVersion2);
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
        _ => return Err(ReplyError::ResultAndError),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::error::codes;
    use proptest::prelude::*;
    use serde_json::json;

    /// Arbitrary JSON (bounded depth), for params and results.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn params_object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::btree_map(".{0,8}", json_value(), 0..4)
            .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn request_lines_round_trip(
            id in proptest::option::of(any::<u64>()),
            method in ".{0,30}",
            params in params_object(),
        ) {
            let line = request(id, &method, &params);
            prop_assert!(!line.contains('\n'));
            let parsed = parse_line(line.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(parsed, Request { id: id.map(Id::number), method, params });
        }

        #[test]
        fn reply_lines_round_trip(
            id in any::<u64>(),
            result in json_value(),
            rpc_code in any::<i64>(),
            code in "[a-z_]{1,20}",
            message in ".{0,40}",
            session in ".{1,20}",
        ) {
            let line = success(&Id::number(id), &result);
            prop_assert_eq!(
                parse_reply(line.as_bytes()).unwrap(),
                Reply::Response { id: Id::number(id), outcome: Ok(result) }
            );
            let error = RpcError { rpc_code, code, message };
            let line = failure(&Id::number(id), &error);
            prop_assert_eq!(
                parse_reply(line.as_bytes()).unwrap(),
                Reply::Response { id: Id::number(id), outcome: Err(error) }
            );
            let params = crate::ipc::api::SessionEventParams {
                session: session.clone(),
                event: crate::engine::SessionEvent { kind: crate::engine::EventKind::Closed, t_ms: 3 },
                svg: None,
            };
            let line = notification::<crate::ipc::api::SessionEventNotice>(&params);
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(
                parse_reply(line.as_bytes()).unwrap(),
                Reply::Notification {
                    method: SESSION_EVENT.to_string(),
                    params: json!({"session": session, "event": "closed", "t_ms": 3}),
                }
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_line(&bytes);
            let _ = parse_reply(&bytes);
        }
    }

    fn rejected(line: &str) -> Rejected {
        parse_line(line.as_bytes()).expect_err("should be rejected")
    }

    #[test]
    fn parses_a_request() {
        let r = parse_line(br#"{"jsonrpc":"2.0","id":7,"method":"daemon.status"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.id, Some(Id::number(7)));
        assert_eq!(r.method, "daemon.status");
        assert!(r.params.is_empty());
        let r = parse_line(br#" {"jsonrpc":"2.0","id":"a","method":"m","params":{"x":1}} "#)
            .unwrap()
            .unwrap();
        assert_eq!(r.id.unwrap().as_json(), "\"a\"");
        assert_eq!(r.params.get("x"), Some(&json!(1)));
    }

    #[test]
    fn ids_are_kept_as_written() {
        for id in [
            "18446744073709551617",
            "-1",
            "1.5",
            "1e3",
            "\"x\\u0041\"",
            "null",
        ] {
            let line = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"m"}}"#);
            let r = parse_line(line.as_bytes()).unwrap().unwrap();
            let kept = r.id.expect("an id member, null included, makes a request");
            assert_eq!(kept.as_json(), id);
            assert!(success(&kept, &json!({})).contains(&format!("\"id\":{id},")));
        }
        assert_eq!(Id::number(5).as_u64(), Some(5));
        assert_eq!(Id::null().as_u64(), None);
        assert!(Id::null().is_null());
    }

    #[test]
    fn notification_has_no_id() {
        let r =
            parse_line(br#"{"jsonrpc":"2.0","method":"session.cancel","params":{"session":"x"}}"#)
                .unwrap()
                .unwrap();
        assert_eq!(r.id, None);
    }

    #[test]
    fn blank_lines_are_ignored() {
        assert_eq!(parse_line(b"").unwrap(), None);
        assert_eq!(parse_line(b"  \t\r").unwrap(), None);
    }

    #[test]
    fn garbage_is_a_parse_error_with_null_id() {
        for line in ["hello", "{", "{\"jsonrpc\":", "[1,"] {
            let r = rejected(line);
            assert_eq!(r.id, Some(Id::null()), "{line}");
            assert_eq!(r.error.code, codes::PARSE_ERROR);
            assert_eq!(r.error.rpc_code, -32700);
        }
        let r = parse_line(b"\xff\xfe{}").unwrap_err();
        assert_eq!(r.error.code, codes::PARSE_ERROR);
        assert!(r.error.message.contains("UTF-8"));
    }

    #[test]
    fn structural_errors_are_invalid_requests() {
        for line in [
            "[]",
            "1",
            "\"x\"",
            r#"{"jsonrpc":"2.0","id":{},"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"m"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#,
            r#"{"id":1,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}"#,
        ] {
            let r = rejected(line);
            assert_eq!(r.error.code, codes::INVALID_REQUEST, "{line}");
            assert_eq!(r.error.rpc_code, -32600, "{line}");
        }
        // The id is echoed once it is readable.
        assert_eq!(rejected(r#"{"id":3,"method":"m"}"#).id, Some(Id::number(3)));
    }

    #[test]
    fn positional_params_are_invalid_params() {
        let r = rejected(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#);
        assert_eq!(r.id, Some(Id::number(1)));
        assert_eq!(r.error.code, codes::INVALID_PARAMS);
        // ... and a notification gets no answer.
        let r = rejected(r#"{"jsonrpc":"2.0","method":"m","params":[1]}"#);
        assert_eq!(r.id, None);
    }

    #[test]
    fn builds_lines() {
        assert_eq!(
            serde_json::from_str::<Value>(&success(&Id::number(1), &json!({"a": 1}))).unwrap(),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"a": 1}})
        );
        let e = RpcError::invalid_params("bad");
        let id = parse_line(br#"{"jsonrpc":"2.0","id":"x","method":"m"}"#)
            .unwrap()
            .unwrap()
            .id
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&failure(&id, &e)).unwrap(),
            json!({"jsonrpc": "2.0", "id": "x", "error": {"code": -32602, "message": "bad", "data": {"code": "invalid_params"}}})
        );
    }
}
