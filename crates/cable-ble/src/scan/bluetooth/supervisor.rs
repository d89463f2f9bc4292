//! The task behind a Bluetooth scan: it listens with every chosen adapter that is powered on,
//! polls BlueZ's adapters so that one switched on, unblocked or plugged in mid-scan joins the
//! scan, and one switched off or unplugged leaves it; while none listens it says why
//! ([`RadioState::Down`]) and keeps waiting. Only a failure no waiting can fix (BlueZ gone,
//! permission refused) ends the scan.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use btleplug::api::{Central as _, Peripheral as _, ScanFilter};
use btleplug::platform::{Adapter, Manager, PeripheralId};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::adapters::{chosen, down_reason, list, Listed};
use super::errors::classify;
use super::events::{adverts_from_properties, map_event, EventAction, LatestRssi};
use super::{AdapterChoice, EventStream, CALL_TIMEOUT};
use crate::scan::handle::{ActiveGuard, SharedStats};
use crate::scan::rfkill::blocked_bluetooth;
use crate::scan::{RadioState, ScanError};
use crate::Advert;

/// Polls in a row that may fail before a running scan gives up.
const MAX_POLL_FAILURES: u32 = 3;

/// One adapter listening.
struct Listening {
    adapter: Adapter,
    task: JoinHandle<()>,
}

pub(crate) struct Supervisor {
    manager: Manager,
    choice: AdapterChoice,
    rfkill_root: PathBuf,
    poll_interval: Duration,
    listening: HashMap<String, Listening>,
    adverts: mpsc::Sender<Advert>,
    stats: Arc<SharedStats>,
    state: watch::Sender<RadioState>,
    /// Adapters whose listener stopped by itself (switched off, event stream ended).
    stopped_tx: mpsc::UnboundedSender<String>,
    stopped_rx: mpsc::UnboundedReceiver<String>,
}

impl Supervisor {
    pub(crate) fn new(
        manager: Manager,
        choice: AdapterChoice,
        rfkill_root: PathBuf,
        poll_interval: Duration,
        adverts: mpsc::Sender<Advert>,
        stats: Arc<SharedStats>,
    ) -> Self {
        let (stopped_tx, stopped_rx) = mpsc::unbounded_channel();
        Self {
            manager,
            choice,
            rfkill_root,
            poll_interval,
            listening: HashMap::new(),
            adverts,
            stats,
            state: watch::Sender::new(RadioState::always_ready()),
            stopped_tx,
            stopped_rx,
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<RadioState> {
        self.state.subscribe()
    }

    /// Runs until the handle is dropped or a failure ends the scan; then stops discovery on
    /// every adapter still listening.
    pub(crate) async fn run(mut self, _active: ActiveGuard) -> Result<(), ScanError> {
        let mut failures = 0;
        let result = loop {
            tokio::select! {
                _ = self.adverts.closed() => break Ok(()),
                _ = tokio::time::sleep(self.poll_interval) => {}
                Some(name) = self.stopped_rx.recv() => {
                    if let Some(gone) = self.listening.remove(&name) {
                        gone.task.abort();
                    }
                }
            }
            // One slow answer on a loaded machine must not end every waiting session; a
            // BlueZ that keeps failing does.
            match self.poll().await {
                Ok(()) => failures = 0,
                Err(e) if failures + 1 < MAX_POLL_FAILURES => {
                    failures += 1;
                    tracing::debug!(error = %e, failures, "looking at the adapters failed");
                }
                Err(e) => break Err(e),
            }
        };
        for (name, listening) in self.listening.drain() {
            listening.task.abort();
            match tokio::time::timeout(CALL_TIMEOUT, listening.adapter.stop_scan()).await {
                Ok(Ok(())) => tracing::debug!(adapter = %name, "Bluetooth LE scan stopped"),
                Ok(Err(e)) => {
                    tracing::debug!(adapter = %name, error = %e, "stopping the scan failed")
                }
                Err(_) => tracing::debug!(adapter = %name, "stopping the scan timed out"),
            }
        }
        result
    }

    /// Looks at BlueZ's adapters once: starts listening with chosen powered ones, forgets
    /// those gone or off, and publishes the radio's state. Fails only when nothing listens
    /// and the cause is not one that waiting can fix.
    pub(crate) async fn poll(&mut self) -> Result<(), ScanError> {
        let listed = tokio::time::timeout(CALL_TIMEOUT, list(&self.manager))
            .await
            .map_err(|_| ScanError::BluezUnreachable {
                cause: format!(
                    "listing adapters: no answer within {} s",
                    CALL_TIMEOUT.as_secs()
                ),
            })??;
        self.listening.retain(|name, listening| {
            let usable = listed.iter().any(|l| &l.name == name && l.powered)
                && !listening.task.is_finished();
            if !usable {
                tracing::info!(adapter = %name, "Bluetooth adapter off or gone: no longer scanning with it");
                listening.task.abort();
            }
            usable
        });
        let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
        let mut failure = None;
        for index in chosen(&self.choice, &names) {
            let candidate = &listed[index];
            if !candidate.powered || self.listening.contains_key(&candidate.name) {
                continue;
            }
            match self.listen(candidate).await {
                Ok(listening) => {
                    tracing::info!(adapter = %candidate.name, "Bluetooth LE scan started");
                    self.listening.insert(candidate.name.clone(), listening);
                }
                // Switched off or unplugged since it was listed: the next poll sees it.
                Err(ScanError::PoweredOff { .. } | ScanError::NoAdapter { .. }) => {}
                Err(e) => {
                    tracing::debug!(adapter = %candidate.name, error = %e, "cannot scan with this adapter");
                    failure = Some(e);
                }
            }
        }
        let state = if self.listening.is_empty() {
            if let Some(e) = failure {
                return Err(e);
            }
            let powered: Vec<(&str, bool)> = listed
                .iter()
                .map(|l| (l.name.as_str(), l.powered))
                .collect();
            RadioState::Down(down_reason(
                &self.choice,
                &powered,
                &blocked_bluetooth(&self.rfkill_root),
            ))
        } else {
            let mut adapters: Vec<String> = self.listening.keys().cloned().collect();
            adapters.sort();
            RadioState::Ready { adapters }
        };
        self.state.send_if_modified(|current| {
            if *current == state {
                return false;
            }
            match &state {
                RadioState::Down(why) => tracing::warn!("{why}"),
                RadioState::Ready { adapters } => {
                    tracing::info!(?adapters, "scanning for phones with Bluetooth")
                }
            }
            *current = state;
            true
        });
        Ok(())
    }

    /// Opens the adapter's event stream, then starts discovery (events first, so nothing
    /// between StartDiscovery and subscribing is missed), and spawns its listener.
    async fn listen(&self, candidate: &Listed) -> Result<Listening, ScanError> {
        let Listed { adapter, name, .. } = candidate;
        let start = async {
            let events = adapter
                .events()
                .await
                .map_err(|e| classify(&e, Some(name)))?;
            adapter
                .start_scan(ScanFilter::default())
                .await
                .map_err(|e| classify(&e, Some(name)))?;
            Ok::<_, ScanError>(events)
        };
        let events = tokio::time::timeout(CALL_TIMEOUT, start)
            .await
            .map_err(|_| ScanError::BluezUnreachable {
                cause: format!(
                    "starting discovery on {name}: no answer within {} s",
                    CALL_TIMEOUT.as_secs()
                ),
            })??;
        let task = tokio::spawn(listen(
            adapter.clone(),
            name.clone(),
            events,
            self.adverts.clone(),
            self.stats.clone(),
            self.stopped_tx.clone(),
        ));
        Ok(Listening {
            adapter: adapter.clone(),
            task,
        })
    }
}

/// One adapter's listener: turns its events into adverts (named after it) until the scan
/// ends, or the adapter is switched off or its event stream ends (then says so on `stopped`).
async fn listen(
    adapter: Adapter,
    name: String,
    mut events: EventStream,
    tx: mpsc::Sender<Advert>,
    stats: Arc<SharedStats>,
    stopped: mpsc::UnboundedSender<String>,
) {
    let mut rssi = LatestRssi::default();
    loop {
        let event = tokio::select! {
            _ = tx.closed() => return,
            event = events.next() => event,
        };
        let adverts = match event.as_ref().map(|e| map_event(e, &mut rssi)) {
            Some(EventAction::Adverts(adverts)) => adverts,
            Some(EventAction::ReadProperties(id)) => read_adverts(&adapter, &id).await,
            Some(EventAction::Ignore) => continue,
            Some(EventAction::PoweredOff) | None => {
                let _ = stopped.send(name);
                return;
            }
        };
        for mut advert in adverts {
            advert.adapter = Some(name.clone());
            stats.advert();
            if tx.send(advert).await.is_err() {
                return;
            }
        }
    }
}

/// The hybrid adverts in a peripheral's current properties; none if it cannot be read.
async fn read_adverts(adapter: &Adapter, id: &PeripheralId) -> Vec<Advert> {
    let read = async {
        let peripheral = adapter.peripheral(id).await?;
        peripheral.properties().await
    };
    match tokio::time::timeout(CALL_TIMEOUT, read).await {
        Ok(Ok(Some(properties))) => adverts_from_properties(&properties),
        Ok(Ok(None)) => Vec::new(),
        Ok(Err(e)) => {
            tracing::debug!(peripheral = %id, error = %e, "cannot read peripheral properties");
            Vec::new()
        }
        Err(_) => {
            tracing::debug!(peripheral = %id, "reading peripheral properties timed out");
            Vec::new()
        }
    }
}
