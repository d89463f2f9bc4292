//! The memory of what happened: the redacted timelines of the last sessions, kept on disk
//! (`$XDG_STATE_HOME/cable/history`), and the per-stage metrics computed from them.
//!
//! Read in order: `record` (what one session leaves behind, and nothing more), `redact`
//! (the engine's events → the record's stages), `recording` (recording a session while it
//! runs: the front doors' one hook), `store` (the files: whole or absent, bounded), `stats`
//! (shares and latencies per stage, failure causes).

pub mod record;
pub mod recording;
pub mod redact;
pub mod stats;
pub mod store;

pub use record::{
    FrontDoor, Operation, Outcome, PathTaken, PhoneInfo, PhoneProfile, SessionRecord, Stage,
    StageKind,
};
pub use recording::{Recorder, Recording};
pub use stats::{FailureCause, GroupStats, OutcomeCounts, StageStats, Stats};
pub use store::{default_dir, HistoryError, HistorySettings, HistoryStore, Listing};
