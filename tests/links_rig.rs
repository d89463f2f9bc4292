//! Linked phones on loopback: the [`rig`](crate::rig) with an engine that offers linking and
//! keeps links in a real [`LinkStore`] (SQLite file, key file) in a temporary folder, software
//! phones with state files of their own, a phone waiting to be woken, and a phone driven by
//! hand whose linking data the test chooses.

use crate::requests::{self, Expected};
use crate::rig::{
    fast_timeouts, phone_result, spawn_phone, within, Outcome, Rig, Session, ADVERT_INTERVAL,
};
use crate::verify::{self, Passkey};
use cable_ble::VirtualRadioAdvertiser;
use cable_keys::PublicKey;
use cable_phone::{
    LinkedConfig, LinkedEvent, LinkingProvider, Outgoing, PhoneBehavior, PhoneChannel, PhoneConfig,
    PhoneError, PhoneEvent, PhoneProfile, PhoneReport,
};
use cable_qr::QrPayload;
use cable_store::{KeySource, Link, LinkStore, LinkSummary};
use cable_tunnel::client::{connect, ClientOptions, TunnelRequest};
use cable_tunnel::{LinkingInfo, TunnelBase};
use cabled::engine::{
    Engine, EngineConfig, RadioConfig, Route, SessionEvent, Timeouts, TunnelConfig, WebAuthnRequest,
};
use cabled::store_book::StoreBook;
use rand_core::{CryptoRngCore, OsRng};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The Android profile's tunnel domain (Google), which the software phone names in its advert
/// when it uses an override tunnel URL, and which the desktop stores with the link.
pub const ANDROID_DOMAIN: u16 = 0;

/// A rig whose engine offers linking and keeps links in a persistent store.
pub struct LinkRig {
    pub rig: Rig,
    /// The engine's link book: the store file behind a mutex, as the daemon has it.
    pub book: Arc<StoreBook>,
    /// The store file (`links.db`; its key is `links.key` next to it).
    pub store_path: PathBuf,
    dir: tempfile::TempDir,
}

impl LinkRig {
    pub async fn new() -> Self {
        Self::with_timeouts(fast_timeouts()).await
    }

    pub async fn with_timeouts(timeouts: Timeouts) -> Self {
        let mut rig = Rig::with_timeouts(timeouts).await;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store_path = dir.path().join("data").join("cable").join("links.db");
        let store = LinkStore::open_with(&store_path, KeySource::File)
            .unwrap_or_else(|e| panic!("the link store opens: {e}"));
        assert_eq!(store.key_source(), KeySource::File);
        let book = Arc::new(StoreBook::new(store));
        let config = EngineConfig {
            tunnel: TunnelConfig::Override(rig.tunnel_url.clone()),
            radio: RadioConfig::Virtual(rig.radio),
            timeouts,
            linking: true,
            ..EngineConfig::default()
        };
        rig.engine = Engine::with_links(config, book.clone());
        Self {
            rig,
            book,
            store_path,
            dir,
        }
    }

    /// A second, independent connection to the store file: what is committed, not what the
    /// engine's connection may hold.
    pub fn store(&self) -> LinkStore {
        LinkStore::open_with(&self.store_path, KeySource::File)
            .unwrap_or_else(|e| panic!("the link store reopens: {e}"))
    }

    /// The linked phones as `cablectl devices list` would read them.
    pub fn listed(&self) -> Vec<LinkSummary> {
        self.store()
            .list()
            .unwrap_or_else(|e| panic!("the link store lists: {e}"))
    }

    /// The stored link (with its secret) of `device`; fails the test if there is none.
    pub fn link(&self, device: &str) -> Link {
        self.store()
            .get(device)
            .unwrap_or_else(|e| panic!("the link store reads {device}: {e}"))
            .unwrap_or_else(|| panic!("no stored link {device}"))
    }

    /// A path for a phone's state file (passkeys, linking identity, links given out).
    pub fn phone_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.json"))
    }

    /// An Android phone keeping its state in `state`, named `name` when it first links.
    pub fn qr_phone(&self, qr: &str, state: &Path, name: &str) -> PhoneConfig {
        self.rig
            .phone(qr)
            .with_store_path(state)
            .with_phone_name(name)
    }

    /// Starts a session on the engine that may reach the phone only as `route` says.
    pub fn start(&self, request: WebAuthnRequest, route: Route) -> Session {
        self.rig.start_via(request, route)
    }

    /// A QR ceremony (`Route::QrOnly`) with the phone configured by `phone` from the QR code.
    pub async fn qr_ceremony(
        &self,
        request: WebAuthnRequest,
        phone: impl FnOnce(&str) -> PhoneConfig,
    ) -> (Outcome, Result<PhoneReport, PhoneError>) {
        let mut session = self.start(request, Route::QrOnly);
        let qr = session.qr().await;
        let phone = spawn_phone(phone(&qr));
        let outcome = session.outcome().await;
        (outcome, phone_result(phone).await)
    }

    /// Registers a passkey with an Android phone keeping its state in `state`, which links
    /// this computer. Returns what the test needs to use the link.
    pub async fn link_phone(&self, state: &Path, name: &str, user: &str) -> Linked {
        let (request, expected) = requests::create(user);
        let (outcome, report) = self
            .qr_ceremony(request, |qr| self.qr_phone(qr, state, name))
            .await;
        let passkey = verify::registration(outcome.credential(), &expected);
        let report = report.expect("the linking phone reports");
        let (device, linked_name) = linked(&outcome).unwrap_or_else(|| {
            panic!(
                "the phone did not link; events: {:?}, phone: {report}",
                outcome.names()
            )
        });
        assert_eq!(linked_name, name, "the name in the linked event");
        Linked {
            device,
            passkey,
            report,
            outcome,
        }
    }

    /// A phone with state file `state` registered with this rig's push stand-in, serving
    /// one wake-up (see [`woken_phone`]).
    pub async fn woken_phone(&self, state: &Path) -> WokenPhone {
        woken_phone(state, &self.rig.tunnel_url, self.rig.radio).await
    }

    /// A sign-in through `route` that a woken phone answers: the phone registers first, then
    /// the session starts. Returns the outcome and the phone's report.
    pub async fn linked_sign_in(
        &self,
        state: &Path,
        route: Route,
    ) -> (Outcome, Expected, Result<PhoneReport, PhoneError>) {
        let phone = self.woken_phone(state).await;
        let (request, expected) = requests::get();
        let outcome = self.start(request, route).outcome().await;
        (outcome, expected, phone.result().await)
    }
}

/// A phone with state file `state` registered with the push stand-in of the tunnel server at
/// `tunnel_url`, serving one wake-up; returns once it is registered (contact requests before
/// that get 410 from the server).
pub async fn woken_phone(state: &Path, tunnel_url: &str, radio: SocketAddr) -> WokenPhone {
    let config = LinkedConfig::new(state, tunnel_url, radio)
        .once(true)
        .with_advert_interval(ADVERT_INTERVAL)
        .with_timeouts(cable_phone::Timeouts::all(Duration::from_secs(10)))
        .with_wake_wait(Duration::from_secs(10));
    let (tx, mut events) = mpsc::unbounded_channel();
    let task = tokio::spawn(cable_phone::run_linked_with_events(config, Some(tx)));
    let links = within("the linked phone registers for wake-ups", async {
        match events.recv().await {
            Some(LinkedEvent::Registered { links, .. }) => links,
            Some(other) => panic!("the linked phone reported {other:?} before registering"),
            None => panic!("the linked phone stopped before registering"),
        }
    })
    .await;
    WokenPhone {
        task,
        events,
        links,
    }
}

/// A phone that linked in a QR registration.
pub struct Linked {
    /// The device ID the desktop gave the link (`linked` event).
    pub device: String,
    /// The passkey the phone registered, to verify later sign-ins with.
    pub passkey: Passkey,
    pub report: PhoneReport,
    pub outcome: Outcome,
}

/// A phone registered for wake-ups, serving one session.
pub struct WokenPhone {
    task: JoinHandle<Result<PhoneReport, PhoneError>>,
    pub events: mpsc::UnboundedReceiver<LinkedEvent>,
    /// How many links the phone had given out when it registered.
    pub links: usize,
}

impl WokenPhone {
    /// Waits for the phone's one session to end.
    pub async fn result(self) -> Result<PhoneReport, PhoneError> {
        within("the woken phone ends", self.task)
            .await
            .expect("the woken phone's task panicked")
    }

    /// Stops the phone without letting it unregister (a phone that lost its network).
    pub fn abort(self) {
        self.task.abort();
    }
}

// --- reading a session's events ---

/// An event's field, as `cablectl --json` prints it.
pub fn field(event: &SessionEvent, name: &str) -> Value {
    event.to_json()[name].clone()
}

/// Every event named `name`, as JSON objects.
pub fn events_named(outcome: &Outcome, name: &str) -> Vec<Value> {
    outcome
        .events
        .iter()
        .filter(|e| e.name() == name)
        .map(SessionEvent::to_json)
        .collect()
}

/// The one event named `name`; fails the test if there is none or more than one.
pub fn one_event(outcome: &Outcome, name: &str) -> Value {
    let mut found = events_named(outcome, name);
    assert_eq!(
        found.len(),
        1,
        "expected one {name} event; events: {:?}",
        outcome.names()
    );
    found.remove(0)
}

/// `(device, name)` of the session's `linked` event, if it linked.
pub fn linked(outcome: &Outcome) -> Option<(String, String)> {
    let event = events_named(outcome, "linked").into_iter().next()?;
    let text = |key: &str| event[key].as_str().map(str::to_string);
    Some((
        text("device").expect("linked.device"),
        text("name").expect("linked.name"),
    ))
}

/// `(path, device)` of the session's `path` event: which way reached the phone.
pub fn path(outcome: &Outcome) -> (String, Option<String>) {
    let event = one_event(outcome, "path");
    (
        event["path"].as_str().expect("path.path").to_string(),
        event["device"].as_str().map(str::to_string),
    )
}

/// Verifies a sign-in with `passkey` and moves its signature counter on.
pub fn verify_sign_in(outcome: &Outcome, expected: &Expected, passkey: &mut Passkey) {
    passkey.sign_count = verify::assertion(outcome.credential(), expected, passkey);
}

// --- a phone driven by hand, whose linking data the test chooses ---

/// Runs one QR session as an Android phone whose linking data comes from `linking`, driving
/// cable-phone's sans-IO [`PhoneChannel`] over a real tunnel and the virtual radio. Passkeys
/// live in memory. Returns the channel's events.
pub async fn hand_driven_phone(
    qr_url: String,
    tunnel_url: String,
    radio: SocketAddr,
    linking: impl LinkingProvider + 'static,
) -> Result<Vec<PhoneEvent>, String> {
    let qr = QrPayload::parse_url(&qr_url).map_err(|e| format!("the QR code: {e}"))?;
    let options = ClientOptions {
        base: TunnelBase::Override(tunnel_url),
        connect_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    };
    let mut socket = connect(
        TunnelRequest::New {
            tunnel_id: qr.tunnel_id(),
        },
        &options,
    )
    .await
    .map_err(|e| format!("opening the tunnel: {e}"))?;
    let routing_id = socket
        .routing_id()
        .ok_or("the tunnel server assigned no routing ID")?;
    let eid = cable_phone::advert::qr_eid(routing_id, ANDROID_DOMAIN, &mut OsRng);
    let profile = PhoneProfile::Android;
    let advertiser = VirtualRadioAdvertiser::start(
        radio,
        profile.advert_uuid(),
        cable_phone::advert::service_data(&qr.eid_key(), &eid).to_vec(),
        ADVERT_INTERVAL,
    )
    .await
    .map_err(|e| format!("advertising: {e}"))?;
    let mut advertiser = Some(advertiser);
    let mut channel =
        PhoneChannel::qr(&qr, &eid, profile, PhoneBehavior::approve()).with_linking(linking);
    let mut events = Vec::new();
    let idle = Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(idle, socket.recv())
            .await
            .map_err(|_| format!("the desktop said nothing for {idle:?}"))?
            .map_err(|e| format!("the tunnel: {e}"))?;
        if let Some(advertiser) = advertiser.take() {
            advertiser.stop().await;
        }
        let Some(message) = message else {
            let closed = channel.on_close();
            events.extend(channel.take_events());
            closed.map_err(|e| e.to_string())?;
            return Ok(events);
        };
        let outgoing = channel.on_message(&message);
        events.extend(channel.take_events());
        for out in outgoing.map_err(|e| e.to_string())? {
            match out {
                Outgoing::Send(bytes) => socket
                    .send(&bytes)
                    .await
                    .map_err(|e| format!("sending: {e}"))?,
                Outgoing::Close => {
                    let _ = socket.close().await;
                    return Ok(events);
                }
            }
        }
    }
}

/// Linking data that claims `phone_public_key` but is signed with another identity key, as
/// someone without the phone's private key would have to sign it.
pub struct ForgedLinking {
    pub phone_public_key: PublicKey,
    pub name: String,
    pub contact_id: Vec<u8>,
}

impl LinkingProvider for ForgedLinking {
    fn linking_info(
        &mut self,
        desktop: &PublicKey,
        handshake_hash: &[u8; 32],
        mut rng: &mut dyn CryptoRngCore,
    ) -> Option<LinkingInfo> {
        let forger = cable_keys::IdentityKey::generate(&mut rng);
        let mut link_id = [0u8; 8];
        rng.fill_bytes(&mut link_id);
        let mut link_secret = [0u8; 32];
        rng.fill_bytes(&mut link_secret);
        Some(LinkingInfo {
            contact_id: self.contact_id.clone(),
            link_id,
            link_secret: cable_keys::Secret::new(link_secret),
            phone_public_key: self.phone_public_key.uncompressed(),
            name: self.name.clone(),
            signature: cable_tunnel::handshake_signature(&forger, desktop, handshake_hash),
            play_services: false,
        })
    }
}

/// A genuine phone's linking data signed over another session's handshake hash (a replay).
pub struct ReplayedLinking(pub cable_phone::LinkIdentity);

impl LinkingProvider for ReplayedLinking {
    fn linking_info(
        &mut self,
        desktop: &PublicKey,
        _handshake_hash: &[u8; 32],
        rng: &mut dyn CryptoRngCore,
    ) -> Option<LinkingInfo> {
        let other_session = [0x5a; 32];
        self.0.linking_info(desktop, &other_session, rng)
    }
}

// --- links written straight into a store ---

/// Stores a link for a phone that does not exist (random identity key, contact ID, link ID and
/// secret), as a QR session would have stored it; returns its device ID. Contacting it gets
/// 410 from any tunnel server, since no phone ever registered its contact ID.
pub fn seed_link(store_path: &Path, name: &str) -> String {
    let store = LinkStore::open_with(store_path, KeySource::File)
        .unwrap_or_else(|e| panic!("the link store opens: {e}"));
    let mut contact_id = vec![0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut contact_id);
    let mut link_id = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut link_id);
    let link = cable_store::NewLink {
        contact_id,
        link_id,
        secret: cable_keys::Secret::random(&mut OsRng),
        phone_public_key: cable_keys::IdentityKey::generate(&mut OsRng).public_key(),
        name: name.to_string(),
        tunnel_domain_id: ANDROID_DOMAIN,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    store
        .upsert(&link, now)
        .unwrap_or_else(|e| panic!("the link is stored: {e}"))
        .to_string()
}
