//! A fake BlueZ for tests: a private `dbus-daemon` plus a thread that owns `org.bluez` on it and
//! answers the calls btleplug makes (ObjectManager, Properties.GetAll, SetDiscoveryFilter,
//! StartDiscovery, StopDiscovery), and emits the signals BlueZ emits (InterfacesAdded,
//! PropertiesChanged). Tests drive it with [`FakeBluez::add_device`] and friends.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::{
    ObjectManagerInterfacesAdded, PropertiesPropertiesChanged,
};
use dbus::blocking::Connection;
use dbus::channel::Channel;
use dbus::message::{MessageType, SignalArgs};
use dbus::{Message, Path as ObjectPath};

/// One BLE device as BlueZ would describe it.
#[derive(Clone, Debug)]
pub struct FakeDevice {
    pub address: String,
    pub rssi: i16,
    /// (128-bit UUID string, bytes)
    pub service_data: Vec<(String, Vec<u8>)>,
}

impl FakeDevice {
    fn path(&self) -> String {
        format!("/org/bluez/hci0/dev_{}", self.address.replace(':', "_"))
    }
}

#[derive(Default, Debug)]
struct State {
    /// `None`: no adapter at all.
    adapter_powered: Option<bool>,
    devices: Vec<FakeDevice>,
    /// Every Adapter1 call and property write: "Set org.bluez.Adapter1.Powered=true",
    /// "SetDiscoveryFilter {...}", "StartDiscovery", "StopDiscovery".
    calls: Vec<String>,
}

enum Command_ {
    Emit(Message),
    Quit,
}

pub struct FakeBluez {
    state: Arc<Mutex<State>>,
    commands: mpsc::Sender<Command_>,
    thread: Option<JoinHandle<()>>,
    daemon: Child,
    dir: PathBuf,
    pub address: String,
}

impl FakeBluez {
    /// Starts the bus and the fake; `None` if `dbus-daemon` is not installed.
    pub fn start() -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("cable-ble-fake-bluez-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let daemon = Command::new("dbus-daemon")
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
            .ok()?;
        // Polled up to a bound only a dbus-daemon that will never start reaches (it takes
        // milliseconds, or seconds on a loaded machine).
        let began = std::time::Instant::now();
        while !socket.exists() && began.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut channel = Channel::open_private(&address).expect("connect to the private bus");
        channel.register().expect("register on the private bus");
        let connection = Connection::from(channel);
        connection
            .request_name("org.bluez", false, true, true)
            .expect("own org.bluez");
        let state = Arc::new(Mutex::new(State::default()));
        let (commands, rx) = mpsc::channel();
        let served = state.clone();
        let thread = std::thread::spawn(move || serve(connection, served, rx));
        Some(Self {
            state,
            commands,
            thread: Some(thread),
            daemon,
            dir,
            address,
        })
    }

    /// Resets to: no devices, no calls, the adapter in the given state (`None` = no adapter).
    pub fn reset(&self, adapter_powered: Option<bool>) {
        let mut state = self.state.lock().unwrap();
        *state = State {
            adapter_powered,
            ..State::default()
        };
    }

    /// A device BlueZ already knows before the scan starts (no signal).
    pub fn add_known_device(&self, device: FakeDevice) {
        self.state.lock().unwrap().devices.push(device);
    }

    /// A device discovered during the scan: InterfacesAdded.
    pub fn add_device(&self, device: FakeDevice) {
        let path = device.path();
        let mut interfaces = HashMap::new();
        interfaces.insert("org.bluez.Device1".to_string(), device_props(&device));
        self.state.lock().unwrap().devices.push(device);
        let signal = ObjectManagerInterfacesAdded {
            object: path.into(),
            interfaces,
        };
        self.emit(signal.to_emit_message(&"/".into()));
    }

    /// New service data from a known device: PropertiesChanged(ServiceData [, RSSI]).
    pub fn change_service_data(&self, address: &str, service_data: Vec<(String, Vec<u8>)>) {
        let mut state = self.state.lock().unwrap();
        let device = state
            .devices
            .iter_mut()
            .find(|d| d.address == address)
            .expect("known device");
        device.service_data = service_data;
        let mut changed = PropMap::new();
        changed.insert(
            "ServiceData".into(),
            Variant(Box::new(service_data_map(device))),
        );
        let path = device.path();
        drop(state);
        self.properties_changed(&path, "org.bluez.Device1", changed);
    }

    /// Only the RSSI changed: PropertiesChanged(RSSI).
    pub fn change_rssi(&self, address: &str, rssi: i16) {
        let path = FakeDevice {
            address: address.into(),
            rssi,
            service_data: vec![],
        }
        .path();
        let mut changed = PropMap::new();
        changed.insert("RSSI".into(), Variant(Box::new(rssi)));
        self.properties_changed(&path, "org.bluez.Device1", changed);
    }

    /// The adapter is switched on or off: PropertiesChanged(Powered).
    pub fn set_powered(&self, powered: bool) {
        self.state.lock().unwrap().adapter_powered = Some(powered);
        let mut changed = PropMap::new();
        changed.insert("Powered".into(), Variant(Box::new(powered)));
        self.properties_changed("/org/bluez/hci0", "org.bluez.Adapter1", changed);
    }

    /// The Adapter1 calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    fn properties_changed(&self, path: &str, interface: &str, changed: PropMap) {
        let signal = PropertiesPropertiesChanged {
            interface_name: interface.into(),
            changed_properties: changed,
            invalidated_properties: vec![],
        };
        self.emit(signal.to_emit_message(&ObjectPath::from(path.to_string())));
    }

    fn emit(&self, message: Message) {
        self.commands.send(Command_::Emit(message)).unwrap();
    }
}

impl Drop for FakeBluez {
    fn drop(&mut self) {
        let _ = self.commands.send(Command_::Quit);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn serve(connection: Connection, state: Arc<Mutex<State>>, commands: mpsc::Receiver<Command_>) {
    let channel = connection.channel();
    loop {
        while let Ok(command) = commands.try_recv() {
            match command {
                Command_::Emit(message) => {
                    let _ = channel.send(message);
                }
                Command_::Quit => return,
            }
        }
        let Ok(Some(message)) = channel.blocking_pop_message(Duration::from_millis(5)) else {
            continue;
        };
        if message.msg_type() != MessageType::MethodCall {
            continue;
        }
        let reply = answer(&message, &state);
        let _ = channel.send(reply);
        channel.flush();
    }
}

fn answer(call: &Message, state: &Mutex<State>) -> Message {
    let path = call.path().map(|p| p.to_string()).unwrap_or_default();
    let interface = call.interface().map(|i| i.to_string()).unwrap_or_default();
    let member = call.member().map(|m| m.to_string()).unwrap_or_default();
    let mut state = state.lock().unwrap();
    match (interface.as_str(), member.as_str()) {
        ("org.freedesktop.DBus.ObjectManager", "GetManagedObjects") => {
            let mut tree: HashMap<ObjectPath<'static>, HashMap<String, PropMap>> = HashMap::new();
            if let Some(powered) = state.adapter_powered {
                let mut ifaces = HashMap::new();
                ifaces.insert("org.bluez.Adapter1".to_string(), adapter_props(powered));
                tree.insert("/org/bluez/hci0".into(), ifaces);
            }
            for device in &state.devices {
                let mut ifaces = HashMap::new();
                ifaces.insert("org.bluez.Device1".to_string(), device_props(device));
                tree.insert(device.path().into(), ifaces);
            }
            call.method_return().append1(tree)
        }
        ("org.freedesktop.DBus.Properties", "GetAll") => {
            let wanted: String = call.read1().unwrap_or_default();
            if wanted == "org.bluez.Adapter1" && path == "/org/bluez/hci0" {
                if let Some(powered) = state.adapter_powered {
                    return call.method_return().append1(adapter_props(powered));
                }
            }
            if wanted == "org.bluez.Device1" {
                if let Some(device) = state.devices.iter().find(|d| d.path() == path) {
                    return call.method_return().append1(device_props(device));
                }
            }
            error(
                call,
                "org.freedesktop.DBus.Error.UnknownObject",
                "no such object",
            )
        }
        ("org.freedesktop.DBus.Properties", "Set") => {
            // btleplug's start_scan powers the adapter on before discovering.
            let (iface, name, value): (String, String, Variant<Box<dyn RefArg>>) =
                match call.read3() {
                    Ok(args) => args,
                    Err(e) => {
                        return error(
                            call,
                            "org.freedesktop.DBus.Error.InvalidArgs",
                            &e.to_string(),
                        )
                    }
                };
            state
                .calls
                .push(format!("Set {iface}.{name}={:?}", value.0));
            if iface == "org.bluez.Adapter1" && name == "Powered" {
                if let Some(on) = value.0.as_u64() {
                    state.adapter_powered = Some(on != 0);
                }
            }
            call.method_return()
        }
        ("org.bluez.Adapter1", "SetDiscoveryFilter") => {
            let filter: PropMap = call.read1().unwrap_or_default();
            let mut keys: Vec<String> = filter
                .iter()
                .map(|(k, v)| format!("{k}={:?}", v.0))
                .collect();
            keys.sort();
            state
                .calls
                .push(format!("SetDiscoveryFilter {}", keys.join(" ")));
            call.method_return()
        }
        ("org.bluez.Adapter1", "StartDiscovery") => {
            state.calls.push("StartDiscovery".into());
            if state.adapter_powered == Some(true) {
                call.method_return()
            } else {
                error(call, "org.bluez.Error.NotReady", "Resource Not Ready")
            }
        }
        ("org.bluez.Adapter1", "StopDiscovery") => {
            state.calls.push("StopDiscovery".into());
            call.method_return()
        }
        _ => error(
            call,
            "org.freedesktop.DBus.Error.UnknownMethod",
            &format!("fake BlueZ does not implement {interface}.{member}"),
        ),
    }
}

fn error(call: &Message, name: &str, text: &str) -> Message {
    let text = CString::new(text).unwrap();
    call.error(&name.into(), &text)
}

fn adapter_props(powered: bool) -> PropMap {
    let mut p = PropMap::new();
    p.insert(
        "Address".into(),
        Variant(Box::new("00:11:22:33:44:55".to_string())),
    );
    p.insert(
        "AddressType".into(),
        Variant(Box::new("public".to_string())),
    );
    p.insert("Name".into(), Variant(Box::new("fake".to_string())));
    p.insert("Alias".into(), Variant(Box::new("fake".to_string())));
    p.insert(
        "Modalias".into(),
        Variant(Box::new("usb:v1D6Bp0246d0537".to_string())),
    );
    p.insert("Powered".into(), Variant(Box::new(powered)));
    p.insert("Discovering".into(), Variant(Box::new(false)));
    p
}

fn device_props(device: &FakeDevice) -> PropMap {
    let mut p = PropMap::new();
    p.insert("Address".into(), Variant(Box::new(device.address.clone())));
    p.insert(
        "AddressType".into(),
        Variant(Box::new("random".to_string())),
    );
    for flag in [
        "Paired",
        "Connected",
        "ServicesResolved",
        "Trusted",
        "Blocked",
        "LegacyPairing",
    ] {
        p.insert(flag.into(), Variant(Box::new(false)));
    }
    p.insert("RSSI".into(), Variant(Box::new(device.rssi)));
    p.insert(
        "ServiceData".into(),
        Variant(Box::new(service_data_map(device))),
    );
    p
}

fn service_data_map(device: &FakeDevice) -> PropMap {
    device
        .service_data
        .iter()
        .map(|(uuid, bytes)| {
            let value: Box<dyn RefArg> = Box::new(bytes.clone());
            (uuid.clone(), Variant(value))
        })
        .collect()
}
