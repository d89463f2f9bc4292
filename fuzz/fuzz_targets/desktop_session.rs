//! The desktop's session state machine (cable-hybrid `Desktop`) driven by a hostile phone.
//!
//! The desktop starts with its handshake done under fixed channel keys, so every run reaches
//! the post-handshake logic at AES-GCM cost instead of paying for Noise (the handshake itself
//! is `handshake_read`'s). The input is a script of records `kind, len (u16 LE), bytes`:
//! * kind 0: `bytes` as a plaintext, encrypted with the phone's key and delivered;
//! * kind 1: `bytes` delivered raw (ciphertext garbage, truncations, replays);
//! * kind 2: the caller acts: send `bytes` as a CTAP request, `finish`, or `cancel`;
//! * kind 3: the tunnel closes, or `len` seconds pass.
//! If the first byte is even, the channel starts open, as after a valid post-handshake
//! message; if odd, the script must bring the post-handshake message itself. Checked: nothing panics; once closed the machine
//! reports nothing more and sends nothing but its one close; everything it sends decrypts
//! under the phone's key to a frame the phone understands; a request it accepts is one it
//! said it would accept.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cable_ctap::{Authenticator, CborMessage, CredentialStore, Profile};
use cable_hybrid::{Desktop, DesktopEvent, Endpoint, Timeouts, Transmit};
use cable_keys::Secret;
use cable_qr::{QrHandshake, RequestType};
use cable_tunnel::{Crypter, Frame, Revision, Role};
use libfuzzer_sys::fuzz_target;

#[path = "script.rs"]
mod script;
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Fixed {
    qr: QrHandshake,
    get_info: Vec<u8>,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let qr = QrHandshake::generate(
            &mut StdRng::seed_from_u64(1),
            RequestType::GetAssertion,
            true,
            1_700_000_000,
        );
        let get_info = Authenticator::new(Profile::Android, CredentialStore::new())
            .get_info()
            .to_cbor();
        Fixed { qr, get_info }
    })
}

fn crypters() -> (Crypter, Crypter) {
    let (k1, k2) = ([1u8; 32], [2u8; 32]);
    let desktop = Crypter::new(Role::Desktop, Secret::new(k2), Secret::new(k1));
    let phone = Crypter::new(Role::Phone, Secret::new(k1), Secret::new(k2));
    (desktop, phone)
}

fuzz_target!(|data: &[u8]| {
    let fixed = fixed();
    let mut now = Instant::now();
    let (desktop_crypter, mut phone) = crypters();
    let Some((&first, script)) = data.split_first() else {
        return;
    };
    let ready = (first % 2 == 0).then(|| fixed.get_info.clone());
    let mut desktop = Desktop::open_for_fuzzing(
        now,
        fixed.qr.clone(),
        desktop_crypter,
        ready,
        Timeouts::default(),
    );
    let mut seen = Seen::default();
    check(&mut desktop, &mut phone, &mut seen);
    for script::Record { kind, len, body } in script::records(script) {
        match kind {
            0 => {
                if let Ok(wire) = phone.encrypt(body) {
                    desktop.handle_message(now, &wire);
                }
            }
            1 => desktop.handle_message(now, body),
            2 => match body.split_first() {
                Some((0, request)) => {
                    let accepts = desktop.accepts_request(request);
                    let sent = desktop.send_request(now, request);
                    assert_eq!(accepts, sent.is_ok(), "accepts_request must predict send");
                }
                Some((1, _)) => desktop.finish(now),
                _ => desktop.cancel(),
            },
            _ if len == 0 => desktop.handle_close(now),
            _ => {
                now += Duration::from_secs(len as u64);
                desktop.handle_timeout(now);
            }
        }
        check(&mut desktop, &mut phone, &mut seen);
    }
});

/// What the desktop reported so far.
#[derive(Default)]
struct Seen {
    closed: bool,
    /// The revision the phone's post-handshake message selected (revision 1 until then).
    revision_zero: bool,
}

fn check(desktop: &mut Desktop, phone: &mut Crypter, seen: &mut Seen) {
    let was_closed = seen.closed;
    while let Some(event) = desktop.poll_event() {
        assert!(!seen.closed, "an event after Closed: {event:?}");
        match event {
            DesktopEvent::Closed(_) => seen.closed = true,
            DesktopEvent::Ready { revision, .. } => seen.revision_zero = revision == Revision::Zero,
            _ => {}
        }
    }
    let revision = if seen.revision_zero {
        Revision::Zero
    } else {
        Revision::One
    };
    let mut closes = 0;
    while let Some(transmit) = desktop.poll_transmit() {
        match transmit {
            Transmit::Close => closes += 1,
            Transmit::Message(wire) => {
                assert!(!was_closed, "sent after closing");
                let plaintext = phone.decrypt(&wire).expect("the phone reads what we send");
                Frame::decode_for(&plaintext, revision).expect("a frame the phone understands");
            }
        }
    }
    assert!(closes <= 1 && (closes == 0 || (seen.closed && !was_closed)));
    assert_eq!(seen.closed, desktop.is_closed());
}
