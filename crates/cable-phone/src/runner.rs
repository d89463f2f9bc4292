//! The async software phone (HYBRID.md §13.3): the thin tokio adapter around [`PhoneChannel`].
//!
//! It parses the QR code, opens a `new` tunnel, advertises the EID on the virtual radio until
//! the desktop's handshake arrives, then moves tunnel messages between the websocket and the
//! channel. Every wait has a limit ([`Timeouts`]); passkeys are loaded from and saved to the
//! configured file.

use std::time::{Duration, Instant};

use cable_ble::VirtualRadioAdvertiser;
use cable_ctap::CredentialStore;
use cable_qr::QrPayload;
use cable_tunnel::client::{connect, ClientOptions, TunnelRequest, TunnelSocket};
use cable_tunnel::new_url;
use rand_core::OsRng;

use crate::advert::{qr_eid, service_data};
use crate::events::{PhoneEvent, SessionEnd};
use crate::report::RunFacts;
use crate::store_file::{load_store, save_store};
use crate::{
    Outgoing, PhoneChannel, PhoneConfig, PhoneError, PhoneReport, Result, Stage, Timeouts,
};

/// How long a polite close may take before the connection is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Runs one QR-initiated session as the phone, from scanning the code to the end of the
/// session, within `config.timeouts.total`.
pub async fn run_qr(config: PhoneConfig) -> Result<PhoneReport> {
    let total = config.timeouts.total;
    match tokio::time::timeout(total, run(config)).await {
        Ok(result) => result,
        Err(_) => Err(PhoneError::TotalTimeout(total)),
    }
}

async fn run(config: PhoneConfig) -> Result<PhoneReport> {
    let started = Instant::now();
    let qr = QrPayload::parse_url(&config.qr_url)?;
    let store = match &config.store_path {
        Some(path) => load_store(path)?,
        None => CredentialStore::new(),
    };

    let tunnel_id = qr.tunnel_id();
    let tunnel_url = new_url(&config.tunnel, &tunnel_id).map_err(PhoneError::InvalidTunnelUrl)?;
    let socket = open_tunnel(&config, tunnel_id, &tunnel_url).await?;
    let routing_id = socket
        .routing_id()
        .ok_or_else(|| PhoneError::TunnelUnreachable {
            url: tunnel_url.clone(),
            cause: "the tunnel server assigned no routing ID".into(),
        })?;

    let eid = qr_eid(routing_id, config.advert_domain_id(), &mut OsRng);
    let uuid = config.profile.advert_uuid();
    let advertiser = VirtualRadioAdvertiser::start(
        config.radio_target,
        uuid,
        service_data(&qr.eid_key(), &eid).to_vec(),
        config.advert_interval,
    )
    .await
    .map_err(|source| PhoneError::Radio {
        target: config.radio_target,
        source,
    })?;
    tracing::info!(
        tunnel = %tunnel_url,
        routing_id = %hex::encode_upper(routing_id),
        uuid = format_args!("{uuid:#06x}"),
        radio = %config.radio_target,
        "phone: tunnel open, advertising"
    );

    let facts = RunFacts {
        profile: config.profile,
        tunnel_url,
        routing_id,
        advert_uuid: uuid,
        tunnel_domain_id: eid.tunnel_domain_id,
        radio_target: config.radio_target,
        request_type_hint: qr.request_type.clone(),
        linking_offered: qr.supports_linking == Some(true),
    };
    let channel =
        PhoneChannel::qr(&qr, &eid, config.profile, config.behavior.clone()).with_store(store);
    let mut session = Session {
        socket: Some(socket),
        channel,
        advertiser: Some(advertiser),
        adverts_sent: 0,
        events: Vec::new(),
        store_saved_to: None,
        config: &config,
    };
    session.run().await?;
    let Session {
        events,
        adverts_sent,
        store_saved_to,
        ..
    } = session;
    Ok(PhoneReport::build(
        facts,
        events,
        adverts_sent,
        store_saved_to,
        started.elapsed(),
    ))
}

async fn open_tunnel(config: &PhoneConfig, tunnel_id: [u8; 16], url: &str) -> Result<TunnelSocket> {
    let options = ClientOptions {
        base: config.tunnel.clone(),
        connect_timeout: config.timeouts.tunnel_connect,
        ..ClientOptions::default()
    };
    connect(TunnelRequest::New { tunnel_id }, &options)
        .await
        .map_err(|e| PhoneError::TunnelUnreachable {
            url: url.to_string(),
            cause: e.to_string(),
        })
}

/// One session's I/O state.
struct Session<'a> {
    /// `None` once the connection is closed or dropped.
    socket: Option<TunnelSocket>,
    channel: PhoneChannel,
    /// `None` once advertising has stopped.
    advertiser: Option<VirtualRadioAdvertiser>,
    adverts_sent: u64,
    events: Vec<PhoneEvent>,
    store_saved_to: Option<std::path::PathBuf>,
    config: &'a PhoneConfig,
}

impl Session<'_> {
    async fn run(&mut self) -> Result<()> {
        let result = self.exchange().await;
        self.stop_advertising().await;
        match &result {
            // The session decided how the connection ends (polite close or vanishing).
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "phone: session failed");
                self.close_politely().await;
            }
        }
        result
    }

    async fn exchange(&mut self) -> Result<()> {
        if self.config.behavior.vanishes_after(Stage::Advertised) {
            self.wait_for_first_advert().await;
            self.record(vec![PhoneEvent::Ended(SessionEnd::Vanished {
                after: Stage::Advertised,
            })]);
            self.socket = None;
            return Ok(());
        }
        loop {
            let Some(message) = self.next_message().await? else {
                tracing::info!("phone: the tunnel closed");
                self.socket = None;
                let closed = self.channel.on_close();
                let events = self.channel.take_events();
                self.record(events);
                return closed;
            };
            if self.channel.awaiting_handshake() {
                self.stop_advertising().await;
            }
            let result = self.channel.on_message(&message);
            let events = self.channel.take_events();
            let prompted = events
                .iter()
                .any(|e| matches!(e, PhoneEvent::UserPrompted { .. }));
            self.record(events);
            let outgoing = result?;
            self.save_store_if_changed()?;
            if prompted && !self.config.behavior.answer_delay.is_zero() {
                tokio::time::sleep(self.config.behavior.answer_delay).await;
            }
            if self.send_all(outgoing).await? {
                return Ok(());
            }
        }
    }

    /// The desktop's next message; `None` when the tunnel closed.
    async fn next_message(&mut self) -> Result<Option<Vec<u8>>> {
        let Timeouts {
            handshake, idle, ..
        } = self.config.timeouts;
        let awaiting_handshake = self.channel.awaiting_handshake();
        let limit = if awaiting_handshake { handshake } else { idle };
        let socket = self.socket.as_mut().ok_or(PhoneError::SessionEnded)?;
        match tokio::time::timeout(limit, socket.recv()).await {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(e)) => Err(PhoneError::Tunnel(e.to_string())),
            Err(_) if awaiting_handshake => {
                Err(PhoneError::DesktopNeverConnected { waited: limit })
            }
            Err(_) => Err(PhoneError::DesktopSilent {
                waited: limit,
                during: self.silent_stage(),
            }),
        }
    }

    fn silent_stage(&self) -> &'static str {
        let get_info = cable_ctap::CommandCode::GetInfo.name();
        let answered = self
            .events
            .iter()
            .any(|e| matches!(e, PhoneEvent::Responded { command, .. } if command != get_info));
        if answered {
            "after the CTAP answer (no shutdown came)"
        } else {
            "after the handshake (no CTAP request came)"
        }
    }

    /// Sends the channel's output; true once the connection has been closed.
    async fn send_all(&mut self, outgoing: Vec<Outgoing>) -> Result<bool> {
        for out in outgoing {
            match out {
                Outgoing::Send(bytes) => {
                    let socket = self.socket.as_mut().ok_or(PhoneError::SessionEnded)?;
                    socket
                        .send(&bytes)
                        .await
                        .map_err(|e| PhoneError::Tunnel(e.to_string()))?;
                }
                Outgoing::Close => {
                    if matches!(self.channel.end(), Some(SessionEnd::Vanished { .. })) {
                        // Gone without a close handshake, like a phone that lost its network.
                        tracing::info!("phone: vanishing");
                        self.socket = None;
                    } else {
                        self.close_politely().await;
                    }
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    async fn close_politely(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(CLOSE_GRACE, async move {
                let _ = socket.close().await;
                // Read until the server's close reply so the close handshake completes.
                while let Ok(Some(_)) = socket.recv().await {}
            })
            .await;
        }
    }

    /// Waits until the advert has gone out at least once (bounded by a few intervals).
    async fn wait_for_first_advert(&mut self) {
        let step = Duration::from_millis(5);
        let limit = self.config.advert_interval.max(step) * 4;
        let started = Instant::now();
        while self.advertiser.as_ref().is_some_and(|a| a.sent() == 0) && started.elapsed() < limit {
            tokio::time::sleep(step).await;
        }
    }

    async fn stop_advertising(&mut self) {
        if let Some(advertiser) = self.advertiser.take() {
            self.adverts_sent = advertiser.sent();
            advertiser.stop().await;
            tracing::debug!(sent = self.adverts_sent, "phone: stopped advertising");
        }
    }

    /// Saves the passkeys as soon as a request changed them, so a later failure loses nothing.
    fn save_store_if_changed(&mut self) -> Result<()> {
        let Some(path) = &self.config.store_path else {
            return Ok(());
        };
        if self.channel.store_changed() && self.store_saved_to.is_none() {
            save_store(path, self.channel.store())?;
            self.store_saved_to = Some(path.clone());
        }
        Ok(())
    }

    fn record(&mut self, events: Vec<PhoneEvent>) {
        for event in &events {
            tracing::info!(event = ?event, "phone");
        }
        self.events.extend(events);
    }
}
