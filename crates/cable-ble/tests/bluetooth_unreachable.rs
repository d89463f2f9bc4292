//! With the system bus pointed at a socket that does not exist, the Bluetooth scanner reports
//! BlueZ as unreachable on any machine. (Its own test binary: it changes the environment.)
#![cfg(all(feature = "bluetooth", target_os = "linux"))]

use std::time::Duration;

use cable_ble::{AdapterChoice, BluetoothScanner, ScanError, Scanner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_system_bus_means_bluez_unreachable() {
    std::env::set_var(
        "DBUS_SYSTEM_BUS_ADDRESS",
        "unix:path=/nonexistent/cable-ble-test/system_bus_socket",
    );
    let scanner = BluetoothScanner::new(AdapterChoice::All);
    let err = tokio::time::timeout(Duration::from_secs(20), scanner.start())
        .await
        .expect("never hangs")
        .unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(matches!(err, ScanError::BluezUnreachable { .. }), "{err:?}");
    assert!(!message.contains('\n'));
    assert!(message.starts_with("cannot reach BlueZ over D-Bus: is bluetoothd running? ("));
    assert!(message.contains("/nonexistent/cable-ble-test"), "{message}");
}
