//! Base-10 encoding of the QR payload (HYBRID.md §2.2–2.3).
//!
//! Bytes go in 7-byte little-endian chunks, each written as a zero-padded decimal of a width
//! fixed by the chunk length (17 digits for a full chunk). Digits let the QR encoder use
//! numeric mode, which packs 3.3 bits per module instead of byte mode's 8 per 8.

use std::fmt::Write;

pub use crate::error::DigitsError;

const CHUNK_BYTES: usize = 7;
const CHUNK_DIGITS: usize = 17;

/// Digits used by a chunk of `i` bytes, for `i` in 0..=7 (Chromium packs the partial widths as
/// the nibbles of `0x0fda8530`).
const WIDTHS: [usize; CHUNK_BYTES + 1] = [0, 3, 5, 8, 10, 13, 15, CHUNK_DIGITS];

/// Number of digits a chunk of `bytes` bytes (0..=7) encodes to; `None` for longer chunks.
pub fn chunk_width(bytes: usize) -> Option<usize> {
    WIDTHS.get(bytes).copied()
}

/// Number of digits `encode` produces for `len` bytes.
pub fn encoded_len(len: usize) -> usize {
    (len / CHUNK_BYTES) * CHUNK_DIGITS + WIDTHS[len % CHUNK_BYTES]
}

/// Bytes to digits. Any byte string has exactly one encoding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    for chunk in bytes.chunks(CHUNK_BYTES) {
        let mut le = [0u8; 8];
        le[..chunk.len()].copy_from_slice(chunk);
        let value = u64::from_le_bytes(le);
        let width = WIDTHS[chunk.len()];
        // Writing into a String cannot fail.
        let _ = write!(out, "{value:0width$}");
    }
    out
}

/// Digits to bytes, rejecting anything `encode` could not have produced.
pub fn decode(digits: &str) -> Result<Vec<u8>, DigitsError> {
    if let Some((position, character)) = digits
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_digit())
    {
        return Err(DigitsError::NonDigit {
            position,
            character,
        });
    }
    // All ASCII from here on, so byte offsets are character positions.
    let ascii = digits.as_bytes();
    let remainder = ascii.len() % CHUNK_DIGITS;
    let tail_bytes = WIDTHS
        .iter()
        .take(CHUNK_BYTES)
        .position(|&w| w == remainder)
        .ok_or(DigitsError::BadLength {
            len: ascii.len(),
            remainder,
        })?;

    let mut out = Vec::with_capacity(ascii.len() / CHUNK_DIGITS * CHUNK_BYTES + tail_bytes);
    let mut chunks = ascii.chunks_exact(CHUNK_DIGITS);
    for (index, chunk) in chunks.by_ref().enumerate() {
        push_chunk(&mut out, chunk, CHUNK_BYTES, index * CHUNK_DIGITS)?;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        push_chunk(&mut out, tail, tail_bytes, ascii.len() - tail.len())?;
    }
    Ok(out)
}

/// Parses one group of at most 17 ASCII digits and appends its `bytes` low bytes.
fn push_chunk(
    out: &mut Vec<u8>,
    chunk: &[u8],
    bytes: usize,
    position: usize,
) -> Result<(), DigitsError> {
    // 17 digits are below 10^17 < 2^64: no overflow.
    let value = chunk
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    if value >> (8 * bytes) != 0 {
        return Err(DigitsError::ChunkOutOfRange { position, bytes });
    }
    out.extend_from_slice(&value.to_le_bytes()[..bytes]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_chromiums_packed_nibbles() {
        let packed: u32 = 0x0fda_8530;
        for n in 0..CHUNK_BYTES {
            assert_eq!(chunk_width(n), Some((packed >> (4 * n) & 15) as usize));
        }
        assert_eq!(chunk_width(7), Some(17));
        assert_eq!(chunk_width(8), None);
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(
            decode("12a"),
            Err(DigitsError::NonDigit {
                position: 2,
                character: 'a'
            })
        );
        assert_eq!(
            decode("00000000000000000999"),
            Err(DigitsError::ChunkOutOfRange {
                position: 17,
                bytes: 1
            })
        );
        assert_eq!(
            decode("123456789012345678"),
            Err(DigitsError::BadLength {
                len: 18,
                remainder: 1
            })
        );
    }
}
