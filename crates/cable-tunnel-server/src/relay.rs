//! One tunnel: the first side (`new` or `contact`) waits for its peer while buffering what it
//! sends, then the two sockets are relayed message for message until either side leaves.
//!
//! The first side's task runs the whole tunnel; a joining `connect` socket is handed to it
//! through the registry (see [`Joiner`]), together with its connection permit.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt as _;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::Bytes;

use crate::reasons::CloseReason;
use crate::registry::Reservation;
use crate::shared::{Shared, ShutdownSignal};
use crate::ws::{classify, close, send_binary, Incoming, Sent, Ws};

/// The second side of a tunnel, handed to the first side's task when it joins.
pub(crate) struct Joiner {
    pub ws: Ws,
    pub peer: SocketAddr,
    pub permit: OwnedSemaphorePermit,
}

/// The connect signal (HYBRID.md §5.4): one byte `00` to the desktop when the phone joins.
const CONNECT_SIGNAL: [u8; 1] = [0];

/// The tunnel's clocks: a fixed end of life and an idle deadline that moves with traffic.
struct Clock {
    lifetime_end: Instant,
    idle: std::time::Duration,
    last_activity: Instant,
}

impl Clock {
    fn deadline(&self) -> Instant {
        self.lifetime_end.min(self.last_activity + self.idle)
    }

    fn expired_reason(&self) -> CloseReason {
        if Instant::now() >= self.lifetime_end {
            CloseReason::LifetimeExceeded
        } else {
            CloseReason::IdleTimeout
        }
    }

    fn touch(&mut self) {
        self.last_activity = Instant::now();
    }
}

/// A socket with the count of messages it has sent through the tunnel.
struct Side {
    ws: Ws,
    sent: u32,
}

/// What ends a tunnel: the close reason for each side (`None`: that side closed or vanished
/// itself, so only the close handshake is completed).
struct End {
    first: Option<CloseReason>,
    second: Option<CloseReason>,
}

/// Runs a tunnel from the first side's upgrade to its end.
pub(crate) async fn run_tunnel(
    shared: Arc<Shared>,
    ws: Ws,
    peer: SocketAddr,
    mut reservation: Reservation<Joiner>,
    signal_connection: bool,
    mut shutdown: ShutdownSignal,
) {
    let limits = &shared.limits;
    let now = Instant::now();
    let mut clock = Clock {
        lifetime_end: now + limits.tunnel_lifetime,
        idle: limits.idle_timeout,
        last_activity: now,
    };
    let mut first = Side { ws, sent: 0 };
    tracing::info!(%peer, "tunnel waiting for its peer");

    // Waiting: buffer what the first side sends until the peer joins.
    let mut early: VecDeque<Bytes> = VecDeque::new();
    let mut early_bytes = 0usize;
    let waited = loop {
        tokio::select! {
            biased;
            _ = shutdown.wait() => break Err(CloseReason::ServerShutdown),
            joined = &mut reservation.joiner => match joined {
                Ok(joiner) => break Ok(joiner),
                // Claimed, but the joiner failed its upgrade: nobody else can join now.
                Err(_) => break Err(CloseReason::PeerClosed),
            },
            _ = sleep_until(clock.deadline()) => break Err(clock.expired_reason()),
            item = first.ws.next() => match classify(item) {
                Incoming::Binary(data) => {
                    first.sent += 1;
                    if first.sent > limits.max_messages_per_peer {
                        break Err(CloseReason::TooManyMessages);
                    }
                    early_bytes += data.len();
                    if early_bytes > limits.max_buffered_bytes {
                        break Err(CloseReason::BufferFull);
                    }
                    tracing::trace!(len = data.len(), "buffered a message before the peer joined");
                    early.push_back(data);
                    clock.touch();
                }
                Incoming::Control => {}
                Incoming::Text => break Err(CloseReason::TextMessage),
                Incoming::TooBig => break Err(CloseReason::MessageTooLarge),
                Incoming::Broken => break Err(CloseReason::ProtocolError),
                Incoming::Closed => {
                    withdraw_and_release(&shared, &mut reservation).await;
                    tracing::info!("first side left before its peer joined");
                    close(&mut first.ws, None, limits.close_linger, &shared.stats).await;
                    return;
                }
            },
        }
    };
    let joiner = match waited {
        Ok(joiner) => joiner,
        Err(reason) => {
            withdraw_and_release(&shared, &mut reservation).await;
            tracing::info!(%reason, "tunnel closed before its peer joined");
            close(
                &mut first.ws,
                Some(reason),
                limits.close_linger,
                &shared.stats,
            )
            .await;
            return;
        }
    };

    // Paired.
    shared.stats.tunnel_paired();
    tracing::info!(peer = %joiner.peer, "tunnel paired");
    let _second_permit = joiner.permit;
    let mut second = Side {
        ws: joiner.ws,
        sent: 0,
    };
    let end = relay(
        &shared,
        &mut first,
        &mut second,
        early,
        signal_connection,
        &mut clock,
        &mut shutdown,
    )
    .await;
    tracing::info!(
        first = ?end.first,
        second = ?end.second,
        "tunnel closed"
    );
    let linger = limits.close_linger;
    tokio::join!(
        close(&mut first.ws, end.first, linger, &shared.stats),
        close(&mut second.ws, end.second, linger, &shared.stats),
    );
}

/// How the tunnel ends when one side has left: the other gets "the other side closed the tunnel".
fn peer_gone(first_gone: bool) -> End {
    if first_gone {
        End {
            first: None,
            second: Some(CloseReason::PeerClosed),
        }
    } else {
        End {
            first: Some(CloseReason::PeerClosed),
            second: None,
        }
    }
}

/// Takes the tunnel out of the registry; if a joiner slipped in meanwhile, tells it the first
/// side is gone.
async fn withdraw_and_release(shared: &Shared, reservation: &mut Reservation<Joiner>) {
    shared
        .registry
        .withdraw(&reservation.tunnel_id, reservation.generation);
    reservation.joiner.close();
    if let Ok(mut late) = reservation.joiner.try_recv() {
        close(
            &mut late.ws,
            Some(CloseReason::PeerClosed),
            shared.limits.close_linger,
            &shared.stats,
        )
        .await;
    }
}

async fn relay(
    shared: &Shared,
    first: &mut Side,
    second: &mut Side,
    early: VecDeque<Bytes>,
    signal_connection: bool,
    clock: &mut Clock,
    shutdown: &mut ShutdownSignal,
) -> End {
    // How the tunnel ends when sending to one side did not work.
    let failed = |sent: Sent, to_first: bool, clock: &Clock| match sent {
        Sent::TimedOut => {
            let reason = clock.expired_reason();
            End {
                first: Some(reason),
                second: Some(reason),
            }
        }
        _ => peer_gone(to_first),
    };
    // The signal precedes anything from the phone; the desktop's early messages go to the phone.
    if signal_connection {
        let sent = send_binary(
            &mut first.ws,
            Bytes::from_static(&CONNECT_SIGNAL),
            clock.deadline(),
        )
        .await;
        if sent != Sent::Ok {
            return failed(sent, true, clock);
        }
    }
    for data in early {
        let len = data.len();
        let sent = send_binary(&mut second.ws, data, clock.deadline()).await;
        if sent != Sent::Ok {
            return failed(sent, false, clock);
        }
        shared.stats.relayed(len);
    }

    let max = shared.limits.max_messages_per_peer;
    loop {
        // Which side spoke, and what it sent.
        let (from_first, incoming) = tokio::select! {
            biased;
            _ = shutdown.wait() => {
                return End {
                    first: Some(CloseReason::ServerShutdown),
                    second: Some(CloseReason::ServerShutdown),
                }
            }
            _ = sleep_until(clock.deadline()) => {
                let reason = clock.expired_reason();
                return End { first: Some(reason), second: Some(reason) };
            }
            item = first.ws.next() => (true, classify(item)),
            item = second.ws.next() => (false, classify(item)),
        };
        let (from, to) = if from_first {
            (&mut *first, &mut *second)
        } else {
            (&mut *second, &mut *first)
        };
        let offence = match incoming {
            Incoming::Binary(data) => {
                from.sent += 1;
                if from.sent > max {
                    Some(CloseReason::TooManyMessages)
                } else {
                    let len = data.len();
                    let sent = send_binary(&mut to.ws, data, clock.deadline()).await;
                    if sent != Sent::Ok {
                        return failed(sent, !from_first, clock);
                    }
                    tracing::trace!(len, from_first, "relayed a message");
                    shared.stats.relayed(len);
                    clock.touch();
                    None
                }
            }
            Incoming::Control => None,
            Incoming::Closed => return peer_gone(from_first),
            Incoming::Text => Some(CloseReason::TextMessage),
            Incoming::TooBig => Some(CloseReason::MessageTooLarge),
            Incoming::Broken => Some(CloseReason::ProtocolError),
        };
        if let Some(reason) = offence {
            let (offender, other) = (Some(reason), Some(CloseReason::PeerClosed));
            return if from_first {
                End {
                    first: offender,
                    second: other,
                }
            } else {
                End {
                    first: other,
                    second: offender,
                }
            };
        }
    }
}
