//! Every entry of tests/vectors/eid.json, checked against both roles of the codec.

use cable_ble::{
    ad_structures, decrypt_advert, encrypt_advert, is_valid_domain, AdvertError, AdvertSuffix,
    DomainCheck, EidPlaintext, AD_TYPE_COMPLETE_UUID16_LIST, AD_TYPE_SERVICE_DATA_UUID16,
    CHANNEL_BLE, UUID_FIDO,
};
use cable_keys::{cbor::Value, EidKey};
use serde_json::Value as Json;

const EID_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/eid.json"
));

fn file() -> Json {
    serde_json::from_str(EID_JSON).unwrap()
}

fn hex_field(entry: &Json, name: &str) -> Option<Vec<u8>> {
    entry
        .get(name)
        .and_then(Json::as_str)
        .map(|s| hex::decode(s).unwrap())
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap()
}

fn entries(section: &str) -> Vec<Json> {
    file()[section].as_array().unwrap().clone()
}

/// Checks `components` ({reserved?, nonce, routing_id, domain_id}) against a parsed plaintext.
fn assert_components(entry: &Json, raw: &[u8; 16], eid: &EidPlaintext) {
    let c = &entry["components"];
    if let Some(reserved) = c.get("reserved") {
        assert_eq!(u64::from(raw[0]), reserved.as_u64().unwrap());
    }
    assert_eq!(eid.nonce.to_vec(), hex_field(c, "nonce").unwrap());
    assert_eq!(eid.routing_id.to_vec(), hex_field(c, "routing_id").unwrap());
    assert_eq!(
        u64::from(eid.tunnel_domain_id),
        c["domain_id"].as_u64().unwrap()
    );
    assert_eq!(
        &eid.to_bytes(),
        raw,
        "components re-encode to the plaintext"
    );
}

/// The error a rejected vector must produce, read from what the entry says about it.
fn expected_rejection(service_data: &[u8], plaintext: Option<&[u8; 16]>) -> AdvertError {
    if service_data.len() < 20 {
        return AdvertError::TooShort(service_data.len());
    }
    match plaintext {
        Some(p) if p[0] != 0 => AdvertError::ReservedByte(p[0]),
        Some(p) => AdvertError::UnknownDomain(u16::from_le_bytes([p[14], p[15]])),
        None => AdvertError::BadTag,
    }
}

#[test]
fn advert_vectors() {
    let vectors = entries("vectors");
    let mut checked = 0;
    for entry in &vectors {
        let name = entry["name"].as_str().unwrap();
        let key = EidKey::new(array(&hex_field(entry, "eid_key").unwrap()));
        if let Some(qr_secret) = hex_field(entry, "qr_secret") {
            assert_eq!(cable_keys::eid_key(&qr_secret, &[]), key, "{name}: eid_key");
        }
        let service_data = hex_field(entry, "service_data")
            .or_else(|| hex_field(entry, "advert"))
            .unwrap();
        let plaintext = hex_field(entry, "plaintext").map(|p| array::<16>(&p));

        // Phone role: the plaintext encrypts to exactly the advert (also for "valid tag but
        // invalid plaintext" rejects, whose tag must be right for the check to mean anything).
        if let (Some(p), Some(advert)) = (&plaintext, hex_field(entry, "advert")) {
            assert_eq!(encrypt_advert(&key, p).to_vec(), advert, "{name}: encrypt");
        }

        let result = decrypt_advert(&key, &service_data, DomainCheck::Qr);
        if entry.get("result").and_then(Json::as_str) == Some("reject") {
            let want = expected_rejection(&service_data, plaintext.as_ref());
            assert_eq!(result, Err(want.clone()), "{name}");
            if matches!(want, AdvertError::UnknownDomain(_)) {
                // The domain check is QR-only: the linked flow accepts the same advert.
                let linked = decrypt_advert(&key, &service_data, DomainCheck::Linked).unwrap();
                assert_eq!(Some(linked.plaintext), plaintext, "{name}: linked");
            }
            checked += 1;
            continue;
        }

        let decrypted = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(Some(decrypted.plaintext), plaintext, "{name}: plaintext");
        if entry.get("components").is_some() {
            assert_components(entry, &decrypted.plaintext, &decrypted.eid);
        }
        if let (Some(psk), Some(qr_secret)) =
            (hex_field(entry, "psk"), hex_field(entry, "qr_secret"))
        {
            assert_eq!(
                cable_keys::psk(&qr_secret, &decrypted.plaintext)
                    .expose()
                    .to_vec(),
                psk,
                "{name}: psk"
            );
        }
        if let Some(note) = entry.get("note").and_then(Json::as_str) {
            assert_eq!(note, "plaintext domain_id 0 is valid");
            assert_eq!(decrypted.eid.tunnel_domain_id, 0);
            assert!(is_valid_domain(0));
        }
        if service_data.len() > 20 {
            // First 20 bytes used; the suffix a101191234 = {1: 0x1234} is decoded on the side.
            let bare = decrypt_advert(&key, &service_data[..20], DomainCheck::Qr).unwrap();
            assert_eq!(
                bare.plaintext, decrypted.plaintext,
                "{name}: suffix ignored"
            );
            assert_eq!(bare.eid, decrypted.eid);
            assert_eq!(bare.suffix, None);
            let suffix = decrypted.suffix.as_ref().expect("suffix decoded");
            assert_eq!(suffix.ble_psm(), Some(0x1234));
            assert_eq!(decrypted.suffix_error, None);
        } else {
            assert_eq!(decrypted.suffix, None);
        }
        checked += 1;
    }
    assert_eq!(checked, vectors.len());
    assert_eq!(checked, 10);
}

#[test]
fn plaintext_parsing_vectors() {
    let cases = entries("plaintext_parsing");
    let mut checked = 0;
    for entry in &cases {
        let raw = array::<16>(&hex_field(entry, "plaintext").unwrap());
        let parsed = EidPlaintext::from_bytes(&raw);
        if entry["valid"].as_bool().unwrap() {
            assert_components(entry, &raw, &parsed.unwrap());
        } else {
            let reason = entry["reason"].as_str().unwrap();
            let want = if reason.contains("reserved byte") {
                AdvertError::ReservedByte(raw[0])
            } else {
                assert!(reason.contains("assigned range"), "{reason}");
                AdvertError::UnknownDomain(u16::from_le_bytes([raw[14], raw[15]]))
            };
            assert_eq!(parsed, Err(want));
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    assert_eq!(checked, 3);
}

/// A valid advert of the libwebauthn vector key, to carry the suffix vectors end to end.
fn carrier() -> (EidKey, [u8; 20], [u8; 16]) {
    let key_bytes: Vec<u8> = (0u8..64).collect();
    let key = EidKey::new(array(&key_bytes));
    let plaintext = [0u8; 16];
    (key.clone(), encrypt_advert(&key, &plaintext), plaintext)
}

#[test]
fn advert_suffix_vectors() {
    let cases = entries("advert_suffix");
    let (key, advert, plaintext) = carrier();
    let mut checked = 0;
    for entry in &cases {
        let suffix_bytes = hex_field(entry, "suffix").unwrap();
        let suffix = AdvertSuffix::parse(&suffix_bytes).unwrap();

        if let Some(service_data) = hex_field(entry, "service_data") {
            // The Play services capture: 20-byte advert then the suffix.
            assert_eq!(
                service_data[..20].to_vec(),
                hex_field(entry, "advert_20").unwrap()
            );
            assert_eq!(service_data[20..].to_vec(), suffix_bytes);
            let decoded = entry["suffix_decoded"].as_object().unwrap();
            let want: Vec<(u64, Value)> = decoded
                .iter()
                .map(|(k, v)| {
                    (
                        k.parse().unwrap(),
                        Value::Integer(v.as_u64().unwrap().into()),
                    )
                })
                .collect();
            assert_eq!(suffix.channels, want);
            assert_eq!(
                entry["meaning"].as_str().unwrap(),
                "transport channel 1 (BLE L2CAP) with PSM 130"
            );
            assert_eq!(suffix.ble_psm(), Some(130));
            assert!(suffix.channel(CHANNEL_BLE).is_some());
        } else {
            let want = entry["ble_psm"].as_u64().map(|p| u16::try_from(p).unwrap());
            assert_eq!(suffix.ble_psm(), want, "{}", entry["note"]);
        }

        // End to end: the same suffix after a valid advert decodes the same way, and never
        // disturbs the advert.
        let mut service_data = advert.to_vec();
        service_data.extend_from_slice(&suffix_bytes);
        let decrypted = decrypt_advert(&key, &service_data, DomainCheck::Qr).unwrap();
        assert_eq!(decrypted.plaintext, plaintext);
        assert_eq!(decrypted.suffix.as_ref(), Some(&suffix));
        assert_eq!(decrypted.suffix_error, None);
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    assert_eq!(checked, 6);
}

#[test]
fn ad_structure_example() {
    let file = file();
    let example = &file["ad_structure_example"];
    let advert = array::<20>(&hex_field(example, "advert").unwrap());
    let ad = ad_structures(&advert);
    assert_eq!(ad, hex_field(example, "with_uuid_list").unwrap());
    let service_data_ad = hex_field(example, "service_data_ad").unwrap();
    assert!(ad.ends_with(&service_data_ad));
    // The note: type 0x16 with UUID 0xFFF9 little-endian, preceded by a 0x03 UUID list.
    let uuid = UUID_FIDO.to_le_bytes();
    assert_eq!(service_data_ad[1], AD_TYPE_SERVICE_DATA_UUID16);
    assert_eq!(service_data_ad[2..4], uuid);
    assert_eq!(ad[..4], [3, AD_TYPE_COMPLETE_UUID16_LIST, uuid[0], uuid[1]]);
    assert_eq!(ad.len(), 28, "fits a legacy advert with a flags AD");
    // The advert in the example is vector 2's (all-zero QR secret).
    assert_eq!(hex_field(&file["vectors"][1], "advert").unwrap(), advert);
}

#[test]
fn every_entry_is_checked() {
    let file = file();
    let counted = ["vectors", "plaintext_parsing", "advert_suffix"]
        .iter()
        .map(|s| file[s].as_array().unwrap().len())
        .sum::<usize>()
        + usize::from(file["ad_structure_example"].is_object());
    // HYBRID.md §14: eid.json has 20 entries with a source; the tests above check 10 + 3 + 6 + 1.
    assert_eq!(counted, 20);
    let sources = EID_JSON.matches("\"source\"").count();
    assert_eq!(sources, 20);
}

#[test]
fn bad_suffix_keeps_the_advert_usable() {
    let (key, advert, plaintext) = carrier();
    let mut service_data = advert.to_vec();
    service_data.extend_from_slice(&[0xff, 0x13]);
    let decrypted = decrypt_advert(&key, &service_data, DomainCheck::Qr).unwrap();
    assert_eq!(decrypted.plaintext, plaintext);
    assert_eq!(decrypted.suffix, None);
    assert!(matches!(
        decrypted.suffix_error,
        Some(AdvertError::BadSuffix(_))
    ));
}
