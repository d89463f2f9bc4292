//! State shared by the accept loop and every connection task.

use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

use crate::registry::Registry;
use crate::relay::Joiner;
use crate::stats::{Stats, StatsSnapshot};
use crate::ServerLimits;

pub(crate) struct Shared {
    pub limits: ServerLimits,
    pub registry: Registry<Joiner>,
    pub stats: Stats,
    /// One permit per open connection.
    pub connections: Arc<Semaphore>,
    /// Slots for answering over-limit connections with a 503 before closing them.
    pub reject_slots: Arc<Semaphore>,
    shutdown: watch::Sender<bool>,
}

/// Over-limit connections answered politely at once; beyond this they are just closed.
const REJECT_SLOTS: usize = 16;

impl Shared {
    pub(crate) fn new(limits: ServerLimits) -> Self {
        Self {
            registry: Registry::new(limits.max_pending_tunnels, limits.max_pending_wakeups),
            stats: Stats::default(),
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            reject_slots: Arc::new(Semaphore::new(REJECT_SLOTS)),
            shutdown: watch::Sender::new(false),
            limits,
        }
    }

    pub(crate) fn connections_open(&self) -> u64 {
        self.limits
            .max_connections
            .saturating_sub(self.connections.available_permits()) as u64
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.stats.snapshot(self.connections_open())
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn shutdown_signal(&self) -> ShutdownSignal {
        ShutdownSignal(self.shutdown.subscribe())
    }
}

/// Resolves once the server starts shutting down.
pub(crate) struct ShutdownSignal(watch::Receiver<bool>);

impl ShutdownSignal {
    pub(crate) async fn wait(&mut self) {
        // An error means the sender is gone, which only happens when the server is gone too.
        let _ = self.0.wait_for(|down| *down).await;
    }
}
