//! The methods: each reads its params, checks policy and limits, and runs or looks up a
//! session. Session progress goes to the caller as `session.event` notifications.

use crate::engine::{
    EventKind, EventSink, RawSession, Route, SessionError, SessionEvent, WebAuthnRequest,
};
use crate::ipc::connection::{Client, Outbox};
use crate::ipc::error::{codes, RpcError};
use crate::ipc::params::Params;
use crate::ipc::server::Daemon;
use crate::ipc::sessions::{CtapCall, Kind, Slot};
use crate::ipc::wire;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Every method, for `method_not_found` and the docs.
pub const NAMES: [&str; 9] = [
    "webauthn.create",
    "webauthn.get",
    "hybrid.start",
    "ctap.send",
    "session.cancel",
    "devices.list",
    "devices.forget",
    "devices.rename",
    "daemon.status",
];

/// A method's outcome.
pub enum Answer {
    /// Send this as the result.
    Value(Value),
    /// The method already queued its response (so that it precedes the session's events).
    Sent,
}

pub async fn call(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    method: &str,
    id: Option<&Value>,
    params: Map<String, Value>,
) -> Result<Answer, RpcError> {
    match method {
        "webauthn.create" => webauthn(daemon, client, true, params)
            .await
            .map(Answer::Value),
        "webauthn.get" => webauthn(daemon, client, false, params)
            .await
            .map(Answer::Value),
        "hybrid.start" => hybrid_start(daemon, client, id, params),
        "ctap.send" => ctap_send(daemon, client, params).await.map(Answer::Value),
        "session.cancel" => session_cancel(daemon, client, params).map(Answer::Value),
        "devices.list" => devices_list(daemon, params).map(Answer::Value),
        "devices.forget" => devices_forget(daemon, params).map(Answer::Value),
        "devices.rename" => devices_rename(daemon, params).map(Answer::Value),
        "daemon.status" => daemon_status(daemon, client, params)
            .await
            .map(Answer::Value),
        _ => Err(RpcError::method_not_found(method)),
    }
}

async fn webauthn(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    create: bool,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
    daemon.require_hybrid()?;
    let name = if create {
        "webauthn.create"
    } else {
        "webauthn.get"
    };
    let mut p = Params::new(name, params);
    let origin = p.string("origin")?;
    let options = p.object("options")?;
    let device = p.optional_string("device")?;
    let qr_only = p.optional_bool("qr_only")?;
    p.finish()?;
    let route = route(daemon, device, qr_only)?;
    let request = if create {
        WebAuthnRequest::Create { origin, options }
    } else {
        WebAuthnRequest::Get { origin, options }
    };
    let cancel = client.cancel.child_token();
    let slot = daemon
        .sessions
        .open(client.id, Kind::WebAuthn, cancel.clone())?;
    tracing::info!(client = client.id, session = %slot.id, method = name, "session started");
    let events = event_sink(slot.id.clone(), client.out.clone(), None);
    let result = daemon
        .engine
        .webauthn_via(request, route, events, cancel)
        .await;
    log_end(&slot, &result);
    result.map_err(|e| daemon.session_error(&e))
}

fn hybrid_start(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    id: Option<&Value>,
    params: Map<String, Value>,
) -> Result<Answer, RpcError> {
    daemon.require_hybrid()?;
    let mut p = Params::new("hybrid.start", params);
    let request_type = p.request_type("request_type")?;
    let device = p.optional_string("device")?;
    let qr_only = p.optional_bool("qr_only")?;
    p.finish()?;
    let route = route(daemon, device, qr_only)?;
    let cancel = client.cancel.child_token();
    let slot = daemon.sessions.open(client.id, Kind::Raw, cancel.clone())?;
    // Ready for ctap.send before the caller can know the id.
    let (inbox_tx, inbox) = mpsc::channel(4);
    daemon.sessions.attach_relay(&slot.id, inbox_tx);
    // Answer before the session starts, so the caller knows the id before its first event.
    if let Some(id) = id {
        client
            .out
            .send(wire::success(id, json!({"session": slot.id})));
    }
    tracing::info!(client = client.id, session = %slot.id, request_type = %request_type, "raw session started");
    // The engine drops its event sink when the session's task ends; `ended` learns that.
    let (ended_tx, ended) = oneshot::channel();
    let events = event_sink(slot.id.clone(), client.out.clone(), Some(ended_tx));
    let started = Instant::now();
    let raw = daemon
        .engine
        .start_raw_via(request_type, route, events, cancel);
    daemon
        .tasks
        .spawn(relay(raw, inbox, ended, slot, client.out.clone(), started));
    Ok(Answer::Sent)
}

/// Hands a raw session's CTAP requests to the engine one at a time, until the session ends;
/// then reports a failure as an `error` event (nobody may be waiting on `ctap.send`) and
/// frees the session's place.
async fn relay(
    raw: RawSession,
    mut inbox: mpsc::Receiver<CtapCall>,
    mut ended: oneshot::Receiver<()>,
    slot: Slot,
    out: Outbox,
    started: Instant,
) {
    loop {
        tokio::select! {
            _ = &mut ended => break,
            call = inbox.recv() => match call {
                Some((request, reply)) => {
                    let _ = reply.send(raw.ctap(request).await);
                }
                None => break,
            },
        }
    }
    // Requests that raced with the end get the session's outcome.
    inbox.close();
    while let Some((request, reply)) = inbox.recv().await {
        let _ = reply.send(raw.ctap(request).await);
    }
    let result = raw.finished().await;
    log_end(&slot, &result);
    if let Err(e) = result {
        let event = SessionEvent {
            kind: EventKind::Error {
                code: e.code().to_string(),
                message: e.to_string(),
            },
            t_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        out.send(wire::notification(
            wire::SESSION_EVENT,
            event_params(&slot.id, &event),
        ));
    }
}

async fn ctap_send(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
    daemon.require_hybrid()?;
    let mut p = Params::new("ctap.send", params);
    let session = p.string("session")?;
    let request = p.base64url("request")?;
    p.finish()?;
    if request.is_empty() {
        return Err(RpcError::invalid_params(
            "ctap.send: \"request\" is empty; it must hold a CTAP2 command byte and its CBOR",
        ));
    }
    let inbox = daemon.sessions.relay(client.id, &session)?;
    let (reply, answer) = oneshot::channel();
    inbox
        .send((request, reply))
        .await
        .map_err(|_| RpcError::session_not_found(&session))?;
    let response = answer
        .await
        .unwrap_or(Err(SessionError::Finished))
        .map_err(|e| daemon.session_error(&e))?;
    Ok(json!({"response": URL_SAFE_NO_PAD.encode(response)}))
}

fn session_cancel(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
    daemon.require_hybrid()?;
    let mut p = Params::new("session.cancel", params);
    let session = p.string("session")?;
    p.finish()?;
    daemon.sessions.cancel(client.id, &session)?;
    tracing::info!(client = client.id, %session, "session cancelled by the client");
    Ok(json!({"session": session, "cancelled": true}))
}

fn devices_list(daemon: &Daemon, params: Map<String, Value>) -> Result<Value, RpcError> {
    Params::new("devices.list", params).finish()?;
    let summaries = match daemon.engine.links() {
        None => Vec::new(),
        Some(book) => book.summaries().map_err(store_error)?,
    };
    let devices: Vec<Value> = summaries
        .iter()
        .map(|link| {
            json!({
                "id": link.id,
                "name": link.name,
                "created": link.created,
                "last_used": link.last_used,
                "tunnel_domain_id": link.tunnel_domain_id,
                "tunnel_domain": cable_tunnel::domain_name(link.tunnel_domain_id),
            })
        })
        .collect();
    Ok(json!({ "devices": devices }))
}

fn devices_rename(daemon: &Daemon, params: Map<String, Value>) -> Result<Value, RpcError> {
    let mut p = Params::new("devices.rename", params);
    let id = p.string("id")?;
    let name = p.string("name")?;
    p.finish()?;
    let renamed = match daemon.engine.links() {
        None => false,
        Some(book) => book.rename(&id, &name).map_err(store_error)?,
    };
    if !renamed {
        return Err(RpcError::server(
            codes::DEVICE_NOT_FOUND,
            format!("no linked phone has the id {id:?}; devices.list shows the linked phones"),
        ));
    }
    Ok(json!({"id": id, "name": name}))
}

fn store_error(e: String) -> RpcError {
    RpcError::server(
        codes::DEVICE_STORE_ERROR,
        format!("the linked phones cannot be read: {e}"),
    )
}

fn devices_forget(daemon: &Daemon, params: Map<String, Value>) -> Result<Value, RpcError> {
    let mut p = Params::new("devices.forget", params);
    let id = p.string("id")?;
    p.finish()?;
    let forgotten = daemon.engine.links().is_some_and(|book| book.forget(&id));
    if !forgotten {
        return Err(RpcError::server(
            codes::DEVICE_NOT_FOUND,
            format!("no linked phone has the id {id:?}; devices.list shows the linked phones"),
        ));
    }
    tracing::info!(device = %id, "linked phone forgotten");
    Ok(json!({"id": id, "forgotten": true}))
}

/// The linked phones (none when the engine has no link book).
fn linked(daemon: &Daemon) -> Result<Vec<crate::engine::StoredLink>, RpcError> {
    match daemon.engine.links() {
        None => Ok(Vec::new()),
        Some(book) => book.links().map_err(|e| {
            RpcError::server(
                codes::DEVICE_STORE_ERROR,
                format!("the linked phones cannot be read: {e}"),
            )
        }),
    }
}

/// How a session reaches the phone: the QR code and every linked phone, only the QR code
/// (`qr_only`), or only `device`.
fn route(daemon: &Daemon, device: Option<String>, qr_only: bool) -> Result<Route, RpcError> {
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
    let matching: Vec<String> = linked(daemon)?
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

async fn daemon_status(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
    Params::new("daemon.status", params).finish()?;
    let engine = &daemon.config.engine;
    let limits = &daemon.config.limits;
    let backend = match engine.radio {
        crate::engine::RadioConfig::Bluetooth { .. } => "bluetooth",
        crate::engine::RadioConfig::Virtual(_) => "virtual",
    };
    // Asked now, on request: BlueZ is never polled while the daemon idles.
    let bluetooth = match daemon.engine.bluetooth_state().await {
        None => json!({"state": "not_used"}),
        Some(Ok(adapter)) => json!({"state": "ready", "adapter": adapter}),
        Some(Err(e)) => json!({"state": e.code(), "message": e.to_string()}),
    };
    let tunnel = match &engine.tunnel {
        crate::engine::TunnelConfig::Real => Value::Null,
        crate::engine::TunnelConfig::Override(url) => json!(url),
    };
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "uptime_s": daemon.uptime().as_secs(),
        "hybrid_enabled": daemon.config.hybrid_enabled,
        "sessions": {
            "open": daemon.sessions.count(),
            "max": limits.max_sessions,
            "this_client": daemon.sessions.count_for(client.id),
            "max_per_client": limits.max_sessions_per_client,
        },
        "clients": daemon.clients(),
        "radio": {
            "backend": backend,
            "description": engine.radio.describe(),
            "scanning": daemon.engine.is_scanning().await,
        },
        "bluetooth": bluetooth,
        "tunnel_override": tunnel,
        "config_file": daemon.config.source.as_ref().map(|p| p.display().to_string()),
    }))
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
fn event_sink(session: String, out: Outbox, ended: Option<oneshot::Sender<()>>) -> EventSink {
    EventSink::new(move |event: SessionEvent| {
        let _held = &ended;
        out.send(wire::notification(
            wire::SESSION_EVENT,
            event_params(&session, &event),
        ));
    })
}

/// `{session, event, t_ms, ...}`; the QR event also carries the code as SVG. (The QR URL holds
/// the session's secret: it goes to the client only, never to the log.)
fn event_params(session: &str, event: &SessionEvent) -> Value {
    let mut params = match event.to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    params.insert("session".into(), json!(session));
    if let EventKind::Qr { url } = &event.kind {
        match cable_qr::render::svg(url) {
            Ok(svg) => {
                params.insert("svg".into(), json!(svg));
            }
            Err(e) => tracing::warn!(error = %e, "cannot draw the QR code as SVG"),
        }
    }
    Value::Object(params)
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
    use crate::engine::{Engine, LinkBook, StoredLink};
    use crate::ipc::config::DaemonConfig;
    use std::sync::Mutex;

    /// A link book in memory.
    struct Book(Mutex<Vec<StoredLink>>);

    impl LinkBook for Book {
        fn links(&self) -> Result<Vec<StoredLink>, String> {
            Ok(self.0.lock().unwrap().clone())
        }
        fn save(&self, _: &cable_tunnel::LinkingInfo, _: u16) -> Result<String, String> {
            Err("read-only".into())
        }
        fn touch(&self, _: &str) {}
        fn summaries(&self) -> Result<Vec<crate::engine::LinkSummary>, String> {
            let links = self.0.lock().unwrap();
            Ok(links
                .iter()
                .map(|l| crate::engine::LinkSummary {
                    id: l.id.clone(),
                    name: l.name.clone(),
                    created: 1,
                    last_used: 2,
                    tunnel_domain_id: l.tunnel_domain_id,
                })
                .collect())
        }
        fn rename(&self, id: &str, name: &str) -> Result<bool, String> {
            let mut links = self.0.lock().unwrap();
            Ok(links
                .iter_mut()
                .find(|l| l.id == id)
                .map(|l| l.name = name.into())
                .is_some())
        }
        fn forget(&self, id: &str) -> bool {
            let mut links = self.0.lock().unwrap();
            let before = links.len();
            links.retain(|l| l.id != id);
            links.len() != before
        }
    }

    fn link(id: &str) -> StoredLink {
        let key = cable_keys::IdentityKey::generate(&mut rand_core::OsRng);
        StoredLink {
            id: id.into(),
            name: format!("Phone {id}"),
            contact_id: vec![1, 2, 3],
            link_id: [0; 8],
            link_secret: cable_keys::Secret::new([7; 32]),
            phone_public_key: key.public_key(),
            tunnel_domain_id: 0,
        }
    }

    fn no_params() -> Map<String, Value> {
        Map::new()
    }

    #[test]
    fn devices_come_from_the_engines_link_book() {
        let book = Arc::new(Book(Mutex::new(vec![link("aa11"), link("bb22")])));
        let config = DaemonConfig::default();
        let daemon = Daemon::with_engine(Engine::with_links(config.engine.clone(), book), config);
        let list = devices_list(&daemon, no_params()).unwrap();
        assert_eq!(list["devices"].as_array().unwrap().len(), 2);
        assert_eq!(list["devices"][0]["id"], "aa11");
        assert_eq!(list["devices"][0]["name"], "Phone aa11");
        assert!(list["devices"][0]["tunnel_domain"].is_string());
        assert_eq!(list["devices"][0]["created"], 1);
        assert_eq!(list["devices"][0]["last_used"], 2);

        assert_eq!(route(&daemon, None, false).unwrap(), Route::Any);
        assert_eq!(route(&daemon, None, true).unwrap(), Route::QrOnly);
        assert_eq!(
            route(&daemon, Some("bb22".into()), false).unwrap(),
            Route::Device("bb22".into())
        );
        assert_eq!(
            route(&daemon, Some("bb22".into()), true).unwrap_err().code,
            "invalid_params"
        );
        assert_eq!(
            route(&daemon, Some("cc33".into()), false).unwrap_err().code,
            "unknown_device"
        );

        let mut rename = Map::new();
        rename.insert("id".into(), json!("bb22"));
        rename.insert("name".into(), json!("Work phone"));
        assert_eq!(
            devices_rename(&daemon, rename).unwrap(),
            json!({"id": "bb22", "name": "Work phone"})
        );
        assert_eq!(
            devices_list(&daemon, no_params()).unwrap()["devices"][1]["name"],
            "Work phone"
        );
        let mut missing = Map::new();
        missing.insert("id".into(), json!("zz99"));
        missing.insert("name".into(), json!("x"));
        assert_eq!(
            devices_rename(&daemon, missing).unwrap_err().code,
            "device_not_found"
        );

        let mut params = Map::new();
        params.insert("id".into(), json!("aa11"));
        assert_eq!(
            devices_forget(&daemon, params.clone()).unwrap(),
            json!({"id": "aa11", "forgotten": true})
        );
        assert_eq!(
            devices_forget(&daemon, params).unwrap_err().code,
            "device_not_found"
        );
        assert_eq!(
            devices_list(&daemon, no_params()).unwrap()["devices"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn without_a_link_book_there_are_no_devices() {
        let daemon = Daemon::new(DaemonConfig::default());
        assert_eq!(
            devices_list(&daemon, no_params()).unwrap(),
            json!({"devices": []})
        );
        assert_eq!(
            route(&daemon, Some("aa11".into()), false).unwrap_err().code,
            "unknown_device"
        );
    }

    #[test]
    fn qr_event_gets_session_and_svg() {
        let event = SessionEvent {
            kind: EventKind::Qr {
                url: "FIDO:/1234".into(),
            },
            t_ms: 0,
        };
        let p = event_params("abcd", &event);
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
            event_params("s", &event),
            json!({"session": "s", "event": "tunnel_connected", "http_status": 101, "t_ms": 12})
        );
    }
}
