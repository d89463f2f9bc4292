//! Mapping btleplug failures to [`ScanError`]s a person can act on.
//!
//! btleplug's BlueZ backend wraps every `bluez_async::BluetoothError` in `Error::Other`; for
//! D-Bus errors the error *name* tells what went wrong (no bus, no bluetoothd, no permission,
//! adapter not ready), so we look inside.

use crate::scan::{one_line, ScanError};

/// Classifies a btleplug error. `adapter` names the adapter in use, if one was chosen yet.
pub(crate) fn classify(error: &btleplug::Error, adapter: Option<&str>) -> ScanError {
    match error {
        btleplug::Error::PermissionDenied => ScanError::PermissionDenied {
            cause: "the system refused access to Bluetooth".into(),
        },
        btleplug::Error::NoAdapterAvailable => ScanError::NoAdapter {
            detail: String::new(),
        },
        btleplug::Error::Other(inner) => {
            #[cfg(target_os = "linux")]
            if let Some(bluez) = inner.downcast_ref::<bluez_async::BluetoothError>() {
                return classify_bluez(bluez, adapter);
            }
            ScanError::Other {
                cause: one_line(inner),
            }
        }
        other => ScanError::Other {
            cause: one_line(other),
        },
    }
}

#[cfg(target_os = "linux")]
fn classify_bluez(error: &bluez_async::BluetoothError, adapter: Option<&str>) -> ScanError {
    use bluez_async::BluetoothError;
    match error {
        BluetoothError::NoBluetoothAdapters => ScanError::NoAdapter {
            detail: String::new(),
        },
        BluetoothError::DbusError(dbus) => {
            let cause = match (dbus.name(), dbus.message()) {
                (Some(name), Some(message)) => format!("{name}: {message}"),
                _ => error.to_string(),
            };
            classify_dbus(dbus.name(), one_line(cause), adapter)
        }
        other => ScanError::Other {
            cause: one_line(other),
        },
    }
}

/// Classifies a D-Bus error by its name.
pub(crate) fn classify_dbus(name: Option<&str>, cause: String, adapter: Option<&str>) -> ScanError {
    const UNREACHABLE: &[&str] = &[
        // No system bus socket, or nothing listening on it.
        "org.freedesktop.DBus.Error.FileNotFound",
        "org.freedesktop.DBus.Error.NoServer",
        "org.freedesktop.DBus.Error.BadAddress",
        "org.freedesktop.DBus.Error.NoNetwork",
        "org.freedesktop.DBus.Error.Disconnected",
        "org.freedesktop.DBus.Error.IOError",
        // The bus is up but bluetoothd is not (or does not answer).
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply",
        "org.freedesktop.DBus.Error.Timeout",
        "org.freedesktop.DBus.Error.TimedOut",
    ];
    const DENIED: &[&str] = &[
        "org.freedesktop.DBus.Error.AccessDenied",
        "org.freedesktop.DBus.Error.AuthFailed",
        "org.bluez.Error.NotAuthorized",
        "org.bluez.Error.NotPermitted",
    ];
    let name = name.unwrap_or_default();
    if UNREACHABLE.contains(&name) || name.starts_with("org.freedesktop.DBus.Error.Spawn") {
        ScanError::BluezUnreachable { cause }
    } else if DENIED.contains(&name) {
        ScanError::PermissionDenied { cause }
    } else if name == "org.bluez.Error.NotReady" {
        // BlueZ answers NotReady to StartDiscovery on an adapter that is powered off.
        ScanError::PoweredOff {
            adapter: adapter.unwrap_or("in use").to_string(),
        }
    } else if name == "org.freedesktop.DBus.Error.UnknownObject" {
        ScanError::NoAdapter {
            detail: format!(
                ": {} disappeared ({cause})",
                adapter.unwrap_or("the adapter")
            ),
        }
    } else {
        ScanError::Other { cause }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbus(name: &str) -> ScanError {
        classify_dbus(Some(name), format!("{name}: because"), Some("hci0"))
    }

    #[test]
    fn dbus_names_map_to_causes() {
        assert!(matches!(
            dbus("org.freedesktop.DBus.Error.FileNotFound"),
            ScanError::BluezUnreachable { .. }
        ));
        assert!(matches!(
            dbus("org.freedesktop.DBus.Error.ServiceUnknown"),
            ScanError::BluezUnreachable { .. }
        ));
        assert!(matches!(
            dbus("org.freedesktop.DBus.Error.Spawn.ExecFailed"),
            ScanError::BluezUnreachable { .. }
        ));
        assert!(matches!(
            dbus("org.freedesktop.DBus.Error.AccessDenied"),
            ScanError::PermissionDenied { .. }
        ));
        assert!(matches!(
            dbus("org.bluez.Error.NotReady"),
            ScanError::PoweredOff { adapter } if adapter == "hci0"
        ));
        assert!(matches!(
            dbus("org.freedesktop.DBus.Error.UnknownObject"),
            ScanError::NoAdapter { .. }
        ));
        assert!(matches!(
            dbus("org.bluez.Error.Failed"),
            ScanError::Other { .. }
        ));
        assert!(matches!(
            classify_dbus(None, "x".into(), None),
            ScanError::Other { .. }
        ));
    }

    #[test]
    fn btleplug_errors_map_to_causes() {
        assert!(matches!(
            classify(&btleplug::Error::PermissionDenied, None),
            ScanError::PermissionDenied { .. }
        ));
        assert!(matches!(
            classify(&btleplug::Error::NoAdapterAvailable, None),
            ScanError::NoAdapter { .. }
        ));
        let other = classify(&btleplug::Error::NotSupported("le\nscan".into()), None);
        assert_eq!(
            other.to_string(),
            "Bluetooth scan failed: The operation is not supported: le scan"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn wrapped_bluez_errors_are_looked_into() {
        let wrapped =
            btleplug::Error::Other(Box::new(bluez_async::BluetoothError::NoBluetoothAdapters));
        assert!(matches!(
            classify(&wrapped, None),
            ScanError::NoAdapter { .. }
        ));
        assert_eq!(
            classify(&wrapped, None).to_string(),
            "no Bluetooth adapter found"
        );
    }

    #[test]
    fn messages_name_the_fix() {
        let off = ScanError::PoweredOff {
            adapter: "hci0".into(),
        };
        assert_eq!(
            off.to_string(),
            "the Bluetooth adapter hci0 is off: turn it on with `bluetoothctl power on`"
        );
        let unreachable = ScanError::BluezUnreachable {
            cause: "org.freedesktop.DBus.Error.ServiceUnknown: The name org.bluez was not provided"
                .into(),
        };
        assert!(unreachable
            .to_string()
            .starts_with("cannot reach BlueZ over D-Bus: is bluetoothd running?"));
    }
}
