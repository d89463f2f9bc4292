//! What cable's native messaging host speaks to the browser: the WebExtension native messaging
//! framing (a 32-bit length in the machine's byte order, then UTF-8 JSON), sans-IO.
//!
//! The relay to cabled and the binary build on this (issue 9); the framing is kept apart so
//! its limits are tested without a browser.

mod framing;

pub use framing::{encode, Decoder, FramingError, MAX_FROM_BROWSER, MAX_TO_BROWSER};
