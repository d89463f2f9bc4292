//! `LinkStore`: the linked phones of this computer, one SQLite row per phone public key.
//!
//! Every change is one SQL statement, so it is its own transaction: committed whole or not at
//! all. Times are passed in (unix seconds); the store never reads the clock.

use crate::key::KeySource;
use crate::model::{DeviceId, Link, LinkSummary, NewLink};
use crate::{paths, schema, seal, StoreError};
use cable_keys::PublicKey;
use rusqlite::{Connection, OptionalExtension, Row};
use std::fmt;
use std::path::{Path, PathBuf};

/// An open store. `Send`, not `Sync`: share it behind a mutex, or open one per thread. Any
/// number of processes may have the same file open at once.
pub struct LinkStore {
    conn: Connection,
    path: PathBuf,
    key: seal::StoreKey,
    key_source: KeySource,
}

impl fmt::Debug for LinkStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkStore")
            .field("path", &self.path)
            .field("key_source", &self.key_source)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, phone_public_key, contact_id, link_id, sealed_secret, name, \
                       tunnel_domain_id, created, last_used";

impl LinkStore {
    /// Opens (or creates) the store at the XDG default, `~/.local/share/cable/links.db`.
    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(paths::default_path()?)
    }

    /// Opens (or creates) the store at `path`; the key stays where the store keeps it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, KeySource::Auto)
    }

    /// Opens (or creates) the store at `path`, taking the key from `key_source`.
    ///
    /// A damaged file, a file that is not a link store, or a key that does not fit is an error
    /// and the file is left byte for byte as it was.
    pub fn open_with(path: impl AsRef<Path>, key_source: KeySource) -> Result<Self, StoreError> {
        let path = path.as_ref();
        paths::prepare(path)?;
        // The key lives next to the store as named, even when that name is a symlink; the
        // database itself is opened at its real place.
        let named = std::path::absolute(path).map_err(|e| StoreError::io(path, e))?;
        let path = std::fs::canonicalize(path).map_err(|e| StoreError::io(path, e))?;
        let mut conn = schema::connect(&path)?;
        schema::check_integrity(&conn, &path)?;
        schema::check_ours(&conn, &path)?;
        paths::tighten(&path)?;
        schema::configure(&conn, &path)?;
        let (key_source, key) = schema::load_or_initialize(&mut conn, &named, key_source)?;
        Ok(Self {
            conn,
            path,
            key,
            key_source,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this store's key is kept (never `Auto`).
    pub fn key_source(&self) -> KeySource {
        self.key_source
    }

    /// Stores a link; a phone that links again replaces its old entry (same phone public key,
    /// same id). `now` becomes both `created` and `last_used`.
    pub fn upsert(&self, link: &NewLink, now: u64) -> Result<DeviceId, StoreError> {
        if link.contact_id.is_empty() {
            return Err(StoreError::InvalidLink("the contact ID is empty"));
        }
        let now = time(now)?;
        let id = DeviceId::for_phone(&link.phone_public_key);
        let phone_key = link.phone_public_key.uncompressed();
        let sealed = seal::seal_link_secret(&self.key, &link.secret, &phone_key);
        self.conn
            .execute(
                &format!(
                    "INSERT INTO links ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                     ON CONFLICT (phone_public_key) DO UPDATE SET
                        contact_id = excluded.contact_id, link_id = excluded.link_id,
                        sealed_secret = excluded.sealed_secret, name = excluded.name,
                        tunnel_domain_id = excluded.tunnel_domain_id,
                        created = excluded.created, last_used = excluded.last_used"
                ),
                (
                    id.as_str(),
                    phone_key.as_slice(),
                    &link.contact_id,
                    link.link_id.as_slice(),
                    sealed,
                    &link.name,
                    link.tunnel_domain_id,
                    now,
                ),
            )
            .map_err(|e| self.error(e))?;
        Ok(id)
    }

    /// Every linked phone, most recently used first. No secrets.
    pub fn list(&self) -> Result<Vec<LinkSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, name, created, last_used, tunnel_domain_id FROM links
                 ORDER BY last_used DESC, id",
            )
            .map_err(|e| self.error(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .map_err(|e| self.error(e))?;
        rows.map(|row| {
            let (id, name, created, last_used, tunnel_domain_id): (String, _, i64, i64, u16) =
                row.map_err(|e| self.error(e))?;
            Ok(LinkSummary {
                id: DeviceId::from_stored(id),
                name,
                created: self.stored_time(created)?,
                last_used: self.stored_time(last_used)?,
                tunnel_domain_id,
            })
        })
        .collect()
    }

    /// The link with this id, or the one id that starts with it; `None` if there is none.
    pub fn get(&self, id: &str) -> Result<Option<Link>, StoreError> {
        let Some(id) = self.resolve(id)? else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM links WHERE id = ?1"))
            .map_err(|e| self.error(e))?;
        let raw = stmt.query_row([id.as_str()], RawLink::read).optional();
        raw.map_err(|e| self.error(e))?
            .map(|raw| self.decode(raw))
            .transpose()
    }

    /// Every link with its secret, most recently used first: to contact all phones at once.
    pub fn all_links(&self) -> Result<Vec<Link>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM links ORDER BY last_used DESC, id"
            ))
            .map_err(|e| self.error(e))?;
        let rows = stmt
            .query_map([], RawLink::read)
            .map_err(|e| self.error(e))?;
        rows.map(|raw| self.decode(raw.map_err(|e| self.error(e))?))
            .collect()
    }

    /// The full id of the one link whose id starts with `prefix` (case-insensitive).
    pub fn resolve(&self, prefix: &str) -> Result<Option<DeviceId>, StoreError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM links WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2")
            .map_err(|e| self.error(e))?;
        let ids = stmt
            .query_map([&prefix], |row| row.get::<_, String>(0))
            .map_err(|e| self.error(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))?;
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(DeviceId::from_stored(id.clone()))),
            _ => {
                let count = self
                    .conn
                    .query_row(
                        "SELECT count(*) FROM links WHERE substr(id, 1, length(?1)) = ?1",
                        [&prefix],
                        |row| row.get(0),
                    )
                    .map_err(|e| self.error(e))?;
                Err(StoreError::AmbiguousId { prefix, count })
            }
        }
    }

    /// Records a use of the link at `now`. `false` if there is no such link.
    pub fn touch(&self, id: &str, now: u64) -> Result<bool, StoreError> {
        let now = time(now)?;
        self.update(id, "UPDATE links SET last_used = ?2 WHERE id = ?1", now)
    }

    /// Gives the phone another name. `false` if there is no such link.
    pub fn rename(&self, id: &str, name: &str) -> Result<bool, StoreError> {
        self.update(id, "UPDATE links SET name = ?2 WHERE id = ?1", name)
    }

    /// Deletes the link (its secret goes with it). `false` if there was no such link.
    pub fn forget(&self, id: &str) -> Result<bool, StoreError> {
        let Some(id) = self.resolve(id)? else {
            return Ok(false);
        };
        let changed = self
            .conn
            .execute("DELETE FROM links WHERE id = ?1", [id.as_str()])
            .map_err(|e| self.error(e))?;
        Ok(changed > 0)
    }

    fn update(&self, id: &str, sql: &str, value: impl rusqlite::ToSql) -> Result<bool, StoreError> {
        let Some(id) = self.resolve(id)? else {
            return Ok(false);
        };
        let changed = self
            .conn
            .execute(sql, (id.as_str(), value))
            .map_err(|e| self.error(e))?;
        Ok(changed > 0)
    }

    /// Checks a row read from the file and decrypts its secret.
    fn decode(&self, raw: RawLink) -> Result<Link, StoreError> {
        let id = DeviceId::from_stored(raw.id);
        let bad =
            |what: &str| StoreError::corrupt(&self.path, format!("linked phone {id}: {what}"));
        let phone_public_key = PublicKey::from_sec1(&raw.phone_public_key)
            .map_err(|_| bad("its public key is not a P-256 point"))?;
        if DeviceId::for_phone(&phone_public_key) != id {
            return Err(bad("its id does not belong to its public key"));
        }
        let link_id = <[u8; 8]>::try_from(raw.link_id.as_slice())
            .map_err(|_| bad("its link ID is not 8 bytes"))?;
        let secret =
            seal::open_link_secret(&self.key, &raw.sealed_secret, &raw.phone_public_key)
                .ok_or_else(|| bad("its link secret does not decrypt (altered, or another key)"))?;
        Ok(Link {
            contact_id: raw.contact_id,
            link_id,
            secret,
            phone_public_key,
            name: raw.name,
            tunnel_domain_id: raw.tunnel_domain_id,
            created: self.stored_time(raw.created)?,
            last_used: self.stored_time(raw.last_used)?,
            id,
        })
    }

    fn stored_time(&self, t: i64) -> Result<u64, StoreError> {
        u64::try_from(t).map_err(|_| StoreError::corrupt(&self.path, "a time is negative"))
    }

    /// A value of the wrong type in a row means the file was altered: that is `Corrupt`.
    fn error(&self, e: rusqlite::Error) -> StoreError {
        match e {
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::corrupt(
                &self.path,
                format!("a row holds a value of the wrong kind ({e})"),
            ),
            e => StoreError::sqlite(&self.path, e),
        }
    }
}

fn time(t: u64) -> Result<i64, StoreError> {
    i64::try_from(t).map_err(|_| StoreError::InvalidLink("the time is beyond the year 292 billion"))
}

/// One row as SQLite returns it, before any check.
struct RawLink {
    id: String,
    phone_public_key: Vec<u8>,
    contact_id: Vec<u8>,
    link_id: Vec<u8>,
    sealed_secret: Vec<u8>,
    name: String,
    tunnel_domain_id: u16,
    created: i64,
    last_used: i64,
}

impl RawLink {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            phone_public_key: row.get(1)?,
            contact_id: row.get(2)?,
            link_id: row.get(3)?,
            sealed_secret: row.get(4)?,
            name: row.get(5)?,
            tunnel_domain_id: row.get(6)?,
            created: row.get(7)?,
            last_used: row.get(8)?,
        })
    }
}
