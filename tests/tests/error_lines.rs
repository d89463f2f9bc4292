//! What `cablectl` prints when input is bad, as a person reads it: each cause once on the one
//! error line (anyhow's `{:#}` walks the source chain), and an advert's ignored suffix with
//! the reason it was ignored.
//!
//! Needs a current binary: `cargo build -p cablectl` first.

use cable_e2e::cabled_process::{cablectl, Home};
use serde_json::Value;

/// Chromium's advert for the QR secret below (eid.json), with a CTAP 2.3 suffix appended.
const SECRET: &str = "01fea6f7c4807493dc256f9eacf756c9";
const ADVERT: &str = "027d84ed6076b55e247c830f82955e4d126e7f43";

#[tokio::test]
async fn a_damaged_qr_code_names_the_bad_character_once() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = cablectl(&Home::new(dir.path()), &["qr", "decode", "FIDO:/12a"]).await;
    assert!(!out.status.success());
    assert_eq!(
        out.stderr.trim(),
        "cablectl: cannot decode the QR code: this FIDO QR code is damaged: character 2 is \
         'a', but only the ASCII digits 0-9 may follow FIDO:/"
    );
}

#[tokio::test]
async fn a_malformed_advert_suffix_is_shown_with_its_reason() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = Home::new(dir.path());
    // 0xff alone is a CBOR "break" with nothing to end.
    let advert = format!("{ADVERT}ff");
    let out = cablectl(
        &home,
        &["advert", "decrypt", "--secret", SECRET, &advert, "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    let fields: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    assert_eq!(
        fields["routing_id"], "026555",
        "the advert itself is usable"
    );
    assert_eq!(fields["suffix"], Value::Null);
    let reason = fields["suffix_error"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("CTAP 2.3 advert suffix is malformed: not valid CBOR"),
        "{fields}"
    );

    // A well-formed suffix, {1: 0x1234}, reads as a person would say it.
    let advert = format!("{ADVERT}a101191234");
    let out = cablectl(
        &home,
        &["advert", "decrypt", "--secret", SECRET, &advert, "--json"],
    )
    .await;
    let fields: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    assert_eq!(fields["suffix"], "BLE data channel (PSM 4660)");
    assert_eq!(fields["suffix_error"], Value::Null);
}
