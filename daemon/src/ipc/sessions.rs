//! The open sessions of all clients, with the limits on how many there may be. A session's
//! place is a guard: dropping it frees the place, however the session ended.

use crate::engine::SessionError;
use crate::ipc::error::{codes, RpcError};
use rand_core::{OsRng, RngCore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// One connection.
pub type ClientId = u64;

/// The owner of sessions no connection owns (the security key's): connections count from 1.
pub const UNOWNED: ClientId = 0;

/// A CTAP request for a raw session's relay task, and where its answer goes.
pub type CtapCall = (Vec<u8>, oneshot::Sender<Result<Vec<u8>, SessionError>>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WebAuthn,
    Raw,
}

struct Entry {
    owner: ClientId,
    kind: Kind,
    cancel: CancellationToken,
    /// Raw sessions only: the relay task's inbox.
    ctap: Option<mpsc::Sender<CtapCall>>,
    /// The session's one operation is done; it may linger for the phone's linking data, but
    /// for its caller it is gone (`session_not_found`).
    finished: bool,
}

#[derive(Default)]
struct Table {
    entries: HashMap<String, Entry>,
    per_client: HashMap<ClientId, usize>,
}

pub struct Sessions {
    table: Mutex<Table>,
    max_total: usize,
    max_per_client: usize,
}

/// A reserved place; removes the session from the table when dropped.
pub struct Slot {
    sessions: Arc<Sessions>,
    pub id: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.sessions.remove(&self.id);
    }
}

impl Sessions {
    pub fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            table: Mutex::new(Table::default()),
            max_total,
            max_per_client,
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table half-updated (every update is
        // a single insert/remove), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a place for a new session of `owner`, cancelled by `cancel`.
    pub fn open(
        self: &Arc<Self>,
        owner: ClientId,
        kind: Kind,
        cancel: CancellationToken,
    ) -> Result<Slot, RpcError> {
        let mut table = self.table();
        if table.entries.len() >= self.max_total {
            return Err(RpcError::server(
                codes::TOO_MANY_SESSIONS,
                format!(
                    "cabled already runs its limit of {} sessions; try again when one has finished",
                    self.max_total
                ),
            ));
        }
        let mine = table.per_client.get(&owner).copied().unwrap_or(0);
        if mine >= self.max_per_client {
            return Err(RpcError::server(
                codes::TOO_MANY_CLIENT_SESSIONS,
                format!(
                    "this connection already has its limit of {} open sessions; finish or \
                     cancel one first",
                    self.max_per_client
                ),
            ));
        }
        let id = loop {
            let id = new_id();
            if !table.entries.contains_key(&id) {
                break id;
            }
        };
        table.entries.insert(
            id.clone(),
            Entry {
                owner,
                kind,
                cancel,
                ctap: None,
                finished: false,
            },
        );
        *table.per_client.entry(owner).or_insert(0) += 1;
        Ok(Slot {
            sessions: self.clone(),
            id,
        })
    }

    /// Connects a raw session's relay inbox to its entry.
    pub fn attach_relay(&self, id: &str, inbox: mpsc::Sender<CtapCall>) {
        if let Some(entry) = self.table().entries.get_mut(id) {
            entry.ctap = Some(inbox);
        }
    }

    fn remove(&self, id: &str) {
        let mut table = self.table();
        if let Some(entry) = table.entries.remove(id) {
            if let Some(n) = table.per_client.get_mut(&entry.owner) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    table.per_client.remove(&entry.owner);
                }
            }
        }
    }

    /// Marks session `id` finished for its caller (it still holds its place until it ends).
    pub fn finish(&self, id: &str) {
        if let Some(entry) = self.table().entries.get_mut(id) {
            entry.finished = true;
        }
    }

    /// Cancels `owner`'s session `id`. Sessions of other connections, and finished ones, are
    /// invisible.
    pub fn cancel(&self, owner: ClientId, id: &str) -> Result<(), RpcError> {
        match self.table().entries.get(id) {
            Some(entry) if entry.owner == owner && !entry.finished => {
                entry.cancel.cancel();
                Ok(())
            }
            _ => Err(RpcError::session_not_found(id)),
        }
    }

    /// The relay inbox of `owner`'s raw session `id`.
    pub fn relay(&self, owner: ClientId, id: &str) -> Result<mpsc::Sender<CtapCall>, RpcError> {
        match self.table().entries.get(id) {
            Some(entry) if entry.owner == owner => match (&entry.ctap, entry.kind) {
                (Some(inbox), Kind::Raw) => Ok(inbox.clone()),
                _ => Err(RpcError::invalid_params(format!(
                    "ctap.send: session {id:?} is a webauthn.create/webauthn.get session; \
                     ctap.send takes a session from hybrid.start"
                ))),
            },
            _ => Err(RpcError::session_not_found(id)),
        }
    }

    pub fn count(&self) -> usize {
        self.table().entries.len()
    }

    pub fn count_for(&self, owner: ClientId) -> usize {
        self.table().per_client.get(&owner).copied().unwrap_or(0)
    }
}

/// 16 hex digits from the OS RNG: not guessable, though only the owning connection can use
/// a session anyway.
fn new_id() -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_client_and_in_total() {
        let s = Sessions::new(3, 2);
        let a1 = s.open(1, Kind::WebAuthn, CancellationToken::new()).unwrap();
        let _a2 = s.open(1, Kind::WebAuthn, CancellationToken::new()).unwrap();
        let e = s
            .open(1, Kind::Raw, CancellationToken::new())
            .err()
            .unwrap();
        assert_eq!(e.code, "too_many_client_sessions");
        let _b1 = s.open(2, Kind::Raw, CancellationToken::new()).unwrap();
        let e = s
            .open(3, Kind::Raw, CancellationToken::new())
            .err()
            .unwrap();
        assert_eq!(e.code, "too_many_sessions");
        assert_eq!((s.count(), s.count_for(1), s.count_for(2)), (3, 2, 1));
        drop(a1);
        assert_eq!((s.count(), s.count_for(1)), (2, 1));
        s.open(3, Kind::Raw, CancellationToken::new()).unwrap();
    }

    #[test]
    fn only_the_owner_sees_a_session() {
        let s = Sessions::new(10, 10);
        let token = CancellationToken::new();
        let slot = s.open(1, Kind::WebAuthn, token.clone()).unwrap();
        assert_eq!(slot.id.len(), 16);
        assert_eq!(s.cancel(2, &slot.id).unwrap_err().code, "session_not_found");
        assert!(!token.is_cancelled());
        assert_eq!(s.relay(1, &slot.id).unwrap_err().code, "invalid_params");
        assert_eq!(s.relay(2, &slot.id).unwrap_err().code, "session_not_found");
        s.cancel(1, &slot.id).unwrap();
        assert!(token.is_cancelled());
        let id = slot.id.clone();
        drop(slot);
        assert_eq!(s.cancel(1, &id).unwrap_err().code, "session_not_found");
    }

    #[test]
    fn raw_sessions_expose_their_relay() {
        let s = Sessions::new(10, 10);
        let slot = s.open(1, Kind::Raw, CancellationToken::new()).unwrap();
        assert_eq!(s.relay(1, &slot.id).unwrap_err().code, "invalid_params");
        let (tx, _rx) = mpsc::channel(1);
        s.attach_relay(&slot.id, tx);
        assert!(s.relay(1, &slot.id).is_ok());
    }

    #[test]
    fn a_finished_session_cannot_be_cancelled() {
        let s = Sessions::new(10, 10);
        let token = CancellationToken::new();
        let slot = s.open(1, Kind::Raw, token.clone()).unwrap();
        s.finish(&slot.id);
        assert_eq!(s.cancel(1, &slot.id).unwrap_err().code, "session_not_found");
        assert!(!token.is_cancelled());
        assert_eq!(s.count(), 1, "it holds its place until it ends");
    }
}
