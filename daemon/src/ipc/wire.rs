//! JSON-RPC 2.0 framing: one JSON object per line. Turns a received line into a request (or
//! the error to answer), and builds the response and notification lines the daemon sends.

use crate::ipc::error::RpcError;
use serde_json::{json, Map, Value};

/// The notification method for session progress.
pub const SESSION_EVENT: &str = "session.event";

/// A well-formed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `None` for a JSON-RPC notification (no `id` member): it runs, but gets no answer.
    pub id: Option<Value>,
    pub method: String,
    /// Always an object (absent params read as `{}`).
    pub params: Map<String, Value>,
}

/// Why a line is not a usable request, and the id to answer with (`null` when the line has
/// none we can trust). `id` is `None` when the message was a notification: it gets no answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Option<Value>,
    pub error: RpcError,
}

/// Parses one line (without its `\n`). `Ok(None)` for a blank line, which is ignored.
pub fn parse_line(line: &[u8]) -> Result<Option<Request>, Rejected> {
    let reject = |id: Option<Value>, error| Rejected { id, error };
    let text = std::str::from_utf8(line).map_err(|e| {
        reject(
            Some(Value::Null),
            RpcError::parse(format!(
                "the request is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            )),
        )
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        reject(
            Some(Value::Null),
            RpcError::parse(format!("the request is not valid JSON: {e}")),
        )
    })?;
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(reject(
            Some(Value::Null),
            RpcError::invalid_request(
                "batch requests (JSON arrays) are not supported: send one request object per line",
            ),
        )),
        _ => {
            return Err(reject(
                Some(Value::Null),
                RpcError::invalid_request("a request must be a JSON object"),
            ))
        }
    };
    let id = match object.remove("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => Some(id),
        Some(_) => {
            return Err(reject(
                Some(Value::Null),
                RpcError::invalid_request("\"id\" must be a string, a number or null"),
            ))
        }
    };
    // From here on errors are answered with the request's id (JSON-RPC 2.0 §5).
    let answer_id = Some(id.clone().unwrap_or(Value::Null));
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(reject(
            answer_id,
            RpcError::invalid_request("the request must contain \"jsonrpc\": \"2.0\""),
        ));
    }
    let method = match object.remove("method") {
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
    let params = match object.remove("params") {
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

/// A client's request line (`id` `None`: a notification, which gets no answer).
pub fn request(id: Option<u64>, method: &str, params: &Value) -> String {
    match id {
        Some(id) => json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        None => json!({"jsonrpc": "2.0", "method": method, "params": params}),
    }
    .to_string()
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
        id: Value,
        outcome: Result<Value, RpcError>,
    },
}

/// Reads a line the daemon sent.
pub fn parse_reply(line: &[u8]) -> Result<Reply, String> {
    let message: Value =
        serde_json::from_slice(line).map_err(|e| format!("a line is not JSON: {e}"))?;
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err("a message without \"jsonrpc\": \"2.0\"".into());
    }
    if let Some(method) = message.get("method").and_then(Value::as_str) {
        return Ok(Reply::Notification {
            method: method.to_string(),
            params: message.get("params").cloned().unwrap_or(Value::Null),
        });
    }
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let outcome = match (message.get("result"), message.get("error")) {
        (Some(result), None) => Ok(result.clone()),
        (None, Some(error)) => Err(RpcError {
            rpc_code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            code: error
                .pointer("/data/code")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_string(),
        }),
        _ => return Err("a response with neither or both of result and error".into()),
    };
    Ok(Reply::Response { id, outcome })
}

/// `{"jsonrpc":"2.0","id":…,"result":…}`
pub fn success(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

/// `{"jsonrpc":"2.0","id":…,"error":{code, message, data:{code}}}`
pub fn failure(id: &Value, error: &RpcError) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()}).to_string()
}

/// `{"jsonrpc":"2.0","method":…,"params":…}`
pub fn notification(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::error::codes;
    use proptest::prelude::*;

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
            let line = request(id, &method, &Value::Object(params.clone()));
            prop_assert!(!line.contains('\n'));
            let parsed = parse_line(line.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(parsed, Request { id: id.map(Value::from), method, params });
        }

        #[test]
        fn reply_lines_round_trip(
            id in any::<u64>(),
            result in json_value(),
            rpc_code in any::<i64>(),
            code in "[a-z_]{1,20}",
            message in ".{0,40}",
            method in ".{1,20}",
            params in json_value(),
        ) {
            let line = success(&Value::from(id), result.clone());
            prop_assert_eq!(
                parse_reply(line.as_bytes()).unwrap(),
                Reply::Response { id: Value::from(id), outcome: Ok(result) }
            );
            let error = RpcError { rpc_code, code, message };
            let line = failure(&Value::from(id), &error);
            prop_assert_eq!(
                parse_reply(line.as_bytes()).unwrap(),
                Reply::Response { id: Value::from(id), outcome: Err(error) }
            );
            let line = notification(&method, params.clone());
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(
                parse_reply(line.as_bytes()).unwrap(),
                Reply::Notification { method, params }
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
        assert_eq!(r.id, Some(json!(7)));
        assert_eq!(r.method, "daemon.status");
        assert!(r.params.is_empty());
        let r = parse_line(br#"{"jsonrpc":"2.0","id":"a","method":"m","params":{"x":1}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.id, Some(json!("a")));
        assert_eq!(r.params.get("x"), Some(&json!(1)));
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
            assert_eq!(r.id, Some(Value::Null), "{line}");
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
            r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#,
            r#"{"id":1,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
        ] {
            let r = rejected(line);
            assert_eq!(r.error.code, codes::INVALID_REQUEST, "{line}");
            assert_eq!(r.error.rpc_code, -32600, "{line}");
        }
        // The id is echoed once it is readable.
        assert_eq!(rejected(r#"{"id":3,"method":"m"}"#).id, Some(json!(3)));
    }

    #[test]
    fn positional_params_are_invalid_params() {
        let r = rejected(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#);
        assert_eq!(r.id, Some(json!(1)));
        assert_eq!(r.error.code, codes::INVALID_PARAMS);
        // ... and a notification gets no answer.
        let r = rejected(r#"{"jsonrpc":"2.0","method":"m","params":[1]}"#);
        assert_eq!(r.id, None);
    }

    #[test]
    fn builds_lines() {
        assert_eq!(
            serde_json::from_str::<Value>(&success(&json!(1), json!({"a": 1}))).unwrap(),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"a": 1}})
        );
        let e = RpcError::invalid_params("bad");
        assert_eq!(
            serde_json::from_str::<Value>(&failure(&json!("x"), &e)).unwrap(),
            json!({"jsonrpc": "2.0", "id": "x", "error": {"code": -32602, "message": "bad", "data": {"code": "invalid_params"}}})
        );
        let n = notification(
            SESSION_EVENT,
            json!({"session": "s", "event": "closed", "t_ms": 3}),
        );
        assert!(!n.contains('\n'));
        assert_eq!(
            serde_json::from_str::<Value>(&n).unwrap()["method"],
            json!("session.event")
        );
    }
}
