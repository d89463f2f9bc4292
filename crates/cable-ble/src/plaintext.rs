//! HYBRID.md §4.3: the 16-byte EID plaintext inside an advert.
//!
//! ```text
//! 00 || nonce(10) || routing_id(3) || LE16(tunnel_domain_id)
//! ```

use crate::AdvertError;

/// Assigned tunnel domains the protocol knows: 0 (Google) and 1 (Apple). IDs 2..=255 are
/// assigned-but-unknown; 256 and above are hashed names (HYBRID.md §5.1).
const KNOWN_ASSIGNED_DOMAINS: u16 = 2;
const FIRST_HASHED_DOMAIN: u16 = 256;

/// Which validation a decrypted plaintext gets beyond the reserved byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainCheck {
    /// QR flow: reject domain IDs 2..=255 (assigned range, unknown), as Chromium does.
    Qr,
    /// Linked flow: the domain bytes are not checked. Chrome-Android's phone fills them randomly
    /// there, so Chromium's check would wrongly drop ~0.4 % of linked adverts (HYBRID.md §4.4).
    Linked,
}

/// The decoded fields of an EID plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EidPlaintext {
    /// Random per session.
    pub nonce: [u8; 10],
    /// From the tunnel server's `X-caBLE-Routing-ID`; names the phone's tunnel.
    pub routing_id: [u8; 3],
    /// Which tunnel server the phone is connected to.
    pub tunnel_domain_id: u16,
}

impl EidPlaintext {
    /// The 16 plaintext bytes: reserved 0, nonce, routing ID, domain ID little-endian.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[1..11].copy_from_slice(&self.nonce);
        out[11..14].copy_from_slice(&self.routing_id);
        out[14..16].copy_from_slice(&self.tunnel_domain_id.to_le_bytes());
        out
    }

    /// Parses a plaintext with the QR flow's rules (reserved byte 0, domain not 2..=255).
    pub fn from_bytes(bytes: &[u8; 16]) -> Result<Self, AdvertError> {
        Self::from_bytes_with(bytes, DomainCheck::Qr)
    }

    /// Parses a plaintext: the reserved byte must be 0; the domain is checked per `check`.
    pub fn from_bytes_with(bytes: &[u8; 16], check: DomainCheck) -> Result<Self, AdvertError> {
        let [reserved, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, r0, r1, r2, d0, d1] = *bytes;
        if reserved != 0 {
            return Err(AdvertError::ReservedByte(reserved));
        }
        let eid = Self {
            nonce: [n0, n1, n2, n3, n4, n5, n6, n7, n8, n9],
            routing_id: [r0, r1, r2],
            tunnel_domain_id: u16::from_le_bytes([d0, d1]),
        };
        if check == DomainCheck::Qr && !is_valid_domain(eid.tunnel_domain_id) {
            return Err(AdvertError::UnknownDomain(eid.tunnel_domain_id));
        }
        Ok(eid)
    }
}

/// True for domain IDs a desktop can connect to: 0, 1 and every hashed ID (≥ 256).
pub fn is_valid_domain(id: u16) -> bool {
    !(KNOWN_ASSIGNED_DOMAINS..FIRST_HASHED_DOMAIN).contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domain_ranges() {
        for id in [0, 1, 256, 511, 0xF980, u16::MAX] {
            assert!(is_valid_domain(id), "{id}");
        }
        for id in [2, 3, 128, 255] {
            assert!(!is_valid_domain(id), "{id}");
        }
    }

    #[test]
    fn linked_check_accepts_any_domain_but_not_a_reserved_byte() {
        let mut bytes = [0u8; 16];
        bytes[14] = 7;
        assert_eq!(
            EidPlaintext::from_bytes(&bytes),
            Err(AdvertError::UnknownDomain(7))
        );
        let eid = EidPlaintext::from_bytes_with(&bytes, DomainCheck::Linked).unwrap();
        assert_eq!(eid.tunnel_domain_id, 7);
        bytes[0] = 0x80;
        assert_eq!(
            EidPlaintext::from_bytes_with(&bytes, DomainCheck::Linked),
            Err(AdvertError::ReservedByte(0x80))
        );
    }

    proptest! {
        #[test]
        fn round_trips(nonce: [u8; 10], routing_id: [u8; 3], tunnel_domain_id: u16) {
            let eid = EidPlaintext { nonce, routing_id, tunnel_domain_id };
            let bytes = eid.to_bytes();
            prop_assert_eq!(bytes[0], 0);
            prop_assert_eq!(EidPlaintext::from_bytes_with(&bytes, DomainCheck::Linked), Ok(eid));
            let qr = EidPlaintext::from_bytes(&bytes);
            if is_valid_domain(tunnel_domain_id) {
                prop_assert_eq!(qr, Ok(eid));
            } else {
                prop_assert_eq!(qr, Err(AdvertError::UnknownDomain(tunnel_domain_id)));
            }
        }

        #[test]
        fn parsing_any_bytes_never_panics(bytes: [u8; 16]) {
            let _ = EidPlaintext::from_bytes(&bytes);
            let _ = EidPlaintext::from_bytes_with(&bytes, DomainCheck::Linked);
        }
    }
}
