//! The listener: accepts connections within `max_connections` and spawns one task per
//! connection; shuts down gracefully on request.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::connection::serve;
use crate::handshake::error_response;
use crate::push::WakeUp;
use crate::reasons::RejectReason;
use crate::shared::Shared;
use crate::stats::StatsSnapshot;
use crate::ServerLimits;

/// A bound, not yet running tunnel server. See the [crate docs](crate) for the endpoints.
pub struct TunnelServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

/// A running server started with [`TunnelServer::spawn`].
///
/// Dropping the handle shuts the server down in the background, like [`shutdown`](Self::shutdown)
/// without waiting for it.
pub struct ServerHandle {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TunnelServer {
    /// Binds `addr` (use port 0 for any free port). Fails with `InvalidInput` if `limits` do not
    /// [validate](ServerLimits::validate).
    pub async fn bind(addr: SocketAddr, limits: ServerLimits) -> io::Result<Self> {
        limits
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        tracing::info!(%local_addr, "tunnel server bound");
        Ok(Self {
            listener,
            local_addr,
            shared: Arc::new(Shared::new(limits)),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://IP:PORT` to prefix endpoint paths with (an unspecified bind address becomes
    /// loopback).
    pub fn base_url(&self) -> String {
        base_url(self.local_addr)
    }

    /// The limits in force.
    pub fn limits(&self) -> &ServerLimits {
        &self.shared.limits
    }

    /// Current counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.snapshot()
    }

    /// Registers `contact_id` in-process: each `contact` request for it yields a [`WakeUp`] on
    /// the returned receiver (at most `max_pending_wakeups` unread). Replaces any earlier
    /// registration (in-process or push socket). Dropping the receiver unregisters the ID.
    pub fn register_contact(&self, contact_id: &[u8]) -> mpsc::Receiver<WakeUp> {
        self.shared.registry.register_contact(contact_id).wakeups
    }

    /// Unregisters `contact_id` (from here or a push socket, which is then closed); later
    /// `contact` requests for it get 410. `true` if it was registered.
    pub fn forget_contact(&self, contact_id: &[u8]) -> bool {
        self.shared.registry.forget_contact(contact_id)
    }

    /// Serves until the process ends.
    pub async fn run(self) -> io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops accepting, closes every
    /// tunnel and push socket with 1001 "tunnel server shutting down", and waits (bounded by
    /// about twice `close_linger`) for connections to finish.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> io::Result<()> {
        let Self {
            listener, shared, ..
        } = self;
        tokio::pin!(signal);
        loop {
            tokio::select! {
                biased;
                _ = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => admit(&shared, stream, peer),
                    Err(e) => {
                        // Per-connection failures and fd exhaustion are transient: back off.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        tracing::info!("tunnel server shutting down");
        shared.begin_shutdown();
        let all = u32::try_from(shared.limits.max_connections).unwrap_or(u32::MAX);
        let grace = shared.limits.close_linger * 2 + Duration::from_secs(1);
        if timeout(grace, shared.connections.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish within the shutdown grace period");
        }
        Ok(())
    }

    /// Runs the server on the current tokio runtime.
    pub fn spawn(self) -> ServerHandle {
        let (stop, stopped) = oneshot::channel::<()>();
        let local_addr = self.local_addr;
        let shared = self.shared.clone();
        let task = tokio::spawn(self.run_until(async move {
            let _ = stopped.await;
        }));
        ServerHandle {
            stop: Some(stop),
            task,
            local_addr,
            shared,
        }
    }
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://IP:PORT`; see [`TunnelServer::base_url`].
    pub fn base_url(&self) -> String {
        base_url(self.local_addr)
    }

    /// Current counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.snapshot()
    }

    /// See [`TunnelServer::register_contact`].
    pub fn register_contact(&self, contact_id: &[u8]) -> mpsc::Receiver<WakeUp> {
        self.shared.registry.register_contact(contact_id).wakeups
    }

    /// See [`TunnelServer::forget_contact`].
    pub fn forget_contact(&self, contact_id: &[u8]) -> bool {
        self.shared.registry.forget_contact(contact_id)
    }

    /// Stops the server gracefully (see [`TunnelServer::run_until`]) and waits for it.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.map_err(io::Error::other)?
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a task for an accepted connection, or refuses it when the server is full.
fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    // Relay small frames at once: with Nagle a phone's message 2 and its post-handshake
    // message, written back to back, would wait for a delayed ACK (~40 ms).
    let _ = stream.set_nodelay(true);
    shared.stats.connection_accepted();
    let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
        shared.stats.rejected(RejectReason::TooManyConnections);
        tracing::warn!(%peer, "connection refused: too many open connections");
        // Answer 503 from a small fixed pool of tasks; when even that is busy, just close.
        if let Ok(slot) = shared.reject_slots.clone().try_acquire_owned() {
            let linger = shared.limits.close_linger;
            tokio::spawn(async move {
                let mut stream = stream;
                let response = error_response(RejectReason::TooManyConnections);
                let _ = timeout(linger, stream.write_all(&response)).await;
                let _ = timeout(linger, stream.shutdown()).await;
                let _ = timeout(linger, drain(&mut stream)).await;
                drop(slot);
            });
        }
        return;
    };
    tracing::debug!(%peer, "connection accepted");
    tokio::spawn(serve(shared.clone(), stream, peer, permit));
}

/// Reads and discards until EOF (the caller bounds the time).
async fn drain(stream: &mut TcpStream) {
    use tokio::io::AsyncReadExt as _;
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}

fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("ws://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_uses_loopback_for_unspecified() {
        assert_eq!(base_url("0.0.0.0:80".parse().unwrap()), "ws://127.0.0.1:80");
        assert_eq!(base_url("[::]:81".parse().unwrap()), "ws://[::1]:81");
        assert_eq!(
            base_url("127.0.0.2:82".parse().unwrap()),
            "ws://127.0.0.2:82"
        );
    }
}
