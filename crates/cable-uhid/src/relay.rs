//! The wire between cable-uhid and cabled, over a Unix stream socket.
//!
//! A frame is `tag: u8, len: u16 big-endian, payload[len]`, `len <= 1024`.
//!
//! | tag | name | direction | payload |
//! | --- | --- | --- | --- |
//! | `0x01` | HELLO | cabled → uhid | `[1]` (protocol version) |
//! | `0x11` | INPUT | cabled → uhid | the 64-byte report for the host |
//! | `0x02` | READY | uhid → cabled | empty: the device exists now |
//! | `0x03` | REFUSED | uhid → cabled | UTF-8 reason for a person; the socket closes after it |
//! | `0x10` | OUTPUT | uhid → cabled | the 64-byte report the host wrote (report-ID byte stripped) |
//! | `0x12` | OPENED | uhid → cabled | empty: a program opened the hidraw node |
//! | `0x13` | CLOSED | uhid → cabled | empty: the last program closed it |
//!
//! The session: cabled connects and sends HELLO; cable-uhid answers READY (device created) or
//! REFUSED; then OUTPUT/OPENED/CLOSED and INPUT flow until either side closes, which destroys
//! the device. A frame that breaks these rules makes cable-uhid drop the connection.
//!
//! Use: [`Frame::encode`] to send; [`Decoder::push`] the bytes read, then call
//! [`Decoder::next_frame`] until it returns `Ok(None)`. After an error the stream cannot be
//! resynchronised: drop the connection (the decoder keeps returning that error).

use thiserror::Error;

use crate::report::REPORT_LEN;

/// The version HELLO carries.
pub const PROTOCOL_VERSION: u8 = 1;
/// The largest payload either side accepts.
pub const MAX_PAYLOAD: usize = 1024;
/// Tag byte plus length.
pub const HEADER_LEN: usize = 3;

/// Tag bytes.
pub mod tag {
    pub const HELLO: u8 = 0x01;
    pub const READY: u8 = 0x02;
    pub const REFUSED: u8 = 0x03;
    pub const OUTPUT: u8 = 0x10;
    pub const INPUT: u8 = 0x11;
    pub const OPENED: u8 = 0x12;
    pub const CLOSED: u8 = 0x13;
}

/// One frame, either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Hello {
        version: u8,
    },
    Input([u8; REPORT_LEN]),
    Ready,
    /// Truncated to [`MAX_PAYLOAD`] bytes (at a character boundary) when encoded.
    Refused(String),
    Output([u8; REPORT_LEN]),
    Opened,
    Closed,
}

/// Why bytes are not a frame. Each names the fault so a log line tells which side is broken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame with tag {tag:#04x} claims {len} bytes, more than the {MAX_PAYLOAD} allowed")]
    TooLong { tag: u8, len: usize },
    #[error("unknown frame tag {0:#04x} (is the peer a cable-uhid/cabled of another version?)")]
    UnknownTag(u8),
    #[error("frame with tag {tag:#04x} has a {len}-byte payload, it must have {expected}")]
    BadLength {
        tag: u8,
        len: usize,
        expected: usize,
    },
    #[error("REFUSED frame's reason is not UTF-8")]
    BadUtf8,
}

impl Frame {
    /// The frame's tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Frame::Hello { .. } => tag::HELLO,
            Frame::Input(_) => tag::INPUT,
            Frame::Ready => tag::READY,
            Frame::Refused(_) => tag::REFUSED,
            Frame::Output(_) => tag::OUTPUT,
            Frame::Opened => tag::OPENED,
            Frame::Closed => tag::CLOSED,
        }
    }

    /// Appends the frame's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let version;
        let payload: &[u8] = match self {
            Frame::Hello { version: v } => {
                version = [*v];
                &version
            }
            Frame::Input(r) | Frame::Output(r) => r,
            Frame::Ready | Frame::Opened | Frame::Closed => &[],
            Frame::Refused(reason) => truncate(reason).as_bytes(),
        };
        out.push(self.tag());
        // At most MAX_PAYLOAD (1024): fits u16.
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn parse(tag: u8, payload: &[u8]) -> Result<Frame, FrameError> {
        let want = |expected: usize| {
            if payload.len() == expected {
                Ok(())
            } else {
                Err(FrameError::BadLength {
                    tag,
                    len: payload.len(),
                    expected,
                })
            }
        };
        let report = || -> Result<[u8; REPORT_LEN], FrameError> {
            want(REPORT_LEN)?;
            let mut r = [0u8; REPORT_LEN];
            r.copy_from_slice(payload);
            Ok(r)
        };
        Ok(match tag {
            tag::HELLO => {
                want(1)?;
                Frame::Hello {
                    version: payload[0],
                }
            }
            tag::INPUT => Frame::Input(report()?),
            tag::OUTPUT => Frame::Output(report()?),
            tag::READY => want(0).map(|_| Frame::Ready)?,
            tag::OPENED => want(0).map(|_| Frame::Opened)?,
            tag::CLOSED => want(0).map(|_| Frame::Closed)?,
            tag::REFUSED => Frame::Refused(
                std::str::from_utf8(payload)
                    .map_err(|_| FrameError::BadUtf8)?
                    .to_owned(),
            ),
            other => return Err(FrameError::UnknownTag(other)),
        })
    }
}

fn truncate(s: &str) -> &str {
    if s.len() <= MAX_PAYLOAD {
        return s;
    }
    let mut end = MAX_PAYLOAD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Incremental frame decoder: bytes in, frames out. Holds at most one partial frame plus
/// what was pushed and not yet taken.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    failed: Option<FrameError>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed. An error is final.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(&[tag, hi, lo]) = self.buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        // Checked on the header so a lying length cannot make us buffer 64 KiB.
        let result = if len > MAX_PAYLOAD {
            Err(FrameError::TooLong { tag, len })
        } else if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        } else {
            Frame::parse(tag, &self.buf[HEADER_LEN..HEADER_LEN + len])
        };
        match result {
            Ok(frame) => {
                self.buf.drain(..HEADER_LEN + len);
                Ok(Some(frame))
            }
            Err(e) => {
                self.buf = Vec::new();
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Bytes held that are not a whole frame yet (so a closing peer can be told it cut one).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Frame> {
        vec![
            Frame::Hello { version: 1 },
            Frame::Input([0xab; 64]),
            Frame::Ready,
            Frame::Refused("not the active user".into()),
            Frame::Output(core::array::from_fn(|i| i as u8)),
            Frame::Opened,
            Frame::Closed,
        ]
    }

    #[test]
    fn wire_bytes_are_the_documented_ones() {
        assert_eq!(Frame::Hello { version: 1 }.encode(), [0x01, 0, 1, 1]);
        assert_eq!(Frame::Ready.encode(), [0x02, 0, 0]);
        assert_eq!(
            Frame::Refused("no".into()).encode(),
            [0x03, 0, 2, b'n', b'o']
        );
        let out = Frame::Output([7; 64]).encode();
        assert_eq!(&out[..3], &[0x10, 0, 64]);
        assert_eq!(Frame::Input([0; 64]).encode()[..3], [0x11, 0, 64]);
        assert_eq!(Frame::Opened.encode(), [0x12, 0, 0]);
        assert_eq!(Frame::Closed.encode(), [0x13, 0, 0]);
    }

    #[test]
    fn frames_survive_any_split() {
        let mut wire = Vec::new();
        for f in all() {
            f.encode_into(&mut wire);
        }
        for chunk in [1, 2, 3, 5, 64, 1000] {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                d.push(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, all(), "chunk size {chunk}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn a_long_length_is_refused_from_the_header_alone() {
        let mut d = Decoder::new();
        d.push(&[0x11, 0x04, 0x01]);
        let e = FrameError::TooLong {
            tag: 0x11,
            len: 1025,
        };
        assert_eq!(d.next_frame(), Err(e.clone()));
        d.push(&Frame::Ready.encode());
        assert_eq!(d.next_frame(), Err(e), "errors are final");
    }

    #[test]
    fn wrong_payloads_are_typed_errors() {
        let cases: [(&[u8], FrameError); 4] = [
            (&[0x7f, 0, 0], FrameError::UnknownTag(0x7f)),
            (
                &[0x11, 0, 2, 1, 2],
                FrameError::BadLength {
                    tag: 0x11,
                    len: 2,
                    expected: 64,
                },
            ),
            (
                &[0x01, 0, 0],
                FrameError::BadLength {
                    tag: 0x01,
                    len: 0,
                    expected: 1,
                },
            ),
            (&[0x03, 0, 1, 0xff], FrameError::BadUtf8),
        ];
        for (bytes, want) in cases {
            let mut d = Decoder::new();
            d.push(bytes);
            assert_eq!(d.next_frame(), Err(want));
        }
    }

    #[test]
    fn refused_reasons_are_cut_at_a_char_boundary() {
        let reason = "é".repeat(600); // 1200 bytes
        let wire = Frame::Refused(reason).encode();
        let mut d = Decoder::new();
        d.push(&wire);
        let Some(Frame::Refused(got)) = d.next_frame().unwrap() else {
            panic!("not refused");
        };
        assert_eq!(got.len(), 1024);
        assert!(got.chars().all(|c| c == 'é'));
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics_and_never_buffers_past_a_frame(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)
        ) {
            let mut d = Decoder::new();
            for piece in bytes.chunks(7) {
                d.push(piece);
                loop {
                    match d.next_frame() {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(_) => break,
                    }
                }
                proptest::prop_assert!(d.pending() < HEADER_LEN + MAX_PAYLOAD + 7);
            }
        }
    }
}
