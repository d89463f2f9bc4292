//! python-dbusmock's `bluez5` template, a BlueZ double that is not this project's, on a
//! private system bus: `bluez.py` (next to this file) starts the bus and the mock and takes one
//! JSON command per line. Shared by cable-ble's tests and the e2e crate's.
//!
//! Where python-dbusmock cannot be imported the tests skip, saying so, unless `CI` is set:
//! in CI they must run (scripts/setup-test installs it).

#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

const HELPER: &str = include_str!("bluez.py");

pub const FIDO: &str = "0000fff9-0000-1000-8000-00805f9b34fb";
pub const GOOGLE: &str = "0000fde2-0000-1000-8000-00805f9b34fb";

pub struct MockBluez {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    folder: std::path::PathBuf,
    /// The private system bus: `unix:path=…`.
    pub address: String,
}

impl MockBluez {
    /// Starts the bus and the mock; `None` (after saying why) when python-dbusmock or
    /// dbus-daemon is missing and `CI` is not set. Panics in CI instead.
    pub fn start() -> Option<Self> {
        let Some(python) = python_with_dbusmock() else {
            return skip("python-dbusmock cannot be imported (run scripts/setup-test)");
        };
        let folder = std::env::temp_dir().join(format!(
            "cable-dbusmock-helper-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&folder).expect("a temporary folder");
        let script = folder.join("bluez.py");
        std::fs::write(&script, HELPER).expect("write bluez.py");
        let mut child = match Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => return skip(&format!("cannot run {python}: {e}")),
        };
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let Some(address) = first.trim().strip_prefix("ready ").map(str::to_string) else {
            let _ = child.kill();
            let _ = child.wait();
            return skip(&format!(
                "the dbusmock helper did not start (is dbus-daemon installed?): {first:?}"
            ));
        };
        Some(Self {
            child,
            stdin,
            stdout,
            folder,
            address,
        })
    }

    /// Adds an adapter (`hci0`), powered or not: InterfacesAdded.
    pub fn adapter(&mut self, name: &str, powered: bool) {
        self.run(json!({"op": "adapter", "name": name, "powered": powered}));
    }

    /// Switches an adapter on or off: PropertiesChanged(Powered).
    pub fn power(&mut self, name: &str, on: bool) {
        self.run(json!({"op": "power", "name": name, "on": on}));
    }

    /// Unplugs an adapter (and its devices): InterfacesRemoved.
    pub fn remove_adapter(&mut self, name: &str) {
        self.run(json!({"op": "remove_adapter", "name": name}));
    }

    /// Removes every adapter, for the next scenario.
    pub fn reset(&mut self) {
        self.run(json!({"op": "reset"}));
    }

    /// A device seen by `adapter`, carrying service data: InterfacesAdded.
    pub fn device(&mut self, adapter: &str, address: &str, rssi: i16, data: &[(&str, &[u8])]) {
        self.run(
            json!({"op": "device", "adapter": adapter, "address": address,
            "rssi": rssi, "service_data": service_data(data)}),
        );
    }

    /// New service data and RSSI from a known device, in one PropertiesChanged.
    pub fn service_data(
        &mut self,
        adapter: &str,
        address: &str,
        rssi: i16,
        data: &[(&str, &[u8])],
    ) {
        self.run(
            json!({"op": "service_data", "adapter": adapter, "address": address,
            "rssi": rssi, "service_data": service_data(data)}),
        );
    }

    fn run(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().expect("the helper's stdin");
        writeln!(stdin, "{command}").expect("the dbusmock helper takes commands");
        stdin.flush().expect("the dbusmock helper takes commands");
        let mut reply = String::new();
        self.stdout
            .read_line(&mut reply)
            .expect("the dbusmock helper answers");
        assert_eq!(reply.trim(), "ok", "dbusmock helper, for {command}");
    }
}

impl Drop for MockBluez {
    fn drop(&mut self) {
        // Closing stdin ends the helper, which stops the mock and the bus.
        drop(self.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn service_data(data: &[(&str, &[u8])]) -> Value {
    data.iter()
        .map(|(uuid, bytes)| (uuid.to_string(), Value::String(hex::encode(bytes))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn skip<T>(why: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("dbusmock tests must run in CI, but {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// The first Python that imports dbusmock: Debian's package installs it for /usr/bin/python3,
/// which need not be the `python3` first on PATH.
fn python_with_dbusmock() -> Option<String> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find_map(|python| {
            let ok = Command::new(python)
                .args(["-c", "import dbus, dbusmock"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| python.to_string())
        })
}
