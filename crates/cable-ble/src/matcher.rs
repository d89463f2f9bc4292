//! The desktop's sans-IO advert matcher (HYBRID.md §4.4, §4.6; Chromium `v2_discovery.cc`).
//!
//! Scanners hand every [`Advert`] to [`AdvertMatcher::offer`]; sessions waiting for a phone
//! register their EID key with [`AdvertMatcher::add`]. The rules, after Chromium:
//!
//! * only service data under 0xFFF9 / 0xFDE2 is considered;
//! * each distinct 20-byte advert is processed once (a phone repeats the same advert ~10 times a
//!   second for the whole session), remembered in a bounded set whose oldest entry is evicted;
//! * each advert is tried against every pending key, tag first, so a foreign advert costs one
//!   HMAC per key and no AES;
//! * a key matches at most once: on a match it is removed, like Chromium ignoring all adverts
//!   once a device is accepted;
//! * adverts that matched no key are kept in a bounded queue and re-offered to each key added
//!   later, because a phone (linked phones especially) may advertise before the desktop is
//!   ready. Chromium queues adverts seen before its keys exist; keeping the most recent
//!   unmatched ones also covers a key added while others are pending.

use std::collections::{HashSet, VecDeque};

use cable_keys::EidKey;

use crate::codec::{split_service_data, ADVERT_LEN};
use crate::{decrypt_advert, is_hybrid_uuid, Advert, AdvertError, DecryptedAdvert, DomainCheck};

/// How many distinct adverts the matcher remembers for de-duplication.
pub const DEFAULT_DEDUP_CAPACITY: usize = 1024;
/// How many unmatched adverts the matcher keeps for keys added later.
pub const DEFAULT_QUEUE_CAPACITY: usize = 64;

/// A match: the key's ID, the decrypted advert and the UUID it was seen under.
pub type Match<Id> = (Id, DecryptedAdvert, u16);

/// What happened to the adverts offered so far.
///
/// `received = foreign_uuid + too_short + duplicate + unmatched + rejected + (matches made by
/// offer)`. `matched` also counts matches that [`AdvertMatcher::add`] found in the queue; those
/// adverts were counted as `unmatched` when first offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatcherStats {
    /// Adverts offered.
    pub received: u64,
    /// Dropped: not under a hybrid UUID.
    pub foreign_uuid: u64,
    /// Dropped: service data shorter than 20 bytes.
    pub too_short: u64,
    /// Dropped: this 20-byte advert was already processed.
    pub duplicate: u64,
    /// No pending key's tag matched (queued for keys added later).
    pub unmatched: u64,
    /// A key's tag matched but the plaintext was invalid (reserved byte, unknown domain).
    pub rejected: u64,
    /// Matched a key.
    pub matched: u64,
}

struct PendingKey<Id> {
    id: Id,
    key: EidKey,
    check: DomainCheck,
}

/// Matches scanned adverts against the EID keys of sessions waiting for a phone.
pub struct AdvertMatcher<Id> {
    keys: Vec<PendingKey<Id>>,
    seen: HashSet<[u8; ADVERT_LEN]>,
    seen_order: VecDeque<[u8; ADVERT_LEN]>,
    dedup_capacity: usize,
    queue: VecDeque<Advert>,
    queue_capacity: usize,
    stats: MatcherStats,
}

impl<Id: PartialEq> Default for AdvertMatcher<Id> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Id: PartialEq> AdvertMatcher<Id> {
    /// A matcher with the default bounds (1024 remembered adverts, 64 queued).
    pub fn new() -> Self {
        Self::with_capacities(DEFAULT_DEDUP_CAPACITY, DEFAULT_QUEUE_CAPACITY)
    }

    /// A matcher remembering `dedup` distinct adverts and queueing up to `queue` unmatched ones.
    pub fn with_capacities(dedup: usize, queue: usize) -> Self {
        Self {
            keys: Vec::new(),
            seen: HashSet::with_capacity(dedup.min(DEFAULT_DEDUP_CAPACITY)),
            seen_order: VecDeque::new(),
            dedup_capacity: dedup.max(1),
            queue: VecDeque::new(),
            queue_capacity: queue,
            stats: MatcherStats::default(),
        }
    }

    /// Registers a session's EID key. If a queued advert matches it, the match is returned at
    /// once and the key is not kept. Adding an `id` that is already pending replaces its key.
    pub fn add(&mut self, id: Id, key: EidKey, check: DomainCheck) -> Option<Match<Id>> {
        self.remove(&id);
        let pending = PendingKey { id, key, check };
        for index in 0..self.queue.len() {
            let Some(advert) = self.queue.get(index) else {
                break;
            };
            match decrypt_advert(&pending.key, &advert.service_data, pending.check) {
                Err(AdvertError::BadTag) => continue,
                outcome => {
                    let uuid = advert.uuid;
                    self.queue.remove(index);
                    match outcome {
                        Ok(decrypted) => {
                            self.stats.matched += 1;
                            return Some((pending.id, decrypted, uuid));
                        }
                        // This key's advert, but unusable: the key keeps waiting.
                        Err(_) => self.stats.rejected += 1,
                    }
                    break;
                }
            }
        }
        self.keys.push(pending);
        None
    }

    /// Forgets a pending key (its session ended). Returns whether it was pending.
    pub fn remove(&mut self, id: &Id) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| k.id != *id);
        self.keys.len() != before
    }

    /// Processes one scanned advert; returns the key it matched, if any.
    pub fn offer(&mut self, advert: &Advert) -> Option<Match<Id>> {
        self.stats.received += 1;
        if !is_hybrid_uuid(advert.uuid) {
            self.stats.foreign_uuid += 1;
            return None;
        }
        let Ok((advert20, _suffix)) = split_service_data(&advert.service_data) else {
            self.stats.too_short += 1;
            return None;
        };
        if !self.remember(advert20) {
            self.stats.duplicate += 1;
            return None;
        }
        for (index, pending) in self.keys.iter().enumerate() {
            match decrypt_advert(&pending.key, &advert.service_data, pending.check) {
                Err(AdvertError::BadTag) => continue,
                Ok(decrypted) => {
                    let pending = self.keys.remove(index);
                    self.stats.matched += 1;
                    return Some((pending.id, decrypted, advert.uuid));
                }
                Err(_) => {
                    self.stats.rejected += 1;
                    return None;
                }
            }
        }
        self.stats.unmatched += 1;
        if self.queue_capacity > 0 {
            if self.queue.len() >= self.queue_capacity {
                self.queue.pop_front();
            }
            self.queue.push_back(advert.clone());
        }
        None
    }

    /// Counters of what happened to every advert offered.
    pub fn stats(&self) -> MatcherStats {
        self.stats
    }

    /// How many keys are waiting for a phone.
    pub fn pending_keys(&self) -> usize {
        self.keys.len()
    }

    /// How many unmatched adverts are queued for keys added later.
    pub fn queued_adverts(&self) -> usize {
        self.queue.len()
    }

    /// Records `advert` as seen; false if it already was.
    fn remember(&mut self, advert: &[u8; ADVERT_LEN]) -> bool {
        if !self.seen.insert(*advert) {
            return false;
        }
        self.seen_order.push_back(*advert);
        if self.seen_order.len() > self.dedup_capacity {
            if let Some(oldest) = self.seen_order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }
}
