//! The history methods: `history.list`, `history.get` and `daemon.stats`, over the redacted
//! records of past sessions (`crate::history`).

use crate::history::{SessionRecord, Stats};
use serde::{Deserialize, Serialize};

/// `history.list` / `daemon.stats` params: only the newest `last` sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryListing {
    /// False when this daemon records no history (`[history] enabled = false`).
    pub enabled: bool,
    /// The folder of the records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Newest first.
    pub sessions: Vec<SessionRecord>,
    /// Files in the folder that are not readable records.
    pub skipped: usize,
}

method! {
    /// `history.list`: the recorded sessions, newest first.
    HistoryList = "history.list" (LastParams) -> HistoryListing
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryGetParams {
    /// A record ID or a unique prefix of one.
    pub id: String,
}

method! {
    /// `history.get`: one recorded session.
    HistoryGet = "history.get" (HistoryGetParams) -> SessionRecord
}

method! {
    /// `daemon.stats`: per-stage metrics and failure causes over the recorded sessions.
    DaemonStats = "daemon.stats" (LastParams) -> Stats
}
