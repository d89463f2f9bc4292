//! The one error type of the sans-IO part of cable-tunnel. Every variant says what was wrong in
//! words a person debugging a failed pairing can act on. (The websocket client has its own
//! [`crate::client::ConnectError`], because connection failures need different advice.)

use cable_keys::cbor::CborError;

/// Why a tunnel-layer input or operation was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- domains, URLs and headers (§5) ---
    #[error("tunnel domain ID {0} is reserved: IDs 2..=255 name no known tunnel server")]
    UnknownDomain(u16),
    #[error("tunnel base URL {0:?} must start with ws:// or wss:// and have a host")]
    InvalidBaseUrl(String),
    #[error("tunnel path is {len} bytes long; no valid path is longer than {max}")]
    PathTooLong { len: usize, max: usize },
    #[error(
        "tunnel path {0:?} is not /cable/new/…, /cable/connect/…/…, /cable/contact/… or (local \
         tunnel server only) /cable/push/…"
    )]
    UnknownEndpoint(String),
    #[error("{field} must be {digits} hex digits, got {got:?}")]
    InvalidHexId {
        field: &'static str,
        digits: usize,
        got: String,
    },
    #[error("contact ID in the path is not base64url without padding")]
    InvalidContactId,
    #[error("contact ID must be 1 to {max} bytes, got {len}")]
    ContactIdLength { len: usize, max: usize },
    #[error("client payload header must carry 1 to {max} bytes of hex, got {len}")]
    ClientPayloadLength { len: usize, max: usize },

    // --- the local tunnel server's push message ---
    #[error(
        "the push message is not the JSON object the local tunnel server sends \
         ({{\"tunnel_id\":…,\"routing_id\":…,\"client_payload\":…}}): {0}"
    )]
    PushMessageJson(String),
    #[error("the push message's {field} must be {expected}")]
    PushMessageField {
        field: &'static str,
        expected: &'static str,
    },

    // --- Noise handshake (§6) ---
    #[error("handshake {message} must be {expected} bytes, got {got}")]
    HandshakeLength {
        message: &'static str,
        expected: &'static str,
        got: usize,
    },
    #[error("the peer's ephemeral key in the handshake is not a P-256 point")]
    HandshakePointInvalid,
    #[error(
        "the peer's handshake message did not authenticate: the PSK (from the QR secret or link \
         secret and the advert) or the static key differs, or the message was altered"
    )]
    HandshakeAuthFailed,
    #[error("the handshake message carried a {0}-byte payload; hybrid requires it to be empty")]
    HandshakePayloadNotEmpty(usize),
    #[error("Noise state machine error: {0}")]
    Noise(String),

    // --- encrypted channel (§7.1) ---
    #[error("an encrypted tunnel message failed to decrypt (wrong key, reordered or altered)")]
    DecryptFailed,
    #[error("the channel's message counter passed 2^24 - 1; the session must end")]
    SequenceExhausted,
    #[error("decrypted message is empty, so it has no padding-length byte")]
    EmptyPlaintext,
    #[error("padding length byte says {padding} zero bytes, but the message has only {len} bytes")]
    PaddingTooLong { padding: usize, len: usize },
    #[error("message of {0} bytes is too large to encrypt")]
    MessageTooLarge(usize),

    // --- frames (§7.5) ---
    #[error("tunnel frame is empty; revision-1 frames start with a type byte")]
    EmptyFrame,
    #[error("tunnel frame type {0} is unknown (only 0 shutdown, 1 CTAP, 2 update, 3 JSON exist)")]
    UnknownFrameType(u8),
    #[error("JSON frame is not valid UTF-8")]
    JsonNotUtf8,
    #[error("revision-0 sessions carry only CTAP messages; cannot send a {0} frame")]
    NotInRevisionZero(&'static str),

    // --- CBOR messages (§7.4, §7.6, §9) ---
    #[error("{what} is not valid CBOR: {source}")]
    Cbor {
        what: &'static str,
        source: CborError,
    },
    #[error("{0} must be a CBOR map")]
    NotAMap(&'static str),
    #[error("post-handshake message is neither CBOR nor padded CBOR (revision 0)")]
    PostHandshakeUndecodable,
    #[error("post-handshake key 3 (features) must be an array")]
    FeaturesNotArray,
    #[error("post-handshake message lacks key 1 (getInfo bytes) although the phone supports CTAP")]
    MissingGetInfo,
    #[error("post-handshake key 1 (getInfo) must be a byte string")]
    GetInfoNotBytes,
    #[error("post-handshake message has a getInfo response but its features lack \"ctap\"")]
    GetInfoWithoutCtap,
    #[error("{map} key {key} {problem}")]
    Field {
        map: &'static str,
        key: u64,
        problem: &'static str,
    },
    #[error("linking key 4 is not a P-256 public key")]
    LinkingPublicKeyInvalid,
    #[error("client payload header is not hex")]
    ClientPayloadHex,
}

impl Error {
    pub(crate) fn cbor(what: &'static str, source: CborError) -> Self {
        Self::Cbor { what, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
