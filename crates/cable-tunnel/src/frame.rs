//! HYBRID.md §7.5: the messages after the post-handshake message.
//!
//! Revision 1 (current) prefixes every plaintext with a type byte. Revision 0 (caBLE v2.0)
//! carries bare CTAP bytes and has no other message kinds.

use crate::error::{Error, Result};

/// The protocol revision, detected from the post-handshake message (§7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// caBLE v2.0: padded post-handshake message, CTAP payloads without a type byte.
    Zero,
    /// caBLE v2.1: unpadded post-handshake message, type-byte framing.
    One,
}

/// The type byte of a revision-1 frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    Shutdown = 0,
    Ctap = 1,
    Update = 2,
    Json = 3,
}

/// One decrypted message of an established session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `00`: the desktop is done. Any payload after the type byte is ignored, as Chromium does.
    Shutdown,
    /// `01 || command || CBOR` (request) or `01 || status || CBOR` (response).
    Ctap(Vec<u8>),
    /// `02 || CBOR map` (§7.6); decode the payload with [`crate::UpdateMessage`].
    Update(Vec<u8>),
    /// `03 || UTF-8 JSON` (digital credentials, feature `"dc"`).
    Json(String),
}

impl Frame {
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Shutdown => MessageType::Shutdown,
            Self::Ctap(_) => MessageType::Ctap,
            Self::Update(_) => MessageType::Update,
            Self::Json(_) => MessageType::Json,
        }
    }

    /// The revision-1 plaintext: type byte then payload.
    pub fn encode(&self) -> Vec<u8> {
        let payload: &[u8] = match self {
            Self::Shutdown => &[],
            Self::Ctap(b) | Self::Update(b) => b,
            Self::Json(s) => s.as_bytes(),
        };
        let mut out = Vec::with_capacity(1 + payload.len());
        out.push(self.message_type() as u8);
        out.extend_from_slice(payload);
        out
    }

    /// Parses a revision-1 plaintext. A bare `00` is a valid shutdown; types above 3 are fatal.
    pub fn decode(plaintext: &[u8]) -> Result<Self> {
        let (&kind, payload) = plaintext.split_first().ok_or(Error::EmptyFrame)?;
        Ok(match kind {
            0 => Self::Shutdown,
            1 => Self::Ctap(payload.to_vec()),
            2 => Self::Update(payload.to_vec()),
            3 => Self::Json(
                std::str::from_utf8(payload)
                    .map_err(|_| Error::JsonNotUtf8)?
                    .to_string(),
            ),
            other => return Err(Error::UnknownFrameType(other)),
        })
    }

    /// Encodes for a session of `revision`: revision 0 can carry only CTAP, without type byte.
    pub fn encode_for(&self, revision: Revision) -> Result<Vec<u8>> {
        match (revision, self) {
            (Revision::One, _) => Ok(self.encode()),
            (Revision::Zero, Self::Ctap(b)) => Ok(b.clone()),
            (Revision::Zero, Self::Shutdown) => Err(Error::NotInRevisionZero("shutdown")),
            (Revision::Zero, Self::Update(_)) => Err(Error::NotInRevisionZero("update")),
            (Revision::Zero, Self::Json(_)) => Err(Error::NotInRevisionZero("JSON")),
        }
    }

    /// Decodes a plaintext of a session of `revision`; in revision 0 it is all CTAP.
    pub fn decode_for(plaintext: &[u8], revision: Revision) -> Result<Self> {
        match revision {
            Revision::One => Self::decode(plaintext),
            Revision::Zero => Ok(Self::Ctap(plaintext.to_vec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(Frame::decode(&[0]).unwrap(), Frame::Shutdown);
        assert_eq!(Frame::decode(&[0, 9]).unwrap(), Frame::Shutdown);
        assert_eq!(Frame::decode(&[]), Err(Error::EmptyFrame));
        assert_eq!(Frame::decode(&[4]), Err(Error::UnknownFrameType(4)));
        assert_eq!(Frame::decode(&[3, 0xff]), Err(Error::JsonNotUtf8));
        assert_eq!(
            Frame::decode(b"\x03{}").unwrap(),
            Frame::Json("{}".to_string())
        );
        assert_eq!(
            Frame::Ctap(vec![1]).encode_for(Revision::Zero).unwrap(),
            [1]
        );
        assert!(Frame::Shutdown.encode_for(Revision::Zero).is_err());
        assert_eq!(
            Frame::decode_for(&[0x04], Revision::Zero).unwrap(),
            Frame::Ctap(vec![4])
        );
    }
}
