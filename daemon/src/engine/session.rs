//! The async shell of one path (QR or linked) of a session: it moves bytes between the tunnel
//! socket, the radio and the sans-IO [`Desktop`] of cable-hybrid, sleeps until the deadline
//! the machine names, and turns the machine's events into the timeline. Every timeout and
//! every policy decision is the machine's; this file only waits.

use crate::engine::config::EngineConfig;
use crate::engine::error::SessionError;
use crate::engine::events::{EventKind, EventSink};
use crate::engine::links::{LinkBook, StoredLink};
use crate::engine::radio::{RadioHub, Registration, SeenAdvert};
use cable_ble::scan::{RadioDown, RadioState};
use cable_ble::DomainCheck;
use cable_hybrid::{Desktop, DesktopEvent, Endpoint, LinkKeys, Sent, Transmit};
use cable_qr::{QrHandshake, RequestType};
use cable_tunnel::client::{connect, ClientOptions, TunnelRequest, TunnelSocket};
use cable_tunnel::{LinkingInfo, Revision};
use rand_core::OsRng;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What every path of a session shares.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub config: Arc<EngineConfig>,
    pub radio: RadioHub,
    pub book: Option<Arc<dyn LinkBook>>,
    pub events: EventSink,
    pub radio_report: RadioReport,
}

/// What a session last said about the radio, shared by its paths: a QR path and linked paths
/// waiting for adverts together say "Bluetooth is off" once, and "back" once.
#[derive(Clone, Default)]
pub(crate) struct RadioReport(Arc<Mutex<Option<RadioDown>>>);

impl RadioReport {
    /// Emits `bluetooth_waiting` when the radio goes down (or down for another reason), and
    /// `bluetooth_ready` when it comes back after that.
    fn update(&self, events: &EventSink, state: &RadioState) {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match state {
            RadioState::Down(down) if last.as_ref() != Some(down) => {
                *last = Some(down.clone());
                events.emit(EventKind::BluetoothWaiting {
                    code: SessionError::from(down.to_error()).code().to_string(),
                    message: down.to_string(),
                });
            }
            RadioState::Ready { adapters } if last.take().is_some() => {
                events.emit(EventKind::BluetoothReady {
                    adapters: adapters.clone(),
                });
            }
            _ => {}
        }
    }
}

/// What a registration heard first.
enum Heard {
    Advert(Option<SeenAdvert>),
    RadioChanged,
}

/// The machine's clock is the runtime's (so paused-time tests move it too).
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// The QR code, shown: the radio already listens for its advert.
pub(crate) struct ShownQr {
    desktop: Desktop,
    registration: Registration,
}

/// Makes the QR code, starts listening for its advert, then shows it (events `qr`, `scanning`).
pub(crate) async fn show_qr(ctx: &Ctx, request_type: RequestType) -> Result<ShownQr, SessionError> {
    let config = &*ctx.config;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let qr = QrHandshake::generate(&mut OsRng, request_type, config.linking, unix);
    let url = qr.url();
    let desktop = Desktop::qr(now(), qr, config.timeouts, &mut OsRng);
    // Listen before showing the QR so no advert is missed.
    let registration = ctx
        .radio
        .register(desktop.eid_key().clone(), DomainCheck::Qr)
        .await?;
    ctx.events.emit(EventKind::Qr { url });
    ctx.events.emit(EventKind::Scanning {
        radio: config.radio.describe(),
    });
    Ok(ShownQr {
        desktop,
        registration,
    })
}

/// QR flow from a shown QR code to an open channel.
pub(crate) async fn establish_qr(
    ctx: Ctx,
    shown: ShownQr,
    cancel: CancellationToken,
) -> Result<Established, SessionError> {
    let ShownQr {
        desktop,
        registration,
    } = shown;
    Established::new(&ctx, desktop, Some(registration), cancel)
        .open()
        .await
}

/// Linked flow up to an open channel: the machine contacts the phone through its tunnel
/// server and, at the same time, waits for its advert under the link's EID key (HYBRID.md
/// §9.5, §13.2).
pub(crate) async fn establish_linked(
    ctx: Ctx,
    link: StoredLink,
    request_type: RequestType,
    cancel: CancellationToken,
) -> Result<Established, SessionError> {
    let keys = LinkKeys {
        contact_id: link.contact_id.clone(),
        link_id: link.link_id,
        link_secret: link.link_secret.clone(),
        phone_public_key: link.phone_public_key.clone(),
        tunnel_domain_id: link.tunnel_domain_id,
    };
    let desktop = Desktop::linked(now(), keys, request_type, ctx.config.timeouts, &mut OsRng);
    let registration = ctx
        .radio
        .register(desktop.eid_key().clone(), DomainCheck::Linked)
        .await?;
    ctx.events.emit(EventKind::Contacting {
        device: link.id.clone(),
        name: link.name.clone(),
    });
    Established::new(&ctx, desktop, Some(registration), cancel)
        .open()
        .await
}

/// A session path: the machine, its socket once open, and the radio registration while the
/// advert is awaited. Named for what it is once [`Established::open`] returns it.
pub(crate) struct Established {
    desktop: Desktop,
    socket: Option<TunnelSocket>,
    registration: Option<Registration>,
    config: Arc<EngineConfig>,
    events: EventSink,
    cancel: CancellationToken,
    book: Option<Arc<dyn LinkBook>>,
    radio_report: RadioReport,
    /// Verified linking data received so far.
    pub links: Vec<LinkingInfo>,
    /// The machine's final word, once it closed.
    outcome: Option<Result<(), cable_hybrid::Error>>,
    /// The last CTAP answer, until `ctap` picks it up.
    answer: Option<Vec<u8>>,
    ready: bool,
}

impl Established {
    fn new(
        ctx: &Ctx,
        desktop: Desktop,
        mut registration: Option<Registration>,
        cancel: CancellationToken,
    ) -> Self {
        if let Some(registration) = &mut registration {
            let state = registration.radio.borrow_and_update().clone();
            ctx.radio_report.update(&ctx.events, &state);
        }
        Self {
            desktop,
            socket: None,
            registration,
            config: ctx.config.clone(),
            events: ctx.events.clone(),
            cancel,
            book: ctx.book.clone(),
            radio_report: ctx.radio_report.clone(),
            links: Vec::new(),
            outcome: None,
            answer: None,
            ready: false,
        }
    }

    /// Runs the machine until the phone's post-handshake message; on failure the tunnel is
    /// closed and the phone told.
    async fn open(mut self) -> Result<Self, SessionError> {
        while !self.ready {
            if let Err(e) = self.step().await {
                self.abort().await;
                return Err(e);
            }
        }
        Ok(self)
    }

    /// True once this session's one operation has been answered: no other may follow.
    pub fn answered(&self) -> bool {
        self.desktop.answered()
    }

    /// One CTAP exchange: `command || CBOR` in, `status || CBOR` out. getInfo is answered
    /// locally; a phone error status is returned as bytes (the caller decides).
    pub async fn ctap(&mut self, request: &[u8]) -> Result<Vec<u8>, SessionError> {
        match self
            .desktop
            .send_request(now(), request)
            .map_err(SessionError::Request)?
        {
            Sent::Local(response) => return Ok(response),
            Sent::Phone => {}
        }
        self.flush().await?;
        self.events.emit(EventKind::CtapRequest {
            command: command_name(request.first().copied()),
        });
        loop {
            if let Some(response) = self.answer.take() {
                let status =
                    cable_ctap::CtapStatus::from_u8(response.first().copied().unwrap_or(0xff));
                self.events.emit(EventKind::CtapResponse {
                    status: status.name().to_string(),
                    status_code: status.code(),
                });
                return Ok(response);
            }
            self.step().await?;
        }
    }

    /// Ends the session: the machine waits briefly for linking data if it offered linking
    /// and none came, then sends shutdown; returns the links received.
    pub async fn finish(mut self) -> Vec<LinkingInfo> {
        self.desktop.finish(now());
        while self.outcome.is_none() {
            if self.step().await.is_err() {
                break;
            }
        }
        self.abort().await;
        std::mem::take(&mut self.links)
    }

    /// Ends the session now (error, cancel): sends the encrypted shutdown if the channel has
    /// one, closes the socket. Used on every end so the phone always learns it is over.
    pub async fn abort(&mut self) {
        self.desktop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.flush()).await;
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.close()).await;
            self.events.emit(EventKind::Closed);
        }
    }

    /// Handles what the machine reported, sends what it queued, then waits for one input:
    /// cancel, the advert, a tunnel message, or the machine's deadline.
    async fn step(&mut self) -> Result<(), SessionError> {
        let reported = self.drain_events().await?;
        self.flush().await?;
        if let Some(outcome) = &self.outcome {
            return match outcome {
                Ok(()) => Err(SessionError::Finished),
                Err(e) => Err(self.failure(e.clone())),
            };
        }
        if reported {
            // Let the caller look at what changed before waiting again.
            return Ok(());
        }
        let deadline = self.desktop.poll_timeout().map(Instant::from_std);
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let heard = async {
            match &mut self.registration {
                Some(r) => tokio::select! {
                    seen = &mut r.seen => Heard::Advert(seen.ok()),
                    Ok(()) = r.radio.changed() => Heard::RadioChanged,
                },
                None => std::future::pending().await,
            }
        };
        let message = async {
            match &mut self.socket {
                Some(socket) => Some(socket.recv().await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => {
                return Err(SessionError::Cancelled);
            }
            heard = heard => match heard {
                Heard::RadioChanged => {
                    if let Some(r) = &mut self.registration {
                        let state = r.radio.borrow_and_update().clone();
                        self.radio_report.update(&self.events, &state);
                    }
                }
                Heard::Advert(Some(seen)) => {
                    self.registration = None;
                    report_advert(&self.events, &seen);
                    let eid = seen.advert.eid;
                    self.desktop.handle_advert(now(), cable_hybrid::Advert {
                        plaintext: seen.advert.plaintext,
                        routing_id: eid.routing_id,
                        tunnel_domain_id: eid.tunnel_domain_id,
                    });
                }
                Heard::Advert(None) => return Err(SessionError::Internal(
                    "the radio stopped while waiting for the phone".into(),
                )),
            },
            received = message => match received {
                Some(Ok(Some(bytes))) => self.desktop.handle_message(now(), &bytes),
                Some(Ok(None)) => self.desktop.handle_close(now()),
                Some(Err(e)) => {
                    self.socket = None;
                    return Err(SessionError::TunnelIo(Arc::new(e)));
                }
                None => {}
            },
            _ = sleep => self.desktop.handle_timeout(now()),
        }
        Ok(())
    }

    /// The machine's failure in the engine's words. An advert timeout while the radio is down
    /// is the radio's fault (`bluetooth_off`, …), not the phone's (`no_phone`).
    fn failure(&self, e: cable_hybrid::Error) -> SessionError {
        if matches!(
            e,
            cable_hybrid::Error::Timeout {
                phase: cable_hybrid::Phase::Advert,
                ..
            }
        ) {
            if let Some(r) = &self.registration {
                if let RadioState::Down(down) = &*r.radio.borrow() {
                    return SessionError::from(down.to_error());
                }
            }
        }
        e.into()
    }

    /// Turns the machine's events into actions and the timeline; true if there were any.
    async fn drain_events(&mut self) -> Result<bool, SessionError> {
        let mut any = false;
        while let Some(event) = self.desktop.poll_event() {
            any = true;
            match event {
                DesktopEvent::OpenTunnel(open) => {
                    let socket = self.open_tunnel(open.domain_id, open.request).await?;
                    let signal = socket.signal_connection();
                    self.socket = Some(socket);
                    self.desktop.handle_tunnel_open(now(), signal);
                }
                DesktopEvent::PhoneJoined => {}
                DesktopEvent::HandshakeDone { protocol } => {
                    self.events.emit(EventKind::Handshake {
                        protocol: protocol.to_string(),
                    });
                }
                DesktopEvent::Ready {
                    get_info,
                    features,
                    revision,
                } => {
                    self.report_ready(&get_info, features, revision);
                    self.ready = true;
                }
                DesktopEvent::Linked(info) => self.store_link(*info),
                DesktopEvent::LinkRejected(why) => self.events.emit(EventKind::LinkRejected {
                    reason: why.reason().to_string(),
                }),
                DesktopEvent::CtapResponse(response) => self.answer = Some(response),
                DesktopEvent::AwaitingLink { wait } => self.events.emit(EventKind::AwaitingLink {
                    seconds: wait.as_secs(),
                }),
                DesktopEvent::Closed(outcome) => self.outcome = Some(outcome),
            }
        }
        Ok(any)
    }

    /// Sends what the machine queued; its close ends the socket.
    async fn flush(&mut self) -> Result<(), SessionError> {
        while let Some(transmit) = self.desktop.poll_transmit() {
            let Some(socket) = &mut self.socket else {
                continue;
            };
            match transmit {
                Transmit::Message(bytes) => {
                    if let Err(e) = socket.send(&bytes).await {
                        self.socket = None;
                        return Err(SessionError::TunnelIo(Arc::new(e)));
                    }
                }
                Transmit::Close => {
                    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close()).await;
                    self.socket = None;
                    self.events.emit(EventKind::Closed);
                }
            }
        }
        Ok(())
    }

    /// Connects to the tunnel server, reporting the URL and the outcome, within the
    /// machine's tunnel-connect deadline.
    async fn open_tunnel(
        &mut self,
        domain_id: u16,
        request: TunnelRequest,
    ) -> Result<TunnelSocket, SessionError> {
        let config = &*self.config;
        let opts = ClientOptions {
            base: config.tunnel.base(domain_id),
            connect_timeout: config.timeouts.tunnel_connect,
            ..ClientOptions::default()
        };
        self.events.emit(EventKind::TunnelConnecting {
            url: timeline_url(&request, &opts.base),
        });
        let limit = config.timeouts.tunnel_connect;
        let timeout = SessionError::Timeout {
            phase: cable_hybrid::Phase::TunnelConnect,
            after: limit,
        };
        let socket = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Err(SessionError::Cancelled),
            r = tokio::time::timeout(limit + Duration::from_secs(1), connect(request, &opts)) => {
                r.map_err(|_| timeout)?.map_err(|e| SessionError::Tunnel(Arc::new(e)))?
            }
        };
        self.events
            .emit(EventKind::TunnelConnected { http_status: 101 });
        Ok(socket)
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

    fn store_link(&mut self, info: LinkingInfo) {
        let domain = self.desktop.tunnel_domain_id().unwrap_or(0);
        match self.book.as_ref().map(|b| b.save(&info, domain)) {
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
        self.links.push(info);
    }
}

fn report_advert(events: &EventSink, seen: &SeenAdvert) {
    let eid = &seen.advert.eid;
    events.emit(EventKind::Advert {
        uuid: format!("{:04X}", seen.uuid),
        source: format!("{:?}", seen.source),
        routing_id: hex::encode(eid.routing_id),
        tunnel_domain_id: eid.tunnel_domain_id,
        tunnel_domain: cable_tunnel::domain_name(eid.tunnel_domain_id).unwrap_or_default(),
        rssi: seen.rssi,
        adapter: seen.adapter.clone(),
    });
}

/// The URL a request opens, as the timeline shows it: a contact ID wakes the phone, so it is
/// withheld (IPC clients, `--json` output and history see the server and the endpoint only).
fn timeline_url(request: &TunnelRequest, base: &cable_tunnel::TunnelBase) -> String {
    match request.url(base) {
        Ok(url) if matches!(request, TunnelRequest::Contact { .. }) => match url.rsplit_once('/') {
            Some((endpoint, _contact_id)) => format!("{endpoint}/<contact ID>"),
            None => url,
        },
        Ok(url) => url,
        Err(e) => format!("(invalid: {e})"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_radio_is_reported_once_per_change_whatever_the_paths() {
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = EventSink::new(move |e| {
            let _ = tx.send(e);
        });
        let report = RadioReport::default();
        let other_path = report.clone();
        let hci0 = || vec!["hci0".to_string()];
        let ready = RadioState::Ready { adapters: hci0() };
        let off = RadioState::Down(RadioDown::Off { adapters: hci0() });
        let blocked = RadioState::Down(RadioDown::Blocked {
            adapters: hci0(),
            hard: false,
        });
        report.update(&sink, &ready); // never down: nothing to say
        report.update(&sink, &off);
        other_path.update(&sink, &off); // the QR and a linked path both wait
        other_path.update(&sink, &blocked); // another cause: said again
        report.update(&sink, &ready);
        other_path.update(&sink, &ready);
        let events: Vec<EventKind> = rx.try_iter().map(|e| e.kind).collect();
        let codes: Vec<String> = events
            .iter()
            .map(|kind| match kind {
                EventKind::BluetoothWaiting { code, .. } => code.clone(),
                EventKind::BluetoothReady { adapters } => format!("ready {adapters:?}"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            codes,
            ["bluetooth_off", "bluetooth_blocked", "ready [\"hci0\"]"]
        );
    }

    #[test]
    fn the_timeline_never_shows_a_contact_id() {
        let base = cable_tunnel::TunnelBase::Override("ws://127.0.0.1:9".into());
        let request = TunnelRequest::Contact {
            contact_id: b"secret-contact".to_vec(),
            client_payload: cable_tunnel::ClientPayload {
                link_id: [1; 8],
                client_nonce: [2; 16],
                request_type: "ga".into(),
            },
            signal_connection: true,
        };
        let url = timeline_url(&request, &base);
        assert_eq!(url, "ws://127.0.0.1:9/cable/contact/<contact ID>");
        let connect = TunnelRequest::Connect {
            routing_id: [1, 2, 3],
            tunnel_id: [4; 16],
        };
        assert!(timeline_url(&connect, &base).ends_with(&hex::encode([4u8; 16])));
    }
}
