//! Shared helpers for the vector tests.
#![allow(dead_code)]

use serde_json::Value as Json;

pub fn load(text: &str) -> Json {
    serde_json::from_str(text).expect("vector file is JSON")
}

/// Hex string field `key` of `v`, decoded.
pub fn hexf(v: &Json, key: &str) -> Vec<u8> {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} missing in {v}"));
    hex::decode(s).unwrap_or_else(|_| panic!("field {key} is not hex"))
}

pub fn arr<const N: usize>(v: &Json, key: &str) -> [u8; N] {
    hexf(v, key)
        .try_into()
        .expect("field has the expected length")
}

pub fn str_of<'a>(v: &'a Json, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} missing in {v}"))
}

pub fn list<'a>(v: &'a Json, key: &str) -> &'a Vec<Json> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("array {key} missing"))
}

pub fn identity(v: &Json) -> cable_keys::IdentityKey {
    let key = cable_keys::IdentityKey::from_bytes(&hexf(v, "private_scalar")).unwrap();
    assert_eq!(
        key.public_key().uncompressed().to_vec(),
        hexf(v, "public_uncompressed")
    );
    assert_eq!(
        key.public_key().compressed().to_vec(),
        hexf(v, "public_compressed")
    );
    key
}

pub const TUNNEL_DOMAINS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/tunnel_domains.json"
));
pub const NOISE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/noise.json"
));
pub const TRANSPORT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/transport.json"
));
pub const LINKING: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/linking.json"
));
pub const MESSAGES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/messages.json"
));
