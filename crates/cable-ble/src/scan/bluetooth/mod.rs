//! Real Bluetooth LE scanning through btleplug (BlueZ over D-Bus on Linux).
//!
//! * The scan filter is empty: BlueZ has been reported to drop every result under a UUID
//!   discovery filter (HYBRID.md §4.6), and Chromium scans unfiltered too. btleplug always sets
//!   `DuplicateData = true` on BlueZ, so repeated and changed adverts from one address arrive.
//! * Service data is taken under both hybrid UUIDs from `ServiceDataAdvertisement` events, and
//!   from the device properties on `DeviceDiscovered` (devices BlueZ already knew).
//! * Every failure becomes a [`ScanError`] that names its cause; starting never waits longer
//!   than the start timeout, even when the D-Bus connection itself blocks.

mod errors;
mod events;

use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use btleplug::api::{
    Central as _, CentralEvent, CentralState, Manager as _, Peripheral as _, ScanFilter,
};
use btleplug::platform::{Adapter, Manager, PeripheralId};
use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, Mutex};

use super::handle::{ActiveGuard, SharedStats, CHANNEL_CAPACITY};
use super::{one_line, ScanError, ScanHandle, Scanner, StartFuture};
use crate::Advert;
use errors::classify;
use events::{adverts_from_properties, map_event, EventAction, LatestRssi};

/// How long starting a scan may take before we call BlueZ unreachable.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on each D-Bus call made while scanning (property reads, stopping the scan).
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

type EventStream = Pin<Box<dyn Stream<Item = CentralEvent> + Send>>;

/// Which adapter to scan with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// The first adapter that is powered on.
    #[default]
    FirstPowered,
    /// The adapter with this name, e.g. `hci1`.
    Name(String),
    /// The adapter at this position in BlueZ's list (0 = first).
    Index(usize),
}

impl FromStr for AdapterChoice {
    type Err = std::convert::Infallible;

    /// A number selects by index, anything else by name; empty means the first powered one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(if s.is_empty() {
            Self::FirstPowered
        } else if let Ok(index) = s.parse() {
            Self::Index(index)
        } else {
            Self::Name(s.to_string())
        })
    }
}

/// Scans for hybrid adverts with a real Bluetooth adapter.
#[derive(Debug)]
pub struct BluetoothScanner {
    choice: AdapterChoice,
    start_timeout: Duration,
    /// The D-Bus connection and adapter, kept across scans so each session reuses them.
    connected: Mutex<Option<(Adapter, String)>>,
    active: Arc<AtomicBool>,
}

impl BluetoothScanner {
    /// A scanner for `choice`; nothing is contacted until [`Scanner::start`].
    pub fn new(choice: AdapterChoice) -> Self {
        Self {
            choice,
            start_timeout: DEFAULT_START_TIMEOUT,
            connected: Mutex::new(None),
            active: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Changes how long [`Scanner::start`] may take.
    pub fn with_start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Checks, without scanning, that BlueZ answers and the chosen adapter exists and is
    /// powered on; returns the adapter's name. Cheap enough to answer a status request.
    pub async fn check(&self) -> Result<String, ScanError> {
        let checked = tokio::time::timeout(self.start_timeout, async {
            let (adapter, name) = choose_adapter(&self.choice).await?;
            let state = adapter
                .adapter_state()
                .await
                .map_err(|e| classify(&e, Some(&name)))?;
            match state {
                CentralState::PoweredOn => Ok(name),
                _ => Err(ScanError::PoweredOff { adapter: name }),
            }
        })
        .await;
        checked.unwrap_or_else(|_| {
            Err(ScanError::BluezUnreachable {
                cause: format!("no answer within {} s", self.start_timeout.as_secs_f32()),
            })
        })
    }

    async fn start_scan(&self) -> Result<ScanHandle, ScanError> {
        let guard = ActiveGuard::claim(&self.active)?;
        let started = tokio::time::timeout(self.start_timeout, self.open()).await;
        let (adapter, name, events) = match started {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                // Reconnect next time: the connection or adapter may be what failed.
                *self.connected.lock().await = None;
                return Err(e);
            }
            Err(_) => {
                *self.connected.lock().await = None;
                return Err(ScanError::BluezUnreachable {
                    cause: format!("no answer within {} s", self.start_timeout.as_secs_f32()),
                });
            }
        };
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let stats = Arc::new(SharedStats::default());
        let task = tokio::spawn(run(adapter, name, events, tx, stats.clone(), guard));
        Ok(ScanHandle::new(rx, task, stats))
    }

    /// Connects (or reuses the connection), opens the event stream, starts discovery.
    async fn open(&self) -> Result<(Adapter, String, EventStream), ScanError> {
        let mut connected = self.connected.lock().await;
        let (adapter, name) = match connected.as_ref() {
            Some(known) => known.clone(),
            None => {
                let chosen = choose_adapter(&self.choice).await?;
                *connected = Some(chosen.clone());
                chosen
            }
        };
        if adapter
            .adapter_state()
            .await
            .map_err(|e| classify(&e, Some(&name)))?
            != CentralState::PoweredOn
        {
            return Err(ScanError::PoweredOff { adapter: name });
        }
        // Events first, so nothing between StartDiscovery and subscribing is missed.
        let events = adapter
            .events()
            .await
            .map_err(|e| classify(&e, Some(&name)))?;
        adapter
            .start_scan(ScanFilter::default())
            .await
            .map_err(|e| classify(&e, Some(&name)))?;
        tracing::debug!(adapter = %name, "Bluetooth LE scan started");
        Ok((adapter, name, events))
    }
}

impl Scanner for BluetoothScanner {
    fn start(&self) -> StartFuture<'_> {
        Box::pin(self.start_scan())
    }

    fn describe(&self) -> String {
        match &self.choice {
            AdapterChoice::FirstPowered => "Bluetooth (first powered adapter)".into(),
            AdapterChoice::Name(name) => format!("Bluetooth adapter {name}"),
            AdapterChoice::Index(index) => format!("Bluetooth adapter #{index}"),
        }
    }
}

/// Connects to the platform's Bluetooth stack. BlueZ's D-Bus connection is made with a blocking
/// call, so it runs on a blocking thread where the caller's timeout can still fire.
async fn connect() -> Result<Manager, ScanError> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(Manager::new()))
        .await
        .map_err(|e| ScanError::Other {
            cause: one_line(format!("connecting to Bluetooth failed: {e}")),
        })?
        .map_err(|e| classify(&e, None))
}

/// Picks the adapter per `choice`; returns it with its name (`hci0`).
async fn choose_adapter(choice: &AdapterChoice) -> Result<(Adapter, String), ScanError> {
    let manager = connect().await?;
    let adapters = manager.adapters().await.map_err(|e| classify(&e, None))?;
    let mut named = Vec::with_capacity(adapters.len());
    for adapter in adapters {
        let info = adapter
            .adapter_info()
            .await
            .map_err(|e| classify(&e, None))?;
        // BlueZ describes an adapter as "hci0 (usb:v1D6Bp0246d0537)".
        let name = info.split_whitespace().next().unwrap_or("?").to_string();
        named.push((adapter, name));
    }
    let names = || {
        named
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if named.is_empty() {
        return Err(ScanError::NoAdapter {
            detail: String::new(),
        });
    }
    let found = match choice {
        AdapterChoice::Name(wanted) => named.iter().position(|(_, n)| n == wanted),
        AdapterChoice::Index(index) => (*index < named.len()).then_some(*index),
        AdapterChoice::FirstPowered => {
            let mut powered = None;
            for (i, (adapter, _)) in named.iter().enumerate() {
                if adapter.adapter_state().await.ok() == Some(CentralState::PoweredOn) {
                    powered = Some(i);
                    break;
                }
            }
            // None powered: report the first one as off.
            Some(powered.unwrap_or(0))
        }
    };
    match found {
        Some(index) => Ok(named.swap_remove(index)),
        None => Err(ScanError::NoAdapter {
            detail: format!(" matching {choice:?} (found: {})", names()),
        }),
    }
}

/// The scan task: turns events into adverts until the handle is dropped or the radio fails,
/// then stops discovery.
async fn run(
    adapter: Adapter,
    name: String,
    mut events: EventStream,
    tx: mpsc::Sender<Advert>,
    stats: Arc<SharedStats>,
    _active: ActiveGuard,
) -> Result<(), ScanError> {
    let result = async {
        let mut rssi = LatestRssi::default();
        loop {
            let event = tokio::select! {
                _ = tx.closed() => return Ok(()),
                event = events.next() => event,
            };
            let Some(event) = event else {
                return Err(ScanError::BluezUnreachable {
                    cause: "BlueZ ended the event stream".into(),
                });
            };
            let adverts = match map_event(&event, &mut rssi) {
                EventAction::Adverts(adverts) => adverts,
                EventAction::ReadProperties(id) => read_adverts(&adapter, &id).await,
                EventAction::PoweredOff => {
                    return Err(ScanError::PoweredOff {
                        adapter: name.clone(),
                    })
                }
                EventAction::Ignore => continue,
            };
            for advert in adverts {
                stats.advert();
                if tx.send(advert).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    .await;
    match tokio::time::timeout(CALL_TIMEOUT, adapter.stop_scan()).await {
        Ok(Ok(())) => tracing::debug!(adapter = %name, "Bluetooth LE scan stopped"),
        Ok(Err(e)) => tracing::debug!(adapter = %name, error = %e, "stopping the scan failed"),
        Err(_) => tracing::debug!(adapter = %name, "stopping the scan timed out"),
    }
    result
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
