//! Output helpers shared by commands: JSON lines and hex.

use serde_json::Value;

/// Prints one JSON object on its own line.
pub fn json_line(value: &Value) {
    println!("{value}");
}

/// Parses hex that a person typed: surrounding spaces and inner ':' or ' ' separators allowed.
pub fn parse_hex(what: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let cleaned = cleaned.strip_prefix("0x").unwrap_or(&cleaned);
    hex::decode(cleaned).map_err(|e| anyhow::anyhow!("{what} is not valid hex ({e})"))
}
