//! The phone's BLE advert contents (HYBRID.md §4.3–§4.5, §9.6).

use cable_ble::{encrypt_advert, EidPlaintext, ADVERT_LEN};
use cable_keys::EidKey;
use rand_core::CryptoRngCore;

/// QR flow: `00 || nonce(10) || routing_id || LE16(domain)`, a fresh nonce per session.
pub fn qr_eid(
    routing_id: [u8; 3],
    tunnel_domain_id: u16,
    rng: &mut (impl CryptoRngCore + ?Sized),
) -> EidPlaintext {
    let mut nonce = [0u8; 10];
    rng.fill_bytes(&mut nonce);
    EidPlaintext {
        nonce,
        routing_id,
        tunnel_domain_id,
    }
}

/// Linked flow: the desktop already knows the tunnel, so nonce and routing bytes are random,
/// as Chrome-Android makes them. The domain is a valid one (0) rather than random bytes, so
/// Chromium desktops, which check it even here, never drop the advert (§4.4).
pub fn linked_eid(rng: &mut (impl CryptoRngCore + ?Sized)) -> EidPlaintext {
    let mut routing_id = [0u8; 3];
    rng.fill_bytes(&mut routing_id);
    qr_eid(routing_id, 0, rng)
}

/// The 20 bytes of service data to advertise: the EID encrypted and tagged with `eid_key`.
pub fn service_data(eid_key: &EidKey, eid: &EidPlaintext) -> [u8; ADVERT_LEN] {
    encrypt_advert(eid_key, &eid.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cable_ble::{decrypt_advert, DomainCheck};
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn qr_advert_decrypts_to_what_the_phone_put_in() {
        let mut rng = StdRng::seed_from_u64(1);
        let key = EidKey::random(&mut rng);
        let eid = qr_eid([1, 2, 3], 1, &mut rng);
        let bytes = eid.to_bytes();
        assert_eq!(bytes[0], 0);
        assert_eq!(&bytes[11..14], &[1, 2, 3]);
        assert_eq!(&bytes[14..16], &[1, 0]);
        let seen = decrypt_advert(&key, &service_data(&key, &eid), DomainCheck::Qr).unwrap();
        assert_eq!(seen.eid, eid);
        assert_eq!(seen.plaintext, bytes);
        // Nonces differ per session.
        assert_ne!(qr_eid([1, 2, 3], 1, &mut rng).nonce, eid.nonce);
    }

    #[test]
    fn linked_advert_passes_chromiums_domain_check() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..64 {
            let eid = linked_eid(&mut rng);
            assert_eq!(eid.tunnel_domain_id, 0);
            assert!(EidPlaintext::from_bytes(&eid.to_bytes()).is_ok());
        }
    }
}
