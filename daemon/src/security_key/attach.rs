//! Attaching to the privileged `cable-uhid`: connect to its socket, say HELLO, and once it
//! has created the device (READY) serve the key until either side goes away. While
//! cable-uhid is absent or refuses us (another user is at the seat), try again later, at
//! most once a minute; nothing else runs while the key is idle.

use crate::ipc::server::Daemon;
use crate::security_key::{key, KeyState};
use cable_uhid::relay::{Decoder, Frame, PROTOCOL_VERSION};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Where `cable-uhid` listens by default (its systemd unit's RuntimeDirectory).
pub const DEFAULT_SOCKET: &str = "/run/cable/uhid.sock";

const FIRST_RETRY: Duration = Duration::from_secs(2);
const LAST_RETRY: Duration = Duration::from_secs(60);
/// How long cable-uhid may take to create the device.
const READY_WAIT: Duration = Duration::from_secs(5);

/// `[security_key]` in cabled.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityKeyConfig {
    pub enabled: bool,
    pub socket: PathBuf,
}

impl Default for SecurityKeyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            socket: PathBuf::from(DEFAULT_SOCKET),
        }
    }
}

/// Why one attachment ended.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("cable-uhid is not running (no socket at {path}); install and start cable-uhid.service to use the phone as a security key")]
    Absent { path: String },
    #[error("cannot reach cable-uhid at {path}: {source}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("cable-uhid refused this cabled: {0}")]
    Refused(String),
    #[error("cable-uhid did not create the security key within {READY_WAIT:?}")]
    NotReady,
    #[error("cable-uhid sent a broken frame: {0}")]
    Frame(#[from] cable_uhid::relay::FrameError),
    #[error("the connection to cable-uhid failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("cable-uhid closed the connection")]
    Closed,
    #[error("cable-uhid sent {0} before the device was ready")]
    Unexpected(&'static str),
}

/// Keeps the security key attached until the daemon shuts down.
pub async fn run(daemon: Arc<Daemon>, config: SecurityKeyConfig) {
    if !config.enabled || !daemon.config.hybrid_enabled {
        tracing::info!("the security key is off (security_key.enabled or hybrid_enabled is false)");
        return;
    }
    let mut retry = FIRST_RETRY;
    let mut last_reason = String::new();
    loop {
        let outcome = tokio::select! {
            _ = daemon.shutdown.cancelled() => return,
            outcome = attach_once(&daemon, &config) => outcome,
        };
        match outcome {
            Ok(reason) => {
                daemon.set_key_state(KeyState::Detached(reason.clone()));
                // It worked for a while: the next failure is news again.
                retry = FIRST_RETRY;
                tracing::info!(%reason, "the security key was removed");
                last_reason.clear();
            }
            Err(e) => {
                let reason = e.to_string();
                daemon.set_key_state(KeyState::Detached(reason.clone()));
                // Say it once, not once a minute.
                if reason != last_reason {
                    tracing::info!(error = %reason, "the security key is not available");
                    last_reason = reason;
                }
            }
        }
        tokio::select! {
            _ = daemon.shutdown.cancelled() => return,
            _ = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// One attachment: answers why it ended once the device was up, or why it never came up.
async fn attach_once(
    daemon: &Arc<Daemon>,
    config: &SecurityKeyConfig,
) -> Result<String, AttachError> {
    let path = config.socket.display().to_string();
    let mut stream = match UnixStream::connect(&config.socket).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AttachError::Absent { path })
        }
        Err(source) => return Err(AttachError::Connect { path, source }),
    };
    let hello = Frame::Hello {
        version: PROTOCOL_VERSION,
    };
    stream.write_all(&hello.encode()).await?;
    let mut decoder = Decoder::new();
    let ready = tokio::time::timeout(READY_WAIT, next_frame(&mut stream, &mut decoder)).await;
    match ready.map_err(|_| AttachError::NotReady)?? {
        Frame::Ready => {}
        Frame::Refused(reason) => return Err(AttachError::Refused(reason)),
        Frame::Output(_) => return Err(AttachError::Unexpected("a report")),
        _ => return Err(AttachError::Unexpected("an unknown frame")),
    }
    tracing::info!(socket = %path, "the phone is available as a security key");
    daemon.set_key_state(KeyState::Attached);
    Ok(key::serve(daemon.clone(), stream, decoder).await)
}

/// Reads until `decoder` yields a frame.
pub(super) async fn next_frame(
    stream: &mut UnixStream,
    decoder: &mut Decoder,
) -> Result<Frame, AttachError> {
    let mut buf = [0u8; 1024];
    loop {
        if let Some(frame) = decoder.next_frame()? {
            return Ok(frame);
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(AttachError::Closed);
        }
        decoder.push(&buf[..n]);
    }
}
