//! One accepted TCP connection: read the upgrade request (bounded in size and time), decide its
//! fate against the registry, answer it, and hand the upgraded socket to its role.

use std::net::SocketAddr;
use std::sync::Arc;

use rand::rngs::OsRng;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument as _;

use crate::handshake::{error_response, parse_head, switching_protocols, UpgradeRequest};
use crate::push_socket::run_push;
use crate::reasons::{CloseReason, RejectReason};
use crate::registry::{ContactRegistration, Reservation};
use crate::relay::{run_tunnel, Joiner};
use crate::shared::Shared;
use crate::ws::{close, config};
use cable_tunnel::TunnelPath as Route;

/// Bytes read from a client at a time while looking for the end of the request head.
const READ_CHUNK: usize = 1024;

/// What an accepted request becomes once upgraded.
enum Accepted {
    /// `new` or `contact`: runs the tunnel.
    First {
        reservation: Reservation<Joiner>,
        signal_connection: bool,
    },
    /// `connect`: hands itself to the waiting first side.
    Join { to: oneshot::Sender<Joiner> },
    /// `push`: delivers wake-ups.
    Push {
        contact_id: Vec<u8>,
        registration: ContactRegistration,
    },
}

pub(crate) async fn serve(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) {
    let deadline = Instant::now() + shared.limits.handshake_timeout;
    let mut shutdown = shared.shutdown_signal();
    let read = tokio::select! {
        _ = shutdown.wait() => return,
        read = timeout_at(deadline, read_request(&mut stream, &shared)) => read,
    };
    let (request, leftover) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(reason)) => return reject(&shared, stream, peer, reason, deadline).await,
        Err(_) => {
            let late = Instant::now() + std::time::Duration::from_millis(200);
            return reject(&shared, stream, peer, RejectReason::HandshakeTimeout, late).await;
        }
    };
    let (role, response) = match decide(&shared, &request) {
        Ok(accepted) => accepted,
        Err(reason) => return reject(&shared, stream, peer, reason, deadline).await,
    };
    if !matches!(
        timeout_at(deadline, stream.write_all(&response)).await,
        Ok(Ok(()))
    ) {
        tracing::debug!(%peer, "client went away before the 101 was written");
        return; // Dropping the role withdraws a reservation or registration.
    }
    shared.stats.upgraded();
    let ws = WebSocketStream::from_partially_read(
        stream,
        leftover,
        Role::Server,
        Some(config(&shared.limits)),
    )
    .await;

    match role {
        Accepted::First {
            reservation,
            signal_connection,
        } => {
            let span = tracing::info_span!(
                "tunnel",
                routing_id = %hex::encode_upper(reservation.routing_id)
            );
            run_tunnel(
                shared.clone(),
                ws,
                peer,
                reservation,
                signal_connection,
                shutdown,
            )
            .instrument(span)
            .await;
        }
        Accepted::Join { to } => {
            if let Err(mut joiner) = to.send(Joiner { ws, peer, permit }) {
                // The first side left between our claim and now.
                tracing::info!(%peer, "tunnel's first side left as its peer joined");
                let linger = shared.limits.close_linger;
                close(
                    &mut joiner.ws,
                    Some(CloseReason::PeerClosed),
                    linger,
                    &shared.stats,
                )
                .await;
            }
            return;
        }
        Accepted::Push {
            contact_id,
            registration,
        } => run_push(shared.clone(), ws, peer, contact_id, registration, shutdown).await,
    }
    drop(permit);
}

/// Reads until the request head is complete; returns it with any bytes read past it.
async fn read_request(
    stream: &mut TcpStream,
    shared: &Shared,
) -> Result<(UpgradeRequest, Vec<u8>), RejectReason> {
    let max = shared.limits.max_request_head;
    let mut buf = Vec::with_capacity(READ_CHUNK.min(max));
    loop {
        let room = max.saturating_sub(buf.len()).min(READ_CHUNK);
        let start = buf.len();
        buf.resize(start + room, 0);
        let n = match stream.read(&mut buf[start..]).await {
            Ok(0) | Err(_) => return Err(RejectReason::IncompleteRequest),
            Ok(n) => n,
        };
        buf.truncate(start + n);
        if let Some((head_len, request)) = parse_head(&buf, &shared.limits)? {
            let leftover = buf.split_off(head_len);
            return Ok((request, leftover));
        }
    }
}

/// Everything that depends on server state, decided before answering so the status is right.
fn decide(shared: &Shared, request: &UpgradeRequest) -> Result<(Accepted, Vec<u8>), RejectReason> {
    let registry = &shared.registry;
    let key = &request.ws_key;
    match &request.route {
        Route::New { tunnel_id } => {
            let reservation = registry.open_new(*tunnel_id, &mut OsRng)?;
            let response = switching_protocols(key, Some(reservation.routing_id), false);
            let role = Accepted::First {
                reservation,
                signal_connection: false,
            };
            Ok((role, response))
        }
        Route::Connect {
            routing_id,
            tunnel_id,
        } => {
            let to = registry.claim(*routing_id, *tunnel_id)?;
            Ok((Accepted::Join { to }, switching_protocols(key, None, false)))
        }
        Route::Contact { contact_id } => {
            let (reservation, _wakeup) =
                registry.open_contact(contact_id, request.client_payload.clone(), &mut OsRng)?;
            shared.stats.wakeup_sent();
            let signal_connection = request.signal_connection;
            let response = switching_protocols(key, None, signal_connection);
            let role = Accepted::First {
                reservation,
                signal_connection,
            };
            Ok((role, response))
        }
        Route::Push { contact_id } => {
            let registration = registry.register_contact(contact_id);
            let role = Accepted::Push {
                contact_id: contact_id.clone(),
                registration,
            };
            Ok((role, switching_protocols(key, None, false)))
        }
    }
}

/// Answers with an HTTP error, then lingers briefly so the client reads it before the close.
async fn reject(
    shared: &Shared,
    mut stream: TcpStream,
    peer: SocketAddr,
    reason: RejectReason,
    deadline: Instant,
) {
    shared.stats.rejected(reason);
    tracing::info!(%peer, status = reason.status(), %reason, "upgrade refused");
    if reason == RejectReason::IncompleteRequest {
        return;
    }
    let _ = timeout_at(deadline, stream.write_all(&error_response(reason))).await;
    let _ = timeout_at(deadline, stream.shutdown()).await;
    // Discard what the client still sends (bounded in time and size): closing a socket with
    // unread input makes the kernel send RST, which can destroy the response in flight.
    let linger = shared.limits.close_linger;
    let _ = timeout(linger, async {
        let mut sink = [0u8; READ_CHUNK];
        let mut budget = shared.limits.max_request_head.saturating_mul(8);
        while budget > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => budget = budget.saturating_sub(n),
            }
        }
    })
    .await;
}
