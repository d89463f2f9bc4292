//! The history on disk: one JSON file per session in `$XDG_STATE_HOME/cable/history`.
//!
//! A record is written to a hidden temporary file, flushed to disk, then renamed into place
//! (and the folder flushed), so a crash leaves either the whole record or none, and never
//! touches an earlier one. Files are named `<start ms>-<id>.json`, so their names sort
//! oldest first; after each write the oldest are removed until at most `keep` records and
//! `max_bytes` remain. Readers skip anything that does not parse as a record of this format
//! (a file someone edited, a stray leftover), so one bad file hides only itself.

use super::record::{SessionRecord, FORMAT};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// No record is larger: stages beyond it are dropped (and counted) before writing.
pub const MAX_RECORD_BYTES: usize = 32 * 1024;
/// Temporary files older than this are a crashed writer's leftovers.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// How much history to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySettings {
    /// False: no session is recorded (what is stored stays until removed by hand).
    pub enabled: bool,
    /// The newest this many sessions are kept.
    pub keep: usize,
    /// And at most this many bytes of them.
    pub max_bytes: u64,
}

impl Default for HistorySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            keep: 100,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot find the history folder: neither XDG_STATE_HOME nor HOME is set")]
    NoFolder,
    #[error("cannot use the history folder {}: {source}; check that it is yours and writable, or set `[history] enabled = false` in cabled.toml", .path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the session record {}: {source}; is the disk full?", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the session record: {0}")]
    Encode(serde_json::Error),
    #[error("{prefix:?} matches {count} sessions: give more of the ID")]
    Ambiguous { prefix: String, count: usize },
}

/// `$XDG_STATE_HOME/cable/history`, else `~/.local/state/cable/history`. A relative
/// `XDG_STATE_HOME` is invalid by the XDG spec and ignored.
pub fn default_dir() -> Result<PathBuf, HistoryError> {
    dir_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

fn dir_from(xdg: Option<OsString>, home: Option<OsString>) -> Result<PathBuf, HistoryError> {
    let state = xdg
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".local").join("state"))
        })
        .ok_or(HistoryError::NoFolder)?;
    Ok(state.join("cable").join("history"))
}

/// Records read back, newest first.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub records: Vec<SessionRecord>,
    /// Files that are not readable records (skipped).
    pub skipped: usize,
}

#[derive(Debug, Clone)]
pub struct HistoryStore {
    dir: PathBuf,
    settings: HistorySettings,
}

impl HistoryStore {
    /// The history in `dir`, created (mode 0700) if missing.
    pub fn open(dir: PathBuf, settings: HistorySettings) -> Result<Self, HistoryError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| HistoryError::Folder {
                path: dir.clone(),
                source,
            })?;
        Ok(Self { dir, settings })
    }

    pub fn open_default(settings: HistorySettings) -> Result<Self, HistoryError> {
        Self::open(default_dir()?, settings)
    }

    /// The history in `dir` for reading only: nothing is created.
    pub fn reader(dir: PathBuf) -> Self {
        Self {
            dir,
            settings: HistorySettings::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> HistorySettings {
        self.settings
    }

    /// Writes `record` whole or not at all, then prunes the oldest records.
    pub fn save(&self, record: &SessionRecord) -> Result<PathBuf, HistoryError> {
        let bytes = encode_within_limit(record)?;
        let name = file_name(record);
        let path = self.dir.join(&name);
        let temp = self.dir.join(format!(".{name}.tmp"));
        let write = |source| HistoryError::Write {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(write)?;
        let written = file
            .write_all(&bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&temp, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(write(e));
        }
        // The rename itself must reach the disk before older records are pruned.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        self.prune();
        Ok(path)
    }

    /// Every readable record, newest first.
    pub fn list(&self) -> Result<Listing, HistoryError> {
        let mut listing = Listing::default();
        for (name, path, _) in self.files()?.into_iter().rev() {
            match read_record(&path, &name) {
                Some(record) => listing.records.push(record),
                None => listing.skipped += 1,
            }
        }
        Ok(listing)
    }

    /// The record whose ID is or starts with `prefix`.
    pub fn get(&self, prefix: &str) -> Result<Option<SessionRecord>, HistoryError> {
        let wanted = prefix.to_ascii_lowercase();
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut matching: Vec<SessionRecord> = self
            .list()?
            .records
            .into_iter()
            .filter(|r| r.id.starts_with(&wanted))
            .collect();
        match matching.len() {
            0 | 1 => Ok(matching.pop()),
            count => Err(HistoryError::Ambiguous {
                prefix: prefix.to_string(),
                count,
            }),
        }
    }

    /// Record files as (name, path, size), oldest first.
    fn files(&self) -> Result<Vec<(String, PathBuf, u64)>, HistoryError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(HistoryError::Folder {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !is_record_name(&name) {
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            files.push((name, entry.path(), size));
        }
        files.sort();
        Ok(files)
    }

    /// Removes the oldest records beyond `keep` or `max_bytes`, and crashed writers' temporary
    /// files. Another process pruning at once is harmless: a file already gone is skipped.
    fn prune(&self) {
        let Ok(files) = self.files() else {
            return;
        };
        let mut count = files.len();
        let mut bytes: u64 = files.iter().map(|(_, _, size)| size).sum();
        for (_, path, size) in &files {
            if count <= self.settings.keep && bytes <= self.settings.max_bytes {
                break;
            }
            let _ = fs::remove_file(path);
            count -= 1;
            bytes = bytes.saturating_sub(*size);
        }
        self.remove_stale_temps();
    }

    fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with('.') && name.ends_with(".json.tmp")) {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_TEMP);
            if old {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn file_name(record: &SessionRecord) -> String {
    format!("{:013}-{}.json", record.started_unix_ms, record.id)
}

/// `<digits>-<hex>.json`, nothing else (temporary files start with a dot).
fn is_record_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    let Some((time, id)) = stem.split_once('-') else {
        return false;
    };
    !time.is_empty()
        && time.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The record in `path`, if it is a whole record of this format whose ID is its name's.
fn read_record(path: &Path, name: &str) -> Option<SessionRecord> {
    let mut bytes = Vec::new();
    File::open(path)
        .ok()?
        .take(MAX_RECORD_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() > MAX_RECORD_BYTES {
        return None;
    }
    let record: SessionRecord = serde_json::from_slice(&bytes).ok()?;
    (record.format == FORMAT && file_name(&record) == name).then_some(record)
}

/// The record's JSON, with stages dropped from the middle (the start and the end say most)
/// until it fits `MAX_RECORD_BYTES`.
fn encode_within_limit(record: &SessionRecord) -> Result<Vec<u8>, HistoryError> {
    let mut record = record.clone();
    loop {
        let bytes = serde_json::to_vec_pretty(&record).map_err(HistoryError::Encode)?;
        if bytes.len() <= MAX_RECORD_BYTES || record.stages.len() <= 2 {
            return Ok(bytes);
        }
        let drop = (record.stages.len() / 4).max(1);
        let middle = record.stages.len() / 2;
        let start = middle.saturating_sub(drop / 2);
        record.stages.drain(start..start + drop);
        record.stages_dropped += drop;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::history::record::*;

    pub(crate) fn record(id: &str, started: u64) -> SessionRecord {
        SessionRecord {
            format: FORMAT,
            id: id.to_string(),
            started_unix_ms: started,
            front_door: FrontDoor::Ipc,
            operation: Operation::Get,
            rp_id: Some("example.com".into()),
            path: Some(PathTaken::Qr),
            phone: None,
            stages: vec![
                Stage {
                    kind: StageKind::Qr,
                    t_ms: 0,
                },
                Stage {
                    kind: StageKind::Closed,
                    t_ms: 900,
                },
            ],
            stages_dropped: 0,
            outcome: Outcome::Ok,
            error: None,
            duration_ms: 900,
        }
    }

    fn settings(keep: usize, max_bytes: u64) -> HistorySettings {
        HistorySettings {
            enabled: true,
            keep,
            max_bytes,
        }
    }

    #[test]
    fn keeps_the_newest_records_within_count_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path().join("h"), settings(3, 1 << 20)).unwrap();
        for i in 0..5u64 {
            store
                .save(&record(&format!("00000000000{i}"), 1000 + i))
                .unwrap();
        }
        let ids: Vec<String> = store
            .list()
            .unwrap()
            .records
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["000000000004", "000000000003", "000000000002"]);

        let one = serde_json::to_vec_pretty(&record("000000000009", 19))
            .unwrap()
            .len() as u64;
        let small = HistoryStore::open(dir.path().join("b"), settings(100, 2 * one + 1)).unwrap();
        for i in 0..4u64 {
            small
                .save(&record(&format!("00000000000{i}"), 10 + i))
                .unwrap();
        }
        assert_eq!(small.list().unwrap().records.len(), 2);
    }

    #[test]
    fn torn_foreign_and_oversized_files_are_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path().to_path_buf(), settings(10, 1 << 20)).unwrap();
        store.save(&record("aaaaaaaaaaaa", 5)).unwrap();
        // A crash mid-write of a writer without our rename, a renamed file, and junk.
        let whole = serde_json::to_string(&record("bbbbbbbbbbbb", 6)).unwrap();
        fs::write(
            dir.path().join("0000000000006-bbbbbbbbbbbb.json"),
            &whole[..whole.len() / 2],
        )
        .unwrap();
        fs::write(dir.path().join("0000000000007-cccccccccccc.json"), &whole).unwrap();
        fs::write(
            dir.path().join("0000000000008-dddddddddddd.json"),
            vec![b' '; MAX_RECORD_BYTES + 10],
        )
        .unwrap();
        fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        fs::write(dir.path().join(".0000000000009-eeeeeeeeeeee.json.tmp"), "{").unwrap();
        let listing = store.list().unwrap();
        assert_eq!(listing.records.len(), 1);
        assert_eq!(listing.records[0].id, "aaaaaaaaaaaa");
        assert_eq!(listing.skipped, 3);
        assert!(store.get("aaaa").unwrap().is_some());
        assert!(store.get("bbbb").unwrap().is_none());
    }

    #[test]
    fn a_prefix_must_be_unique() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path().to_path_buf(), settings(10, 1 << 20)).unwrap();
        store.save(&record("ab0000000001", 1)).unwrap();
        store.save(&record("ab0000000002", 2)).unwrap();
        let e = store.get("ab").unwrap_err();
        assert!(e.to_string().contains("matches 2 sessions"), "{e}");
        assert_eq!(
            store.get("AB0000000002").unwrap().unwrap().started_unix_ms,
            2
        );
        assert!(store.get("").unwrap().is_none());
    }

    #[test]
    fn oversized_records_lose_middle_stages_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path().to_path_buf(), settings(10, 1 << 20)).unwrap();
        let mut big = record("ffffffffffff", 1);
        big.stages = (0..5000)
            .map(|t| Stage {
                kind: StageKind::LinkFailed {
                    code: "tunnel_unreachable".into(),
                    forgotten: false,
                },
                t_ms: t,
            })
            .collect();
        let path = store.save(&big).unwrap();
        assert!(fs::metadata(&path).unwrap().len() as usize <= MAX_RECORD_BYTES);
        let back = store.get("ffffffffffff").unwrap().unwrap();
        assert_eq!(back.stages.len() + back.stages_dropped, 5000);
        assert_eq!(back.stages.first().unwrap().t_ms, 0);
        assert_eq!(back.stages.last().unwrap().t_ms, 4999);
    }

    #[test]
    fn files_are_private_and_no_temporary_file_stays() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("state/cable/history");
        let store = HistoryStore::open(folder.clone(), settings(10, 1 << 20)).unwrap();
        let path = store.save(&record("123456789abc", 1)).unwrap();
        assert_eq!(
            fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn the_folder_follows_xdg() {
        let dir =
            |x: Option<&str>, h: Option<&str>| dir_from(x.map(Into::into), h.map(Into::into)).ok();
        assert_eq!(
            dir(Some("/s"), Some("/h")),
            Some(PathBuf::from("/s/cable/history"))
        );
        assert_eq!(
            dir(Some("rel"), Some("/h")),
            Some(PathBuf::from("/h/.local/state/cable/history"))
        );
        assert_eq!(dir(None, None), None);
    }
}
