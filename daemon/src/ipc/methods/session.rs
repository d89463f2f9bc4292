//! The session methods: WebAuthn ceremonies, raw CTAP relay sessions, and cancelling them.

use crate::engine::WebAuthnRequest;
use crate::engine::{
    EventKind, EventSink, RawSession, RequestProblem, Route, SessionError, SessionEvent,
};
use crate::history::{redact, FrontDoor, Operation, Recording};
use crate::ipc::api::{
    Base64Url, Cancelled, CtapResponse, CtapSendParams, HybridStartParams, SessionEventNotice,
    SessionEventParams, SessionParams, Started, WebAuthnParams,
};
use crate::ipc::connection::{Client, Outbox};
use crate::ipc::error::{codes, RpcError};
use crate::ipc::methods::Answer;
use crate::ipc::server::Daemon;
use crate::ipc::sessions::{CtapCall, Kind, Slot, UNOWNED};
use crate::ipc::wire::{self, Id};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// CTAP `authenticatorGetInfo`: answered locally, it does not end a raw session.
const GET_INFO: u8 = 0x04;

pub async fn webauthn(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    create: bool,
    p: WebAuthnParams,
) -> Result<Map<String, Value>, RpcError> {
    daemon.require_hybrid()?;
    let name = if create {
        "webauthn.create"
    } else {
        "webauthn.get"
    };
    let route = route(daemon, non_empty(name, "device", p.device)?, p.qr_only)?;
    let top_origin = non_empty(name, "top_origin", p.top_origin)?;
    let (origin, options) = (p.origin, Value::Object(p.options));
    let (request, operation) = if create {
        (
            WebAuthnRequest::Create { origin, options },
            Operation::Create,
        )
    } else {
        (WebAuthnRequest::Get { origin, options }, Operation::Get)
    };
    let cancel = client.cancel.child_token();
    let slot = daemon
        .sessions
        .open(client.id, Kind::WebAuthn, cancel.clone())?;
    tracing::info!(client = client.id, session = %slot.id, method = name, "session started");
    let recording = daemon
        .history
        .begin(FrontDoor::Ipc, operation, redact::rp_id_of(&request));
    let events = recording.observe(event_sink(slot.id.clone(), client.out.clone(), None, None));
    let result = match top_origin {
        None => {
            daemon
                .engine
                .webauthn_via(request, route, events, cancel)
                .await
        }
        Some(top) => {
            daemon
                .engine
                .webauthn_cross_origin_via(request, top, route, events, cancel)
                .await
        }
    };
    recording.finish(&result);
    log_end(&slot, &result);
    match result.map_err(|e| webauthn_error(daemon, &e))? {
        Value::Object(credential) => Ok(credential),
        other => Err(RpcError::internal(format!(
            "{name}: the engine's credential is not a JSON object but {other}"
        ))),
    }
}

/// A ceremony's failure as answered: origin and RP ID refusals get `origin_refused`, so that a
/// browser extension can tell them (a SecurityError) from other unusable options.
fn webauthn_error(daemon: &Daemon, e: &SessionError) -> RpcError {
    use cable_ctap::CtapError;
    let mut error = daemon.session_error(e);
    if let SessionError::InvalidRequest(RequestProblem::WebAuthn(
        CtapError::Origin(_)
        | CtapError::RpId(_)
        | CtapError::RpIdMismatch { .. }
        | CtapError::RpIdInsidePublicSuffix { .. },
    )) = e
    {
        error.code = codes::ORIGIN_REFUSED.to_string();
    }
    error
}

pub fn hybrid_start(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    id: Option<&Id>,
    p: HybridStartParams,
) -> Result<Answer, RpcError> {
    daemon.require_hybrid()?;
    let route = route(
        daemon,
        non_empty("hybrid.start", "device", p.device)?,
        p.qr_only,
    )?;
    let request_type = cable_qr::RequestType::from(p.request_type);
    let cancel = client.cancel.child_token();
    let slot = daemon.sessions.open(client.id, Kind::Raw, cancel.clone())?;
    // Ready for ctap.send before the caller can know the id.
    let (inbox_tx, inbox) = mpsc::channel(4);
    daemon.sessions.attach_relay(&slot.id, inbox_tx);
    // Answer before the session starts, so the caller knows the id before its first event.
    if let Some(id) = id {
        let started = Started {
            session: slot.id.clone(),
        };
        client.out.send(wire::success(id, &started));
    }
    tracing::info!(client = client.id, session = %slot.id, request_type = %request_type, "raw session started");
    // The engine drops its event sink when the session's task ends; `ended` learns that.
    let (ended_tx, ended) = oneshot::channel();
    // `closed` is a session's last event: held back until a failure has been reported.
    let closed = Arc::new(Mutex::new(None));
    let recording = daemon.history.begin(FrontDoor::Ipc, Operation::Raw, None);
    let events = recording.observe(event_sink(
        slot.id.clone(),
        client.out.clone(),
        Some(ended_tx),
        Some(closed.clone()),
    ));
    let started = Instant::now();
    let raw = daemon
        .engine
        .start_raw_via(request_type, route, events, cancel);
    let relay = Relay {
        daemon: daemon.clone(),
        slot,
        out: client.out.clone(),
        started,
        closed,
        recording,
    };
    daemon.tasks.spawn(relay.run(raw, inbox, ended));
    Ok(Answer::Sent)
}

/// A raw session's relay task.
struct Relay {
    daemon: Arc<Daemon>,
    slot: Slot,
    out: Outbox,
    started: Instant,
    closed: Arc<Mutex<Option<SessionEvent>>>,
    recording: Recording,
}

impl Relay {
    /// Hands the session's CTAP requests to the engine one at a time, until the session ends;
    /// then reports a failure as an `error` event (nobody may be waiting on `ctap.send`),
    /// sends the held-back `closed` event, and frees the session's place.
    async fn run(
        self,
        raw: RawSession,
        mut inbox: mpsc::Receiver<CtapCall>,
        mut ended: oneshot::Receiver<()>,
    ) {
        loop {
            tokio::select! {
                _ = &mut ended => break,
                call = inbox.recv() => match call {
                    Some((request, reply)) => self.forward(&raw, request, reply).await,
                    None => break,
                },
            }
        }
        // Requests that raced with the end get the session's outcome.
        inbox.close();
        while let Some((request, reply)) = inbox.recv().await {
            self.forward(&raw, request, reply).await;
        }
        let result = raw.finished().await;
        self.recording.finish(&result);
        log_end(&self.slot, &result);
        if let Err(e) = result {
            let kind = EventKind::Error {
                code: e.code().to_string(),
                message: e.to_string(),
            };
            self.send(kind);
        }
        let closed = self.closed.lock().ok().and_then(|mut c| c.take());
        if let Some(closed) = closed {
            self.out.send(event_line(&self.slot.id, &closed));
        }
    }

    async fn forward(
        &self,
        raw: &RawSession,
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SessionError>>,
    ) {
        let operation = request.first() != Some(&GET_INFO);
        if operation {
            self.recording.set_rp_id(cable_hid::rp_id(&request));
        }
        let answer = raw.ctap(request).await;
        if operation && answer.is_ok() {
            // The phone's one operation is done: the session is finished for the caller,
            // even while it lingers for the phone's linking data.
            self.daemon.sessions.finish(&self.slot.id);
        }
        let _ = reply.send(answer);
    }

    fn send(&self, kind: EventKind) {
        let event = SessionEvent {
            kind,
            t_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        self.out.send(event_line(&self.slot.id, &event));
    }
}

pub async fn ctap_send(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    p: CtapSendParams,
) -> Result<CtapResponse, RpcError> {
    daemon.require_hybrid()?;
    if p.request.0.is_empty() {
        return Err(RpcError::invalid_params(
            "ctap.send: \"request\" is empty; it must hold a CTAP2 command byte and its CBOR",
        ));
    }
    let session = p.session;
    let inbox = daemon.sessions.relay(client.id, &session)?;
    let (reply, answer) = oneshot::channel();
    inbox
        .send((p.request.0, reply))
        .await
        .map_err(|_| RpcError::session_not_found(&session))?;
    let response = answer
        .await
        .unwrap_or(Err(SessionError::Finished))
        .map_err(|e| daemon.session_error(&e))?;
    Ok(CtapResponse {
        response: Base64Url(response),
    })
}

pub fn cancel(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    p: SessionParams,
) -> Result<Cancelled, RpcError> {
    daemon.require_hybrid()?;
    let own = daemon.sessions.cancel(client.id, &p.session);
    // A prompt agent may cancel the prompts it shows: the sessions no connection owns.
    match own {
        Err(_) if daemon.prompts.is_agent(client.id) => {
            daemon.sessions.cancel(UNOWNED, &p.session)?
        }
        other => other?,
    }
    tracing::info!(client = client.id, session = %p.session, "session cancelled by the client");
    Ok(Cancelled {
        session: p.session,
        cancelled: true,
    })
}

/// An optional string param that, when given, must not be empty.
fn non_empty(method: &str, name: &str, value: Option<String>) -> Result<Option<String>, RpcError> {
    match value {
        Some(v) if v.is_empty() => Err(RpcError::invalid_params(format!(
            "{method}: {name:?} must not be empty"
        ))),
        v => Ok(v),
    }
}

/// How a session reaches the phone: the QR code and every linked phone, only the QR code
/// (`qr_only`), or only `device`.
pub fn route(
    daemon: &Daemon,
    device: Option<String>,
    qr_only: Option<bool>,
) -> Result<Route, RpcError> {
    let qr_only = qr_only.unwrap_or(false);
    let Some(device) = device else {
        return Ok(if qr_only { Route::QrOnly } else { Route::Any });
    };
    if qr_only {
        return Err(RpcError::invalid_params(
            "\"device\" and \"qr_only\" exclude each other: give one",
        ));
    }
    // A unique prefix is enough, as in `cablectl devices`.
    let wanted = device.to_ascii_lowercase();
    let matching: Vec<String> = super::devices::linked(daemon)?
        .into_iter()
        .map(|link| link.id)
        .filter(|id| id.to_ascii_lowercase().starts_with(&wanted))
        .collect();
    match matching.as_slice() {
        [id] => Ok(Route::Device(id.clone())),
        [] => Err(unknown_device(&device)),
        _ => Err(RpcError::invalid_params(format!(
            "{device:?} matches {} linked phones: give more of the id",
            matching.len()
        ))),
    }
}

fn unknown_device(device: &str) -> RpcError {
    RpcError::server(
        codes::UNKNOWN_DEVICE,
        format!(
            "no linked phone has the id {device:?}; devices.list shows the linked phones, or \
             leave out \"device\" to show a QR code"
        ),
    )
}

/// Forwards a session's events to the client as `session.event` notifications. `ended` is
/// held only to be dropped along with the sink, which tells the relay the session is over.
/// With `hold_closed`, the `closed` event is kept there for the relay to send last.
fn event_sink(
    session: String,
    out: Outbox,
    ended: Option<oneshot::Sender<()>>,
    hold_closed: Option<Arc<Mutex<Option<SessionEvent>>>>,
) -> EventSink {
    EventSink::new(move |event: SessionEvent| {
        let _held = &ended;
        if let (EventKind::Closed, Some(hold)) = (&event.kind, &hold_closed) {
            if let Ok(mut slot) = hold.lock() {
                *slot = Some(event);
                return;
            }
        }
        out.send(event_line(&session, &event));
    })
}

fn event_line(session: &str, event: &SessionEvent) -> String {
    wire::notification::<SessionEventNotice>(&event_params(session, event))
}

/// The event with its session; the QR event also carries the code as SVG. (The QR URL holds
/// the session's secret: it goes to the client only, never to the log.)
pub fn event_params(session: &str, event: &SessionEvent) -> SessionEventParams {
    let svg = match &event.kind {
        EventKind::Qr { url } => match cable_qr::render::svg(url) {
            Ok(svg) => Some(svg),
            Err(e) => {
                tracing::warn!(error = %e, "cannot draw the QR code as SVG");
                None
            }
        },
        _ => None,
    };
    SessionEventParams {
        session: session.to_string(),
        event: event.clone(),
        svg,
    }
}

fn log_end<T>(slot: &Slot, result: &Result<T, SessionError>) {
    match result {
        Ok(_) => tracing::info!(session = %slot.id, "session finished"),
        Err(e) => tracing::info!(session = %slot.id, code = e.code(), "session failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qr_event_gets_session_and_svg() {
        let event = SessionEvent {
            kind: EventKind::Qr {
                url: "FIDO:/1234".into(),
            },
            t_ms: 0,
        };
        let p = serde_json::to_value(event_params("abcd", &event)).unwrap();
        assert_eq!(p["event"], "qr");
        assert_eq!(p["url"], "FIDO:/1234");
        assert_eq!(p["session"], "abcd");
        assert_eq!(p["t_ms"], 0);
        assert!(p["svg"].as_str().unwrap().contains("<svg"));
    }

    #[test]
    fn other_events_keep_their_fields() {
        let event = SessionEvent {
            kind: EventKind::TunnelConnected { http_status: 101 },
            t_ms: 12,
        };
        assert_eq!(
            serde_json::to_value(event_params("s", &event)).unwrap(),
            json!({"session": "s", "event": "tunnel_connected", "http_status": 101, "t_ms": 12})
        );
    }
}
