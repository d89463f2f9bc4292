//! The phone's session state machine (cable-hybrid `Phone`) driven by a hostile desktop.
//!
//! As `desktop_session`: the handshake is done under fixed keys, so runs reach the request
//! handling at AES-GCM cost. Records `kind, len (u16 LE), bytes`:
//! * kind 0: `bytes` as a plaintext from the desktop, encrypted and delivered;
//! * kind 1: `bytes` delivered raw;
//! * kind 2: the app answers the pending request with `bytes`, or closes;
//! * kind 3: the tunnel closes, or `len` seconds pass.
//! Checked: nothing panics; the app is handed at most one request; once closed the machine
//! reports nothing more and sends nothing but its one close; everything it sends decrypts
//! under the desktop's key to a frame.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cable_ctap::{Authenticator, CborMessage, CredentialStore, Profile};
use cable_hybrid::{Endpoint, Phone, PhoneConfig, PhoneEvent, Transmit};
use cable_keys::{IdentityKey, PublicKey, Secret};
use cable_tunnel::{Crypter, Frame, Role};
use libfuzzer_sys::fuzz_target;

#[path = "script.rs"]
mod script;
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Fixed {
    config: PhoneConfig,
    desktop: PublicKey,
    ephemeral: IdentityKey,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let get_info = Authenticator::new(Profile::Android, CredentialStore::new())
            .get_info()
            .to_cbor();
        let mut rng = StdRng::seed_from_u64(2);
        Fixed {
            config: PhoneConfig {
                get_info,
                sends_update: true,
                handshake_wait: Some(Duration::from_secs(120)),
                idle: Some(Duration::from_secs(60)),
            },
            desktop: IdentityKey::generate(&mut rng).public_key(),
            ephemeral: IdentityKey::generate(&mut rng),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixed = fixed();
    let mut now = Instant::now();
    let (k1, k2) = ([1u8; 32], [2u8; 32]);
    let mut desktop = Crypter::new(Role::Desktop, Secret::new(k2), Secret::new(k1));
    let crypter = Crypter::new(Role::Phone, Secret::new(k1), Secret::new(k2));
    let mut phone = Phone::open_for_fuzzing(
        now,
        crypter,
        fixed.desktop.clone(),
        fixed.config.clone(),
        fixed.ephemeral.clone(),
    );
    let mut state = State::default();
    for script::Record { kind, len, body } in script::records(data) {
        match kind {
            0 => {
                if let Ok(wire) = desktop.encrypt(body) {
                    phone.handle_message(now, &wire);
                }
            }
            1 => phone.handle_message(now, body),
            2 if body.is_empty() => phone.close(),
            2 => {
                let _ = phone.respond(now, body.to_vec());
            }
            _ if len == 0 => phone.handle_close(now),
            _ => {
                now += Duration::from_secs(len as u64);
                phone.handle_timeout(now);
            }
        }
        state.check(&mut phone, &mut desktop);
    }
});

#[derive(Default)]
struct State {
    closed: bool,
    requests: usize,
}

impl State {
    fn check(&mut self, phone: &mut Phone, desktop: &mut Crypter) {
        let was_closed = self.closed;
        while let Some(event) = phone.poll_event() {
            assert!(!self.closed, "an event after Closed: {event:?}");
            match event {
                PhoneEvent::Closed(_) => self.closed = true,
                PhoneEvent::Request { .. } => self.requests += 1,
                _ => {}
            }
        }
        assert!(self.requests <= 1, "one operation per session");
        let mut closes = 0;
        while let Some(transmit) = phone.poll_transmit() {
            match transmit {
                Transmit::Close => closes += 1,
                Transmit::Message(wire) => {
                    assert!(!was_closed, "sent after closing");
                    let plaintext = desktop.decrypt(&wire).expect("the desktop reads it");
                    Frame::decode(&plaintext).expect("a frame");
                }
            }
        }
        assert!(closes <= 1 && (closes == 0 || (self.closed && !was_closed)));
        assert_eq!(self.closed, phone.is_closed());
    }
}
