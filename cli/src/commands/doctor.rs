//! `cablectl doctor`: checks what hybrid needs on this computer. Each check prints a verdict
//! and, when it fails, the fix.

use cable_ble::scan::ScanError;
use cable_tunnel::client::{connect, ClientOptions, ConnectError, TunnelRequest};
use cable_tunnel::TunnelBase;
use cabled::ipc::api::Status;
use serde_json::json;
use std::time::Duration;

struct Check {
    name: &'static str,
    ok: Option<bool>, // None: skipped
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: Some(true),
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            ok: Some(false),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            ok: None,
            detail: why.into(),
            fix: None,
        }
    }
}

pub fn run(json: bool, offline: bool) -> anyhow::Result<()> {
    let (text, failed) = crate::commands::runtime()?.block_on(report(json, offline));
    print!("{text}");
    anyhow::ensure!(failed == 0, "{failed} check(s) failed; see the fixes above");
    Ok(())
}

/// Every check, drawn as `cablectl doctor` prints it, and how many failed (also for
/// `cablectl debug-report`).
pub async fn report(json: bool, offline: bool) -> (String, usize) {
    let mut checks = bluetooth().await;
    if offline {
        checks.push(Check::skip("tunnel servers", "--offline"));
    } else {
        for id in [0u16, 1] {
            checks.push(tunnel(id).await);
        }
    }
    checks.push(store());
    checks.push(uhid_module());
    checks.extend(browser_hosts());
    checks.extend(daemon().await);
    let mut text = String::new();
    for check in &checks {
        if json {
            let line = json!({"check": check.name, "ok": check.ok, "detail": check.detail, "fix": check.fix});
            text.push_str(&format!("{line}\n"));
        } else {
            let mark = match check.ok {
                Some(true) => "ok  ",
                Some(false) => "FAIL",
                None => "skip",
            };
            text.push_str(&format!("[{mark}] {:<26} {}\n", check.name, check.detail));
            if let Some(fix) = &check.fix {
                text.push_str(&format!("       fix: {fix}\n"));
            }
        }
    }
    let failed = checks.iter().filter(|c| c.ok == Some(false)).count();
    (text, failed)
}

/// One scan attempt answers four questions, in the order BlueZ fails them.
async fn bluetooth() -> Vec<Check> {
    #[cfg(feature = "bluetooth")]
    {
        use cable_ble::scan::{rfkill, AdapterChoice, BluetoothScanner, RadioState, Scanner};
        let scanner = BluetoothScanner::new(AdapterChoice::All);
        let result = tokio::time::timeout(Duration::from_secs(10), scanner.start()).await;
        let result = match result {
            // A scan waits for a radio that is down; doctor reports why it would wait.
            Ok(Ok(scan)) => match scan.radio_state() {
                RadioState::Down(down) => Err(down.to_error()),
                RadioState::Ready { .. } => Ok(()),
            },
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ScanError::Other {
                cause: "BlueZ did not answer within 10 s".into(),
            }),
        };
        let mut checks = bluetooth_verdicts(result);
        // Scanning works with another adapter, but a blocked one deserves a word.
        let blocked = rfkill::blocked_bluetooth(std::path::Path::new(rfkill::DEFAULT_RFKILL_ROOT));
        if checks.iter().all(|c| c.ok != Some(false)) && !blocked.is_empty() {
            let names: Vec<&str> = blocked.iter().map(|s| s.name.as_str()).collect();
            checks.push(Check::pass(
                "rfkill",
                format!(
                    "{} blocked (unused; `rfkill unblock bluetooth`)",
                    names.join(", ")
                ),
            ));
        }
        checks
    }
    #[cfg(not(feature = "bluetooth"))]
    {
        vec![Check::skip(
            "Bluetooth",
            "this build has no Bluetooth support",
        )]
    }
}

fn bluetooth_verdicts(result: Result<(), ScanError>) -> Vec<Check> {
    let names = [
        "BlueZ reachable",
        "Bluetooth adapter present",
        "adapter powered on",
        "LE scanning allowed",
    ];
    let failed_at = match &result {
        Ok(()) => names.len(),
        Err(ScanError::BluezUnreachable { .. }) => 0,
        Err(ScanError::NoAdapter { .. }) => 1,
        Err(ScanError::PoweredOff { .. } | ScanError::Blocked { .. }) => 2,
        Err(_) => 3,
    };
    let blocked = matches!(result, Err(ScanError::Blocked { .. }));
    let fixes = [
        "install BlueZ and start it: `sudo systemctl enable --now bluetooth`",
        "plug in a Bluetooth LE adapter (or enable it in the firmware settings / rfkill unblock bluetooth)",
        "turn Bluetooth on: `bluetoothctl power on`",
        "run as a user allowed to use BlueZ (see /etc/dbus-1/system.d/bluetooth.conf)",
    ];
    let mut checks = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        checks.push(match i.cmp(&failed_at) {
            std::cmp::Ordering::Less => Check::pass(name, "yes"),
            std::cmp::Ordering::Equal => Check::fail(
                name,
                result
                    .as_ref()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                if blocked {
                    "unblock it: `rfkill unblock bluetooth` (or the laptop's wireless switch)"
                } else {
                    fixes[i]
                },
            ),
            std::cmp::Ordering::Greater => {
                Check::skip(name, "not checked: an earlier check failed")
            }
        });
    }
    checks
}

/// A connect to a tunnel that does not exist: any HTTP answer proves DNS, TCP and TLS work.
async fn tunnel(id: u16) -> Check {
    let name = if id == 0 {
        "tunnel server (Google)"
    } else {
        "tunnel server (Apple)"
    };
    let host = cable_tunnel::domain_name(id).unwrap_or_default();
    let opts = ClientOptions {
        base: TunnelBase::Domain(id),
        connect_timeout: Duration::from_secs(8),
        ..ClientOptions::default()
    };
    let probe = TunnelRequest::Connect {
        routing_id: [0; 3],
        tunnel_id: [0; 16],
    };
    match connect(probe, &opts).await {
        Ok(_) => Check::pass(name, format!("{host} reachable over TLS")),
        Err(
            ConnectError::NotFound
            | ConnectError::BadRequest
            | ConnectError::Gone
            | ConnectError::TooLate
            | ConnectError::Status(_),
        ) => Check::pass(
            name,
            format!("{host} reachable over TLS (answered the probe over HTTPS)"),
        ),
        Err(e @ (ConnectError::Unreachable { .. } | ConnectError::Timeout(_))) => Check::fail(
            name,
            e.to_string(),
            "check the network connection, DNS and any proxy or firewall (port 443 must be open)",
        ),
        Err(e @ ConnectError::Tls { .. }) => Check::fail(
            name,
            e.to_string(),
            "a proxy may intercept TLS, or the system clock may be wrong",
        ),
        Err(e) => Check::fail(
            name,
            e.to_string(),
            "report this answer to the cable developers",
        ),
    }
}

fn store() -> Check {
    match cable_store::LinkStore::open_default() {
        Ok(store) => match store.list() {
            Ok(links) => Check::pass(
                "linked-phone store",
                format!("{} ({} linked)", store.path().display(), links.len()),
            ),
            Err(e) => Check::fail(
                "linked-phone store",
                e.to_string(),
                "move the store file aside; phones can be linked again with a QR code",
            ),
        },
        Err(e) => Check::fail(
            "linked-phone store",
            e.to_string(),
            "move the store file aside; phones can be linked again with a QR code",
        ),
    }
}

/// Each browser's native messaging manifest: in place and pointing at a host that exists
/// (`cablectl browser install`). A browser without one is skipped, not failed: it may not be
/// installed, or not wanted.
fn browser_hosts() -> Vec<Check> {
    use crate::commands::browser::{inspect, standard_targets, Installed};
    let targets = match standard_targets() {
        Ok(targets) => targets,
        Err(e) => return vec![Check::skip("browser hosts", e.to_string())],
    };
    let fix =
        "run `cablectl browser install` (with --host PATH if cable-browser-host is elsewhere)";
    targets
        .iter()
        .map(|target| {
            let name = match target.browser {
                "Firefox" => "browser host: Firefox",
                "Chromium" => "browser host: Chromium",
                "Google Chrome" => "browser host: Chrome",
                "Brave" => "browser host: Brave",
                _ => "browser host: Edge",
            };
            match inspect(target) {
                Installed::Ready { host } => Check::pass(
                    name,
                    format!("{} -> {}", target.manifest().display(), host.display()),
                ),
                Installed::Missing => Check::skip(
                    name,
                    format!(
                        "no manifest in {} ({fix} to use cable from it)",
                        target.dir.display()
                    ),
                ),
                Installed::Broken(why) => Check::fail(name, why, fix),
            }
        })
        .collect()
}

/// The daemon, and its own view of the linked-phone store (it may differ from ours: another
/// environment, or a store damaged since it started).
async fn daemon() -> Vec<Check> {
    match crate::commands::daemon_link::status().await {
        Ok(status) => daemon_checks(&status),
        Err(e) => vec![Check::fail(
            "cabled daemon",
            e.to_string(),
            "start it with `systemctl --user start cabled` (see docs/ipc.md); cablectl also works without it",
        )],
    }
}

fn daemon_checks(status: &Status) -> Vec<Check> {
    let daemon = Check::pass(
        "cabled daemon",
        crate::commands::daemon_link::summary(status),
    );
    let name = "cabled's linked phones";
    let store = &status.store;
    let store = match store.state.as_str() {
        "ready" => Check::pass(
            name,
            format!(
                "{} ({} linked)",
                store.path.as_deref().unwrap_or("?"),
                store.linked.unwrap_or(0)
            ),
        ),
        "not_used" => Check::skip(name, "linking is off in cabled's configuration"),
        _ => Check::fail(
            name,
            store.message.clone().unwrap_or_else(|| store.state.clone()),
            "move the store file aside and restart cabled (`systemctl --user restart cabled`); \
             phones can be linked again with a QR code",
        ),
    };
    vec![daemon, store, security_key(&status.security_key)]
}

/// The virtual security key as cabled sees it: attached to cable-uhid, and an agent to show
/// its QR codes.
fn security_key(key: &cabled::ipc::api::SecurityKeyStatus) -> Check {
    let name = "security key (uhid)";
    match key.state.as_str() {
        "off" => Check::skip(
            name,
            "off in cabled's configuration ([security_key] enabled)",
        ),
        "ready" if key.agents == 0 => Check::fail(
            name,
            "attached, but no prompt agent runs: requests are denied",
            "run `cablectl agent`, or `systemctl --user enable --now cable-agent.service` \
             (docs/security-key.md)",
        ),
        "ready" => Check::pass(
            name,
            format!("attached; {} prompt agent(s) show its QR codes", key.agents),
        ),
        _ => Check::fail(
            name,
            key.message
                .clone()
                .unwrap_or_else(|| "not attached to cable-uhid".into()),
            "install cable-uhid (docs/security-key-install.md): `sudo modprobe uhid`, then \
             `sudo systemctl enable --now cable-uhid.service`",
        ),
    }
}

/// The uhid kernel module, which the privileged part needs.
fn uhid_module() -> Check {
    let name = "uhid kernel module";
    if std::path::Path::new("/dev/uhid").exists() {
        Check::pass(name, "/dev/uhid exists")
    } else {
        Check::fail(
            name,
            "/dev/uhid is missing: the uhid module is not loaded",
            "sudo modprobe uhid, and install dist/modules-load.d/cable-uhid.conf to load it at boot",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(store: serde_json::Value) -> Status {
        serde_json::from_value(json!({
            "version": "0.1.0", "pid": 42, "uptime_s": 3, "hybrid_enabled": true,
            "sessions": {"open": 2, "max": 64, "this_client": 0, "max_per_client": 16},
            "clients": 1,
            "radio": {"backend": "bluetooth", "description": "Bluetooth", "scanning": false},
            "bluetooth": {"state": "ready", "adapter": "hci0"},
            "store": store,
            "tunnel_override": null, "config_file": null,
        }))
        .unwrap()
    }

    #[test]
    fn doctor_reports_the_daemons_sessions_and_store() {
        let checks = daemon_checks(&status(
            json!({"state": "ready", "path": "/h/links.db", "linked": 3}),
        ));
        assert_eq!(checks[0].ok, Some(true));
        assert!(
            checks[0].detail.contains("2 open session(s)"),
            "{}",
            checks[0].detail
        );
        assert_eq!(checks[1].ok, Some(true));
        assert!(
            checks[1].detail.contains("3 linked"),
            "{}",
            checks[1].detail
        );

        let broken = status(json!({"state": "device_store_error", "path": "/h/links.db",
            "message": "the linked-phone store /h/links.db cannot be read: file is not a database"}));
        let checks = daemon_checks(&broken);
        assert_eq!(checks[1].ok, Some(false));
        assert!(
            checks[1].detail.contains("not a database"),
            "{}",
            checks[1].detail
        );
    }

    #[test]
    fn doctor_says_when_the_security_key_has_no_agent_or_no_cable_uhid() {
        let key = |v: serde_json::Value| -> cabled::ipc::api::SecurityKeyStatus {
            serde_json::from_value(v).unwrap()
        };
        let lonely = security_key(&key(json!({"state": "ready", "agents": 0})));
        assert_eq!(lonely.ok, Some(false));
        assert!(lonely.fix.unwrap().contains("cablectl agent"));
        let shown = security_key(&key(json!({"state": "ready", "agents": 1})));
        assert_eq!(shown.ok, Some(true));
        let absent = security_key(&key(json!({"state": "not_attached", "agents": 1,
            "message": "cable-uhid is not running (no socket at /run/cable/uhid.sock)"})));
        assert_eq!(absent.ok, Some(false));
        assert!(absent.detail.contains("not running"), "{}", absent.detail);
        assert!(absent.fix.unwrap().contains("cable-uhid.service"));
        let off = security_key(&key(json!({"state": "off", "agents": 0})));
        assert_eq!(off.ok, None);
        // An older daemon's status, without the member, still reads (and shows a failing
        // check rather than a parse error).
        assert_eq!(status(json!({"state": "not_used"})).security_key.state, "");
    }
}
