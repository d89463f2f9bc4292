//! The `session.event` notification: a session's progress.

use super::NotificationMethod;
use crate::engine::SessionEvent;
use serde::{Deserialize, Serialize};

/// `{session, event, t_ms, …}`: the engine's event (the same JSON as `cablectl --json`) with
/// the session it belongs to, and the QR code drawn as SVG for `qr` events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionEventParams {
    pub session: String,
    #[serde(flatten)]
    pub event: SessionEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svg: Option<String>,
}

pub struct SessionEventNotice;
impl NotificationMethod for SessionEventNotice {
    const NAME: &'static str = "session.event";
    type Params = SessionEventParams;
}
