//! Counters the server keeps while it runs, and the snapshot [`stats()`](crate::TunnelServer::stats)
//! returns.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::reasons::{CloseReason, RejectReason};

/// A point-in-time copy of the server's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// TCP connections accepted since start (including ones refused at once).
    pub connections_accepted: u64,
    /// TCP connections open now (upgrading, tunnel and push sockets).
    pub connections_open: u64,
    /// WebSocket upgrades answered with 101.
    pub upgrades: u64,
    /// Tunnels whose two sides met.
    pub tunnels_paired: u64,
    /// Binary messages delivered to the other side (the connect signal `00` not included).
    pub messages_relayed: u64,
    /// Bytes of those messages.
    pub bytes_relayed: u64,
    /// Wake-ups handed to a registered phone (push socket or in-process receiver).
    pub wakeups_sent: u64,
    /// Upgrade requests refused, by reason (every reason present, zero or not).
    pub rejected: BTreeMap<RejectReason, u64>,
    /// WebSockets the server closed, by reason (every reason present, zero or not).
    pub closed: BTreeMap<CloseReason, u64>,
}

impl StatsSnapshot {
    /// Refusals of one kind.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected.get(&reason).copied().unwrap_or(0)
    }

    /// Closes of one kind.
    pub fn closed(&self, reason: CloseReason) -> u64 {
        self.closed.get(&reason).copied().unwrap_or(0)
    }

    /// All refusals.
    pub fn total_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The live counters, shared by every task.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    connections_accepted: AtomicU64,
    upgrades: AtomicU64,
    tunnels_paired: AtomicU64,
    messages_relayed: AtomicU64,
    bytes_relayed: AtomicU64,
    wakeups_sent: AtomicU64,
    rejected: [AtomicU64; RejectReason::ALL.len()],
    closed: [AtomicU64; CloseReason::ALL.len()],
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Stats {
    pub(crate) fn connection_accepted(&self) {
        bump(&self.connections_accepted, 1);
    }

    pub(crate) fn upgraded(&self) {
        bump(&self.upgrades, 1);
    }

    pub(crate) fn tunnel_paired(&self) {
        bump(&self.tunnels_paired, 1);
    }

    pub(crate) fn relayed(&self, bytes: usize) {
        bump(&self.messages_relayed, 1);
        bump(&self.bytes_relayed, bytes as u64);
    }

    pub(crate) fn wakeup_sent(&self) {
        bump(&self.wakeups_sent, 1);
    }

    pub(crate) fn rejected(&self, reason: RejectReason) {
        if let Some(c) = self.rejected.get(reason as usize) {
            bump(c, 1);
        }
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        if let Some(c) = self.closed.get(reason as usize) {
            bump(c, 1);
        }
    }

    pub(crate) fn snapshot(&self, connections_open: u64) -> StatsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            connections_accepted: load(&self.connections_accepted),
            connections_open,
            upgrades: load(&self.upgrades),
            tunnels_paired: load(&self.tunnels_paired),
            messages_relayed: load(&self.messages_relayed),
            bytes_relayed: load(&self.bytes_relayed),
            wakeups_sent: load(&self.wakeups_sent),
            rejected: RejectReason::ALL
                .iter()
                .zip(&self.rejected)
                .map(|(r, c)| (*r, load(c)))
                .collect(),
            closed: CloseReason::ALL
                .iter()
                .zip(&self.closed)
                .map(|(r, c)| (*r, load(c)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_under_their_reason() {
        let s = Stats::default();
        s.rejected(RejectReason::UnknownContact);
        s.rejected(RejectReason::UnknownContact);
        s.closed(CloseReason::TextMessage);
        s.relayed(10);
        let snap = s.snapshot(3);
        assert_eq!(snap.rejected(RejectReason::UnknownContact), 2);
        assert_eq!(snap.rejected(RejectReason::UnknownTunnel), 0);
        assert_eq!(snap.total_rejected(), 2);
        assert_eq!(snap.closed(CloseReason::TextMessage), 1);
        assert_eq!((snap.messages_relayed, snap.bytes_relayed), (1, 10));
        assert_eq!(snap.connections_open, 3);
        assert_eq!(snap.rejected.len(), RejectReason::ALL.len());
    }
}
