//! transport.json: padding, the Chromium-derived new-construction vector, its legacy variant
//! (through the desktop's fallback), a full session in both directions, unpadding, and the
//! CTAP 2.3 L2CAP CR LF framing.

mod common;
use cable_keys::Secret;
use cable_tunnel::crypter::{nonce, pad, unpad, TAG_LEN};
use cable_tunnel::l2cap::{encode_crlf, CrLfDecoder};
use cable_tunnel::{
    Construction, Crypter, Error, Frame, PostHandshake, Revision, Role, UpdateMessage,
};
use common::*;

fn key(v: &serde_json::Value, field: &str) -> Secret<32> {
    Secret::new(arr(v, field))
}

#[test]
fn padding_table() {
    let v = load(TRANSPORT);
    let rows = list(&v, "padding");
    for row in rows {
        let len = row["message_length"].as_u64().unwrap() as usize;
        let padded = pad(&vec![0xaa; len]).unwrap();
        assert_eq!(padded.len() as u64, row["padded_length"].as_u64().unwrap());
        assert_eq!(
            u64::from(*padded.last().unwrap()),
            row["final_byte"].as_u64().unwrap()
        );
        assert_eq!(unpad(&padded).unwrap(), vec![0xaa; len]);
    }
    assert_eq!(rows.len(), 10);
}

#[test]
fn construction_vectors() {
    let v = load(TRANSPORT);
    let vectors = list(&v, "vectors");
    assert_eq!(vectors.len(), 2);

    // New construction: a desktop writes it; a phone reads it.
    let new = &vectors[0];
    assert_eq!(new["counter"].as_u64(), Some(0));
    assert_eq!(nonce(Construction::New, 0).to_vec(), hexf(new, "nonce"));
    assert_eq!(str_of(new, "associated_data"), "");
    let plaintext = hexf(new, "plaintext");
    assert_eq!(pad(&plaintext).unwrap(), hexf(new, "padded_plaintext"));
    // "01 (CTAP message type) || 01 (authenticatorMakeCredential) || CBOR"
    let Frame::Ctap(ctap) = Frame::decode(&plaintext).unwrap() else {
        panic!("not CTAP")
    };
    assert_eq!(ctap[0], 0x01);
    assert!(cable_keys::cbor::from_slice(&ctap[1..]).is_ok());
    let mut desktop = Crypter::new(Role::Desktop, key(new, "read_key"), key(new, "write_key"));
    let ciphertext = desktop.encrypt(&plaintext).unwrap();
    assert_eq!(ciphertext, hexf(new, "ciphertext"));
    assert_eq!(
        ciphertext.len(),
        hexf(new, "padded_plaintext").len() + TAG_LEN
    );
    let mut phone = Crypter::new(Role::Phone, key(new, "write_key"), key(new, "read_key"));
    assert_eq!(phone.decrypt(&ciphertext).unwrap(), plaintext);

    // Legacy construction: same key and plaintext, AAD 02.
    let old = &vectors[1];
    assert_eq!(nonce(Construction::Legacy, 0).to_vec(), hexf(old, "nonce"));
    assert_eq!(str_of(old, "associated_data"), "02");
    assert_eq!(hexf(old, "plaintext"), plaintext);
    let mut legacy_sender = Crypter::new(Role::Phone, key(old, "write_key"), key(old, "write_key"))
        .with_construction(Construction::Legacy);
    let legacy_ct = legacy_sender.encrypt(&plaintext).unwrap();
    assert_eq!(legacy_ct, hexf(old, "ciphertext"));
    // Only the tag differs from the new construction (same all-zero nonce at counter 0).
    assert_eq!(
        legacy_ct[..legacy_ct.len() - 16],
        ciphertext[..ciphertext.len() - 16]
    );
    // A desktop receiving it as its first message falls back and stays legacy.
    let mut receiver = Crypter::new(Role::Desktop, key(old, "write_key"), key(old, "write_key"));
    assert_eq!(receiver.decrypt(&legacy_ct).unwrap(), plaintext);
    assert_eq!(receiver.construction(), Construction::Legacy);
    // A phone does not.
    let mut phone = Crypter::new(Role::Phone, key(old, "write_key"), key(old, "write_key"));
    assert_eq!(phone.decrypt(&legacy_ct), Err(Error::DecryptFailed));
}

#[test]
fn full_session_sequence() {
    let v = load(TRANSPORT);
    let sequences = list(&v, "sequences");
    assert_eq!(sequences.len(), 1);
    let seq = &sequences[0];

    // The keys are those of the QR transcript in noise.json.
    let noise = load(NOISE);
    let qr = &list(&noise, "transcripts")[0];
    assert_eq!(
        hexf(seq, "desktop_write_key"),
        hexf(qr, "desktop_write_key")
    );
    assert_eq!(hexf(seq, "desktop_read_key"), hexf(qr, "desktop_read_key"));

    let mut desktop = Crypter::new(
        Role::Desktop,
        key(seq, "desktop_read_key"),
        key(seq, "desktop_write_key"),
    );
    let mut phone = Crypter::new(
        Role::Phone,
        key(seq, "desktop_write_key"),
        key(seq, "desktop_read_key"),
    );
    let messages = list(seq, "messages");
    for (i, m) in messages.iter().enumerate() {
        let counter = m["counter"].as_u64().unwrap() as u32;
        assert_eq!(nonce(Construction::New, counter).to_vec(), hexf(m, "nonce"));
        let plaintext = hexf(m, "plaintext");
        let (sender, receiver, sender_key) = match str_of(m, "direction") {
            "phone->desktop" => (&mut phone, &mut desktop, "desktop_read_key"),
            "desktop->phone" => (&mut desktop, &mut phone, "desktop_write_key"),
            other => panic!("direction {other}"),
        };
        assert_eq!(hexf(m, "key"), hexf(seq, sender_key));
        let ct = sender.encrypt(&plaintext).unwrap();
        assert_eq!(ct, hexf(m, "ciphertext"), "message {i}");
        assert_eq!(receiver.decrypt(&ct).unwrap(), plaintext);

        // What each label says about the plaintext.
        match i {
            0 => {
                let (ph, rev) = PostHandshake::decode(&plaintext).unwrap();
                assert_eq!(rev, Revision::One);
                assert_eq!(ph.features, ["ctap"]);
                assert!(ph.get_info.is_some());
            }
            1 => {
                let Frame::Update(p) = Frame::decode(&plaintext).unwrap() else {
                    panic!()
                };
                assert_eq!(UpdateMessage::decode(&p).unwrap().linking, None);
            }
            2 => {
                let Frame::Ctap(p) = Frame::decode(&plaintext).unwrap() else {
                    panic!()
                };
                assert_eq!(p[0], 0x00, "status OK");
            }
            3 => {
                let Frame::Ctap(p) = Frame::decode(&plaintext).unwrap() else {
                    panic!()
                };
                assert_eq!(p[0], 0x02, "getAssertion");
            }
            4 => assert_eq!(Frame::decode(&plaintext).unwrap(), Frame::Shutdown),
            _ => unreachable!(),
        }
    }
    assert_eq!(messages.len(), 5);
}

#[test]
fn unpadding() {
    let v = load(TRANSPORT);
    let cases = list(&v, "unpadding");
    for c in cases {
        let input = hexf(c, "plaintext");
        let result = str_of(c, "result");
        match result {
            "error (empty)" => assert_eq!(unpad(&input), Err(Error::EmptyPlaintext)),
            "error (padding longer than frame)" => {
                assert!(matches!(unpad(&input), Err(Error::PaddingTooLong { .. })))
            }
            hex_result => assert_eq!(unpad(&input).unwrap(), hex::decode(hex_result).unwrap()),
        }
    }
    assert_eq!(cases.len(), 3);
}

#[test]
fn l2cap_crlf_framing() {
    let v = load(TRANSPORT);
    let section = &v["l2cap_framing_ctap23"];
    assert!(str_of(section, "rule").contains("0d 0a"));
    let cases = list(section, "cases");
    for c in cases {
        let expected: Vec<Vec<u8>> = list(c, "messages")
            .iter()
            .map(|m| hex::decode(m.as_str().unwrap()).unwrap())
            .collect();
        // Whole stream at once, and byte by byte.
        for chunk in [usize::MAX, 1] {
            let stream = hexf(c, "stream");
            let mut dec = CrLfDecoder::new();
            let mut got = Vec::new();
            for piece in stream.chunks(chunk.min(stream.len().max(1))) {
                dec.push(piece);
                while let Some(m) = dec.next_message() {
                    got.push(m);
                }
            }
            assert_eq!(got, expected);
            assert_eq!(dec.remaining(), hexf(c, "remaining"));
        }
        // The encoder produces what the decoder splits.
        let encoded: Vec<u8> = expected.iter().flat_map(|m| encode_crlf(m)).collect();
        let mut dec = CrLfDecoder::new();
        dec.push(&encoded);
        for m in &expected {
            assert_eq!(dec.next_message().as_ref(), Some(m));
        }
    }
    assert_eq!(cases.len(), 5);
}
