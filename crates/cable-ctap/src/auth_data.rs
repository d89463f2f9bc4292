//! Authenticator data (WebAuthn §6.1): the bytes every signature covers.
//!
//! `rpIdHash(32) || flags(1) || signCount(BE32) || [attestedCredentialData] || [extensions]`,
//! with `attestedCredentialData = aaguid(16) || credIdLen(BE16) || credId || COSE_Key`.

use crate::cose::CoseKey;
use crate::entities::Extensions;
use crate::error::CtapError;
use crate::Result;
use cable_keys::cbor::{self, Value};
use sha2::{Digest, Sha256};

/// WebAuthn caps credential IDs at 1023 bytes.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The flags byte.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible (a passkey that may sync).
    pub const BE: u8 = 0x08;
    /// Backed up (it has synced).
    pub const BS: u8 = 0x10;
    /// Attested credential data follows.
    pub const AT: u8 = 0x40;
    /// Extension data follows.
    pub const ED: u8 = 0x80;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit == bit
    }

    pub fn with(self, bit: u8, on: bool) -> Self {
        Flags(if on { self.0 | bit } else { self.0 & !bit })
    }

    pub fn user_present(self) -> bool {
        self.has(Self::UP)
    }

    pub fn user_verified(self) -> bool {
        self.has(Self::UV)
    }

    pub fn backup_eligible(self) -> bool {
        self.has(Self::BE)
    }

    pub fn backed_up(self) -> bool {
        self.has(Self::BS)
    }
}

/// The credential a makeCredential created: who made it, its ID and its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredentialData {
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    credential_public_key: Vec<u8>,
}

impl AttestedCredentialData {
    /// Fails if the credential ID is empty or longer than 1023 bytes.
    pub fn new(aaguid: [u8; 16], credential_id: Vec<u8>, public_key: &CoseKey) -> Result<Self> {
        check_credential_id_len(credential_id.len())?;
        Ok(Self {
            aaguid,
            credential_id,
            credential_public_key: public_key.to_bytes(),
        })
    }

    pub fn aaguid(&self) -> &[u8; 16] {
        &self.aaguid
    }

    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The COSE_Key bytes exactly as the authenticator wrote them.
    pub fn credential_public_key_bytes(&self) -> &[u8] {
        &self.credential_public_key
    }

    /// The key, if it is the EC2 P-256 ES256 key phones create.
    pub fn credential_public_key(&self) -> Result<CoseKey> {
        CoseKey::from_bytes(&self.credential_public_key)
    }

    /// The `alg` (label 3) of the COSE key, whatever its type.
    pub fn public_key_algorithm(&self) -> Option<i64> {
        match cbor::from_slice(&self.credential_public_key).ok()? {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match (k, v) {
                (Value::Integer(k), Value::Integer(v)) if u64::try_from(*k).ok() == Some(3) => {
                    i64::try_from(*v).ok()
                }
                _ => None,
            }),
            _ => None,
        }
    }
}

fn check_credential_id_len(len: usize) -> Result<()> {
    if len == 0 || len > MAX_CREDENTIAL_ID_LEN {
        return Err(CtapError::AuthData(format!(
            "the credential ID is {len} bytes long; it must be 1 to {MAX_CREDENTIAL_ID_LEN}"
        )));
    }
    Ok(())
}

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    /// UP/UV/BE/BS as given; AT and ED are set by [`AuthenticatorData::to_bytes`] from the
    /// presence of `attested_credential` and `extensions`.
    pub flags: Flags,
    pub sign_count: u32,
    pub attested_credential: Option<AttestedCredentialData>,
    /// Signed extension outputs (a CBOR map).
    pub extensions: Option<Extensions>,
}

impl AuthenticatorData {
    /// SHA-256 of the relying party ID, as the first 32 bytes carry it.
    pub fn rp_id_hash(rp_id: &str) -> [u8; 32] {
        Sha256::digest(rp_id.as_bytes()).into()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let flags = self
            .flags
            .with(Flags::AT, self.attested_credential.is_some())
            .with(Flags::ED, self.extensions.is_some());
        let mut out = Vec::with_capacity(37 + 128);
        out.extend_from_slice(&self.rp_id_hash);
        out.push(flags.0);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        if let Some(att) = &self.attested_credential {
            out.extend_from_slice(&att.aaguid);
            // `new` and `parse` keep the ID at most 1023 bytes, so it fits in 16 bits.
            out.extend_from_slice(&(att.credential_id.len() as u16).to_be_bytes());
            out.extend_from_slice(&att.credential_id);
            out.extend_from_slice(&att.credential_public_key);
        }
        if let Some(ext) = &self.extensions {
            let map = ext.to_value().unwrap_or(Value::Map(Vec::new()));
            out.extend(cbor::to_canonical_vec(&map));
        }
        out
    }

    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 37 {
            return Err(CtapError::AuthData(format!(
                "it is {} bytes long; it needs at least 37 (RP ID hash, flags, counter)",
                bytes.len()
            )));
        }
        let (head, mut rest) = bytes.split_at(37);
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&head[..32]);
        let flags = Flags(head[32]);
        let sign_count = u32::from_be_bytes([head[33], head[34], head[35], head[36]]);

        let attested_credential = if flags.has(Flags::AT) {
            if rest.len() < 18 {
                return Err(CtapError::AuthData(
                    "the AT flag is set but the attested credential data is cut short".into(),
                ));
            }
            let (fixed, after) = rest.split_at(18);
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&fixed[..16]);
            let id_len = usize::from(u16::from_be_bytes([fixed[16], fixed[17]]));
            check_credential_id_len(id_len)?;
            if after.len() < id_len {
                return Err(CtapError::AuthData(format!(
                    "the credential ID should be {id_len} bytes but only {} remain",
                    after.len()
                )));
            }
            let (credential_id, after) = after.split_at(id_len);
            let (key_len, _) = read_one_item(after, "credential public key")?;
            let (key, after) = after.split_at(key_len);
            rest = after;
            Some(AttestedCredentialData {
                aaguid,
                credential_id: credential_id.to_vec(),
                credential_public_key: key.to_vec(),
            })
        } else {
            None
        };

        let extensions = if flags.has(Flags::ED) {
            let (len, value) = read_one_item(rest, "extensions")?;
            rest = &rest[len..];
            Some(Extensions::from_value(
                Some(&value),
                "authenticator data extensions",
            )?)
        } else {
            None
        };

        if !rest.is_empty() {
            return Err(CtapError::AuthData(format!(
                "{} unexpected bytes at the end (flags 0x{:02x})",
                rest.len(),
                flags.0
            )));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential,
            extensions,
        })
    }
}

/// Reads one CBOR item from the front of `bytes`: its encoded length and value.
fn read_one_item(bytes: &[u8], what: &str) -> Result<(usize, Value)> {
    let mut cursor = std::io::Cursor::new(bytes);
    let value: Value = ciborium::from_reader(&mut cursor)
        .map_err(|e| CtapError::AuthData(format!("the {what} is not valid CBOR: {e}")))?;
    let len = usize::try_from(cursor.position())
        .map_err(|_| CtapError::AuthData(format!("the {what} is too long")))?;
    Ok((len.min(bytes.len()), value))
}
