//! Everything the software phone remembers between runs: its passkeys and, once it has linked
//! with a desktop, its linking identity and the links it gave out (HYBRID.md §3.4, §9).
//!
//! [`crate::store_file`] keeps a [`PhoneState`] in one JSON file.

use cable_ctap::CredentialStore;
use cable_keys::LinkSecret;
use rand_core::CryptoRngCore;

use crate::linking::LinkIdentity;

/// The phone's persistent state.
#[derive(Debug, Clone, Default)]
pub struct PhoneState {
    pub passkeys: CredentialStore,
    /// `None` until the phone first offers linking or waits to be woken.
    pub linking: Option<LinkState>,
}

/// The phone's linking identity and the links it has given out.
#[derive(Debug, Clone)]
pub struct LinkState {
    pub identity: LinkIdentity,
    /// Oldest first; link IDs are unique.
    pub links: Vec<LinkRecord>,
}

/// One link given to a desktop in a QR session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkRecord {
    /// Linking key 2; a desktop names it in its client payload to wake the phone.
    pub link_id: [u8; 8],
    /// When the link was given out, seconds since the Unix epoch.
    pub created: u64,
    /// When a desktop last woke the phone for this link, seconds since the Unix epoch.
    pub last_used: Option<u64>,
}

impl PhoneState {
    /// The linking identity, created with a random contact ID if the phone has none yet.
    /// Returns true in the second element if it was created (the state must be saved before
    /// the identity is given to anyone).
    pub fn ensure_linking(
        &mut self,
        rng: &mut impl CryptoRngCore,
        name: &str,
    ) -> (&mut LinkState, bool) {
        let created = self.linking.is_none();
        let linking = self.linking.get_or_insert_with(|| LinkState {
            identity: LinkIdentity::generate_random(rng, name),
            links: Vec::new(),
        });
        (linking, created)
    }
}

impl LinkState {
    /// The record of `link_id`, if this phone gave that link out.
    pub fn find(&self, link_id: &[u8; 8]) -> Option<&LinkRecord> {
        self.links.iter().find(|l| &l.link_id == link_id)
    }

    /// The secret of a link this phone gave out; `None` for a link ID it never issued.
    pub fn link_secret(&self, link_id: &[u8; 8]) -> Option<LinkSecret> {
        self.find(link_id)
            .map(|_| self.identity.link_secret(link_id))
    }

    /// Records a link given out at `now` (a link ID already recorded keeps its record).
    pub fn record(&mut self, link_id: [u8; 8], now: u64) {
        if self.find(&link_id).is_none() {
            self.links.push(LinkRecord {
                link_id,
                created: now,
                last_used: None,
            });
        }
    }

    /// Notes that a desktop woke the phone for `link_id` at `now`; false for an unknown link.
    pub fn mark_used(&mut self, link_id: &[u8; 8], now: u64) -> bool {
        match self.links.iter_mut().find(|l| &l.link_id == link_id) {
            Some(link) => {
                link.last_used = Some(now);
                true
            }
            None => false,
        }
    }
}

/// Merges the passkeys a session ended with into those on disk, which another run of the phone
/// may have changed meanwhile: the session's credentials in their order (keeping the higher
/// signature counter of the two copies), then any the session did not know.
pub fn merge_passkeys(on_disk: &CredentialStore, session: &CredentialStore) -> CredentialStore {
    let mut merged = CredentialStore::new();
    for credential in session.iter() {
        let mut credential = credential.clone();
        if let Some(disk) = on_disk.find(&credential.rp_id, &credential.credential_id.0) {
            credential.sign_count = credential.sign_count.max(disk.sign_count);
        }
        merged.insert(credential);
    }
    for credential in on_disk.iter() {
        if session
            .find(&credential.rp_id, &credential.credential_id.0)
            .is_none()
        {
            merged.insert(credential.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use cable_ctap::{Authenticator, Profile};
    use rand::{rngs::StdRng, SeedableRng};

    fn store_with(users: &[&str], rng: &mut StdRng) -> CredentialStore {
        let mut authenticator = Authenticator::new(Profile::Android, CredentialStore::new());
        for user in users {
            let request = cable_ctap::Command::MakeCredential(make_credential(user)).encode();
            let response = authenticator.handle(&request, rng, &cable_ctap::AlwaysApprove);
            assert_eq!(response.first(), Some(&0));
        }
        authenticator.into_store()
    }

    fn make_credential(user: &str) -> cable_ctap::MakeCredentialRequest {
        use cable_ctap::*;
        MakeCredentialRequest {
            client_data_hash: [1; 32],
            rp: RelyingParty {
                id: "example.com".into(),
                name: None,
            },
            user: User {
                id: user.as_bytes().to_vec(),
                name: Some(user.into()),
                display_name: None,
            },
            pub_key_cred_params: vec![CredentialParameter::public_key(ES256)],
            exclude_list: vec![],
            extensions: Extensions::new(),
            options: Options {
                rk: Some(true),
                up: None,
                uv: Some(true),
            },
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
            enterprise_attestation: None,
        }
    }

    #[test]
    fn only_issued_links_have_secrets() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut state = PhoneState::default();
        let (linking, created) = state.ensure_linking(&mut rng, "p");
        assert!(created);
        assert_eq!(linking.identity.contact_id().len(), 32);
        assert_eq!(linking.link_secret(&[1; 8]), None);
        linking.record([1; 8], 100);
        linking.record([1; 8], 200);
        assert_eq!(linking.links.len(), 1);
        assert_eq!(linking.find(&[1; 8]).unwrap().created, 100);
        assert_eq!(
            linking.link_secret(&[1; 8]),
            Some(linking.identity.link_secret(&[1; 8]))
        );
        assert!(linking.mark_used(&[1; 8], 300));
        assert!(!linking.mark_used(&[2; 8], 300));
        assert_eq!(linking.find(&[1; 8]).unwrap().last_used, Some(300));
        let contact = linking.identity.contact_id().to_vec();
        let (again, created) = state.ensure_linking(&mut rng, "p");
        assert!(!created);
        assert_eq!(again.identity.contact_id(), contact);
    }

    #[test]
    fn merging_keeps_both_sides_and_the_higher_counter() {
        let mut rng = StdRng::seed_from_u64(2);
        let base = store_with(&["a"], &mut rng);
        // The session signed with "a" and created "b"; another run created "c".
        let mut session = base.clone();
        for c in store_with(&["b"], &mut rng).iter() {
            session.insert(c.clone());
        }
        let mut disk = base.clone();
        for c in store_with(&["c"], &mut rng).iter() {
            disk.insert(c.clone());
        }
        let mut bumped = session.iter().next().unwrap().clone();
        bumped.sign_count = 5;
        let mut session2 = CredentialStore::new();
        session2.insert(bumped);
        for c in session.iter().skip(1) {
            session2.insert(c.clone());
        }
        let merged = merge_passkeys(&disk, &session2);
        let users: Vec<_> = merged
            .iter()
            .map(|c| c.user_name.clone().unwrap())
            .collect();
        assert_eq!(users, ["a", "b", "c"]);
        assert_eq!(merged.iter().next().unwrap().sign_count, 5);
        // A higher counter on disk wins too.
        let merged = merge_passkeys(&session2, &disk);
        assert_eq!(merged.iter().next().unwrap().sign_count, 5);
    }
}
