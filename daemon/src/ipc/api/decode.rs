//! Decoding a params object into a method's params type, with errors that name the member
//! (serde alone says "invalid type: integer, expected a string" without saying where).

use crate::ipc::error::RpcError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// Decodes `params` for `method`; a bad member is `invalid_params` naming it.
pub fn decode_params<P: DeserializeOwned>(
    method: &str,
    params: Map<String, Value>,
) -> Result<P, RpcError> {
    P::deserialize(Named(params)).map_err(|e| {
        // serde quotes names with backticks; people and our docs use JSON's quotes.
        let message = e.to_string().replace('`', "\"");
        RpcError::invalid_params(format!("{method}: {message}"))
    })
}

/// A params object whose member errors are prefixed with the member's name.
struct Named(Map<String, Value>);

impl<'de> Deserializer<'de> for Named {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Members {
            members: self.0.into_iter(),
            current: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Members {
    members: serde_json::map::IntoIter,
    current: Option<(String, Value)>,
}

impl<'de> MapAccess<'de> for Members {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        let key = seed.deserialize(name.as_str().into_deserializer())?;
        self.current = Some((name, value));
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (name, value) = self
            .current
            .take()
            .ok_or_else(|| de::Error::custom("a value without its member name"))?;
        seed.deserialize(value)
            .map_err(|e| de::Error::custom(format!("{name:?} {e}")))
    }
}

/// Bytes as base64url: written without padding, read with or without it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Base64Url(pub Vec<u8>);

impl fmt::Debug for Base64Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // CTAP payloads may carry personal data: their length is enough for debugging.
        write!(f, "Base64Url({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Url {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Url {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map(Base64Url)
            .map_err(|e| de::Error::custom(format!("is not base64url: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct P {
        origin: String,
        #[allow(dead_code)]
        bytes: Option<Base64Url>,
    }

    fn decode(v: Value) -> Result<P, RpcError> {
        let Value::Object(map) = v else { panic!() };
        decode_params("test.method", map)
    }

    #[test]
    fn errors_name_the_member() {
        let e = decode(json!({"origin": 5})).unwrap_err();
        assert_eq!(e.code, "invalid_params");
        assert!(
            e.message.starts_with("test.method: \"origin\" "),
            "{}",
            e.message
        );
        let e = decode(json!({})).unwrap_err();
        assert!(e.message.contains("\"origin\""), "{}", e.message);
        let e = decode(json!({"origin": "x", "orgin": 1})).unwrap_err();
        assert!(e.message.contains("\"orgin\""), "{}", e.message);
        let e = decode(json!({"origin": "x", "bytes": "+/"})).unwrap_err();
        assert!(
            e.message.contains("\"bytes\" is not base64url"),
            "{}",
            e.message
        );
        assert_eq!(decode(json!({"origin": "x"})).unwrap().origin, "x");
    }

    #[test]
    fn base64url_with_or_without_padding() {
        let a: Base64Url = serde_json::from_value(json!("BA")).unwrap();
        let b: Base64Url = serde_json::from_value(json!("BA==")).unwrap();
        assert_eq!((a.0.clone(), b.0), (vec![4], vec![4]));
        assert_eq!(serde_json::to_value(&a).unwrap(), json!("BA"));
    }
}
