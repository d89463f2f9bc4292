//! The session engine: one session = QR → advert → tunnel → handshake → post-handshake →
//! CTAP → shutdown, with a timeout per phase, cancellation at any phase and a progress event per
//! phase. `cablectl` runs it in-process; `cabled` runs many at once for its clients.

mod channel;
mod config;
mod error;
mod events;
mod radio;
mod raw;
mod session;
mod webauthn;

pub use channel::{ChannelError, ChannelEvent, CtapRoute, DesktopChannel};
pub use config::{EngineConfig, RadioConfig, Timeouts, TunnelConfig};
pub use error::SessionError;
pub use events::{EventKind, EventSink, SessionEvent};
pub use raw::RawSession;
pub use webauthn::WebAuthnRequest;

pub use tokio_util::sync::CancellationToken;

use std::sync::Arc;

/// Runs sessions with one configuration. Cheap to clone; holds no session state and no timers.
#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
    radio: radio::RadioHub,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self {
            radio: radio::RadioHub::new(config.radio.clone()),
            config: Arc::new(config),
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
        webauthn::run(&self.config, &self.radio, request, events, cancel).await
    }

    /// A raw CTAP relay session for callers that build their own CTAP requests (browsers).
    /// Returns at once; the session proceeds in the background, reporting through `events`.
    pub fn start_raw(
        &self,
        request_type: cable_qr::RequestType,
        events: EventSink,
        cancel: CancellationToken,
    ) -> RawSession {
        raw::start(
            self.config.clone(),
            self.radio.clone(),
            request_type,
            events,
            cancel,
        )
    }
}

impl Engine {
    /// True while the radio scans (some session waits for a phone's advert).
    pub async fn is_scanning(&self) -> bool {
        self.radio.is_scanning().await
    }
}

#[cfg(test)]
mod channel_tests;
