//! The SQLite file: opening it without changing a byte until it is known to be sound, the WAL
//! set-up that lets several processes share it, and the one-transaction initialisation.

use crate::key::{self, KeySource};
use crate::seal::{self, StoreKey, SEALED_LEN};
use crate::StoreError;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// Version in `PRAGMA user_version`; 0 means a fresh, empty file.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// The first 16 bytes of every SQLite database file.
const MAGIC: &[u8] = b"SQLite format 3\0";

/// How long one statement waits for another process's write lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

// The CHECK on `sealed_secret` below spells out this length.
const _: () = assert!(SEALED_LEN == 60);

const CREATE: &str = "
CREATE TABLE links (
    phone_public_key BLOB PRIMARY KEY CHECK (length(phone_public_key) = 65),
    id               TEXT NOT NULL UNIQUE,
    contact_id       BLOB NOT NULL CHECK (length(contact_id) > 0),
    link_id          BLOB NOT NULL CHECK (length(link_id) = 8),
    sealed_secret    BLOB NOT NULL CHECK (length(sealed_secret) = 60),
    name             TEXT NOT NULL,
    tunnel_domain_id INTEGER NOT NULL CHECK (tunnel_domain_id BETWEEN 0 AND 65535),
    created          INTEGER NOT NULL CHECK (created >= 0),
    last_used        INTEGER NOT NULL CHECK (last_used >= 0)
) STRICT;
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
";

/// Opens an existing file read-write. Nothing is written yet.
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::sqlite(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::sqlite(path, e))?;
    Ok(conn)
}

/// Reads every page's structure (read-only). Garbage, truncation and torn pages surface here,
/// before anything could write to the file.
pub(crate) fn check_integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    check_whole_pages(path)?;
    let sqlite = |e| StoreError::sqlite(path, e);
    let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(sqlite)?;
    let problems = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(sqlite)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite)?;
    match problems.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(StoreError::corrupt(
            path,
            format!("SQLite reports: {}", problems.join("; ")),
        )),
    }
}

/// SQLite reads a cut-off last page as zeros without complaint, so check the length: an SQLite
/// file is always a whole number of pages (page size: big-endian u16 at offset 16, 1 = 65536).
/// Another process's checkpoint may be extending the file right now, so a bad length is only
/// believed when it lasts.
fn check_whole_pages(path: &Path) -> Result<(), StoreError> {
    let mut tries = 0;
    loop {
        match cut_short(path)? {
            None => return Ok(()),
            Some(_) if tries < 5 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(reason) => return Err(StoreError::corrupt(path, reason)),
        }
    }
}

fn cut_short(path: &Path) -> Result<Option<String>, StoreError> {
    let mut header = [0u8; 100];
    let mut file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    if len < 100 || file.read_exact(&mut header).is_err() || !header.starts_with(MAGIC) {
        return Ok(None); // Empty (a new store), or SQLite itself will say it is not a database.
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    Ok((page_size < 512 || len % page_size != 0).then(|| {
        format!("the file is {len} bytes, not a whole number of {page_size}-byte pages: it was cut short")
    }))
}

/// Refuses a database that is not a link store (or is a newer one) before anything writes.
pub(crate) fn check_ours(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    state(conn, path).map(|_| ())
}

/// WAL: readers never block the writer and a kill -9 loses at most the transaction in flight.
/// `synchronous = FULL` also makes each commit durable across power loss.
pub(crate) fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "cell_size_check", "ON")
        .map_err(sqlite)?;
    let started = Instant::now();
    loop {
        // Switching a fresh file to WAL needs an exclusive lock and SQLite does not run the busy
        // handler for it, so retry for as long as a statement would wait.
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(StoreError::corrupt(
                    path,
                    format!("SQLite cannot use its write-ahead log here (journal mode {mode})"),
                ))
            }
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(sqlite(e)),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// What the file holds.
enum State {
    Fresh,
    /// A link store; its key source and key check value.
    Ready(KeySource, Vec<u8>),
}

fn state(conn: &Connection, path: &Path) -> Result<State, StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite)?;
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .map_err(sqlite)?;
    let tables = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(sqlite)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.into(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version == 0 && tables.is_empty() {
        return Ok(State::Fresh);
    }
    if version != SCHEMA_VERSION || tables != ["links", "meta"] {
        return Err(StoreError::corrupt(
            path,
            format!(
                "it is an SQLite database but not a cable link store \
                 (schema version {version}, tables {tables:?})"
            ),
        ));
    }
    let source = meta(conn, path, "key_source")?;
    let source = std::str::from_utf8(&source)
        .ok()
        .and_then(KeySource::from_tag)
        .ok_or_else(|| StoreError::corrupt(path, "it names no known place for its key"))?;
    Ok(State::Ready(source, meta(conn, path, "key_check")?))
}

fn meta(conn: &Connection, path: &Path, key: &str) -> Result<Vec<u8>, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
        row.get(0)
    })
    .optional()
    .map_err(|e| StoreError::sqlite(path, e))?
    .ok_or_else(|| StoreError::corrupt(path, format!("its `{key}` record is missing")))
}

/// Brings the file to a ready store and returns its key and where the key lives.
///
/// A fresh file is initialised in one IMMEDIATE transaction (schema, key source, key check),
/// so a crash leaves it either fresh or complete, and two processes cannot both create a key.
pub(crate) fn load_or_initialize(
    conn: &mut Connection,
    path: &Path,
    requested: KeySource,
) -> Result<(KeySource, StoreKey), StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    if let State::Fresh = state(conn, path)? {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        if let State::Fresh = state(&tx, path)? {
            let (source, key) = key::load_or_create(requested, path)?;
            tx.execute_batch(CREATE).map_err(sqlite)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('key_source', ?1), ('key_check', ?2)",
                (source.tag().as_bytes(), seal::key_check(&key)),
            )
            .map_err(sqlite)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sqlite)?;
            tx.commit().map_err(sqlite)?;
            return Ok((source, key));
        }
        // Another process initialised it while we waited for the lock: load it as it is.
    }
    let State::Ready(stored, check) = state(conn, path)? else {
        return Err(StoreError::corrupt(
            path,
            "it lost its tables while being opened",
        ));
    };
    let source = if requested == KeySource::Auto {
        stored
    } else {
        requested
    };
    let key = key::load(source, path)?;
    if !seal::verify_key_check(&key, &check) {
        return Err(StoreError::corrupt(
            path,
            format!(
                "the link secrets do not decrypt with the key from the {} (the key was replaced \
                 or lost)",
                describe(source)
            ),
        ));
    }
    Ok((source, key))
}

pub(crate) fn describe(source: KeySource) -> &'static str {
    match source {
        KeySource::SecretService => "Secret Service",
        KeySource::File | KeySource::Auto => "key file",
    }
}
