//! A client for cabled's socket, for `cablectl` and tests: connect, call methods (several at
//! once if need be), and receive the `session.event` notifications.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cabled::ipc::client::ClientError> {
//! use cabled::ipc::client::Client;
//! let client = Client::connect_default().await?;
//! let status = client.call("daemon.status", serde_json::json!({})).await?;
//! let options = serde_json::json!({ /* PublicKeyCredentialCreationOptionsJSON */ });
//! let credential = client
//!     .call_with_events(
//!         "webauthn.create",
//!         serde_json::json!({"origin": "https://example.com", "options": options}),
//!         |event| println!("{} {}", event.event().unwrap_or("?"), event.params["t_ms"]),
//!     )
//!     .await?;
//! # let _ = (status, credential); Ok(()) }
//! ```

use crate::ipc::error::RpcError;
use crate::ipc::lines::LineReader;
use crate::ipc::socket::{default_socket_path, SocketError};
use crate::ipc::wire::{self, parse_reply, Reply, SESSION_EVENT};
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
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, ClientError>>>>>;

/// One connection to cabled. Calls may run concurrently (`&self`); notifications for every
/// session on this connection arrive through [`Client::next_notification`].
pub struct Client {
    write: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    notifications: tokio::sync::Mutex<mpsc::UnboundedReceiver<Notification>>,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
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
        let reader = tokio::spawn(read_loop(
            LineReader::new(BufReader::new(read), MAX_LINE),
            pending.clone(),
            tx,
        ));
        Self {
            write: tokio::sync::Mutex::new(write),
            pending,
            notifications: tokio::sync::Mutex::new(rx),
            next_id: AtomicU64::new(1),
            reader,
        }
    }

    /// Calls `method` and waits for its result (or error).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        if let Err(e) = self
            .send_line(wire::request(Some(id), method, &params))
            .await
        {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Err(e);
        }
        rx.await.unwrap_or(Err(ClientError::Closed))
    }

    /// Calls `method`, handing each notification that arrives meanwhile to `on_event` (in
    /// order, all before the result is returned). Meant for a connection that runs one
    /// session at a time, like `cablectl register`.
    pub async fn call_with_events(
        &self,
        method: &str,
        params: Value,
        mut on_event: impl FnMut(Notification),
    ) -> Result<Value, ClientError> {
        let call = self.call(method, params);
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

    /// Sends a JSON-RPC notification (no answer), e.g. a fire-and-forget `session.cancel`.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), ClientError> {
        self.send_line(wire::request(None, method, &params)).await
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

async fn read_loop<R: tokio::io::AsyncBufRead + Unpin>(
    mut lines: LineReader<R>,
    pending: Pending,
    notifications: mpsc::UnboundedSender<Notification>,
) {
    // An error answered with a null id (line too long, unparseable line) ends every call.
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
                        let waiter = pending
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&id);
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
                fatal = Some(ClientError::Protocol(e));
                break;
            }
        }
    }
    let waiters: Vec<_> = pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    for (_, waiter) in waiters {
        let _ = waiter.send(Err(fatal
            .as_ref()
            .map_or(ClientError::Closed, ClientError::copy)));
    }
}
