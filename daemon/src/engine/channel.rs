//! The desktop's side of one hybrid channel, sans-IO: Noise handshake, post-handshake message,
//! one CTAP exchange, linking updates, shutdown. Bytes in (tunnel messages), events and bytes
//! out. The async session in `session.rs` only moves these bytes.

use cable_keys::{IdentityKey, Psk, PublicKey};
use cable_tunnel::{
    Frame, HandshakeInitiator, LinkingInfo, PostHandshake, Revision, UpdateMessage,
};
use rand_core::CryptoRngCore;

/// The CTAP command byte of authenticatorGetInfo, answered locally (HYBRID.md §8).
const CTAP_GET_INFO: u8 = 0x04;

/// What the phone told us, in order.
#[derive(Debug)]
pub enum ChannelEvent {
    /// The linked flow's connect signal: the phone has joined the tunnel.
    PhoneJoined,
    /// The Noise handshake completed.
    HandshakeDone,
    /// The post-handshake message: the phone's getInfo and features.
    Ready {
        get_info: Vec<u8>,
        features: Vec<String>,
        revision: Revision,
    },
    /// Linking data whose handshake signature verified against this session.
    Linked(Box<LinkingInfo>),
    /// Linking data that did not verify (or arrived where it may not): dropped.
    LinkingRejected(&'static str),
    /// The phone's answer to our CTAP request: `status || CBOR`.
    CtapResponse(Vec<u8>),
    /// The phone sent shutdown.
    PhoneShutdown,
}

/// Why the channel failed: the phone or the tunnel broke the protocol.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("the Noise handshake failed: {0}")]
    Handshake(cable_tunnel::Error),
    #[error("a message from the phone could not be decrypted or parsed: {0}")]
    Protocol(cable_tunnel::Error),
    #[error("the phone does not support CTAP (features: {0:?})")]
    NoCtap(Vec<String>),
    #[error("the phone sent {0} before the channel was ready")]
    Unexpected(&'static str),
    #[error("a phone accepts one makeCredential/getAssertion per session; this session already sent one")]
    SecondRequest,
    #[error("the channel is not open")]
    NotOpen,
    #[error("the connect signal must be exactly 00, got {0} bytes")]
    BadConnectSignal(usize),
}

enum State {
    // Boxed: snow's handshake state is large and lives only until message 2.
    Handshaking(Box<HandshakeInitiator>),
    AwaitPostHandshake(Open),
    Ready(Open),
    Closed,
}

struct Open {
    crypter: cable_tunnel::Crypter,
    handshake_hash: [u8; 32],
    revision: Revision,
    get_info: Vec<u8>,
}

/// Whether (and how) this session may accept linking data.
enum Linking {
    /// QR session that offered linking: verify against our QR identity.
    Offered(IdentityKey),
    /// QR session that did not offer linking, or a linked session: ignore it.
    NotOffered,
}

pub struct DesktopChannel {
    state: State,
    linking: Linking,
    expect_signal: bool,
    request_sent: bool,
}

impl DesktopChannel {
    /// QR flow (KNpsk0). `offer_linking` is what the QR's key 4 said. Returns message 1.
    pub fn start_qr(
        psk: &Psk,
        identity: &IdentityKey,
        offer_linking: bool,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<u8>), ChannelError> {
        let (initiator, msg1) =
            HandshakeInitiator::qr(psk, identity, rng).map_err(ChannelError::Handshake)?;
        let linking = if offer_linking {
            Linking::Offered(identity.clone())
        } else {
            Linking::NotOffered
        };
        Ok((Self::new(initiator, linking, false), msg1))
    }

    /// Linked flow (NKpsk0) with the stored phone key. `expect_signal`: the server echoed
    /// `X-caBLE-Signal-Connection`, so a single `00` arrives before the Noise response.
    pub fn start_linked(
        psk: &Psk,
        phone: &PublicKey,
        expect_signal: bool,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, Vec<u8>), ChannelError> {
        let (initiator, msg1) =
            HandshakeInitiator::linked(psk, phone, rng).map_err(ChannelError::Handshake)?;
        Ok((
            Self::new(initiator, Linking::NotOffered, expect_signal),
            msg1,
        ))
    }

    fn new(initiator: HandshakeInitiator, linking: Linking, expect_signal: bool) -> Self {
        Self {
            state: State::Handshaking(Box::new(initiator)),
            linking,
            expect_signal,
            request_sent: false,
        }
    }

    /// True once the post-handshake message has been processed.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready(_))
    }

    /// Feeds one tunnel message from the phone.
    pub fn receive(&mut self, message: &[u8]) -> Result<Vec<ChannelEvent>, ChannelError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Handshaking(initiator) if self.expect_signal => {
                self.state = State::Handshaking(initiator);
                if message != [0] {
                    return Err(ChannelError::BadConnectSignal(message.len()));
                }
                self.expect_signal = false;
                Ok(vec![ChannelEvent::PhoneJoined])
            }
            State::Handshaking(initiator) => {
                let result = initiator.finish(message).map_err(ChannelError::Handshake)?;
                self.state = State::AwaitPostHandshake(Open {
                    crypter: result.crypter,
                    handshake_hash: result.handshake_hash,
                    revision: Revision::One,
                    get_info: Vec::new(),
                });
                Ok(vec![ChannelEvent::HandshakeDone])
            }
            State::AwaitPostHandshake(mut open) => {
                let plaintext = open
                    .crypter
                    .decrypt(message)
                    .map_err(ChannelError::Protocol)?;
                let (post, revision) =
                    PostHandshake::decode(&plaintext).map_err(ChannelError::Protocol)?;
                if !post.supports_ctap() {
                    return Err(ChannelError::NoCtap(post.features));
                }
                let get_info = post
                    .get_info
                    .ok_or(ChannelError::Protocol(cable_tunnel::Error::MissingGetInfo))?;
                open.revision = revision;
                open.get_info = get_info.clone();
                let mut events = vec![ChannelEvent::Ready {
                    get_info,
                    features: post.features,
                    revision,
                }];
                if let Some(linking) = post.linking {
                    events.push(self.check_linking(linking, &open.handshake_hash));
                }
                self.state = State::Ready(open);
                Ok(events)
            }
            State::Ready(mut open) => {
                let plaintext = open
                    .crypter
                    .decrypt(message)
                    .map_err(ChannelError::Protocol)?;
                let frame =
                    Frame::decode_for(&plaintext, open.revision).map_err(ChannelError::Protocol)?;
                let event = match frame {
                    Frame::Ctap(response) => ChannelEvent::CtapResponse(response),
                    Frame::Shutdown => ChannelEvent::PhoneShutdown,
                    Frame::Update(payload) => match UpdateMessage::decode(&payload) {
                        Ok(UpdateMessage { linking: Some(l) }) => {
                            self.check_linking(l, &open.handshake_hash)
                        }
                        Ok(UpdateMessage { linking: None }) => {
                            self.state = State::Ready(open);
                            return Ok(Vec::new());
                        }
                        Err(_) => ChannelEvent::LinkingRejected("the update message is malformed"),
                    },
                    // Digital-credential JSON is not something we asked for.
                    Frame::Json(_) => {
                        self.state = State::Ready(open);
                        return Err(ChannelError::Unexpected("a JSON message"));
                    }
                };
                self.state = State::Ready(open);
                Ok(vec![event])
            }
            State::Closed => Err(ChannelError::NotOpen),
        }
    }

    fn check_linking(&self, linking: LinkingInfo, handshake_hash: &[u8; 32]) -> ChannelEvent {
        match &self.linking {
            Linking::NotOffered => ChannelEvent::LinkingRejected(
                "linking data arrived but this session did not offer linking",
            ),
            Linking::Offered(identity) if linking.verify(identity, handshake_hash) => {
                ChannelEvent::Linked(Box::new(linking))
            }
            Linking::Offered(_) => {
                ChannelEvent::LinkingRejected("the linking signature does not match this session")
            }
        }
    }

    /// Handles one CTAP request (`command || CBOR`). getInfo is answered locally from the
    /// post-handshake message; anything else is encrypted for the phone, once per session.
    pub fn ctap_request(&mut self, request: &[u8]) -> Result<CtapRoute, ChannelError> {
        let State::Ready(open) = &mut self.state else {
            return Err(ChannelError::NotOpen);
        };
        if request.first() == Some(&CTAP_GET_INFO) {
            let mut response = vec![0u8];
            response.extend_from_slice(&open.get_info);
            return Ok(CtapRoute::Local(response));
        }
        if self.request_sent {
            return Err(ChannelError::SecondRequest);
        }
        let plaintext = Frame::Ctap(request.to_vec())
            .encode_for(open.revision)
            .map_err(ChannelError::Protocol)?;
        let wire = open
            .crypter
            .encrypt(&plaintext)
            .map_err(ChannelError::Protocol)?;
        self.request_sent = true;
        Ok(CtapRoute::Phone(wire))
    }

    /// The encrypted shutdown message, if the channel is open and the revision has one.
    /// After this the channel is closed.
    pub fn shutdown(&mut self) -> Option<Vec<u8>> {
        let state = std::mem::replace(&mut self.state, State::Closed);
        match state {
            State::Ready(mut open) | State::AwaitPostHandshake(mut open)
                if open.revision == Revision::One =>
            {
                open.crypter.encrypt(&Frame::Shutdown.encode()).ok()
            }
            _ => None,
        }
    }
}

/// Where a CTAP request goes.
#[derive(Debug)]
pub enum CtapRoute {
    /// Answered here (getInfo): `status || CBOR`.
    Local(Vec<u8>),
    /// Send these bytes to the phone and wait for a `CtapResponse`.
    Phone(Vec<u8>),
}
