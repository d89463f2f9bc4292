//! The desktop's side of a session, built from the same codecs a real desktop uses (cable-qr,
//! cable-tunnel's `HandshakeInitiator` and `Crypter`, cable-ctap's request types), so every
//! phone test runs both roles against each other.
#![allow(dead_code)]

use cable_ble::EidPlaintext;
use cable_ctap::{
    CborMessage, Command, CredentialDescriptor, CredentialParameter, Extensions,
    GetAssertionRequest, MakeCredentialRequest, Options, RelyingParty, User, ES256,
};
use cable_keys::IdentityKey;
use cable_phone::{Outgoing, PhoneChannel};
use cable_qr::{QrHandshake, QrPayload, RequestType};
use cable_tunnel::{Crypter, Frame, HandshakeInitiator, PostHandshake, Revision};
use rand::rngs::StdRng;
use rand::SeedableRng;

pub const RP_ID: &str = "example.com";

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A desktop showing a QR code.
pub struct Desktop {
    pub identity: IdentityKey,
    pub qr: QrPayload,
    pub rng: StdRng,
    pub seed: u64,
}

impl Desktop {
    pub fn new(seed: u64, request_type: RequestType, linking: bool) -> Self {
        let mut rng = rng(seed);
        let (identity, qr) =
            QrHandshake::generate(&mut rng, request_type, linking, 1_700_000_000).into_parts();
        Self {
            identity,
            qr,
            rng,
            seed,
        }
    }

    pub fn url(&self) -> String {
        self.qr.to_url()
    }

    /// Message 1 for the phone that advertised `eid`.
    pub fn start(&mut self, eid: &EidPlaintext) -> (HandshakeInitiator, Vec<u8>) {
        let psk = self.qr.psk(&eid.to_bytes());
        HandshakeInitiator::qr(&psk, &self.identity, &mut self.rng).unwrap()
    }
}

/// An established desktop-side channel.
pub struct DesktopChannel {
    pub crypter: Crypter,
    pub handshake_hash: [u8; 32],
}

impl DesktopChannel {
    pub fn finish(initiator: HandshakeInitiator, message2: &[u8]) -> Self {
        let result = initiator.finish(message2).unwrap();
        Self {
            crypter: result.crypter,
            handshake_hash: result.handshake_hash,
        }
    }

    pub fn post_handshake(&mut self, wire: &[u8]) -> PostHandshake {
        let plaintext = self.crypter.decrypt(wire).unwrap();
        let (message, revision) = PostHandshake::decode(&plaintext).unwrap();
        assert_eq!(revision, Revision::One);
        message
    }

    pub fn frame(&mut self, wire: &[u8]) -> Frame {
        Frame::decode(&self.crypter.decrypt(wire).unwrap()).unwrap()
    }

    pub fn ctap(&mut self, wire: &[u8]) -> Vec<u8> {
        match self.frame(wire) {
            Frame::Ctap(bytes) => bytes,
            other => panic!("expected a CTAP frame, got {other:?}"),
        }
    }

    pub fn seal(&mut self, frame: &Frame) -> Vec<u8> {
        self.crypter.encrypt(&frame.encode()).unwrap()
    }

    pub fn request(&mut self, command: &Command) -> Vec<u8> {
        self.seal(&Frame::Ctap(command.encode()))
    }
}

pub fn eid(routing_id: [u8; 3], domain: u16) -> EidPlaintext {
    EidPlaintext {
        nonce: [7; 10],
        routing_id,
        tunnel_domain_id: domain,
    }
}

pub fn client_data_hash(tag: u8) -> [u8; 32] {
    [tag; 32]
}

pub fn make_credential(user: &str, rk: bool) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: client_data_hash(1),
        rp: RelyingParty {
            id: RP_ID.into(),
            name: Some("Example".into()),
        },
        user: User {
            id: user.as_bytes().to_vec(),
            name: Some(format!("{user}@example.com")),
            display_name: Some(user.into()),
        },
        pub_key_cred_params: vec![CredentialParameter::public_key(ES256)],
        exclude_list: vec![],
        extensions: Extensions::new(),
        options: Options {
            rk: rk.then_some(true),
            up: None,
            uv: Some(true),
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
    }
}

pub fn get_assertion(allow: &[&[u8]]) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: RP_ID.into(),
        client_data_hash: client_data_hash(2),
        allow_list: allow
            .iter()
            .map(|id| CredentialDescriptor::public_key(id.to_vec()))
            .collect(),
        extensions: Extensions::new(),
        options: Options {
            rk: None,
            up: None,
            uv: Some(true),
        },
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    }
}

/// The bytes of every `Send`, and whether the list ends with `Close`.
pub fn split(out: Vec<Outgoing>) -> (Vec<Vec<u8>>, bool) {
    let mut sent = Vec::new();
    let mut closed = false;
    for o in out {
        assert!(!closed, "nothing may follow Close");
        match o {
            Outgoing::Send(b) => sent.push(b),
            Outgoing::Close => closed = true,
        }
    }
    (sent, closed)
}

/// Runs the handshake: returns the desktop channel and the phone's messages after message 2.
pub fn connect(
    desktop: &mut Desktop,
    phone: &mut PhoneChannel,
    eid: &EidPlaintext,
) -> (DesktopChannel, Vec<Vec<u8>>) {
    let (initiator, message1) = desktop.start(eid);
    let (mut sent, closed) = split(phone.on_message(&message1).unwrap());
    assert!(!closed);
    let message2 = sent.remove(0);
    assert_eq!(message2.len(), 81);
    (DesktopChannel::finish(initiator, &message2), sent)
}

/// Decodes a CBOR message body after the status byte.
pub fn body<M: CborMessage>(response: &[u8]) -> M {
    cable_ctap::command::decode_response(response).unwrap()
}
