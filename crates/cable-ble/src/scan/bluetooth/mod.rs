//! Real Bluetooth LE scanning through btleplug (BlueZ over D-Bus on Linux).
//!
//! * Every powered adapter listens at once by default (a laptop's own and a USB dongle);
//!   each advert names the adapter that heard it. `AdapterChoice::Name` pins one.
//! * A scan outlives its radio: an adapter that is off, rfkill-blocked or not plugged in yet
//!   is waited for, polling BlueZ every couple of seconds while the scan runs (never while
//!   idle), and the handle's [`RadioState`](crate::scan::RadioState) says why it waits.
//! * The scan filter is empty: BlueZ has been reported to drop every result under a UUID
//!   discovery filter (HYBRID.md §4.6), and Chromium scans unfiltered too. btleplug always sets
//!   `DuplicateData = true` on BlueZ, so repeated and changed adverts from one address arrive.
//! * Service data is taken under both hybrid UUIDs from `ServiceDataAdvertisement` events, and
//!   from the device properties on `DeviceDiscovered` (devices BlueZ already knew).
//! * Every failure becomes a [`ScanError`] that names its cause; starting never waits longer
//!   than the start timeout, even when the D-Bus connection itself blocks.

mod adapters;
mod errors;
mod events;
mod supervisor;

use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use btleplug::api::CentralEvent;
use btleplug::platform::Manager;
use futures_util::Stream;
use tokio::sync::{mpsc, Mutex};

use super::handle::{ActiveGuard, SharedStats, CHANNEL_CAPACITY};
use super::rfkill::{blocked_bluetooth, DEFAULT_RFKILL_ROOT};
use super::{one_line, ScanError, ScanHandle, Scanner, StartFuture};
use adapters::{chosen, down_reason, list};
use errors::classify;
use supervisor::Supervisor;

/// How long starting a scan may take before we call BlueZ unreachable.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running scan looks for adapters switched on, off, plugged in or out.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Bound on each D-Bus call made while scanning (property reads, stopping the scan).
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

type EventStream = Pin<Box<dyn Stream<Item = CentralEvent> + Send>>;

/// Which adapters to scan with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// Every adapter that is powered on, as adapters come and go.
    #[default]
    All,
    /// The adapter with this name, e.g. `hci1`.
    Name(String),
    /// The adapter at this position among BlueZ's adapters sorted by name (0 = first).
    Index(usize),
}

impl FromStr for AdapterChoice {
    type Err = std::convert::Infallible;

    /// A number selects by index, `all` or nothing every adapter, anything else by name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(if s.is_empty() || s == "all" {
            Self::All
        } else if let Ok(index) = s.parse() {
            Self::Index(index)
        } else {
            Self::Name(s.to_string())
        })
    }
}

/// Scans for hybrid adverts with real Bluetooth adapters.
#[derive(Debug)]
pub struct BluetoothScanner {
    choice: AdapterChoice,
    start_timeout: Duration,
    poll_interval: Duration,
    rfkill_root: PathBuf,
    /// The D-Bus connection, kept across scans so each session reuses it.
    manager: Mutex<Option<Manager>>,
    active: Arc<AtomicBool>,
}

impl BluetoothScanner {
    /// A scanner for `choice`; nothing is contacted until [`Scanner::start`].
    pub fn new(choice: AdapterChoice) -> Self {
        Self {
            choice,
            start_timeout: DEFAULT_START_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            rfkill_root: PathBuf::from(DEFAULT_RFKILL_ROOT),
            manager: Mutex::new(None),
            active: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Changes how long [`Scanner::start`] may take.
    pub fn with_start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Changes how often a running scan looks at the adapters.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Reads rfkill switches under `root` instead of `/sys/class/rfkill` (for tests).
    pub fn with_rfkill_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.rfkill_root = root.into();
        self
    }

    /// Checks, without scanning, that BlueZ answers and a chosen adapter exists and is
    /// powered on; returns the usable adapters' names (`hci0, hci1`). Cheap enough to answer
    /// a status request.
    pub async fn check(&self) -> Result<String, ScanError> {
        let checked = tokio::time::timeout(self.start_timeout, async {
            let manager = self.manager().await?;
            let listed = list(&manager).await?;
            let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
            let usable: Vec<&str> = chosen(&self.choice, &names)
                .into_iter()
                .filter(|&i| listed[i].powered)
                .map(|i| names[i])
                .collect();
            if !usable.is_empty() {
                return Ok(usable.join(", "));
            }
            let powered: Vec<(&str, bool)> = listed
                .iter()
                .map(|l| (l.name.as_str(), l.powered))
                .collect();
            let blocked = blocked_bluetooth(&self.rfkill_root);
            Err(down_reason(&self.choice, &powered, &blocked).to_error())
        })
        .await;
        let result = checked.unwrap_or_else(|_| Err(self.no_answer()));
        if matches!(result, Err(ScanError::BluezUnreachable { .. })) {
            *self.manager.lock().await = None;
        }
        result
    }

    async fn start_scan(&self) -> Result<ScanHandle, ScanError> {
        let guard = ActiveGuard::claim(&self.active)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let stats = Arc::new(SharedStats::default());
        let opened = tokio::time::timeout(self.start_timeout, async {
            let manager = self.manager().await?;
            let mut supervisor = Supervisor::new(
                manager,
                self.choice.clone(),
                self.rfkill_root.clone(),
                self.poll_interval,
                tx,
                stats.clone(),
            );
            supervisor.poll().await?;
            Ok(supervisor)
        })
        .await
        .unwrap_or_else(|_| Err(self.no_answer()));
        let supervisor = match opened {
            Ok(supervisor) => supervisor,
            Err(e) => {
                // Reconnect next time: the connection may be what failed.
                *self.manager.lock().await = None;
                return Err(e);
            }
        };
        let radio = supervisor.subscribe();
        let task = tokio::spawn(supervisor.run(guard));
        Ok(ScanHandle::new(rx, task, stats).with_radio(radio))
    }

    /// The D-Bus connection, made on first use.
    async fn manager(&self) -> Result<Manager, ScanError> {
        let mut manager = self.manager.lock().await;
        if let Some(known) = manager.as_ref() {
            return Ok(known.clone());
        }
        let connected = connect().await?;
        *manager = Some(connected.clone());
        Ok(connected)
    }

    fn no_answer(&self) -> ScanError {
        ScanError::BluezUnreachable {
            cause: format!("no answer within {} s", self.start_timeout.as_secs_f32()),
        }
    }
}

impl Scanner for BluetoothScanner {
    fn start(&self) -> StartFuture<'_> {
        Box::pin(self.start_scan())
    }

    fn describe(&self) -> String {
        match &self.choice {
            AdapterChoice::All => "Bluetooth (every powered adapter)".into(),
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
