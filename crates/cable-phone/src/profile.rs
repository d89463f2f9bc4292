//! Which real phone the software phone imitates (HYBRID.md §4.1, §5.1, §7.3, §12).
//!
//! Everything a desktop can observe that differs between Android and iOS lives here, so the
//! session code asks the profile instead of matching on it.

use std::fmt;
use std::str::FromStr;

use cable_ble::{UUID_FIDO, UUID_GOOGLE};
use serde::{Deserialize, Serialize};

/// The phone to imitate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneProfile {
    /// Google Play services / Chrome for Android.
    #[default]
    Android,
    /// iOS 16 and later.
    Ios,
}

/// What the phone does when the person cancels the request on its screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelStyle {
    /// Answer `CTAP2_ERR_OPERATION_DENIED` (0x27), then wait for the desktop's shutdown.
    AnswerDenied,
    /// Close the tunnel without answering.
    CloseTunnel,
}

impl PhoneProfile {
    /// Both profiles, for tests and help texts.
    pub const ALL: [PhoneProfile; 2] = [PhoneProfile::Android, PhoneProfile::Ios];

    /// The lower-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Android => "android",
            Self::Ios => "ios",
        }
    }

    /// The 16-bit service UUID the advert is sent under: Android uses the FIDO Alliance's
    /// 0xFFF9; iOS 16 was reported on Google's 0xFDE2 (HYBRID.md §4.1, §12).
    pub fn advert_uuid(self) -> u16 {
        match self {
            Self::Android => UUID_FIDO,
            Self::Ios => UUID_GOOGLE,
        }
    }

    /// The tunnel-server domain ID the advert names: 0 is Google's server, 1 Apple's (§5.1).
    pub fn tunnel_domain_id(self) -> u16 {
        match self {
            Self::Android => 0,
            Self::Ios => 1,
        }
    }

    /// The software authenticator's profile, which fixes getInfo, the AAGUID and PRF support.
    pub fn ctap_profile(self) -> cable_ctap::Profile {
        match self {
            Self::Android => cable_ctap::Profile::Android,
            Self::Ios => cable_ctap::Profile::Ios,
        }
    }

    /// Whether an update message (§7.6) follows the post-handshake message in a QR session.
    /// Chrome-Android always sends one, with or without linking data; iOS never links.
    pub fn sends_update(self) -> bool {
        match self {
            Self::Android => true,
            Self::Ios => false,
        }
    }

    /// What happens when the person cancels on the phone.
    pub fn cancel_style(self) -> CancelStyle {
        match self {
            Self::Android => CancelStyle::AnswerDenied,
            Self::Ios => CancelStyle::CloseTunnel,
        }
    }
}

impl fmt::Display for PhoneProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is neither `android` nor `ios`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown phone profile {0:?}: use \"android\" or \"ios\"")]
pub struct UnknownProfile(pub String);

impl FromStr for PhoneProfile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "android" => Ok(Self::Android),
            "ios" | "iphone" => Ok(Self::Ios),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in PhoneProfile::ALL {
            assert_eq!(p.name().parse::<PhoneProfile>().unwrap(), p);
            assert_eq!(p.to_string(), p.name());
        }
        assert_eq!("iOS".parse::<PhoneProfile>().unwrap(), PhoneProfile::Ios);
        let err = "pixel".parse::<PhoneProfile>().unwrap_err();
        assert!(err.to_string().contains("\"pixel\""), "{err}");
    }

    #[test]
    fn observable_differences() {
        let a = PhoneProfile::Android;
        let i = PhoneProfile::Ios;
        assert_eq!((a.advert_uuid(), i.advert_uuid()), (0xFFF9, 0xFDE2));
        assert_eq!((a.tunnel_domain_id(), i.tunnel_domain_id()), (0, 1));
        assert!(a.sends_update() && !i.sends_update());
        assert_eq!(a.cancel_style(), CancelStyle::AnswerDenied);
        assert_eq!(i.cancel_style(), CancelStyle::CloseTunnel);
        assert_eq!(a.ctap_profile(), cable_ctap::Profile::Android);
        assert_eq!(i.ctap_profile(), cable_ctap::Profile::Ios);
    }
}
