//! The software phone's session: cable-hybrid's sans-IO [`Phone`] state machine (handshake
//! answer, post-handshake and update messages, the one-operation rule, shutdown), with a
//! software authenticator answering its requests and a [`PhoneBehavior`] deciding how the
//! person (and the phone) acts (HYBRID.md §6–§8, §13.3).
//!
//! A [`PhoneChannel`] is fed every binary message the tunnel delivers and answers with what to
//! send. It holds no socket and no clock; randomness comes from an RNG the caller can seed
//! ([`PhoneChannel::with_rng`]). The protocol rules are the machine's; this file only adds
//! the authenticator, the person and the ways a phone can misbehave (vanish at a stage).

use std::cell::RefCell;
use std::time::Instant;

use cable_ble::EidPlaintext;
use cable_ctap::auth_data::AuthenticatorData;
use cable_ctap::command::{decode_response, split_response};
use cable_ctap::{
    AccountInfo, Authenticator, CborMessage, Command, CommandCode, CredentialStore, CtapStatus,
    GetAssertionResponse, MakeCredentialResponse, Prompt, UserAction,
};
use cable_hybrid::{Endpoint, Phone, PhoneConfig, PhoneEnd, Transmit, Violation};
use cable_keys::{IdentityKey, LinkSecret, Psk, PublicKey};
use cable_qr::QrPayload;
use rand::SeedableRng;
use rand_core::{CryptoRngCore, OsRng};

use crate::events::{CredentialRecord, PhoneEvent, SessionEnd, StatusRecord};
use crate::linking::LinkingProvider;
use crate::{CancelStyle, PhoneBehavior, PhoneError, PhoneProfile, Result, Stage, UserChoice};

/// What the driver must do with the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Send these bytes as one binary websocket message.
    Send(Vec<u8>),
    /// Close the tunnel. If [`PhoneChannel::end`] is [`SessionEnd::Vanished`], drop the
    /// connection abruptly instead of closing it politely.
    Close,
}

/// What the phone answers the Noise handshake with.
enum HandshakeKeys {
    /// KNpsk0: the desktop's QR identity is known from the QR code.
    Qr {
        psk: Psk,
        desktop: PublicKey,
        offers_linking: bool,
    },
    /// NKpsk0: the phone answers with its long-term identity key.
    Linked { psk: Psk, identity: IdentityKey },
}

/// The software phone's session. See the module documentation.
pub struct PhoneChannel {
    keys: HandshakeKeys,
    profile: PhoneProfile,
    behavior: PhoneBehavior,
    authenticator: Authenticator,
    linking: Option<Box<dyn LinkingProvider>>,
    rng: Box<dyn CryptoRngCore + Send>,
    /// Made when the desktop's message 1 arrives, so it draws from the final RNG.
    machine: Option<Phone>,
    events: Vec<PhoneEvent>,
    end: Option<SessionEnd>,
    store_changed: bool,
    /// The link ID of the linking information sent in this session, if any.
    linking_sent: Option<[u8; 8]>,
    /// What [`Endpoint::poll_transmit`] hands out, when driven as an [`Endpoint`].
    outbox: std::collections::VecDeque<Transmit>,
    /// How long to advertise for the desktop's handshake, and to wait for its next message.
    waits: Option<Waits>,
}

#[derive(Debug, Clone, Copy)]
struct Waits {
    /// When advertising began: the handshake wait counts from here.
    since: Instant,
    handshake: std::time::Duration,
    idle: std::time::Duration,
}

impl std::fmt::Debug for PhoneChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.machine {
            _ if self.end.is_some() => "ended",
            None => "awaiting handshake",
            Some(m) if m.answered() => "answered",
            Some(_) => "awaiting request",
        };
        f.debug_struct("PhoneChannel")
            .field("profile", &self.profile)
            .field("behavior", &self.behavior)
            .field("state", &state)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl PhoneChannel {
    /// A QR-flow session: `qr` is the scanned code, `eid` the plaintext this phone advertises.
    pub fn qr(
        qr: &QrPayload,
        eid: &EidPlaintext,
        profile: PhoneProfile,
        behavior: PhoneBehavior,
    ) -> Self {
        let keys = HandshakeKeys::Qr {
            psk: qr.psk(&eid.to_bytes()),
            desktop: qr.public_key.clone(),
            offers_linking: qr.supports_linking == Some(true),
        };
        Self::new(keys, profile, behavior)
    }

    /// A linked-flow session (§9.6): `link_secret` belongs to the link the desktop named,
    /// `eid` is the plaintext advertised under that link's EID key, and `identity` is the
    /// phone's long-term key. No update message is sent in this flow.
    pub fn linked(
        link_secret: &LinkSecret,
        eid: &EidPlaintext,
        identity: IdentityKey,
        profile: PhoneProfile,
        behavior: PhoneBehavior,
    ) -> Self {
        let keys = HandshakeKeys::Linked {
            psk: cable_keys::psk(link_secret.expose(), &eid.to_bytes()),
            identity,
        };
        Self::new(keys, profile, behavior)
    }

    fn new(keys: HandshakeKeys, profile: PhoneProfile, behavior: PhoneBehavior) -> Self {
        Self {
            keys,
            profile,
            behavior,
            authenticator: Authenticator::new(profile.ctap_profile(), CredentialStore::new()),
            linking: None,
            rng: Box::new(OsRng),
            machine: None,
            events: Vec::new(),
            end: None,
            store_changed: false,
            linking_sent: None,
            outbox: std::collections::VecDeque::new(),
            waits: None,
        }
    }

    /// Bounds the session's waits: the desktop's handshake must come within `handshake` of
    /// `now` (advertising starts), and each of its later messages within `idle` of the
    /// previous exchange. The limits are deadlines of the state machine; the driver sleeps
    /// until [`Self::poll_timeout`] and then calls [`Self::handle_timeout`].
    pub fn with_waits(
        mut self,
        now: Instant,
        handshake: std::time::Duration,
        idle: std::time::Duration,
    ) -> Self {
        self.waits = Some(Waits {
            since: now,
            handshake,
            idle,
        });
        self
    }

    /// When [`Self::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.end.is_some() {
            return None;
        }
        match &self.machine {
            None => self.waits.map(|w| w.since + w.handshake),
            Some(machine) => machine.poll_timeout(),
        }
    }

    /// A deadline from [`Self::poll_timeout`] passed: the session ends with the reason
    /// (the desktop never connected, or went silent). Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<Vec<Outgoing>> {
        if self.poll_timeout().is_none_or(|at| at > now) {
            return Ok(Vec::new());
        }
        let Some(machine) = self.machine.as_mut() else {
            let waited = self.waits.map(|w| w.handshake).unwrap_or_default();
            return Err(self.fail(PhoneError::DesktopNeverConnected { waited }));
        };
        machine.handle_timeout(now);
        self.process(now)
    }

    /// Uses these passkeys (default: none).
    pub fn with_store(mut self, store: CredentialStore) -> Self {
        self.authenticator = Authenticator::new(self.profile.ctap_profile(), store);
        self
    }

    /// Offers linking information from `provider` when the QR code asks for it (default:
    /// [`crate::NoLinking`]). Only Android profiles send update messages, so only they can link.
    pub fn with_linking(mut self, provider: impl LinkingProvider + 'static) -> Self {
        self.linking = Some(Box::new(provider));
        self
    }

    /// Draws ephemeral keys, credential keys and link IDs from `rng` (default: the OS).
    pub fn with_rng(mut self, rng: impl CryptoRngCore + Send + 'static) -> Self {
        self.rng = Box::new(rng);
        self
    }

    pub fn profile(&self) -> PhoneProfile {
        self.profile
    }

    pub fn behavior(&self) -> &PhoneBehavior {
        &self.behavior
    }

    /// The passkeys, including any this session created or used.
    pub fn store(&self) -> &CredentialStore {
        self.authenticator.store()
    }

    pub fn into_store(self) -> CredentialStore {
        self.authenticator.into_store()
    }

    /// True once a request created a passkey or bumped a signature counter: save the store.
    pub fn store_changed(&self) -> bool {
        self.store_changed
    }

    /// The link ID of the linking information this session sent the desktop, once sent: the
    /// driver records it so a later wake-up naming it can be answered.
    pub fn linking_sent(&self) -> Option<[u8; 8]> {
        self.linking_sent
    }

    /// The Noise handshake hash, once the channel is open.
    pub fn handshake_hash(&self) -> Option<[u8; 32]> {
        self.machine.as_ref().and_then(Phone::handshake_hash)
    }

    /// How the session ended, once it has.
    pub fn end(&self) -> Option<&SessionEnd> {
        self.end.as_ref()
    }

    pub fn is_ended(&self) -> bool {
        self.end.is_some()
    }

    /// True while the desktop's handshake has not arrived (the phone keeps advertising).
    pub fn awaiting_handshake(&self) -> bool {
        self.machine.is_none() && self.end.is_none()
    }

    /// The events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<PhoneEvent> {
        std::mem::take(&mut self.events)
    }

    /// Handles one binary message from the tunnel. An error ends the session: close the
    /// tunnel (the error says why).
    pub fn on_message(&mut self, message: &[u8]) -> Result<Vec<Outgoing>> {
        if self.end.is_some() {
            return Err(PhoneError::SessionEnded);
        }
        let now = Instant::now();
        if self.machine.is_none() {
            if self.behavior.vanishes_after(Stage::HandshakeReceived) {
                return Ok(self.vanish(Stage::HandshakeReceived, Vec::new()));
            }
            self.machine = Some(self.start(now));
        }
        let machine = self.machine.as_mut().expect("made above");
        machine.handle_message(now, message);
        self.process(now)
    }

    /// The tunnel closed. Closing after the CTAP answer is the normal end; closing earlier is
    /// an error, as Chrome-Android reports it ("unexpected EOF").
    pub fn on_close(&mut self) -> Result<()> {
        if self.end.is_some() {
            return Ok(());
        }
        let Some(machine) = self.machine.as_mut() else {
            return Err(self.fail(PhoneError::DesktopClosed {
                during: "before the handshake",
            }));
        };
        machine.handle_close(Instant::now());
        self.process(Instant::now()).map(|_| ())
    }

    fn start(&mut self, now: Instant) -> Phone {
        let config = PhoneConfig {
            get_info: self.authenticator.get_info().to_cbor(),
            sends_update: self.profile.sends_update(),
            // The handshake has come (this is made on message 1); later waits are idle ones.
            handshake_wait: None,
            idle: self.waits.map(|w| w.idle),
        };
        match &self.keys {
            HandshakeKeys::Qr {
                psk,
                desktop,
                offers_linking,
            } => {
                let phone = Phone::qr(
                    now,
                    psk.clone(),
                    desktop.clone(),
                    *offers_linking,
                    config,
                    &mut self.rng,
                );
                match self.linking.take() {
                    Some(provider) => {
                        let links = rand::rngs::StdRng::from_rng(&mut self.rng)
                            .unwrap_or_else(|_| rand::rngs::StdRng::from_entropy());
                        phone.with_linking(provider, Box::new(links))
                    }
                    None => phone,
                }
            }
            HandshakeKeys::Linked { psk, identity } => {
                Phone::linked(now, psk.clone(), identity.clone(), config, &mut self.rng)
            }
        }
    }

    /// Acts on what the machine reported and collects what it queued.
    fn process(&mut self, now: Instant) -> Result<Vec<Outgoing>> {
        let mut vanish = None;
        let mut failure = None;
        while let Some(event) = self.machine.as_mut().and_then(Endpoint::poll_event) {
            match event {
                cable_hybrid::PhoneEvent::HandshakeCompleted { .. } => {
                    self.events.push(PhoneEvent::HandshakeCompleted);
                    if self.behavior.vanishes_after(Stage::HandshakeSent) {
                        vanish = Some(Stage::HandshakeSent);
                    }
                }
                cable_hybrid::PhoneEvent::PostHandshakeSent { features } => {
                    self.events.push(PhoneEvent::PostHandshakeSent { features });
                }
                cable_hybrid::PhoneEvent::UpdateSent { link_id } => {
                    self.linking_sent = link_id;
                    self.events.push(PhoneEvent::UpdateSent {
                        linking: link_id.is_some(),
                    });
                }
                cable_hybrid::PhoneEvent::GetInfoAnswered => {
                    let name = CommandCode::GetInfo.name();
                    self.received(name);
                    self.responded(name, CtapStatus::Ok);
                }
                cable_hybrid::PhoneEvent::Request { command, raw } => {
                    if let Some(stage) = self.on_request(now, &command, &raw) {
                        vanish = Some(stage);
                    }
                }
                cable_hybrid::PhoneEvent::RequestRefused { command } => {
                    self.received(command.name());
                    self.events.push(PhoneEvent::RequestRefused {
                        command: command.name().into(),
                    });
                    self.responded(command.name(), CtapStatus::NotAllowed);
                }
                cable_hybrid::PhoneEvent::DesktopUpdateIgnored => {
                    self.events.push(PhoneEvent::DesktopUpdateIgnored);
                }
                cable_hybrid::PhoneEvent::Closed(Ok(end)) => self.on_end(end),
                cable_hybrid::PhoneEvent::Closed(Err(e)) => {
                    let error = self.phone_error(e);
                    failure = Some(self.fail(error));
                }
            }
        }
        if self.behavior.vanishes_after(Stage::PostHandshakeSent)
            && self
                .events
                .iter()
                .any(|e| matches!(e, PhoneEvent::PostHandshakeSent { .. }))
            && vanish.is_none()
            && self.end.is_none()
        {
            vanish = Some(Stage::PostHandshakeSent);
        }
        let mut out = Vec::new();
        while let Some(transmit) = self.machine.as_mut().and_then(Endpoint::poll_transmit) {
            match transmit {
                Transmit::Message(bytes) => out.push(Outgoing::Send(bytes)),
                Transmit::Close => out.push(Outgoing::Close),
            }
            // Gone right after the handshake answer: nothing after message 2 leaves.
            if vanish == Some(Stage::HandshakeSent) {
                break;
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }
        if let Some(stage) = vanish {
            return Ok(self.vanish(stage, out));
        }
        Ok(out)
    }

    fn on_end(&mut self, end: PhoneEnd) {
        match end {
            PhoneEnd::DesktopShutdown => self.finish(SessionEnd::DesktopShutdown),
            PhoneEnd::DesktopClosed => self.finish(SessionEnd::DesktopClosed),
            PhoneEnd::SelectionReceived => {
                self.received(CommandCode::Selection.name());
                self.finish(SessionEnd::SelectionReceived);
            }
            // Closed here: the end was recorded when it was decided.
            PhoneEnd::ClosedByPhone => {}
        }
    }

    /// makeCredential or getAssertion: ask the person, answer through the authenticator.
    /// Returns the stage to vanish after, if the behaviour says so.
    fn on_request(&mut self, now: Instant, command: &Command, request: &[u8]) -> Option<Stage> {
        let name = command.code().name();
        self.received(name);
        if self.behavior.vanishes_after(Stage::RequestReceived) {
            return Some(Stage::RequestReceived);
        }
        let person = Person::new(self.behavior.user);
        let response = self.authenticator.handle(request, &mut *self.rng, &person);
        if let Some((prompt, approved)) = person.answer.into_inner() {
            self.events
                .push(PhoneEvent::UserPrompted { prompt, approved });
            let closes = match self.behavior.user {
                UserChoice::Approve => false,
                UserChoice::NoAnswer => true,
                UserChoice::Deny => self.profile.cancel_style() == CancelStyle::CloseTunnel,
            };
            if !approved && closes {
                self.finish(SessionEnd::Cancelled);
                if let Some(machine) = &mut self.machine {
                    machine.close();
                }
                return None;
            }
        }
        if let Some(event) = self.credential_event(command, &response) {
            self.store_changed = true;
            self.events.push(event);
        }
        let status = match split_response(&response) {
            Ok((status, _)) => status,
            Err(_) => CtapStatus::Other,
        };
        if let Some(machine) = &mut self.machine {
            if let Err(e) = machine.respond(now, response) {
                let error = self.phone_error(e);
                let _ = self.fail(error);
                return None;
            }
        }
        self.responded(name, status);
        self.behavior
            .vanishes_after(Stage::ResponseSent)
            .then_some(Stage::ResponseSent)
    }

    /// The passkey a successful answer created or used, read back from the store.
    fn credential_event(&self, command: &Command, response: &[u8]) -> Option<PhoneEvent> {
        let store = self.authenticator.store();
        match command {
            Command::MakeCredential(request) => {
                let made: MakeCredentialResponse = decode_response(response).ok()?;
                let auth_data = AuthenticatorData::parse(&made.auth_data).ok()?;
                let attested = auth_data.attested_credential?;
                let stored = store.find(&request.rp.id, attested.credential_id())?;
                Some(PhoneEvent::CredentialCreated(stored.into()))
            }
            Command::GetAssertion(request) => {
                let asserted: GetAssertionResponse = decode_response(response).ok()?;
                let stored = store.find(&request.rp_id, &asserted.credential?.id)?;
                Some(PhoneEvent::CredentialUsed(CredentialRecord::from(stored)))
            }
            _ => None,
        }
    }

    fn received(&mut self, command: &str) {
        self.events.push(PhoneEvent::RequestReceived {
            command: command.into(),
        });
    }

    fn responded(&mut self, command: &str, status: CtapStatus) {
        self.events.push(PhoneEvent::Responded {
            command: command.into(),
            status: StatusRecord::from(status),
        });
    }

    fn vanish(&mut self, after: Stage, mut out: Vec<Outgoing>) -> Vec<Outgoing> {
        self.finish(SessionEnd::Vanished { after });
        if let Some(machine) = &mut self.machine {
            machine.close();
        }
        out.retain(|o| *o != Outgoing::Close);
        out.push(Outgoing::Close);
        out
    }

    fn finish(&mut self, end: SessionEnd) {
        if self.end.is_some() {
            return;
        }
        self.events.push(PhoneEvent::Ended(end.clone()));
        self.end = Some(end);
    }

    /// The machine's failures in the software phone's words.
    fn phone_error(&self, e: cable_hybrid::Error) -> PhoneError {
        match e {
            cable_hybrid::Error::Timeout { after, .. } => PhoneError::DesktopSilent {
                waited: after,
                during: if self.events.iter().any(|e| {
                    matches!(e, PhoneEvent::Responded { command, .. }
                        if command != CommandCode::GetInfo.name())
                }) {
                    "after the CTAP answer (no shutdown came)"
                } else {
                    "after the handshake (no CTAP request came)"
                },
            },
            other => phone_error(other),
        }
    }

    /// Ends the session because of `error`, and hands the error back.
    fn fail(&mut self, error: PhoneError) -> PhoneError {
        self.finish(SessionEnd::Failed {
            reason: error.to_string(),
        });
        error
    }
}

/// The software phone as an [`Endpoint`], so a [`cable_hybrid::pair::Pair`] can run it against
/// the real desktop state machine. It has no deadlines of its own: the runner bounds its
/// waits.
impl Endpoint for PhoneChannel {
    type Event = PhoneEvent;

    fn handle_message(&mut self, _now: Instant, message: &[u8]) {
        let out = self
            .on_message(message)
            .unwrap_or_else(|_| vec![Outgoing::Close]);
        self.outbox.extend(out.into_iter().map(|o| match o {
            Outgoing::Send(bytes) => Transmit::Message(bytes),
            Outgoing::Close => Transmit::Close,
        }));
    }

    fn handle_close(&mut self, _now: Instant) {
        let _ = self.on_close();
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    fn poll_event(&mut self) -> Option<PhoneEvent> {
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_closed(&self) -> bool {
        self.end.is_some()
    }
}

/// The machine's failures in the software phone's words.
fn phone_error(e: cable_hybrid::Error) -> PhoneError {
    use cable_hybrid::Error as E;
    match e {
        E::Handshake(e) => PhoneError::Handshake(e),
        E::Protocol(e) => PhoneError::Channel(e),
        E::InvalidRequest(e) => PhoneError::InvalidRequest(e.to_string()),
        E::Violation(v) => match v {
            Violation::InvalidUpdate => {
                PhoneError::InvalidUpdate("the desktop's update message is not CBOR".into())
            }
            Violation::UnsupportedCommand(c) => PhoneError::UnsupportedCommand(c),
            Violation::Unexpected(_) => PhoneError::UnsupportedMessage("JSON (digital credential)"),
            other => PhoneError::InvalidRequest(other.to_string()),
        },
        E::Disconnected { .. } => PhoneError::DesktopClosed {
            during: "after the handshake, before sending a request",
        },
        // Timeouts are named by `PhoneChannel::phone_error`, which knows the stage.
        E::Timeout { .. } | E::PeerShutdown { .. } | E::Cancelled => PhoneError::SessionEnded,
    }
}

/// The person holding the phone: answers every prompt with the configured choice and
/// remembers what was asked.
struct Person {
    choice: UserChoice,
    answer: RefCell<Option<(String, bool)>>,
}

impl Person {
    fn new(choice: UserChoice) -> Self {
        Self {
            choice,
            answer: RefCell::new(None),
        }
    }
}

impl UserAction for Person {
    fn approve(&self, prompt: &Prompt<'_>) -> bool {
        let approved = self.choice == UserChoice::Approve;
        *self.answer.borrow_mut() = Some((describe(prompt), approved));
        approved
    }

    /// A phone shows its own account picker, so the desktop gets one assertion with
    /// `userSelected` rather than a list to page through with getNextAssertion. The person
    /// picks the most recent account, which the store lists first.
    fn choose_account(&self, accounts: &[AccountInfo]) -> Option<usize> {
        (!accounts.is_empty()).then_some(0)
    }
}

fn describe(prompt: &Prompt<'_>) -> String {
    match prompt {
        Prompt::Register {
            rp_id,
            user_name,
            user_display_name,
            ..
        } => {
            let who = user_name.or(*user_display_name).unwrap_or("an account");
            format!("create a passkey for {who} on {rp_id}")
        }
        Prompt::SignIn { rp_id, accounts } => {
            format!("sign in to {rp_id} ({} matching passkeys)", accounts.len())
        }
        Prompt::Select => "use this phone".into(),
        _ => "approve a request".into(),
    }
}
