//! `daemon.status`: how the daemon, its radio and its store of linked phones are.

use crate::engine::{RadioConfig, TunnelConfig};
use crate::ipc::api::{
    BluetoothStatus, RadioStatus, SecurityKeyStatus, SessionCounts, Status, StoreStatus,
};
use crate::ipc::connection::Client;
use crate::ipc::error::codes;
use crate::ipc::server::Daemon;
use crate::security_key::KeyState;
use std::sync::Arc;

pub async fn status(daemon: &Arc<Daemon>, client: &Arc<Client>) -> Status {
    let engine = &daemon.config.engine;
    let limits = &daemon.config.limits;
    let backend = match engine.radio {
        RadioConfig::Bluetooth { .. } => "bluetooth",
        RadioConfig::Virtual(_) => "virtual",
    };
    // Asked now, on request: BlueZ is never polled while the daemon idles.
    let bluetooth = match daemon.engine.bluetooth_state().await {
        None => state("not_used", None, None),
        Some(Ok(adapter)) => state("ready", Some(adapter), None),
        Some(Err(e)) => state(e.code(), None, Some(e.to_string())),
    };
    Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        uptime_s: daemon.uptime().as_secs(),
        hybrid_enabled: daemon.config.hybrid_enabled,
        sessions: SessionCounts {
            open: daemon.sessions.count(),
            max: limits.max_sessions,
            this_client: daemon.sessions.count_for(client.id),
            max_per_client: limits.max_sessions_per_client,
        },
        clients: daemon.clients(),
        radio: RadioStatus {
            backend: backend.to_string(),
            description: engine.radio.describe(),
            scanning: daemon.engine.is_scanning().await,
        },
        bluetooth,
        store: store(daemon),
        security_key: security_key(daemon),
        tunnel_override: match &engine.tunnel {
            TunnelConfig::Real => None,
            TunnelConfig::Override(url) => Some(url.clone()),
        },
        config_file: daemon
            .config
            .source
            .as_ref()
            .map(|p| p.display().to_string()),
    }
}

fn state(state: &str, adapter: Option<String>, message: Option<String>) -> BluetoothStatus {
    BluetoothStatus {
        state: state.to_string(),
        adapter,
        message,
    }
}

/// Read now (a cheap list without secrets), so a store damaged since start-up shows too.
fn store(daemon: &Daemon) -> StoreStatus {
    let Some(book) = daemon.engine.links() else {
        return StoreStatus {
            state: "not_used".into(),
            path: None,
            linked: None,
            message: None,
        };
    };
    let path = book.location().map(|p| p.display().to_string());
    match book.summaries() {
        Ok(links) => StoreStatus {
            state: "ready".into(),
            path,
            linked: Some(links.len()),
            message: None,
        },
        Err(e) => StoreStatus {
            state: codes::DEVICE_STORE_ERROR.into(),
            path,
            linked: None,
            message: Some(e.to_string()),
        },
    }
}

fn security_key(daemon: &Daemon) -> SecurityKeyStatus {
    let config = &daemon.config.security_key;
    let (state, message) = if !config.enabled || !daemon.config.hybrid_enabled {
        ("off", None)
    } else {
        match daemon.key_state() {
            KeyState::Attached => ("ready", None),
            KeyState::Detached(why) => ("not_attached", Some(why)),
        }
    };
    SecurityKeyStatus {
        state: state.to_string(),
        socket: Some(config.socket.display().to_string()),
        message,
        agents: daemon.prompts.agents(),
    }
}
