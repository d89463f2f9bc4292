//! cable's native messaging host: what the WebExtension speaks to reach cabled. The browsers'
//! framing (a 32-bit length in the machine's byte order, then UTF-8 JSON) and the relay to
//! cabled's JSON-RPC socket are sans-IO; the `cable-browser-host` binary is a thin tokio loop
//! around them (docs/browser-host.md).

mod caller;
mod framing;
mod relay;
pub mod socket;

pub use caller::{check_caller, Browser, CallerError, CHROMIUM_ORIGIN, FIREFOX_ID, HOST_NAME};
pub use framing::{encode, Decoder, FramingError, MAX_FROM_BROWSER, MAX_TO_BROWSER};
pub use relay::{
    codes, rpc, DaemonLineTooLong, FatalMessage, Relay, Routed, ALLOWED_METHODS,
    DAEMON_UNAVAILABLE_MESSAGE, DEFAULT_MAX_REQUEST_LINE, MAX_DAEMON_LINE,
};
