//! A software CTAP2 authenticator: the phone side of hybrid, sans-IO.
//!
//! [`Authenticator::handle`] takes `command || CBOR` and returns `status || CBOR`, asking a
//! [`UserAction`] where a real phone would show UI. It creates ES256 passkeys with packed self
//! attestation, flags them backup-eligible and backed-up like synced passkeys, signs
//! assertions, evaluates PRF with a per-credential HMAC-SHA256 key, and answers
//! getNextAssertion when several discoverable credentials match.

mod attestation;
mod profile;
mod store;

pub use profile::{Profile, IOS_AAGUID};
pub use store::{secret_b64, CredentialStore, StoredCredential};

use crate::auth_data::{AttestedCredentialData, AuthenticatorData, Flags};
use crate::b64::Base64Url;
use crate::command::{encode_error, encode_response, Command};
use crate::cose::CoseKey;
use crate::entities::{CborMessage, CredentialDescriptor, Extensions, User, ES256, PUBLIC_KEY};
use crate::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use crate::get_info::GetInfoResponse;
use crate::make_credential::{MakeCredentialRequest, MakeCredentialResponse};
use crate::prf::{PrfInputs, PrfOutputs, PrfValues, PRF};
use crate::status::CtapStatus;
use cable_keys::Secret;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;

/// Length of the credential IDs this authenticator makes.
pub const CREDENTIAL_ID_LEN: usize = 32;

/// An account offered at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub credential_id: Vec<u8>,
    pub user_id: Vec<u8>,
    pub user_name: Option<String>,
    pub user_display_name: Option<String>,
}

/// What the phone would show the person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt<'a> {
    /// "Create a passkey for `user_name` on `rp_id`?"
    Register {
        rp_id: &'a str,
        rp_name: Option<&'a str>,
        user_name: Option<&'a str>,
        user_display_name: Option<&'a str>,
    },
    /// "Sign in to `rp_id`?" with the matching accounts.
    SignIn {
        rp_id: &'a str,
        accounts: &'a [AccountInfo],
    },
    /// authenticatorSelection: "Use this phone?"
    Select,
}

/// The person holding the phone. Approval stands for presence and verification (a phone
/// always verifies the user for passkeys).
pub trait UserAction {
    /// True to go ahead; false answers `CTAP2_ERR_OPERATION_DENIED`.
    fn approve(&self, prompt: &Prompt<'_>) -> bool;

    /// Called after approval when several discoverable accounts match. `Some(i)` picks one (the
    /// response carries `userSelected: true`); `None` (the default) returns the first with
    /// `numberOfCredentials` and leaves the rest to getNextAssertion.
    fn choose_account(&self, _accounts: &[AccountInfo]) -> Option<usize> {
        None
    }
}

/// Approves everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysApprove;

impl UserAction for AlwaysApprove {
    fn approve(&self, _: &Prompt<'_>) -> bool {
        true
    }
}

/// Declines everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysDeny;

impl UserAction for AlwaysDeny {
    fn approve(&self, _: &Prompt<'_>) -> bool {
        false
    }
}

impl<F: Fn(&Prompt<'_>) -> bool> UserAction for F {
    fn approve(&self, prompt: &Prompt<'_>) -> bool {
        self(prompt)
    }
}

/// Assertions still to hand out through getNextAssertion.
#[derive(Debug)]
struct PendingAssertions {
    rp_id: String,
    client_data_hash: [u8; 32],
    prf: Option<PrfInputs>,
    /// Credential IDs, next first.
    remaining: Vec<Vec<u8>>,
}

/// The software authenticator.
#[derive(Debug)]
pub struct Authenticator {
    profile: Profile,
    store: CredentialStore,
    pending: Option<PendingAssertions>,
}

type Outcome = Result<Vec<u8>, CtapStatus>;

impl Authenticator {
    pub fn new(profile: Profile, store: CredentialStore) -> Self {
        Self {
            profile,
            store,
            pending: None,
        }
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn get_info(&self) -> GetInfoResponse {
        self.profile.get_info()
    }

    /// The credentials, to save after a request changed them.
    pub fn store(&self) -> &CredentialStore {
        &self.store
    }

    pub fn into_store(self) -> CredentialStore {
        self.store
    }

    /// Handles one `command || CBOR` request and returns `status || CBOR`.
    pub fn handle<R: CryptoRngCore + ?Sized>(
        &mut self,
        request: &[u8],
        rng: &mut R,
        user: &dyn UserAction,
    ) -> Vec<u8> {
        let command = match Command::decode(request) {
            Ok(c) => c,
            Err(e) => {
                self.pending = None;
                return encode_error(e.status());
            }
        };
        if !matches!(command, Command::GetNextAssertion) {
            self.pending = None;
        }
        let outcome = match command {
            Command::GetInfo => Ok(self.get_info().to_cbor()),
            Command::MakeCredential(r) => self.make_credential(&r, rng, user),
            Command::GetAssertion(r) => self.get_assertion(&r, user),
            Command::GetNextAssertion => self.get_next_assertion(),
            Command::Selection => {
                if user.approve(&Prompt::Select) {
                    Ok(Vec::new())
                } else {
                    Err(CtapStatus::OperationDenied)
                }
            }
        };
        match outcome {
            Ok(body) => encode_response(&body),
            Err(status) => encode_error(status),
        }
    }

    fn make_credential<R: CryptoRngCore + ?Sized>(
        &mut self,
        req: &MakeCredentialRequest,
        rng: &mut R,
        user: &dyn UserAction,
    ) -> Outcome {
        refuse_pin_uv_auth(req.pin_uv_auth_param.as_deref(), req.pin_uv_auth_protocol)?;
        if !req
            .pub_key_cred_params
            .iter()
            .any(|p| p.cred_type == PUBLIC_KEY && p.alg == ES256)
        {
            return Err(CtapStatus::UnsupportedAlgorithm);
        }
        if req.options.up == Some(false) {
            return Err(CtapStatus::InvalidOption);
        }
        let prf = self.prf_inputs(&req.extensions)?;
        // Answered without a prompt; a real phone may first ask the person to confirm.
        if req
            .exclude_list
            .iter()
            .any(|d| d.cred_type == PUBLIC_KEY && self.store.find(&req.rp.id, &d.id).is_some())
        {
            return Err(CtapStatus::CredentialExcluded);
        }
        let prompt = Prompt::Register {
            rp_id: &req.rp.id,
            rp_name: req.rp.name.as_deref(),
            user_name: req.user.name.as_deref(),
            user_display_name: req.user.display_name.as_deref(),
        };
        if !user.approve(&prompt) {
            return Err(CtapStatus::OperationDenied);
        }

        let (private_key, signing_key) = new_key(rng)?;
        let mut credential_id = vec![0u8; CREDENTIAL_ID_LEN];
        rng.fill_bytes(&mut credential_id);
        let credential = StoredCredential {
            credential_id: Base64Url(credential_id.clone()),
            rp_id: req.rp.id.clone(),
            rp_name: req.rp.name.clone(),
            user_id: Base64Url(req.user.id.clone()),
            user_name: req.user.name.clone(),
            user_display_name: req.user.display_name.clone(),
            discoverable: req.options.rk == Some(true),
            sign_count: 0,
            private_key,
            prf_seed: Secret::random(&mut &mut *rng),
        };

        let public_key = CoseKey::from_verifying_key(signing_key.verifying_key());
        let attested =
            AttestedCredentialData::new(self.profile.aaguid(), credential_id, &public_key)?;
        let auth_data = AuthenticatorData {
            rp_id_hash: AuthenticatorData::rp_id_hash(&req.rp.id),
            flags: approved_flags(),
            sign_count: credential.sign_count,
            attested_credential: Some(attested),
            extensions: None,
        }
        .to_bytes();
        let statement = attestation::packed_self(&signing_key, &auth_data, &req.client_data_hash);

        let mut unsigned = Extensions::new();
        if let Some(prf) = &prf {
            let results = prf
                .eval
                .as_ref()
                .map(|salts| evaluate_prf(&credential.prf_seed, salts))
                .transpose()?;
            unsigned.insert(
                PRF,
                PrfOutputs {
                    enabled: Some(true),
                    results,
                }
                .to_value(),
            );
        }
        self.store.insert(credential);
        Ok(MakeCredentialResponse {
            fmt: "packed".into(),
            auth_data,
            att_stmt: statement.to_value(),
            ep_att: None,
            large_blob_key: None,
            unsigned_extension_outputs: unsigned,
        }
        .to_cbor())
    }

    fn get_assertion(&mut self, req: &GetAssertionRequest, user: &dyn UserAction) -> Outcome {
        refuse_pin_uv_auth(req.pin_uv_auth_param.as_deref(), req.pin_uv_auth_protocol)?;
        if req.options.rk.is_some() {
            return Err(CtapStatus::UnsupportedOption);
        }
        // Phones do not do silent (up = false) probes (HYBRID.md §8).
        if req.options.up == Some(false) {
            return Err(CtapStatus::UnsupportedOption);
        }
        let prf = self.prf_inputs(&req.extensions)?;
        let discoverable = req.allow_list.is_empty();
        let candidates: Vec<AccountInfo> = if discoverable {
            self.store
                .discoverable_for(&req.rp_id)
                .into_iter()
                .map(account)
                .collect()
        } else {
            req.allow_list
                .iter()
                .filter(|d| d.cred_type == PUBLIC_KEY)
                .filter_map(|d| self.store.find(&req.rp_id, &d.id))
                .map(account)
                .collect()
        };
        if candidates.is_empty() {
            return Err(CtapStatus::NoCredentials);
        }
        if !user.approve(&Prompt::SignIn {
            rp_id: &req.rp_id,
            accounts: &candidates,
        }) {
            return Err(CtapStatus::OperationDenied);
        }

        let chosen = if discoverable && candidates.len() > 1 {
            user.choose_account(&candidates)
                .filter(|&i| i < candidates.len())
        } else {
            None
        };
        let (first, number_of_credentials, user_selected) = match chosen {
            Some(i) => (i, None, Some(true)),
            None if discoverable && candidates.len() > 1 => {
                self.pending = Some(PendingAssertions {
                    rp_id: req.rp_id.clone(),
                    client_data_hash: req.client_data_hash,
                    prf: prf.clone(),
                    remaining: candidates
                        .iter()
                        .skip(1)
                        .map(|a| a.credential_id.clone())
                        .collect(),
                });
                (0, Some(candidates.len() as u64), None)
            }
            None => (0, None, None),
        };
        let id = candidates
            .get(first)
            .map(|a| a.credential_id.clone())
            .ok_or(CtapStatus::Other)?;
        let mut response =
            self.assert_with(&req.rp_id, &id, &req.client_data_hash, prf.as_ref())?;
        response.number_of_credentials = number_of_credentials;
        response.user_selected = user_selected;
        Ok(response.to_cbor())
    }

    fn get_next_assertion(&mut self) -> Outcome {
        let mut pending = self.pending.take().ok_or(CtapStatus::NotAllowed)?;
        if pending.remaining.is_empty() {
            return Err(CtapStatus::NotAllowed);
        }
        let id = pending.remaining.remove(0);
        let response = self.assert_with(
            &pending.rp_id,
            &id,
            &pending.client_data_hash,
            pending.prf.as_ref(),
        )?;
        if !pending.remaining.is_empty() {
            self.pending = Some(pending);
        }
        Ok(response.to_cbor())
    }

    /// Signs an assertion with credential `id`, bumping its counter.
    fn assert_with(
        &mut self,
        rp_id: &str,
        id: &[u8],
        client_data_hash: &[u8; 32],
        prf: Option<&PrfInputs>,
    ) -> Result<GetAssertionResponse, CtapStatus> {
        let credential = self
            .store
            .find_mut(rp_id, id)
            .ok_or(CtapStatus::NoCredentials)?;
        credential.sign_count = credential.sign_count.wrapping_add(1);
        let auth_data = AuthenticatorData {
            rp_id_hash: AuthenticatorData::rp_id_hash(rp_id),
            flags: approved_flags(),
            sign_count: credential.sign_count,
            attested_credential: None,
            extensions: None,
        }
        .to_bytes();
        let signing_key = credential.signing_key()?;
        let signature = attestation::sign(&signing_key, &auth_data, client_data_hash);
        let mut unsigned = Extensions::new();
        if let Some(salts) = prf.and_then(|p| p.for_credential(id)) {
            let results = evaluate_prf(&credential.prf_seed, salts)?;
            unsigned.insert(
                PRF,
                PrfOutputs {
                    enabled: None,
                    results: Some(results),
                }
                .to_value(),
            );
        }
        Ok(GetAssertionResponse {
            credential: Some(CredentialDescriptor::public_key(id.to_vec())),
            auth_data,
            signature,
            user: Some(User {
                id: credential.user_id.0.clone(),
                name: credential.user_name.clone(),
                display_name: credential.user_display_name.clone(),
            }),
            number_of_credentials: None,
            user_selected: None,
            large_blob_key: None,
            unsigned_extension_outputs: unsigned,
        })
    }

    /// The request's `prf` input, if this profile supports PRF and the request has one.
    fn prf_inputs(&self, extensions: &Extensions) -> Result<Option<PrfInputs>, CtapStatus> {
        match extensions.get(PRF) {
            Some(v) if self.profile.supports_prf() => {
                Ok(Some(PrfInputs::from_value(v, "extensions.prf")?))
            }
            _ => Ok(None),
        }
    }
}

/// UP and UV (the person approved with biometrics), BE and BS (a synced passkey).
fn approved_flags() -> Flags {
    Flags(Flags::UP | Flags::UV | Flags::BE | Flags::BS)
}

fn account(c: &StoredCredential) -> AccountInfo {
    AccountInfo {
        credential_id: c.credential_id.0.clone(),
        user_id: c.user_id.0.clone(),
        user_name: c.user_name.clone(),
        user_display_name: c.user_display_name.clone(),
    }
}

/// Phones have no PIN/UV auth protocol (§8): a pinUvAuthParam names a protocol they lack.
fn refuse_pin_uv_auth(param: Option<&[u8]>, protocol: Option<u64>) -> Result<(), CtapStatus> {
    match (param, protocol) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(CtapStatus::MissingParameter),
        (Some(_), Some(_)) => Err(CtapStatus::InvalidParameter),
    }
}

/// A fresh P-256 key: the zeroizing scalar to store and the signing key to use now.
fn new_key<R: CryptoRngCore + ?Sized>(
    rng: &mut R,
) -> Result<(Secret<32>, p256::ecdsa::SigningKey), CtapStatus> {
    // A random 32-byte string is a valid scalar except with probability ~2^-32.
    for _ in 0..16 {
        let secret = Secret::<32>::random(&mut &mut *rng);
        if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(secret.expose().into()) {
            return Ok((secret, key));
        }
    }
    Err(CtapStatus::Other)
}

/// PRF output: HMAC-SHA256(per-credential seed, salt), as hmac-secret does with CredRandom.
fn evaluate_prf(seed: &Secret<32>, salts: &PrfValues) -> Result<PrfValues, CtapStatus> {
    let one = |salt: &[u8]| -> Result<Vec<u8>, CtapStatus> {
        if salt.len() != 32 {
            return Err(CtapStatus::InvalidParameter);
        }
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(seed.expose()).map_err(|_| CtapStatus::Other)?;
        mac.update(salt);
        Ok(mac.finalize().into_bytes().to_vec())
    };
    Ok(PrfValues {
        first: one(&salts.first)?,
        second: salts.second.as_deref().map(one).transpose()?,
    })
}
