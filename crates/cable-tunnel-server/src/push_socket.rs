//! The push stand-in's socket: a software phone holds `/cable/push/<contact>` open and receives
//! each wake-up for that contact ID as one JSON text message (format in [`crate::push`]).

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::reasons::CloseReason;
use crate::registry::{ContactRegistration, RevokeCause};
use crate::shared::{Shared, ShutdownSignal};
use crate::ws::{classify, close, Incoming, Ws};

pub(crate) async fn run_push(
    shared: Arc<Shared>,
    mut ws: Ws,
    peer: SocketAddr,
    contact_id: Vec<u8>,
    mut registration: ContactRegistration,
    mut shutdown: ShutdownSignal,
) {
    tracing::info!(%peer, contact_id_len = contact_id.len(), "phone registered for wake-ups");
    let reason = loop {
        tokio::select! {
            biased;
            _ = shutdown.wait() => break Some(CloseReason::ServerShutdown),
            wakeup = registration.wakeups.recv() => match wakeup {
                Some(wakeup) if !shared.registry.is_waiting(&wakeup.tunnel_id) => {
                    tracing::debug!("wake-up dropped: its desktop stopped waiting");
                }
                Some(wakeup) => {
                    let text = wakeup.push_message().encode();
                    let sent = timeout(shared.limits.idle_timeout, ws.send(Message::text(text))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break None;
                    }
                    tracing::debug!("wake-up delivered to the push socket");
                }
                None => break Some(match registration.revoked.try_recv() {
                    Ok(RevokeCause::Replaced) => CloseReason::PushReplaced,
                    _ => CloseReason::PushForgotten,
                }),
            },
            item = ws.next() => match classify(item) {
                Incoming::Control => {}
                Incoming::Closed => break None,
                Incoming::TooBig => break Some(CloseReason::MessageTooLarge),
                Incoming::Broken => break Some(CloseReason::ProtocolError),
                Incoming::Binary(_) | Incoming::Text => break Some(CloseReason::PushIsOneWay),
            },
        }
    };
    // Park before closing, so that once the phone sees the close, contact requests for this
    // ID already queue for its return.
    shared.registry.park(&contact_id, registration.generation);
    drop(registration);
    tracing::info!(
        ?reason,
        "push socket closed; wake-ups for it wait for its return"
    );
    close(&mut ws, reason, shared.limits.close_linger, &shared.stats).await;
}
