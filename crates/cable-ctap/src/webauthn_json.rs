//! WebAuthn Level 3 JSON (`PublicKeyCredentialCreationOptionsJSON`, `…RequestOptionsJSON`,
//! `RegistrationResponseJSON`, `AuthenticationResponseJSON`) to and from CTAP2, with the rules
//! real phones need (HYBRID.md §8, §12):
//!
//! * option `uv: true` always (phones verify the user themselves); `rk: true` when the site
//!   asks for a discoverable credential (`residentKey` required or preferred);
//! * never a `pinUvAuthParam`, never `up: false` (Android shows UI for silent probes);
//! * `rp.name` and `user.displayName` always present (defaulting to `rp.id` / `user.name`);
//! * no `transports` in allow/exclude descriptors (iOS then answers "no passkeys");
//! * PRF passed through with salts hashed per WebAuthn L3.

use crate::attestation_object::AttestationObject;
use crate::auth_data::AuthenticatorData;
use crate::b64::Base64Url;
use crate::cbor_util as cu;
use crate::client_data::{client_data_hash, client_data_json, validate_origin, ClientDataType};
use crate::command::{decode_response, Command};
use crate::cose::CoseKey;
use crate::entities::{
    CborMessage, CredentialDescriptor, CredentialParameter, Extensions, Options, RelyingParty,
    User, PUBLIC_KEY,
};
use crate::error::CtapError;
use crate::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use crate::get_info::GetInfoResponse;
use crate::make_credential::{MakeCredentialRequest, MakeCredentialResponse};
use crate::prf::{prf_salt, PrfInputs, PrfOutputs, PrfValues, PRF};
use crate::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The credProtect extension's CTAP name.
pub const CRED_PROTECT: &str = "credProtect";
/// Transports reported for a credential that lives on a phone reached over hybrid.
pub const HYBRID_TRANSPORTS: [&str; 2] = ["hybrid", "internal"];

fn public_key_type() -> String {
    PUBLIC_KEY.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Input JSON

/// `PublicKeyCredentialRpEntity` as JSON; `id` defaults to the origin's host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpEntityJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `PublicKeyCredentialUserEntityJSON`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntityJson {
    pub id: Base64Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `PublicKeyCredentialParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialParameterJson {
    #[serde(rename = "type", default = "public_key_type")]
    pub cred_type: String,
    pub alg: i64,
}

/// `PublicKeyCredentialDescriptorJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptorJson {
    pub id: Base64Url,
    #[serde(rename = "type", default = "public_key_type")]
    pub cred_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transports: Option<Vec<String>>,
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelectionJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_resident_key: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
}

/// `AuthenticationExtensionsPRFValues` (salts or results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrfValuesJson {
    pub first: Base64Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second: Option<Base64Url>,
}

/// `AuthenticationExtensionsPRFInputs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrfInputsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<PrfValuesJson>,
    /// base64url credential ID → salts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_by_credential: Option<BTreeMap<String, PrfValuesJson>>,
}

/// The client extension inputs this crate maps; others are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionsInputJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_props: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<PrfInputsJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_protection_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_credential_protection_policy: Option<bool>,
}

/// `PublicKeyCredentialCreationOptionsJSON` (registration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCredentialCreationOptionsJSON {
    pub rp: RpEntityJson,
    pub user: UserEntityJson,
    pub challenge: Base64Url,
    #[serde(default)]
    pub pub_key_cred_params: Vec<CredentialParameterJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_credentials: Vec<CredentialDescriptorJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_selection: Option<AuthenticatorSelectionJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionsInputJson>,
}

/// `PublicKeyCredentialRequestOptionsJSON` (sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCredentialRequestOptionsJSON {
    pub challenge: Base64Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_credentials: Vec<CredentialDescriptorJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionsInputJson>,
}

// ---------------------------------------------------------------------------------------------
// Output JSON

/// `credProps` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredPropsJson {
    pub rk: bool,
}

/// `AuthenticationExtensionsPRFOutputs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrfOutputsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<PrfValuesJson>,
}

/// `AuthenticationExtensionsClientOutputsJSON` (the members this crate produces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientExtensionResultsJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_props: Option<CredPropsJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<PrfOutputsJson>,
}

/// `AuthenticatorAttestationResponseJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponseJson {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    pub authenticator_data: Base64Url,
    pub transports: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Base64Url>,
    pub public_key_algorithm: i64,
    pub attestation_object: Base64Url,
}

/// `RegistrationResponseJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponseJSON {
    pub id: String,
    pub raw_id: Base64Url,
    pub response: AttestationResponseJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    pub client_extension_results: ClientExtensionResultsJson,
    #[serde(rename = "type")]
    pub cred_type: String,
}

/// `AuthenticatorAssertionResponseJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponseJson {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64Url,
    pub authenticator_data: Base64Url,
    pub signature: Base64Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<Base64Url>,
}

/// `AuthenticationResponseJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponseJSON {
    pub id: String,
    pub raw_id: Base64Url,
    pub response: AssertionResponseJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    pub client_extension_results: ClientExtensionResultsJson,
    #[serde(rename = "type")]
    pub cred_type: String,
}

/// Parses JSON text into one of the option or response types, with a readable error.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| CtapError::Json(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Shared mapping helpers

fn hashed(values: &PrfValuesJson) -> PrfValues {
    PrfValues {
        first: prf_salt(&values.first.0).to_vec(),
        second: values.second.as_ref().map(|s| prf_salt(&s.0).to_vec()),
    }
}

fn descriptors(list: &[CredentialDescriptorJson]) -> Vec<CredentialDescriptor> {
    // Unknown credential types are skipped (WebAuthn); transports are dropped (iOS, §12).
    list.iter()
        .filter(|d| d.cred_type == PUBLIC_KEY)
        .map(|d| CredentialDescriptor::public_key(d.id.0.clone()))
        .collect()
}

fn uv_required(user_verification: Option<&str>) -> bool {
    user_verification == Some("required")
}

fn check_flags(auth_data: &AuthenticatorData, rp_id: &str, uv_required: bool) -> Result<()> {
    if auth_data.rp_id_hash != AuthenticatorData::rp_id_hash(rp_id) {
        return Err(CtapError::ResponseMismatch(format!(
            "the authenticator data is for another relying party than {rp_id:?}"
        )));
    }
    if !auth_data.flags.user_present() {
        return Err(CtapError::ResponseMismatch(
            "the phone did not confirm user presence".into(),
        ));
    }
    if uv_required && !auth_data.flags.user_verified() {
        return Err(CtapError::ResponseMismatch(
            "the site requires user verification but the phone did not verify the user".into(),
        ));
    }
    Ok(())
}

fn prf_output_json(outputs: &Extensions, context: &str) -> Result<PrfOutputsJson> {
    let Some(value) = outputs.get(PRF) else {
        return Ok(PrfOutputsJson::default());
    };
    let out = PrfOutputs::from_value(value, context)?;
    Ok(PrfOutputsJson {
        enabled: out.enabled,
        results: out.results.map(|r| PrfValuesJson {
            first: Base64Url(r.first),
            second: r.second.map(Base64Url),
        }),
    })
}

/// Removes the extensions a phone's getInfo does not list (Chromium does the same before it
/// sends a request).
fn drop_unsupported(extensions: &mut Extensions, info: &GetInfoResponse) {
    extensions
        .0
        .retain(|(name, _)| info.supports_extension(name));
}

// ---------------------------------------------------------------------------------------------
// Registration

/// A registration turned into a CTAP request, remembering what is needed to build the
/// response JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRegistration {
    pub request: MakeCredentialRequest,
    pub client_data_json: Vec<u8>,
    pub rp_id: String,
    /// `rk` was requested (reported as `credProps.rk`).
    pub resident_key: bool,
    pub uv_required: bool,
    pub cred_props_requested: bool,
    pub prf_requested: bool,
    cred_protect: Option<(u64, bool)>,
}

impl PublicKeyCredentialCreationOptionsJSON {
    /// Checks the origin against the RP ID (both canonicalized: the client data carries the
    /// canonical origin, the request the canonical RP ID), builds the client data and the
    /// makeCredential request with the phone-compat rules applied.
    pub fn to_ctap(&self, origin: &str) -> Result<PendingRegistration> {
        let checked = validate_origin(origin, self.rp.id.as_deref())?;
        let rp_id = checked.rp_id;
        if self.user.id.0.is_empty() || self.user.id.0.len() > 64 {
            return Err(CtapError::invalid(
                "user.id",
                format!(
                    "it is {} bytes long; WebAuthn allows 1 to 64",
                    self.user.id.0.len()
                ),
            ));
        }

        let params: Vec<CredentialParameter> = if self.pub_key_cred_params.is_empty() {
            // WebAuthn's default when the list is empty: ES256, then RS256.
            vec![
                CredentialParameter::public_key(-7),
                CredentialParameter::public_key(-257),
            ]
        } else {
            self.pub_key_cred_params
                .iter()
                .filter(|p| p.cred_type == PUBLIC_KEY)
                .map(|p| CredentialParameter::public_key(p.alg))
                .collect()
        };
        if params.is_empty() {
            return Err(CtapError::invalid(
                "pubKeyCredParams",
                "no entry has type \"public-key\"",
            ));
        }

        let selection = self.authenticator_selection.clone().unwrap_or_default();
        let resident_key = match selection.resident_key.as_deref() {
            Some("required") | Some("preferred") => true,
            Some(_) => false,
            None => selection.require_resident_key == Some(true),
        };
        let uv_required = uv_required(selection.user_verification.as_deref());

        let ext_in = self.extensions.clone().unwrap_or_default();
        let mut extensions = Extensions::new();
        let prf_requested = ext_in.prf.is_some();
        if let Some(prf) = &ext_in.prf {
            if prf
                .eval_by_credential
                .as_ref()
                .is_some_and(|m| !m.is_empty())
            {
                return Err(CtapError::invalid(
                    "extensions.prf.evalByCredential",
                    "is not allowed when creating a credential",
                ));
            }
            let inputs = PrfInputs {
                eval: prf.eval.as_ref().map(hashed),
                eval_by_credential: vec![],
            };
            extensions.insert(PRF, inputs.to_value());
        }
        let cred_protect = match ext_in.credential_protection_policy.as_deref() {
            None => None,
            Some(policy) => {
                let level = match policy {
                    "userVerificationOptional" => 1,
                    "userVerificationOptionalWithCredentialIDList" => 2,
                    "userVerificationRequired" => 3,
                    other => {
                        return Err(CtapError::invalid(
                            "extensions.credentialProtectionPolicy",
                            format!("{other:?} is not a credential protection policy"),
                        ))
                    }
                };
                extensions.insert(CRED_PROTECT, cu::uint(level));
                Some((
                    level,
                    ext_in.enforce_credential_protection_policy == Some(true),
                ))
            }
        };

        let client_data_json = client_data_json(
            ClientDataType::Create,
            &self.challenge.0,
            &checked.origin,
            false,
        );
        let name = self.user.name.clone().unwrap_or_default();
        let display_name = match &self.user.display_name {
            Some(d) if !d.is_empty() => d.clone(),
            _ => name.clone(),
        };
        let rp_name = match &self.rp.name {
            Some(n) if !n.is_empty() => n.clone(),
            _ => rp_id.clone(),
        };
        let request = MakeCredentialRequest {
            client_data_hash: client_data_hash(&client_data_json),
            rp: RelyingParty {
                id: rp_id.clone(),
                name: Some(rp_name),
            },
            user: User {
                id: self.user.id.0.clone(),
                name: Some(name),
                display_name: Some(display_name),
            },
            pub_key_cred_params: params,
            exclude_list: descriptors(&self.exclude_credentials),
            extensions,
            options: Options {
                rk: resident_key.then_some(true),
                up: None,
                uv: Some(true),
            },
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
            enterprise_attestation: None,
        };
        Ok(PendingRegistration {
            request,
            client_data_json,
            rp_id,
            resident_key,
            uv_required,
            cred_props_requested: ext_in.cred_props == Some(true),
            prf_requested,
            cred_protect,
        })
    }
}

impl PendingRegistration {
    /// The CTAP command to send.
    pub fn command(&self) -> Command {
        Command::MakeCredential(self.request.clone())
    }

    /// Drops extensions the phone does not list in its getInfo (as Chromium does). Fails if the
    /// site enforces a credential protection level the phone cannot promise.
    pub fn adapt_to(&mut self, info: &GetInfoResponse) -> Result<()> {
        if let Some((level, true)) = self.cred_protect {
            if level > 1 && !info.supports_extension(CRED_PROTECT) {
                return Err(CtapError::invalid(
                    "extensions.enforceCredentialProtectionPolicy",
                    "the phone does not support credProtect, which the site enforces",
                ));
            }
        }
        drop_unsupported(&mut self.request.extensions, info);
        Ok(())
    }

    /// Builds the registration JSON from the phone's `status || CBOR` answer.
    pub fn finish_bytes(&self, response: &[u8]) -> Result<RegistrationResponseJSON> {
        self.finish(&decode_response::<MakeCredentialResponse>(response)?)
    }

    /// Builds the registration JSON from the phone's makeCredential response, after checking
    /// it answers this request (RP ID hash, user presence, verification when required).
    pub fn finish(&self, response: &MakeCredentialResponse) -> Result<RegistrationResponseJSON> {
        let auth_data = AuthenticatorData::parse(&response.auth_data)?;
        check_flags(&auth_data, &self.rp_id, self.uv_required)?;
        let attested = auth_data.attested_credential.as_ref().ok_or_else(|| {
            CtapError::ResponseMismatch("the phone returned no attested credential".into())
        })?;
        let credential_id = attested.credential_id().to_vec();
        let public_key = CoseKey::from_bytes(attested.credential_public_key_bytes())
            .and_then(|k| k.to_spki_der())
            .ok()
            .map(Base64Url);
        let public_key_algorithm = attested.public_key_algorithm().ok_or_else(|| {
            CtapError::CoseKey("the credential public key has no integer alg (label 3)".into())
        })?;
        let attestation_object = AttestationObject::from_response(response).to_cbor();

        let mut ext = ClientExtensionResultsJson::default();
        if self.cred_props_requested {
            ext.cred_props = Some(CredPropsJson {
                rk: self.resident_key,
            });
        }
        if self.prf_requested {
            let mut prf = prf_output_json(
                &response.unsigned_extension_outputs,
                "makeCredential prf output",
            )?;
            prf.enabled = Some(prf.enabled.unwrap_or(false));
            ext.prf = Some(prf);
        }
        Ok(RegistrationResponseJSON {
            id: Base64Url::encode(&credential_id),
            raw_id: Base64Url(credential_id),
            response: AttestationResponseJson {
                client_data_json: Base64Url(self.client_data_json.clone()),
                authenticator_data: Base64Url(response.auth_data.clone()),
                transports: HYBRID_TRANSPORTS.iter().map(|t| (*t).to_owned()).collect(),
                public_key,
                public_key_algorithm,
                attestation_object: Base64Url(attestation_object),
            },
            authenticator_attachment: Some("cross-platform".into()),
            client_extension_results: ext,
            cred_type: PUBLIC_KEY.into(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// A sign-in turned into a CTAP request, remembering what is needed to build the response.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAuthentication {
    pub request: GetAssertionRequest,
    pub client_data_json: Vec<u8>,
    pub rp_id: String,
    pub uv_required: bool,
    pub prf_requested: bool,
}

impl PublicKeyCredentialRequestOptionsJSON {
    /// Checks the origin against the RP ID (both canonicalized, as for registration), builds
    /// the client data and the getAssertion
    /// request with the phone-compat rules applied.
    pub fn to_ctap(&self, origin: &str) -> Result<PendingAuthentication> {
        let checked = validate_origin(origin, self.rp_id.as_deref())?;
        let rp_id = checked.rp_id;
        let allow_list = descriptors(&self.allow_credentials);

        let ext_in = self.extensions.clone().unwrap_or_default();
        let mut extensions = Extensions::new();
        let prf_requested = ext_in.prf.is_some();
        if let Some(prf) = &ext_in.prf {
            let mut inputs = PrfInputs {
                eval: prf.eval.as_ref().map(hashed),
                eval_by_credential: vec![],
            };
            for (id_text, values) in prf.eval_by_credential.iter().flatten() {
                let field = "extensions.prf.evalByCredential";
                let id = Base64Url::decode(id_text)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| {
                        CtapError::invalid(
                            field,
                            format!("{id_text:?} is not a base64url credential ID"),
                        )
                    })?;
                if allow_list.is_empty() {
                    return Err(CtapError::invalid(
                        field,
                        "needs a non-empty allowCredentials",
                    ));
                }
                if !allow_list.iter().any(|d| d.id == id) {
                    return Err(CtapError::invalid(
                        field,
                        format!("{id_text:?} is not in allowCredentials"),
                    ));
                }
                inputs.eval_by_credential.push((id, hashed(values)));
            }
            extensions.insert(PRF, inputs.to_value());
        }

        let client_data_json = client_data_json(
            ClientDataType::Get,
            &self.challenge.0,
            &checked.origin,
            false,
        );
        let request = GetAssertionRequest {
            rp_id: rp_id.clone(),
            client_data_hash: client_data_hash(&client_data_json),
            allow_list,
            extensions,
            options: Options {
                rk: None,
                up: None,
                uv: Some(true),
            },
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
        };
        Ok(PendingAuthentication {
            request,
            client_data_json,
            rp_id,
            uv_required: uv_required(self.user_verification.as_deref()),
            prf_requested,
        })
    }
}

impl PendingAuthentication {
    /// The CTAP command to send.
    pub fn command(&self) -> Command {
        Command::GetAssertion(self.request.clone())
    }

    /// Drops extensions the phone does not list in its getInfo.
    pub fn adapt_to(&mut self, info: &GetInfoResponse) {
        drop_unsupported(&mut self.request.extensions, info);
    }

    /// Builds the sign-in JSON from the phone's `status || CBOR` answer.
    pub fn finish_bytes(&self, response: &[u8]) -> Result<AuthenticationResponseJSON> {
        self.finish(&decode_response::<GetAssertionResponse>(response)?)
    }

    /// Builds the sign-in JSON from the phone's getAssertion response, after checking it answers
    /// this request. (Phones handle one command per session, so when the phone reports several
    /// credentials the first response is the answer.)
    pub fn finish(&self, response: &GetAssertionResponse) -> Result<AuthenticationResponseJSON> {
        let allow = &self.request.allow_list;
        let credential_id = match (&response.credential, allow.as_slice()) {
            (Some(c), _) => c.id.clone(),
            (None, [only]) => only.id.clone(),
            (None, _) => {
                return Err(CtapError::ResponseMismatch(
                    "the phone did not say which credential it used".into(),
                ))
            }
        };
        if !allow.is_empty() && !allow.iter().any(|d| d.id == credential_id) {
            return Err(CtapError::ResponseMismatch(
                "the phone used a credential that is not in the allow list".into(),
            ));
        }
        let auth_data = AuthenticatorData::parse(&response.auth_data)?;
        check_flags(&auth_data, &self.rp_id, self.uv_required)?;
        let user_handle = response.user.as_ref().map(|u| Base64Url(u.id.clone()));
        if allow.is_empty() && user_handle.is_none() {
            return Err(CtapError::ResponseMismatch(
                "the phone returned no user handle for a discoverable credential".into(),
            ));
        }
        let mut ext = ClientExtensionResultsJson::default();
        if self.prf_requested {
            let mut prf = prf_output_json(
                &response.unsigned_extension_outputs,
                "getAssertion prf output",
            )?;
            prf.enabled = None;
            ext.prf = Some(prf);
        }
        Ok(AuthenticationResponseJSON {
            id: Base64Url::encode(&credential_id),
            raw_id: Base64Url(credential_id),
            response: AssertionResponseJson {
                client_data_json: Base64Url(self.client_data_json.clone()),
                authenticator_data: Base64Url(response.auth_data.clone()),
                signature: Base64Url(response.signature.clone()),
                user_handle,
            },
            authenticator_attachment: Some("cross-platform".into()),
            client_extension_results: ext,
            cred_type: PUBLIC_KEY.into(),
        })
    }
}
