//! The software phone's state on disk: one JSON file holding its passkeys and, once it links,
//! its linking identity ([`PhoneState`]).
//!
//! The file holds private keys, so it is written owner-only (0600 on Unix) and atomically: a
//! temporary file in the same folder, flushed, then renamed over the old one, so a crash never
//! leaves half a file and a reader never sees one.
//!
//! # Format
//!
//! The passkey file of earlier versions (cable-ctap's `CredentialStore` JSON,
//! `{"credentials": [...]}`) with one optional key added, so old files load unchanged and old
//! readers of passkeys ignore the linking data:
//!
//! ```json
//! {
//!   "credentials": [ ... ],
//!   "linking": {
//!     "name": "cable software phone (android)",
//!     "contact_id": "<base64url>",
//!     "identity_key": "<base64url, 32-byte P-256 private scalar>",
//!     "root_secret": "<base64url, 32 bytes>",
//!     "play_services": false,
//!     "links": [ { "link_id": "<16 hex>", "created": 1700000000, "last_used": 1700000100 } ]
//!   }
//! }
//! ```
//!
//! Times are seconds since the Unix epoch; `last_used` is absent until a desktop first wakes the
//! phone for that link. Link secrets are not stored: they derive from `root_secret`, the contact
//! ID and the link ID (HYBRID.md §3.4).
//!
//! Several runs of the phone may share a file (one waiting to be woken while another answers a
//! QR code), so runs change it with [`update_state`]: read, change, write back. There is no
//! lock between processes; two writes at the same instant can lose one change.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cable_ctap::{Base64Url, CredentialStore};
use cable_keys::{IdentityKey, Secret};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::linking::LinkIdentity;
use crate::state::{LinkRecord, LinkState, PhoneState};
use crate::{PhoneError, Result};

/// Reads the passkeys at `path`; a missing file is an empty store (the phone's first run).
pub fn load_store(path: &Path) -> Result<CredentialStore> {
    load_state(path).map(|state| state.passkeys)
}

/// Writes `store` as the passkeys at `path`, keeping the file's linking identity.
pub fn save_store(path: &Path, store: &CredentialStore) -> Result<()> {
    update_state(path, |state| state.passkeys = store.clone())
}

/// Reads the whole state at `path`; a missing file is an empty state.
pub fn load_state(path: &Path) -> Result<PhoneState> {
    let text = match fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PhoneState::default()),
        Err(e) => return Err(store_error(path, format!("cannot read it: {e}"))),
    };
    parse_state(&text).map_err(|cause| store_error(path, cause.to_string()))
}

/// Writes `state` to `path` atomically with owner-only permissions.
pub fn save_state(path: &Path, state: &PhoneState) -> Result<()> {
    let json = encode_state(state);
    write_atomically(path, json.as_bytes())
}

/// Reads the state at `path` (empty if missing), lets `change` modify it, and writes it back.
pub fn update_state<T>(path: &Path, change: impl FnOnce(&mut PhoneState) -> T) -> Result<T> {
    let mut state = load_state(path)?;
    let result = change(&mut state);
    save_state(path, &state)?;
    Ok(result)
}

/// The file's JSON text. It holds private keys: the string zeroizes on drop.
pub fn encode_state(state: &PhoneState) -> Zeroizing<String> {
    let file = FileOut {
        passkeys: &state.passkeys,
        linking: state.linking.as_ref().map(LinkingWire::from_state),
    };
    // Serializing plain data into a String cannot fail.
    Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default())
}

/// Why a state file's text cannot be used: what is wrong with it, in words for the person
/// who owns the file.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateFileError {
    #[error("it is not a valid passkey file: {0}")]
    Passkeys(cable_ctap::CtapError),
    #[error("its linking section is not valid: {0}")]
    LinkingJson(std::sync::Arc<serde_json::Error>),
    #[error("its linking section is not valid: {0}")]
    Linking(LinkingProblem),
}

/// What is wrong inside a well-formed linking section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkingProblem {
    #[error("the contact ID is empty")]
    EmptyContactId,
    #[error("the identity key is not a valid P-256 private key")]
    BadIdentityKey,
    #[error("link ID {0:?} is not 16 hexadecimal digits (8 bytes)")]
    BadLinkId(String),
    #[error("link ID {0} appears twice")]
    DuplicateLinkId(String),
}

/// Parses the file's JSON text; the error says what is wrong with it.
pub fn parse_state(text: &str) -> std::result::Result<PhoneState, StateFileError> {
    let passkeys = CredentialStore::from_json(text).map_err(StateFileError::Passkeys)?;
    let section: LinkingSection = serde_json::from_str(text)
        .map_err(|e| StateFileError::LinkingJson(std::sync::Arc::new(e)))?;
    let linking = section
        .linking
        .map(LinkingWire::into_state)
        .transpose()
        .map_err(StateFileError::Linking)?;
    Ok(PhoneState { passkeys, linking })
}

#[derive(Serialize)]
struct FileOut<'a> {
    #[serde(flatten)]
    passkeys: &'a CredentialStore,
    #[serde(skip_serializing_if = "Option::is_none")]
    linking: Option<LinkingWire>,
}

/// The file read for its `linking` key alone (the passkeys are read by cable-ctap).
#[derive(Deserialize)]
struct LinkingSection {
    #[serde(default)]
    linking: Option<LinkingWire>,
}

#[derive(Serialize, Deserialize)]
struct LinkingWire {
    name: String,
    contact_id: Base64Url,
    #[serde(with = "cable_ctap::authenticator::secret_b64")]
    identity_key: Secret<32>,
    #[serde(with = "cable_ctap::authenticator::secret_b64")]
    root_secret: Secret<32>,
    #[serde(default)]
    play_services: bool,
    #[serde(default)]
    links: Vec<LinkWire>,
}

#[derive(Serialize, Deserialize)]
struct LinkWire {
    link_id: String,
    created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used: Option<u64>,
}

impl LinkingWire {
    fn from_state(state: &LinkState) -> Self {
        let identity = &state.identity;
        Self {
            name: identity.name().to_string(),
            contact_id: Base64Url(identity.contact_id().to_vec()),
            identity_key: identity.identity().to_bytes(),
            root_secret: identity.root_secret().clone(),
            play_services: identity.is_play_services(),
            links: state
                .links
                .iter()
                .map(|l| LinkWire {
                    link_id: hex::encode(l.link_id),
                    created: l.created,
                    last_used: l.last_used,
                })
                .collect(),
        }
    }

    fn into_state(self) -> std::result::Result<LinkState, LinkingProblem> {
        if self.contact_id.0.is_empty() {
            return Err(LinkingProblem::EmptyContactId);
        }
        let key = IdentityKey::from_bytes(self.identity_key.expose())
            .map_err(|_| LinkingProblem::BadIdentityKey)?;
        let identity = LinkIdentity::new(self.root_secret, key, self.contact_id.0, self.name)
            .as_play_services(self.play_services);
        let mut state = LinkState {
            identity,
            links: Vec::with_capacity(self.links.len()),
        };
        for link in self.links {
            let mut link_id = [0u8; 8];
            hex::decode_to_slice(&link.link_id, &mut link_id)
                .map_err(|_| LinkingProblem::BadLinkId(link.link_id.clone()))?;
            if state.find(&link_id).is_some() {
                return Err(LinkingProblem::DuplicateLinkId(link.link_id));
            }
            state.links.push(LinkRecord {
                link_id,
                created: link.created,
                last_used: link.last_used,
            });
        }
        Ok(state)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| store_error(path, "the path does not name a file".into()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(temp_name);

    let written = write_private(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(store_error(path, format!("cannot write it: {e}")));
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // The mode applies only to a file this call created; tighten a leftover one too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

fn store_error(path: &Path, cause: String) -> PhoneError {
    PhoneError::Store {
        path: path.to_path_buf(),
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn a_passkey_only_file_of_earlier_versions_loads() {
        let state = parse_state(r#"{"credentials": []}"#).unwrap();
        assert!(state.passkeys.is_empty());
        assert!(state.linking.is_none());
        // And writing it back adds no linking key.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&encode_state(&state)).unwrap(),
            serde_json::json!({"credentials": []})
        );
    }

    #[test]
    fn linking_identity_round_trips_and_old_readers_ignore_it() {
        let mut rng = StdRng::seed_from_u64(9);
        let mut state = PhoneState::default();
        let (linking, _) = state.ensure_linking(&mut rng, "my phone");
        linking.record([0xab; 8], 1_700_000_000);
        linking.mark_used(&[0xab; 8], 1_700_000_100);
        let text = encode_state(&state);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let l = &json["linking"];
        assert_eq!(l["name"], "my phone");
        assert_eq!(l["play_services"], false);
        assert_eq!(l["links"][0]["link_id"], "abababababababab");
        assert_eq!(l["links"][0]["created"], 1_700_000_000u64);
        assert_eq!(l["links"][0]["last_used"], 1_700_000_100u64);
        assert_eq!(l["identity_key"].as_str().unwrap().len(), 43);

        let back = parse_state(&text).unwrap();
        let (a, b) = (state.linking.unwrap(), back.linking.unwrap());
        assert_eq!(a.links, b.links);
        assert_eq!(a.identity.contact_id(), b.identity.contact_id());
        assert_eq!(
            a.identity.identity().public_key(),
            b.identity.identity().public_key()
        );
        assert_eq!(
            a.identity.link_secret(&[1; 8]),
            b.identity.link_secret(&[1; 8])
        );
        // cable-ctap alone still reads the passkeys.
        assert!(CredentialStore::from_json(&text).unwrap().is_empty());
    }

    #[test]
    fn damaged_linking_sections_are_refused_with_a_reason() {
        let key = Base64Url::encode(&[7; 32]);
        let good = |links: &str, contact: &str, identity: &str| {
            format!(
                r#"{{"credentials":[],"linking":{{"name":"n","contact_id":"{contact}",
                "identity_key":"{identity}","root_secret":"{key}","links":{links}}}}}"#
            )
        };
        assert!(parse_state(&good("[]", "AQ", &key)).is_ok());
        for (text, expected) in [
            (good("[]", "", &key), "contact ID is empty"),
            (good("[]", "AQ", &Base64Url::encode(&[0; 32])), "P-256"),
            (good("[]", "AQ", "AAAA"), "must be 32"),
            (
                good(r#"[{"link_id":"00","created":1}]"#, "AQ", &key),
                "16 hexadecimal digits",
            ),
            (
                good(
                    r#"[{"link_id":"0000000000000000","created":1},{"link_id":"0000000000000000","created":2}]"#,
                    "AQ",
                    &key,
                ),
                "appears twice",
            ),
            (
                r#"{"credentials":[],"linking":7}"#.into(),
                "linking section",
            ),
            (r#"{"linking":null}"#.into(), "not a valid passkey file"),
        ] {
            let err = parse_state(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should say {expected}");
        }
    }
}
