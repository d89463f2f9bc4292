//! `cablectl debug-report [--output FILE]`: one file to attach to a bug report. It gathers
//! what cable already shows elsewhere (versions, `doctor`, the Bluetooth adapters, the
//! settings, `daemon status`, the history and its stats), all of it free of secrets by
//! construction: the history's records cannot hold a QR code, key or tunnel ID, and the
//! settings' only URL is cut to its host.

use crate::commands::{daemon_link, doctor, history, stats};
use cabled::history::redact::host_of;
use cabled::ipc::api::Status;
use cabled::ipc::config::{DaemonConfig, Overrides};
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub fn run(output: Option<PathBuf>, offline: bool, last: usize) -> anyhow::Result<()> {
    let report = crate::commands::runtime()?.block_on(report(offline, last));
    let path = output.unwrap_or_else(default_file);
    write_private(&path, report.as_bytes())?;
    println!(
        "wrote {}: attach it to your bug report (it holds no QR code, key, contact or tunnel ID)",
        path.display()
    );
    Ok(())
}

fn default_file() -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let stamp: String = history::utc(now)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    PathBuf::from(format!("cable-debug-report-{stamp}.txt"))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))
}

async fn report(offline: bool, last: usize) -> String {
    let status = daemon_link::status().await;
    let mut out = String::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let _ = writeln!(out, "cable debug report, {}", history::utc(now));

    section(&mut out, "versions");
    let _ = writeln!(out, "cablectl {}", env!("CARGO_PKG_VERSION"));
    match &status {
        Ok(s) => {
            _ = writeln!(
                out,
                "cabled {} (running, pid {}, up {} s)",
                s.version, s.pid, s.uptime_s
            )
        }
        Err(e) => _ = writeln!(out, "cabled: not reachable ({e})"),
    }
    let _ = writeln!(out, "kernel {}", read_trimmed("/proc/sys/kernel/osrelease"));
    let _ = writeln!(out, "system {}", os_name());

    section(&mut out, "doctor");
    let (doctor, failed) = doctor::report(false, offline).await;
    out.push_str(&doctor);
    let _ = writeln!(out, "({failed} check(s) failed)");

    section(&mut out, "Bluetooth adapters");
    out.push_str(&adapters());
    if let Ok(s) = &status {
        let b = &s.bluetooth;
        let _ = writeln!(
            out,
            "cabled's radio: {} ({}); Bluetooth {}{}{}",
            s.radio.backend,
            s.radio.description,
            b.state,
            b.adapter
                .as_ref()
                .map(|a| format!(", adapter {a}"))
                .unwrap_or_default(),
            b.message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default(),
        );
    }

    section(&mut out, "configuration");
    out.push_str(&configuration());

    section(&mut out, "daemon status");
    match &status {
        Ok(s) => out.push_str(&status_json(s)),
        Err(e) => _ = writeln!(out, "not running: {e}"),
    }

    let records = history::records(Some(last)).await;
    let stats = stats::stats(None).await;
    section(&mut out, "statistics (all recorded sessions)");
    match &stats {
        Ok(stats) => out.push_str(&stats::render(stats)),
        Err(e) => _ = writeln!(out, "unavailable: {e:#}"),
    }

    section(&mut out, &format!("the last {last} sessions"));
    match &records {
        Ok(records) if records.is_empty() => out.push_str("none recorded\n"),
        Ok(records) => {
            for r in records {
                out.push_str(&history::summary_line(r));
                out.push('\n');
            }
            for r in records {
                out.push('\n');
                out.push_str(&history::timeline(r));
            }
        }
        Err(e) => _ = writeln!(out, "unavailable: {e:#}"),
    }

    section(&mut out, "machine-readable (JSON)");
    let machine = serde_json::json!({
        "sessions": records.as_ref().ok(),
        "stats": stats.as_ref().ok(),
    });
    out.push_str(&serde_json::to_string_pretty(&machine).unwrap_or_default());
    out.push('\n');
    out
}

fn section(out: &mut String, title: &str) {
    let _ = write!(out, "\n== {title} ==\n");
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// `PRETTY_NAME` of /etc/os-release.
fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The kernel's Bluetooth controllers and their rfkill switches (readable without BlueZ;
/// whether BlueZ has them powered is in the doctor's checks above).
fn adapters() -> String {
    let mut out = String::new();
    let mut controllers: Vec<String> = std::fs::read_dir("/sys/class/bluetooth")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("hci") && !n.contains(':'))
                .collect()
        })
        .unwrap_or_default();
    controllers.sort();
    if controllers.is_empty() {
        out.push_str("no Bluetooth controller in /sys/class/bluetooth\n");
    } else {
        let _ = writeln!(out, "controllers: {}", controllers.join(", "));
    }
    let mut switches = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/sys/class/rfkill") {
        for entry in entries.flatten() {
            let dir = entry.path();
            let read = |name: &str| {
                std::fs::read_to_string(dir.join(name))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            };
            if read("type") != "bluetooth" {
                continue;
            }
            let blocked = |v: String| if v == "1" { "blocked" } else { "not blocked" };
            switches.push(format!(
                "rfkill {} ({}): soft {}, hard {}",
                entry.file_name().to_string_lossy(),
                read("name"),
                blocked(read("soft")),
                blocked(read("hard")),
            ));
        }
    }
    switches.sort();
    if switches.is_empty() {
        out.push_str("no Bluetooth rfkill switch\n");
    }
    for s in switches {
        out.push_str(&s);
        out.push('\n');
    }
    out
}

/// The settings cabled reads by default (file, then defaults), with the tunnel URL cut to its
/// host.
fn configuration() -> String {
    let config = match DaemonConfig::load(None, &Overrides::default()) {
        Ok(config) => config,
        Err(e) => return format!("cannot be read: {e}\n"),
    };
    let tunnel = match &config.engine.tunnel {
        cabled::engine::TunnelConfig::Real => "the phones' own tunnel servers".to_string(),
        cabled::engine::TunnelConfig::Override(url) => format!("override, host {}", host_of(url)),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "file: {}",
        config
            .source
            .as_ref()
            .map_or("(none: defaults)".into(), |p| p.display().to_string())
    );
    let _ = writeln!(out, "hybrid_enabled: {}", config.hybrid_enabled);
    let _ = writeln!(out, "linking: {}", config.engine.linking);
    let _ = writeln!(out, "radio: {}", config.engine.radio.describe());
    let _ = writeln!(out, "tunnel: {tunnel}");
    let _ = writeln!(out, "timeouts: {:?}", config.engine.timeouts);
    let _ = writeln!(out, "limits: {:?}", config.limits);
    let _ = writeln!(
        out,
        "security_key: enabled {}, socket {}",
        config.security_key.enabled,
        config.security_key.socket.display()
    );
    let h = config.history;
    let _ = writeln!(
        out,
        "history: enabled {}, keep {}, max_bytes {}, folder {}",
        h.enabled,
        h.keep,
        h.max_bytes,
        cabled::history::default_dir().map_or_else(|e| e.to_string(), |d| d.display().to_string())
    );
    out
}

/// `daemon status` as JSON, its tunnel override cut to its host.
fn status_json(status: &Status) -> String {
    let mut status = status.clone();
    status.tunnel_override = status.tunnel_override.as_deref().map(host_of);
    serde_json::to_string_pretty(&status).unwrap_or_default() + "\n"
}
