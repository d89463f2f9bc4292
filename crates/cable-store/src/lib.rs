//! The linked phones of this computer ("remember this computer", HYBRID.md §9.4).
//!
//! A phone that links hands the desktop a contact ID, link ID, link secret, its public key and a
//! name; the desktop adds the tunnel domain and the created / last-used times. [`LinkStore`]
//! keeps them in an SQLite file in WAL mode (`$XDG_DATA_HOME/cable/links.db`), one row per
//! phone public key, so a phone that links again replaces its old entry.
//!
//! * Crash-safe: every change is one SQLite transaction; a kill -9 at any moment leaves every
//!   committed link readable.
//! * Shared: the daemon and the CLI may have the file open at the same time.
//! * Secrets at rest: each link secret is sealed with AES-256-GCM under a random store key, with
//!   the phone public key as associated data. The key lives in the Secret Service when one is
//!   reachable, else in a 0600 file `links.key` next to the store ([`KeySource`]).
//! * Damage is reported as [`StoreError::Corrupt`] and the file is left as it was: never emptied,
//!   never overwritten.
//!
//! Why SQLite and not redb: docs/store.md.

mod error;
mod key;
mod model;
mod paths;
mod schema;
mod seal;
mod store;

pub use error::StoreError;
pub use key::KeySource;
pub use model::{DeviceId, Link, LinkSummary, NewLink};
pub use paths::{default_path, key_file_path};
pub use store::LinkStore;
