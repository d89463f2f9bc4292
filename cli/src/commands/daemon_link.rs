//! Talking to a running `cabled`: `cablectl register/sign-in` hand their session to it when it
//! runs, and `cablectl daemon status` / `doctor` ask it how it is.

use crate::printer::Printer;
use cabled::engine::{EventSink, SessionEvent};
use cabled::ipc::client::{Client, ClientError};
use serde_json::{json, Value};

/// The daemon, if one answers on the default socket.
pub async fn connect() -> Option<Client> {
    Client::connect_default().await.ok()
}

/// One line summing up `daemon.status`.
pub async fn status() -> anyhow::Result<String> {
    let client = Client::connect_default().await.map_err(explain)?;
    let status = client
        .call("daemon.status", json!({}))
        .await
        .map_err(explain)?;
    Ok(format!(
        "running, version {}, {} session(s), radio {}",
        status["version"].as_str().unwrap_or("?"),
        status["sessions"].as_u64().unwrap_or(0),
        status["radio"]["backend"]
            .as_str()
            .or(status["radio"].as_str())
            .unwrap_or("?"),
    ))
}

/// `cablectl daemon status`.
pub fn print_status(json_output: bool) -> anyhow::Result<()> {
    crate::commands::runtime()?.block_on(async {
        let client = Client::connect_default().await.map_err(explain)?;
        let status = client
            .call("daemon.status", json!({}))
            .await
            .map_err(explain)?;
        if json_output {
            println!("{status}");
        } else {
            println!(
                "{}",
                serde_json::to_string_pretty(&status).unwrap_or_default()
            );
        }
        Ok(())
    })
}

/// Runs `webauthn.create` / `webauthn.get` in the daemon, showing its events as our own.
pub async fn webauthn(
    client: &Client,
    method: &str,
    params: Value,
    printer: Printer,
    sink: &EventSink,
) -> anyhow::Result<Value> {
    let result = client
        .call_with_events(method, params, |n| {
            if !n.is_session_event() {
                return;
            }
            let mut params = n.params;
            if let Some(map) = params.as_object_mut() {
                map.remove("session");
                map.remove("svg");
            }
            if let Ok(event) = serde_json::from_value::<SessionEvent>(params) {
                printer.event(&event);
            }
        })
        .await;
    match result {
        Ok(credential) => Ok(credential),
        Err(e) => {
            if printer.json {
                let event = json!({"event": "error", "code": e.code(), "message": e.to_string(), "t_ms": sink.elapsed_ms()});
                println!("{event}");
            }
            Err(explain(e))
        }
    }
}

fn explain(e: ClientError) -> anyhow::Error {
    anyhow::anyhow!("{e} [{}]", e.code())
}
