//! Scanners: the I/O adapters that turn a radio (real or virtual) into a stream of
//! [`Advert`](crate::Advert)s.
//!
//! Every backend implements [`Scanner`]. The trait is object-safe (`start` returns a boxed
//! future), so the daemon can hold a `Box<dyn Scanner>` chosen at run time from its config:
//! Bluetooth on a desktop, the virtual radio in tests and demos.
//!
//! A scan runs only while its [`ScanHandle`] lives: dropping the handle closes the advert
//! channel, and the backend's task notices, stops scanning (BlueZ `StopDiscovery` for
//! Bluetooth) and ends. [`ScanHandle::stop`] does the same and waits for it.

mod handle;
pub mod rfkill;
mod state;
mod virtual_radio;

#[cfg(feature = "bluetooth")]
mod bluetooth;

use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "bluetooth")]
pub use bluetooth::{
    AdapterChoice, BluetoothScanner, DEFAULT_POLL_INTERVAL, DEFAULT_START_TIMEOUT,
};
pub use handle::{ScanEvent, ScanHandle, ScanStats};
pub use state::{RadioDown, RadioState};
pub use virtual_radio::{
    decode_datagram, encode_datagram, VirtualRadioAdvertiser, VirtualRadioScanner,
};

/// The future [`Scanner::start`] returns.
pub type StartFuture<'a> = Pin<Box<dyn Future<Output = Result<ScanHandle, ScanError>> + Send + 'a>>;

/// A source of adverts.
pub trait Scanner: Send + Sync {
    /// Starts scanning. Resolves once the radio is scanning (or failed to start); adverts then
    /// arrive on the returned handle until it is dropped or the radio fails.
    fn start(&self) -> StartFuture<'_>;

    /// What this scanner listens on, for logs and error messages.
    fn describe(&self) -> String;
}

/// Why a scan could not start or had to end. Every message is one line naming the cause.
///
/// As every error of this crate: the message includes its cause and `source()` is `None`, so
/// a reporter walking the source chain (anyhow's `{:#}`) prints the cause once.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot reach BlueZ over D-Bus: is bluetoothd running? ({cause})")]
    BluezUnreachable { cause: String },
    #[error("no Bluetooth adapter found{detail}")]
    NoAdapter { detail: String },
    #[error("the Bluetooth adapter {adapter} is off: turn it on with `bluetoothctl power on`")]
    PoweredOff { adapter: String },
    #[error("{}", blocked_message(.adapters, *.hard))]
    Blocked { adapters: String, hard: bool },
    #[error("not allowed to use Bluetooth ({cause}): run as a user allowed to use BlueZ")]
    PermissionDenied { cause: String },
    #[error("Bluetooth scan failed: {cause}")]
    Other { cause: String },
    // Not named `source`: thiserror would make it the source and the cause would print twice.
    #[error(
        "virtual radio cannot use UDP address {addr}: {cause} (is another program using it? \
         choose another address)"
    )]
    Socket {
        addr: std::net::SocketAddr,
        cause: std::io::Error,
    },
    #[error("this scanner is already scanning; share its adverts instead of starting it twice")]
    AlreadyScanning,
}

fn blocked_message(adapters: &str, hard: bool) -> String {
    if hard {
        format!(
            "Bluetooth is blocked by a hardware switch ({adapters}): flip the switch or leave \
             airplane mode"
        )
    } else {
        format!("Bluetooth is blocked by rfkill ({adapters}): unblock it with `rfkill unblock bluetooth`")
    }
}

/// Keeps an error cause on one line (D-Bus messages occasionally carry newlines).
pub(crate) fn one_line(text: impl std::fmt::Display) -> String {
    text.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
