//! The record format the session targets read: `kind ‖ len (u16 LE) ‖ len bytes`, the last
//! record cut short where the input ends.

/// One record: `kind` (mod 4), the declared length, and the bytes present.
pub struct Record<'a> {
    pub kind: u8,
    pub len: usize,
    pub body: &'a [u8],
}

/// The records of `script`, in order; a trailing fragment under 3 bytes is ignored.
pub fn records(mut script: &[u8]) -> impl Iterator<Item = Record<'_>> {
    std::iter::from_fn(move || {
        if script.len() < 3 {
            return None;
        }
        let kind = script[0] % 4;
        let len = u16::from_le_bytes([script[1], script[2]]) as usize;
        let body = &script[3..3 + len.min(script.len() - 3)];
        script = &script[3 + body.len()..];
        Some(Record { kind, len, body })
    })
}
