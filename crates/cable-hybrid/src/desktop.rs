//! The desktop's side of one session (HYBRID.md §4–§9), QR and linked flows.
//!
//! A [`Desktop`] starts before any tunnel exists: it knows the EID key the radio must listen
//! under ([`Desktop::eid_key`]) and says, with [`DesktopEvent::OpenTunnel`], which tunnel to
//! open. The shell reports the advert ([`Desktop::handle_advert`]) and the open websocket
//! ([`Desktop::handle_tunnel_open`]); once both are there the machine sends Noise message 1.
//! The QR flow needs the advert before it can name the tunnel; the linked flow contacts the
//! phone first and waits for its advert meanwhile; both orders go through the same states.
//!
//! After the phone's post-handshake message the channel is [`Phase::Ready`]: getInfo is
//! answered here from that message, one makeCredential/getAssertion goes to the phone
//! ([`Desktop::send_request`]), and [`Desktop::finish`] ends the session, first waiting
//! briefly for linking data when the QR code offered linking and none came.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use cable_keys::{EidKey, IdentityKey, LinkSecret, Psk, PublicKey};
use cable_qr::{QrHandshake, RequestType};
use cable_tunnel::TunnelRequest;
use cable_tunnel::{
    ClientPayload, Crypter, Frame, HandshakeInitiator, LinkingInfo, PostHandshake, Revision,
    UpdateMessage,
};
use rand_core::CryptoRngCore;

use crate::error::{Error, RequestError, Violation};
use crate::{Endpoint, Phase, Timeouts, Transmit};

/// The CTAP command byte of authenticatorGetInfo, answered locally (HYBRID.md §8).
pub const CTAP_GET_INFO: u8 = 0x04;

/// A decrypted advert that matched this session's EID key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    /// The 16 plaintext bytes: the PSK is derived from them.
    pub plaintext: [u8; 16],
    pub routing_id: [u8; 3],
    pub tunnel_domain_id: u16,
}

/// Which tunnel the shell must open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelOpen {
    /// The tunnel server: from the advert (QR flow) or the stored link (linked flow).
    pub domain_id: u16,
    pub request: TunnelRequest,
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesktopEvent {
    /// Open this tunnel, then call [`Desktop::handle_tunnel_open`].
    OpenTunnel(TunnelOpen),
    /// Linked flow: the tunnel server signalled that the phone joined.
    PhoneJoined,
    /// Noise completed; `protocol` is its full name.
    HandshakeDone { protocol: &'static str },
    /// The post-handshake message: the channel is open.
    Ready {
        get_info: Vec<u8>,
        features: Vec<String>,
        revision: Revision,
    },
    /// Linking data whose signature verified against this session: store it.
    Linked(Box<LinkingInfo>),
    /// Linking data that was dropped, and why. The session goes on.
    LinkRejected(LinkRejected),
    /// The phone's answer to the request sent: `status || CBOR`.
    CtapResponse(Vec<u8>),
    /// The answer came, linking was offered and has not come: waiting this long for it.
    AwaitingLink { wait: Duration },
    /// The session is over: `Ok` when it ended as planned, else why it failed.
    Closed(Result<(), Error>),
}

/// Why linking data was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRejected {
    /// This session did not offer linking (QR key 4 false, or a linked session).
    NotOffered,
    /// The signature is not over this session's handshake with our QR identity.
    BadSignature,
    /// The update message did not decode.
    Malformed,
}

impl LinkRejected {
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotOffered => "linking data arrived but this session did not offer linking",
            Self::BadSignature => "the linking signature does not match this session",
            Self::Malformed => "the update message is malformed",
        }
    }
}

/// Where a request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Answered here (getInfo): `status || CBOR`.
    Local(Vec<u8>),
    /// Encrypted for the phone: a [`DesktopEvent::CtapResponse`] follows.
    Phone,
}

/// How this session authenticates the phone.
enum Keys {
    /// KNpsk0 with the QR identity; `offer_linking` is what QR key 4 said.
    Qr {
        qr: QrHandshake,
        offer_linking: bool,
    },
    /// NKpsk0 against the phone key stored with the link.
    Linked {
        link_secret: LinkSecret,
        phone: PublicKey,
        client_nonce: [u8; 16],
    },
}

enum State {
    /// Waiting for the advert and/or the open tunnel.
    Starting {
        advert: Option<Advert>,
        /// `Some(signal_connection)` once the tunnel is open.
        tunnel: Option<bool>,
    },
    /// Boxed: snow's handshake state is large and lives only until message 2.
    Handshaking {
        initiator: Box<HandshakeInitiator>,
        expect_signal: bool,
    },
    Open(Box<Open>),
    Closed,
}

struct Open {
    crypter: Crypter,
    handshake_hash: [u8; 32],
    revision: Revision,
    /// Empty until the post-handshake message arrives.
    get_info: Vec<u8>,
    ready: bool,
    request: RequestState,
    linked: bool,
    awaiting_link: bool,
}

#[derive(PartialEq, Eq)]
enum RequestState {
    None,
    InFlight,
    Answered,
}

/// The desktop's session state machine. See the module documentation.
pub struct Desktop {
    keys: Keys,
    timeouts: Timeouts,
    state: State,
    eid_key: EidKey,
    /// The ephemeral Noise key, drawn at construction so the machine needs no RNG later.
    ephemeral: IdentityKey,
    /// The tunnel server, once known (stored with a new link).
    tunnel_domain: Option<u16>,
    advert_deadline: Option<Instant>,
    connect_deadline: Option<Instant>,
    /// The current phase's deadline once the tunnel is open.
    deadline: Option<Instant>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<DesktopEvent>,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("phase", &self.phase())
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}

/// A stored link, as the linked flow needs it.
pub struct LinkKeys {
    pub contact_id: Vec<u8>,
    pub link_id: [u8; 8],
    pub link_secret: LinkSecret,
    pub phone_public_key: PublicKey,
    pub tunnel_domain_id: u16,
}

impl Desktop {
    /// QR flow: `qr` is the code being shown; the radio must listen under [`Self::eid_key`].
    /// Linking data is accepted only if the code offered it (key 4).
    pub fn qr(
        now: Instant,
        qr: QrHandshake,
        timeouts: Timeouts,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let offer_linking = qr.payload().supports_linking == Some(true);
        let eid_key = qr.payload().eid_key();
        let keys = Keys::Qr { qr, offer_linking };
        Self::new(now, keys, eid_key, timeouts, IdentityKey::generate(rng))
    }

    /// Linked flow: contacts the phone behind `link` ([`DesktopEvent::OpenTunnel`] at once)
    /// and listens for its advert under a fresh client nonce.
    pub fn linked(
        now: Instant,
        link: LinkKeys,
        request_type: RequestType,
        timeouts: Timeouts,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let mut client_nonce = [0u8; 16];
        rng.fill_bytes(&mut client_nonce);
        let eid_key = cable_keys::eid_key(link.link_secret.expose(), &client_nonce);
        let request = TunnelRequest::Contact {
            contact_id: link.contact_id,
            client_payload: ClientPayload {
                link_id: link.link_id,
                client_nonce,
                request_type: request_type.as_str().to_string(),
            },
            // Ask the server to tell us when the phone joins (§5.4).
            signal_connection: true,
        };
        let keys = Keys::Linked {
            link_secret: link.link_secret,
            phone: link.phone_public_key,
            client_nonce,
        };
        let domain = link.tunnel_domain_id;
        let ephemeral = IdentityKey::generate(rng);
        let mut desktop = Self::new(now, keys, eid_key, timeouts, ephemeral);
        desktop.open_tunnel(now, domain, request);
        desktop
    }

    fn new(
        now: Instant,
        keys: Keys,
        eid_key: EidKey,
        timeouts: Timeouts,
        ephemeral: IdentityKey,
    ) -> Self {
        Self {
            keys,
            timeouts,
            state: State::Starting {
                advert: None,
                tunnel: None,
            },
            eid_key,
            ephemeral,
            tunnel_domain: None,
            advert_deadline: Some(now + timeouts.advert),
            connect_deadline: None,
            deadline: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// A QR session whose handshake already completed with `crypter` (the fuzz targets start
    /// here, so every input reaches the post-handshake logic without paying for Noise), and
    /// with `ready`'s getInfo, whose post-handshake message was already read.
    #[doc(hidden)]
    pub fn open_for_fuzzing(
        now: Instant,
        qr: QrHandshake,
        crypter: Crypter,
        ready: Option<Vec<u8>>,
        timeouts: Timeouts,
    ) -> Self {
        let offer_linking = qr.payload().supports_linking == Some(true);
        // Never used once open; a derivation per run would only slow the fuzzer.
        let eid_key = cable_keys::Secret::new([0; 64]);
        let ephemeral = qr.identity().clone();
        let keys = Keys::Qr { qr, offer_linking };
        let mut desktop = Self::new(now, keys, eid_key, timeouts, ephemeral);
        desktop.advert_deadline = None;
        desktop.tunnel_domain = Some(0);
        let is_ready = ready.is_some();
        desktop.state = State::Open(Box::new(Open {
            crypter,
            handshake_hash: [3; 32],
            revision: Revision::One,
            get_info: ready.unwrap_or_default(),
            ready: is_ready,
            request: RequestState::None,
            linked: false,
            awaiting_link: false,
        }));
        if !is_ready {
            desktop.deadline = Some(now + timeouts.post_handshake);
        }
        desktop
    }

    /// The key the radio must decrypt adverts with.
    pub fn eid_key(&self) -> &EidKey {
        &self.eid_key
    }

    /// The linked flow's client nonce (for tests and the timeline; not secret).
    pub fn client_nonce(&self) -> Option<[u8; 16]> {
        match &self.keys {
            Keys::Linked { client_nonce, .. } => Some(*client_nonce),
            Keys::Qr { .. } => None,
        }
    }

    /// What the session waits for now.
    pub fn phase(&self) -> Phase {
        match &self.state {
            State::Starting { advert: None, .. } => Phase::Advert,
            State::Starting { .. } => Phase::TunnelConnect,
            State::Handshaking { .. } => Phase::Handshake,
            State::Open(open) if !open.ready => Phase::PostHandshake,
            State::Open(open) if open.awaiting_link => Phase::AwaitingLink,
            State::Open(open) if open.request == RequestState::InFlight => Phase::Ctap,
            State::Open(_) => Phase::Ready,
            State::Closed => Phase::Closed,
        }
    }

    /// The Noise protocol this session runs.
    pub fn protocol(&self) -> &'static str {
        match self.keys {
            Keys::Qr { .. } => cable_tunnel::Flow::Qr.protocol_name(),
            Keys::Linked { .. } => cable_tunnel::Flow::Linked.protocol_name(),
        }
    }

    /// True for a QR session whose code offered linking: linking data will be kept.
    pub fn offers_linking(&self) -> bool {
        matches!(
            self.keys,
            Keys::Qr {
                offer_linking: true,
                ..
            }
        )
    }

    /// True if `request` (`command || CBOR`) would be accepted now: getInfo whenever the
    /// channel is open, one makeCredential/getAssertion per session.
    pub fn accepts_request(&self, request: &[u8]) -> bool {
        match &self.state {
            State::Open(open) if open.ready && !open.awaiting_link => {
                request.first() == Some(&CTAP_GET_INFO) || open.request == RequestState::None
            }
            _ => false,
        }
    }

    /// True once the one operation of this session has been answered.
    pub fn answered(&self) -> bool {
        matches!(&self.state, State::Open(open) if open.request == RequestState::Answered)
    }

    /// The advert the radio matched. Ignored unless the session waits for one.
    pub fn handle_advert(&mut self, now: Instant, advert: Advert) {
        let State::Starting {
            advert: slot @ None,
            tunnel,
        } = &mut self.state
        else {
            return;
        };
        *slot = Some(advert);
        self.advert_deadline = None;
        let tunnel_open = tunnel.is_some();
        if let Keys::Qr { qr, .. } = &self.keys {
            let request = TunnelRequest::Connect {
                routing_id: advert.routing_id,
                tunnel_id: qr.payload().tunnel_id(),
            };
            self.open_tunnel(now, advert.tunnel_domain_id, request);
        } else if tunnel_open {
            self.start_handshake(now);
        }
    }

    /// The websocket is open; `signal_connection`: the server echoed
    /// `X-caBLE-Signal-Connection`, so a single `00` precedes the phone's handshake answer.
    pub fn handle_tunnel_open(&mut self, now: Instant, signal_connection: bool) {
        let State::Starting {
            advert,
            tunnel: slot @ None,
        } = &mut self.state
        else {
            return;
        };
        *slot = Some(signal_connection);
        self.connect_deadline = None;
        if advert.is_some() {
            self.start_handshake(now);
        }
    }

    /// The tunnel domain this session uses, once known (stored with a new link).
    pub fn tunnel_domain_id(&self) -> Option<u16> {
        self.tunnel_domain
    }

    fn open_tunnel(&mut self, now: Instant, domain_id: u16, request: TunnelRequest) {
        self.connect_deadline = Some(now + self.timeouts.tunnel_connect);
        self.tunnel_domain = Some(domain_id);
        self.events
            .push_back(DesktopEvent::OpenTunnel(TunnelOpen { domain_id, request }));
    }

    fn start_handshake(&mut self, now: Instant) {
        let State::Starting {
            advert: Some(advert),
            tunnel: Some(signal),
        } = std::mem::replace(&mut self.state, State::Closed)
        else {
            return;
        };
        let started = match &self.keys {
            Keys::Qr { qr, .. } => {
                let psk = qr.payload().psk(&advert.plaintext);
                HandshakeInitiator::qr_with_ephemeral(&psk, qr.identity(), &self.ephemeral)
            }
            Keys::Linked {
                link_secret, phone, ..
            } => {
                let psk: Psk = cable_keys::psk(link_secret.expose(), &advert.plaintext);
                HandshakeInitiator::linked_with_ephemeral(&psk, phone, &self.ephemeral)
            }
        };
        match started {
            Ok((initiator, message1)) => {
                self.transmits.push_back(Transmit::Message(message1));
                self.state = State::Handshaking {
                    initiator: Box::new(initiator),
                    expect_signal: signal,
                };
                self.deadline = Some(now + self.timeouts.handshake);
            }
            Err(e) => self.fail(Error::Handshake(e)),
        }
    }

    /// Sends `request` (`command || CBOR`): getInfo is answered here, anything else is
    /// encrypted for the phone, once per session.
    pub fn send_request(&mut self, now: Instant, request: &[u8]) -> Result<Sent, RequestError> {
        let phase = self.phase();
        let State::Open(open) = &mut self.state else {
            return Err(match phase {
                Phase::Closed => RequestError::Closed,
                phase => RequestError::NotReady(phase),
            });
        };
        if !open.ready || open.awaiting_link {
            return Err(RequestError::NotReady(phase));
        }
        if request.first() == Some(&CTAP_GET_INFO) {
            let mut response = vec![0u8];
            response.extend_from_slice(&open.get_info);
            return Ok(Sent::Local(response));
        }
        if open.request != RequestState::None {
            return Err(RequestError::SecondRequest);
        }
        let wire = Frame::Ctap(request.to_vec())
            .encode_for(open.revision)
            .and_then(|plaintext| open.crypter.encrypt(&plaintext))
            .map_err(RequestError::Encrypt)?;
        open.request = RequestState::InFlight;
        self.transmits.push_back(Transmit::Message(wire));
        self.deadline = Some(now + self.timeouts.ctap);
        Ok(Sent::Phone)
    }

    /// The caller is done: waits for linking data if this session offered linking and none
    /// came yet (at most [`Timeouts::linking_wait`]), then shuts the channel down.
    pub fn finish(&mut self, now: Instant) {
        let offers = self.offers_linking();
        let wait = self.timeouts.linking_wait;
        match &mut self.state {
            State::Open(open) if open.ready && offers && !open.linked && !wait.is_zero() => {
                if !open.awaiting_link {
                    open.awaiting_link = true;
                    self.deadline = Some(now + wait);
                    self.events.push_back(DesktopEvent::AwaitingLink { wait });
                }
            }
            State::Closed => {}
            _ => self.close(Ok(())),
        }
    }

    /// Ends the session now (cancel, or the caller went away): the phone is sent shutdown if
    /// the channel is open.
    pub fn cancel(&mut self) {
        if !matches!(self.state, State::Closed) {
            self.close(Err(Error::Cancelled));
        }
    }

    fn on_handshake(
        &mut self,
        now: Instant,
        initiator: Box<HandshakeInitiator>,
        expect_signal: bool,
        message: &[u8],
    ) {
        if expect_signal {
            if message != [0] {
                return self.fail(Error::Violation(Violation::BadConnectSignal(message.len())));
            }
            self.state = State::Handshaking {
                initiator,
                expect_signal: false,
            };
            // The phone is there now: give it the whole handshake time.
            self.deadline = Some(now + self.timeouts.handshake);
            self.events.push_back(DesktopEvent::PhoneJoined);
            return;
        }
        match initiator.finish(message) {
            Ok(result) => {
                self.state = State::Open(Box::new(Open {
                    crypter: result.crypter,
                    handshake_hash: result.handshake_hash,
                    revision: Revision::One,
                    get_info: Vec::new(),
                    ready: false,
                    request: RequestState::None,
                    linked: false,
                    awaiting_link: false,
                }));
                self.deadline = Some(now + self.timeouts.post_handshake);
                self.events.push_back(DesktopEvent::HandshakeDone {
                    protocol: self.protocol(),
                });
            }
            Err(e) => self.fail(Error::Handshake(e)),
        }
    }

    fn on_transport(&mut self, mut open: Box<Open>, message: &[u8]) {
        let plaintext = match open.crypter.decrypt(message) {
            Ok(p) => p,
            Err(e) => return self.fail(Error::Protocol(e)),
        };
        if !open.ready {
            return self.on_post_handshake(open, &plaintext);
        }
        let frame = match Frame::decode_for(&plaintext, open.revision) {
            Ok(frame) => frame,
            Err(e) => return self.fail(Error::Protocol(e)),
        };
        match frame {
            Frame::Ctap(response) if open.request == RequestState::InFlight => {
                open.request = RequestState::Answered;
                self.state = State::Open(open);
                self.deadline = None;
                self.events.push_back(DesktopEvent::CtapResponse(response));
            }
            Frame::Ctap(_) => {
                self.fail(Error::Violation(Violation::Unexpected("a CTAP answer")));
            }
            Frame::Shutdown => {
                let phase = self.phase_of(&open);
                self.fail(Error::PeerShutdown { phase });
            }
            Frame::Update(payload) => {
                self.state = State::Open(open);
                match UpdateMessage::decode(&payload) {
                    Ok(UpdateMessage { linking: Some(l) }) => self.check_linking(l),
                    Ok(UpdateMessage { linking: None }) => {}
                    Err(_) => self.reject_link(LinkRejected::Malformed),
                }
            }
            // Digital-credential JSON is not something we asked for.
            Frame::Json(_) => self.fail(Error::Violation(Violation::Unexpected("a JSON message"))),
        }
    }

    fn phase_of(&self, open: &Open) -> Phase {
        if open.awaiting_link {
            Phase::AwaitingLink
        } else if open.request == RequestState::InFlight {
            Phase::Ctap
        } else {
            Phase::Ready
        }
    }

    fn on_post_handshake(&mut self, mut open: Box<Open>, plaintext: &[u8]) {
        let (post, revision) = match PostHandshake::decode(plaintext) {
            Ok(decoded) => decoded,
            Err(e) => return self.fail(Error::Protocol(e)),
        };
        if !post.supports_ctap() {
            return self.fail(Error::Violation(Violation::NoCtap(post.features)));
        }
        let Some(get_info) = post.get_info else {
            return self.fail(Error::Violation(Violation::MissingGetInfo));
        };
        open.revision = revision;
        open.get_info = get_info.clone();
        open.ready = true;
        self.state = State::Open(open);
        // Ready waits for the caller, not the phone.
        self.deadline = None;
        self.events.push_back(DesktopEvent::Ready {
            get_info,
            features: post.features,
            revision,
        });
        if let Some(linking) = post.linking {
            self.check_linking(linking);
        }
    }

    fn check_linking(&mut self, linking: LinkingInfo) {
        let State::Open(open) = &mut self.state else {
            return;
        };
        match &self.keys {
            Keys::Qr {
                qr,
                offer_linking: true,
            } => {
                if !linking.verify(qr.identity(), &open.handshake_hash) {
                    return self.reject_link(LinkRejected::BadSignature);
                }
                open.linked = true;
                let done_waiting = open.awaiting_link;
                self.events
                    .push_back(DesktopEvent::Linked(Box::new(linking)));
                if done_waiting {
                    self.close(Ok(()));
                }
            }
            _ => self.reject_link(LinkRejected::NotOffered),
        }
    }

    fn reject_link(&mut self, why: LinkRejected) {
        self.events.push_back(DesktopEvent::LinkRejected(why));
    }

    fn fail(&mut self, error: Error) {
        self.close(Err(error));
    }

    /// Queues shutdown (when the channel has one) and the close, and reports the end.
    fn close(&mut self, outcome: Result<(), Error>) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        if let State::Open(mut open) = state {
            // Revision 0 has no shutdown message; a broken channel cannot carry one.
            let broken = matches!(
                outcome,
                Err(Error::Protocol(_) | Error::Disconnected { .. })
            );
            if open.revision == Revision::One && !broken {
                if let Ok(wire) = open.crypter.encrypt(&Frame::Shutdown.encode()) {
                    self.transmits.push_back(Transmit::Message(wire));
                }
            }
        }
        self.transmits.push_back(Transmit::Close);
        self.deadline = None;
        self.advert_deadline = None;
        self.connect_deadline = None;
        self.events.push_back(DesktopEvent::Closed(outcome));
    }
}

impl Endpoint for Desktop {
    type Event = DesktopEvent;

    fn handle_message(&mut self, now: Instant, message: &[u8]) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Handshaking {
                initiator,
                expect_signal,
            } => self.on_handshake(now, initiator, expect_signal, message),
            State::Open(open) => self.on_transport(open, message),
            // The linked flow's connect signal may come before the advert is seen.
            State::Starting {
                advert,
                tunnel: Some(true),
            } if message == [0] => {
                self.state = State::Starting {
                    advert,
                    tunnel: Some(false),
                };
                self.events.push_back(DesktopEvent::PhoneJoined);
            }
            State::Starting { advert, tunnel } => {
                self.state = State::Starting { advert, tunnel };
                self.fail(Error::Violation(Violation::Unexpected(
                    "a message before the handshake",
                )));
            }
            State::Closed => {}
        }
    }

    fn handle_close(&mut self, _now: Instant) {
        match self.phase() {
            Phase::Closed => {}
            // Linking was only a courtesy wait: the session did what it was for.
            Phase::AwaitingLink => self.close(Ok(())),
            phase => self.fail(Error::Disconnected { phase }),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let due = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        if due(self.connect_deadline) {
            let after = self.timeouts.tunnel_connect;
            return self.fail(Error::Timeout {
                phase: Phase::TunnelConnect,
                after,
            });
        }
        if due(self.advert_deadline) {
            let after = self.timeouts.advert;
            return self.fail(Error::Timeout {
                phase: Phase::Advert,
                after,
            });
        }
        if due(self.deadline) {
            let phase = self.phase();
            if phase == Phase::AwaitingLink {
                return self.close(Ok(()));
            }
            let after = self.timeouts.limit(phase).unwrap_or_default();
            self.fail(Error::Timeout { phase, after });
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<DesktopEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.connect_deadline, self.advert_deadline, self.deadline]
            .into_iter()
            .flatten()
            .min()
    }

    fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }
}
