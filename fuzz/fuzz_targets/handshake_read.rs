//! The Noise handshake messages (HYBRID.md §6), read by both roles from the tunnel:
//!
//! * the phone's `respond_qr` (KNpsk0) and `respond_linked` (NKpsk0) on arbitrary message 1;
//! * the desktop's `HandshakeInitiator::finish`, QR and linked, on arbitrary message 2, with a
//!   fresh initiator per run.
//!
//! The first input byte (mod 4) picks which of the four runs: 0 phone QR, 1 phone linked,
//! 2 desktop QR, 3 desktop linked; the rest is the message.
//!
//! All keys, ephemerals included, are the fixed ones of the noise.json transcripts (through the
//! `*_with_ephemeral` variants), so runs are deterministic and the transcripts' messages, used
//! as seeds, complete the handshake. When a message is accepted, the other side is run too and
//! both must agree on the handshake hash and hold counterpart channels.

#![no_main]

use std::sync::OnceLock;

use cable_keys::{IdentityKey, Psk, PublicKey, Secret};
use cable_tunnel::handshake::{
    respond_linked_with_ephemeral, respond_qr_with_ephemeral, HANDSHAKE_MESSAGE_LEN,
};
use cable_tunnel::{HandshakeInitiator, HandshakeResult};
use libfuzzer_sys::fuzz_target;

struct Keys {
    qr_psk: Psk,
    linked_psk: Psk,
    desktop_identity: IdentityKey,
    desktop_public: PublicKey,
    phone_identity: IdentityKey,
    phone_public: PublicKey,
    desktop_ephemeral: IdentityKey,
    phone_ephemeral: IdentityKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let scalar = |hex: &str| IdentityKey::from_bytes(&bytes::<32>(hex)).unwrap();
        let desktop_identity =
            scalar("25e4642681c6370dc46d734a6ac9ddc4fe265753bdf733612f53c78d526fa6cb");
        let phone_identity =
            scalar("471b54e5909b5b772ab4f3f297c69ef9129f7e70b4ce28849aa51a5620a5a772");
        Keys {
            qr_psk: Secret::new(bytes(
                "c293aca851599aaa6287700b29783e4a95083aa8223e58b1ba07634a2c4de5ba",
            )),
            linked_psk: Secret::new(bytes(
                "a8fe3642d9577a760c4e704154afd47582e145077c2c6db2c6dfa0164eee8b6e",
            )),
            desktop_public: desktop_identity.public_key(),
            desktop_identity,
            phone_public: phone_identity.public_key(),
            phone_identity,
            desktop_ephemeral: scalar(
                "cde5616a51ca17ad9322f245983c4946d1397d605210dc1c7ed656cc693c9aab",
            ),
            phone_ephemeral: scalar(
                "f3620a80c1f01532889cae5d68c08bca51abe7b9fb96ec8d87f71a68005f37f6",
            ),
        }
    })
}

fuzz_target!(|input: &[u8]| {
    let k = keys();
    // The first byte picks one of the four readers, so a run pays for one side's P-256 work
    // instead of all four (the rest of the input is the message).
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    match mode % 4 {
        // Phone side, message 1, QR flow.
        0 => {
            if let Ok((message2, phone)) =
                respond_qr_with_ephemeral(&k.qr_psk, &k.desktop_public, data, &k.phone_ephemeral)
            {
                let (initiator, message1) = HandshakeInitiator::qr_with_ephemeral(
                    &k.qr_psk,
                    &k.desktop_identity,
                    &k.desktop_ephemeral,
                )
                .unwrap();
                check_accepted_message1(data, &message1, initiator, &message2, phone);
            }
        }
        // Phone side, message 1, linked flow.
        1 => {
            if let Ok((message2, phone)) = respond_linked_with_ephemeral(
                &k.linked_psk,
                &k.phone_identity,
                data,
                &k.phone_ephemeral,
            ) {
                let (initiator, message1) = HandshakeInitiator::linked_with_ephemeral(
                    &k.linked_psk,
                    &k.phone_public,
                    &k.desktop_ephemeral,
                )
                .unwrap();
                check_accepted_message1(data, &message1, initiator, &message2, phone);
            }
        }
        // Desktop side, message 2, QR flow.
        2 => {
            let (initiator, message1) = HandshakeInitiator::qr_with_ephemeral(
                &k.qr_psk,
                &k.desktop_identity,
                &k.desktop_ephemeral,
            )
            .unwrap();
            if let Ok(desktop) = initiator.finish(data) {
                let (message2, phone) = respond_qr_with_ephemeral(
                    &k.qr_psk,
                    &k.desktop_public,
                    &message1,
                    &k.phone_ephemeral,
                )
                .unwrap();
                check_accepted_message2(data, &message2, desktop, phone);
            }
        }
        // Desktop side, message 2, linked flow.
        _ => {
            let (initiator, message1) = HandshakeInitiator::linked_with_ephemeral(
                &k.linked_psk,
                &k.phone_public,
                &k.desktop_ephemeral,
            )
            .unwrap();
            if let Ok(desktop) = initiator.finish(data) {
                let (message2, phone) = respond_linked_with_ephemeral(
                    &k.linked_psk,
                    &k.phone_identity,
                    &message1,
                    &k.phone_ephemeral,
                )
                .unwrap();
                check_accepted_message2(data, &message2, desktop, phone);
            }
        }
    }
});

/// The phone accepted `data` as message 1: only the (fixed-key) desktop can have made it, so it
/// must be the desktop's message, and the desktop must accept the phone's answer.
fn check_accepted_message1(
    data: &[u8],
    message1: &[u8],
    initiator: HandshakeInitiator,
    message2: &[u8],
    phone: HandshakeResult,
) {
    assert_eq!(
        data, message1,
        "phone accepted a message 1 the desktop did not send"
    );
    assert_eq!(message2.len(), HANDSHAKE_MESSAGE_LEN);
    let desktop = initiator
        .finish(message2)
        .expect("desktop must accept the phone's answer");
    assert_agree(&desktop, &phone);
}

/// The desktop accepted `data` as message 2: it must be what the phone sends.
fn check_accepted_message2(
    data: &[u8],
    message2: &[u8],
    desktop: HandshakeResult,
    phone: HandshakeResult,
) {
    assert_eq!(
        data, message2,
        "desktop accepted a message 2 the phone did not send"
    );
    assert_agree(&desktop, &phone);
}

fn assert_agree(desktop: &HandshakeResult, phone: &HandshakeResult) {
    assert_eq!(desktop.handshake_hash, phone.handshake_hash);
    assert!(desktop.crypter.is_counterpart_of(&phone.crypter));
}

fn bytes<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}
