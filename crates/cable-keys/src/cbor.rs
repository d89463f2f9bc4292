//! CTAP2 canonical CBOR (HYBRID.md §0).
//!
//! Google Play services rejects maps whose keys are not in CTAP2 order: major type first, then
//! length of the encoded key, then bytewise. ciborium keeps map entries in insertion order, so
//! every encoder in cable goes through [`to_canonical_vec`], which sorts recursively.

pub use ciborium::Value;

/// Why bytes are not the CBOR we expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    #[error("not valid CBOR: {0}")]
    Syntax(String),
    #[error("{0} bytes of trailing data after the CBOR item")]
    TrailingBytes(usize),
}

/// Encodes `value` with every map (at any depth) sorted in CTAP2 canonical order.
pub fn to_canonical_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(&canonicalize(value.clone()), &mut out)
        .expect("writing CBOR into a Vec cannot fail");
    out
}

/// Sorts every map inside `value` into CTAP2 canonical order.
pub fn canonicalize(value: Value) -> Value {
    match value {
        Value::Map(entries) => {
            let mut keyed: Vec<(Vec<u8>, Value, Value)> = entries
                .into_iter()
                .map(|(k, v)| {
                    let k = canonicalize(k);
                    let mut enc = Vec::new();
                    ciborium::into_writer(&k, &mut enc).expect("writing CBOR into a Vec");
                    (enc, k, canonicalize(v))
                })
                .collect();
            keyed.sort_by(|a, b| canonical_key_order(&a.0, &b.0));
            Value::Map(keyed.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonicalize).collect()),
        Value::Tag(t, inner) => Value::Tag(t, Box::new(canonicalize(*inner))),
        other => other,
    }
}

/// CTAP2 order of two encoded keys: major type, then encoded length, then bytes.
fn canonical_key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let major = |e: &[u8]| e.first().map_or(0, |b| b >> 5);
    major(a)
        .cmp(&major(b))
        .then(a.len().cmp(&b.len()))
        .then_with(|| a.cmp(b))
}

/// Decodes exactly one CBOR item filling all of `bytes`.
pub fn from_slice(bytes: &[u8]) -> Result<Value, CborError> {
    let mut cursor = std::io::Cursor::new(bytes);
    let value: Value =
        ciborium::from_reader(&mut cursor).map_err(|e| CborError::Syntax(e.to_string()))?;
    let rest = bytes.len() - cursor.position() as usize;
    if rest != 0 {
        return Err(CborError::TrailingBytes(rest));
    }
    Ok(value)
}

/// Looks up an unsigned-integer key in a CBOR map's entries.
pub fn map_get(entries: &[(Value, Value)], key: u64) -> Option<&Value> {
    entries.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if u64::try_from(*i).ok() == Some(key) => Some(v),
        _ => None,
    })
}

/// Looks up a text key in a CBOR map's entries.
pub fn map_get_text<'a>(entries: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    entries.iter().find_map(|(k, v)| match k {
        Value::Text(t) if t == key => Some(v),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: i64) -> Value {
        Value::Integer(n.into())
    }

    #[test]
    fn ctap2_order_puts_unsigned_before_negative_and_short_before_long() {
        let map = Value::Map(vec![
            (Value::Text("type".into()), int(0)),
            (int(-1), int(0)),
            (int(24), int(0)),
            (Value::Text("alg".into()), int(0)),
            (int(3), int(0)),
            (int(1), int(0)),
            (int(-2), int(0)),
        ]);
        let Value::Map(sorted) = canonicalize(map) else {
            unreachable!()
        };
        let keys: Vec<Value> = sorted.into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            vec![
                int(1),
                int(3),
                int(24),
                int(-1),
                int(-2),
                Value::Text("alg".into()),
                Value::Text("type".into())
            ]
        );
    }

    #[test]
    fn nested_maps_are_sorted_and_round_trip() {
        let inner = Value::Map(vec![
            (Value::Text("uv".into()), Value::Bool(true)),
            (Value::Text("rk".into()), Value::Bool(true)),
        ]);
        let outer = Value::Map(vec![(int(7), inner), (int(1), Value::Bytes(vec![1, 2]))]);
        let bytes = to_canonical_vec(&outer);
        assert_eq!(
            hex_of(&bytes),
            "a2014201020 7a262726bf5627576f5".replace(' ', "")
        );
        assert_eq!(from_slice(&bytes).unwrap(), canonicalize(outer));
    }

    #[test]
    fn trailing_bytes_and_garbage_are_errors() {
        assert_eq!(from_slice(&[0x01, 0x02]), Err(CborError::TrailingBytes(1)));
        assert!(matches!(from_slice(&[0x5f]), Err(CborError::Syntax(_))));
        assert!(matches!(from_slice(&[]), Err(CborError::Syntax(_))));
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
