//! The virtual key's own authenticatorGetInfo (CTAP 2.2 §6.4), answered without the phone.
//!
//! Every field is chosen so that browsers and libfido2 send plain makeCredential and
//! getAssertion with no PIN step in between; the phone then does user verification itself:
//! * `versions` FIDO_2_0 and FIDO_2_1, no U2F_V2 (we implement no CTAPHID_MSG). FIDO_2_1 makes
//!   Firefox and Chromium pick a device with authenticatorSelection (0x0B) instead of a dummy
//!   makeCredential.
//! * `options` rk, up, uv true and plat false; **no** `clientPin` and no `pinUvAuthToken`:
//!   without them a client neither asks for a PIN nor fetches a token with clientPin
//!   subcommands we cannot serve, and sends the CTAP 2.0 style `uv` option instead.
//! * `pinUvAuthProtocols` [2, 1] although we serve no clientPin subcommand: python-fido2
//!   (1.1) builds its PIN/UV helper whenever it wants UV and refuses a key that lists no
//!   protocol; with no `pinUvAuthToken` option it then sends the `uv` option, as the others do.
//! * an empty `extensions` list (present, as python-fido2 requires): a listed hmac-secret would make clients run the clientPin key agreement
//!   first. Extensions a page asks for still travel inside the relayed CBOR.
//! * `transports` hybrid and internal: where a credential made through us really lives. The
//!   browser may store these hints with the credential, so another browser later offers the
//!   phone (QR) for it rather than only USB keys.

use cable_ctap::{CborMessage, CredentialParameter, GetInfoResponse, ES256};
use std::collections::BTreeMap;

use crate::packet::MAX_MESSAGE_LEN;

/// Our AAGUID, 537a17fa-7990-4363-a0f7-bea9fd90e68c: 16 random bytes drawn once for cable's
/// virtual key (version-4 UUID layout), so RPs can tell it apart. It is the getInfo AAGUID
/// only; the phone's attestation carries the phone's own.
pub const AAGUID: [u8; 16] = [
    0x53, 0x7a, 0x17, 0xfa, 0x79, 0x90, 0x43, 0x63, 0xa0, 0xf7, 0xbe, 0xa9, 0xfd, 0x90, 0xe6, 0x8c,
];

/// maxCredentialCountInList: more descriptors than fit one message (each takes at least 21
/// bytes of CBOR), so every list a host can send is one chunk. Firefox and Chromium split
/// longer lists into chunks and probe them with silent getAssertions; Chromium then also
/// rejects a pre-flight answer with numberOfCredentials, which ours has (see `silent`), and
/// whichever chunk "matched" would be all the phone gets to see. One chunk avoids all three.
pub const MAX_CREDENTIAL_COUNT_IN_LIST: u64 = (MAX_MESSAGE_LEN / 21) as u64;

/// maxCredentialIdLength: WebAuthn's limit for any credential ID (1023 bytes), so no ID a
/// phone may have made is filtered out. Chromium needs it set: without it, it assumes one
/// credential per chunk (device/fido `FilterAndBatchCredentialDescriptors`).
pub const MAX_CREDENTIAL_ID_LENGTH: u64 = 1023;

/// The getInfo fields, typed.
pub fn get_info() -> GetInfoResponse {
    let options: BTreeMap<String, bool> = [("rk", true), ("up", true), ("uv", true)]
        .into_iter()
        .chain([("plat", false)])
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    GetInfoResponse {
        versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
        extensions: Vec::new(),
        aaguid: AAGUID,
        options,
        max_msg_size: Some(MAX_MESSAGE_LEN as u64),
        pin_uv_auth_protocols: vec![2, 1],
        max_credential_count_in_list: Some(MAX_CREDENTIAL_COUNT_IN_LIST),
        max_credential_id_length: Some(MAX_CREDENTIAL_ID_LENGTH),
        transports: vec!["hybrid".into(), "internal".into()],
        algorithms: vec![CredentialParameter::public_key(ES256)],
        firmware_version: None,
        remaining_discoverable_credentials: None,
        attestation_formats: Vec::new(),
    }
}

/// The whole answer: `CTAP2_OK ‖ canonical CBOR`.
pub fn get_info_response() -> Vec<u8> {
    let mut value = get_info().to_value();
    // extensions (0x02) present even when empty: python-fido2 (1.1) refuses a getInfo
    // without it, and CTAP allows an empty list.
    if let cable_keys::cbor::Value::Map(entries) = &mut value {
        let has_extensions = entries
            .iter()
            .any(|(k, _)| k.as_integer() == Some(2.into()));
        if !has_extensions {
            entries.push((2.into(), cable_keys::cbor::Value::Array(Vec::new())));
        }
    }
    let mut out = vec![0x00];
    out.extend(cable_keys::cbor::to_canonical_vec(&value));
    out
}
