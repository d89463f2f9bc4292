//! Native messaging frames: `u32` length in native byte order, then that many bytes of JSON.
//!
//! Both browsers cap a message to the host at 64 MiB and one from the host at 1 MiB (Chrome's
//! and Firefox's documented limits); a host that sends more is disconnected by the browser, so
//! the cap is enforced here before anything is written.

use thiserror::Error;

/// The largest message a browser sends to a host.
pub const MAX_FROM_BROWSER: usize = 64 * 1024 * 1024;
/// The largest message a host may send to a browser.
pub const MAX_TO_BROWSER: usize = 1024 * 1024;

const HEADER: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("the browser announced a message of {len} bytes, more than the {max} bytes a browser may send; the message stream cannot be trusted, so the host stops")]
    TooLarge { len: usize, max: usize },
    #[error(
        "the browser closed the stream in the middle of a message ({have} of {want} bytes arrived)"
    )]
    Truncated { have: usize, want: usize },
    #[error("a message to the browser of {len} bytes exceeds the browsers' limit of {max} bytes")]
    TooLargeForBrowser { len: usize, max: usize },
}

/// Reassembles frames from a byte stream (stdin) of any chunking.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    max: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(MAX_FROM_BROWSER)
    }
}

impl Decoder {
    /// A decoder refusing messages longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
        }
    }

    /// Takes bytes as they were read.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, `None` until one is complete. A length over the limit is an
    /// error at once, before its body is waited for or buffered.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(len) = self.announced() else {
            return Ok(None);
        };
        if len > self.max {
            return Err(FramingError::TooLarge { len, max: self.max });
        }
        if self.buf.len() < HEADER + len {
            return Ok(None);
        }
        let message = self.buf[HEADER..HEADER + len].to_vec();
        self.buf.drain(..HEADER + len);
        Ok(Some(message))
    }

    /// The stream ended: fine between messages, an error inside one.
    pub fn finish(&self) -> Result<(), FramingError> {
        match self.announced() {
            None if self.buf.is_empty() => Ok(()),
            None => Err(FramingError::Truncated {
                have: self.buf.len(),
                want: HEADER,
            }),
            Some(len) => Err(FramingError::Truncated {
                have: self.buf.len(),
                want: HEADER + len,
            }),
        }
    }

    fn announced(&self) -> Option<usize> {
        let header: [u8; HEADER] = self.buf.get(..HEADER)?.try_into().ok()?;
        Some(u32::from_ne_bytes(header) as usize)
    }
}

/// One frame for the browser, or why it cannot be sent.
pub fn encode(message: &[u8]) -> Result<Vec<u8>, FramingError> {
    if message.len() > MAX_TO_BROWSER {
        return Err(FramingError::TooLargeForBrowser {
            len: message.len(),
            max: MAX_TO_BROWSER,
        });
    }
    let mut out = Vec::with_capacity(HEADER + message.len());
    out.extend_from_slice(&(message.len() as u32).to_ne_bytes());
    out.extend_from_slice(message);
    Ok(out)
}
