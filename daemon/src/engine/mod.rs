//! The session engine: one session = QR → advert → tunnel → handshake → post-handshake →
//! CTAP → shutdown, with a timeout per phase, cancellation at any phase and a progress event per
//! phase. `cablectl` runs it in-process; `cabled` runs many at once for its clients.

mod config;
mod error;
mod events;
mod links;
mod race;
mod radio;
mod raw;
mod session;
mod webauthn;

pub use config::{EngineConfig, RadioConfig, RadioSpecError, Timeouts, TunnelConfig};
pub use error::{advice, Phase, RequestProblem, ResponseProblem, SessionError};
pub use events::{EventKind, EventSink, SessionEvent};
pub use links::{LinkBook, LinkBookError, LinkSummary, MemoryLinkBook, Route, StoredLink};
pub use raw::RawSession;
pub use webauthn::WebAuthnRequest;

pub use tokio_util::sync::CancellationToken;

use std::sync::Arc;

/// Runs sessions with one configuration. Cheap to clone; holds no session state and no timers.
#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
    radio: radio::RadioHub,
    book: Option<Arc<dyn LinkBook>>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self {
            radio: radio::RadioHub::new(config.radio.clone()),
            config: Arc::new(config),
            book: None,
        }
    }

    /// An engine that stores links phones offer and reaches linked phones without a QR code.
    pub fn with_links(config: EngineConfig, book: Arc<dyn LinkBook>) -> Self {
        Self {
            book: Some(book),
            ..Self::new(config)
        }
    }

    /// The linked phones this engine knows, if it stores links.
    pub fn links(&self) -> Option<&Arc<dyn LinkBook>> {
        self.book.as_ref()
    }

    fn ctx(&self, events: EventSink) -> session::Ctx {
        session::Ctx {
            config: self.config.clone(),
            radio: self.radio.clone(),
            book: self.book.clone(),
            events,
            radio_report: Default::default(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// A whole WebAuthn ceremony: returns the WebAuthn Level 3 JSON credential
    /// (`RegistrationResponseJSON` or `AuthenticationResponseJSON`).
    pub async fn webauthn(
        &self,
        request: WebAuthnRequest,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<serde_json::Value, SessionError> {
        self.webauthn_via(request, Route::Any, events, cancel).await
    }

    /// [`Self::webauthn`] restricted to one way of reaching the phone.
    pub async fn webauthn_via(
        &self,
        request: WebAuthnRequest,
        route: Route,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<serde_json::Value, SessionError> {
        webauthn::run(self.ctx(events), route, request, None, cancel).await
    }

    /// [`Self::webauthn_via`] for a caller in a cross-origin iframe whose top-level page is
    /// `top_origin` (the client data then carries `crossOrigin` and `topOrigin`).
    pub async fn webauthn_cross_origin_via(
        &self,
        request: WebAuthnRequest,
        top_origin: String,
        route: Route,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<serde_json::Value, SessionError> {
        let ctx = self.ctx(events);
        webauthn::run(ctx, route, request, Some(top_origin), cancel).await
    }

    /// A raw CTAP relay session for callers that build their own CTAP requests (browsers).
    /// Returns at once; the session proceeds in the background, reporting through `events`.
    pub fn start_raw(
        &self,
        request_type: cable_qr::RequestType,
        events: EventSink,
        cancel: CancellationToken,
    ) -> RawSession {
        self.start_raw_via(request_type, Route::Any, events, cancel)
    }

    /// [`Self::start_raw`] restricted to one way of reaching the phone.
    pub fn start_raw_via(
        &self,
        request_type: cable_qr::RequestType,
        route: Route,
        events: EventSink,
        cancel: CancellationToken,
    ) -> RawSession {
        raw::start(self.ctx(events), route, request_type, cancel)
    }
}

impl Engine {
    /// True while the radio scans (some session waits for a phone's advert).
    pub async fn is_scanning(&self) -> bool {
        self.radio.is_scanning().await
    }

    /// The Bluetooth adapter's state, checked now without scanning: `Ok(adapter name)` when it
    /// is usable; `None` when this engine uses the virtual radio.
    pub async fn bluetooth_state(&self) -> Option<Result<String, SessionError>> {
        match &self.config.radio {
            RadioConfig::Virtual(_) => None,
            #[cfg(feature = "bluetooth")]
            RadioConfig::Bluetooth { adapter } => {
                use cable_ble::scan::{AdapterChoice, BluetoothScanner};
                let choice = adapter.clone().map(AdapterChoice::Name).unwrap_or_default();
                let scanner = BluetoothScanner::new(choice)
                    .with_start_timeout(std::time::Duration::from_secs(3));
                Some(scanner.check().await.map_err(SessionError::from))
            }
            #[cfg(not(feature = "bluetooth"))]
            RadioConfig::Bluetooth { .. } => {
                Some(Err(SessionError::from(cable_ble::scan::ScanError::Other {
                    cause: "this build of cable has no Bluetooth support".into(),
                })))
            }
        }
    }
}
