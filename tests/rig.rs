//! The loopback rig: a local tunnel server, a virtual-radio address and a desktop engine with
//! short timeouts, plus sessions whose progress events a test can wait for.

use cable_phone::{PhoneConfig, PhoneError, PhoneReport};
use cable_tunnel_server::{ServerHandle, ServerLimits, TunnelServer};
use cabled::engine::{
    CancellationToken, Engine, EngineConfig, EventKind, EventSink, RadioConfig, Route,
    SessionError, SessionEvent, Timeouts, TunnelConfig, WebAuthnRequest,
};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// No single wait of a test may take longer: past it the test fails with what it waited for.
pub const LIMIT: Duration = Duration::from_secs(15);

/// How often the in-process software phone re-sends its advert (a real phone: ~100 ms).
pub const ADVERT_INTERVAL: Duration = Duration::from_millis(20);

/// Awaits `fut`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing after {} s (a hang)", LIMIT.as_secs()),
    }
}

/// Short per-phase limits, so failure paths end in seconds.
pub fn fast_timeouts() -> Timeouts {
    Timeouts {
        advert: Duration::from_secs(3),
        tunnel_connect: Duration::from_secs(3),
        handshake: Duration::from_secs(3),
        post_handshake: Duration::from_secs(3),
        ctap: Duration::from_secs(5),
        linking_wait: Duration::from_secs(1),
    }
}

/// A loopback UDP address that was free a moment ago (the engine binds it when a session
/// first waits for an advert; a process is handed it on its command line).
pub fn free_udp_addr() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a free UDP port");
    socket.local_addr().expect("the UDP socket's address")
}

/// A tunnel server, a radio address and an engine using both.
pub struct Rig {
    server: Option<ServerHandle>,
    pub tunnel_url: String,
    pub radio: SocketAddr,
    pub engine: Engine,
}

impl Rig {
    pub async fn new() -> Self {
        Self::with_timeouts(fast_timeouts()).await
    }

    pub async fn with_timeouts(timeouts: Timeouts) -> Self {
        let (server, tunnel_url, radio) = loopback().await;
        let engine = Engine::new(EngineConfig {
            tunnel: TunnelConfig::Override(tunnel_url.clone()),
            radio: RadioConfig::Virtual(radio),
            timeouts,
            ..EngineConfig::default()
        });
        Self {
            server: Some(server),
            tunnel_url,
            radio,
            engine,
        }
    }

    /// The tunnel server forgets a phone's contact ID, as a push service that no longer knows
    /// the phone (the app was removed): `contact` requests for it then get 410 Gone.
    pub fn forget_contact(&self, contact_id: &[u8]) -> bool {
        self.server
            .as_ref()
            .is_some_and(|s| s.forget_contact(contact_id))
    }

    /// A software phone for `qr_url` on this rig: Android, approves, passkeys in memory,
    /// advertising every [`ADVERT_INTERVAL`], every wait of its own bounded by 10 s.
    pub fn phone(&self, qr_url: &str) -> PhoneConfig {
        PhoneConfig::new(qr_url, self.tunnel_url.clone(), self.radio)
            .with_advert_interval(ADVERT_INTERVAL)
            .with_timeouts(cable_phone::Timeouts::all(Duration::from_secs(10)))
    }

    /// Starts a session on the engine; its events are collected for the test.
    pub fn start(&self, request: WebAuthnRequest) -> Session {
        self.start_via(request, Route::Any)
    }

    /// [`Self::start`] reaching the phone only as `route` says.
    pub fn start_via(&self, request: WebAuthnRequest, route: Route) -> Session {
        let (tx, events) = mpsc::unbounded_channel();
        let sink = EventSink::new(move |event| {
            let _ = tx.send(event);
        });
        let cancel = CancellationToken::new();
        let engine = self.engine.clone();
        let token = cancel.clone();
        let task =
            tokio::spawn(async move { engine.webauthn_via(request, route, sink, token).await });
        Session {
            events,
            seen: Vec::new(),
            cancel,
            task,
            started: Instant::now(),
        }
    }

    /// One ceremony with a phone that scans the QR code as soon as it is shown; `phone`
    /// adjusts the phone's configuration. Returns the desktop's outcome and the phone's.
    pub async fn ceremony(
        &self,
        request: WebAuthnRequest,
        phone: impl FnOnce(PhoneConfig) -> PhoneConfig,
    ) -> (Outcome, Result<PhoneReport, PhoneError>) {
        let mut session = self.start(request);
        let qr = session.qr().await;
        let phone = spawn_phone(phone(self.phone(&qr)));
        let outcome = session.outcome().await;
        (outcome, phone_result(phone).await)
    }

    /// The tunnel server, to shut it down mid-session (the rig then has none).
    pub fn take_server(&mut self) -> ServerHandle {
        self.server
            .take()
            .expect("the tunnel server was already taken")
    }
}

/// Starts a tunnel server on an OS-chosen port and picks a radio address.
pub async fn loopback() -> (ServerHandle, String, SocketAddr) {
    let server = TunnelServer::bind(
        "127.0.0.1:0".parse().expect("an address"),
        ServerLimits::default(),
    )
    .await
    .expect("the local tunnel server starts")
    .spawn();
    let url = server.base_url();
    (server, url, free_udp_addr())
}

pub fn spawn_phone(config: PhoneConfig) -> JoinHandle<Result<PhoneReport, PhoneError>> {
    tokio::spawn(cable_phone::run_qr(config))
}

/// Waits for an in-process phone to end.
pub async fn phone_result(
    phone: JoinHandle<Result<PhoneReport, PhoneError>>,
) -> Result<PhoneReport, PhoneError> {
    within("the software phone ends", phone)
        .await
        .expect("the software phone task panicked")
}

/// A running desktop session.
pub struct Session {
    events: mpsc::UnboundedReceiver<SessionEvent>,
    seen: Vec<SessionEvent>,
    pub cancel: CancellationToken,
    task: JoinHandle<Result<Value, SessionError>>,
    started: Instant,
}

impl Session {
    /// Waits for the next event named `name` (e.g. `"ctap_request"`), keeping every event.
    pub async fn wait_for(&mut self, name: &str) -> SessionEvent {
        loop {
            let event = within(&format!("the session's {name} event"), self.events.recv())
                .await
                .unwrap_or_else(|| {
                    panic!(
                        "the session ended before its {name} event; events: {:?}",
                        names(&self.seen)
                    )
                });
            self.seen.push(event.clone());
            if event.name() == name {
                return event;
            }
        }
    }

    /// The QR code's URL, once shown.
    pub async fn qr(&mut self) -> String {
        match self.wait_for("qr").await.kind {
            EventKind::Qr { url } => url,
            other => unreachable!("a qr event has a URL, got {other:?}"),
        }
    }

    /// Waits for the session to end.
    pub async fn outcome(mut self) -> Outcome {
        let result = within("the desktop session ends", &mut self.task)
            .await
            .expect("the session task panicked");
        let elapsed = self.started.elapsed();
        // The sink is synchronous: every event was queued before the task returned.
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        Outcome {
            result,
            events: self.seen,
            elapsed,
        }
    }
}

/// How a desktop session ended.
pub struct Outcome {
    pub result: Result<Value, SessionError>,
    pub events: Vec<SessionEvent>,
    pub elapsed: Duration,
}

impl Outcome {
    /// The error code; fails the test if the session succeeded.
    pub fn code(&self) -> &'static str {
        match &self.result {
            Ok(_) => panic!(
                "the session succeeded but was expected to fail; events: {:?}",
                self.names()
            ),
            Err(e) => e.code(),
        }
    }

    /// The credential; fails the test (with the error and the timeline) if the session failed.
    pub fn credential(&self) -> &Value {
        match &self.result {
            Ok(credential) => credential,
            Err(e) => panic!(
                "the session failed: {e} [{}]; events: {:?}",
                e.code(),
                self.names()
            ),
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        names(&self.events)
    }

    /// Fails the test unless the session failed with `code`.
    ///
    /// No time bound: on a loaded machine any bound on a whole session fails now and then
    /// (docs/testing.md). The code already tells a detected failure (`phone_disconnected`,
    /// `cancelled`, ...) from a phase waited out (`timeout`, `no_phone`), and [`within`] fails
    /// a session that hangs.
    pub fn assert_failed(&self, code: &str) {
        assert_eq!(
            self.code(),
            code,
            "{}; events: {:?}",
            self.message(),
            self.names()
        );
    }

    /// The error's message for people ("" on success).
    pub fn message(&self) -> String {
        self.result
            .as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }
}

fn names(events: &[SessionEvent]) -> Vec<&'static str> {
    events.iter().map(SessionEvent::name).collect()
}
