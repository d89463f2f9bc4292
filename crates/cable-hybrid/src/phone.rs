//! The phone's side of one session (HYBRID.md §6–§8, §13.3), QR and linked flows.
//!
//! The first message is the desktop's Noise message 1; the answer is message 2, the
//! post-handshake message and (Android, QR flow) an update message, with linking data when
//! the QR code offered linking. After that the desktop may send getInfo (answered here) and
//! one makeCredential or getAssertion, which the machine hands to the app as
//! [`PhoneEvent::Request`]; the app answers with [`Phone::respond`] (or ends the session with
//! [`Phone::close`], as a phone whose person cancelled may). The desktop ends with shutdown.
//!
//! Request handling follows Chrome-Android's phone (`CTAP2Processor`): a request that does not
//! parse, an unknown command, a JSON message or an update that is not CBOR end the session
//! without a reply; authenticatorSelection ends it too; a second makeCredential/getAssertion is
//! refused with `CTAP2_ERR_NOT_ALLOWED`, since phones handle one operation per connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use cable_ctap::command::{encode_error, encode_response};
use cable_ctap::{Command, CommandCode, CtapStatus};
use cable_keys::{IdentityKey, Psk, PublicKey};
use cable_tunnel::post_handshake::FEATURE_CTAP;
use cable_tunnel::{Crypter, Frame, LinkingInfo, PostHandshake, Revision, UpdateMessage};
use rand_core::CryptoRngCore;

use crate::error::{Error, Violation};
use crate::{Endpoint, Phase, Transmit};

/// Supplies the linking data a phone offers in its update message (§9.1).
pub trait LinkingProvider: Send {
    /// The linking map for the desktop whose QR identity is `desktop`, signed over this
    /// session's `handshake_hash`; `None` to offer nothing.
    fn linking_info(
        &mut self,
        desktop: &PublicKey,
        handshake_hash: &[u8; 32],
        rng: &mut dyn CryptoRngCore,
    ) -> Option<LinkingInfo>;
}

/// How this phone presents itself.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The authenticator's getInfo (CBOR), sent in the post-handshake message.
    pub get_info: Vec<u8>,
    /// Whether it sends an update message after the post-handshake message (Android does).
    pub sends_update: bool,
    /// How long to wait for the desktop's handshake; `None`: the shell decides.
    pub handshake_wait: Option<Duration>,
    /// How long to wait for the desktop's next message once the channel is open.
    pub idle: Option<Duration>,
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum PhoneEvent {
    /// The desktop's message 1 was answered (the answer is queued).
    HandshakeCompleted { handshake_hash: [u8; 32] },
    /// The post-handshake message is queued.
    PostHandshakeSent { features: Vec<String> },
    /// The update message is queued; `link_id` names the linking data it carries, if any.
    UpdateSent { link_id: Option<[u8; 8]> },
    /// getInfo was answered from the configured getInfo.
    GetInfoAnswered,
    /// makeCredential or getAssertion: answer with [`Phone::respond`].
    Request { command: Box<Command>, raw: Vec<u8> },
    /// A second operation in this session, refused with `CTAP2_ERR_NOT_ALLOWED`.
    RequestRefused { command: CommandCode },
    /// The desktop sent an update (nothing in it is defined for desktops yet): ignored.
    DesktopUpdateIgnored,
    /// The session is over.
    Closed(Result<PhoneEnd, Error>),
}

/// How a session that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneEnd {
    DesktopShutdown,
    /// The tunnel closed after the answer (a normal end).
    DesktopClosed,
    /// authenticatorSelection: Chrome-Android ends the transaction there.
    SelectionReceived,
    /// The app closed it ([`Phone::close`]).
    ClosedByPhone,
}

enum Keys {
    /// KNpsk0: the desktop's QR identity is known from the QR code.
    Qr {
        psk: Psk,
        desktop: PublicKey,
        offers_linking: bool,
    },
    /// NKpsk0: the phone answers with its long-term identity key.
    Linked { psk: Psk, identity: IdentityKey },
}

enum State {
    AwaitingHandshake,
    Open(Box<Open>),
    Closed,
}

struct Open {
    crypter: Crypter,
    handshake_hash: [u8; 32],
    operation: Operation,
}

#[derive(PartialEq, Eq)]
enum Operation {
    None,
    /// Handed to the app; waiting for [`Phone::respond`].
    WithApp,
    Answered,
}

/// The phone's session state machine. See the module documentation.
pub struct Phone {
    keys: Keys,
    config: PhoneConfig,
    linking: Option<Box<dyn LinkingProvider>>,
    /// The ephemeral Noise key, drawn at construction.
    ephemeral: IdentityKey,
    /// Randomness for the linking data (link IDs), drawn at construction too.
    link_rng: Option<Box<dyn CryptoRngCore + Send>>,
    state: State,
    deadline: Option<Instant>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<PhoneEvent>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("phase", &self.phase())
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// QR flow: `psk` from the scanned code and the advertised EID plaintext, `desktop` the
    /// code's public key, `offers_linking` its key 4.
    pub fn qr(
        now: Instant,
        psk: Psk,
        desktop: PublicKey,
        offers_linking: bool,
        config: PhoneConfig,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let keys = Keys::Qr {
            psk,
            desktop,
            offers_linking,
        };
        Self::new(now, keys, config, IdentityKey::generate(rng))
    }

    /// Linked flow (§9.6): `psk` from the link secret and the advert, `identity` the phone's
    /// long-term key. No update message is sent in this flow.
    pub fn linked(
        now: Instant,
        psk: Psk,
        identity: IdentityKey,
        config: PhoneConfig,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let keys = Keys::Linked { psk, identity };
        Self::new(now, keys, config, IdentityKey::generate(rng))
    }

    /// A QR session whose handshake already completed with `crypter` (fuzz targets start
    /// here). Nothing is queued: the post-handshake message is taken as sent.
    #[doc(hidden)]
    pub fn open_for_fuzzing(
        now: Instant,
        crypter: Crypter,
        desktop: PublicKey,
        config: PhoneConfig,
        ephemeral: IdentityKey,
    ) -> Self {
        let keys = Keys::Qr {
            psk: cable_keys::Secret::new([0; 32]),
            desktop,
            offers_linking: false,
        };
        let mut phone = Self::new(now, keys, config, ephemeral);
        phone.state = State::Open(Box::new(Open {
            crypter,
            handshake_hash: [0; 32],
            operation: Operation::None,
        }));
        phone.idle(now);
        phone
    }

    fn new(now: Instant, keys: Keys, config: PhoneConfig, ephemeral: IdentityKey) -> Self {
        let deadline = config.handshake_wait.map(|wait| now + wait);
        Self {
            keys,
            config,
            linking: None,
            ephemeral,
            link_rng: None,
            state: State::AwaitingHandshake,
            deadline,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Offers linking data from `provider` when the QR code asks for it, drawing link IDs from
    /// `rng`. Only phones that send update messages can link.
    pub fn with_linking(
        mut self,
        provider: Box<dyn LinkingProvider>,
        rng: Box<dyn CryptoRngCore + Send>,
    ) -> Self {
        self.linking = Some(provider);
        self.link_rng = Some(rng);
        self
    }

    /// What the phone waits for now.
    pub fn phase(&self) -> Phase {
        match &self.state {
            State::AwaitingHandshake => Phase::Handshake,
            State::Open(open) if open.operation == Operation::WithApp => Phase::Ctap,
            State::Open(_) => Phase::Ready,
            State::Closed => Phase::Closed,
        }
    }

    /// True once an operation has been answered: closing the tunnel is then a normal end.
    pub fn answered(&self) -> bool {
        matches!(&self.state, State::Open(open) if open.operation == Operation::Answered)
    }

    /// The Noise handshake hash, once the channel is open.
    pub fn handshake_hash(&self) -> Option<[u8; 32]> {
        match &self.state {
            State::Open(open) => Some(open.handshake_hash),
            _ => None,
        }
    }

    /// The app's answer to [`PhoneEvent::Request`]: `status || CBOR`.
    pub fn respond(&mut self, now: Instant, response: Vec<u8>) -> Result<(), Error> {
        let State::Open(open) = &mut self.state else {
            return Err(Error::Violation(Violation::Unexpected(
                "an answer after the end",
            )));
        };
        if open.operation != Operation::WithApp {
            return Err(Error::Violation(Violation::Unexpected(
                "an answer with no request",
            )));
        }
        open.operation = Operation::Answered;
        self.seal(now, &Frame::Ctap(response).encode());
        Ok(())
    }

    /// Ends the session from the phone's side, without shutdown (phones just close).
    pub fn close(&mut self) {
        if !matches!(self.state, State::Closed) {
            self.end(Ok(PhoneEnd::ClosedByPhone));
        }
    }

    fn on_handshake(&mut self, now: Instant, message1: &[u8]) {
        let answer = match &self.keys {
            Keys::Qr { psk, desktop, .. } => cable_tunnel::handshake::respond_qr_with_ephemeral(
                psk,
                desktop,
                message1,
                &self.ephemeral,
            ),
            Keys::Linked { psk, identity } => {
                cable_tunnel::handshake::respond_linked_with_ephemeral(
                    psk,
                    identity,
                    message1,
                    &self.ephemeral,
                )
            }
        };
        let (message2, result) = match answer {
            Ok(answer) => answer,
            Err(e) => return self.end(Err(Error::Handshake(e))),
        };
        self.events.push_back(PhoneEvent::HandshakeCompleted {
            handshake_hash: result.handshake_hash,
        });
        self.transmits.push_back(Transmit::Message(message2));
        self.state = State::Open(Box::new(Open {
            crypter: result.crypter,
            handshake_hash: result.handshake_hash,
            operation: Operation::None,
        }));

        let features = vec![FEATURE_CTAP.to_string()];
        let post_handshake = PostHandshake {
            get_info: Some(self.config.get_info.clone()),
            linking: None,
            features: features.clone(),
        }
        .encode(Revision::One);
        self.seal(now, &post_handshake);
        self.events
            .push_back(PhoneEvent::PostHandshakeSent { features });
        if let Some(update) = self.update_message(&result.handshake_hash) {
            let link_id = update.linking.as_ref().map(|l| l.link_id);
            self.seal(now, &Frame::Update(update.encode()).encode());
            self.events.push_back(PhoneEvent::UpdateSent { link_id });
        }
    }

    /// The update message to send right after the post-handshake message, if any: only in the
    /// QR flow, only for phones that send one; with linking data only if the QR code offered
    /// linking and the provider has some (§7.6, §9.1).
    fn update_message(&mut self, handshake_hash: &[u8; 32]) -> Option<UpdateMessage> {
        let Keys::Qr {
            desktop,
            offers_linking,
            ..
        } = &self.keys
        else {
            return None;
        };
        if !self.config.sends_update {
            return None;
        }
        let linking = match (&mut self.linking, &mut self.link_rng) {
            (Some(provider), Some(rng)) if *offers_linking => {
                provider.linking_info(desktop, handshake_hash, &mut **rng)
            }
            _ => None,
        };
        Some(UpdateMessage { linking })
    }

    fn on_transport(&mut self, now: Instant, mut open: Box<Open>, message: &[u8]) {
        let frame = open
            .crypter
            .decrypt(message)
            .and_then(|plaintext| Frame::decode(&plaintext));
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => return self.end(Err(Error::Protocol(e))),
        };
        match frame {
            Frame::Shutdown => self.end(Ok(PhoneEnd::DesktopShutdown)),
            Frame::Update(payload) => {
                // Desktop updates carry nothing defined yet, but must be CBOR (Chromium).
                if cable_keys::cbor::from_slice(&payload).is_err() {
                    return self.end(Err(Error::Violation(Violation::InvalidUpdate)));
                }
                self.state = State::Open(open);
                self.idle(now);
                self.events.push_back(PhoneEvent::DesktopUpdateIgnored);
            }
            Frame::Json(_) => self.end(Err(Error::Violation(Violation::Unexpected(
                "a JSON (digital credential) message",
            )))),
            Frame::Ctap(request) => self.on_ctap(now, open, request),
        }
    }

    fn on_ctap(&mut self, now: Instant, open: Box<Open>, request: Vec<u8>) {
        let Some((&command, payload)) = request.split_first() else {
            return self.end(Err(Error::Violation(Violation::EmptyRequest)));
        };
        let code = CommandCode::from_u8(command);
        match code {
            Some(CommandCode::GetInfo | CommandCode::Selection) if !payload.is_empty() => {
                let command = code.map(CommandCode::name).unwrap_or_default();
                self.end(Err(Error::Violation(Violation::UnexpectedParameters {
                    command,
                    len: payload.len(),
                })))
            }
            Some(CommandCode::GetInfo) => {
                self.state = State::Open(open);
                self.events.push_back(PhoneEvent::GetInfoAnswered);
                let answer = encode_response(&self.config.get_info);
                self.seal(now, &Frame::Ctap(answer).encode());
            }
            Some(CommandCode::Selection) => self.end(Ok(PhoneEnd::SelectionReceived)),
            Some(code @ (CommandCode::MakeCredential | CommandCode::GetAssertion)) => {
                let decoded = match Command::decode(&request) {
                    Ok(decoded) => decoded,
                    Err(e) => return self.end(Err(Error::InvalidRequest(e))),
                };
                let operation = match &open.operation {
                    Operation::None => Operation::WithApp,
                    _ => Operation::Answered,
                };
                let refused = open.operation != Operation::None;
                let mut open = open;
                open.operation = operation;
                self.state = State::Open(open);
                if refused {
                    self.events
                        .push_back(PhoneEvent::RequestRefused { command: code });
                    self.seal(
                        now,
                        &Frame::Ctap(encode_error(CtapStatus::NotAllowed)).encode(),
                    );
                } else {
                    // The person decides now: no idle limit while the app holds the request.
                    self.deadline = None;
                    self.events.push_back(PhoneEvent::Request {
                        command: Box::new(decoded),
                        raw: request,
                    });
                }
            }
            Some(CommandCode::GetNextAssertion) | None => self.end(Err(Error::Violation(
                Violation::UnsupportedCommand(command),
            ))),
        }
    }

    /// Encrypts and queues one message; the channel's idle limit starts again.
    fn seal(&mut self, now: Instant, plaintext: &[u8]) {
        let State::Open(open) = &mut self.state else {
            return;
        };
        match open.crypter.encrypt(plaintext) {
            Ok(wire) => {
                self.transmits.push_back(Transmit::Message(wire));
                self.idle(now);
            }
            Err(e) => self.end(Err(Error::Protocol(e))),
        }
    }

    fn idle(&mut self, now: Instant) {
        let with_app = matches!(&self.state, State::Open(o) if o.operation == Operation::WithApp);
        self.deadline = match self.config.idle {
            Some(idle) if !with_app => Some(now + idle),
            _ => None,
        };
    }

    fn end(&mut self, outcome: Result<PhoneEnd, Error>) {
        self.state = State::Closed;
        self.deadline = None;
        self.transmits.push_back(Transmit::Close);
        self.events.push_back(PhoneEvent::Closed(outcome));
    }
}

impl Endpoint for Phone {
    type Event = PhoneEvent;

    fn handle_message(&mut self, now: Instant, message: &[u8]) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::AwaitingHandshake => self.on_handshake(now, message),
            State::Open(open) => self.on_transport(now, open, message),
            State::Closed => {}
        }
    }

    /// Closing after the answer is the normal end; closing earlier is an error, as
    /// Chrome-Android reports it ("unexpected EOF").
    fn handle_close(&mut self, _now: Instant) {
        let phase = self.phase();
        match &self.state {
            State::Closed => {}
            State::Open(open) if open.operation == Operation::Answered => {
                self.state = State::Closed;
                self.deadline = None;
                self.events
                    .push_back(PhoneEvent::Closed(Ok(PhoneEnd::DesktopClosed)));
            }
            _ => {
                self.state = State::Closed;
                self.deadline = None;
                self.events
                    .push_back(PhoneEvent::Closed(Err(Error::Disconnected { phase })));
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            let phase = self.phase();
            let after = match phase {
                Phase::Handshake => self.config.handshake_wait,
                _ => self.config.idle,
            };
            self.end(Err(Error::Timeout {
                phase,
                after: after.unwrap_or_default(),
            }));
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<PhoneEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }
}
