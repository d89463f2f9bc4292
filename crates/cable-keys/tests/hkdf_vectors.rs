//! tests/vectors/hkdf.json: every Derive() vector, each at its own length.

use cable_keys::{derive, Purpose};
use serde_json::Value;

const VECTORS: &str = include_str!("../../../tests/vectors/hkdf.json");

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

#[test]
fn every_hkdf_vector_matches() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 11, "hkdf.json lost entries");
    let mut checked = 0;
    for (i, v) in vectors.iter().enumerate() {
        if v["purpose"].as_str() == Some("info bytes") {
            check_info_bytes(v["note"].as_str().unwrap());
            checked += 1;
            continue;
        }
        let purpose = Purpose::from_u32(v["purpose"].as_u64().unwrap() as u32).unwrap();
        let len = v["length"].as_u64().unwrap() as usize;
        let mut out = vec![0u8; len];
        derive(&hex(&v["secret"]), &hex(&v["salt"]), purpose, &mut out);
        assert_eq!(
            hex::encode(&out),
            v["output"].as_str().unwrap(),
            "vector {i}"
        );
        checked += 1;
    }
    assert_eq!(checked, vectors.len());
}

/// The note lists the info encodings of purposes 1..6 in order.
fn check_info_bytes(note: &str) {
    let listed: Vec<&str> = note
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 8)
        .collect();
    let ours: Vec<String> = (1..=6)
        .map(|n| hex::encode(Purpose::from_u32(n).unwrap().info()))
        .collect();
    assert_eq!(listed, ours);
}

#[test]
fn empty_salt_equals_32_zero_bytes() {
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    derive(b"secret", &[], Purpose::EidKey, &mut a);
    derive(b"secret", &[0u8; 32], Purpose::EidKey, &mut b);
    assert_eq!(a, b);
}

proptest::proptest! {
    #[test]
    fn shorter_output_is_a_prefix(secret in proptest::collection::vec(0u8.., 0..64), n in 1usize..64) {
        let mut long = [0u8; 64];
        let mut short = vec![0u8; n];
        derive(&secret, &[], Purpose::Psk, &mut long);
        derive(&secret, &[], Purpose::Psk, &mut short);
        proptest::prop_assert_eq!(&long[..n], &short[..]);
    }

    #[test]
    fn compressed_and_uncompressed_round_trip(seed in proptest::array::uniform32(1u8..)) {
        if let Ok(key) = cable_keys::IdentityKey::from_bytes(&seed) {
            let public = key.public_key();
            let a = cable_keys::PublicKey::from_sec1(&public.compressed()).unwrap();
            let b = cable_keys::PublicKey::from_sec1(&public.uncompressed()).unwrap();
            proptest::prop_assert_eq!(a, b);
        }
    }
}

#[test]
fn ecdh_agrees_and_secrets_do_not_print() {
    let mut rng = rand_core::OsRng;
    let a = cable_keys::IdentityKey::generate(&mut rng);
    let b = cable_keys::IdentityKey::generate(&mut rng);
    assert_eq!(a.ecdh(&b.public_key()), b.ecdh(&a.public_key()));
    let shown = format!("{:?} {:?}", a.ecdh(&b.public_key()), a);
    assert!(shown.contains("[redacted]"));
    assert!(!shown.contains(&hex::encode(a.to_bytes().expose())));
}

#[test]
fn bad_public_keys_are_named() {
    use cable_keys::{KeyError, PublicKey};
    assert_eq!(
        PublicKey::from_sec1(&[2; 32]),
        Err(KeyError::PublicKeyLength(32))
    );
    let mut off_curve = [0u8; 65];
    off_curve[0] = 4;
    off_curve[64] = 1;
    assert_eq!(PublicKey::from_sec1(&off_curve), Err(KeyError::NotOnCurve));
    // A valid point in a prefix that is not compressed/uncompressed X9.62.
    let mut rng = rand_core::OsRng;
    let mut compact = cable_keys::IdentityKey::generate(&mut rng)
        .public_key()
        .compressed();
    compact[0] = 5;
    assert_eq!(PublicKey::from_sec1(&compact), Err(KeyError::NotOnCurve));
}
