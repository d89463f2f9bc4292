//! The Bluetooth scanner end to end against a fake BlueZ on a private D-Bus bus: the calls it
//! makes (unfiltered scan, DuplicateData on), the adverts it yields from known devices, new
//! devices and changed service data, stopping on drop, and waiting for an adapter that is off,
//! missing or switched off mid-scan.
//! Skipped where `dbus-daemon` is not installed.
#![cfg(all(feature = "bluetooth", target_os = "linux"))]

mod fake_bluez;

use std::time::Duration;

use cable_ble::{
    encrypt_advert, AdapterChoice, AdvertMatcher, AdvertSource, BluetoothScanner, DomainCheck,
    EidPlaintext, RadioDown, RadioState, ScanError, ScanEvent, ScanHandle, Scanner, UUID_FIDO,
    UUID_GOOGLE,
};
use cable_keys::EidKey;
use fake_bluez::{FakeBluez, FakeDevice};
use tokio::time::timeout;

const FIDO: &str = "0000fff9-0000-1000-8000-00805f9b34fb";
const GOOGLE: &str = "0000fde2-0000-1000-8000-00805f9b34fb";
/// Bounds only what must happen (a hang fails the test after this); never how long it takes.
const WAIT: Duration = Duration::from_secs(15);

fn device(address: &str, service_data: Vec<(&str, Vec<u8>)>) -> FakeDevice {
    FakeDevice {
        address: address.into(),
        rssi: -50,
        service_data: service_data
            .into_iter()
            .map(|(uuid, bytes)| (uuid.to_string(), bytes))
            .collect(),
    }
}

async fn start(choice: AdapterChoice) -> Result<ScanHandle, ScanError> {
    // Every fake answer is immediate; the start timeout only stops a broken fake hanging us.
    // Polled often, so the test does not sit through the default interval; nothing asserts it.
    let scanner = BluetoothScanner::new(choice)
        .with_start_timeout(WAIT)
        .with_poll_interval(Duration::from_millis(100))
        .with_rfkill_root(std::env::temp_dir().join("cable-no-rfkill-here"));
    timeout(WAIT + WAIT, scanner.start())
        .await
        .expect("start never hangs")
}

async fn wait_for_call(bluez: &FakeBluez, call: &str) {
    timeout(WAIT, async {
        while !bluez.calls().iter().any(|c| c == call) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {call}; calls: {:?}", bluez.calls()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluetooth_scanner_against_a_fake_bluez() {
    let Some(bluez) = FakeBluez::start() else {
        eprintln!("skipped: dbus-daemon is not installed");
        return;
    };
    // This test binary has one test, so changing the environment races with nothing.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bluez.address);

    // No adapter: the scan starts and waits for one, saying why.
    bluez.reset(None);
    let scan = start(AdapterChoice::All).await.unwrap();
    assert_eq!(
        scan.radio_state(),
        RadioState::Down(RadioDown::NoAdapter {
            detail: String::new()
        })
    );
    drop(scan);

    // An adapter that is off: waited for as well.
    bluez.reset(Some(false));
    let scan = start(AdapterChoice::All).await.unwrap();
    let RadioState::Down(down) = scan.radio_state() else {
        panic!("{:?}", scan.radio_state());
    };
    assert_eq!(
        down.to_error().to_string(),
        "the Bluetooth adapter hci0 is off: turn it on with `bluetoothctl power on`"
    );
    drop(scan);
    // btleplug's start_scan would switch the radio on (Set Powered=true); we wait instead of
    // turning on someone's Bluetooth behind their back.
    assert!(bluez.calls().is_empty(), "{:?}", bluez.calls());

    // An adapter that does not exist: named, with what is there.
    bluez.reset(Some(true));
    let scan = start(AdapterChoice::Name("hci7".into())).await.unwrap();
    let RadioState::Down(RadioDown::NoAdapter { detail }) = scan.radio_state() else {
        panic!("{:?}", scan.radio_state());
    };
    assert_eq!(detail, " named hci7 (found: hci0)");
    drop(scan);
    let scan = start(AdapterChoice::Index(3)).await.unwrap();
    assert!(matches!(
        scan.radio_state(),
        RadioState::Down(RadioDown::NoAdapter { .. })
    ));
    drop(scan);

    // A working adapter, and a phone BlueZ already knew advertising under 0xFDE2.
    bluez.reset(Some(true));
    bluez.add_known_device(device(
        "AA:AA:AA:AA:AA:01",
        vec![
            (GOOGLE, vec![1; 20]),
            ("0000180f-0000-1000-8000-00805f9b34fb", vec![9]),
        ],
    ));
    let mut scan = start(AdapterChoice::Name("hci0".into())).await.unwrap();
    let calls = bluez.calls();
    eprintln!("BlueZ calls on start: {calls:?}");
    let filter = calls
        .iter()
        .find(|c| c.starts_with("SetDiscoveryFilter"))
        .expect("a discovery filter is set");
    assert!(filter.contains("DuplicateData=true"), "{filter}");
    assert!(!filter.contains("UUIDs=[\""), "no UUID filter: {filter}");
    assert!(calls.contains(&"StartDiscovery".to_string()));

    let known = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!(known.uuid, UUID_GOOGLE);
    assert_eq!(known.service_data, [1; 20]);
    assert_eq!(known.rssi, Some(-50));
    assert_eq!(known.address.as_deref(), Some("AA:AA:AA:AA:AA:01"));
    assert_eq!(known.source, AdvertSource::Bluetooth);
    assert_eq!(known.adapter.as_deref(), Some("hci0"));

    // A new device appears with a real advert under 0xFFF9 (plus a CTAP 2.3 suffix).
    let key = EidKey::new([3; 64]);
    let eid = EidPlaintext {
        nonce: [4; 10],
        routing_id: [5, 6, 7],
        tunnel_domain_id: 0,
    };
    let mut advert = encrypt_advert(&key, &eid.to_bytes()).to_vec();
    advert.extend_from_slice(&[0xa1, 0x01, 0x18, 0x82]);
    bluez.add_device(device("BB:BB:BB:BB:BB:02", vec![(FIDO, advert.clone())]));
    let new = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!((new.uuid, &new.service_data), (UUID_FIDO, &advert));
    let mut matcher = AdvertMatcher::new();
    matcher.add("session", key, DomainCheck::Qr);
    let (_, decrypted, _) = matcher.offer(&new).expect("the scanned advert matches");
    assert_eq!(decrypted.eid, eid);
    assert_eq!(decrypted.suffix.unwrap().ble_psm(), Some(130));

    // The same address advertises something new (next session): it still reaches us.
    bluez.change_rssi("BB:BB:BB:BB:BB:02", -40);
    bluez.change_service_data("BB:BB:BB:BB:BB:02", vec![(FIDO.to_string(), vec![2; 20])]);
    let changed = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!(
        (changed.uuid, changed.service_data),
        (UUID_FIDO, vec![2; 20])
    );
    assert_eq!(changed.address.as_deref(), Some("BB:BB:BB:BB:BB:02"));
    assert_eq!(scan.stats().adverts, 3);

    // Dropping the handle stops discovery.
    drop(scan);
    wait_for_call(&bluez, "StopDiscovery").await;

    // Switching the adapter off mid-scan: the scan says so and waits; switched back on, it
    // scans again by itself and adverts arrive, named after the adapter.
    bluez.reset(Some(true));
    let mut scan = start(AdapterChoice::All).await.unwrap();
    assert_eq!(
        scan.radio_state(),
        RadioState::Ready {
            adapters: vec!["hci0".into()]
        }
    );
    bluez.set_powered(false);
    assert_eq!(
        next_radio(&mut scan).await,
        RadioState::Down(RadioDown::Off {
            adapters: vec!["hci0".into()]
        })
    );
    bluez.set_powered(true);
    assert_eq!(
        next_radio(&mut scan).await,
        RadioState::Ready {
            adapters: vec!["hci0".into()]
        }
    );
    bluez.add_device(device("CC:CC:CC:CC:CC:03", vec![(FIDO, vec![7; 20])]));
    let after = match timeout(WAIT, scan.next_event()).await.unwrap() {
        ScanEvent::Advert(advert) => advert,
        ScanEvent::Radio(state) => panic!("{state:?}"),
        ScanEvent::Ended => panic!("the scan ended: {:?}", scan.stop().await),
    };
    assert_eq!(after.service_data, [7; 20]);
    assert_eq!(after.adapter.as_deref(), Some("hci0"));
    scan.stop().await.unwrap();
}

/// The next change of the radio's state (adverts in between are not expected).
async fn next_radio(scan: &mut ScanHandle) -> RadioState {
    match timeout(WAIT, scan.next_event())
        .await
        .expect("the radio's state changes")
    {
        ScanEvent::Radio(state) => state,
        other => panic!("{other:?}"),
    }
}
