//! HYBRID.md §5.1: the 16-bit tunnel domain ID in a phone's advert names its tunnel server.
//! IDs below 256 index a fixed list; IDs from 256 up are hashed into a host name, so new servers
//! need no desktop update.

use sha2::{Digest, Sha256};

/// The assigned domains, indexed by ID. QR key 2 tells the phone how many the desktop knows.
const ASSIGNED: [&str; 2] = ["cable.ua5v.com", "cable.auth.com"];

/// How many assigned domains this implementation knows (QR key 2).
pub const ASSIGNED_DOMAINS: u64 = ASSIGNED.len() as u64;

const HASH_PREFIX: &[u8; 28] = b"caBLEv2 tunnel server domain";
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const TLDS: [&str; 4] = [".com", ".org", ".net", ".info"];

/// The host name of tunnel server `id`, or `None` for the reserved IDs 2..=255.
pub fn domain_name(id: u16) -> Option<String> {
    if id < 256 {
        return ASSIGNED.get(usize::from(id)).map(|s| (*s).to_string());
    }
    let digest = Sha256::digest(domain_hash_input(id));
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&digest[..8]);
    let mut v = u64::from_le_bytes(first8);
    let tld = TLDS[(v & 3) as usize];
    v >>= 2;
    let mut name = String::from("cable.");
    while v != 0 {
        name.push(char::from(BASE32[(v & 31) as usize]));
        v >>= 5;
    }
    name.push_str(tld);
    Some(name)
}

/// The 31 bytes hashed for a hashed domain: the ASCII label, `LE16(id)` and a NUL.
pub fn domain_hash_input(id: u16) -> [u8; 31] {
    let mut input = [0u8; 31];
    input[..28].copy_from_slice(HASH_PREFIX);
    input[28..30].copy_from_slice(&id.to_le_bytes());
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_and_reserved() {
        assert_eq!(domain_name(0).as_deref(), Some("cable.ua5v.com"));
        assert_eq!(domain_name(1).as_deref(), Some("cable.auth.com"));
        assert!((2..256).all(|id| domain_name(id).is_none()));
        assert_eq!(ASSIGNED_DOMAINS, 2);
    }

    #[test]
    fn every_hashed_id_gives_a_host() {
        for id in (256..=u16::MAX).step_by(97) {
            let name = domain_name(id).unwrap();
            assert!(name.starts_with("cable."), "{name}");
            assert!(TLDS.iter().any(|t| name.ends_with(t)), "{name}");
        }
    }
}
