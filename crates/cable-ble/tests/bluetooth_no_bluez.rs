//! A D-Bus system bus without bluetoothd on it (a private dbus-daemon): the Bluetooth scanner
//! reports BlueZ as unreachable. Skipped where `dbus-daemon` is not installed.
#![cfg(all(feature = "bluetooth", target_os = "linux"))]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cable_ble::{AdapterChoice, BluetoothScanner, ScanError, Scanner};

/// Kills the private bus when the test ends, however it ends.
struct Bus(Child);

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_without_bluez_means_bluez_unreachable() {
    let dir = std::env::temp_dir().join(format!("cable-ble-bus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("bus");
    let address = format!("unix:path={}", socket.display());
    let child = match Command::new("dbus-daemon")
        .args([
            "--session",
            "--nofork",
            "--nopidfile",
            "--address",
            &address,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("skipped: cannot run dbus-daemon ({e})");
            return;
        }
    };
    let _bus = Bus(child);
    // dbus-daemon starts in milliseconds, but much later on a loaded machine: poll up to a
    // bound that only a daemon that will never start reaches.
    let began = std::time::Instant::now();
    while !socket.exists() && began.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(socket.exists(), "dbus-daemon did not create its socket");
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &address);

    let scanner = BluetoothScanner::new(AdapterChoice::All);
    let err = tokio::time::timeout(Duration::from_secs(20), scanner.start())
        .await
        .expect("never hangs")
        .unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(matches!(err, ScanError::BluezUnreachable { .. }), "{err:?}");
    assert!(!message.contains('\n'));
    assert!(message.contains("org.bluez"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
