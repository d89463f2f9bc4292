//! Both roles set up for one session, from seeds, on virtual time.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use cable_ctap::{Authenticator, CborMessage, CredentialStore, Profile};
use cable_hybrid::pair::Pair;
use cable_hybrid::{
    Advert, Desktop, DesktopEvent, Endpoint, LinkKeys, LinkingProvider, Phone, PhoneConfig,
    PhoneEvent, Timeouts,
};
use cable_keys::{IdentityKey, PublicKey};
use cable_qr::{QrHandshake, RequestType};
use cable_tunnel::LinkingInfo;
use rand::rngs::StdRng;
use rand::SeedableRng;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn advert() -> Advert {
    let mut plaintext = [0u8; 16];
    plaintext[1..11].copy_from_slice(&[7; 10]);
    plaintext[11..14].copy_from_slice(&[1, 2, 3]);
    Advert {
        plaintext,
        routing_id: [1, 2, 3],
        tunnel_domain_id: 0,
    }
}

pub fn phone_config(sends_update: bool) -> PhoneConfig {
    PhoneConfig {
        get_info: Authenticator::new(Profile::Android, CredentialStore::new())
            .get_info()
            .to_cbor(),
        sends_update,
        handshake_wait: None,
        idle: Some(Duration::from_secs(60)),
    }
}

/// A QR session: the desktop shows a code (offering linking or not), the phone scanned it.
pub fn qr_pair(seed: u64, offer_linking: bool, sends_update: bool) -> Pair<Phone> {
    qr_pair_with(seed, offer_linking, sends_update, None, None)
}

/// [`qr_pair`] whose phone offers `links`, believing key 4 says `phone_sees_offer` (default:
/// what the code says).
pub fn qr_pair_with(
    seed: u64,
    offer_linking: bool,
    sends_update: bool,
    links: Option<Links>,
    phone_sees_offer: Option<bool>,
) -> Pair<Phone> {
    let now = Instant::now();
    let mut r = rng(seed);
    let qr = QrHandshake::generate(
        &mut r,
        RequestType::MakeCredential,
        offer_linking,
        1_700_000_000,
    );
    let payload = qr.payload().clone();
    let desktop = Desktop::qr(now, qr, Timeouts::default(), &mut r);
    let psk = payload.psk(&advert().plaintext);
    let mut phone = Phone::qr(
        now,
        psk,
        payload.public_key.clone(),
        phone_sees_offer.unwrap_or(payload.supports_linking == Some(true)),
        phone_config(sends_update),
        &mut rng(seed + 1),
    );
    if let Some(links) = links {
        phone = phone.with_linking(Box::new(links), Box::new(rng(seed + 2)));
    }
    Pair::new(now, desktop, phone)
}

/// A QR session whose channel is open and whose desktop has sent a getAssertion the phone
/// now holds.
pub fn requested(seed: u64, offer_linking: bool, sends_update: bool) -> Pair<Phone> {
    let mut pair = qr_pair(seed, offer_linking, sends_update);
    pair.advertise(advert());
    pair.run();
    pair.desktop
        .send_request(pair.now, &get_assertion())
        .unwrap();
    pair.run();
    pair
}

/// A linked session: the desktop holds a link to the phone's `identity`.
pub fn linked_pair(seed: u64, identity: &IdentityKey, link_secret: [u8; 32]) -> Pair<Phone> {
    let now = Instant::now();
    let link = LinkKeys {
        contact_id: vec![9; 20],
        link_id: [4; 8],
        link_secret: cable_keys::Secret::new(link_secret),
        phone_public_key: identity.public_key(),
        tunnel_domain_id: 1,
    };
    let desktop = Desktop::linked(
        now,
        link,
        RequestType::GetAssertion,
        Timeouts::default(),
        &mut rng(seed),
    );
    let psk = cable_keys::psk(&link_secret, &advert().plaintext);
    let phone = Phone::linked(
        now,
        psk,
        identity.clone(),
        phone_config(false),
        &mut rng(seed + 1),
    );
    let mut pair = Pair::new(now, desktop, phone);
    pair.signal_connection = true;
    pair
}

/// Linking data signed for whichever desktop asks, like a Chrome-Android phone.
pub struct Links {
    pub identity: IdentityKey,
    /// Sign over this hash instead of the session's (a forgery).
    pub forge: bool,
}

impl LinkingProvider for Links {
    fn linking_info(
        &mut self,
        desktop: &PublicKey,
        handshake_hash: &[u8; 32],
        _rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Option<LinkingInfo> {
        let hash = if self.forge {
            [0u8; 32]
        } else {
            *handshake_hash
        };
        Some(LinkingInfo {
            contact_id: vec![5; 16],
            link_id: [6; 8],
            link_secret: cable_keys::Secret::new([8; 32]),
            phone_public_key: self.identity.public_key().uncompressed(),
            name: "test phone".into(),
            signature: cable_tunnel::handshake_signature(&self.identity, desktop, &hash),
            play_services: false,
        })
    }
}

/// The phone's side answers its one request with `answer` when the harness hands it over.
pub fn answer_requests(pair: &mut Pair<Phone>, answer: &[u8]) {
    let pending = pair
        .phone_events
        .iter()
        .filter(|e| matches!(e, PhoneEvent::Request { .. }))
        .count();
    if pending > 0 && pair.phone.phase() == cable_hybrid::Phase::Ctap {
        pair.phone.respond(pair.now, answer.to_vec()).unwrap();
        pair.run();
    }
}

pub fn closed(events: &[DesktopEvent]) -> Option<&Result<(), cable_hybrid::Error>> {
    events.iter().find_map(|e| match e {
        DesktopEvent::Closed(outcome) => Some(outcome),
        _ => None,
    })
}

pub fn phone_closed(
    events: &[PhoneEvent],
) -> Option<&Result<cable_hybrid::PhoneEnd, cable_hybrid::Error>> {
    events.iter().find_map(|e| match e {
        PhoneEvent::Closed(outcome) => Some(outcome),
        _ => None,
    })
}

pub fn is_ready(events: &[DesktopEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, DesktopEvent::Ready { .. }))
}

/// A getAssertion request body the phone's parser accepts.
pub fn get_assertion() -> Vec<u8> {
    let request = cable_ctap::GetAssertionRequest {
        rp_id: "example.com".into(),
        client_data_hash: [1; 32],
        allow_list: Vec::new(),
        extensions: Default::default(),
        options: Default::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    };
    cable_ctap::Command::GetAssertion(request).encode()
}

pub fn drain<E: Endpoint>(e: &mut E) -> Vec<E::Event> {
    std::iter::from_fn(|| e.poll_event()).collect()
}
