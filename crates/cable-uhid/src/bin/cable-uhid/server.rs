//! The listening socket, peer credentials and the single slot for an attached cabled.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cable_uhid::policy::{admit, Admission, Refusal};
use thiserror::Error;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::session::{self, Context, End, Peer};

#[derive(Debug, Error)]
pub enum ListenError {
    #[error("socket {path} is in use: another cable-uhid is listening there (stop it, or pick another --socket)")]
    InUse { path: PathBuf },
    #[error("cannot remove the stale socket {path}: {source}")]
    Stale { path: PathBuf, source: io::Error },
    #[error("cannot listen on {path}: {source} (does its directory exist? the unit's RuntimeDirectory=cable makes /run/cable)")]
    Bind { path: PathBuf, source: io::Error },
    #[error("cannot make {path} connectable by every user (mode 0666): {source}")]
    Mode { path: PathBuf, source: io::Error },
}

/// Binds `path` (mode 0666: who may attach is decided per connection by its peer uid).
pub fn listen(path: &Path) -> Result<UnixListener, ListenError> {
    let p = || path.to_owned();
    if std::fs::symlink_metadata(path).is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ListenError::InUse { path: p() });
        }
        std::fs::remove_file(path).map_err(|source| ListenError::Stale { path: p(), source })?;
    }
    let listener =
        UnixListener::bind(path).map_err(|source| ListenError::Bind { path: p(), source })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|source| ListenError::Mode { path: p(), source })?;
    Ok(listener)
}

struct Attached {
    id: u64,
    uid: u32,
    kick: Option<oneshot::Sender<Refusal>>,
}

/// The one slot: at most one cabled holds (or is about to hold) the device.
#[derive(Default)]
struct Slot {
    current: Option<Attached>,
    next_id: u64,
}

pub async fn serve(listener: UnixListener, ctx: Arc<Context>) -> io::Result<()> {
    let slot = Arc::new(Mutex::new(Slot::default()));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            // EMFILE and friends: keep serving the attached one, try again shortly.
            Err(e) => {
                warn!("accepting a cabled failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(handle(stream, ctx.clone(), slot.clone()));
    }
}

async fn handle(stream: UnixStream, ctx: Arc<Context>, slot: Arc<Mutex<Slot>>) {
    let cred = match stream.peer_cred() {
        Ok(c) => c,
        Err(e) => {
            warn!("dropping a connection whose credentials cannot be read: {e}");
            return;
        }
    };
    let uid = cred.uid();
    let pid = cred.pid().unwrap_or(0);
    let active = ctx.seat.active_user().await;
    let mut peer = Peer::new(stream);
    // Wrong users are refused at once, before they may send anything.
    if let Admission::Refuse(why) = admit(uid, &active, None) {
        warn!(uid, pid, "refused a cabled: {why}");
        session::refuse(&mut peer, &why).await;
        return;
    }
    if let Err(end) = session::await_hello(&mut peer).await {
        log_end(uid, end);
        return;
    }
    // Asked again: the seat may have switched while this cabled took its time to say HELLO.
    let active = ctx.seat.active_user().await;
    let (kick_tx, kick_rx) = oneshot::channel();
    // Decided under the lock, acted on after it: a std guard must not live across an await.
    let decision = {
        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
        match admit(uid, &active, s.current.as_ref().map(|a| a.uid)) {
            Admission::Refuse(why) => Err(why),
            admission => {
                if let Admission::Replace { previous_uid } = admission {
                    info!(
                        uid,
                        previous_uid, "the seat's user changed: replacing the attached cabled"
                    );
                    if let Some(kick) = s.current.as_mut().and_then(|a| a.kick.take()) {
                        let _ = kick.send(Refusal::Replaced { by_uid: uid });
                    }
                }
                s.next_id += 1;
                let id = s.next_id;
                s.current = Some(Attached {
                    id,
                    uid,
                    kick: Some(kick_tx),
                });
                Ok(id)
            }
        }
    };
    let id = match decision {
        Ok(id) => id,
        Err(why) => {
            warn!(uid, pid, "refused a cabled: {why}");
            session::refuse(&mut peer, &why).await;
            return;
        }
    };
    info!(uid, pid, "cabled attached");
    let end = session::run(ctx, peer, uid, kick_rx).await;
    {
        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
        if s.current.as_ref().is_some_and(|a| a.id == id) {
            s.current = None;
        }
    }
    log_end(uid, end);
}

fn log_end(uid: u32, end: End) {
    match end {
        End::Disconnected => info!(uid, "cabled detached"),
        End::Refused(why) => warn!(uid, "cabled dropped: {why}"),
        End::Io(e) => warn!(uid, "cabled connection failed: {e}"),
    }
}
