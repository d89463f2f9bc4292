//! The allocated channels (CTAP 2.2 §11.2.9.1.3: INIT on the broadcast channel hands out a
//! new CID).
//!
//! The spec has no way to give a channel back, and hosts allocate one per open (libfido2,
//! python-fido2, each browser), so the table keeps the most recently used [`MAX_CHANNELS`]
//! and forgets the oldest. A host whose channel was forgotten gets ERR_INVALID_CHANNEL and
//! allocates again, which every client does on that error.

use std::collections::VecDeque;

use crate::packet::BROADCAST_CID;

/// How many channels stay allocated at once.
pub const MAX_CHANNELS: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// Least recently used first.
    live: VecDeque<u32>,
    /// The state of the CID generator; never 0.
    next: u32,
}

impl Channels {
    pub(crate) fn new(seed: u32) -> Self {
        Channels {
            live: VecDeque::new(),
            // xorshift32 must not start at 0 (it would stay there).
            next: if seed == 0 { 0x6A09_E667 } else { seed },
        }
    }

    pub(crate) fn contains(&self, cid: u32) -> bool {
        self.live.contains(&cid)
    }

    /// Marks `cid` as just used, so it is the last one forgotten.
    pub(crate) fn touch(&mut self, cid: u32) {
        if let Some(at) = self.live.iter().position(|&c| c == cid) {
            self.live.remove(at);
            self.live.push_back(cid);
        }
    }

    /// A fresh CID: never 0, never broadcast, never one still allocated. Forgets the least
    /// recently used channel other than `keep` when the table is full.
    pub(crate) fn allocate(&mut self, keep: Option<u32>) -> u32 {
        let cid = loop {
            let candidate = self.step();
            if candidate != BROADCAST_CID && !self.live.contains(&candidate) {
                break candidate;
            }
        };
        if self.live.len() >= MAX_CHANNELS {
            if let Some(at) = self.live.iter().position(|&c| Some(c) != keep) {
                self.live.remove(at);
            }
        }
        self.live.push_back(cid);
        cid
    }

    /// Forgets every channel; the generator runs on, so old CIDs are not handed out again soon.
    pub(crate) fn clear(&mut self) {
        self.live.clear();
    }

    /// xorshift32: a full-period walk over the non-zero u32s, so CIDs do not repeat for 2³² − 1
    /// allocations. No randomness is needed: §11.2.4 only asks that CIDs be unique.
    fn step(&mut self) -> u32 {
        let mut x = self.next;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.next = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_unique_valid_cids_and_forgets_the_oldest() {
        let mut channels = Channels::new(0);
        let first = channels.allocate(None);
        let mut all = vec![first];
        for _ in 0..MAX_CHANNELS {
            all.push(channels.allocate(Some(first)));
        }
        assert!(all.iter().all(|&c| c != 0 && c != BROADCAST_CID));
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert!(channels.contains(first), "the kept channel survives");
        assert!(
            !channels.contains(all[1]),
            "the oldest other one is forgotten"
        );
        assert!(channels.contains(all[MAX_CHANNELS]));
    }
}
