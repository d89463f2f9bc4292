//! The Bluetooth scanner on a machine without Bluetooth fails fast with a clear, one-line cause.
#![cfg(feature = "bluetooth")]

use std::path::Path;
use std::time::{Duration, Instant};

use cable_ble::{AdapterChoice, BluetoothScanner, ScanError, Scanner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_fails_with_a_named_cause_and_never_hangs() {
    let scanner =
        BluetoothScanner::new(AdapterChoice::All).with_start_timeout(Duration::from_secs(10));
    let began = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(20), scanner.start())
        .await
        .expect("start must give up within its timeout");
    let err = match result {
        Ok(scan) => {
            // A machine with BlueZ: scanning works, or waits for an adapter; nothing to check.
            assert!(Path::new("/run/dbus/system_bus_socket").exists());
            eprintln!("BluetoothScanner::start: {:?}", scan.radio_state());
            scan.stop().await.unwrap();
            return;
        }
        Err(err) => err,
    };
    let message = err.to_string();
    eprintln!(
        "BluetoothScanner::start: {message} (after {:?})",
        began.elapsed()
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(matches!(err, ScanError::BluezUnreachable { .. }), "{err:?}");
    if !Path::new("/run/dbus/system_bus_socket").exists() {
        assert!(
            message.starts_with("cannot reach BlueZ over D-Bus: is bluetoothd running?"),
            "{message}"
        );
    }
    // A second try fails the same way (the failed connection was not cached).
    let again = scanner.start().await.unwrap_err();
    assert_eq!(std::mem::discriminant(&again), std::mem::discriminant(&err));
}

#[test]
fn adapter_choice_parses_names_and_indexes() {
    assert_eq!("".parse(), Ok(AdapterChoice::All));
    assert_eq!("all".parse(), Ok(AdapterChoice::All));
    assert_eq!("1".parse(), Ok(AdapterChoice::Index(1)));
    assert_eq!("hci1".parse(), Ok(AdapterChoice::Name("hci1".into())));
    assert_eq!(
        BluetoothScanner::new(AdapterChoice::Name("hci1".into())).describe(),
        "Bluetooth adapter hci1"
    );
}
