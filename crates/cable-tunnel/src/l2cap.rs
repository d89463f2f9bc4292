//! HYBRID.md §10: CTAP 2.3 BLE L2CAP data-channel framing as libwebauthn reads the draft:
//! every message is followed by CR LF, and the receiver splits the stream at the first CR LF.
//! (This framing is ambiguous for binary data that contains CR LF; low confidence.)

const CRLF: &[u8; 2] = b"\r\n";

/// Appends the CR LF terminator.
pub fn encode_crlf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 2);
    out.extend_from_slice(message);
    out.extend_from_slice(CRLF);
    out
}

/// Reassembles messages from a byte stream.
#[derive(Debug, Default, Clone)]
pub struct CrLfDecoder {
    buffer: Vec<u8>,
}

impl CrLfDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, if the buffer holds a CR LF.
    pub fn next_message(&mut self) -> Option<Vec<u8>> {
        let end = self.buffer.windows(2).position(|w| w == CRLF)?;
        let message = self.buffer[..end].to_vec();
        self.buffer.drain(..end + 2);
        Some(message)
    }

    /// Bytes received but not yet terminated.
    pub fn remaining(&self) -> &[u8] {
        &self.buffer
    }
}
