#!/usr/bin/env python3
"""python-fido2 as the program that uses the security key, over a fake kernel.

Plays Linux's side of /dev/uhid on a SOCK_SEQPACKET socket (one whole `struct uhid_event`
per packet, as cable-uhid exchanges them with the kernel), so python-fido2's own CTAP-HID
client (`CtapHidDevice`, `Fido2Client`) and its relying party (`Fido2Server`) run against the
virtual key unchanged. Commands arrive on stdin, one per line; each answers one JSON line.

  register NAME      Fido2Server.register_begin → Fido2Client.make_credential → register_complete
  sign_in            authenticate_begin (allowList: every registered credential) → get_assertion → complete
  cancel             make_credential, cancelled from the client after the device says UPNEEDED
  abandon            make_credential, then the program closes the device mid-request
  busy               while a second client waits on the phone, this one's PING is answered CHANNEL_BUSY
  garbage N          N random reports, then getInfo must still work
  quit
"""
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import traceback

from fido2.client import ClientError, Fido2Client, UserInteraction
from fido2.ctap import CtapError
from fido2.hid import CtapHidDevice, CTAPHID
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity

EVENT_SIZE = 4380  # sizeof(struct uhid_event), linux/uhid.h
UHID_DESTROY, UHID_START, UHID_OPEN, UHID_CLOSE, UHID_OUTPUT = 1, 2, 4, 5, 6
UHID_CREATE2, UHID_INPUT2 = 11, 12
UHID_OUTPUT_REPORT = 1
RP = PublicKeyCredentialRpEntity(id="example.com", name="Example")
ORIGIN = "https://example.com"


def say(obj):
    print(json.dumps(obj), flush=True)


class Kernel:
    """The kernel's end: accepts cable-uhid, reads its CREATE2, then relays reports."""

    def __init__(self, path):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path)
        self.listener.listen(1)
        self.sock = None
        self.inputs = []  # reports per reader, demultiplexed by channel id
        self.lock = threading.Condition()
        self.created = None

    def accept(self):
        self.sock, _ = self.listener.accept()
        record = self.sock.recv(EVENT_SIZE + 16)
        (kind,) = struct.unpack_from("<I", record, 0)
        if kind != UHID_CREATE2 or len(record) != EVENT_SIZE:
            raise RuntimeError(f"expected a {EVENT_SIZE}-byte CREATE2, got type {kind}, {len(record)} bytes")
        name = record[4:132].split(b"\0")[0].decode()
        rd_size, bus, vendor, product = struct.unpack_from("<HHII", record, 4 + 256)
        self.created = {"name": name, "rd_size": rd_size, "bus": bus, "vendor": vendor, "product": product}
        self.send(UHID_START, struct.pack("<Q", 0))
        self.send(UHID_OPEN, b"")
        threading.Thread(target=self.read_loop, daemon=True).start()

    def send(self, kind, payload):
        record = struct.pack("<I", kind) + payload
        self.sock.send(record.ljust(EVENT_SIZE, b"\0"))

    def output(self, report):
        # hidraw hands uhid the write as it came: report ID 0, then the 64-byte report.
        data = b"\0" + report
        payload = data.ljust(4096, b"\0") + struct.pack("<HB", len(data), UHID_OUTPUT_REPORT)
        self.send(UHID_OUTPUT, payload)

    def read_loop(self):
        while True:
            record = self.sock.recv(EVENT_SIZE + 16)
            if not record:
                return
            (kind,) = struct.unpack_from("<I", record, 0)
            if kind == UHID_INPUT2:
                (size,) = struct.unpack_from("<H", record, 4)
                with self.lock:
                    self.inputs.append(record[6 : 6 + size])
                    self.lock.notify_all()
            elif kind == UHID_DESTROY:
                return

    def read(self, cid, timeout=60):
        """The next input report for channel `cid` (broadcast INIT answers: by nonce later)."""
        with self.lock:
            while True:
                for i, report in enumerate(self.inputs):
                    if report[:4] == (cid or b"\xff\xff\xff\xff"):
                        return self.inputs.pop(i)
                if not self.lock.wait(timeout):
                    raise TimeoutError("no input report from the device")


class Connection(CtapHidConnection):
    """One python-fido2 client's view of the hidraw node. Reports for other channels stay
    queued for their own client, as each would read them on a real device."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.cid = None

    def write_packet(self, data):
        self.kernel.output(bytes(data))

    def read_packet(self):
        # Before INIT has allocated a channel, the answer comes on the broadcast channel.
        return self.kernel.read(self.cid)

    def close(self):
        pass


def device(kernel):
    desc = HidDescriptor("uhid", 0x1209, 0xCAB1, 64, 64, "cable", None)
    conn = Connection(kernel)
    dev = CtapHidDevice(desc, conn)
    conn.cid = struct.pack(">I", dev._channel_id)
    return dev


class Interaction(UserInteraction):
    def request_pin(self, permissions, rp_id):
        raise RuntimeError("the key asked for a PIN: it announces none")

    def request_uv(self, permissions, rp_id):
        return True


def main():
    kernel = Kernel(sys.argv[1])
    say({"listening": sys.argv[1]})
    kernel.accept()
    say({"created": kernel.created})
    server = Fido2Server(RP)
    credentials = []
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        command = words[0]
        try:
            if command == "register":
                dev = device(kernel)
                client = Fido2Client(dev, ORIGIN, user_interaction=Interaction())
                user = PublicKeyCredentialUserEntity(id=words[1].encode(), name=words[1], display_name=words[1])
                options, state = server.register_begin(user, user_verification="discouraged")
                result = client.make_credential(options["publicKey"])
                auth = server.register_complete(state, result.client_data, result.attestation_object)
                credentials.append(auth.credential_data)
                say({"registered": True, "credential_id": auth.credential_data.credential_id.hex(),
                     "aaguid": str(auth.credential_data.aaguid), "info_versions": dev.capabilities})
            elif command == "sign_in":
                dev = device(kernel)
                client = Fido2Client(dev, ORIGIN, user_interaction=Interaction())
                options, state = server.authenticate_begin(credentials, user_verification="discouraged")
                selection = client.get_assertion(options["publicKey"])
                response = selection.get_response(0)
                server.authenticate_complete(state, credentials, response.credential_id,
                                             response.client_data, response.authenticator_data,
                                             response.signature)
                say({"signed_in": True, "credential_id": response.credential_id.hex()})
            elif command == "cancel":
                # The request runs; the next stdin line ("now") cancels it from the client.
                dev = device(kernel)
                user = PublicKeyCredentialUserEntity(id=b"bob", name="bob", display_name="bob")
                options, _ = server.register_begin(user, user_verification="discouraged")
                cancel = threading.Event()
                outcome = {}

                def run():
                    client = Fido2Client(dev, ORIGIN, user_interaction=Interaction())
                    try:
                        client.make_credential(options["publicKey"], event=cancel)
                        outcome["cancelled"] = False
                    except ClientError as e:
                        outcome["cancelled"] = True
                        outcome["cause"] = repr(e.cause)

                t = threading.Thread(target=run)
                t.start()
                sys.stdin.readline()
                cancel.set()
                t.join(60)
                say(outcome)
            elif command == "abandon":
                # The request runs; at the next stdin line the program closes the hidraw node
                # (the kernel sends UHID_CLOSE), as a program that exits mid-request does.
                dev = device(kernel)
                user = PublicKeyCredentialUserEntity(id=b"hank", name="hank", display_name="hank")
                options, _ = server.register_begin(user, user_verification="discouraged")

                def run():
                    try:
                        Fido2Client(dev, ORIGIN, user_interaction=Interaction()).make_credential(options["publicKey"])
                    except Exception:
                        pass  # its device went away under it

                threading.Thread(target=run, daemon=True).start()
                sys.stdin.readline()
                kernel.send(UHID_CLOSE, b"")
                kernel.send(UHID_OPEN, b"")  # the next program
                say({"closed": True})
            elif command == "busy":
                first = device(kernel)
                second = device(kernel)
                user = PublicKeyCredentialUserEntity(id=b"carol", name="carol", display_name="carol")
                options, _ = server.register_begin(user, user_verification="discouraged")
                up = threading.Event()
                outcome = {}

                class Up(Interaction):
                    def prompt_up(self):
                        up.set()

                def run():
                    try:
                        Fido2Client(first, ORIGIN, user_interaction=Up()).make_credential(options["publicKey"])
                        outcome["first"] = "ok"
                    except ClientError as e:
                        outcome["first"] = repr(e.cause)

                t = threading.Thread(target=run)
                t.start()
                up.wait(30)
                try:
                    second.ping(b"hello")
                    outcome["second"] = "answered"
                except CtapError as e:
                    outcome["second"] = e.code.name
                say({"busy": outcome["second"], "waiting": up.is_set()})
                t.join(120)
                say({"first": outcome.get("first")})
            elif command == "garbage":
                rng = random.Random(int(words[2]) if len(words) > 2 else 1)
                for _ in range(int(words[1])):
                    kernel.output(bytes(rng.getrandbits(8) for _ in range(64)))
                time.sleep(0.5)
                with kernel.lock:
                    dropped = len(kernel.inputs)
                    kernel.inputs.clear()  # the device's answers to the garbage
                dev = device(kernel)
                info = dev.call(CTAPHID.CBOR, b"\x04")
                say({"get_info_status": info[0], "stray_answers": dropped})
            elif command == "quit":
                break
            else:
                say({"error": f"unknown command {command}"})
        except ClientError as e:
            say({"client_error": e.code.name, "cause": repr(e.cause)})
        except Exception as e:  # report, and stay up for the next command
            say({"error": repr(e), "trace": traceback.format_exc()})


if __name__ == "__main__":
    main()
