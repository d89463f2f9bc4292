//! The accept loop: admits same-user clients (up to the limit), runs each connection on its
//! own task, and on shutdown cancels every session and waits for the phones to be told.

use crate::engine::{Engine, SessionError};
use crate::history::Recorder;
use crate::ipc::config::DaemonConfig;
use crate::ipc::connection;
use crate::ipc::error::{codes, RpcError};
use crate::ipc::prompts::Prompts;
use crate::ipc::sessions::{ClientId, Sessions};
use crate::ipc::socket::own_uid;
use crate::ipc::wire::{self, Id};
use crate::security_key::KeyState;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for sessions to send the phones their shutdown message.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// State shared by every connection.
pub struct Daemon {
    pub engine: Engine,
    pub config: DaemonConfig,
    pub sessions: Arc<Sessions>,
    /// The prompt agents, and the prompts of sessions no connection owns.
    pub prompts: Prompts,
    /// Where finished sessions are recorded (off unless the daemon was given a store).
    pub history: Recorder,
    key_state: std::sync::Mutex<KeyState>,
    /// Cancelled on SIGTERM/SIGINT; every client's and session's token descends from it.
    pub shutdown: CancellationToken,
    /// Connections and raw-session relays, awaited at shutdown.
    pub tasks: TaskTracker,
    clients: AtomicUsize,
    next_client: AtomicU64,
    started: Instant,
}

impl Daemon {
    pub fn new(config: DaemonConfig) -> Arc<Self> {
        Self::with_engine(Engine::new(config.engine.clone()), config)
    }

    /// With an engine built elsewhere, e.g. `Engine::with_links` once linked phones are
    /// stored: `devices.*` and the `device` param then use its link book.
    pub fn with_engine(engine: Engine, config: DaemonConfig) -> Arc<Self> {
        Self::with_history(engine, config, Recorder::off())
    }

    /// [`Self::with_engine`], recording every session's redacted timeline in `history`.
    pub fn with_history(engine: Engine, config: DaemonConfig, history: Recorder) -> Arc<Self> {
        Arc::new(Self {
            history,
            engine,
            sessions: Sessions::new(
                config.limits.max_sessions,
                config.limits.max_sessions_per_client,
            ),
            prompts: Prompts::default(),
            key_state: Default::default(),
            config,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            clients: AtomicUsize::new(0),
            next_client: AtomicU64::new(1),
            started: Instant::now(),
        })
    }

    pub fn key_state(&self) -> KeyState {
        self.key_state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn set_key_state(&self, state: KeyState) {
        if let Ok(mut slot) = self.key_state.lock() {
            *slot = state;
        }
    }

    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The error for a failed session; a cancel caused by shutdown says so.
    pub fn session_error(&self, e: &SessionError) -> RpcError {
        if matches!(e, SessionError::Cancelled) && self.shutdown.is_cancelled() {
            return RpcError::shutting_down();
        }
        RpcError::from(e)
    }

    /// The policy switch.
    pub fn require_hybrid(&self) -> Result<(), RpcError> {
        if self.config.hybrid_enabled {
            Ok(())
        } else {
            Err(RpcError::hybrid_disabled())
        }
    }
}

/// Counts a connection for as long as it lives.
pub struct ClientPlace {
    daemon: Arc<Daemon>,
    pub id: ClientId,
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        self.daemon.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `listener` until `daemon.shutdown` is cancelled, then cancels every session and
/// waits (at most a few seconds) for them to end.
pub async fn serve(daemon: Arc<Daemon>, listener: UnixListener) {
    let uid = own_uid();
    loop {
        let accepted = tokio::select! {
            _ = daemon.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => admit(&daemon, stream, uid),
            Err(e) => {
                // Out of descriptors and the like: say so, and do not spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    tracing::info!(
        sessions = daemon.sessions.count(),
        "shutting down: cancelling sessions"
    );
    daemon.tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, daemon.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some sessions did not end within {SHUTDOWN_GRACE:?}; exiting anyway");
    }
}

fn admit(daemon: &Arc<Daemon>, stream: UnixStream, uid: u32) {
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == uid => {}
        Ok(cred) => {
            tracing::warn!(peer_uid = cred.uid(), peer_pid = ?cred.pid(), "refused a connection from another user");
            let e = RpcError::server(
                codes::PERMISSION_DENIED,
                "cabled serves only the user it runs as",
            );
            daemon.tasks.spawn(refuse(stream, e));
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "refused a connection whose user cannot be checked");
            return;
        }
    }
    let max = daemon.config.limits.max_clients;
    if daemon.clients.fetch_add(1, Ordering::Relaxed) >= max {
        daemon.clients.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!(max, "refused a connection: too many clients");
        let e = RpcError::server(
            codes::TOO_MANY_CLIENTS,
            format!("cabled already serves its limit of {max} connections; try again later"),
        );
        daemon.tasks.spawn(refuse(stream, e));
        return;
    }
    let place = ClientPlace {
        daemon: daemon.clone(),
        id: daemon.next_client.fetch_add(1, Ordering::Relaxed),
    };
    tracing::debug!(client = place.id, "client connected");
    daemon
        .tasks
        .spawn(connection::serve(daemon.clone(), stream, place));
}

/// How long a refused connection is kept open for its client to read why.
const REFUSE_LINGER: Duration = Duration::from_secs(1);
/// What a refused client may send meanwhile; it is read and dropped, never parsed.
const REFUSE_DRAIN_BYTES: usize = 64 * 1024;

/// Tells a refused client why, then closes. A client that writes its request before reading
/// must still see the error: closing a socket with unread input resets it, and the client's
/// write fails (EPIPE) before it reads. So: send the error, shut down our side for writing
/// (the client reads the line, then end of stream), and read what it sends until it closes,
/// for a moment at most.
async fn refuse(mut stream: UnixStream, error: RpcError) {
    let line = wire::failure(&Id::null(), &error) + "\n";
    let linger = async {
        if stream.write_all(line.as_bytes()).await.is_err() {
            return;
        }
        let _ = stream.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut drained = 0;
        while drained < REFUSE_DRAIN_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(REFUSE_LINGER, linger).await;
}
