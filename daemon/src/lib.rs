//! cabled: the session engine that runs one hybrid transaction (shared by `cablectl` and the
//! daemon), and the daemon's IPC server.

pub mod engine;
pub mod history;
pub mod ipc;
pub mod logging;
pub mod security_key;
pub mod store_book;
