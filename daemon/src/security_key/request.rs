//! One relayed request: a session no connection owns, shown by the prompt agents, raced
//! between the QR code and the linked phones (or only the phone an agent picks), answered
//! with the phone's `status ‖ CBOR` or, when the session fails, the CTAP status a browser
//! expects. Nobody to show the QR code (no agent) fails at once instead of waiting unseen.

use crate::engine::{EventKind, EventSink, Route, SessionError, SessionEvent};
use crate::history::{self, Operation};
use crate::ipc::api::{
    FrontDoor, Outcome, PromptDevice, PromptEnded, PromptOpened, SessionEventNotice,
};
use crate::ipc::methods::{devices, session};
use crate::ipc::server::Daemon;
use crate::ipc::sessions::{Kind, UNOWNED};
use crate::ipc::wire;
use crate::security_key::status;
use cable_qr::RequestType;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Relays `request` (`command ‖ CBOR`) to the phone; never fails, it answers a status instead.
pub async fn relay(
    daemon: Arc<Daemon>,
    request: Vec<u8>,
    request_type: RequestType,
    cancel: CancellationToken,
) -> Vec<u8> {
    if !daemon.config.hybrid_enabled {
        tracing::warn!("a security-key request was refused: hybrid is disabled by policy");
        return vec![status::OPERATION_DENIED];
    }
    let slot = match daemon.sessions.open(UNOWNED, Kind::Raw, cancel.clone()) {
        Ok(slot) => slot,
        Err(e) => {
            tracing::warn!(error = %e.message, "a security-key request was refused");
            return vec![status::OPERATION_DENIED];
        }
    };
    let session = slot.id.clone();
    let rp_id = cable_hid::rp_id(&request);
    let prompt = PromptOpened {
        session: session.clone(),
        front_door: FrontDoor::SecurityKey,
        rp_id: rp_id.clone(),
        operation: match request_type {
            RequestType::MakeCredential => "create",
            _ => "get",
        }
        .to_string(),
        devices: linked(&daemon),
    };
    let (picks_tx, mut picks) = mpsc::channel(1);
    if !daemon.prompts.open(&prompt, picks_tx) {
        tracing::warn!(
            rp_id = rp_id.as_deref().unwrap_or("?"),
            "a program asked the phone (as a security key) to sign in, but no prompt agent is \
             running to show the QR code: start `cablectl agent` (or enable cable-agent.service \
             in your graphical session); the request was denied"
        );
        return vec![status::OPERATION_DENIED];
    }
    tracing::info!(%session, rp_id = rp_id.as_deref().unwrap_or("?"), "security-key request relayed to the phone");

    let operation = match request_type {
        RequestType::MakeCredential => Operation::Create,
        _ => Operation::Get,
    };
    let recording = daemon
        .history
        .begin(history::FrontDoor::SecurityKey, operation, rp_id.clone());
    let mut route = Route::Any;
    let result = loop {
        let attempt = cancel.child_token();
        let raw = daemon.engine.start_raw_via(
            request_type,
            route.clone(),
            recording.observe(sink(&daemon, &session)),
            attempt.clone(),
        );
        tokio::select! {
            answer = raw.ctap(request.clone()) => {
                // Linking data may still come: let the session end on its own, then close
                // the prompt.
                let (daemon, session) = (daemon.clone(), session.clone());
                let ok = answer.is_ok();
                daemon.clone().tasks.spawn(async move {
                    let ended = raw.finished().await;
                    if ok {
                        end(&daemon, &session, &Ok(()));
                    } else if let Err(e) = ended {
                        tracing::debug!(code = e.code(), "the phone session ended with an error");
                    }
                    drop(slot);
                });
                break answer;
            }
            Some(device) = picks.recv() => {
                tracing::info!(%session, "the person picked a linked phone: trying only that one");
                attempt.cancel();
                let _ = raw.finished().await;
                route = Route::Device(device);
            }
        }
    };
    recording.finish(&result);
    match result {
        Ok(response) => response,
        Err(e) => {
            end(&daemon, &session, &Err(e.clone()));
            tracing::info!(%session, code = e.code(), "security-key request failed");
            vec![status::for_failure(&e)]
        }
    }
}

/// The linked phones a prompt offers to pick (none when the store cannot be read: the QR
/// code still works).
fn linked(daemon: &Daemon) -> Vec<PromptDevice> {
    devices::linked(daemon)
        .map(|links| {
            links
                .into_iter()
                .map(|l| PromptDevice {
                    id: l.id,
                    name: l.name,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The session's events go to every agent, as `session.event` lines.
fn sink(daemon: &Arc<Daemon>, session: &str) -> EventSink {
    let (daemon, session) = (daemon.clone(), session.to_string());
    EventSink::new(move |event: SessionEvent| {
        let is_qr = matches!(event.kind, EventKind::Qr { .. });
        let params = session::event_params(&session, &event);
        let line = wire::notification::<SessionEventNotice>(&params);
        daemon.prompts.event(&session, line, is_qr);
    })
}

fn end(daemon: &Daemon, session: &str, result: &Result<(), SessionError>) {
    let ended = match result {
        Ok(()) => PromptEnded {
            session: session.to_string(),
            outcome: Outcome::Ok,
            code: None,
            message: None,
        },
        Err(e) => PromptEnded {
            session: session.to_string(),
            outcome: if matches!(e, SessionError::Cancelled) {
                Outcome::Cancelled
            } else {
                Outcome::Failed
            },
            code: Some(e.code().to_string()),
            message: Some(e.to_string()),
        },
    };
    daemon.prompts.end(&ended);
}
