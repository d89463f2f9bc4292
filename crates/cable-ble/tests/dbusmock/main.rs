//! The Bluetooth scanner against python-dbusmock's `bluez5` template, a BlueZ double written
//! by others: RSSI on adverts that arrive by PropertiesChanged, an adapter switched off and on
//! mid-scan, adapters plugged in and out, two adapters with the advert heard by the second,
//! rfkill, and no adapter at first. One test: the private bus is named in the process's
//! environment, which only one test may own.
#![cfg(all(feature = "bluetooth", target_os = "linux"))]

mod bluez_mock;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bluez_mock::{MockBluez, FIDO, GOOGLE};
use cable_ble::{
    AdapterChoice, Advert, BluetoothScanner, RadioDown, RadioState, ScanEvent, ScanHandle, Scanner,
    UUID_FIDO, UUID_GOOGLE,
};
use tokio::time::timeout;

/// Bounds only what must happen (a hang fails the test after this); never how long it takes.
const WAIT: Duration = Duration::from_secs(20);

struct Rfkill(PathBuf);

impl Rfkill {
    fn new() -> Self {
        let root =
            std::env::temp_dir().join(format!("cable-dbusmock-rfkill-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Self(root)
    }

    /// Writes switch `rfkill0`, a Bluetooth one named `name`.
    fn set(&self, name: &str, soft: bool) {
        let dir = self.0.join("rfkill0");
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in [
            ("type", "bluetooth"),
            ("name", name),
            ("soft", if soft { "1" } else { "0" }),
            ("hard", "0"),
        ] {
            std::fs::write(dir.join(file), format!("{text}\n")).unwrap();
        }
    }

    fn root(&self) -> &Path {
        &self.0
    }
}

impl Drop for Rfkill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(choice: AdapterChoice, rfkill: &Rfkill) -> ScanHandle {
    // Polled often so the test does not sit through the default 2 s; nothing asserts timing.
    let scanner = BluetoothScanner::new(choice)
        .with_start_timeout(WAIT)
        .with_poll_interval(Duration::from_millis(100))
        .with_rfkill_root(rfkill.root());
    timeout(WAIT + WAIT, scanner.start())
        .await
        .expect("start never hangs")
        .expect("the scan starts")
}

/// The next advert; radio changes on the way are not expected.
async fn next_advert(scan: &mut ScanHandle) -> Advert {
    match timeout(WAIT, scan.next_event())
        .await
        .expect("an advert arrives")
    {
        ScanEvent::Advert(advert) => advert,
        other => panic!("expected an advert, got {other:?}"),
    }
}

/// The radio's next state; adverts on the way are not expected.
async fn next_radio(scan: &mut ScanHandle) -> RadioState {
    match timeout(WAIT, scan.next_event())
        .await
        .expect("the radio's state changes")
    {
        ScanEvent::Radio(state) => state,
        other => panic!("expected a radio change, got {other:?}"),
    }
}

fn ready(adapters: &[&str]) -> RadioState {
    RadioState::Ready {
        adapters: adapters.iter().map(|a| a.to_string()).collect(),
    }
}

fn off(adapters: &[&str]) -> RadioState {
    RadioState::Down(RadioDown::Off {
        adapters: adapters.iter().map(|a| a.to_string()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluetooth_scanner_against_python_dbusmock() {
    let Some(mut bluez) = MockBluez::start() else {
        return;
    };
    // This test binary has one test, so changing the environment races with nothing.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bluez.address);
    let rfkill = Rfkill::new();

    rssi_of_adverts_by_properties_changed(&mut bluez, &rfkill).await;
    bluez.reset();
    an_adapter_switched_off_and_on_mid_scan(&mut bluez, &rfkill).await;
    bluez.reset();
    two_adapters_and_adapters_coming_and_going(&mut bluez, &rfkill).await;
    bluez.reset();
    rfkill_and_no_adapter_at_first(&mut bluez, &rfkill).await;
}

async fn rssi_of_adverts_by_properties_changed(bluez: &mut MockBluez, rfkill: &Rfkill) {
    bluez.adapter("hci0", true);
    let mut scan = start(AdapterChoice::All, rfkill).await;
    assert_eq!(scan.radio_state(), ready(&["hci0"]));
    // A phone appears (InterfacesAdded): its properties carry RSSI.
    bluez.device("hci0", "AA:AA:AA:AA:AA:01", -50, &[(FIDO, &[1; 20])]);
    let first = next_advert(&mut scan).await;
    assert_eq!(
        (first.uuid, first.service_data.as_slice()),
        (UUID_FIDO, &[1; 20][..])
    );
    assert_eq!(first.rssi, Some(-50));
    assert_eq!(first.address.as_deref(), Some("AA:AA:AA:AA:AA:01"));
    assert_eq!(first.adapter.as_deref(), Some("hci0"));
    // It rotates its advert (PropertiesChanged with RSSI and ServiceData, as BlueZ sends).
    bluez.service_data("hci0", "AA:AA:AA:AA:AA:01", -41, &[(GOOGLE, &[2; 24])]);
    let rotated = next_advert(&mut scan).await;
    assert_eq!(
        (rotated.uuid, rotated.service_data.as_slice()),
        (UUID_GOOGLE, &[2; 24][..])
    );
    assert_eq!(
        rotated.rssi,
        Some(-41),
        "RSSI of an advert by PropertiesChanged"
    );
    bluez.service_data("hci0", "AA:AA:AA:AA:AA:01", -67, &[(FIDO, &[3; 20])]);
    assert_eq!(next_advert(&mut scan).await.rssi, Some(-67));
    scan.stop().await.unwrap();
}

async fn an_adapter_switched_off_and_on_mid_scan(bluez: &mut MockBluez, rfkill: &Rfkill) {
    bluez.adapter("hci0", true);
    let mut scan = start(AdapterChoice::All, rfkill).await;
    assert_eq!(scan.radio_state(), ready(&["hci0"]));
    bluez.power("hci0", false);
    assert_eq!(next_radio(&mut scan).await, off(&["hci0"]));
    bluez.power("hci0", true);
    assert_eq!(next_radio(&mut scan).await, ready(&["hci0"]));
    // Scanning again: a phone that appears now is heard.
    bluez.device("hci0", "BB:BB:BB:BB:BB:02", -55, &[(FIDO, &[4; 20])]);
    let heard = next_advert(&mut scan).await;
    assert_eq!(heard.service_data, [4; 20]);
    scan.stop().await.unwrap();
}

async fn two_adapters_and_adapters_coming_and_going(bluez: &mut MockBluez, rfkill: &Rfkill) {
    bluez.adapter("hci0", true);
    bluez.adapter("hci1", true);
    let mut scan = start(AdapterChoice::All, rfkill).await;
    assert_eq!(scan.radio_state(), ready(&["hci0", "hci1"]));
    // Only the second adapter hears the phone, and says so.
    bluez.device("hci1", "CC:CC:CC:CC:CC:03", -60, &[(FIDO, &[5; 20])]);
    let heard = next_advert(&mut scan).await;
    assert_eq!(heard.service_data, [5; 20]);
    assert_eq!(heard.adapter.as_deref(), Some("hci1"));
    // The dongle is pulled out, another is plugged in.
    bluez.remove_adapter("hci1");
    assert_eq!(next_radio(&mut scan).await, ready(&["hci0"]));
    bluez.adapter("hci2", true);
    assert_eq!(next_radio(&mut scan).await, ready(&["hci0", "hci2"]));
    bluez.device("hci2", "DD:DD:DD:DD:DD:04", -62, &[(FIDO, &[6; 20])]);
    assert_eq!(
        next_advert(&mut scan).await.adapter.as_deref(),
        Some("hci2")
    );
    scan.stop().await.unwrap();

    // `--radio bluetooth:hci2` pins one adapter.
    let pinned = start(AdapterChoice::Name("hci2".into()), rfkill).await;
    assert_eq!(pinned.radio_state(), ready(&["hci2"]));
    pinned.stop().await.unwrap();
}

async fn rfkill_and_no_adapter_at_first(bluez: &mut MockBluez, rfkill: &Rfkill) {
    // Nothing plugged in: the scan waits, then hears the adapter arrive.
    let mut scan = start(AdapterChoice::All, rfkill).await;
    assert_eq!(
        scan.radio_state(),
        RadioState::Down(RadioDown::NoAdapter {
            detail: String::new()
        })
    );
    bluez.adapter("hci0", true);
    assert_eq!(next_radio(&mut scan).await, ready(&["hci0"]));
    scan.stop().await.unwrap();
    bluez.reset();

    // An rfkill-blocked adapter (BlueZ shows it powered off): blocked, not off. It is added
    // before the scan starts: the template adds adapters powered on, then we switch it off.
    bluez.adapter("hci0", false);
    rfkill.set("hci0", true);
    let mut scan = start(AdapterChoice::All, rfkill).await;
    assert_eq!(
        scan.radio_state(),
        RadioState::Down(RadioDown::Blocked {
            adapters: vec!["hci0".into()],
            hard: false
        })
    );
    // `rfkill unblock bluetooth`: the adapter is merely off now, then switched on.
    rfkill.set("hci0", false);
    assert_eq!(next_radio(&mut scan).await, off(&["hci0"]));
    bluez.power("hci0", true);
    assert_eq!(next_radio(&mut scan).await, ready(&["hci0"]));
    scan.stop().await.unwrap();
}
