//! The IPC contract as types: one params type and one result type per method, tied to the
//! method's name by [`Method`]. The daemon's dispatch (`methods`) decodes with them and
//! `Client::call::<M>` encodes with them, so the two ends cannot drift apart; docs/ipc.md's
//! examples are checked against them by a test.

/// Declares a method: `Name = "wire.name" (Params) -> Result`, a unit type implementing
/// [`Method`].
macro_rules! method {
    ($(#[$doc:meta])* $name:ident = $wire:literal ($params:ty) -> $result:ty) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::ipc::api::Method for $name {
            const NAME: &'static str = $wire;
            type Params = $params;
            type Result = $result;
        }
    };
}

mod decode;
mod devices;
mod event;
mod history;
mod prompts;
mod sessions;
mod status;

pub use decode::{decode_params, Base64Url};
pub use devices::{
    Device, Devices, DevicesForget, DevicesList, DevicesRename, ForgetParams, Forgotten, IdParams,
    RenameParams, Renamed,
};
pub use event::{SessionEventNotice, SessionEventParams};
pub use history::{
    DaemonStats, HistoryGet, HistoryGetParams, HistoryList, HistoryListing, LastParams,
};
pub use prompts::{
    FrontDoor, Outcome, PickParams, Picked, PromptDevice, PromptEnded, PromptEndedNotice,
    PromptOpened, PromptOpenedNotice, PromptsPick, PromptsSubscribe, Subscribed,
};
pub use sessions::{
    Cancelled, CtapResponse, CtapSend, CtapSendParams, HybridStart, HybridStartParams,
    RequestTypeName, SessionCancel, SessionParams, Started, WebAuthnCreate, WebAuthnGet,
    WebAuthnParams,
};
pub use status::{
    BluetoothStatus, DaemonStatus, RadioStatus, SecurityKeyStatus, SessionCounts, Status,
    StoreStatus,
};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One method: its wire name, what it takes and what it answers.
pub trait Method {
    const NAME: &'static str;
    type Params: Serialize + DeserializeOwned + Send + 'static;
    type Result: Serialize + DeserializeOwned + Send + 'static;
}

/// One notification the daemon sends.
pub trait NotificationMethod {
    const NAME: &'static str;
    type Params: Serialize + DeserializeOwned + Send + 'static;
}

/// Params of methods that take none (`{}` or absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The methods and notifications that exist, for code that meets a name at run time (the
/// docs test): `visit` is called with the matching type.
pub trait Visitor {
    type Output;
    fn method<M: Method>(self) -> Self::Output;
    fn notification<N: NotificationMethod>(self) -> Self::Output;
}

/// The one method table: every method (in the order the docs list them) and every
/// notification. `NAMES` and `visit` are generated from it, and the daemon's dispatch is
/// checked against `NAMES` by a test, so adding a method means adding it here.
macro_rules! method_table {
    (methods: $($method:ident),+; notifications: $($note:ident),+ $(,)?) => {
        /// Every method, in the order the docs list them (for `method_not_found`).
        pub const NAMES: &[&str] = &[$($method::NAME),+];

        /// Calls `visitor` with the method or notification named `name`; `None` if there is
        /// none.
        pub fn visit<V: Visitor>(name: &str, visitor: V) -> Option<V::Output> {
            $(if name == $method::NAME {
                return Some(visitor.method::<$method>());
            })+
            $(if name == $note::NAME {
                return Some(visitor.notification::<$note>());
            })+
            None
        }
    };
}

method_table! {
    methods: WebAuthnCreate, WebAuthnGet, HybridStart, CtapSend, SessionCancel, DevicesList,
        DevicesRename, DevicesForget, DaemonStatus, PromptsSubscribe, PromptsPick, HistoryList,
        HistoryGet, DaemonStats;
    notifications: SessionEventNotice, PromptOpenedNotice, PromptEndedNotice,
}
