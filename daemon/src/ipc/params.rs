//! Reads each method's named params, with an `invalid_params` error that names the member
//! and says what was expected.

use crate::ipc::error::RpcError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cable_qr::RequestType;
use serde_json::{Map, Value};

/// Takes members out of a params object; `finish` refuses any member left over, so a typo
/// (`orgin`) is reported instead of silently ignored.
pub struct Params {
    method: &'static str,
    members: Map<String, Value>,
}

impl Params {
    pub fn new(method: &'static str, members: Map<String, Value>) -> Self {
        Self { method, members }
    }

    fn error(&self, message: String) -> RpcError {
        RpcError::invalid_params(format!("{}: {message}", self.method))
    }

    pub fn string(&mut self, name: &str) -> Result<String, RpcError> {
        match self.optional_string(name)? {
            Some(s) => Ok(s),
            None => Err(self.error(format!("the string member {name:?} is missing"))),
        }
    }

    pub fn optional_bool(&mut self, name: &str) -> Result<bool, RpcError> {
        match self.members.remove(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(self.error(format!(
                "{name:?} must be true or false, not {}",
                kind(&other)
            ))),
        }
    }

    pub fn optional_string(&mut self, name: &str) -> Result<Option<String>, RpcError> {
        match self.members.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => {
                Err(self.error(format!("{name:?} must not be empty")))
            }
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(self.error(format!("{name:?} must be a string, not {}", kind(&other))))
            }
        }
    }

    pub fn object(&mut self, name: &str) -> Result<Value, RpcError> {
        match self.members.remove(name) {
            Some(v @ Value::Object(_)) => Ok(v),
            None | Some(Value::Null) => {
                Err(self.error(format!("the object member {name:?} is missing")))
            }
            Some(other) => {
                Err(self.error(format!("{name:?} must be an object, not {}", kind(&other))))
            }
        }
    }

    /// A base64url string (padding optional) decoded to bytes.
    pub fn base64url(&mut self, name: &str) -> Result<Vec<u8>, RpcError> {
        let text = self.string(name)?;
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|e| self.error(format!("{name:?} is not base64url: {e}")))
    }

    pub fn request_type(&mut self, name: &str) -> Result<RequestType, RpcError> {
        let text = self.string(name)?;
        match text.as_str() {
            "mc" => Ok(RequestType::MakeCredential),
            "ga" => Ok(RequestType::GetAssertion),
            "dcp" => Ok(RequestType::DcPresentation),
            "dci" => Ok(RequestType::DcIssuance),
            _ => Err(self.error(format!(
                "{name:?} is {text:?}; use \"mc\" (makeCredential), \"ga\" (getAssertion), \
                 \"dcp\" or \"dci\""
            ))),
        }
    }

    /// Refuses members that were not taken.
    pub fn finish(self) -> Result<(), RpcError> {
        let mut left: Vec<&String> = self.members.keys().collect();
        if left.is_empty() {
            return Ok(());
        }
        left.sort();
        let names: Vec<String> = left.iter().map(|n| format!("{n:?}")).collect();
        Err(self.error(format!("unknown member {}", names.join(", "))))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        match v {
            Value::Object(m) => Params::new("test.method", m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn takes_members_and_refuses_leftovers() {
        let mut p = params(json!({"origin": "https://a.example", "options": {}, "orgin": 1}));
        assert_eq!(p.string("origin").unwrap(), "https://a.example");
        assert_eq!(p.object("options").unwrap(), json!({}));
        let e = p.finish().unwrap_err();
        assert_eq!(e.code, "invalid_params");
        assert_eq!(e.message, "test.method: unknown member \"orgin\"");
    }

    #[test]
    fn wrong_types_are_named() {
        let mut p = params(json!({"origin": 5, "options": "x", "s": ""}));
        assert_eq!(
            p.string("origin").unwrap_err().message,
            "test.method: \"origin\" must be a string, not a number"
        );
        assert_eq!(
            p.object("options").unwrap_err().message,
            "test.method: \"options\" must be an object, not a string"
        );
        assert!(p
            .string("s")
            .unwrap_err()
            .message
            .contains("must not be empty"));
        assert!(p.string("gone").unwrap_err().message.contains("is missing"));
        assert_eq!(p.optional_string("device").unwrap(), None);
    }

    #[test]
    fn base64url_with_or_without_padding() {
        let mut p = params(json!({"a": "BA", "b": "BA==", "c": "+/"}));
        assert_eq!(p.base64url("a").unwrap(), vec![4]);
        assert_eq!(p.base64url("b").unwrap(), vec![4]);
        assert!(p
            .base64url("c")
            .unwrap_err()
            .message
            .contains("not base64url"));
    }

    #[test]
    fn request_types() {
        let mut p = params(json!({"a": "mc", "b": "ga", "c": "dcp", "d": "dci", "e": "get"}));
        assert_eq!(p.request_type("a").unwrap(), RequestType::MakeCredential);
        assert_eq!(p.request_type("b").unwrap(), RequestType::GetAssertion);
        assert_eq!(p.request_type("c").unwrap(), RequestType::DcPresentation);
        assert_eq!(p.request_type("d").unwrap(), RequestType::DcIssuance);
        assert!(p.request_type("e").is_err());
    }
}
