//! Errors the daemon answers with: a JSON-RPC numeric code (the standard ones where JSON-RPC
//! defines one), a stable machine `code` string for programs to switch on, and a message for
//! the person at the keyboard.

use crate::engine::SessionError;
use serde::{Deserialize, Serialize};

/// JSON-RPC 2.0 numeric codes.
pub mod rpc {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Every daemon- or session-level failure; `data.code` says which.
    pub const SERVER_ERROR: i64 = -32000;
}

/// The stable machine codes the daemon itself defines (session failures add the engine's
/// codes, see `SessionError::code`). Documented in docs/ipc.md.
pub mod codes {
    pub const PARSE_ERROR: &str = "parse_error";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const METHOD_NOT_FOUND: &str = "method_not_found";
    pub const INVALID_PARAMS: &str = "invalid_params";
    /// `webauthn.*`: the origin or RP ID breaks the origin rules (what a browser refuses with
    /// a SecurityError), as opposed to other unusable options (`invalid_request`).
    pub const ORIGIN_REFUSED: &str = "origin_refused";
    pub const LINE_TOO_LONG: &str = "line_too_long";
    pub const TOO_MANY_CLIENTS: &str = "too_many_clients";
    pub const TOO_MANY_SESSIONS: &str = "too_many_sessions";
    pub const TOO_MANY_CLIENT_SESSIONS: &str = "too_many_client_sessions";
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
    pub const SESSION_NOT_FOUND: &str = "session_not_found";
    pub const UNKNOWN_DEVICE: &str = "unknown_device";
    pub const DEVICE_NOT_FOUND: &str = "device_not_found";
    pub const DEVICE_STORE_ERROR: &str = "device_store_error";
    pub const HISTORY_NOT_FOUND: &str = "history_not_found";
    pub const HISTORY_ERROR: &str = "history_error";
    pub const HYBRID_DISABLED: &str = "hybrid_disabled";
    pub const SHUTTING_DOWN: &str = "shutting_down";
    pub const PERMISSION_DENIED: &str = "permission_denied";
    pub const INTERNAL_ERROR: &str = "internal_error";
}

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct RpcError {
    /// JSON-RPC numeric code.
    pub rpc_code: i64,
    /// Stable machine code (`error.data.code` on the wire).
    pub code: String,
    /// For people.
    pub message: String,
}

impl RpcError {
    pub fn new(rpc_code: i64, code: &str, message: impl Into<String>) -> Self {
        Self {
            rpc_code,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(rpc::PARSE_ERROR, codes::PARSE_ERROR, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(rpc::INVALID_REQUEST, codes::INVALID_REQUEST, message)
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            rpc::METHOD_NOT_FOUND,
            codes::METHOD_NOT_FOUND,
            format!(
                "there is no method {method:?}; the methods are {}",
                crate::ipc::api::NAMES.join(", ")
            ),
        )
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(rpc::INVALID_PARAMS, codes::INVALID_PARAMS, message)
    }

    pub fn line_too_long(max: usize) -> Self {
        Self::new(
            rpc::INVALID_REQUEST,
            codes::LINE_TOO_LONG,
            format!(
                "a request line is longer than the limit of {max} bytes; the connection is closed"
            ),
        )
    }

    pub fn server(code: &str, message: impl Into<String>) -> Self {
        Self::new(rpc::SERVER_ERROR, code, message)
    }

    pub fn hybrid_disabled() -> Self {
        Self::server(
            codes::HYBRID_DISABLED,
            "hybrid (signing in with a phone) is turned off on this computer by the \
             hybrid_enabled = false setting in cabled's configuration; ask whoever manages \
             this computer, or use another authenticator",
        )
    }

    pub fn shutting_down() -> Self {
        Self::server(
            codes::SHUTTING_DOWN,
            "cabled is shutting down; the session was cancelled and the phone told to stop",
        )
    }

    pub fn session_not_found(session: &str) -> Self {
        Self::server(
            codes::SESSION_NOT_FOUND,
            format!(
                "there is no open session {session:?} on this connection (it finished, was \
                 cancelled, or belongs to another connection)"
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(rpc::INTERNAL_ERROR, codes::INTERNAL_ERROR, message)
    }

    /// The `error` member of a response.
    pub fn to_object(&self) -> ErrorObject {
        ErrorObject {
            code: self.rpc_code,
            message: self.message.clone(),
            data: ErrorData {
                code: self.code.clone(),
            },
        }
    }
}

/// The `error` member of a response, as it is on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    pub data: ErrorData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// The stable machine code.
    pub code: String,
}

impl From<ErrorObject> for RpcError {
    fn from(e: ErrorObject) -> Self {
        Self {
            rpc_code: e.code,
            code: e.data.code,
            message: e.message,
        }
    }
}

impl From<&SessionError> for RpcError {
    fn from(e: &SessionError) -> Self {
        let rpc_code = match e {
            // The WebAuthn options were unusable: the caller's params are at fault.
            SessionError::InvalidRequest(_) => rpc::INVALID_PARAMS,
            _ => rpc::SERVER_ERROR,
        };
        Self::new(rpc_code, e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_form_carries_numeric_and_stable_codes() {
        let e = RpcError::invalid_params("origin is missing");
        assert_eq!(
            serde_json::to_value(e.to_object()).unwrap(),
            json!({"code": -32602, "message": "origin is missing", "data": {"code": "invalid_params"}})
        );
    }

    #[test]
    fn session_errors_keep_the_engine_code() {
        let e = RpcError::from(&SessionError::Cancelled);
        assert_eq!(e.rpc_code, rpc::SERVER_ERROR);
        assert_eq!(e.code, "cancelled");
        assert_eq!(e.message, "the session was cancelled");
        let e = RpcError::from(&SessionError::InvalidRequest(
            crate::engine::RequestProblem::UnknownDevice("ab12".into()),
        ));
        assert_eq!(e.rpc_code, rpc::INVALID_PARAMS);
        assert_eq!(e.code, "invalid_request");
    }

    #[test]
    fn method_not_found_lists_the_methods() {
        let e = RpcError::method_not_found("nope");
        assert_eq!(e.rpc_code, -32601);
        assert!(e.message.contains("webauthn.create"), "{}", e.message);
    }
}
