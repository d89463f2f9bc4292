//! Which CTAP2 requests the virtual key answers itself, and how (see the crate README).
//!
//! [`classify`] decides from the request alone; [`LocalAnswers`] adds the one piece of state
//! a key keeps between requests, the queue of assertions authenticatorGetNextAssertion hands
//! out after a silent pre-flight.
//!
//! | request | answer |
//! | --- | --- |
//! | getInfo (0x04) | our own, [`get_info_response`] |
//! | makeCredential / getAssertion, user presence wanted | [`Handling::Relay`] to the phone |
//! | getAssertion `up: false` (pre-flight) | every listed credential, placeholder assertions |
//! | selection (0x0B), makeCredential for `.dummy` / `make.me.blink` (device selection, "blink") | [`Handling::AwaitTouch`], then OK / PIN_NOT_SET |
//! | makeCredential `up: false` | CTAP2_ERR_INVALID_OPTION |
//! | getNextAssertion (0x08) | the next pre-flight assertion, else CTAP2_ERR_NOT_ALLOWED |
//! | clientPin, reset, bio enrollment, credential management, large blobs, config, vendor | CTAP1_ERR_INVALID_COMMAND |

mod get_info;
mod request;
mod silent;

use std::collections::VecDeque;

use cable_ctap::CtapStatus;
use cable_qr::RequestType;

pub use get_info::{
    get_info, get_info_response, AAGUID, MAX_CREDENTIAL_COUNT_IN_LIST, MAX_CREDENTIAL_ID_LENGTH,
};
use request::{GetAssertion, MakeCredential};

/// CTAP2 command bytes (CTAP 2.2 §6).
pub mod command {
    pub const MAKE_CREDENTIAL: u8 = 0x01;
    pub const GET_ASSERTION: u8 = 0x02;
    pub const GET_INFO: u8 = 0x04;
    pub const CLIENT_PIN: u8 = 0x06;
    pub const RESET: u8 = 0x07;
    pub const GET_NEXT_ASSERTION: u8 = 0x08;
    pub const SELECTION: u8 = 0x0B;
}

/// The RP IDs browsers use for a makeCredential that only wants a touch: Chromium's touch
/// request for CTAP 2.0 keys (`.dummy`) and Firefox's blink request (`make.me.blink`,
/// authenticator-rs `dummy_make_credentials_cmd`). `.dummy` cannot be a web RP ID.
pub const DUMMY_RP_IDS: [&str; 2] = [".dummy", "make.me.blink"];

/// Which touch-only request a browser sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// authenticatorSelection (0x0B): "touch the key you want to use".
    Selection,
    /// A makeCredential for a [`DUMMY_RP_IDS`] RP: the same question for older keys, or
    /// Firefox collecting a touch before it reports that no credential matched.
    DummyMakeCredential,
}

/// Who answers a CTAP2 request, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// Answer at once with `status ‖ CBOR`. `next_assertions` are the answers to the
    /// getNextAssertion requests that follow (non-empty only after a silent pre-flight;
    /// [`LocalAnswers`] serves them).
    Reply {
        response: Vec<u8>,
        next_assertions: Vec<Vec<u8>>,
    },
    /// Behave like a key waiting for a touch: answer nothing yet, keep the keepalive at
    /// UpNeeded. If the person chooses this key (the caller decides how, e.g. a desktop
    /// prompt "use your phone"), answer `on_touch`; if the host cancels because another key
    /// was touched, the device answers CTAP2_ERR_KEEPALIVE_CANCEL itself. Never start a phone
    /// session for it.
    AwaitTouch { probe: Probe, on_touch: Vec<u8> },
    /// A real makeCredential / getAssertion: relay the request unchanged to the phone.
    Relay { request_type: RequestType },
}

impl Handling {
    fn status(status: CtapStatus) -> Self {
        Handling::Reply {
            response: vec![status.code()],
            next_assertions: Vec::new(),
        }
    }

    fn reply(response: Vec<u8>) -> Self {
        Handling::Reply {
            response,
            next_assertions: Vec::new(),
        }
    }
}

/// Decides a request (`command ‖ CBOR`) on its own, with no state: getNextAssertion is always
/// CTAP2_ERR_NOT_ALLOWED here (use [`LocalAnswers`] to serve pre-flight assertions). Never
/// panics; malformed CBOR gets the status a key would return.
pub fn classify(request: &[u8]) -> Handling {
    let Some((&command, params)) = request.split_first() else {
        return Handling::status(CtapStatus::InvalidLength);
    };
    match command {
        // Parameters on getInfo are ignored, as keys do.
        command::GET_INFO => Handling::reply(get_info_response()),
        command::MAKE_CREDENTIAL => match MakeCredential::parse(params) {
            Err(status) => Handling::status(status),
            Ok(request) => make_credential(&request),
        },
        command::GET_ASSERTION => match GetAssertion::parse(params) {
            Err(status) => Handling::status(status),
            Ok(request) => get_assertion(&request),
        },
        command::SELECTION => Handling::AwaitTouch {
            probe: Probe::Selection,
            on_touch: vec![CtapStatus::Ok.code()],
        },
        // §6.3: with no pre-flight to continue, there is nothing to hand out. A relayed
        // getAssertion never leaves any: the phone picks one account and the session ends.
        command::GET_NEXT_ASSERTION => Handling::status(CtapStatus::NotAllowed),
        // clientPin (0x06) and reset (0x07) included: we announce no PIN, and a phone is not
        // ours to wipe.
        _ => Handling::status(CtapStatus::InvalidCommand),
    }
}

/// The RP ID a makeCredential / getAssertion names, for the person's prompt; `None` for
/// other commands and malformed requests.
pub fn rp_id(request: &[u8]) -> Option<String> {
    let (&command, params) = request.split_first()?;
    match command {
        command::MAKE_CREDENTIAL => MakeCredential::parse(params).ok().map(|r| r.rp_id),
        command::GET_ASSERTION => GetAssertion::parse(params).ok().map(|r| r.rp_id),
        _ => None,
    }
}

fn make_credential(request: &MakeCredential) -> Handling {
    if DUMMY_RP_IDS.contains(&request.rp_id.as_str()) {
        // Once touched, a key answers PIN_NOT_SET to the zero-length pinUvAuthParam Firefox
        // sends (CTAP 2.1 §6.1.2 step 1); a PIN-less key would instead make a throw-away
        // credential, which we cannot. Firefox (`block_and_blink`) and Chromium (`GetTouch`)
        // both count PIN_NOT_SET as "touched", for either form; OPERATION_DENIED they ignore.
        return Handling::AwaitTouch {
            probe: Probe::DummyMakeCredential,
            on_touch: vec![CtapStatus::PinNotSet.code()],
        };
    }
    if request.up == Some(false) {
        // §6.1.2: makeCredential always tests user presence.
        return Handling::status(CtapStatus::InvalidOption);
    }
    Handling::Relay {
        request_type: RequestType::MakeCredential,
    }
}

fn get_assertion(request: &GetAssertion) -> Handling {
    if request.up != Some(false) {
        return Handling::Relay {
            request_type: RequestType::GetAssertion,
        };
    }
    if request.allow_list.is_empty() {
        // A silent discoverable-credential lookup: the phone cannot be asked silently.
        return Handling::status(CtapStatus::NoCredentials);
    }
    let mut answers = silent::assertions(&request.rp_id, &request.allow_list).into_iter();
    match answers.next() {
        Some(response) => Handling::Reply {
            response,
            next_assertions: answers.collect(),
        },
        None => Handling::status(CtapStatus::NoCredentials),
    }
}

/// [`classify`] plus the getNextAssertion queue a key keeps (§6.3): after a silent pre-flight
/// naming several credentials, the following getNextAssertion requests get the remaining
/// assertions; any other request forgets them, as §6.3 says a key does.
#[derive(Debug, Clone, Default)]
pub struct LocalAnswers {
    next_assertions: VecDeque<Vec<u8>>,
}

impl LocalAnswers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Like [`classify`], with getNextAssertion served from the queue. A returned
    /// [`Handling::Reply`] always has empty `next_assertions`: they are queued here.
    pub fn handle(&mut self, request: &[u8]) -> Handling {
        if request == [command::GET_NEXT_ASSERTION] {
            return match self.next_assertions.pop_front() {
                Some(response) => Handling::reply(response),
                None => Handling::status(CtapStatus::NotAllowed),
            };
        }
        self.next_assertions.clear();
        match classify(request) {
            Handling::Reply {
                response,
                next_assertions,
            } => {
                self.next_assertions.extend(next_assertions);
                Handling::reply(response)
            }
            other => other,
        }
    }

    /// The device was reset or the host went away.
    pub fn reset(&mut self) {
        self.next_assertions.clear();
    }
}
