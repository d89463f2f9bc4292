//! The handle a running scan is reached through.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{RadioState, ScanError};
use crate::Advert;

/// Adverts buffered between a scanner task and its consumer. A phone repeats its advert every
/// ~100 ms, so a slow consumer loses nothing by the radio side waiting.
pub(crate) const CHANNEL_CAPACITY: usize = 256;

/// How long [`ScanHandle::stop`] waits for the backend to stop its radio.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Counters of one scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Adverts handed to the channel.
    pub adverts: u64,
    /// Inputs the backend could not turn into an advert (e.g. a datagram shorter than 2 bytes).
    pub malformed: u64,
}

/// Counters shared between a scanner task and its handle.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    adverts: AtomicU64,
    malformed: AtomicU64,
}

impl SharedStats {
    pub(crate) fn advert(&self) {
        self.adverts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ScanStats {
        ScanStats {
            adverts: self.adverts.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
        }
    }
}

/// Marks a scanner busy for as long as one of its scans runs.
#[derive(Debug)]
pub(crate) struct ActiveGuard(Arc<AtomicBool>);

impl ActiveGuard {
    /// Claims `flag`, or fails if a scan is already running.
    pub(crate) fn claim(flag: &Arc<AtomicBool>) -> Result<Self, ScanError> {
        flag.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| ScanError::AlreadyScanning)?;
        Ok(Self(flag.clone()))
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What a running scan has to say next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEvent {
    /// An advert.
    Advert(Advert),
    /// The radio went down or came back (the scan goes on either way).
    Radio(RadioState),
    /// The scan ended (call [`ScanHandle::stop`] to learn why).
    Ended,
}

/// A running scan. Adverts arrive through [`recv`](Self::recv) (or the raw mpsc receiver);
/// dropping the handle stops the scan.
#[derive(Debug)]
pub struct ScanHandle {
    adverts: mpsc::Receiver<Advert>,
    task: JoinHandle<Result<(), ScanError>>,
    stats: Arc<SharedStats>,
    /// The radio's state, for scanners whose radio can go down and come back (Bluetooth).
    radio: Option<watch::Receiver<RadioState>>,
}

impl ScanHandle {
    pub(crate) fn new(
        adverts: mpsc::Receiver<Advert>,
        task: JoinHandle<Result<(), ScanError>>,
        stats: Arc<SharedStats>,
    ) -> Self {
        Self {
            adverts,
            task,
            stats,
            radio: None,
        }
    }

    /// The same handle, reporting the radio's state from `radio` (only the Bluetooth scanner
    /// has one).
    #[cfg(feature = "bluetooth")]
    pub(crate) fn with_radio(mut self, radio: watch::Receiver<RadioState>) -> Self {
        self.radio = Some(radio);
        self
    }

    /// The radio's state now.
    pub fn radio_state(&self) -> RadioState {
        match &self.radio {
            Some(radio) => radio.borrow().clone(),
            None => RadioState::always_ready(),
        }
    }

    /// The next advert or change of the radio's state, whichever comes first.
    pub async fn next_event(&mut self) -> ScanEvent {
        let changed = async {
            match self.radio.as_mut() {
                Some(radio) => match radio.changed().await {
                    Ok(()) => Some(radio.borrow_and_update().clone()),
                    // The scanner task is gone; its end shows on the advert channel.
                    Err(_) => std::future::pending().await,
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            // Rare, so first: a stream of adverts must not hide that the radio went down.
            Some(state) = changed => ScanEvent::Radio(state),
            advert = self.adverts.recv() => match advert {
                Some(advert) => ScanEvent::Advert(advert),
                None => ScanEvent::Ended,
            },
        }
    }

    /// The next advert; `None` once the scan has ended (call [`stop`](Self::stop) to learn why).
    pub async fn recv(&mut self) -> Option<Advert> {
        self.adverts.recv().await
    }

    /// The tokio receiver the adverts arrive on, for `select!` loops.
    pub fn receiver(&mut self) -> &mut mpsc::Receiver<Advert> {
        &mut self.adverts
    }

    /// Counters so far.
    pub fn stats(&self) -> ScanStats {
        self.stats.snapshot()
    }

    /// Stops scanning and waits (up to 5 s) for the radio to stop. Returns the error that ended
    /// the scan, if it ended by itself before being stopped.
    pub async fn stop(self) -> Result<(), ScanError> {
        let Self {
            mut adverts, task, ..
        } = self;
        adverts.close();
        drop(adverts);
        match tokio::time::timeout(STOP_TIMEOUT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(ScanError::Other {
                cause: super::one_line(format!("scanner task failed: {join}")),
            }),
            Err(_) => Err(ScanError::Other {
                cause: "the radio did not stop within 5 s".into(),
            }),
        }
    }
}
