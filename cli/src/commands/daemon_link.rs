//! Talking to a running `cabled`: `cablectl register/sign-in` hand their session to it when it
//! runs, and `cablectl daemon status` / `doctor` ask it how it is. Every call is typed by
//! `cabled::ipc::api`, the same types the daemon answers with.

use crate::printer::Printer;
use cabled::engine::{EventKind, EventSink, SessionEvent};
use cabled::ipc::api::{self, DaemonStatus, Method, NoParams, Status, WebAuthnParams};
use cabled::ipc::client::{Client, ClientError};
use serde_json::{Map, Value};

/// The daemon, if one answers on the default socket.
pub async fn connect() -> Option<Client> {
    Client::connect_default().await.ok()
}

/// The daemon's `daemon.status`.
pub async fn status() -> anyhow::Result<Status> {
    let client = Client::connect_default().await.map_err(explain)?;
    client
        .call::<DaemonStatus>(NoParams {})
        .await
        .map_err(explain)
}

/// One line summing up `daemon.status`.
pub fn summary(status: &Status) -> String {
    format!(
        "running, version {}, {} open session(s) of at most {}, {} client(s), radio {}",
        status.version,
        status.sessions.open,
        status.sessions.max,
        status.clients,
        status.radio.backend,
    )
}

/// `cablectl daemon status`.
pub fn print_status(json_output: bool) -> anyhow::Result<()> {
    crate::commands::runtime()?.block_on(async {
        let status = status().await?;
        let text = if json_output {
            serde_json::to_string(&status)
        } else {
            serde_json::to_string_pretty(&status)
        };
        println!("{}", text.unwrap_or_default());
        Ok(())
    })
}

/// Runs `webauthn.create` / `webauthn.get` (`M`) in the daemon, showing its events as our own.
pub async fn webauthn<M>(
    client: &Client,
    params: WebAuthnParams,
    printer: Printer,
    sink: &EventSink,
) -> anyhow::Result<Value>
where
    M: Method<Params = WebAuthnParams, Result = Map<String, Value>>,
{
    let result = client
        .call_with_events::<M>(params, |n| {
            if let Some(Ok(event)) = n.typed::<api::SessionEventNotice>() {
                printer.event(&event.event);
            }
        })
        .await;
    match result {
        Ok(credential) => Ok(Value::Object(credential)),
        Err(e) => {
            if printer.json {
                // The same error line an in-process session ends with.
                printer.event(&SessionEvent {
                    kind: EventKind::Error {
                        code: e.code().to_string(),
                        message: e.to_string(),
                    },
                    t_ms: sink.elapsed_ms(),
                });
            }
            Err(explain(e))
        }
    }
}

fn explain(e: ClientError) -> anyhow::Error {
    anyhow::anyhow!("{e} [{}]", e.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The status the daemon really sends, in the documented shape, read as the CLI reads it:
    /// `sessions` is an object, and its `open` is what the summary shows.
    #[test]
    fn summary_shows_the_open_sessions() {
        let wire = json!({
            "version": "0.1.0", "pid": 42, "uptime_s": 3, "hybrid_enabled": true,
            "sessions": {"open": 3, "max": 64, "this_client": 0, "max_per_client": 16},
            "clients": 2,
            "radio": {"backend": "virtual", "description": "UDP", "scanning": true},
            "bluetooth": {"state": "not_used"},
            "store": {"state": "ready", "path": "/x/links.db", "linked": 1},
            "tunnel_override": null, "config_file": null,
        });
        let status: Status = serde_json::from_value(wire).unwrap();
        let line = summary(&status);
        assert!(line.contains("3 open session(s)"), "{line}");
        assert!(line.contains("radio virtual"), "{line}");
    }
}
