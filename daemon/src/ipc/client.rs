//! A client for cabled's socket, for `cablectl` and tests: connect, call methods (several at
//! once if need be) with the types of [`crate::ipc::api`], and receive the `session.event`
//! notifications.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cabled::ipc::client::ClientError> {
//! use cabled::ipc::api::{DaemonStatus, NoParams, WebAuthnCreate, WebAuthnParams};
//! use cabled::ipc::client::Client;
//! let client = Client::connect_default().await?;
//! let status = client.call::<DaemonStatus>(NoParams {}).await?;
//! println!("{} session(s) open", status.sessions.open);
//! let params = WebAuthnParams {
//!     origin: "https://example.com".into(),
//!     options: serde_json::Map::new(), // PublicKeyCredentialCreationOptionsJSON
//!     device: None,
//!     qr_only: None,
//!     top_origin: None,
//! };
//! let credential = client
//!     .call_with_events::<WebAuthnCreate>(params, |event| {
//!         if let Some(Ok(event)) = event.session_event() {
//!             println!("{} {}", event.event.name(), event.event.t_ms);
//!         }
//!     })
//!     .await?;
//! # let _ = credential; Ok(()) }
//! ```

use crate::ipc::api::{Method, NotificationMethod, SessionEventNotice, SessionEventParams};
use crate::ipc::error::RpcError;
use crate::ipc::lines::LineReader;
use crate::ipc::socket::{default_socket_path, SocketError};
use crate::ipc::wire::{self, parse_reply, Reply, SESSION_EVENT};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// Longest line accepted from the daemon (credentials are a few kilobytes).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// How long a call whose request could not be written waits for the daemon's last words.
const READER_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cabled is not running: nothing listens on {} ({source})", .path.display())]
    NotRunning {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to cabled at {}: {source}", .path.display())]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    NoSocketPath(#[from] SocketError),
    #[error("the connection to cabled failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("cabled closed the connection")]
    Closed,
    #[error("cabled sent something that is not JSON-RPC 2.0: {0}")]
    Protocol(String),
    /// The daemon's error answer.
    #[error("{message}")]
    Rpc {
        rpc_code: i64,
        code: String,
        message: String,
    },
}

impl From<RpcError> for ClientError {
    fn from(e: RpcError) -> Self {
        Self::Rpc {
            rpc_code: e.rpc_code,
            code: e.code,
            message: e.message,
        }
    }
}

impl ClientError {
    /// The stable machine code: the daemon's `error.data.code`, or one for the client side.
    pub fn code(&self) -> &str {
        match self {
            Self::NotRunning { .. } => "daemon_not_running",
            Self::Connect { .. } | Self::NoSocketPath(_) => "daemon_unreachable",
            Self::Io(_) | Self::Closed => "daemon_disconnected",
            Self::Protocol(_) => "daemon_protocol_error",
            Self::Rpc { code, .. } => code,
        }
    }

    fn copy(&self) -> Self {
        match self {
            Self::Rpc {
                rpc_code,
                code,
                message,
            } => Self::Rpc {
                rpc_code: *rpc_code,
                code: code.clone(),
                message: message.clone(),
            },
            Self::Protocol(m) => Self::Protocol(m.clone()),
            _ => Self::Closed,
        }
    }
}

/// A notification from the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub method: String,
    pub params: Value,
}

impl Notification {
    /// The session it is about (`session.event`).
    pub fn session(&self) -> Option<&str> {
        self.params.get("session").and_then(Value::as_str)
    }

    /// The event name (`qr`, `advert`, `closed`, …).
    pub fn event(&self) -> Option<&str> {
        self.params.get("event").and_then(Value::as_str)
    }

    pub fn is_session_event(&self) -> bool {
        self.method == SESSION_EVENT
    }

    /// The params of a notification `N`, typed; `None` if this is another notification.
    pub fn typed<N: NotificationMethod>(&self) -> Option<Result<N::Params, ClientError>> {
        if self.method != N::NAME {
            return None;
        }
        Some(
            serde_json::from_value::<N::Params>(self.params.clone())
                .map_err(|e| ClientError::Protocol(format!("a {} notification: {e}", N::NAME))),
        )
    }

    /// A `session.event`, typed.
    pub fn session_event(&self) -> Option<Result<SessionEventParams, ClientError>> {
        self.typed::<SessionEventNotice>()
    }
}

type Waiter = oneshot::Sender<Result<Value, ClientError>>;

/// Calls waiting for their answer, and, once the connection has ended, why: a call that
/// comes later is answered with that at once instead of waiting for ever.
#[derive(Default)]
struct Calls {
    waiting: HashMap<u64, Waiter>,
    ended: Option<ClientError>,
}

type Pending = Arc<Mutex<Calls>>;

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Calls> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// One connection to cabled. Calls may run concurrently (`&self`); notifications for every
/// session on this connection arrive through [`Client::next_notification`].
pub struct Client {
    write: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    notifications: tokio::sync::Mutex<mpsc::UnboundedReceiver<Notification>>,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
    /// Flips to true when the read loop has ended (and `Calls::ended` says why).
    reader_done: tokio::sync::watch::Receiver<bool>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Connects to the daemon's default socket (`$XDG_RUNTIME_DIR/cable/cabled.sock`).
    pub async fn connect_default() -> Result<Self, ClientError> {
        Self::connect(default_socket_path()?).await
    }

    pub async fn connect(path: impl AsRef<Path>) -> Result<Self, ClientError> {
        let path = path.as_ref();
        let stream = UnixStream::connect(path).await.map_err(|source| {
            let absent = matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            );
            let path = path.to_path_buf();
            if absent {
                ClientError::NotRunning { path, source }
            } else {
                ClientError::Connect { path, source }
            }
        })?;
        Ok(Self::from_stream(stream))
    }

    /// Wraps an already connected stream.
    pub fn from_stream(stream: UnixStream) -> Self {
        let (read, write) = stream.into_split();
        let pending: Pending = Arc::default();
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, reader_done) = tokio::sync::watch::channel(false);
        let reader = tokio::spawn(read_loop(
            LineReader::new(BufReader::new(read), MAX_LINE),
            pending.clone(),
            tx,
            done_tx,
        ));
        Self {
            write: tokio::sync::Mutex::new(write),
            pending,
            notifications: tokio::sync::Mutex::new(rx),
            next_id: AtomicU64::new(1),
            reader,
            reader_done,
        }
    }

    /// Calls method `M` and waits for its typed result (or error).
    pub async fn call<M: Method>(&self, params: M::Params) -> Result<M::Result, ClientError> {
        let value = self.call_value(M::NAME, &params).await?;
        decode::<M>(value)
    }

    /// Calls a method by name with any params and returns the raw result: for tests that
    /// probe the wire and for methods newer than this client.
    pub async fn call_value<P: Serialize>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut calls = lock(&self.pending);
            if let Some(ended) = &calls.ended {
                return Err(ended.copy());
            }
            calls.waiting.insert(id, tx);
        }
        if let Err(e) = self
            .send_line(wire::request(Some(id), method, params))
            .await
        {
            lock(&self.pending).waiting.remove(&id);
            // A daemon that refused us sends why, then closes: its words beat "broken pipe".
            return Err(self.why_ended().await.unwrap_or(e));
        }
        rx.await.unwrap_or(Err(ClientError::Closed))
    }

    /// Once the read loop has ended (it soon does after a failed write): why the connection
    /// ended, if the daemon said so.
    async fn why_ended(&self) -> Option<ClientError> {
        let mut done = self.reader_done.clone();
        let _ = tokio::time::timeout(READER_GRACE, done.wait_for(|done| *done)).await;
        match &lock(&self.pending).ended {
            Some(e @ (ClientError::Rpc { .. } | ClientError::Protocol(_))) => Some(e.copy()),
            _ => None,
        }
    }

    /// Calls method `M`, handing each notification that arrives meanwhile to `on_event` (in
    /// order, all before the result is returned). Meant for a connection that runs one
    /// session at a time, like `cablectl register`.
    pub async fn call_with_events<M: Method>(
        &self,
        params: M::Params,
        on_event: impl FnMut(Notification),
    ) -> Result<M::Result, ClientError> {
        let value = self
            .call_value_with_events(M::NAME, &params, on_event)
            .await?;
        decode::<M>(value)
    }

    /// [`Self::call_with_events`] by name, with the raw result (see [`Self::call_value`]).
    pub async fn call_value_with_events<P: Serialize>(
        &self,
        method: &str,
        params: &P,
        mut on_event: impl FnMut(Notification),
    ) -> Result<Value, ClientError> {
        let call = self.call_value(method, params);
        tokio::pin!(call);
        let mut notifications = self.notifications.lock().await;
        let result = loop {
            tokio::select! {
                biased;
                Some(n) = notifications.recv() => on_event(n),
                result = &mut call => break result,
            }
        };
        // Events queued just before the answer.
        while let Ok(n) = notifications.try_recv() {
            on_event(n);
        }
        result
    }

    /// Sends method `M` as a JSON-RPC notification (no answer), e.g. a fire-and-forget
    /// `session.cancel`.
    pub async fn notify<M: Method>(&self, params: M::Params) -> Result<(), ClientError> {
        self.send_line(wire::request(None, M::NAME, &params)).await
    }

    /// The next notification; `None` once the connection is closed and all were read.
    pub async fn next_notification(&self) -> Option<Notification> {
        self.notifications.lock().await.recv().await
    }

    async fn send_line(&self, mut text: String) -> Result<(), ClientError> {
        text.push('\n');
        let mut write = self.write.lock().await;
        write.write_all(text.as_bytes()).await?;
        Ok(())
    }
}

/// A result read as method `M`'s result type.
fn decode<M: Method>(value: Value) -> Result<M::Result, ClientError> {
    serde_json::from_value(value)
        .map_err(|e| ClientError::Protocol(format!("the answer to {}: {e}", M::NAME)))
}

async fn read_loop<R: tokio::io::AsyncBufRead + Unpin>(
    mut lines: LineReader<R>,
    pending: Pending,
    notifications: mpsc::UnboundedSender<Notification>,
    done: tokio::sync::watch::Sender<bool>,
) {
    // An error answered with a null id (line too long, unparseable line, a refused
    // connection) ends every call.
    let mut fatal: Option<ClientError> = None;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                fatal.get_or_insert(ClientError::Protocol(e.to_string()));
                break;
            }
        };
        match parse_reply(&line) {
            Ok(Reply::Notification { method, params }) => {
                let _ = notifications.send(Notification { method, params });
            }
            Ok(Reply::Response { id, outcome }) => {
                let outcome = outcome.map_err(ClientError::from);
                match id.as_u64() {
                    Some(id) => {
                        let waiter = lock(&pending).waiting.remove(&id);
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(outcome);
                        }
                    }
                    None => {
                        if let Err(e) = outcome {
                            fatal = Some(e);
                        }
                    }
                }
            }
            Err(e) => {
                fatal = Some(ClientError::Protocol(e.to_string()));
                break;
            }
        }
    }
    // Under the lock, so that a call either is answered here or sees `ended` first.
    let waiters: Vec<Waiter> = {
        let mut calls = lock(&pending);
        calls.ended = Some(
            fatal
                .as_ref()
                .map_or(ClientError::Closed, ClientError::copy),
        );
        calls.waiting.drain().map(|(_, w)| w).collect()
    };
    for waiter in waiters {
        let _ = waiter.send(Err(fatal
            .as_ref()
            .map_or(ClientError::Closed, ClientError::copy)));
    }
    let _ = done.send(true);
}
