//! The phone's side of one hybrid session, sans-IO (HYBRID.md §6–§8, §13.3).
//!
//! A [`PhoneChannel`] is fed every binary message the tunnel delivers and answers with what to
//! send. The first message is the desktop's Noise message 1; the reply is message 2, the
//! post-handshake message and (Android, QR flow) an update message. After that the desktop may
//! send one makeCredential or getAssertion (getInfo any number of times), and ends with a
//! shutdown. The channel holds no socket and no clock; randomness comes from an RNG the caller
//! can seed ([`PhoneChannel::with_rng`]).
//!
//! Request handling follows Chrome-Android's phone (`CTAP2Processor`): a request that does not
//! parse, an unknown command, a JSON message or an update that is not CBOR end the session
//! without a CTAP reply (an error); authenticatorSelection ends it too. A second
//! makeCredential/getAssertion is refused with `CTAP2_ERR_NOT_ALLOWED`, since phones handle one
//! operation per connection.

use std::cell::RefCell;

use cable_ble::EidPlaintext;
use cable_ctap::auth_data::AuthenticatorData;
use cable_ctap::command::{decode_response, encode_error, encode_response, split_response};
use cable_ctap::{
    AccountInfo, Authenticator, CborMessage, Command, CommandCode, CredentialStore, CtapStatus,
    GetAssertionResponse, MakeCredentialResponse, Prompt, UserAction,
};
use cable_keys::{IdentityKey, LinkSecret, Psk, PublicKey};
use cable_qr::QrPayload;
use cable_tunnel::post_handshake::FEATURE_CTAP;
use cable_tunnel::{
    respond_linked, respond_qr, Crypter, Frame, PostHandshake, Revision, UpdateMessage,
};
use rand_core::{CryptoRngCore, OsRng};

use crate::events::{CredentialRecord, PhoneEvent, SessionEnd, StatusRecord};
use crate::linking::{LinkingProvider, NoLinking};
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

enum State {
    AwaitingHandshake,
    Open(Box<Open>),
    Ended,
}

/// An established encrypted channel.
struct Open {
    crypter: Crypter,
    handshake_hash: [u8; 32],
    /// Set once a makeCredential/getAssertion has been handled.
    answered: bool,
}

/// The phone's session state machine. See the module documentation.
pub struct PhoneChannel {
    keys: HandshakeKeys,
    profile: PhoneProfile,
    behavior: PhoneBehavior,
    authenticator: Authenticator,
    linking: Box<dyn LinkingProvider>,
    rng: Box<dyn CryptoRngCore + Send>,
    state: State,
    events: Vec<PhoneEvent>,
    end: Option<SessionEnd>,
    store_changed: bool,
    /// The link ID of the linking information sent in this session, if any.
    linking_sent: Option<[u8; 8]>,
}

impl std::fmt::Debug for PhoneChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::AwaitingHandshake => "awaiting handshake",
            State::Open(open) if open.answered => "answered",
            State::Open(_) => "awaiting request",
            State::Ended => "ended",
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
            linking: Box::new(NoLinking),
            rng: Box::new(OsRng),
            state: State::AwaitingHandshake,
            events: Vec::new(),
            end: None,
            store_changed: false,
            linking_sent: None,
        }
    }

    /// Uses these passkeys (default: none).
    pub fn with_store(mut self, store: CredentialStore) -> Self {
        self.authenticator = Authenticator::new(self.profile.ctap_profile(), store);
        self
    }

    /// Offers linking information from `provider` when the QR code asks for it (default:
    /// [`NoLinking`]). Only Android profiles send update messages, so only they can link.
    pub fn with_linking(mut self, provider: impl LinkingProvider + 'static) -> Self {
        self.linking = Box::new(provider);
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
        match &self.state {
            State::Open(open) => Some(open.handshake_hash),
            _ => None,
        }
    }

    /// How the session ended, once it has.
    pub fn end(&self) -> Option<&SessionEnd> {
        self.end.as_ref()
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.state, State::Ended)
    }

    /// True while the desktop's handshake has not arrived (the phone keeps advertising).
    pub fn awaiting_handshake(&self) -> bool {
        matches!(self.state, State::AwaitingHandshake)
    }

    /// The events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<PhoneEvent> {
        std::mem::take(&mut self.events)
    }

    /// Handles one binary message from the tunnel. An error ends the session: close the
    /// tunnel (the error says why).
    pub fn on_message(&mut self, message: &[u8]) -> Result<Vec<Outgoing>> {
        match std::mem::replace(&mut self.state, State::Ended) {
            State::AwaitingHandshake => self.on_handshake(message),
            State::Open(open) => self.on_transport(open, message),
            State::Ended => Err(PhoneError::SessionEnded),
        }
    }

    /// The tunnel closed. Closing after the CTAP answer is the normal end; closing earlier is
    /// an error, as Chrome-Android reports it ("unexpected EOF").
    pub fn on_close(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.state, State::Ended) {
            State::Ended => Ok(()),
            State::AwaitingHandshake => Err(self.fail(PhoneError::DesktopClosed {
                during: "before the handshake",
            })),
            State::Open(open) if !open.answered => Err(self.fail(PhoneError::DesktopClosed {
                during: "after the handshake, before sending a request",
            })),
            State::Open(_) => {
                self.finish(SessionEnd::DesktopClosed);
                Ok(())
            }
        }
    }

    fn on_handshake(&mut self, message1: &[u8]) -> Result<Vec<Outgoing>> {
        if self.behavior.vanishes_after(Stage::HandshakeReceived) {
            return Ok(self.vanish(Stage::HandshakeReceived, Vec::new()));
        }
        let answer = match &self.keys {
            HandshakeKeys::Qr { psk, desktop, .. } => {
                respond_qr(psk, desktop, message1, &mut self.rng)
            }
            HandshakeKeys::Linked { psk, identity } => {
                respond_linked(psk, identity, message1, &mut self.rng)
            }
        };
        let (message2, result) = answer.map_err(|e| self.fail(PhoneError::Handshake(e)))?;
        self.events.push(PhoneEvent::HandshakeCompleted);
        let mut out = vec![Outgoing::Send(message2)];
        if self.behavior.vanishes_after(Stage::HandshakeSent) {
            return Ok(self.vanish(Stage::HandshakeSent, out));
        }

        let mut open = Box::new(Open {
            crypter: result.crypter,
            handshake_hash: result.handshake_hash,
            answered: false,
        });
        let features = vec![FEATURE_CTAP.to_string()];
        let post_handshake = PostHandshake {
            get_info: Some(self.authenticator.get_info().to_cbor()),
            linking: None,
            features: features.clone(),
        }
        .encode(Revision::One);
        out.push(self.seal(&mut open, &post_handshake)?);
        self.events.push(PhoneEvent::PostHandshakeSent { features });

        if let Some(update) = self.update_message(&open.handshake_hash) {
            let linking = update.linking.is_some();
            self.linking_sent = update.linking.as_ref().map(|l| l.link_id);
            out.push(self.seal(&mut open, &Frame::Update(update.encode()).encode())?);
            self.events.push(PhoneEvent::UpdateSent { linking });
        }
        if self.behavior.vanishes_after(Stage::PostHandshakeSent) {
            return Ok(self.vanish(Stage::PostHandshakeSent, out));
        }
        self.state = State::Open(open);
        Ok(out)
    }

    /// The update message to send right after the post-handshake message, if any: only in the
    /// QR flow, only for profiles that send one; with linking data only if the QR code offered
    /// linking and the provider has some (§7.6, §9.1).
    fn update_message(&mut self, handshake_hash: &[u8; 32]) -> Option<UpdateMessage> {
        let HandshakeKeys::Qr {
            desktop,
            offers_linking,
            ..
        } = &self.keys
        else {
            return None;
        };
        if !self.profile.sends_update() {
            return None;
        }
        let linking = if *offers_linking {
            self.linking
                .linking_info(desktop, handshake_hash, &mut *self.rng)
        } else {
            None
        };
        Some(UpdateMessage { linking })
    }

    fn on_transport(&mut self, open: Box<Open>, message: &[u8]) -> Result<Vec<Outgoing>> {
        let mut open = open;
        let plaintext = open
            .crypter
            .decrypt(message)
            .map_err(|e| self.fail(PhoneError::Channel(e)))?;
        let frame = Frame::decode(&plaintext).map_err(|e| self.fail(PhoneError::Channel(e)))?;
        match frame {
            Frame::Shutdown => {
                self.finish(SessionEnd::DesktopShutdown);
                Ok(vec![Outgoing::Close])
            }
            Frame::Update(payload) => {
                // Desktop updates carry nothing defined yet, but must be CBOR (Chromium).
                cable_keys::cbor::from_slice(&payload)
                    .map_err(|e| self.fail(PhoneError::InvalidUpdate(e.to_string())))?;
                self.events.push(PhoneEvent::DesktopUpdateIgnored);
                self.state = State::Open(open);
                Ok(Vec::new())
            }
            Frame::Json(_) => {
                Err(self.fail(PhoneError::UnsupportedMessage("JSON (digital credential)")))
            }
            Frame::Ctap(request) => self.on_ctap(open, &request),
        }
    }

    fn on_ctap(&mut self, mut open: Box<Open>, request: &[u8]) -> Result<Vec<Outgoing>> {
        let Some((&command, payload)) = request.split_first() else {
            return Err(self.fail(PhoneError::InvalidRequest(
                "the CTAP message is empty; it must start with a command byte".into(),
            )));
        };
        match CommandCode::from_u8(command) {
            Some(CommandCode::GetInfo) => {
                let name = CommandCode::GetInfo.name();
                if !payload.is_empty() {
                    return Err(self.fail(no_parameters(name, payload.len())));
                }
                self.received(name);
                let response = encode_response(&self.authenticator.get_info().to_cbor());
                let out = self.respond(&mut open, name, response)?;
                self.state = State::Open(open);
                Ok(out)
            }
            Some(CommandCode::MakeCredential | CommandCode::GetAssertion) => {
                self.on_operation(open, request)
            }
            Some(CommandCode::Selection) => {
                let name = CommandCode::Selection.name();
                if !payload.is_empty() {
                    return Err(self.fail(no_parameters(name, payload.len())));
                }
                self.received(name);
                self.finish(SessionEnd::SelectionReceived);
                Ok(vec![Outgoing::Close])
            }
            Some(CommandCode::GetNextAssertion) | None => {
                Err(self.fail(PhoneError::UnsupportedCommand(command)))
            }
        }
    }

    /// makeCredential or getAssertion: ask the person, answer through the authenticator.
    fn on_operation(&mut self, mut open: Box<Open>, request: &[u8]) -> Result<Vec<Outgoing>> {
        let command = Command::decode(request)
            .map_err(|e| self.fail(PhoneError::InvalidRequest(e.to_string())))?;
        let name = command.code().name();
        self.received(name);
        if open.answered {
            self.events.push(PhoneEvent::RequestRefused {
                command: name.into(),
            });
            let out = self.respond(&mut open, name, encode_error(CtapStatus::NotAllowed))?;
            self.state = State::Open(open);
            return Ok(out);
        }
        if self.behavior.vanishes_after(Stage::RequestReceived) {
            return Ok(self.vanish(Stage::RequestReceived, Vec::new()));
        }

        let person = Person::new(self.behavior.user);
        let response = self.authenticator.handle(request, &mut *self.rng, &person);
        open.answered = true;
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
                return Ok(vec![Outgoing::Close]);
            }
        }
        if let Some(event) = self.credential_event(&command, &response) {
            self.store_changed = true;
            self.events.push(event);
        }
        let out = self.respond(&mut open, name, response)?;
        if self.behavior.vanishes_after(Stage::ResponseSent) {
            return Ok(self.vanish(Stage::ResponseSent, out));
        }
        self.state = State::Open(open);
        Ok(out)
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

    /// Encrypts a CTAP answer (`status || CBOR`) in a CTAP frame.
    fn respond(
        &mut self,
        open: &mut Open,
        command: &str,
        response: Vec<u8>,
    ) -> Result<Vec<Outgoing>> {
        let status = match split_response(&response) {
            Ok((status, _)) => status,
            Err(_) => CtapStatus::Other,
        };
        let sent = self.seal(open, &Frame::Ctap(response).encode())?;
        self.events.push(PhoneEvent::Responded {
            command: command.into(),
            status: StatusRecord::from(status),
        });
        Ok(vec![sent])
    }

    fn seal(&mut self, open: &mut Open, plaintext: &[u8]) -> Result<Outgoing> {
        open.crypter
            .encrypt(plaintext)
            .map(Outgoing::Send)
            .map_err(|e| self.fail(PhoneError::Channel(e)))
    }

    fn vanish(&mut self, after: Stage, mut out: Vec<Outgoing>) -> Vec<Outgoing> {
        self.finish(SessionEnd::Vanished { after });
        out.push(Outgoing::Close);
        out
    }

    fn finish(&mut self, end: SessionEnd) {
        self.state = State::Ended;
        self.events.push(PhoneEvent::Ended(end.clone()));
        self.end = Some(end);
    }

    /// Ends the session because of `error`, and hands the error back.
    fn fail(&mut self, error: PhoneError) -> PhoneError {
        self.finish(SessionEnd::Failed {
            reason: error.to_string(),
        });
        error
    }
}

fn no_parameters(command: &str, len: usize) -> PhoneError {
    PhoneError::InvalidRequest(format!(
        "{command} takes no parameters, but {len} bytes followed the command byte"
    ))
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
