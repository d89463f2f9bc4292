//! `cablectl scan` on the virtual radio and `cablectl doctor` on a machine without BlueZ,
//! through the real binary.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cablectl");
/// eid.json "real-world style advert": QR secret, advert, routing ID.
const SECRET: &str = "01fea6f7c4807493dc256f9eacf756c9";
const ADVERT: &str = "027d84ed6076b55e247c830f82955e4d126e7f43";

fn free_udp() -> std::net::SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

#[test]
fn scan_shows_and_decrypts_adverts_from_the_virtual_radio() {
    let radio = free_udp();
    let mut child = Command::new(BIN)
        .args([
            "scan",
            "--radio",
            &format!("udp:{radio}"),
            "--secret",
            SECRET,
            "--json",
            "--duration",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        let mut found = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let event: Value = serde_json::from_str(&line).expect("JSON per advert");
            found.push(event);
            if found.len() == 2 {
                break;
            }
        }
        found
    });
    // A phone advertises repeatedly; a foreign UUID and the right advert under the Google UUID.
    // The deadline only stops a hang: the loop ends as soon as both adverts are shown, and a
    // debug binary starting on a loaded machine can take seconds to listen.
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let advert = hex::decode(ADVERT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lines.is_finished() && Instant::now() < deadline {
        let mut foreign = vec![0x18, 0x0f];
        foreign.extend_from_slice(&advert);
        let _ = sender.send_to(&foreign, radio);
        let mut ours = vec![0xfd, 0xe2];
        ours.extend_from_slice(&advert);
        let _ = sender.send_to(&ours, radio);
        let mut other = vec![0xff, 0xf9];
        other.extend_from_slice(&[0u8; 20]);
        let _ = sender.send_to(&other, radio);
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let found = lines.join().unwrap();
    assert_eq!(
        found.len(),
        2,
        "two hybrid adverts shown (the foreign UUID is not): {found:?}"
    );
    let ours = found
        .iter()
        .find(|e| e["uuid"] == "FDE2")
        .expect("the FDE2 advert");
    assert_eq!(ours["matches"], true);
    assert_eq!(ours["routing_id"], "026555");
    assert_eq!(ours["tunnel_domain_id"], 0);
    let other = found
        .iter()
        .find(|e| e["uuid"] == "FFF9")
        .expect("the FFF9 advert");
    assert_eq!(other["matches"], false);
    assert!(
        other["verdict"].as_str().unwrap().contains("tag"),
        "{other}"
    );
}

#[test]
fn doctor_names_each_failure_and_its_fix() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["doctor", "--offline", "--json"])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .output()
        .unwrap();
    assert!(!out.status.success(), "a failed check fails the command");
    let checks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON per check"))
        .collect();
    let by_name = |name: &str| checks.iter().find(|c| c["check"] == name).cloned().unwrap();
    let bluez = by_name("BlueZ reachable");
    assert_eq!(bluez["ok"], false);
    assert!(bluez["fix"].as_str().unwrap().contains("bluetooth"));
    assert_eq!(
        by_name("Bluetooth adapter present")["ok"],
        Value::Null,
        "skipped after BlueZ"
    );
    assert_eq!(by_name("linked-phone store")["ok"], true);
    let daemon = by_name("cabled daemon");
    assert_eq!(daemon["ok"], false);
    assert!(daemon["detail"].as_str().unwrap().contains("not running"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1);
}
