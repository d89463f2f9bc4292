//! Recording one session as it runs. A front door begins a [`Recording`] with what it knows
//! (who asked, for what, which site), wraps the engine's event sink with [`Recording::observe`]
//! and, once it has the answer, calls [`Recording::finish`]. The record is written when the
//! last holder lets go: the front door and every clone of the observed sink, which the engine
//! keeps until the session has truly ended (after the phone's late linking offer, too).

use super::record::{
    FrontDoor, Operation, Outcome, PathTaken, SessionRecord, Stage, StageKind, FORMAT,
};
use super::redact;
use super::store::HistoryStore;
use crate::engine::{EventKind, EventSink, SessionError, SessionEvent};
use rand_core::{OsRng, RngCore};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// No session keeps more stages in memory (a race against many linked phones is the most).
const MAX_STAGES: usize = 512;

/// Where a daemon's or a command's sessions are recorded; `off()` records nothing.
#[derive(Clone, Default)]
pub struct Recorder {
    store: Option<Arc<HistoryStore>>,
}

impl Recorder {
    pub fn new(store: HistoryStore) -> Self {
        Self {
            store: Some(Arc::new(store)),
        }
    }

    pub fn off() -> Self {
        Self::default()
    }

    pub fn store(&self) -> Option<&HistoryStore> {
        self.store.as_deref()
    }

    pub fn begin(
        &self,
        front_door: FrontDoor,
        operation: Operation,
        rp_id: Option<String>,
    ) -> Recording {
        let Some(store) = self.store.clone() else {
            return Recording { shared: None };
        };
        let started_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let draft = Draft {
            record: SessionRecord {
                format: FORMAT,
                id: new_id(),
                started_unix_ms,
                front_door,
                operation,
                rp_id: rp_id.map(|id| clean_rp_id(&id)),
                path: None,
                phone: None,
                stages: Vec::new(),
                stages_dropped: 0,
                outcome: Outcome::Unfinished,
                error: None,
                duration_ms: 0,
            },
            finished: false,
            last_status: None,
        };
        Recording {
            shared: Some(Arc::new(Shared {
                store,
                started: Instant::now(),
                draft: Mutex::new(draft),
            })),
        }
    }
}

/// One session being recorded (or nothing, when history is off).
pub struct Recording {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    store: Arc<HistoryStore>,
    started: Instant,
    draft: Mutex<Draft>,
}

struct Draft {
    record: SessionRecord,
    finished: bool,
    /// The status byte of the phone's last CTAP answer.
    last_status: Option<u8>,
}

impl Recording {
    /// The record's ID, when recording.
    pub fn id(&self) -> Option<String> {
        self.shared
            .as_ref()
            .and_then(|s| s.draft.lock().ok().map(|d| d.record.id.clone()))
    }

    /// `sink`, also recording each event (redacted). Sinks made later in the same session
    /// (a retry) keep the session's clock.
    pub fn observe(&self, sink: EventSink) -> EventSink {
        let Some(shared) = self.shared.clone() else {
            return sink;
        };
        let offset = shared.elapsed_ms().saturating_sub(sink.elapsed_ms());
        sink.observed(move |event| shared.observe(event, offset))
    }

    /// The site, when only the first request tells it (raw sessions). A known one stays.
    pub fn set_rp_id(&self, rp_id: Option<String>) {
        let (Some(shared), Some(rp_id)) = (&self.shared, rp_id) else {
            return;
        };
        if let Ok(mut draft) = shared.draft.lock() {
            draft
                .record
                .rp_id
                .get_or_insert_with(|| clean_rp_id(&rp_id));
        }
    }

    /// The session's answer. A failure not already on the timeline is added as its last stage.
    pub fn finish<T>(&self, result: &Result<T, SessionError>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let t_ms = shared.elapsed_ms();
        let Ok(mut draft) = shared.draft.lock() else {
            return;
        };
        if draft.finished {
            return;
        }
        draft.finished = true;
        let last_status = draft.last_status;
        let record = &mut draft.record;
        match result {
            // A raw relay succeeds when it delivered the phone's answer, whatever it said: a
            // refusal on the phone is still the session's failure.
            Ok(_) => match last_status.map(cable_ctap::CtapStatus::from_u8) {
                Some(status) if !status.is_ok() => {
                    record.outcome = Outcome::Failed;
                    record.error = Some(status.machine_code().to_string());
                }
                _ => record.outcome = Outcome::Ok,
            },
            Err(e) => {
                record.outcome = if matches!(e, SessionError::Cancelled) {
                    Outcome::Cancelled
                } else {
                    Outcome::Failed
                };
                let code = e.code().to_string();
                let on_timeline = record
                    .stages
                    .iter()
                    .any(|s| matches!(&s.kind, StageKind::Error { code: c } if *c == code));
                if !on_timeline {
                    push(record, StageKind::Error { code: code.clone() }, t_ms);
                }
                record.error = Some(code);
            }
        }
    }
}

impl Shared {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn observe(&self, event: &SessionEvent, offset: u64) {
        let Some(stage) = redact::stage(event) else {
            return;
        };
        let Ok(mut draft) = self.draft.lock() else {
            return;
        };
        if let EventKind::CtapResponse { status_code, .. } = &event.kind {
            draft.last_status = Some(*status_code);
        }
        let record = &mut draft.record;
        match &event.kind {
            EventKind::PhoneReady { .. } => {
                record.phone = redact::phone(event).or(record.phone.take())
            }
            EventKind::Path { path, .. } => {
                record.path = redact::path_taken(path).or(record.path);
            }
            _ => {}
        }
        push(record, stage.kind, stage.t_ms.saturating_add(offset));
    }
}

fn push(record: &mut SessionRecord, kind: StageKind, t_ms: u64) {
    if record.stages.len() < MAX_STAGES {
        record.stages.push(Stage { kind, t_ms });
    } else {
        record.stages_dropped += 1;
    }
}

impl Drop for Shared {
    /// The last holder is gone: the session is over; write its record.
    fn drop(&mut self) {
        let duration_ms = self.elapsed_ms();
        let Ok(draft) = self.draft.get_mut() else {
            return;
        };
        let mut record = draft.record.clone();
        record.duration_ms = duration_ms;
        if !draft.finished {
            // Nobody took the answer (the caller went away): the last error said, if any.
            record.error = record.stages.iter().rev().find_map(|s| match &s.kind {
                StageKind::Error { code } => Some(code.clone()),
                _ => None,
            });
        }
        if record.path.is_none() {
            record.path = only_path(&record.stages);
        }
        match self.store.save(&record) {
            Ok(_) => tracing::debug!(record = %record.id, "session recorded in the history"),
            Err(e) => {
                tracing::warn!(error = %e, "the session could not be recorded in the history")
            }
        }
    }
}

/// A session that never reached the phone tried one path, when it showed a QR code and
/// contacted no linked phone, or the reverse; `None` when it tried both.
fn only_path(stages: &[Stage]) -> Option<PathTaken> {
    let tried = |name: &str| stages.iter().any(|s| s.kind.name() == name);
    match (tried("qr"), tried("contacting")) {
        (true, false) => Some(PathTaken::Qr),
        (false, true) => Some(PathTaken::Linked),
        _ => None,
    }
}

/// An RP ID is a domain: anything else the request put there is cut to a short printable form.
fn clean_rp_id(rp_id: &str) -> String {
    rp_id
        .chars()
        .filter(|c| !c.is_control())
        .take(253)
        .collect()
}

fn new_id() -> String {
    let mut bytes = [0u8; 6];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::HistorySettings;
    use std::time::Duration;

    fn store(dir: &std::path::Path) -> HistoryStore {
        HistoryStore::open(dir.to_path_buf(), HistorySettings::default()).unwrap()
    }

    #[test]
    fn the_record_is_written_when_the_session_has_ended() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::new(store(dir.path()));
        let recording = recorder.begin(
            FrontDoor::Ipc,
            Operation::Create,
            Some("example.com".into()),
        );
        let sink = recording.observe(EventSink::discard());
        sink.emit(EventKind::Qr {
            url: "FIDO:/0123456789".into(),
        });
        sink.emit(EventKind::PhoneReady {
            versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
            aaguid: "00000000000000000000000000000000".into(),
            features: vec![],
            revision: 1,
        });
        recording.finish(&Ok::<(), SessionError>(()));
        drop(recording);
        let reader = HistoryStore::reader(dir.path().to_path_buf());
        assert!(
            reader.list().unwrap().records.is_empty(),
            "the sink still lives"
        );
        sink.emit(EventKind::Closed);
        drop(sink);
        let records = reader.list().unwrap().records;
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.outcome, Outcome::Ok);
        assert_eq!(r.rp_id.as_deref(), Some("example.com"));
        assert_eq!(r.path, Some(PathTaken::Qr));
        assert_eq!(r.phone.as_ref().unwrap().profile.name(), "android");
        let names: Vec<_> = r.stages.iter().map(|s| s.kind.name()).collect();
        assert_eq!(names, ["qr", "phone_ready", "closed"]);
    }

    #[test]
    fn a_failure_is_the_last_stage_and_the_error_code() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::new(store(dir.path()));
        let recording = recorder.begin(FrontDoor::SecurityKey, Operation::Raw, None);
        recording.set_rp_id(Some("bank.example".into()));
        recording.set_rp_id(Some("other.example".into()));
        let sink = recording.observe(EventSink::discard());
        sink.emit(EventKind::Scanning {
            radio: "Bluetooth".into(),
        });
        drop(sink);
        recording.finish(&Err::<(), _>(SessionError::NoPhone {
            after: Duration::from_secs(1),
        }));
        drop(recording);
        let r = HistoryStore::reader(dir.path().to_path_buf())
            .list()
            .unwrap()
            .records
            .remove(0);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.error.as_deref(), Some("no_phone"));
        assert_eq!(r.rp_id.as_deref(), Some("bank.example"));
        assert_eq!(r.stages.last().unwrap().kind.name(), "error");
    }

    #[test]
    fn a_relayed_refusal_is_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let recording =
            Recorder::new(store(dir.path())).begin(FrontDoor::SecurityKey, Operation::Get, None);
        let sink = recording.observe(EventSink::discard());
        sink.emit(EventKind::CtapResponse {
            status: "CTAP2_ERR_OPERATION_DENIED".into(),
            status_code: 0x27,
        });
        drop(sink);
        recording.finish(&Ok::<(), SessionError>(()));
        drop(recording);
        let r = HistoryStore::reader(dir.path().to_path_buf())
            .list()
            .unwrap()
            .records
            .remove(0);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.error.as_deref(), Some("operation_denied"));
    }

    #[test]
    fn an_abandoned_session_is_unfinished_and_off_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let recording =
            Recorder::new(store(dir.path())).begin(FrontDoor::Cli, Operation::Get, None);
        drop(recording);
        let r = HistoryStore::reader(dir.path().to_path_buf())
            .list()
            .unwrap()
            .records
            .remove(0);
        assert_eq!(r.outcome, Outcome::Unfinished);

        let off = Recorder::off().begin(FrontDoor::Cli, Operation::Get, None);
        assert!(off.id().is_none());
        off.observe(EventSink::discard()).emit(EventKind::Closed);
        off.finish(&Ok::<(), SessionError>(()));
    }
}
