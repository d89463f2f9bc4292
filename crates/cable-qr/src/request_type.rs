//! The request-type hint in key 5 of the QR payload (HYBRID.md §2.4).

use std::fmt;

/// What the desktop is about to ask the phone for, so the phone can set up its UI early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestType {
    GetAssertion,
    MakeCredential,
    /// Digital-credential presentation.
    DcPresentation,
    /// Digital-credential issuance (newest Chromium).
    DcIssuance,
}

impl RequestType {
    pub const ALL: [RequestType; 4] = [
        Self::GetAssertion,
        Self::MakeCredential,
        Self::DcPresentation,
        Self::DcIssuance,
    ];

    /// The string sent in the QR code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetAssertion => "ga",
            Self::MakeCredential => "mc",
            Self::DcPresentation => "dcp",
            Self::DcIssuance => "dci",
        }
    }

    /// Reads a hint the way Chromium does: anything unknown (including "") is a getAssertion.
    pub fn parse(s: &str) -> Self {
        match s {
            "mc" => Self::MakeCredential,
            "dcp" => Self::DcPresentation,
            "dci" => Self::DcIssuance,
            _ => Self::GetAssertion,
        }
    }
}

impl From<&str> for RequestType {
    fn from(s: &str) -> Self {
        Self::parse(s)
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
