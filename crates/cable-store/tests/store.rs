//! The store's behaviour through its public API, and what ends up on disk.

mod common;

use cable_store::{key_file_path, DeviceId, KeySource, LinkStore, StoreError};
use common::{contains, link, link_v, open, secret, store_path};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn upsert_then_list_and_get() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&store_path(&dir));
    let a = store.upsert(&link(1), 1_000).unwrap();
    let b = store.upsert(&link(2), 2_000).unwrap();
    assert_eq!(a, DeviceId::for_phone(&link(1).phone_public_key));
    assert_eq!(a.as_str().len(), 16);

    let list = store.list().unwrap();
    assert_eq!(
        list.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&b, &a],
        "most recent first"
    );
    assert_eq!(list[1].name, "Phone 1 v0");
    assert_eq!((list[1].created, list[1].last_used), (1_000, 1_000));
    assert_eq!(list[1].tunnel_domain_id, 1);

    let got = store.get(a.as_str()).unwrap().expect("link 1 is stored");
    let want = link(1);
    assert_eq!(got.id, a);
    assert_eq!(got.contact_id, want.contact_id);
    assert_eq!(got.link_id, want.link_id);
    assert_eq!(got.secret, want.secret);
    assert_eq!(
        got.phone_public_key.uncompressed(),
        want.phone_public_key.uncompressed()
    );
    assert_eq!(got.name, want.name);
    assert_eq!(got.tunnel_domain_id, want.tunnel_domain_id);
    assert_eq!((got.created, got.last_used), (1_000, 1_000));

    let all = store.all_links().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].secret, link(2).secret);
    let never_linked = DeviceId::for_phone(&link(99).phone_public_key);
    assert!(store.get(never_linked.as_str()).unwrap().is_none());
}

#[test]
fn links_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let id = open(&path).upsert(&link(7), 70).unwrap();
    let store = open(&path);
    assert_eq!(store.key_source(), KeySource::File);
    assert_eq!(
        store.get(id.as_str()).unwrap().expect("still there").secret,
        link(7).secret
    );
    // Auto finds the key where the store says it is.
    let auto = LinkStore::open(&path).unwrap();
    assert_eq!(auto.key_source(), KeySource::File);
    assert_eq!(auto.list().unwrap().len(), 1);
}

#[test]
fn relink_replaces_the_entry_and_keeps_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&store_path(&dir));
    let first = store.upsert(&link_v(3, 0), 100).unwrap();
    store.upsert(&link(4), 150).unwrap();
    let second = store.upsert(&link_v(3, 1), 200).unwrap();
    assert_eq!(first, second);
    assert_eq!(store.list().unwrap().len(), 2);
    let got = store.get(first.as_str()).unwrap().unwrap();
    assert_eq!(got.secret, secret(3, 1));
    assert_ne!(got.secret, secret(3, 0));
    assert_eq!(got.contact_id, link_v(3, 1).contact_id);
    assert_eq!(got.link_id, link_v(3, 1).link_id);
    assert_eq!(got.name, "Phone 3 v1");
    assert_eq!((got.created, got.last_used), (200, 200));
    assert_eq!(
        store
            .get(store.list().unwrap()[1].id.as_str())
            .unwrap()
            .unwrap()
            .secret,
        link(4).secret
    );
}

#[test]
fn touch_rename_forget() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&store_path(&dir));
    let a = store.upsert(&link(1), 10).unwrap();
    let b = store.upsert(&link(2), 20).unwrap();

    assert!(store.touch(a.as_str(), 30).unwrap());
    let list = store.list().unwrap();
    assert_eq!(list[0].id, a, "touched link comes first");
    assert_eq!((list[0].created, list[0].last_used), (10, 30));

    assert!(store.rename(b.as_str(), "Work phone ✓").unwrap());
    assert_eq!(store.get(b.as_str()).unwrap().unwrap().name, "Work phone ✓");

    assert!(store.forget(a.as_str()).unwrap());
    assert!(!store.forget(a.as_str()).unwrap(), "already gone");
    assert!(store.get(a.as_str()).unwrap().is_none());
    assert!(!store.touch(a.as_str(), 40).unwrap());
    assert!(!store.rename(a.as_str(), "x").unwrap());
    assert_eq!(store.list().unwrap().len(), 1);
    assert_eq!(
        store.get(b.as_str()).unwrap().unwrap().secret,
        link(2).secret
    );
}

#[test]
fn ids_are_accepted_by_unambiguous_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&store_path(&dir));
    // 17 ids: two must share their first hex digit.
    let ids: Vec<DeviceId> = (0..17)
        .map(|n| store.upsert(&link(n), n).unwrap())
        .collect();
    let (x, y) = ids
        .iter()
        .enumerate()
        .find_map(|(i, x)| {
            ids[i + 1..]
                .iter()
                .find(|y| y.as_str()[..1] == x.as_str()[..1])
                .map(|y| (x, y))
        })
        .expect("pigeonhole");
    let shared = x
        .as_str()
        .chars()
        .zip(y.as_str().chars())
        .take_while(|(a, b)| a == b)
        .count();
    let ambiguous = &x.as_str()[..shared];
    match store.get(ambiguous) {
        Err(StoreError::AmbiguousId { prefix, count }) => {
            assert_eq!(prefix, ambiguous);
            assert!(count >= 2);
        }
        other => panic!("expected AmbiguousId, got {other:?}"),
    }
    assert!(matches!(
        store.forget(ambiguous),
        Err(StoreError::AmbiguousId { .. })
    ));
    assert_eq!(
        store.list().unwrap().len(),
        17,
        "an ambiguous forget deletes nothing"
    );

    let unique = &x.as_str()[..shared + 1];
    assert_eq!(store.resolve(unique).unwrap().as_ref(), Some(x));
    assert_eq!(
        store.resolve(&unique.to_uppercase()).unwrap().as_ref(),
        Some(x)
    );
    assert_eq!(store.get(unique).unwrap().unwrap().id, *x);
    for junk in ["", "  ", "zz", "x%", "%"] {
        assert_eq!(store.resolve(junk).unwrap(), None, "{junk:?}");
    }
}

#[test]
fn invalid_links_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&store_path(&dir));
    let mut bad = link(1);
    bad.contact_id.clear();
    assert!(matches!(
        store.upsert(&bad, 1),
        Err(StoreError::InvalidLink(_))
    ));
    assert!(matches!(
        store.upsert(&link(1), u64::MAX),
        Err(StoreError::InvalidLink(_))
    ));
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn secrets_never_show_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&store_path(&dir));
    let new = link(5);
    let id = store.upsert(&new, 1).unwrap();
    let got = store.get(id.as_str()).unwrap().unwrap();
    let secret_bytes = new.secret.expose();
    let as_hex = hex::encode(secret_bytes);
    let as_list = format!("{:?}", secret_bytes.as_slice());
    for text in [
        format!("{new:?}"),
        format!("{got:?}"),
        format!("{store:?}"),
        format!("{:?}", store.list()),
    ] {
        assert!(!text.contains(&as_hex), "{text}");
        assert!(!text.contains(&as_list[1..as_list.len() - 1]), "{text}");
    }
    assert!(format!("{got:?}").contains("[redacted]"));
}

#[test]
fn secrets_are_not_in_the_files_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let store = open(&path);
    let links: Vec<_> = (0..5).map(link).collect();
    for (n, l) in links.iter().enumerate() {
        store.upsert(l, n as u64).unwrap();
    }
    let files_hold = |secret: &[u8]| {
        fs::read_dir(dir.path()).unwrap().any(|entry| {
            let path = entry.unwrap().path();
            path != key_file_path(&path.with_file_name("links.db"))
                && contains(&fs::read(&path).unwrap(), secret)
        })
    };
    // While open (the rows are in the write-ahead log) and after closing (checkpointed).
    for l in &links {
        assert!(!files_hold(l.secret.expose()));
        assert!(files_hold(&l.contact_id), "the check does look at the rows");
    }
    drop(store);
    for l in &links {
        assert!(!files_hold(l.secret.expose()));
        assert!(files_hold(&l.contact_id));
    }
}

#[test]
fn folder_is_0700_and_files_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/cable/links.db");
    let store = open(&path);
    store.upsert(&link(1), 1).unwrap();
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    assert_eq!(mode(&dir.path().join("data/cable")), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&key_file_path(&path)), 0o600);
    assert_eq!(mode(&path.with_extension("db-wal")), 0o600);
    assert_eq!(fs::read(key_file_path(&path)).unwrap().len(), 32);
    drop(store);

    // Loosened by hand: tightened again on the next open.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(key_file_path(&path), fs::Permissions::from_mode(0o644)).unwrap();
    let _store = open(&path);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&key_file_path(&path)), 0o600);
}

#[test]
fn auto_reuses_a_key_file_already_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    fs::write(key_file_path(&path), [42u8; 32]).unwrap();
    let store = LinkStore::open(&path).unwrap();
    assert_eq!(store.key_source(), KeySource::File);
    assert_eq!(fs::read(key_file_path(&path)).unwrap(), [42u8; 32]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever a phone sends comes back exactly as stored.
    #[test]
    fn any_link_round_trips(
        n in 0u64..1_000_000,
        contact_id in proptest::collection::vec(0u8.., 1..200),
        link_id in proptest::array::uniform8(0u8..),
        secret_bytes in proptest::array::uniform32(0u8..),
        name in "\\PC{0,40}",
        tunnel_domain_id in 0u16..,
        created in 0u64..(1 << 62),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&store_path(&dir));
        let mut new = link(n);
        new.contact_id = contact_id;
        new.link_id = link_id;
        new.secret = cable_keys::LinkSecret::new(secret_bytes);
        new.name = name;
        new.tunnel_domain_id = tunnel_domain_id;
        let id = store.upsert(&new, created).unwrap();
        let got = store.get(id.as_str()).unwrap().unwrap();
        proptest::prop_assert_eq!(&got.contact_id, &new.contact_id);
        proptest::prop_assert_eq!(got.link_id, new.link_id);
        proptest::prop_assert_eq!(&got.secret, &new.secret);
        proptest::prop_assert_eq!(&got.name, &new.name);
        proptest::prop_assert_eq!(got.tunnel_domain_id, new.tunnel_domain_id);
        proptest::prop_assert_eq!((got.created, got.last_used), (created, created));
        proptest::prop_assert_eq!(got.phone_public_key.uncompressed(), new.phone_public_key.uncompressed());
    }
}
