//! What the software authenticator claims to be: the getInfo of a real phone.

use crate::get_info::GetInfoResponse;
use std::collections::BTreeMap;

/// Which phone the software authenticator imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Google Play services (HYBRID.md §7.4): FIDO_2_0/2_1, `prf`, zero AAGUID,
    /// options rk/up/uv true and plat false, transports internal/hybrid.
    Android,
    /// iOS 16 (captured getInfo): FIDO_2_0, AAGUID f24a8e70-d0d3-f82c-2937-32523cc4de5a,
    /// options rk/uv, transports internal/hybrid; no PRF.
    Ios,
}

/// The AAGUID in iOS's getInfo.
pub const IOS_AAGUID: [u8; 16] = [
    0xf2, 0x4a, 0x8e, 0x70, 0xd0, 0xd3, 0xf8, 0x2c, 0x29, 0x37, 0x32, 0x52, 0x3c, 0xc4, 0xde, 0x5a,
];

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn options(list: &[(&str, bool)]) -> BTreeMap<String, bool> {
    list.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

impl Profile {
    pub fn get_info(self) -> GetInfoResponse {
        match self {
            Profile::Android => GetInfoResponse {
                versions: strings(&["FIDO_2_0", "FIDO_2_1"]),
                extensions: strings(&["prf"]),
                aaguid: [0; 16],
                options: options(&[("rk", true), ("up", true), ("uv", true), ("plat", false)]),
                transports: strings(&["internal", "hybrid"]),
                ..GetInfoResponse::default()
            },
            Profile::Ios => GetInfoResponse {
                versions: strings(&["FIDO_2_0"]),
                aaguid: IOS_AAGUID,
                options: options(&[("rk", true), ("uv", true)]),
                transports: strings(&["internal", "hybrid"]),
                ..GetInfoResponse::default()
            },
        }
    }

    /// The AAGUID written into attested credential data.
    pub fn aaguid(self) -> [u8; 16] {
        self.get_info().aaguid
    }

    /// Whether requests' `prf` extension is honoured (only when getInfo lists it).
    pub fn supports_prf(self) -> bool {
        self.get_info().supports_extension(crate::prf::PRF)
    }
}
