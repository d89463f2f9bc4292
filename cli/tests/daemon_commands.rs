//! `cablectl doctor`, `daemon status` and `devices` against what is really there: a cabled
//! serving in this process (the real IPC server and client types), and a damaged store.

use cabled::engine::RadioConfig;
use cabled::ipc::api::{HybridStart, HybridStartParams, RequestTypeName};
use cabled::ipc::client::Client;
use cabled::ipc::config::DaemonConfig;
use cabled::ipc::{serve, socket, Daemon};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cablectl");

fn cablectl(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .output()
        .unwrap()
}

/// The doctor bug: it read `sessions` as a number and always printed 0.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_and_daemon_status_show_the_daemons_open_sessions() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("run/cable/cabled.sock");
    let bound = socket::bind(&path, false).expect("a socket");
    let listener = tokio::net::UnixListener::from_std(bound.listener).unwrap();
    let mut config = DaemonConfig::default();
    let radio = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    config.engine.radio = RadioConfig::Virtual(radio.local_addr().unwrap());
    drop(radio);
    let daemon = Daemon::new(config);
    tokio::spawn(serve(daemon.clone(), listener));

    // One session open, held by this test's connection.
    let client = Client::connect(&path).await.unwrap();
    client
        .call::<HybridStart>(HybridStartParams {
            request_type: RequestTypeName::MakeCredential,
            device: None,
            qr_only: None,
        })
        .await
        .unwrap();

    let home_path = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        cablectl(&home_path, &["doctor", "--offline", "--json"])
    })
    .await
    .unwrap();
    let checks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON per check"))
        .collect();
    let check = |name: &str| checks.iter().find(|c| c["check"] == name).cloned();
    let daemon_check = check("cabled daemon").expect("the daemon check");
    assert_eq!(daemon_check["ok"], true, "{daemon_check}");
    let detail = daemon_check["detail"].as_str().unwrap();
    assert!(detail.contains("1 open session(s)"), "{detail}");
    // This daemon has no link book: linking is off for it.
    assert_eq!(check("cabled's linked phones").unwrap()["ok"], Value::Null);

    let home_path = home.path().to_path_buf();
    let out =
        tokio::task::spawn_blocking(move || cablectl(&home_path, &["daemon", "status", "--json"]))
            .await
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["sessions"]["open"], 1, "{status}");
    daemon.shutdown.cancel();
}

#[test]
fn devices_on_a_damaged_store_fail_with_the_stores_words() {
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("data/cable");
    std::fs::create_dir_all(&folder).unwrap();
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(folder.join("links.db"), &bytes).unwrap();
    for args in [
        &["devices", "list"][..],
        &["devices", "list", "--json"],
        &["devices", "forget", "abcd"],
        &["devices", "rename", "abcd", "x"],
    ] {
        let out = cablectl(home.path(), args);
        assert!(!out.status.success(), "{args:?} must fail");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("no linked phones"), "{args:?}: {stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("move it aside"), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read(folder.join("links.db")).unwrap(),
        bytes,
        "left as it was"
    );
}
