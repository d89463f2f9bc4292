//! Cross-crate vector: linking.json's "linked-flow advert", checked through cable-keys (the
//! derivations) and cable-ble (the advert codec, both roles). The other entries of linking.json
//! belong to cable-tunnel's tests.

use cable_ble::{decrypt_advert, encrypt_advert, AdvertError, DomainCheck, EidPlaintext};
use cable_keys::{EidKey, LinkSecret};
use serde_json::Value;

const LINKING: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/linking.json"));

const ENTRY: &str = "linked-flow advert";

fn entry() -> Value {
    let file: Value = serde_json::from_str(LINKING).expect("linking.json is JSON");
    let vectors = file["vectors"].as_array().expect("a vectors array");
    let matching: Vec<&Value> = vectors.iter().filter(|v| v["name"] == ENTRY).collect();
    assert_eq!(matching.len(), 1, "exactly one {ENTRY:?} entry");
    matching[0].clone()
}

fn bytes(entry: &Value, field: &str) -> Vec<u8> {
    let text = entry[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string"));
    hex::decode(text).unwrap_or_else(|e| panic!("{field} is hex: {e}"))
}

fn array<const N: usize>(entry: &Value, field: &str) -> [u8; N] {
    bytes(entry, field)
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{field} is {} bytes, not {N}", b.len()))
}

#[test]
fn linked_flow_advert_matches_the_vector_in_both_roles() {
    let v = entry();
    let link_secret = LinkSecret::new(array::<32>(&v, "link_secret"));
    let client_nonce = array::<16>(&v, "client_nonce");
    let eid_key = EidKey::new(array::<64>(&v, "eid_key"));
    let plaintext = array::<16>(&v, "eid_plaintext");
    let advert = array::<20>(&v, "advert");

    // The note's derivations: EID key from the link secret salted with the client nonce,
    // PSK from the link secret salted with the decrypted EID.
    assert_eq!(
        cable_keys::eid_key(link_secret.expose(), &client_nonce),
        eid_key
    );
    assert_eq!(
        cable_keys::psk(link_secret.expose(), &plaintext).expose(),
        &array::<32>(&v, "psk")
    );

    // Phone role: the advert bytes.
    assert_eq!(encrypt_advert(&eid_key, &plaintext), advert);

    // Desktop role: the linked flow reads it back, bytes exactly as sent.
    let seen = decrypt_advert(&eid_key, &advert, DomainCheck::Linked).expect("the advert opens");
    assert_eq!(seen.plaintext, plaintext);
    assert_eq!(
        seen.eid,
        EidPlaintext::from_bytes_with(&plaintext, DomainCheck::Linked).expect("a valid EID")
    );
    assert_eq!(seen.eid.to_bytes(), plaintext);
    assert_eq!(seen.eid.routing_id, [0x77; 3]);
    assert_eq!(seen.eid.tunnel_domain_id, 0x7777);
    assert!(seen.suffix.is_none() && seen.suffix_error.is_none());

    // Another key (the QR flow's, say) does not open it.
    let other = EidKey::new([0x55; 64]);
    assert_eq!(
        decrypt_advert(&other, &advert, DomainCheck::Linked),
        Err(AdvertError::BadTag)
    );
    // One flipped bit anywhere fails the tag.
    for i in 0..advert.len() {
        let mut damaged = advert;
        damaged[i] ^= 0x01;
        assert_eq!(
            decrypt_advert(&eid_key, &damaged, DomainCheck::Linked),
            Err(AdvertError::BadTag),
            "bit flip in byte {i}"
        );
    }
}

#[test]
fn linked_flow_adverts_with_random_domain_bytes_pass_only_the_linked_check() {
    // The note: only byte 0 is meaningful in this flow; a phone fills the rest randomly, so the
    // domain bytes may land in the assigned-but-unknown range 2..=255 that the QR flow drops.
    let v = entry();
    let eid_key = EidKey::new(array::<64>(&v, "eid_key"));
    let mut plaintext = array::<16>(&v, "eid_plaintext");
    assert_eq!(plaintext[0], 0, "byte 0 is the reserved zero");
    plaintext[14..16].copy_from_slice(&7u16.to_le_bytes());
    let advert = encrypt_advert(&eid_key, &plaintext);
    assert_eq!(
        decrypt_advert(&eid_key, &advert, DomainCheck::Qr),
        Err(AdvertError::UnknownDomain(7))
    );
    let seen = decrypt_advert(&eid_key, &advert, DomainCheck::Linked).expect("linked accepts");
    assert_eq!(seen.plaintext, plaintext);
    assert_eq!(seen.eid.tunnel_domain_id, 7);

    // Byte 0 still matters in both flows.
    plaintext[0] = 1;
    let advert = encrypt_advert(&eid_key, &plaintext);
    assert_eq!(
        decrypt_advert(&eid_key, &advert, DomainCheck::Linked),
        Err(AdvertError::ReservedByte(1))
    );
}
