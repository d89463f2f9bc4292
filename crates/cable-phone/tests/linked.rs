//! Linking end to end: a QR session that links, then linked sessions through the local tunnel
//! server's contact endpoint and push stand-in, with no QR code. The desktop is played with
//! cable-tunnel's client and handshake, cable-ble's advert codec and a UDP socket as its radio.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use cable_ble::scan::decode_datagram;
use cable_ble::{decrypt_advert, DecryptedAdvert, DomainCheck};
use cable_ctap::auth_data::AuthenticatorData;
use cable_ctap::{verify_assertion, Command, GetAssertionResponse, MakeCredentialResponse};
use cable_keys::LinkSecret;
use cable_phone::store_file::load_state;
use cable_phone::{
    run_linked_with_events, run_qr, CredentialAction, LinkedConfig, LinkedEvent, PhoneConfig,
    PhoneError, PhoneProfile, PhoneReport, SessionEnd, SessionFlow, Timeouts,
};
use cable_qr::RequestType;
use cable_tunnel::client::{connect as open, ClientOptions, TunnelRequest, TunnelSocket};
use cable_tunnel::{
    ClientPayload, Frame, HandshakeInitiator, LinkingInfo, PostHandshake, Revision, TunnelBase,
    UpdateMessage,
};
use cable_tunnel_server::{ServerHandle, ServerLimits, TunnelServer};
use common::*;
use rand::RngCore;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// A local tunnel server, a UDP socket as the desktop's radio, and the phone's state file.
struct Rig {
    server: ServerHandle,
    radio: UdpSocket,
    dir: tempfile::TempDir,
}

/// What the desktop keeps from a QR session that linked.
struct Linked {
    info: LinkingInfo,
    credential_id: Vec<u8>,
    credential_public_key: Vec<u8>,
}

type Phone = JoinHandle<Result<PhoneReport, PhoneError>>;

impl Rig {
    async fn new() -> Self {
        let server = TunnelServer::bind("127.0.0.1:0".parse().unwrap(), ServerLimits::default())
            .await
            .unwrap()
            .spawn();
        let radio = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Self {
            server,
            radio,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn radio_addr(&self) -> SocketAddr {
        self.radio.local_addr().unwrap()
    }

    fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join("phone.json")
    }

    fn options(&self) -> ClientOptions {
        ClientOptions {
            base: TunnelBase::Override(self.server.base_url()),
            ..ClientOptions::default()
        }
    }

    fn qr_config(&self, desktop: &Desktop) -> PhoneConfig {
        PhoneConfig::new(desktop.url(), self.server.base_url(), self.radio_addr())
            .with_store_path(self.state_path())
            .with_advert_interval(Duration::from_millis(20))
            .with_timeouts(Timeouts::all(WAIT))
    }

    fn linked_config(&self) -> LinkedConfig {
        LinkedConfig::new(self.state_path(), self.server.base_url(), self.radio_addr())
            .with_advert_interval(Duration::from_millis(20))
            .with_timeouts(Timeouts::all(WAIT))
            .with_wake_wait(WAIT)
    }

    /// Starts a waiting phone and returns once it is registered for wake-ups.
    async fn wait_for_wake_ups(
        &self,
        config: LinkedConfig,
    ) -> (Phone, mpsc::UnboundedReceiver<LinkedEvent>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let phone = tokio::spawn(run_linked_with_events(config, Some(tx)));
        match timeout(WAIT, rx.recv()).await.unwrap() {
            Some(LinkedEvent::Registered { push_url, .. }) => {
                assert!(push_url.ends_with("/cable/push/<contact ID>"), "{push_url}");
            }
            other => panic!("expected the registration first, got {other:?}"),
        }
        (phone, rx)
    }

    /// The next advert datagram: `(uuid, service data)`.
    async fn datagram(&self) -> (u16, Vec<u8>) {
        let mut buf = [0u8; 256];
        let (n, _) = timeout(WAIT, self.radio.recv_from(&mut buf))
            .await
            .expect("an advert within 10 s")
            .unwrap();
        let (uuid, data) = decode_datagram(&buf[..n]).unwrap();
        (uuid, data.to_vec())
    }

    /// A QR registration that links: the desktop verifies the linking data and keeps it.
    async fn link_by_qr(&self, seed: u64, user: &str) -> (Linked, PhoneReport) {
        let mut desktop = Desktop::new(seed, RequestType::MakeCredential, true);
        let phone = tokio::spawn(run_qr(self.qr_config(&desktop)));
        let (_, data) = self.datagram().await;
        let advert = decrypt_advert(&desktop.qr.eid_key(), &data, DomainCheck::Qr).unwrap();
        let request = TunnelRequest::Connect {
            routing_id: advert.eid.routing_id,
            tunnel_id: desktop.qr.tunnel_id(),
        };
        let mut socket = open(request, &self.options()).await.unwrap();
        let (initiator, message1) = desktop.start(&advert.eid);
        socket.send(&message1).await.unwrap();
        let mut channel = DesktopChannel::finish(initiator, &recv(&mut socket).await.unwrap());
        let post = channel.post_handshake(&recv(&mut socket).await.unwrap());
        assert_eq!(post.linking, None, "revision 1 links in the update message");
        let Frame::Update(update) = channel.frame(&recv(&mut socket).await.unwrap()) else {
            panic!("Android sends an update right after the post-handshake message")
        };
        let info = UpdateMessage::decode(&update)
            .unwrap()
            .linking
            .expect("linking data: the QR code offered linking");
        // The desktop's checks (§9.3): signed over this session with its QR identity.
        assert!(info.verify(&desktop.identity, &channel.handshake_hash));
        assert!(!info.verify(
            &cable_keys::IdentityKey::generate(&mut rng(seed + 500)),
            &channel.handshake_hash
        ));

        let request = make_credential(user, true);
        socket
            .send(&channel.request(&Command::MakeCredential(request)))
            .await
            .unwrap();
        let made: MakeCredentialResponse = body(&channel.ctap(&recv(&mut socket).await.unwrap()));
        let attested = AuthenticatorData::parse(&made.auth_data)
            .unwrap()
            .attested_credential
            .unwrap();
        socket.send(&channel.seal(&Frame::Shutdown)).await.unwrap();
        assert_eq!(recv(&mut socket).await, None);
        let report = finish(phone).await.unwrap();
        let linked = Linked {
            info,
            credential_id: attested.credential_id().to_vec(),
            credential_public_key: attested.credential_public_key_bytes().to_vec(),
        };
        (linked, report)
    }

    /// Opens a contact request for `link_id` of `linked`: `(socket, client nonce)`.
    async fn contact(&self, linked: &Linked, link_id: [u8; 8]) -> (TunnelSocket, [u8; 16]) {
        let mut client_nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut client_nonce);
        let request = TunnelRequest::Contact {
            contact_id: linked.info.contact_id.clone(),
            client_payload: ClientPayload {
                link_id,
                client_nonce,
                request_type: "ga".into(),
            },
            signal_connection: true,
        };
        let socket = open(request, &self.options()).await.unwrap();
        assert!(socket.signal_connection(), "the server echoes the signal");
        (socket, client_nonce)
    }

    /// The desktop side of a linked sign-in (§13.2) through to the assertion, then shutdown.
    async fn linked_sign_in(&self, linked: &Linked) -> u32 {
        let (mut socket, client_nonce) = self.contact(linked, linked.info.link_id).await;
        let secret = &linked.info.link_secret;
        let (uuid, advert) = self.linked_advert(secret, &client_nonce).await;
        assert_eq!(uuid, 0xFFF9, "linked phones advertise as Android");
        assert_eq!(advert.plaintext[0], 0);
        assert_eq!(
            advert.eid.tunnel_domain_id, 0,
            "a valid domain for Chromium"
        );

        let psk = cable_keys::psk(secret.expose(), &advert.plaintext);
        let phone_public = linked.info.phone_public().unwrap();
        let (initiator, message1) =
            HandshakeInitiator::linked(&psk, &phone_public, &mut rng(99)).unwrap();
        socket.send(&message1).await.unwrap();
        // The phone joined the tunnel before it advertised, so the signal came first.
        assert_eq!(recv(&mut socket).await, Some(vec![0]));
        let mut channel = DesktopChannel::finish(initiator, &recv(&mut socket).await.unwrap());
        let plaintext = channel
            .crypter
            .decrypt(&recv(&mut socket).await.unwrap())
            .unwrap();
        let (post, revision): (PostHandshake, Revision) =
            PostHandshake::decode(&plaintext).unwrap();
        assert_eq!(revision, Revision::One);
        assert!(post.supports_ctap());
        assert_eq!(post.linking, None);

        let request = get_assertion(&[&linked.credential_id]);
        socket
            .send(&channel.request(&Command::GetAssertion(request.clone())))
            .await
            .unwrap();
        // No update message in the linked flow: the next message is the answer.
        let asserted: GetAssertionResponse = body(&channel.ctap(&recv(&mut socket).await.unwrap()));
        verify_assertion(
            &asserted.auth_data,
            &request.client_data_hash,
            &asserted.signature,
            &linked.credential_public_key,
        )
        .unwrap();
        socket.send(&channel.seal(&Frame::Shutdown)).await.unwrap();
        assert_eq!(recv(&mut socket).await, None);
        AuthenticatorData::parse(&asserted.auth_data)
            .unwrap()
            .sign_count
    }

    /// The next advert, which must decrypt with the link's EID key for `client_nonce`.
    async fn linked_advert(
        &self,
        secret: &LinkSecret,
        client_nonce: &[u8; 16],
    ) -> (u16, DecryptedAdvert) {
        let key = cable_keys::eid_key(secret.expose(), client_nonce);
        let (uuid, data) = self.datagram().await;
        let advert = decrypt_advert(&key, &data, DomainCheck::Linked).unwrap();
        // Chromium's stricter check passes too.
        assert!(decrypt_advert(&key, &data, DomainCheck::Qr).is_ok());
        (uuid, advert)
    }

    /// Drains datagrams already queued on the radio.
    fn drain_radio(&self) -> usize {
        let mut buf = [0u8; 256];
        let mut n = 0;
        while self.radio.try_recv_from(&mut buf).is_ok() {
            n += 1;
        }
        n
    }
}

async fn recv(socket: &mut TunnelSocket) -> Option<Vec<u8>> {
    timeout(WAIT, socket.recv())
        .await
        .expect("no hang")
        .unwrap()
}

async fn finish(phone: Phone) -> Result<PhoneReport, PhoneError> {
    timeout(WAIT, phone)
        .await
        .expect("the phone finishes")
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o600
    }
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<LinkedEvent>) -> LinkedEvent {
    timeout(WAIT, rx.recv()).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_qr_session_links_then_the_desktop_signs_in_through_the_link_without_a_qr_code() {
    let rig = Rig::new().await;
    let (linked, report) = rig.link_by_qr(1, "alice").await;
    let info = &linked.info;

    // The QR session: linking offered, given, and recorded in the 0600 state file.
    assert_eq!(report.flow, SessionFlow::Qr);
    assert_eq!(report.update_sent, Some(true));
    assert_eq!(report.link_id, Some(hex::encode(info.link_id)));
    assert!(report.to_string().contains("with linking data (link "));
    let path = rig.state_path();
    assert_eq!(mode(&path), 0o600);
    let state = load_state(&path).unwrap();
    let linking = state.linking.as_ref().expect("a linking identity");
    assert_eq!(linking.identity.contact_id(), info.contact_id);
    assert_eq!(info.contact_id.len(), 32);
    assert_eq!(
        linking.identity.identity().public_key().uncompressed(),
        info.phone_public_key
    );
    assert_eq!(info.name, "cable software phone (android)");
    assert!(
        !info.play_services,
        "a Chrome-Android-style phone sends no key 999"
    );
    assert_eq!(linking.links.len(), 1);
    assert_eq!(linking.links[0].link_id, info.link_id);
    assert_eq!(linking.links[0].last_used, None);
    assert!(linking.links[0].created > 1_700_000_000);
    assert_eq!(
        linking.link_secret(&info.link_id).as_ref(),
        Some(&info.link_secret)
    );
    assert_eq!(state.passkeys.len(), 1);

    // The linked session.
    let (phone, _events) = rig.wait_for_wake_ups(rig.linked_config().once(true)).await;
    assert_eq!(rig.linked_sign_in(&linked).await, 1);
    let report = finish(phone).await.unwrap();
    assert_eq!(report.flow, SessionFlow::Linked);
    assert_eq!(report.link_id, Some(hex::encode(info.link_id)));
    assert_eq!(report.request_type_hint.as_deref(), Some("ga"));
    assert_eq!(report.update_sent, None);
    assert!(!report.linking_offered);
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    assert_eq!(report.advert_uuid, "FFF9");
    assert!(report.tunnel_url.contains("/cable/connect/"));
    let used = report.credential.clone().unwrap();
    assert_eq!(used.action, CredentialAction::Used);
    assert_eq!(used.credential.sign_count, 1);
    let text = report.to_string();
    assert!(text.contains("woken for link"), "{text}");
    assert!(text.contains("wake-up:   request type ga"), "{text}");

    // The sign count and the link's use are saved.
    let state = load_state(&path).unwrap();
    assert_eq!(state.passkeys.iter().next().unwrap().sign_count, 1);
    assert!(state.linking.unwrap().links[0].last_used.is_some());
    assert_eq!(mode(&path), 0o600);

    // Returned, the phone is away, not gone: the server still takes contacts for it.
    contact_is_held(&rig, &linked).await;
}

/// A contact request for a phone that stopped waiting still opens a tunnel: the server holds
/// the wake-up for the phone's return, as a push service does for a phone that is off (only a
/// forgotten contact ID gets 410, on which desktops forget the link).
async fn contact_is_held(rig: &Rig, linked: &Linked) {
    let request = TunnelRequest::Contact {
        contact_id: linked.info.contact_id.clone(),
        client_payload: ClientPayload {
            link_id: [0; 8],
            client_nonce: [0; 16],
            request_type: "ga".into(),
        },
        signal_connection: false,
    };
    if let Err(e) = open(request, &rig.options()).await {
        panic!("a contact for a phone that is away was refused: {e}");
    }
}

#[tokio::test]
async fn a_wake_up_for_an_unknown_link_is_ignored_and_the_next_one_served() {
    let rig = Rig::new().await;
    let (linked, _) = rig.link_by_qr(2, "bob").await;
    let (phone, mut events) = rig.wait_for_wake_ups(rig.linked_config().once(true)).await;

    let mut stranger_link = linked.info.link_id;
    stranger_link[0] ^= 0xff;
    let (mut stranger, _) = rig.contact(&linked, stranger_link).await;
    match next_event(&mut events).await {
        LinkedEvent::WakeUpIgnored { code, reason } => {
            assert_eq!(code, "unknown_link");
            assert!(reason.contains(&hex::encode(stranger_link)), "{reason}");
        }
        other => panic!("expected the wake-up to be ignored, got {other:?}"),
    }
    // The phone neither joined that tunnel nor advertised.
    assert!(
        timeout(Duration::from_millis(300), stranger.recv())
            .await
            .is_err(),
        "no connection signal for an unknown link"
    );
    assert_eq!(rig.drain_radio(), 0, "no advert for an unknown link");
    assert!(
        !phone.is_finished(),
        "`once` waits for a wake-up it can answer"
    );

    assert_eq!(rig.linked_sign_in(&linked).await, 1);
    let report = finish(phone).await.unwrap();
    assert_eq!(report.flow, SessionFlow::Linked);
    assert!(matches!(
        next_event(&mut events).await,
        LinkedEvent::SessionFinished { .. }
    ));
}

#[tokio::test]
async fn a_waiting_phone_answers_links_given_out_while_it_waits_and_relinking_keeps_its_identity() {
    let rig = Rig::new().await;
    let (first, _) = rig.link_by_qr(3, "carol").await;
    let (phone, mut events) = rig.wait_for_wake_ups(rig.linked_config()).await;

    // Another QR session (another process, in real life) links again while the phone waits.
    let (second, _) = rig.link_by_qr(4, "dave").await;
    assert_eq!(second.info.contact_id, first.info.contact_id);
    assert_eq!(second.info.phone_public_key, first.info.phone_public_key);
    assert_ne!(second.info.link_id, first.info.link_id);
    assert_ne!(second.info.link_secret, first.info.link_secret);
    let state = load_state(&rig.state_path()).unwrap();
    assert_eq!(state.linking.unwrap().links.len(), 2);
    assert_eq!(state.passkeys.len(), 2);

    // Both links work, one session after the other; the phone keeps waiting.
    assert_eq!(rig.linked_sign_in(&second).await, 1);
    assert!(matches!(
        next_event(&mut events).await,
        LinkedEvent::SessionFinished { .. }
    ));
    assert_eq!(rig.linked_sign_in(&first).await, 1);
    match next_event(&mut events).await {
        LinkedEvent::SessionFinished { report } => {
            assert_eq!(report.link_id, Some(hex::encode(first.info.link_id)));
        }
        other => panic!("{other:?}"),
    }
    assert!(!phone.is_finished());
    let state = load_state(&rig.state_path()).unwrap();
    assert!(state.passkeys.iter().all(|c| c.sign_count == 1));

    // Stopped, the phone is away: contacts for it are held, not refused.
    phone.abort();
    contact_is_held(&rig, &first).await;
}

#[tokio::test]
async fn a_phone_that_lost_its_state_registers_a_new_contact_id_and_the_old_one_never_wakes_it() {
    let rig = Rig::new().await;
    let (linked, _) = rig.link_by_qr(5, "erin").await;

    // A phone already waiting when its state file disappears ignores wake-ups: it can no
    // longer derive the link's secret.
    let (phone, mut events) = rig.wait_for_wake_ups(rig.linked_config()).await;
    std::fs::remove_file(rig.state_path()).unwrap();
    let (_socket, _) = rig.contact(&linked, linked.info.link_id).await;
    match next_event(&mut events).await {
        LinkedEvent::WakeUpIgnored { code, .. } => assert_eq!(code, "identity_changed"),
        other => panic!("{other:?}"),
    }
    assert!(
        !rig.state_path().exists(),
        "an ignored wake-up writes nothing"
    );
    phone.abort();
    let _ = phone.await;

    // Started again, it creates a new identity with a new contact ID.
    let (phone, mut events) = rig.wait_for_wake_ups(rig.linked_config()).await;
    let state = load_state(&rig.state_path()).unwrap();
    let fresh = state.linking.expect("a new identity, created to register");
    assert_ne!(fresh.identity.contact_id(), linked.info.contact_id);
    assert!(fresh.links.is_empty());

    let request = TunnelRequest::Contact {
        contact_id: linked.info.contact_id.clone(),
        client_payload: ClientPayload {
            link_id: linked.info.link_id,
            client_nonce: [1; 16],
            request_type: "ga".into(),
        },
        signal_connection: true,
    };
    // The server cannot tell that the old contact ID will never come back (a push service
    // would, once the app is reinstalled): it holds the contact, and the phone never hears of it.
    let _held = open(request, &rig.options())
        .await
        .expect("the contact is held");
    let woken = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(
        woken.is_err(),
        "the old contact ID woke the phone: {woken:?}"
    );
    phone.abort();
}

#[tokio::test]
async fn no_wake_up_within_the_wait_is_an_error_and_the_push_stand_in_must_exist() {
    let rig = Rig::new().await;
    let config = rig
        .linked_config()
        .once(true)
        .with_wake_wait(Duration::from_millis(200));
    let err = run_linked_with_events(config, None).await.unwrap_err();
    assert_eq!(err.code(), "no_wake_up");
    assert!(err.to_string().contains("0.2 s"), "{err}");

    // A server without the push stand-in (here: nothing listening).
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = LinkedConfig::new(
        rig.state_path(),
        format!("ws://127.0.0.1:{closed_port}"),
        rig.radio_addr(),
    )
    .with_timeouts(Timeouts::all(WAIT));
    let err = run_linked_with_events(config, None).await.unwrap_err();
    assert_eq!(err.code(), "push_unavailable");
    assert!(err.to_string().contains("<contact ID>"), "{err}");
}

#[tokio::test]
async fn ios_and_qr_codes_without_key_4_never_link() {
    let rig = Rig::new().await;
    let path = rig.state_path();
    let cases = [
        (PhoneProfile::Ios, true, true, "iOS never links"),
        (
            PhoneProfile::Android,
            false,
            true,
            "the QR code did not offer it",
        ),
        (PhoneProfile::Android, true, false, "linking switched off"),
    ];
    for (i, (profile, offered, enabled, why)) in cases.into_iter().enumerate() {
        let mut desktop = Desktop::new(10 + i as u64, RequestType::MakeCredential, offered);
        let config = rig
            .qr_config(&desktop)
            .with_profile(profile)
            .with_linking(enabled);
        let phone = tokio::spawn(run_qr(config));
        let (_, data) = rig.datagram().await;
        let advert = decrypt_advert(&desktop.qr.eid_key(), &data, DomainCheck::Qr).unwrap();
        let request = TunnelRequest::Connect {
            routing_id: advert.eid.routing_id,
            tunnel_id: desktop.qr.tunnel_id(),
        };
        let mut socket = open(request, &rig.options()).await.unwrap();
        let (initiator, message1) = desktop.start(&advert.eid);
        socket.send(&message1).await.unwrap();
        let mut channel = DesktopChannel::finish(initiator, &recv(&mut socket).await.unwrap());
        channel.post_handshake(&recv(&mut socket).await.unwrap());
        if profile == PhoneProfile::Android {
            let Frame::Update(update) = channel.frame(&recv(&mut socket).await.unwrap()) else {
                panic!("{why}: Android still sends an update")
            };
            assert_eq!(
                UpdateMessage::decode(&update).unwrap().linking,
                None,
                "{why}"
            );
        }
        socket
            .send(&channel.request(&Command::MakeCredential(make_credential(
                &format!("user{i}"),
                true,
            ))))
            .await
            .unwrap();
        channel.ctap(&recv(&mut socket).await.unwrap());
        socket.send(&channel.seal(&Frame::Shutdown)).await.unwrap();
        assert_eq!(recv(&mut socket).await, None);
        let report = finish(phone).await.unwrap();
        assert_eq!(report.link_id, None, "{why}");
        rig.drain_radio();

        let state = load_state(&path).unwrap();
        assert!(
            state.linking.is_none(),
            "{why}: no linking identity was created"
        );
        assert_eq!(state.passkeys.len(), i + 1, "{why}: the passkey was saved");
    }
}
