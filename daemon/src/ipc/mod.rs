//! cabled's IPC: JSON-RPC 2.0 over a per-user Unix socket, one JSON object per line
//! (docs/ipc.md describes the protocol for client authors).
//!
//! Read top-down: `socket` (where and how the daemon listens) → `server` (accepting clients)
//! → `connection` (one client: bounded lines in, ordered lines out) → `wire` (JSON-RPC
//! framing) → `methods` (what each method does) with `api` (every method's params and
//! result types, shared with the client), `sessions` (limits and ownership), `prompts` (the agents that show
//! sessions no connection owns) and `error`
//! (numeric + stable codes). `config` reads `cabled.toml`; `client` is
//! the other end, for `cablectl` and tests.

pub mod api;
pub mod client;
pub mod config;
pub mod connection;
pub mod error;
pub mod lines;
pub mod methods;
pub mod prompts;
pub mod server;
pub mod sessions;
pub mod socket;
pub mod wire;

pub use client::{Client, ClientError, Notification};
pub use config::{DaemonConfig, Limits, Overrides};
pub use error::RpcError;
pub use server::{serve, Daemon};
pub use socket::{default_socket_path, BoundSocket, SocketError, SocketGuard};
