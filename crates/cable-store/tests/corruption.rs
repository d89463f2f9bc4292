//! Damaged stores and wrong keys: a clear error, and the files exactly as they were.

mod common;

use cable_store::{key_file_path, DeviceId, KeySource, LinkStore, StoreError};
use common::{link, open, store_path};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every file in the folder with the SHA-256 of its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let digest = hex::encode(Sha256::digest(fs::read(&path).unwrap()));
            (path, digest)
        })
        .collect()
}

/// Opens `path`, expects `Corrupt`, and checks the folder is byte for byte unchanged.
fn expect_corrupt(path: &Path) -> String {
    let dir = path.parent().unwrap();
    let before = snapshot(dir);
    let err =
        LinkStore::open_with(path, KeySource::File).expect_err("a damaged store must not open");
    let message = err.to_string();
    let StoreError::Corrupt {
        path: reported,
        reason,
    } = err
    else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(reported.file_name(), path.file_name());
    assert!(message.contains("move it aside"), "{message}");
    assert_eq!(
        snapshot(dir),
        before,
        "opening a damaged store changed the folder"
    );
    reason
}

/// A closed store holding 40 links, and its bytes.
fn filled_store(dir: &tempfile::TempDir) -> (PathBuf, Vec<u8>) {
    let path = store_path(dir);
    let store = open(&path);
    for n in 0..40 {
        store.upsert(&link(n), n).unwrap();
    }
    drop(store);
    let bytes = fs::read(&path).unwrap();
    assert!(
        !path.with_extension("db-wal").exists(),
        "closing checkpoints the log"
    );
    (path, bytes)
}

#[test]
fn garbage_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fs::write(&path, &garbage).unwrap();
    let reason = expect_corrupt(&path);
    assert!(reason.contains("not a database"), "{reason}");
    assert!(
        !key_file_path(&path).exists(),
        "no key is made for a store that did not open"
    );

    // SQLite's magic followed by garbage.
    let mut fake = b"SQLite format 3\0".to_vec();
    fake.extend_from_slice(&garbage);
    fs::write(&path, &fake).unwrap();
    expect_corrupt(&path);
}

#[test]
fn truncated_stores_are_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = filled_store(&dir);
    let page = 4096;
    assert!(bytes.len() >= 3 * page, "the store spans several pages");
    for cut in [
        bytes.len() - page,
        bytes.len() - 1,
        bytes.len() / 2,
        page + 100,
        page,
        100,
        50,
        16,
    ] {
        fs::write(&path, &bytes[..cut]).unwrap();
        let reason = expect_corrupt(&path);
        assert!(!reason.is_empty(), "cut at {cut}");
        if cut > 100 && cut % page != 0 {
            assert!(reason.contains("cut short"), "{reason}");
        }
    }
}

#[test]
fn an_empty_file_is_a_new_store() {
    // What SQLite leaves when a process dies between creating the file and its first commit.
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    fs::write(&path, b"").unwrap();
    let store = open(&path);
    assert!(store.list().unwrap().is_empty());
    store.upsert(&link(1), 1).unwrap();
}

#[test]
fn another_sqlite_database_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(other);
    let reason = expect_corrupt(&path);
    assert!(reason.contains("not a cable link store"), "{reason}");
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = filled_store(&dir);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 2)
        .unwrap();
    let before = fs::read(&path).unwrap();
    let err = LinkStore::open_with(&path, KeySource::File).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 2,
                known: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_wrong_key_is_reported_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = filled_store(&dir);
    fs::write(key_file_path(&path), [0x55u8; 32]).unwrap();
    let reason = expect_corrupt(&path);
    assert!(reason.contains("do not decrypt with the key"), "{reason}");
}

#[test]
fn a_missing_key_file_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = filled_store(&dir);
    fs::remove_file(key_file_path(&path)).unwrap();
    let err = LinkStore::open_with(&path, KeySource::File).unwrap_err();
    assert!(matches!(err, StoreError::KeyUnavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("is missing"), "{err}");
    assert!(
        !key_file_path(&path).exists(),
        "a new key would orphan every stored secret"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
    // Auto, too, looks where the store says its key is.
    assert!(matches!(
        LinkStore::open(&path),
        Err(StoreError::KeyUnavailable { .. })
    ));
    assert!(!key_file_path(&path).exists());
}

#[test]
fn a_key_file_of_the_wrong_length_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = filled_store(&dir);
    fs::write(key_file_path(&path), [1u8; 31]).unwrap();
    let err = LinkStore::open_with(&path, KeySource::File).unwrap_err();
    let StoreError::Corrupt {
        path: reported,
        reason,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(reported, &key_file_path(&path).canonicalize().unwrap());
    assert!(reason.contains("31 bytes"), "{reason}");
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(fs::read(key_file_path(&path)).unwrap(), [1u8; 31]);
}

#[test]
fn altered_or_swapped_secrets_do_not_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let store = open(&path);
    let a = store.upsert(&link(1), 1).unwrap();
    let b = store.upsert(&link(2), 2).unwrap();
    let c = store.upsert(&link(3), 3).unwrap();

    let raw = rusqlite::Connection::open(&path).unwrap();
    let sealed = |id: &DeviceId| -> Vec<u8> {
        raw.query_row(
            "SELECT sealed_secret FROM links WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (sealed_a, sealed_b) = (sealed(&a), sealed(&b));
    let set = |id: &DeviceId, blob: &[u8]| {
        raw.execute(
            "UPDATE links SET sealed_secret = ?2 WHERE id = ?1",
            (id.as_str(), blob),
        )
        .unwrap()
    };
    // Swap a's and b's sealed secrets (each is bound to its own phone key); zero c's.
    set(&a, &sealed_b);
    set(&b, &sealed_a);
    set(&c, &[0; 60]);
    for id in [&a, &b, &c] {
        let err = store.get(id.as_str()).unwrap_err();
        let StoreError::Corrupt { reason, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(
            reason.contains(id.as_str()) && reason.contains("does not decrypt"),
            "{reason}"
        );
    }
    assert!(matches!(store.all_links(), Err(StoreError::Corrupt { .. })));
    assert_eq!(store.list().unwrap().len(), 3, "listing needs no secret");
    assert!(
        store.forget(c.as_str()).unwrap(),
        "a damaged link can still be forgotten"
    );
}

#[test]
fn rows_altered_by_hand_are_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let store = open(&path);
    let a = store.upsert(&link(1), 1).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    // Leave the CHECK constraints behind to plant values the store itself would never write.
    raw.execute_batch("PRAGMA ignore_check_constraints = ON")
        .unwrap();

    raw.execute("UPDATE links SET created = -5 WHERE id = ?1", [a.as_str()])
        .unwrap();
    assert!(matches!(store.list(), Err(StoreError::Corrupt { .. })));
    raw.execute(
        "UPDATE links SET created = 5, tunnel_domain_id = 70000 WHERE id = ?1",
        [a.as_str()],
    )
    .unwrap();
    assert!(matches!(
        store.get(a.as_str()),
        Err(StoreError::Corrupt { .. })
    ));
    raw.execute(
        "UPDATE links SET tunnel_domain_id = 1, link_id = x'0102' WHERE id = ?1",
        [a.as_str()],
    )
    .unwrap();
    assert!(matches!(
        store.get(a.as_str()),
        Err(StoreError::Corrupt { .. })
    ));
    let mut key = link(1).phone_public_key.uncompressed();
    key[64] ^= 1;
    raw.execute(
        "UPDATE links SET link_id = zeroblob(8), phone_public_key = ?2 WHERE id = ?1",
        (a.as_str(), key.as_slice()),
    )
    .unwrap();
    let err = store.get(a.as_str()).unwrap_err();
    assert!(err.to_string().contains("not a P-256 point"), "{err}");
}

/// The mode is part of "left as it was": a damaged store readable by others stays so (it was
/// not ours to judge), while a sound one is tightened to the owner alone.
#[test]
fn a_damaged_store_keeps_its_mode_and_a_sound_one_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;

    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    fs::write(&path, b"not a database at all, just some bytes").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    expect_corrupt(&path);
    assert_eq!(mode(&path), 0o644);

    let elsewhere = tempfile::tempdir().unwrap();
    let (sound, _) = filled_store(&elsewhere);
    fs::set_permissions(&sound, fs::Permissions::from_mode(0o644)).unwrap();
    LinkStore::open_with(&sound, KeySource::File).unwrap();
    assert_eq!(mode(&sound), 0o600);
}

/// A store reached through a symlink keeps its key next to the name it was given, not next to
/// the link's target.
#[test]
fn a_symlinked_store_keeps_its_key_next_to_the_link() {
    let real = tempfile::tempdir().unwrap();
    let named = tempfile::tempdir().unwrap();
    let target = real.path().join("links.db");
    let link_path = named.path().join("links.db");
    std::os::unix::fs::symlink(&target, &link_path).unwrap();
    fs::write(&target, b"").unwrap();

    let store = LinkStore::open_with(&link_path, KeySource::File).unwrap();
    store.upsert(&link(1), 1).unwrap();
    drop(store);
    assert!(
        key_file_path(&link_path).exists(),
        "the key is next to the link"
    );
    assert!(
        !key_file_path(&target).exists(),
        "and not next to its target"
    );
    // Opened again by the same name, the key is found and the link reads back.
    let store = LinkStore::open_with(&link_path, KeySource::File).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
}
