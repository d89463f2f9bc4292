//! Who started the host. Browsers pass the caller on the command line: Chromium-family
//! browsers `chrome-extension://ID/` (then perhaps `--parent-window=N` on Windows), Firefox
//! the manifest's path and then the extension's ID. The manifests' `allowed_origins` /
//! `allowed_extensions` already restrict this; the host checks again so that a manifest
//! edited by hand, or another extension's manifest pointing here, does not open cabled to
//! another extension.

use thiserror::Error;

/// The native host's name (the manifest file is `org.cable.hybrid.json`).
pub const HOST_NAME: &str = "org.cable.hybrid";
/// The extension's origin in Chromium-family browsers (its ID is fixed by the manifest `key`).
pub const CHROMIUM_ORIGIN: &str = "chrome-extension://cpljglomlfjdmdmkoikijgaiomcikked/";
/// The extension's ID in Firefox (`browser_specific_settings.gecko.id`).
pub const FIREFOX_ID: &str = "cable@cable-hybrid.invalid";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallerError {
    #[error("cable-browser-host is started by a web browser for cable's extension, not by hand (it speaks the browsers' native messaging on stdin/stdout); install it with `cablectl browser install`")]
    NoCaller,
    #[error("cable-browser-host serves only cable's extension ({CHROMIUM_ORIGIN} or {FIREFOX_ID}), not {0:?}")]
    Stranger(String),
}

/// Which browser family started the host, once the caller is known to be cable's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
}

/// Checks the arguments after the program name.
pub fn check_caller(args: &[String]) -> Result<Browser, CallerError> {
    let first = args.first().ok_or(CallerError::NoCaller)?;
    if first.starts_with("chrome-extension://") {
        // Accept the origin with or without its trailing slash.
        return if first.trim_end_matches('/') == CHROMIUM_ORIGIN.trim_end_matches('/') {
            Ok(Browser::Chromium)
        } else {
            Err(CallerError::Stranger(first.clone()))
        };
    }
    match args.get(1) {
        Some(id) if id == FIREFOX_ID => Ok(Browser::Firefox),
        Some(id) => Err(CallerError::Stranger(id.clone())),
        None => Err(CallerError::NoCaller),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chromium_and_firefox_callers_are_recognised() {
        assert_eq!(
            check_caller(&args(&[CHROMIUM_ORIGIN])),
            Ok(Browser::Chromium)
        );
        assert_eq!(
            check_caller(&args(&[CHROMIUM_ORIGIN, "--parent-window=0"])),
            Ok(Browser::Chromium)
        );
        assert_eq!(
            check_caller(&args(&[
                "/home/u/.mozilla/native-messaging-hosts/org.cable.hybrid.json",
                FIREFOX_ID
            ])),
            Ok(Browser::Firefox)
        );
    }

    #[test]
    fn other_extensions_and_people_are_refused() {
        assert!(matches!(
            check_caller(&args(&[
                "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
            ])),
            Err(CallerError::Stranger(_))
        ));
        assert!(matches!(
            check_caller(&args(&["/m.json", "evil@example.com"])),
            Err(CallerError::Stranger(_))
        ));
        assert_eq!(check_caller(&args(&[])), Err(CallerError::NoCaller));
        assert_eq!(check_caller(&args(&["--help"])), Err(CallerError::NoCaller));
    }
}
