//! Helpers for the end-to-end tests in tests/tests/: whole hybrid transactions on loopback.
//!
//! * [`rig`]: a local tunnel server, a virtual-radio address and a desktop engine with short
//!   timeouts; sessions whose progress events a test can wait for.
//! * [`requests`]: WebAuthn options with challenges the test knows.
//! * [`verify`]: checks of what the phone signed, written from the WebAuthn and CTAP specs
//!   with p256, sha2 and ciborium only, so a bug shared by cable-ctap and cable-phone cannot
//!   hide itself.
//! * [`process`]: the `cablectl` command line run as separate processes (desktop and phone).
//! * [`wiretap`]: relays in front of the tunnel server and the radio that keep what passed,
//!   so a test knows a session's secrets; [`secrets`]: those secrets in every spelling a
//!   log or report could use, and where a text shows one.
//!
//! Every wait in these helpers is bounded by [`rig::LIMIT`]: a broken build fails, never hangs.

pub mod cabled_process;
pub mod links_rig;
pub mod process;
pub mod requests;
pub mod rig;
pub mod secrets;
pub mod verify;
pub mod wiretap;
