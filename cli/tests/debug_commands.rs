//! The debugging commands through the real `cablectl` binary: JSON field names and values,
//! checked against the protocol vectors, and one clear stderr line on every failure.
//! (Also makes `cargo test --workspace` build a fresh `cablectl` for the end-to-end tests.)

use serde_json::Value;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cablectl");
const CHROME_URL: &str = "FIDO:/162870791865632382552704231438327900152302540348097243854039966655366469794954476199158014113179232779520163209900691930075274801398564434658077048963842109321447142660";

fn cablectl(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    Command::new(BIN)
        .args(args)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env_remove("RUST_LOG")
        .output()
        .expect("run cablectl")
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object on stdout")
}

/// A failure: non-zero exit, exactly one line on stderr, containing `needle`.
fn fails_with(output: &Output, needle: &str) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line on stderr: {stderr:?}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
}

#[test]
fn qr_new_then_decode_round_trips_every_field() {
    let new = json(&cablectl(&["qr", "new", "--json", "--request-type", "mc"]));
    let url = new["url"].as_str().unwrap();
    assert!(url.starts_with("FIDO:/"));
    assert_eq!(new["qr_secret"].as_str().unwrap().len(), 32);
    let key = new["public_key"].as_str().unwrap();
    assert!(key.len() == 66 && (key.starts_with("02") || key.starts_with("03")));

    let decoded = json(&cablectl(&["qr", "decode", url, "--json"]));
    assert_eq!(decoded["public_key"], new["public_key"]);
    assert_eq!(decoded["qr_secret"], new["qr_secret"]);
    assert_eq!(decoded["known_domains"], 2);
    assert!(decoded["timestamp"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(decoded["supports_linking"], false, "key 4 is always sent");
    assert_eq!(decoded["request_type"], "mc");
}

#[test]
fn qr_decode_reads_chromes_real_qr_code() {
    let d = json(&cablectl(&["qr", "decode", CHROME_URL, "--json"]));
    assert_eq!(
        d["public_key"],
        "03dd39afaf50b1b5b05ac1dad0b2848a00c0f6ec4e65a25687ca4f3c71dae50bea"
    );
    assert_eq!(d["qr_secret"], "871bcec9c1227f91ccb86c9ffacd9eac");
    assert_eq!(d["known_domains"], 2);
    assert_eq!(d["timestamp"], 1666589051);
    assert_eq!(d["supports_linking"], true);
    assert_eq!(d["request_type"], "mc");
    assert_eq!(d["tunnel_id"], "88ea778bef7fef7474bbce36a2efa282");
}

#[test]
fn malformed_qr_codes_fail_with_one_precise_line() {
    fails_with(&cablectl(&["qr", "decode", "HTTP:/123"]), "FIDO:/");
    fails_with(&cablectl(&["qr", "decode", "FIDO:/1234"]), "digit");
    fails_with(&cablectl(&["qr", "decode", "FIDO:/12a"]), "digit");
    // Valid digits, but the bytes are not a CBOR map with the required keys.
    fails_with(&cablectl(&["qr", "decode", "FIDO:/000"]), "QR");
}

#[test]
fn advert_decrypt_by_secret_and_by_qr() {
    let d = json(&cablectl(&[
        "advert",
        "decrypt",
        "--secret",
        "01fea6f7c4807493dc256f9eacf756c9",
        "027d84ed6076b55e247c830f82955e4d126e7f43",
        "--json",
    ]));
    assert_eq!(d["nonce"], "8bb5c5c9a44d913a5eb2");
    assert_eq!(d["routing_id"], "026555");
    assert_eq!(d["tunnel_domain_id"], 0);
    assert_eq!(d["tunnel_domain"], "cable.ua5v.com");

    // The same QR secret carried in a URL.
    let new = json(&cablectl(&["qr", "new", "--json"]));
    let other = cablectl(&[
        "advert",
        "decrypt",
        "--qr",
        new["url"].as_str().unwrap(),
        "027d84ed6076b55e247c830f82955e4d126e7f43",
    ]);
    fails_with(&other, "does not belong to this QR code");
    fails_with(
        &cablectl(&["advert", "decrypt", "--secret", "00", "027d84ed"]),
        "16",
    );
}

#[test]
fn tunnel_domains_by_id() {
    let out = cablectl(&["tunnel", "domain", "266"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "cable.wufkweyy3uaxb.com"
    );
    let out = cablectl(&["tunnel", "domain", "0xF980"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "cable.my4kstlhndi4c.net"
    );
    fails_with(&cablectl(&["tunnel", "domain", "7"]), "assigned range");
    fails_with(&cablectl(&["tunnel", "domain", "70000"]), "0 to 65535");
}

#[test]
fn qr_show_writes_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("qr.svg");
    let png = dir.path().join("qr.png");
    assert!(
        cablectl(&["qr", "show", CHROME_URL, "--svg", svg.to_str().unwrap()])
            .status
            .success()
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    assert!(
        cablectl(&["qr", "show", CHROME_URL, "--png", png.to_str().unwrap()])
            .status
            .success()
    );
    assert!(std::fs::read(&png)
        .unwrap()
        .starts_with(b"\x89PNG\r\n\x1a\n"));
    let drawn = cablectl(&["qr", "show", CHROME_URL]);
    assert!(String::from_utf8_lossy(&drawn.stdout).contains('▀'));
    fails_with(&cablectl(&["qr", "show", "FIDO:/1"]), "invalid QR");
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let bash = cablectl(&["completions", "bash"]);
    assert!(String::from_utf8_lossy(&bash.stdout).contains("sign-in"));
    let man = cablectl(&["man"]);
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH cablectl"));
}

#[test]
fn no_bluetooth_is_one_clear_line() {
    // No BlueZ on the system bus (pointed at a socket that does not exist, so this holds on
    // any machine): the session fails at once, naming the cause and the code.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        // The failed session is recorded: in the test's home, not the person's.
        .env("XDG_STATE_HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .args([
            "sign-in",
            "--rp-id",
            "example.com",
            "--origin",
            "https://example.com",
            "--no-daemon",
            "--timeout",
            "5",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("BlueZ") || last.contains("Bluetooth"),
        "names Bluetooth: {stderr}"
    );
    assert!(last.ends_with(']'), "ends with the machine code: {last}");
    // The history tells the same: one failed cli sign-in, with the radio's code.
    let out = Command::new(BIN)
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = &records[0];
    assert_eq!(records.as_array().map(Vec::len), Some(1), "{records}");
    assert_eq!(record["front_door"], "cli");
    assert_eq!(record["operation"], "get");
    assert_eq!(record["rp_id"], "example.com");
    assert_eq!(record["outcome"], "failed");
    let code = record["error"].as_str().unwrap_or_default();
    assert!(last.contains(&format!("[{code}]")), "{code} vs {last}");
}
