//! Whole sessions over btleplug against python-dbusmock's `bluez5` template (a BlueZ double
//! that is not ours) on a private system bus: the software phone's adverts are carried from
//! its UDP "radio" into the mock as a discovered device with BlueZ's real property types.
//!
//! One registration meets Bluetooth as it is on a desk: both adapters are switched off after
//! the QR code is shown (the session says `bluetooth_waiting` and waits), the second is
//! switched back on (`bluetooth_ready`), the phone's advert is heard there (`adapter: hci1`) and
//! the registration completes. Then a session whose advert timeout passes while Bluetooth is
//! still off fails with `bluetooth_off`, not `no_phone`, and `cablectl scan --json` names the
//! adapter that heard an advert. One test: the bus is named in the process's environment.

#[path = "../../crates/cable-ble/tests/dbusmock/bluez_mock.rs"]
mod bluez_mock;

use bluez_mock::MockBluez;
use cable_ble::scan::decode_datagram;
use cable_e2e::requests;
use cable_e2e::rig::{fast_timeouts, phone_result, spawn_phone, Rig};
use cable_e2e::verify;
use cabled::engine::{Engine, EngineConfig, EventKind, RadioConfig, Timeouts, TunnelConfig};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Carries the phone's first advert (a UDP datagram: UUID, service data) into the mock as a
/// device seen by `adapter`, until stopped.
struct Bridge {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Bridge {
    fn start(radio: SocketAddr, bluez: Arc<Mutex<MockBluez>>, adapter: &'static str) -> Self {
        let socket = UdpSocket::bind(radio).expect("the phone's radio address is free");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let mut carried = false;
            while !stopped.load(Ordering::Relaxed) {
                let Ok(len) = socket.recv(&mut buf) else {
                    continue;
                };
                let Some((uuid, data)) = decode_datagram(&buf[..len]) else {
                    continue;
                };
                // The phone repeats one advert; BlueZ reports a device once, then changes.
                if !carried {
                    let uuid = format!("0000{uuid:04x}-0000-1000-8000-00805f9b34fb");
                    bluez.lock().unwrap().device(
                        adapter,
                        "5A:11:22:33:44:55",
                        -58,
                        &[(uuid.as_str(), data)],
                    );
                    carried = true;
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn bluetooth_engine(rig: &Rig, timeouts: Timeouts) -> Engine {
    Engine::new(EngineConfig {
        tunnel: TunnelConfig::Override(rig.tunnel_url.clone()),
        radio: RadioConfig::Bluetooth { adapter: None },
        timeouts,
        ..EngineConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_over_btleplug_against_python_dbusmock() {
    let Some(bluez) = MockBluez::start() else {
        return;
    };
    // This test binary has one test, so changing the environment races with nothing.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bluez.address);
    let bluez = Arc::new(Mutex::new(bluez));
    let run = |f: &dyn Fn(&mut MockBluez)| f(&mut bluez.lock().unwrap());
    run(&|b| {
        b.adapter("hci0", true);
        b.adapter("hci1", true);
    });

    // The scan polls adapters every 2 s; the advert wait leaves room for that on a slow box.
    let mut rig = Rig::new().await;
    rig.engine = bluetooth_engine(
        &rig,
        Timeouts {
            advert: Duration::from_secs(60),
            ..fast_timeouts()
        },
    );
    let (request, expected) = requests::create("dora");
    let mut session = rig.start(request);
    let qr = session.qr().await;
    session.wait_for("scanning").await;

    // Bluetooth is switched off after the QR code is shown: the session says so and waits.
    run(&|b| {
        b.power("hci0", false);
        b.power("hci1", false);
    });
    let waiting = session.wait_for("bluetooth_waiting").await;
    let EventKind::BluetoothWaiting { code, message } = &waiting.kind else {
        unreachable!()
    };
    assert_eq!(code, "bluetooth_off");
    assert!(message.contains("bluetoothctl power on"), "{message}");
    // The dongle is switched back on: scanning resumes by itself, with it alone.
    run(&|b| b.power("hci1", true));
    let back = session.wait_for("bluetooth_ready").await;
    let EventKind::BluetoothReady { adapters } = &back.kind else {
        unreachable!()
    };
    assert_eq!(adapters, &["hci1"]);

    // Now the phone scans the QR code; its advert is heard by hci1.
    let bridge = Bridge::start(rig.radio, bluez.clone(), "hci1");
    let phone = spawn_phone(rig.phone(&qr));
    let outcome = session.outcome().await;
    drop(bridge);
    phone_result(phone).await.expect("the phone completes");
    verify::registration(outcome.credential(), &expected);
    let advert = outcome
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Advert {
                adapter,
                rssi,
                source,
                ..
            } => Some((adapter.clone(), *rssi, source.clone())),
            _ => None,
        })
        .expect("an advert event");
    assert_eq!(
        advert,
        (Some("hci1".to_string()), Some(-58), "Bluetooth".to_string())
    );
    let names = outcome.names();
    let at = |name| names.iter().position(|n| *n == name).unwrap();
    assert!(at("bluetooth_waiting") < at("bluetooth_ready"), "{names:?}");
    assert!(at("bluetooth_ready") < at("advert"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "bluetooth_waiting").count(),
        1,
        "{names:?}"
    );

    // Bluetooth off for a whole advert wait: the radio's fault, said as such.
    run(&|b| b.power("hci1", false));
    rig.engine = bluetooth_engine(
        &rig,
        Timeouts {
            advert: Duration::from_millis(1500),
            ..fast_timeouts()
        },
    );
    let (request, _) = requests::create("erin");
    let outcome = rig.start(request).outcome().await;
    outcome.assert_failed("bluetooth_off");
    assert!(outcome.names().contains(&"bluetooth_waiting"));
    assert!(
        outcome.message().contains("bluetoothctl power on"),
        "{}",
        outcome.message()
    );

    // `cablectl scan --json` names the adapter of each advert: a phone BlueZ knows on hci0.
    run(&|b| {
        b.power("hci0", true);
        b.device(
            "hci0",
            "5A:66:77:88:99:AA",
            -49,
            &[(bluez_mock::FIDO, &[9; 20])],
        );
    });
    let cablectl = cable_e2e::process::locate_binary("cablectl", "cargo build -p cablectl");
    let mut scan = std::process::Command::new(cablectl)
        .args(["scan", "--radio", "bluetooth", "--json"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", rig_bus(&bluez))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cablectl scan starts");
    let stdout = scan.stdout.take().expect("piped stdout");
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("\"service_data\""))
    });
    let line = cable_e2e::rig::within("cablectl scan prints the advert", line)
        .await
        .unwrap();
    let _ = scan.kill();
    let _ = scan.wait();
    let advert: serde_json::Value =
        serde_json::from_str(&line.expect("an advert line")).expect("a JSON line");
    assert_eq!(advert["adapter"], "hci0", "{advert}");
    assert_eq!(advert["address"], "5A:66:77:88:99:AA", "{advert}");
    assert_eq!(advert["rssi"], -49, "{advert}");
    assert_eq!(advert["service_data"], hex::encode([9u8; 20]), "{advert}");
}

fn rig_bus(bluez: &Mutex<MockBluez>) -> String {
    bluez.lock().unwrap().address.clone()
}
