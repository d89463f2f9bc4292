//! The async software phone (HYBRID.md §13.3): the thin tokio adapter around [`PhoneChannel`].
//!
//! It parses the QR code, opens a `new` tunnel, advertises the EID on the virtual radio until
//! the desktop's handshake arrives, then moves tunnel messages between the websocket and the
//! channel. Every wait has a limit ([`Timeouts`]); passkeys are loaded from and saved to the
//! configured state file, and a link given to the desktop is recorded there at once.
//!
//! [`Session`] is shared with the linked flow ([`crate::run_linked`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cable_ble::VirtualRadioAdvertiser;
use cable_qr::QrPayload;
use cable_tunnel::client::{connect, ClientOptions, TunnelRequest, TunnelSocket};
use cable_tunnel::new_url;
use rand_core::OsRng;

use crate::advert::{qr_eid, service_data};
use crate::events::{PhoneEvent, SessionEnd};
use crate::linking::LinkIdentity;
use crate::report::{RunFacts, SessionFlow};
use crate::state::{merge_passkeys, PhoneState};
use crate::store_file::{load_state, save_state, update_state};
use crate::{
    Outgoing, PhoneBehavior, PhoneChannel, PhoneConfig, PhoneError, PhoneReport, Result, Stage,
    Timeouts,
};

/// Messages read from the desktop while the person decides (a shutdown is the one that
/// matters); beyond them the rest wait in the tunnel.
const MAX_READ_WHILE_DECIDING: usize = 8;

/// How long a polite close may take before the connection is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Runs one QR-initiated session as the phone, from scanning the code to the end of the
/// session, within `config.timeouts.total`.
///
/// An Android phone with a state file offers linking when the QR code asks for it: it creates
/// its linking identity on first use, sends the linking map in the update message and records
/// the new link in the state file, so [`crate::run_linked`] can answer it later.
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
    let mut state = match &config.store_path {
        Some(path) => load_state(path)?,
        None => PhoneState::default(),
    };
    let links =
        qr.supports_linking == Some(true) && config.offer_linking && config.profile.sends_update();
    let identity = match (&config.store_path, links) {
        (Some(path), true) => Some(linking_identity(path, &mut state, &config.phone_name)?),
        _ => None,
    };

    let tunnel_id = qr.tunnel_id();
    let tunnel_url = new_url(&config.tunnel, &tunnel_id).map_err(PhoneError::InvalidTunnelUrl)?;
    let socket = open_tunnel(
        TunnelRequest::New { tunnel_id },
        &config.tunnel,
        config.timeouts.tunnel_connect,
        &tunnel_url,
    )
    .await?;
    let routing_id = socket
        .routing_id()
        .ok_or_else(|| PhoneError::TunnelUnreachable {
            url: tunnel_url.clone(),
            cause: "the tunnel server assigned no routing ID".into(),
        })?;

    let eid = qr_eid(routing_id, config.advert_domain_id(), &mut OsRng);
    let uuid = config.profile.advert_uuid();
    let advertiser = advertise(
        config.radio_target,
        uuid,
        service_data(&qr.eid_key(), &eid).to_vec(),
        config.advert_interval,
    )
    .await?;
    tracing::info!(
        tunnel = %tunnel_url,
        routing_id = %hex::encode_upper(routing_id),
        uuid = format_args!("{uuid:#06x}"),
        radio = %config.radio_target,
        "phone: tunnel open, advertising"
    );

    let mut facts = RunFacts {
        flow: SessionFlow::Qr,
        profile: config.profile,
        tunnel_url,
        routing_id,
        advert_uuid: uuid,
        tunnel_domain_id: eid.tunnel_domain_id,
        radio_target: config.radio_target,
        request_type_hint: qr.request_type.clone(),
        linking_offered: qr.supports_linking == Some(true),
        link_id: None,
    };
    let mut channel = PhoneChannel::qr(&qr, &eid, config.profile, config.behavior.clone())
        .with_store(state.passkeys);
    if let Some(identity) = &identity {
        channel = channel.with_linking(identity.clone());
    }
    let settings = SessionSettings {
        behavior: config.behavior.clone(),
        timeouts: config.timeouts,
        advert_interval: config.advert_interval,
        store_path: config.store_path.clone(),
        link_contact_id: identity.map(|i| i.contact_id().to_vec()),
    };
    let mut session = Session::new(socket, channel, advertiser, &settings);
    session.run().await?;
    facts.link_id = session.channel.linking_sent();
    Ok(session.into_report(facts, started.elapsed()))
}

/// The phone's linking identity, created and saved first if the state has none (the desktop
/// may store it, so it must survive this run).
pub(crate) fn linking_identity(
    path: &Path,
    state: &mut PhoneState,
    name: &str,
) -> Result<LinkIdentity> {
    let (linking, created) = state.ensure_linking(&mut OsRng, name);
    let identity = linking.identity.clone();
    if created {
        save_state(path, state)?;
        tracing::info!(path = %path.display(), "phone: created a linking identity");
    }
    Ok(identity)
}

/// Opens a tunnel endpoint; `url` names it in errors.
pub(crate) async fn open_tunnel(
    request: TunnelRequest,
    base: &cable_tunnel::TunnelBase,
    limit: Duration,
    url: &str,
) -> Result<TunnelSocket> {
    let options = ClientOptions {
        base: base.clone(),
        connect_timeout: limit,
        ..ClientOptions::default()
    };
    connect(request, &options)
        .await
        .map_err(|e| PhoneError::TunnelUnreachable {
            url: url.to_string(),
            cause: e.to_string(),
        })
}

/// Starts advertising `data` under `uuid` on the virtual radio at `target`.
pub(crate) async fn advertise(
    target: std::net::SocketAddr,
    uuid: u16,
    data: Vec<u8>,
    interval: Duration,
) -> Result<VirtualRadioAdvertiser> {
    VirtualRadioAdvertiser::start(target, uuid, data, interval)
        .await
        .map_err(|source| PhoneError::Radio { target, source })
}

/// Seconds since the Unix epoch, for link records.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a session needs from its run's configuration.
pub(crate) struct SessionSettings {
    pub behavior: PhoneBehavior,
    pub timeouts: Timeouts,
    pub advert_interval: Duration,
    pub store_path: Option<PathBuf>,
    /// QR flow with linking: the contact ID of the identity whose links to record.
    pub link_contact_id: Option<Vec<u8>>,
}

/// One session's I/O state.
pub(crate) struct Session<'a> {
    /// `None` once the connection is closed or dropped.
    socket: Option<TunnelSocket>,
    pub channel: PhoneChannel,
    /// `None` once advertising has stopped.
    advertiser: Option<VirtualRadioAdvertiser>,
    adverts_sent: u64,
    events: Vec<PhoneEvent>,
    store_saved_to: Option<PathBuf>,
    passkeys_saved: bool,
    link_recorded: bool,
    config: &'a SessionSettings,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        socket: TunnelSocket,
        channel: PhoneChannel,
        advertiser: VirtualRadioAdvertiser,
        config: &'a SessionSettings,
    ) -> Self {
        let Timeouts {
            handshake, idle, ..
        } = config.timeouts;
        Self {
            socket: Some(socket),
            channel: channel.with_waits(Instant::now(), handshake, idle),
            advertiser: Some(advertiser),
            adverts_sent: 0,
            events: Vec::new(),
            store_saved_to: None,
            passkeys_saved: false,
            link_recorded: false,
            config,
        }
    }

    pub(crate) fn into_report(self, facts: RunFacts, elapsed: Duration) -> PhoneReport {
        PhoneReport::build(
            facts,
            self.events,
            self.adverts_sent,
            self.store_saved_to,
            elapsed,
        )
    }

    /// The events so far (the handshake may have completed even if the run failed).
    pub(crate) fn events(&self) -> &[PhoneEvent] {
        &self.events
    }

    pub(crate) async fn run(&mut self) -> Result<()> {
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
            let delay = self.config.behavior.answer_delay;
            let deciding = prompted && !delay.is_zero() && result.is_ok();
            let mut later = Vec::new();
            if deciding && self.channel.end().is_some() {
                // The phone already decided to close without answering (no answer, iOS
                // cancel): it does so once the person's time is up, whatever the desktop does.
                tokio::time::sleep(delay).await;
            } else if deciding {
                // The person is still deciding: a desktop that cancels meanwhile dismisses
                // the prompt, and the answer the channel prepared is never sent.
                match self.watch_while_deciding(delay).await? {
                    Deciding::Answered(outgoing) => later = outgoing,
                    Deciding::DesktopLeft(end) => {
                        self.record(events.into_iter().filter(|e| !is_answer(e)).collect());
                        let events = self.channel.take_events();
                        self.record(events);
                        return end;
                    }
                }
            }
            self.record(events);
            let outgoing = result?;
            self.record_link_if_sent()?;
            self.save_store_if_changed()?;
            if self.send_all(outgoing).await? || self.send_all(later).await? {
                return Ok(());
            }
        }
    }

    /// Waits `delay` (the person deciding) while reading the tunnel. A shutdown or a closed
    /// tunnel in that time ends the session; anything else the channel answers is sent after
    /// the person's answer.
    async fn watch_while_deciding(&mut self, delay: Duration) -> Result<Deciding> {
        let until = tokio::time::Instant::now() + delay;
        let mut later = Vec::new();
        for _ in 0..MAX_READ_WHILE_DECIDING {
            let socket = self.socket.as_mut().ok_or(PhoneError::SessionEnded)?;
            let received = tokio::select! {
                received = socket.recv() => received.map_err(PhoneError::Tunnel)?,
                _ = tokio::time::sleep_until(until) => return Ok(Deciding::Answered(later)),
            };
            let Some(message) = received else {
                tracing::info!("phone: the desktop closed the tunnel while the person decided");
                self.socket = None;
                return Ok(Deciding::DesktopLeft(self.channel.on_close()));
            };
            match self.channel.on_message(&message) {
                Ok(outgoing) => later.extend(outgoing),
                Err(e) => return Ok(Deciding::DesktopLeft(Err(e))),
            }
            if self.channel.end().is_some() {
                tracing::info!("phone: the desktop ended the session while the person decided");
                let result = self.send_all(later).await.map(|_| ());
                return Ok(Deciding::DesktopLeft(result));
            }
        }
        // A desktop that keeps talking is left to the tunnel's back-pressure until the person
        // answers, so what it makes the phone say cannot pile up here.
        tokio::time::sleep_until(until).await;
        Ok(Deciding::Answered(later))
    }

    /// The desktop's next message; `None` when the tunnel closed. The channel's deadline
    /// bounds the wait: past it, the channel says why the session ends.
    async fn next_message(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let deadline = self.channel.poll_timeout();
            let socket = self.socket.as_mut().ok_or(PhoneError::SessionEnded)?;
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = socket.recv() => return received.map_err(PhoneError::Tunnel),
                _ = sleep => {
                    let result = self.channel.handle_timeout(Instant::now());
                    let events = self.channel.take_events();
                    self.record(events);
                    // Ok: the deadline moved (an early wake-up); wait again.
                    result?;
                }
            }
        }
    }

    /// Sends the channel's output; true once the connection has been closed.
    async fn send_all(&mut self, outgoing: Vec<Outgoing>) -> Result<bool> {
        for out in outgoing {
            match out {
                Outgoing::Send(bytes) => {
                    let socket = self.socket.as_mut().ok_or(PhoneError::SessionEnded)?;
                    socket.send(&bytes).await.map_err(PhoneError::Tunnel)?;
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
    /// They are merged into the file, which another run of the phone may have changed.
    fn save_store_if_changed(&mut self) -> Result<()> {
        let Some(path) = &self.config.store_path else {
            return Ok(());
        };
        if self.channel.store_changed() && !self.passkeys_saved {
            let session = self.channel.store();
            update_state(path, |state| {
                state.passkeys = merge_passkeys(&state.passkeys, session);
            })?;
            self.passkeys_saved = true;
            self.store_saved_to = Some(path.clone());
        }
        Ok(())
    }

    /// Records the link the update message just gave the desktop, before anything else can
    /// fail: the desktop may already have stored it.
    fn record_link_if_sent(&mut self) -> Result<()> {
        let (Some(path), Some(contact_id), Some(link_id)) = (
            &self.config.store_path,
            &self.config.link_contact_id,
            self.channel.linking_sent(),
        ) else {
            return Ok(());
        };
        if self.link_recorded {
            return Ok(());
        }
        self.link_recorded = true;
        let recorded = update_state(path, |state| match &mut state.linking {
            Some(linking) if linking.identity.contact_id() == contact_id.as_slice() => {
                linking.record(link_id, unix_now());
                true
            }
            _ => false,
        })?;
        if recorded {
            self.store_saved_to = Some(path.clone());
            // The link ID names the link to the tunnel service: it stays out of logs.
            tracing::info!("phone: link recorded");
        } else {
            tracing::warn!(
                "phone: the state file's linking identity changed during the session; \
                 the link given out is not recorded"
            );
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

/// What happened while the person took their time to answer.
enum Deciding {
    /// Time was up: the answer goes out, followed by these.
    Answered(Vec<Outgoing>),
    /// The desktop cancelled first; the session ends with this result.
    DesktopLeft(Result<()>),
}

/// Events that only hold once the answer has been sent.
fn is_answer(event: &PhoneEvent) -> bool {
    matches!(
        event,
        PhoneEvent::Responded { .. }
            | PhoneEvent::CredentialCreated(_)
            | PhoneEvent::CredentialUsed(_)
    )
}
