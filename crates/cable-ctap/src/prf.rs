//! The `prf` extension as phones take it over hybrid (HYBRID.md §8): WebAuthn-level inputs with
//! the salts already hashed, outputs in the unsigned extension outputs.
//!
//! Request: `{"prf": {"eval": {"first": salt, "second": salt}, "evalByCredential": {credId: …}}}`
//! (makeCredential sends `{"prf": {}}` or `{"prf": {"eval": …}}`).
//! Response: `{"prf": {"enabled": true}}` (makeCredential) /
//! `{"prf": {"results": {"first": …, "second": …}}}` (getAssertion).

use crate::cbor_util::{self as cu, as_bool, as_bytes, TextMap};
use crate::error::CtapError;
use crate::Result;
use cable_keys::cbor::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// The extension identifier.
pub const PRF: &str = "prf";

/// WebAuthn L3 §10.1.4: `SHA-256("WebAuthn PRF" || 0x00 || input)`, the salt the authenticator
/// sees, so a website can never choose the raw salt of another protocol using the same key.
pub fn prf_salt(input: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"WebAuthn PRF");
    h.update([0u8]);
    h.update(input);
    h.finalize().into()
}

/// `{first, second?}`: two salts in a request, or two outputs in a response.
#[derive(Clone, PartialEq, Eq)]
pub struct PrfValues {
    pub first: Vec<u8>,
    pub second: Option<Vec<u8>>,
}

impl fmt::Debug for PrfValues {
    /// Lengths only: outputs are key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrfValues")
            .field("first", &format_args!("[{} bytes]", self.first.len()))
            .field("second", &self.second.as_ref().map(|s| s.len()))
            .finish()
    }
}

impl PrfValues {
    pub fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::text("first"), Some(cu::bytes(&self.first))),
            (cu::text("second"), self.second.as_deref().map(cu::bytes)),
        ])
    }

    pub fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        Ok(Self {
            first: as_bytes(m.require("first")?, &m.field("first"))?.to_vec(),
            second: m
                .get("second")
                .map(|v| as_bytes(v, &m.field("second")).map(<[u8]>::to_vec))
                .transpose()?,
        })
    }
}

/// The `prf` extension input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrfInputs {
    pub eval: Option<PrfValues>,
    /// Credential ID → salts; keys are byte strings in CBOR (Chromium's encoding).
    pub eval_by_credential: Vec<(Vec<u8>, PrfValues)>,
}

impl PrfInputs {
    /// The salts for credential `id`: its own entry, else `eval`.
    pub fn for_credential(&self, id: &[u8]) -> Option<&PrfValues> {
        self.eval_by_credential
            .iter()
            .find(|(cred, _)| cred == id)
            .map(|(_, v)| v)
            .or(self.eval.as_ref())
    }

    pub fn to_value(&self) -> Value {
        let by_credential = (!self.eval_by_credential.is_empty()).then(|| {
            Value::Map(
                self.eval_by_credential
                    .iter()
                    .map(|(id, values)| (cu::bytes(id), values.to_value()))
                    .collect(),
            )
        });
        cu::map(vec![
            (
                cu::text("eval"),
                self.eval.as_ref().map(PrfValues::to_value),
            ),
            (cu::text("evalByCredential"), by_credential),
        ])
    }

    pub fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        let eval = m
            .get("eval")
            .map(|v| PrfValues::from_value(v, &m.field("eval")))
            .transpose()?;
        let mut eval_by_credential = Vec::new();
        if let Some(v) = m.get("evalByCredential") {
            let field = m.field("evalByCredential");
            for (k, v) in cu::as_map(v, &field)? {
                let id = as_bytes(k, &format!("{field} key"))?;
                if id.is_empty() {
                    return Err(CtapError::invalid(field, "a credential ID is empty"));
                }
                eval_by_credential.push((id.to_vec(), PrfValues::from_value(v, &field)?));
            }
        }
        Ok(Self {
            eval,
            eval_by_credential,
        })
    }
}

/// The `prf` extension output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrfOutputs {
    pub enabled: Option<bool>,
    pub results: Option<PrfValues>,
}

impl PrfOutputs {
    pub fn to_value(&self) -> Value {
        cu::map(vec![
            (cu::text("enabled"), self.enabled.map(Value::Bool)),
            (
                cu::text("results"),
                self.results.as_ref().map(PrfValues::to_value),
            ),
        ])
    }

    pub fn from_value(value: &Value, context: &str) -> Result<Self> {
        let m = TextMap::new(value, context)?;
        Ok(Self {
            enabled: m
                .get("enabled")
                .map(|v| as_bool(v, &m.field("enabled")))
                .transpose()?,
            results: m
                .get("results")
                .map(|v| PrfValues::from_value(v, &m.field("results")))
                .transpose()?,
        })
    }
}
