//! noise.json: protocol names, both fixed-key transcripts byte for byte through our snow-based
//! handshake, and every step of both traces replayed with a plain HKDF/SHA-256/AES-GCM model.

mod common;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use cable_keys::Psk;
use cable_tunnel::handshake::{respond_linked_with_ephemeral, respond_qr_with_ephemeral};
use cable_tunnel::{Flow, HandshakeInitiator};
use common::*;
use hkdf::Hkdf;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

#[test]
fn protocol_names() {
    let v = load(NOISE);
    let names = list(&v, "protocol_names");
    for (entry, flow) in names.iter().zip([Flow::Qr, Flow::Linked]) {
        let name = str_of(entry, "name");
        assert_eq!(name, flow.protocol_name());
        assert_eq!(name.len(), 31);
        let mut initial = name.as_bytes().to_vec();
        initial.push(0);
        assert_eq!(initial, hexf(entry, "initial_ck_h"));
    }
    assert_eq!(names.len(), 2);
}

#[test]
fn transcripts_reproduce_byte_for_byte() {
    let v = load(NOISE);
    let transcripts = list(&v, "transcripts");
    assert_eq!(transcripts.len(), 2);

    // QR (KNpsk0).
    let t = &transcripts[0];
    assert_eq!(str_of(t, "prologue"), "01");
    let psk = Psk::new(arr(t, "psk"));
    assert_eq!(
        cable_keys::psk(&hexf(t, "qr_secret"), &arr(t, "eid_plaintext")),
        psk
    );
    let desktop = identity(&t["desktop_qr_identity"]);
    let d_eph = identity(&t["desktop_ephemeral"]);
    let p_eph = identity(&t["phone_ephemeral"]);
    assert_eq!(
        d_eph.ecdh(&p_eph.public_key()).expose().to_vec(),
        hexf(t, "ecdh_ee")
    );
    assert_eq!(
        desktop.ecdh(&p_eph.public_key()).expose().to_vec(),
        hexf(t, "ecdh_se")
    );
    let (init, m1) = HandshakeInitiator::qr_with_ephemeral(&psk, &desktop, &d_eph).unwrap();
    assert_eq!(m1, hexf(t, "message1_desktop_to_phone"));
    let (m2, phone) = respond_qr_with_ephemeral(&psk, &desktop.public_key(), &m1, &p_eph).unwrap();
    assert_eq!(m2, hexf(t, "message2_phone_to_desktop"));
    let desk = init.finish(&m2).unwrap();
    check_result(t, &desk, &phone);
    assert_eq!(
        desk.crypter.keys_for_testing().1.to_vec(),
        hexf(t, "split_k1")
    );
    assert_eq!(
        desk.crypter.keys_for_testing().0.to_vec(),
        hexf(t, "split_k2")
    );
    assert_eq!(
        phone.crypter.keys_for_testing().1.to_vec(),
        hexf(t, "phone_write_key")
    );
    assert_eq!(
        phone.crypter.keys_for_testing().0.to_vec(),
        hexf(t, "phone_read_key")
    );
    replay_trace(t, "desktop_trace");
    replay_trace(t, "phone_trace");

    // Linked (NKpsk0).
    let t = &transcripts[1];
    assert_eq!(str_of(t, "prologue"), "00");
    let psk = Psk::new(arr(t, "psk"));
    assert_eq!(
        cable_keys::psk(&hexf(t, "link_secret"), &arr(t, "eid_plaintext")),
        psk
    );
    let phone_id = identity(&t["phone_identity"]);
    let d_eph = identity(&t["desktop_ephemeral"]);
    let p_eph = identity(&t["phone_ephemeral"]);
    let (init, m1) =
        HandshakeInitiator::linked_with_ephemeral(&psk, &phone_id.public_key(), &d_eph).unwrap();
    assert_eq!(m1, hexf(t, "message1_desktop_to_phone"));
    let (m2, phone) = respond_linked_with_ephemeral(&psk, &phone_id, &m1, &p_eph).unwrap();
    assert_eq!(m2, hexf(t, "message2_phone_to_desktop"));
    let desk = init.finish(&m2).unwrap();
    check_result(t, &desk, &phone);
    replay_trace(t, "desktop_trace");
    replay_trace(t, "phone_trace");
}

fn check_result(
    t: &Json,
    desk: &cable_tunnel::HandshakeResult,
    phone: &cable_tunnel::HandshakeResult,
) {
    assert_eq!(desk.handshake_hash.to_vec(), hexf(t, "handshake_hash"));
    assert_eq!(phone.handshake_hash, desk.handshake_hash);
    let (read, write) = desk.crypter.keys_for_testing();
    assert_eq!(write.to_vec(), hexf(t, "desktop_write_key"));
    assert_eq!(read.to_vec(), hexf(t, "desktop_read_key"));
    assert!(desk.crypter.is_counterpart_of(&phone.crypter));
}

/// The Noise symmetric state of §6.2, written out plainly so the trace's every `ck`, `h` and
/// `k` is checked independently of snow.
struct Symmetric {
    ck: [u8; 32],
    h: [u8; 32],
    k: Option<[u8; 32]>,
}

impl Symmetric {
    fn hkdf(&self, ikm: &[u8], n: usize) -> Vec<[u8; 32]> {
        let mut okm = vec![0u8; 32 * n];
        Hkdf::<Sha256>::new(Some(&self.ck), ikm)
            .expand(&[], &mut okm)
            .unwrap();
        okm.chunks(32).map(|c| c.try_into().unwrap()).collect()
    }
    fn mix_hash(&mut self, data: &[u8]) {
        self.h = Sha256::new()
            .chain_update(self.h)
            .chain_update(data)
            .finalize()
            .into();
    }
    fn aead(&self, step: &Json, encrypt: bool) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.k.unwrap().into());
        let nonce = arr::<12>(step, "nonce");
        assert_eq!(nonce, [0u8; 12]);
        assert_eq!(hexf(step, "ad"), self.h.to_vec());
        if encrypt {
            let pt = hexf(step, "plaintext");
            cipher
                .encrypt(
                    &nonce.into(),
                    Payload {
                        msg: &pt,
                        aad: &self.h,
                    },
                )
                .unwrap()
        } else {
            let ct = hexf(step, "ciphertext");
            cipher
                .decrypt(
                    &nonce.into(),
                    Payload {
                        msg: &ct,
                        aad: &self.h,
                    },
                )
                .unwrap()
        }
    }
}

fn replay_trace(t: &Json, which: &str) {
    let steps = list(t, which);
    let mut s = Symmetric {
        ck: [0; 32],
        h: [0; 32],
        k: None,
    };
    for step in steps {
        match str_of(step, "op") {
            "InitializeSymmetric" => {
                let mut name = str_of(step, "protocol_name").as_bytes().to_vec();
                name.push(0);
                s.ck = name.clone().try_into().unwrap();
                s.h = s.ck;
                assert_eq!(hexf(step, "ck"), s.ck.to_vec());
            }
            "MixHash" => s.mix_hash(&hexf(step, "data")),
            "MixKey" => {
                let out = s.hkdf(&hexf(step, "ikm"), 2);
                s.ck = out[0];
                s.k = Some(out[1]);
                assert_eq!(hexf(step, "ck"), s.ck.to_vec());
                assert_eq!(hexf(step, "k"), out[1].to_vec());
            }
            "MixKeyAndHash" => {
                let out = s.hkdf(&hexf(step, "ikm"), 3);
                s.ck = out[0];
                assert_eq!(hexf(step, "temp_h"), out[1].to_vec());
                s.mix_hash(&out[1]);
                s.k = Some(out[2]);
                assert_eq!(hexf(step, "ck"), s.ck.to_vec());
                assert_eq!(hexf(step, "k"), out[2].to_vec());
            }
            "EncryptAndHash" => {
                let ct = s.aead(step, true);
                assert_eq!(ct, hexf(step, "ciphertext"));
                s.mix_hash(&ct);
            }
            "DecryptAndHash" => {
                let pt = s.aead(step, false);
                assert_eq!(pt, hexf(step, "plaintext"));
                s.mix_hash(&hexf(step, "ciphertext"));
            }
            "Split" => {
                let out = s.hkdf(&[], 2);
                assert_eq!(hexf(step, "k1"), out[0].to_vec());
                assert_eq!(hexf(step, "k2"), out[1].to_vec());
            }
            other => panic!("unknown op {other}"),
        }
        if step.get("h").is_some() {
            assert_eq!(hexf(step, "h"), s.h.to_vec(), "{which}: {step}");
        }
    }
    assert_eq!(s.h.to_vec(), hexf(t, "handshake_hash"));
    // 13 steps on each side: init, prologue, s, psk, e (hash and key), payload, peer e (hash
    // and key), two DH, payload, split.
    assert_eq!(steps.len(), 13);
}
