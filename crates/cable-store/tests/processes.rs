//! The store across processes: kill -9 in the middle of writes, and two processes (think daemon
//! and CLI) writing and reading the same file at once.
//!
//! The child processes are this test binary run again with `--exact <child test>` and an
//! environment variable that tells the child test what to do; without it, those tests return
//! at once.

mod common;

use cable_keys::LinkSecret;
use cable_store::{DeviceId, LinkStore};
use common::{link, open, secret};
use rand_core::{OsRng, RngCore};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const WRITER_ENV: &str = "CABLE_STORE_TEST_WRITER";
const SHARER_ENV: &str = "CABLE_STORE_TEST_SHARER";

/// Runs the child test `name` of this binary with `env = value`.
fn spawn_child(name: &str, env: &str, value: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", name, "--nocapture", "--test-threads=1", "-q"])
        .env(env, value)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child starts")
}

/// The child's stdout, line by line, on a channel (so the parent can wait with a deadline).
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Prints one line and flushes it straight to the pipe (not through the test harness capture).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

// ---- kill -9 during writes -------------------------------------------------------------------

/// Child: says `opening`, opens the store, then upserts links `start..` forever (touching every
/// third), printing `committed N ID` after each commit returns.
#[test]
fn writer_child() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (path, start) = spec.split_once('|').expect("PATH|START");
    let start: u64 = start.parse().expect("start number");
    say("opening");
    let store = open(Path::new(path));
    for n in start.. {
        let id = store.upsert(&link(n), n).expect("upsert");
        say(&format!("committed {n} {id}"));
        if n % 3 == 0 {
            store.touch(id.as_str(), n + 1).expect("touch");
        }
    }
}

/// How long a child may take to reach a line the parent waits for. Only a hang guard: a
/// loaded machine can take seconds to start a process and create the store.
const CHILD_WAIT: Duration = Duration::from_secs(30);

/// Waits (up to `CHILD_WAIT`) for the child's first line starting with `prefix` and returns
/// it; `committed` lines read on the way are recorded.
fn wait_for_line(
    rx: &mpsc::Receiver<String>,
    prefix: &str,
    committed: &mut BTreeMap<u64, String>,
) -> String {
    let deadline = Instant::now() + CHILD_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("the writer printed no `{prefix}` line in {CHILD_WAIT:?}")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the writer ended before printing `{prefix}` (see its stderr above)")
            }
        };
        record(&line, committed);
        if line.starts_with(prefix) {
            return line;
        }
    }
}

/// Notes a `committed N ID` line.
fn record(line: &str, committed: &mut BTreeMap<u64, String>) {
    if let Some(rest) = line.strip_prefix("committed ") {
        let (n, id) = rest.split_once(' ').expect("N ID");
        committed.insert(n.parse().expect("n"), id.to_owned());
    }
}

#[test]
fn kill_9_during_writes_keeps_every_committed_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("links.db");
    let mut committed: BTreeMap<u64, String> = BTreeMap::new();
    let rounds = 10;
    for round in 0..rounds {
        let start = round * 1_000_000;
        let mut child = spawn_child(
            "writer_child",
            WRITER_ENV,
            &format!("{}|{start}", path.display()),
        );
        let rx = lines(child.stdout.take().expect("piped stdout"));
        // Round 0 dies around the time the child creates the store; later ones at random while
        // it writes. Each waits for the child to get there first: a process on a loaded machine
        // can take longer to start than any fixed delay.
        let delay_ms = if round == 0 {
            wait_for_line(&rx, "opening", &mut committed);
            OsRng.next_u64() % 25
        } else {
            wait_for_line(&rx, "committed ", &mut committed);
            OsRng.next_u64() % 300
        };
        thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
        let status = child.wait().expect("reaped");
        assert_eq!(
            status.signal(),
            Some(9),
            "the writer was still writing: {status:?}"
        );
        // Everything the child printed was committed before it printed it. The channel ends
        // when the dead child's pipe closes.
        while let Ok(line) = rx.recv_timeout(CHILD_WAIT) {
            record(&line, &mut committed);
        }

        eprintln!(
            "round {round}: killed {delay_ms} ms after it got there, {} committed so far",
            committed.len()
        );
        // The store opens after every kill, and holds every committed link, decryptable.
        let store = open(&path);
        for (n, id) in &committed {
            let got = store
                .get(id)
                .unwrap()
                .unwrap_or_else(|| panic!("committed link {n} lost"));
            assert_eq!(got.secret, secret(*n, 0), "link {n}");
            assert_eq!(got.contact_id, link(*n).contact_id);
        }
        // Rows beyond the last reported one (committed but killed before printing) are whole too.
        let all = store.all_links().expect("every row decrypts");
        assert!(all.len() >= committed.len());
        drop(store);
    }
    // Every round after the first waited for a commit before the kill.
    assert!(
        committed.len() >= (rounds as usize - 1),
        "the children did write: {}",
        committed.len()
    );
}

// ---- two processes at once -------------------------------------------------------------------

const SHARED_LINKS: u64 = 60;
const CHILD_BASE: u64 = 5_000_000;

/// Child: opens the store, says `ready`, then writes its own links while reading, waits for `go`
/// on stdin (the parent has written its links), checks it sees them, and says `done N`.
#[test]
fn sharer_child() {
    let Ok(path) = std::env::var(SHARER_ENV) else {
        return;
    };
    let store = open(Path::new(&path));
    say("ready");
    for n in CHILD_BASE..CHILD_BASE + SHARED_LINKS {
        let id = store.upsert(&link(n), n).expect("child upsert");
        store.touch(id.as_str(), n + 1).expect("child touch");
        store.list().expect("child list");
        store.all_links().expect("child reads every link");
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("go");
    let all = store.all_links().expect("child final read");
    assert_eq!(
        all.len() as u64,
        2 * SHARED_LINKS,
        "child sees both processes' links"
    );
    // And it can change a link the parent wrote.
    let parents = DeviceId::for_phone(&link(0).phone_public_key);
    assert!(store
        .rename(parents.as_str(), "renamed by the child")
        .expect("child rename"));
    say(&format!("done {}", all.len()));
}

#[test]
fn two_processes_share_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("links.db");
    // Both create the store at the same moment: one initialises it, the other waits and loads.
    let mut child = spawn_child("sharer_child", SHARER_ENV, &path.display().to_string());
    let store = open(&path);
    let rx = lines(child.stdout.take().expect("piped stdout"));
    let wait_for = |prefix: &str| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child answers in time");
        if line.starts_with(prefix) {
            return line;
        }
    };
    wait_for("ready");

    // Write while the child writes, with the child's connection open all along.
    for n in 0..SHARED_LINKS {
        let id = store.upsert(&link(n), n).expect("parent upsert");
        assert!(store.touch(id.as_str(), n + 2).expect("parent touch"));
        store.list().expect("parent list");
    }
    let ours_and_theirs = |store: &LinkStore| store.list().unwrap().len() as u64;
    let started = Instant::now();
    while ours_and_theirs(&store) < 2 * SHARED_LINKS {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child's links never appeared"
        );
        thread::sleep(Duration::from_millis(20));
    }
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(b"go\n")
        .expect("go");
    assert_eq!(wait_for("done"), format!("done {}", 2 * SHARED_LINKS));
    assert!(child.wait().expect("child exits").success());

    let all = store.all_links().unwrap();
    assert_eq!(all.len() as u64, 2 * SHARED_LINKS);
    for l in &all {
        let n = (0..SHARED_LINKS)
            .chain(CHILD_BASE..CHILD_BASE + SHARED_LINKS)
            .find(|n| DeviceId::for_phone(&link(*n).phone_public_key) == l.id)
            .expect("a link one of the processes wrote");
        let expected: LinkSecret = secret(n, 0);
        assert_eq!(l.secret, expected);
    }
    let parents = DeviceId::for_phone(&link(0).phone_public_key);
    assert_eq!(
        store.get(parents.as_str()).unwrap().unwrap().name,
        "renamed by the child"
    );
}

// ---- no Secret Service -----------------------------------------------------------------------

const NO_BUS_ENV: &str = "CABLE_STORE_TEST_NO_BUS";

/// Child: opens a new store with `KeySource::Auto` where the session bus does not exist.
#[test]
fn no_bus_child() {
    let Ok(path) = std::env::var(NO_BUS_ENV) else {
        return;
    };
    let store = LinkStore::open(&path).expect("opens without a Secret Service");
    say(&format!("source {:?}", store.key_source()));
}

#[test]
fn without_a_secret_service_the_key_goes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("links.db");
    let output = Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", "no_bus_child", "--nocapture", "-q"])
        .env(NO_BUS_ENV, &path)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", dir.path().join("no-bus").display()),
        )
        .env_remove("DISPLAY")
        .output()
        .expect("child runs");
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("source File"),
        "{output:?}"
    );
    assert_eq!(
        std::fs::read(cable_store::key_file_path(&path))
            .unwrap()
            .len(),
        32
    );
}
