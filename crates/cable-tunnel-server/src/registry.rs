//! The server's shared state: tunnels waiting for their second side and contact IDs registered
//! for wake-ups. Every operation is synchronous under one mutex and never awaits, so the upgrade
//! path can decide a request's status before answering it.
//!
//! Generic over what a joining side hands the waiting side (`J`), so the rules are tested without
//! sockets.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use rand::RngCore;
use tokio::sync::{mpsc, oneshot};

use crate::push::WakeUp;
use crate::reasons::RejectReason;

type TunnelId = [u8; 16];
type RoutingId = [u8; 3];

/// The first side's claim on a waiting tunnel. Dropping it withdraws the tunnel (if still
/// waiting) through [`Registry::withdraw`].
#[derive(Debug)]
pub(crate) struct Reservation<J> {
    pub tunnel_id: TunnelId,
    pub routing_id: RoutingId,
    pub generation: u64,
    /// Receives the second side when it joins.
    pub joiner: oneshot::Receiver<J>,
}

/// A contact's in-process registration, returned to whoever will deliver its wake-ups.
#[derive(Debug)]
pub(crate) struct ContactRegistration {
    pub generation: u64,
    pub wakeups: mpsc::Receiver<WakeUp>,
    /// Fires when the registration is replaced or forgotten.
    pub revoked: oneshot::Receiver<RevokeCause>,
}

/// Why a contact registration ended from the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RevokeCause {
    Replaced,
    Forgotten,
}

struct Waiting<J> {
    routing_id: RoutingId,
    generation: u64,
    joiner: oneshot::Sender<J>,
}

struct Contact {
    generation: u64,
    wakeups: mpsc::Sender<WakeUp>,
    revoke: Option<oneshot::Sender<RevokeCause>>,
    /// Set while the phone is away (its push socket closed): wake-ups queue here until it
    /// registers again, as a push service holds messages for a phone that is off.
    parked: Option<mpsc::Receiver<WakeUp>>,
}

/// How many phones that went away the registry keeps waking up (each holds at most
/// `max_pending_wakeups`); past it, a phone that leaves is forgotten (`410`).
const MAX_PARKED_CONTACTS: usize = 4096;

struct Inner<J> {
    waiting: HashMap<TunnelId, Waiting<J>>,
    contacts: HashMap<Vec<u8>, Contact>,
    next_generation: u64,
}

pub(crate) struct Registry<J> {
    inner: Mutex<Inner<J>>,
    max_pending_tunnels: usize,
    max_pending_wakeups: usize,
}

impl<J> Registry<J> {
    pub(crate) fn new(max_pending_tunnels: usize, max_pending_wakeups: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                waiting: HashMap::new(),
                contacts: HashMap::new(),
                next_generation: 0,
            }),
            max_pending_tunnels,
            max_pending_wakeups,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<J>> {
        // A panic elsewhere while holding the lock leaves the maps consistent (every update is a
        // single insert or remove), so keep serving rather than propagate the poison.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `new`: opens a waiting tunnel under the phone's tunnel ID with a fresh routing ID.
    pub(crate) fn open_new(
        &self,
        tunnel_id: TunnelId,
        rng: &mut impl RngCore,
    ) -> Result<Reservation<J>, RejectReason> {
        let mut inner = self.lock();
        inner.forget_dead_waiters();
        if inner.waiting.contains_key(&tunnel_id) {
            return Err(RejectReason::TunnelAlreadyWaiting);
        }
        if inner.waiting.len() >= self.max_pending_tunnels {
            return Err(RejectReason::TooManyPendingTunnels);
        }
        let mut routing_id = [0u8; 3];
        rng.fill_bytes(&mut routing_id);
        Ok(inner.insert_waiting(tunnel_id, routing_id))
    }

    /// `contact`: opens a waiting tunnel under a fresh tunnel and routing ID and queues the
    /// wake-up for the phone registered for `contact_id`.
    pub(crate) fn open_contact(
        &self,
        contact_id: &[u8],
        client_payload: Vec<u8>,
        rng: &mut impl RngCore,
    ) -> Result<(Reservation<J>, WakeUp), RejectReason> {
        let mut inner = self.lock();
        inner.forget_dead_waiters();
        inner.drop_stale_wakeups(contact_id);
        let sender = match inner.contacts.get(contact_id) {
            Some(c) if !c.wakeups.is_closed() => c.wakeups.clone(),
            Some(_) => {
                inner.contacts.remove(contact_id);
                return Err(RejectReason::UnknownContact);
            }
            None => return Err(RejectReason::UnknownContact),
        };
        if inner.waiting.len() >= self.max_pending_tunnels {
            return Err(RejectReason::TooManyPendingTunnels);
        }
        let mut tunnel_id = [0u8; 16];
        loop {
            rng.fill_bytes(&mut tunnel_id);
            if !inner.waiting.contains_key(&tunnel_id) {
                break;
            }
        }
        let mut routing_id = [0u8; 3];
        rng.fill_bytes(&mut routing_id);
        let wakeup = WakeUp {
            contact_id: contact_id.to_vec(),
            tunnel_id,
            routing_id,
            client_payload,
        };
        match sender.try_send(wakeup.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return Err(RejectReason::WakeUpQueueFull),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                inner.contacts.remove(contact_id);
                return Err(RejectReason::UnknownContact);
            }
        }
        Ok((inner.insert_waiting(tunnel_id, routing_id), wakeup))
    }

    /// `connect`: takes the waiting tunnel so exactly one joiner gets it.
    pub(crate) fn claim(
        &self,
        routing_id: RoutingId,
        tunnel_id: TunnelId,
    ) -> Result<oneshot::Sender<J>, RejectReason> {
        let mut inner = self.lock();
        match inner.waiting.get(&tunnel_id) {
            None => Err(RejectReason::UnknownTunnel),
            Some(w) if w.joiner.is_closed() => {
                inner.waiting.remove(&tunnel_id);
                Err(RejectReason::UnknownTunnel)
            }
            Some(w) if w.routing_id != routing_id => Err(RejectReason::RoutingIdMismatch),
            Some(_) => inner
                .waiting
                .remove(&tunnel_id)
                .map(|w| w.joiner)
                .ok_or(RejectReason::UnknownTunnel),
        }
    }

    /// The first side gave up (or was paired): remove its tunnel if it is still the one waiting.
    pub(crate) fn withdraw(&self, tunnel_id: &TunnelId, generation: u64) {
        let mut inner = self.lock();
        if inner
            .waiting
            .get(tunnel_id)
            .is_some_and(|w| w.generation == generation)
        {
            inner.waiting.remove(tunnel_id);
        }
    }

    /// Registers (or re-registers, replacing the old registration) a contact ID. A phone
    /// coming back gets the wake-ups that queued while it was away.
    pub(crate) fn register_contact(&self, contact_id: &[u8]) -> ContactRegistration {
        let (revoke_tx, revoke_rx) = oneshot::channel();
        let mut inner = self.lock();
        let generation = inner.bump_generation();
        let (tx, rx) = match inner.contacts.get_mut(contact_id) {
            Some(Contact {
                wakeups,
                parked: parked @ Some(_),
                ..
            }) => (wakeups.clone(), parked.take().expect("matched Some")),
            _ => mpsc::channel(self.max_pending_wakeups),
        };
        let old = inner.contacts.insert(
            contact_id.to_vec(),
            Contact {
                generation,
                wakeups: tx,
                revoke: Some(revoke_tx),
                parked: None,
            },
        );
        if let Some(revoke) = old.and_then(|mut c| c.revoke.take()) {
            let _ = revoke.send(RevokeCause::Replaced);
        }
        ContactRegistration {
            generation,
            wakeups: rx,
            revoked: revoke_rx,
        }
    }

    /// Unregisters a contact ID; `true` if it was registered.
    pub(crate) fn forget_contact(&self, contact_id: &[u8]) -> bool {
        let removed = self.lock().contacts.remove(contact_id);
        match removed {
            Some(mut c) => {
                if let Some(revoke) = c.revoke.take() {
                    let _ = revoke.send(RevokeCause::Forgotten);
                }
                true
            }
            None => false,
        }
    }

    /// A push socket ended (the phone went away) and no newer registration replaced it: its
    /// wake-ups now queue for its return. Only [`Self::forget_contact`] makes the ID unknown.
    pub(crate) fn park(&self, contact_id: &[u8], generation: u64) {
        let mut inner = self.lock();
        if inner
            .contacts
            .get(contact_id)
            .is_none_or(|c| c.generation != generation)
        {
            return;
        }
        let parked = inner
            .contacts
            .values()
            .filter(|c| c.parked.is_some())
            .count();
        if parked >= MAX_PARKED_CONTACTS {
            inner.contacts.remove(contact_id);
            return;
        }
        let (tx, rx) = mpsc::channel(self.max_pending_wakeups);
        if let Some(contact) = inner.contacts.get_mut(contact_id) {
            contact.wakeups = tx;
            contact.revoke = None;
            contact.parked = Some(rx);
        }
    }

    /// Whether a wake-up's tunnel still waits for the phone (a desktop that gave up while the
    /// phone was away has withdrawn it; such wake-ups are not delivered).
    pub(crate) fn is_waiting(&self, tunnel_id: &TunnelId) -> bool {
        self.lock()
            .waiting
            .get(tunnel_id)
            .is_some_and(|w| !w.joiner.is_closed())
    }

    #[cfg(test)]
    pub(crate) fn waiting_count(&self) -> usize {
        self.lock().waiting.len()
    }
}

impl<J> Inner<J> {
    fn bump_generation(&mut self) -> u64 {
        self.next_generation = self.next_generation.wrapping_add(1);
        self.next_generation
    }

    fn insert_waiting(&mut self, tunnel_id: TunnelId, routing_id: RoutingId) -> Reservation<J> {
        let (tx, rx) = oneshot::channel();
        let generation = self.bump_generation();
        self.waiting.insert(
            tunnel_id,
            Waiting {
                routing_id,
                generation,
                joiner: tx,
            },
        );
        Reservation {
            tunnel_id,
            routing_id,
            generation,
            joiner: rx,
        }
    }

    /// A phone that is away must not fill up with wake-ups of desktops that gave up: those are
    /// dropped from its held queue, so each new contact finds room (call after
    /// [`Self::forget_dead_waiters`]).
    fn drop_stale_wakeups(&mut self, contact_id: &[u8]) {
        let Some(contact) = self.contacts.get_mut(contact_id) else {
            return;
        };
        let Some(parked) = contact.parked.as_mut() else {
            return;
        };
        let mut live = Vec::new();
        while let Ok(wakeup) = parked.try_recv() {
            if self.waiting.contains_key(&wakeup.tunnel_id) {
                live.push(wakeup);
            }
        }
        for wakeup in live {
            // Fewer than were just taken out: there is room for each.
            let _ = contact.wakeups.try_send(wakeup);
        }
    }

    /// Waiting entries whose first side is gone no longer count against the limit.
    fn forget_dead_waiters(&mut self) {
        self.waiting.retain(|_, w| !w.joiner.is_closed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::mock::StepRng;

    fn registry() -> Registry<u32> {
        Registry::new(2, 1)
    }

    #[test]
    fn new_then_connect_hands_over_the_joiner() {
        let r = registry();
        let mut rng = StepRng::new(1, 1);
        let mut res = r.open_new([1; 16], &mut rng).unwrap();
        assert_eq!(
            r.open_new([1; 16], &mut rng).unwrap_err(),
            RejectReason::TunnelAlreadyWaiting
        );
        let mut wrong = res.routing_id;
        wrong[0] ^= 1;
        assert_eq!(
            r.claim(wrong, [1; 16]).unwrap_err(),
            RejectReason::RoutingIdMismatch
        );
        assert_eq!(
            r.claim(res.routing_id, [2; 16]).unwrap_err(),
            RejectReason::UnknownTunnel
        );
        let tx = r.claim(res.routing_id, [1; 16]).unwrap();
        // Claimed tunnels stop waiting: a second joiner finds nothing.
        assert_eq!(
            r.claim(res.routing_id, [1; 16]).unwrap_err(),
            RejectReason::UnknownTunnel
        );
        tx.send(7).unwrap();
        assert_eq!(res.joiner.try_recv(), Ok(7));
        assert_eq!(r.waiting_count(), 0);
    }

    #[test]
    fn pending_limit_counts_only_live_waiters() {
        let r = registry();
        let mut rng = StepRng::new(1, 1);
        let a = r.open_new([1; 16], &mut rng).unwrap();
        let _b = r.open_new([2; 16], &mut rng).unwrap();
        assert_eq!(
            r.open_new([3; 16], &mut rng).unwrap_err(),
            RejectReason::TooManyPendingTunnels
        );
        drop(a);
        assert!(r.open_new([3; 16], &mut rng).is_ok());
    }

    #[test]
    fn withdraw_only_removes_its_own_generation() {
        let r = registry();
        let mut rng = StepRng::new(1, 1);
        let a = r.open_new([1; 16], &mut rng).unwrap();
        let gen_a = a.generation;
        drop(a);
        let b = r.open_new([1; 16], &mut rng).unwrap();
        assert_ne!(gen_a, b.generation);
        // A stale withdraw (the old first side finishing late) leaves the new tunnel waiting.
        r.withdraw(&[1; 16], gen_a);
        assert!(r.claim(b.routing_id, [1; 16]).is_ok());
        let c = r.open_new([1; 16], &mut rng).unwrap();
        r.withdraw(&[1; 16], c.generation);
        assert_eq!(
            r.claim(c.routing_id, [1; 16]).unwrap_err(),
            RejectReason::UnknownTunnel
        );
    }

    #[test]
    fn contact_flow_queues_a_wakeup_and_opens_a_tunnel() {
        let r = registry();
        let mut rng = StepRng::new(5, 3);
        assert_eq!(
            r.open_contact(b"c", vec![1], &mut rng).unwrap_err(),
            RejectReason::UnknownContact
        );
        let mut reg = r.register_contact(b"c");
        let (res, wake) = r.open_contact(b"c", vec![1, 2], &mut rng).unwrap();
        assert_eq!(wake.tunnel_id, res.tunnel_id);
        assert_eq!(wake.routing_id, res.routing_id);
        assert_eq!(wake.client_payload, vec![1, 2]);
        // Queue of one is full until the phone reads.
        assert_eq!(
            r.open_contact(b"c", vec![3], &mut rng).unwrap_err(),
            RejectReason::WakeUpQueueFull
        );
        assert_eq!(reg.wakeups.try_recv().unwrap(), wake);
        assert!(r.claim(res.routing_id, res.tunnel_id).is_ok());
        // Dropping the receiver makes the contact unknown.
        drop(reg);
        assert_eq!(
            r.open_contact(b"c", vec![1], &mut rng).unwrap_err(),
            RejectReason::UnknownContact
        );
    }

    #[test]
    fn re_registration_replaces_and_forget_revokes() {
        let r = registry();
        let mut first = r.register_contact(b"c");
        let mut second = r.register_contact(b"c");
        assert_eq!(first.revoked.try_recv(), Ok(RevokeCause::Replaced));
        // The old socket ending must not park the new one.
        r.park(b"c", first.generation);
        let mut rng = StepRng::new(1, 1);
        assert!(r.open_contact(b"c", vec![], &mut rng).is_ok());
        assert!(r.forget_contact(b"c"));
        assert_eq!(second.revoked.try_recv(), Ok(RevokeCause::Forgotten));
        assert!(!r.forget_contact(b"c"));
        assert_eq!(
            r.open_contact(b"c", vec![], &mut rng).unwrap_err(),
            RejectReason::UnknownContact
        );
    }

    #[test]
    fn a_phone_that_went_away_gets_its_wake_ups_when_it_returns() {
        let r = registry();
        let mut rng = StepRng::new(7, 1);
        let reg = r.register_contact(b"c");
        r.park(b"c", reg.generation);
        drop(reg);
        // Away: the contact still opens a tunnel; its wake-up waits.
        let (res, wake) = r.open_contact(b"c", vec![9], &mut rng).unwrap();
        assert_eq!(
            r.open_contact(b"c", vec![9], &mut rng).unwrap_err(),
            RejectReason::WakeUpQueueFull
        );
        let mut back = r.register_contact(b"c");
        assert_eq!(back.wakeups.try_recv().unwrap(), wake);
        assert!(r.is_waiting(&res.tunnel_id));
        // A desktop that gave up: its tunnel no longer waits.
        drop(res);
        assert!(!r.is_waiting(&wake.tunnel_id));
        // Away again, the queue of one holds a desktop that then gives up: it does not block
        // the next desktop.
        r.park(b"c", back.generation);
        let (gave_up, _) = r.open_contact(b"c", vec![1], &mut rng).unwrap();
        drop(gave_up);
        let (_waits, next) = r.open_contact(b"c", vec![2], &mut rng).unwrap();
        let mut again = r.register_contact(b"c");
        assert_eq!(again.wakeups.try_recv().unwrap(), next);
        assert!(again.wakeups.try_recv().is_err());
        // Forgetting is final, away or not.
        r.park(b"c", again.generation);
        assert!(r.forget_contact(b"c"));
        assert_eq!(
            r.open_contact(b"c", vec![], &mut rng).unwrap_err(),
            RejectReason::UnknownContact
        );
    }
}
