//! The prompt agent's methods and notifications: `prompts.subscribe`, `prompts.pick`,
//! `prompt.opened`, `prompt.ended`. Sessions that no connection owns (the security key's)
//! are shown to the person by an agent (`cablectl agent`); between `prompt.opened` and
//! `prompt.ended` it gets the session's `session.event`s, as the owner of a session would.

use super::{NoParams, NotificationMethod};
use serde::{Deserialize, Serialize};

/// What `prompts.subscribe` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    pub subscribed: bool,
    /// Prompts open right now; each is replayed to the new agent (`prompt.opened`, then its
    /// QR code) before anything else.
    pub open: usize,
}

method! {
    /// `prompts.subscribe`: this connection shows prompts from now on, until it closes.
    PromptsSubscribe = "prompts.subscribe" (NoParams) -> Subscribed
}

/// `prompts.pick` params: reach this linked phone instead of showing the QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickParams {
    pub session: String,
    /// An id (or unique prefix) from `devices.list` or from `prompt.opened`'s `devices`.
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picked {
    pub session: String,
    pub device: String,
}

method! {
    /// `prompts.pick`: restarts a prompt's session towards one linked phone only.
    PromptsPick = "prompts.pick" (PickParams) -> Picked
}

/// Which way into cabled a prompt's request came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontDoor {
    /// The virtual USB security key (uhid, CTAP-HID).
    SecurityKey,
}

impl FrontDoor {
    /// For people: "a program using the security key".
    pub fn describe(self) -> &'static str {
        match self {
            FrontDoor::SecurityKey => "a program using the phone as a security key",
        }
    }
}

/// A linked phone a prompt may offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptDevice {
    pub id: String,
    pub name: String,
}

/// `prompt.opened` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptOpened {
    pub session: String,
    pub front_door: FrontDoor,
    /// The RP ID the request names (`None` when the request carries none).
    pub rp_id: Option<String>,
    /// `create` (makeCredential) or `get` (getAssertion).
    pub operation: String,
    /// The linked phones being contacted alongside the QR code.
    pub devices: Vec<PromptDevice>,
}

pub struct PromptOpenedNotice;
impl NotificationMethod for PromptOpenedNotice {
    const NAME: &'static str = "prompt.opened";
    type Params = PromptOpened;
}

/// How a prompt's request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    Cancelled,
}

/// `prompt.ended` params: always a prompt's last notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptEnded {
    pub session: String,
    pub outcome: Outcome,
    /// The engine's stable error code, for `failed` and `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For people: what failed and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

pub struct PromptEndedNotice;
impl NotificationMethod for PromptEndedNotice {
    const NAME: &'static str = "prompt.ended";
    type Params = PromptEnded;
}
