//! The async half of a session: waits (each with a timeout and cancellation), moves bytes
//! between the tunnel socket and the sans-IO `DesktopChannel`, and reports each phase.

use crate::engine::channel::{ChannelEvent, CtapRoute, DesktopChannel};
use crate::engine::config::{EngineConfig, Timeouts};
use crate::engine::error::{Phase, SessionError};
use crate::engine::events::{EventKind, EventSink};
use crate::engine::links::{LinkBook, StoredLink};
use crate::engine::radio::RadioHub;
use cable_ble::DomainCheck;
use cable_qr::{QrHandshake, RequestType};
use cable_tunnel::client::{connect, ClientOptions, TunnelRequest, TunnelSocket};
use cable_tunnel::{LinkingInfo, Revision};
use rand_core::OsRng;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// What every path of a session shares.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub config: Arc<EngineConfig>,
    pub radio: RadioHub,
    pub book: Option<Arc<dyn LinkBook>>,
    pub events: EventSink,
}

/// Waits for `fut` unless the session is cancelled or `limit` passes.
pub(crate) async fn bounded<T>(
    cancel: &CancellationToken,
    limit: Duration,
    on_timeout: SessionError,
    fut: impl Future<Output = T>,
) -> Result<T, SessionError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(SessionError::Cancelled),
        r = tokio::time::timeout(limit, fut) => r.map_err(|_| on_timeout),
    }
}

/// A session whose channel is open: the phone has sent its post-handshake message.
pub(crate) struct Established {
    socket: TunnelSocket,
    channel: DesktopChannel,
    events: EventSink,
    timeouts: Timeouts,
    cancel: CancellationToken,
    offered_linking: bool,
    /// Verified linking data received so far.
    pub links: Vec<LinkingInfo>,
    book: Option<Arc<dyn LinkBook>>,
    /// The tunnel domain this session used (stored with a new link).
    domain_id: u16,
}

/// QR flow up to an open channel: QR → advert → tunnel → handshake → post-handshake.
/// The QR code, shown: the radio already listens for its advert.
pub(crate) struct ShownQr {
    qr: QrHandshake,
    registration: crate::engine::radio::Registration,
}

/// Makes the QR code, starts listening for its advert, then shows it (events `qr`, `scanning`).
pub(crate) async fn show_qr(ctx: &Ctx, request_type: RequestType) -> Result<ShownQr, SessionError> {
    let config = &*ctx.config;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let qr = QrHandshake::generate(&mut OsRng, request_type, config.linking, now);
    // Listen before showing the QR so no advert is missed.
    let registration = ctx
        .radio
        .register(qr.payload().eid_key(), DomainCheck::Qr)
        .await?;
    ctx.events.emit(EventKind::Qr { url: qr.url() });
    ctx.events.emit(EventKind::Scanning {
        radio: config.radio.describe(),
    });
    Ok(ShownQr { qr, registration })
}

/// QR flow from a shown QR code to an open channel: advert → tunnel → handshake →
/// post-handshake.
pub(crate) async fn establish_qr(
    ctx: Ctx,
    shown: ShownQr,
    cancel: CancellationToken,
) -> Result<Established, SessionError> {
    let (config, events, cancel) = (&*ctx.config, &ctx.events, &cancel);
    let t = &config.timeouts;
    let ShownQr {
        qr,
        mut registration,
    } = shown;
    let seen = bounded(
        cancel,
        t.advert,
        SessionError::NoPhone { after: t.advert },
        &mut registration.seen,
    )
    .await?
    .map_err(|_| SessionError::TunnelIo("the radio stopped while waiting for the phone".into()))?;
    drop(registration);
    let eid = seen.advert.eid;
    report_advert(events, &seen);

    let psk = qr.payload().psk(&seen.advert.plaintext);
    let request = TunnelRequest::Connect {
        routing_id: eid.routing_id,
        tunnel_id: qr.payload().tunnel_id(),
    };
    let mut socket = open_tunnel(config, eid.tunnel_domain_id, request, events, cancel).await?;
    let (channel, msg1) =
        DesktopChannel::start_qr(&psk, qr.identity(), config.linking, &mut OsRng)?;
    send(&mut socket, &msg1).await?;
    Established::new(
        &ctx,
        socket,
        channel,
        cancel,
        config.linking,
        eid.tunnel_domain_id,
    )
    .open("Noise_KNpsk0_P256_AESGCM_SHA256")
    .await
}

/// Linked flow up to an open channel: contact the phone through its tunnel server and, at the
/// same time, wait for its advert under the link's EID key (HYBRID.md §9.5, §13.2).
pub(crate) async fn establish_linked(
    ctx: Ctx,
    link: StoredLink,
    request_type: RequestType,
    cancel: CancellationToken,
) -> Result<Established, SessionError> {
    let (config, events) = (&*ctx.config, &ctx.events);
    let t = &config.timeouts;
    let mut client_nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut client_nonce);
    let eid_key = cable_keys::eid_key(link.link_secret.expose(), &client_nonce);
    let mut registration = ctx.radio.register(eid_key, DomainCheck::Linked).await?;
    events.emit(EventKind::Contacting {
        device: link.id.clone(),
        name: link.name.clone(),
    });
    let request = TunnelRequest::Contact {
        contact_id: link.contact_id.clone(),
        client_payload: cable_tunnel::ClientPayload {
            link_id: link.link_id,
            client_nonce,
            request_type: request_type.as_str().to_string(),
        },
        signal_connection: true,
    };
    let mut socket = open_tunnel(config, link.tunnel_domain_id, request, events, &cancel).await?;
    let seen = bounded(
        &cancel,
        t.advert,
        SessionError::NoPhone { after: t.advert },
        &mut registration.seen,
    )
    .await
    .and_then(|r| r.map_err(|_| SessionError::TunnelIo("the radio stopped".into())));
    let seen = match seen {
        Ok(seen) => seen,
        Err(e) => {
            let _ = socket.close().await;
            return Err(e);
        }
    };
    drop(registration);
    report_advert(events, &seen);
    let psk = cable_keys::psk(link.link_secret.expose(), &seen.advert.plaintext);
    let signal = socket.signal_connection();
    let (channel, msg1) =
        DesktopChannel::start_linked(&psk, &link.phone_public_key, signal, &mut OsRng)?;
    send(&mut socket, &msg1).await?;
    // Linking data is only accepted in QR sessions (HYBRID.md §9.3).
    Established::new(&ctx, socket, channel, &cancel, false, link.tunnel_domain_id)
        .open("Noise_NKpsk0_P256_AESGCM_SHA256")
        .await
}

fn report_advert(events: &EventSink, seen: &crate::engine::radio::SeenAdvert) {
    let eid = &seen.advert.eid;
    events.emit(EventKind::Advert {
        uuid: format!("{:04X}", seen.uuid),
        source: format!("{:?}", seen.source),
        routing_id: hex::encode(eid.routing_id),
        tunnel_domain_id: eid.tunnel_domain_id,
        tunnel_domain: cable_tunnel::domain_name(eid.tunnel_domain_id).unwrap_or_default(),
        rssi: seen.rssi,
    });
}

/// Connects to the tunnel server, reporting the URL and the outcome.
pub(crate) async fn open_tunnel(
    config: &EngineConfig,
    domain_id: u16,
    request: TunnelRequest,
    events: &EventSink,
    cancel: &CancellationToken,
) -> Result<TunnelSocket, SessionError> {
    let opts = ClientOptions {
        base: config.tunnel.base(domain_id),
        connect_timeout: config.timeouts.tunnel_connect,
        ..ClientOptions::default()
    };
    let url = tunnel_url(&opts, &request);
    events.emit(EventKind::TunnelConnecting { url });
    let limit = config.timeouts.tunnel_connect;
    let socket = bounded(
        cancel,
        limit + Duration::from_secs(1),
        SessionError::Timeout {
            phase: Phase::TunnelConnect,
            after: limit,
        },
        connect(request, &opts),
    )
    .await?
    .map_err(SessionError::Tunnel)?;
    events.emit(EventKind::TunnelConnected { http_status: 101 });
    Ok(socket)
}

/// The URL a request opens, for the timeline (contact IDs are not secret; tunnel IDs are
/// derived from the QR secret but reveal nothing about it).
fn tunnel_url(opts: &ClientOptions, request: &TunnelRequest) -> String {
    let url = match request {
        TunnelRequest::New { tunnel_id } => cable_tunnel::new_url(&opts.base, tunnel_id),
        TunnelRequest::Connect {
            routing_id,
            tunnel_id,
        } => cable_tunnel::connect_url(&opts.base, routing_id, tunnel_id),
        TunnelRequest::Contact { contact_id, .. } => {
            cable_tunnel::contact_url(&opts.base, contact_id)
        }
    };
    url.unwrap_or_else(|e| format!("(invalid: {e})"))
}

async fn send(socket: &mut TunnelSocket, bytes: &[u8]) -> Result<(), SessionError> {
    socket
        .send(bytes)
        .await
        .map_err(|e| SessionError::TunnelIo(e.to_string()))
}

impl Established {
    fn new(
        ctx: &Ctx,
        socket: TunnelSocket,
        channel: DesktopChannel,
        cancel: &CancellationToken,
        offered_linking: bool,
        domain_id: u16,
    ) -> Self {
        Self {
            socket,
            channel,
            events: ctx.events.clone(),
            timeouts: ctx.config.timeouts,
            cancel: cancel.clone(),
            offered_linking,
            links: Vec::new(),
            book: ctx.book.clone(),
            domain_id,
        }
    }

    /// Handshake and post-handshake message; on failure the tunnel is closed.
    async fn open(mut self, protocol: &str) -> Result<Self, SessionError> {
        match self.wait_ready(protocol).await {
            Ok(()) => Ok(self),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn wait_ready(&mut self, protocol: &str) -> Result<(), SessionError> {
        let t = self.timeouts;
        let mut phase = Phase::Handshake;
        while !self.channel.is_ready() {
            let limit = match phase {
                Phase::Handshake => t.handshake,
                _ => t.post_handshake,
            };
            for event in self.receive(phase, limit).await? {
                match event {
                    ChannelEvent::HandshakeDone => {
                        self.events.emit(EventKind::Handshake {
                            protocol: protocol.to_string(),
                        });
                        phase = Phase::PostHandshake;
                    }
                    ChannelEvent::Ready {
                        get_info,
                        features,
                        revision,
                    } => self.report_ready(&get_info, features, revision),
                    other => self.note(other)?,
                }
            }
        }
        Ok(())
    }

    fn report_ready(&self, get_info: &[u8], features: Vec<String>, revision: Revision) {
        use cable_ctap::CborMessage;
        let info = cable_ctap::GetInfoResponse::from_cbor(get_info).ok();
        self.events.emit(EventKind::PhoneReady {
            versions: info
                .as_ref()
                .map(|i| i.versions.clone())
                .unwrap_or_default(),
            aaguid: info.map(|i| hex::encode(i.aaguid)).unwrap_or_default(),
            features,
            revision: match revision {
                Revision::Zero => 0,
                Revision::One => 1,
            },
        });
    }

    /// Events that may arrive at any time: linking data, the connect signal.
    fn note(&mut self, event: ChannelEvent) -> Result<(), SessionError> {
        match event {
            ChannelEvent::Linked(info) => {
                match self.book.as_ref().map(|b| b.save(&info, self.domain_id)) {
                    Some(Ok(device)) => self.events.emit(EventKind::Linked {
                        name: info.name.clone(),
                        device,
                    }),
                    Some(Err(reason)) => self.events.emit(EventKind::LinkRejected {
                        reason: format!("the link could not be stored: {reason}"),
                    }),
                    None => self.events.emit(EventKind::LinkRejected {
                        reason: "linked phones are not stored by this program".into(),
                    }),
                }
                self.links.push(*info);
            }
            ChannelEvent::LinkingRejected(reason) => self.events.emit(EventKind::LinkRejected {
                reason: reason.to_string(),
            }),
            ChannelEvent::PhoneJoined | ChannelEvent::HandshakeDone => {}
            ChannelEvent::PhoneShutdown => return Err(SessionError::Disconnected(Phase::Ctap)),
            ChannelEvent::Ready { .. } | ChannelEvent::CtapResponse(_) => {
                return Err(SessionError::BadResponse("an unexpected message".into()))
            }
        }
        Ok(())
    }

    async fn receive(
        &mut self,
        phase: Phase,
        limit: Duration,
    ) -> Result<Vec<ChannelEvent>, SessionError> {
        let message = bounded(
            &self.cancel,
            limit,
            SessionError::Timeout {
                phase,
                after: limit,
            },
            self.socket.recv(),
        )
        .await?
        .map_err(|e| SessionError::TunnelIo(e.to_string()))?
        .ok_or(SessionError::Disconnected(phase))?;
        Ok(self.channel.receive(&message)?)
    }

    /// One CTAP exchange: `command || CBOR` in, `status || CBOR` out. getInfo is answered
    /// locally; a phone error status is returned as bytes (the caller decides).
    pub async fn ctap(&mut self, request: &[u8]) -> Result<Vec<u8>, SessionError> {
        let wire = match self.channel.ctap_request(request)? {
            CtapRoute::Local(response) => return Ok(response),
            CtapRoute::Phone(wire) => wire,
        };
        send(&mut self.socket, &wire).await?;
        self.events.emit(EventKind::CtapRequest {
            command: command_name(request.first().copied()),
        });
        loop {
            for event in self.receive(Phase::Ctap, self.timeouts.ctap).await? {
                if let ChannelEvent::CtapResponse(response) = event {
                    let status =
                        cable_ctap::CtapStatus::from_u8(response.first().copied().unwrap_or(0xff));
                    self.events.emit(EventKind::CtapResponse {
                        status: status.name().to_string(),
                        status_code: status.code(),
                    });
                    return Ok(response);
                }
                self.note(event)?;
            }
        }
    }

    /// Ends the session: waits briefly for linking data if it was offered and has not come,
    /// then sends shutdown and closes.
    pub async fn finish(mut self) -> Vec<LinkingInfo> {
        if self.offered_linking && self.links.is_empty() && !self.timeouts.linking_wait.is_zero() {
            let limit = self.timeouts.linking_wait;
            self.events.emit(EventKind::AwaitingLink {
                seconds: limit.as_secs(),
            });
            // One deadline for the whole wait: a chatty phone cannot stretch it.
            let deadline = tokio::time::Instant::now() + limit;
            while self.links.is_empty() {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let Ok(events) = self.receive(Phase::Ctap, left).await else {
                    break;
                };
                for event in events {
                    if self.note(event).is_err() {
                        break;
                    }
                }
            }
        }
        self.abort().await;
        std::mem::take(&mut self.links)
    }

    /// Sends the encrypted shutdown (if the channel has one) and closes the socket; used on
    /// success, error and cancel alike so the phone always learns the session is over.
    pub async fn abort(&mut self) {
        if let Some(shutdown) = self.channel.shutdown() {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.send(&shutdown)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close()).await;
        self.events.emit(EventKind::Closed);
    }
}

fn command_name(command: Option<u8>) -> String {
    match command {
        Some(0x01) => "makeCredential".into(),
        Some(0x02) => "getAssertion".into(),
        Some(0x04) => "getInfo".into(),
        Some(0x08) => "getNextAssertion".into(),
        Some(other) => format!("command 0x{other:02x}"),
        None => "empty request".into(),
    }
}
