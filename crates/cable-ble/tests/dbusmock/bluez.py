#!/usr/bin/env python3
"""A BlueZ that is not ours, for cable's tests: python-dbusmock's `bluez5` template on a
private system bus, driven by one JSON command per line on stdin.

Prints `ready <bus address>` once the mock answers, then `ok` or `error <why>` per command:

  {"op": "adapter", "name": "hci0", "powered": true}   AddAdapter (then Powered as asked)
  {"op": "power", "name": "hci0", "on": false}          Set Powered: PropertiesChanged
  {"op": "remove_adapter", "name": "hci1"}              RemoveAdapterWithDevices (unplugged)
  {"op": "reset"}                                       every adapter removed, with its devices
  {"op": "device", "adapter": "hci0", "address": "AA:..", "rssi": -60,
   "service_data": {"0000fff9-0000-1000-8000-00805f9b34fb": "<hex>"}}
                                                        a discovered device: InterfacesAdded
  {"op": "service_data", "adapter": "hci0", "address": "AA:..", "rssi": -45,
   "service_data": {...}}                               PropertiesChanged(RSSI, ServiceData)

Devices are added with AddObject and BlueZ's real types (ServiceData a{sv} of byte arrays,
RSSI int16): the template's own AddDevice declares those properties with other types.
Exits (taking the bus and the mock with it) when stdin closes.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import dbus
import dbusmock

BLUEZ = "org.bluez"
MOCK = "org.freedesktop.DBus.Mock"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
PROPERTIES = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def start_bus(folder):
    socket = os.path.join(folder, "system_bus_socket")
    config = os.path.join(folder, "system.conf")
    with open(config, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(socket=socket))
    bus = subprocess.Popen(
        ["dbus-daemon", "--nofork", "--nopidfile", "--config-file=" + config],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # dbus-daemon takes milliseconds; only one that will never start reaches the bound.
    began = time.monotonic()
    while not os.path.exists(socket):
        if bus.poll() is not None or time.monotonic() - began > 15:
            raise RuntimeError("dbus-daemon did not start")
        time.sleep(0.01)
    return bus, "unix:path=" + socket


def device_path(adapter, address):
    return f"/org/bluez/{adapter}/dev_" + address.upper().replace(":", "_")


def service_data(hex_by_uuid):
    return dbus.Dictionary(
        {
            uuid: dbus.Array(bytes.fromhex(data), signature="y", variant_level=1)
            for uuid, data in hex_by_uuid.items()
        },
        signature="sv",
        variant_level=1,
    )


def device_properties(command):
    adapter = command["adapter"]
    address = command["address"]
    return dbus.Dictionary(
        {
            "Address": dbus.String(address, variant_level=1),
            "AddressType": dbus.String("random", variant_level=1),
            "Alias": dbus.String(address.replace(":", "-"), variant_level=1),
            "Adapter": dbus.ObjectPath(f"/org/bluez/{adapter}", variant_level=1),
            "Paired": dbus.Boolean(False, variant_level=1),
            "Connected": dbus.Boolean(False, variant_level=1),
            "Trusted": dbus.Boolean(False, variant_level=1),
            "Blocked": dbus.Boolean(False, variant_level=1),
            "LegacyPairing": dbus.Boolean(False, variant_level=1),
            "ServicesResolved": dbus.Boolean(False, variant_level=1),
            "UUIDs": dbus.Array([], signature="s", variant_level=1),
            "RSSI": dbus.Int16(command.get("rssi", -60), variant_level=1),
            "ServiceData": service_data(command.get("service_data", {})),
        },
        signature="sv",
    )


def run(command, bus, root):
    op = command["op"]
    if op == "adapter":
        root.AddAdapter(command["name"], "cable-test", dbus_interface="org.bluez.Mock")
        if not command.get("powered", True):
            set_powered(bus, command["name"], False)
    elif op == "power":
        set_powered(bus, command["name"], command["on"])
    elif op == "remove_adapter":
        root.RemoveAdapterWithDevices(command["name"], dbus_interface="org.bluez.Mock")
    elif op == "reset":
        objects = root.GetManagedObjects(dbus_interface=OBJECT_MANAGER)
        for path, interfaces in objects.items():
            if ADAPTER in interfaces:
                name = str(path).rsplit("/", 1)[-1]
                root.RemoveAdapterWithDevices(name, dbus_interface="org.bluez.Mock")
    elif op == "device":
        path = device_path(command["adapter"], command["address"])
        properties = device_properties(command)
        root.AddObject(path, DEVICE, properties, [], dbus_interface=MOCK)
        root.EmitSignal(
            OBJECT_MANAGER,
            "InterfacesAdded",
            "oa{sa{sv}}",
            [dbus.ObjectPath(path), dbus.Dictionary({DEVICE: properties}, signature="sa{sv}")],
            dbus_interface=MOCK,
        )
    elif op == "service_data":
        path = device_path(command["adapter"], command["address"])
        device = bus.get_object(BLUEZ, path)
        changed = dbus.Dictionary(
            {
                "RSSI": dbus.Int16(command["rssi"], variant_level=1),
                "ServiceData": service_data(command["service_data"]),
            },
            signature="sv",
        )
        # One PropertiesChanged carrying both, as BlueZ sends for a rotating advert (the
        # template's UpdateProperties cannot wrap a dictionary, so the signal is emitted as
        # is; the device's stored properties keep their first values).
        device.EmitSignal(
            PROPERTIES,
            "PropertiesChanged",
            "sa{sv}as",
            [DEVICE, changed, dbus.Array([], signature="s")],
            dbus_interface=MOCK,
        )
    else:
        raise ValueError(f"unknown op {op!r}")


def set_powered(bus, name, on):
    adapter = bus.get_object(BLUEZ, f"/org/bluez/{name}")
    adapter.Set(ADAPTER, "Powered", dbus.Boolean(on), dbus_interface=PROPERTIES)


def main():
    with tempfile.TemporaryDirectory(prefix="cable-dbusmock-") as folder:
        daemon, address = start_bus(folder)
        mock = None
        try:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
            mock, root = dbusmock.DBusTestCase.spawn_server_template(
                "bluez5", {}, stdout=subprocess.DEVNULL, system_bus=True
            )
            bus = dbus.bus.BusConnection(address)
            print("ready " + address, flush=True)
            for line in sys.stdin:
                if not line.strip():
                    continue
                try:
                    run(json.loads(line), bus, root)
                    print("ok", flush=True)
                except Exception as e:  # every failure is the test's to report
                    print("error " + " ".join(str(e).split()), flush=True)
        finally:
            if mock is not None:
                mock.terminate()
                mock.wait()
            daemon.terminate()
            daemon.wait()


if __name__ == "__main__":
    main()
