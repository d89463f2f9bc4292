//! Small typed accessors over `ciborium::Value` so decoders read like the spec's tables and every
//! type error names its field.

use crate::error::CtapError;
use crate::Result;
use cable_keys::cbor::{self, Value};

/// What a value is, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Integer(i) if i128::from(*i) < 0 => "a negative integer",
        Value::Integer(_) => "an unsigned integer",
        Value::Bytes(_) => "a byte string",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text string",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Tag(..) => "a tagged value",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        _ => "an unknown CBOR value",
    }
}

pub(crate) fn int(n: i64) -> Value {
    Value::Integer(n.into())
}

pub(crate) fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub(crate) fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

/// Decodes one CBOR item filling all of `data`.
pub(crate) fn decode(data: &[u8], context: &'static str) -> Result<Value> {
    cbor::from_slice(data).map_err(|source| CtapError::Cbor { context, source })
}

pub(crate) fn as_map<'a>(value: &'a Value, field: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(CtapError::wrong_type(field, "a map", kind(other))),
    }
}

pub(crate) fn as_array<'a>(value: &'a Value, field: &str) -> Result<&'a [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(CtapError::wrong_type(field, "an array", kind(other))),
    }
}

pub(crate) fn as_bytes<'a>(value: &'a Value, field: &str) -> Result<&'a [u8]> {
    match value {
        Value::Bytes(b) => Ok(b),
        other => Err(CtapError::wrong_type(field, "a byte string", kind(other))),
    }
}

pub(crate) fn as_text<'a>(value: &'a Value, field: &str) -> Result<&'a str> {
    match value {
        Value::Text(t) => Ok(t),
        other => Err(CtapError::wrong_type(field, "a text string", kind(other))),
    }
}

pub(crate) fn as_bool(value: &Value, field: &str) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(CtapError::wrong_type(field, "a boolean", kind(other))),
    }
}

pub(crate) fn as_u64(value: &Value, field: &str) -> Result<u64> {
    match value {
        Value::Integer(i) => u64::try_from(*i)
            .map_err(|_| CtapError::wrong_type(field, "an unsigned integer", kind(value))),
        other => Err(CtapError::wrong_type(
            field,
            "an unsigned integer",
            kind(other),
        )),
    }
}

pub(crate) fn as_i64(value: &Value, field: &str) -> Result<i64> {
    match value {
        Value::Integer(i) => i64::try_from(*i)
            .map_err(|_| CtapError::invalid(field, "the integer does not fit in 64 bits")),
        other => Err(CtapError::wrong_type(field, "an integer", kind(other))),
    }
}

pub(crate) fn as_array32(value: &Value, field: &str) -> Result<[u8; 32]> {
    let b = as_bytes(value, field)?;
    <[u8; 32]>::try_from(b).map_err(|_| CtapError::WrongLength {
        field: field.to_owned(),
        expected: 32,
        found: b.len(),
    })
}

/// A list of text strings.
pub(crate) fn as_text_list(value: &Value, field: &str) -> Result<Vec<String>> {
    as_array(value, field)?
        .iter()
        .map(|item| as_text(item, field).map(str::to_owned))
        .collect()
}

/// A CBOR map with unsigned-integer keys (the CTAP request/response top level), read by key.
pub(crate) struct IntMap<'a> {
    entries: &'a [(Value, Value)],
    context: &'static str,
}

impl<'a> IntMap<'a> {
    pub(crate) fn new(value: &'a Value, context: &'static str) -> Result<Self> {
        Ok(Self {
            entries: as_map(value, context)?,
            context,
        })
    }

    pub(crate) fn field(&self, key: u64, name: &str) -> String {
        format!("{} key {key} ({name})", self.context)
    }

    pub(crate) fn get(&self, key: u64) -> Option<&'a Value> {
        cbor::map_get(self.entries, key)
    }

    pub(crate) fn require(&self, key: u64, name: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| CtapError::missing(self.field(key, name)))
    }
}

/// A CBOR map with text keys (entities, options, extensions), read by name.
pub(crate) struct TextMap<'a> {
    entries: &'a [(Value, Value)],
    context: String,
}

impl<'a> TextMap<'a> {
    pub(crate) fn new(value: &'a Value, context: impl Into<String>) -> Result<Self> {
        let context = context.into();
        Ok(Self {
            entries: as_map(value, &context)?,
            context,
        })
    }

    pub(crate) fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.context)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        cbor::map_get_text(self.entries, key)
    }

    pub(crate) fn require(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| CtapError::missing(self.field(key)))
    }

    pub(crate) fn text(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| as_text(v, &self.field(key)).map(str::to_owned))
            .transpose()
    }
}

/// Builds a map from `(key, value)` pairs, skipping `None`s; sorting happens at encoding.
pub(crate) fn map(entries: Vec<(Value, Option<Value>)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
    )
}
