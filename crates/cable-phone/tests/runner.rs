//! The async software phone against the real websocket client and the local tunnel server,
//! with a UDP socket standing in for the desktop's virtual radio.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cable_ble::scan::decode_datagram;
use cable_ble::{decrypt_advert, DecryptedAdvert, DomainCheck};
use cable_ctap::attestation_object::AttestationObject;
use cable_ctap::auth_data::AuthenticatorData;
use cable_ctap::{
    verify_assertion, verify_packed_self_attestation, CborMessage, Command, CtapStatus,
    GetAssertionResponse, MakeCredentialResponse,
};
use cable_phone::{
    run_qr, CredentialAction, PhoneConfig, PhoneError, PhoneProfile, PhoneReport, SessionEnd,
    Stage, Timeouts, UserChoice,
};
use cable_qr::RequestType;
use cable_tunnel::client::{
    connect as open, ClientOptions, ConnectError, TunnelRequest, TunnelSocket,
};
use cable_tunnel::{Frame, TunnelBase, UpdateMessage};
use cable_tunnel_server::{ServerHandle, ServerLimits, TunnelServer};
use common::*;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// A local tunnel server and a UDP socket listening as the desktop's radio.
struct Rig {
    server: ServerHandle,
    radio: UdpSocket,
}

impl Rig {
    async fn new() -> Self {
        let server = TunnelServer::bind("127.0.0.1:0".parse().unwrap(), ServerLimits::default())
            .await
            .unwrap()
            .spawn();
        let radio = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Self { server, radio }
    }

    fn radio_addr(&self) -> SocketAddr {
        self.radio.local_addr().unwrap()
    }

    fn config(&self, desktop: &Desktop) -> PhoneConfig {
        PhoneConfig::new(desktop.url(), self.server.base_url(), self.radio_addr())
            .with_advert_interval(Duration::from_millis(20))
            .with_timeouts(Timeouts::all(WAIT))
    }

    fn spawn_phone(&self, config: PhoneConfig) -> JoinHandle<Result<PhoneReport, PhoneError>> {
        tokio::spawn(run_qr(config))
    }

    /// The next advert datagram, decrypted with the QR's EID key: `(uuid, advert)`.
    async fn advert(&self, desktop: &Desktop) -> (u16, DecryptedAdvert) {
        let mut buf = [0u8; 256];
        let (n, _) = timeout(WAIT, self.radio.recv_from(&mut buf))
            .await
            .expect("an advert within 10 s")
            .unwrap();
        let (uuid, data) = decode_datagram(&buf[..n]).unwrap();
        let advert = decrypt_advert(&desktop.qr.eid_key(), data, DomainCheck::Qr).unwrap();
        (uuid, advert)
    }

    /// Desktop side of §13.1 steps 2–4: advert, connect, handshake.
    async fn desktop_connects(
        &self,
        desktop: &mut Desktop,
    ) -> (TunnelSocket, DesktopChannel, u16, DecryptedAdvert) {
        let (uuid, advert) = self.advert(desktop).await;
        let options = ClientOptions {
            base: TunnelBase::Override(self.server.base_url()),
            ..ClientOptions::default()
        };
        let request = TunnelRequest::Connect {
            routing_id: advert.eid.routing_id,
            tunnel_id: desktop.qr.tunnel_id(),
        };
        let mut socket = open(request, &options).await.unwrap();
        let (initiator, message1) = desktop.start(&advert.eid);
        socket.send(&message1).await.unwrap();
        let message2 = recv(&mut socket).await.expect("message 2");
        (
            socket,
            DesktopChannel::finish(initiator, &message2),
            uuid,
            advert,
        )
    }
}

async fn recv(socket: &mut TunnelSocket) -> Option<Vec<u8>> {
    timeout(WAIT, socket.recv())
        .await
        .expect("no hang")
        .unwrap()
}

/// Reads an Android phone's post-handshake and update messages, then sends `command`.
async fn ready_then_send(
    socket: &mut TunnelSocket,
    channel: &mut DesktopChannel,
    command: Command,
) {
    channel.post_handshake(&recv(socket).await.unwrap());
    channel.frame(&recv(socket).await.unwrap());
    socket.send(&channel.request(&command)).await.unwrap();
}

async fn finish(
    phone: JoinHandle<Result<PhoneReport, PhoneError>>,
) -> Result<PhoneReport, PhoneError> {
    timeout(WAIT, phone)
        .await
        .expect("the phone finishes")
        .unwrap()
}

#[tokio::test]
async fn register_then_sign_in_over_the_tunnel_with_a_store_file() {
    let rig = Rig::new().await;
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("passkeys.json");

    // Registration.
    let mut desktop = Desktop::new(1, RequestType::MakeCredential, true);
    let phone = rig.spawn_phone(rig.config(&desktop).with_store_path(&store_path));
    let (mut socket, mut channel, uuid, advert) = rig.desktop_connects(&mut desktop).await;
    assert_eq!(uuid, 0xFFF9);
    assert_eq!(advert.eid.tunnel_domain_id, 0);
    channel.post_handshake(&recv(&mut socket).await.unwrap());
    let Frame::Update(update) = channel.frame(&recv(&mut socket).await.unwrap()) else {
        panic!("Android sends an update after the post-handshake message")
    };
    // The QR code offered linking and the phone keeps a state file: it links.
    let linking = UpdateMessage::decode(&update).unwrap().linking.unwrap();
    assert!(linking.verify(&desktop.identity, &channel.handshake_hash));
    let request = make_credential("alice", true);
    socket
        .send(&channel.request(&Command::MakeCredential(request.clone())))
        .await
        .unwrap();
    let response = channel.ctap(&recv(&mut socket).await.unwrap());
    let made: MakeCredentialResponse = body(&response);
    let attestation = AttestationObject::from_response(&made).to_cbor();
    let auth_data =
        verify_packed_self_attestation(&attestation, &request.client_data_hash).unwrap();
    let attested = auth_data.attested_credential.unwrap();
    socket.send(&channel.seal(&Frame::Shutdown)).await.unwrap();
    assert_eq!(
        recv(&mut socket).await,
        None,
        "the phone closes after shutdown"
    );

    let report = finish(phone).await.unwrap();
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    assert_eq!(report.advert_uuid, "FFF9");
    assert_eq!(report.routing_id, hex::encode_upper(advert.eid.routing_id));
    assert!(report.adverts_sent >= 1);
    assert!(report.handshake_completed && report.linking_offered);
    assert_eq!(report.update_sent, Some(true));
    assert_eq!(report.link_id, Some(hex::encode(linking.link_id)));
    assert_eq!(report.request_type_hint.as_deref(), Some("mc"));
    let created = report.credential.clone().unwrap();
    assert_eq!(created.action, CredentialAction::Created);
    assert_eq!(
        created.credential.credential_id,
        cable_ctap::Base64Url::encode(attested.credential_id())
    );
    assert_eq!(report.store_saved_to.as_deref(), Some(store_path.as_path()));
    let text = report.to_string();
    assert!(text.contains("passkey:   created"), "{text}");
    assert!(
        text.contains("authenticatorMakeCredential -> CTAP2_OK (0x00)"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["credential"]["action"], "created");
    assert_eq!(json["end"]["kind"], "desktop_shutdown");
    assert_eq!(json["profile"], "android");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");

    // Sign-in with a new QR code and the same store file.
    let mut desktop = Desktop::new(2, RequestType::GetAssertion, false);
    let phone = rig.spawn_phone(rig.config(&desktop).with_store_path(&store_path));
    let (mut socket, mut channel, _, _) = rig.desktop_connects(&mut desktop).await;
    channel.post_handshake(&recv(&mut socket).await.unwrap());
    channel.frame(&recv(&mut socket).await.unwrap());
    let request = get_assertion(&[attested.credential_id()]);
    socket
        .send(&channel.request(&Command::GetAssertion(request.clone())))
        .await
        .unwrap();
    let response = channel.ctap(&recv(&mut socket).await.unwrap());
    let asserted: GetAssertionResponse = body(&response);
    verify_assertion(
        &asserted.auth_data,
        &request.client_data_hash,
        &asserted.signature,
        attested.credential_public_key_bytes(),
    )
    .unwrap();
    assert_eq!(
        AuthenticatorData::parse(&asserted.auth_data)
            .unwrap()
            .sign_count,
        1
    );
    // The desktop just closes (no shutdown): fine after the answer.
    socket.close().await.unwrap();
    let report = finish(phone).await.unwrap();
    assert_eq!(report.end, SessionEnd::DesktopClosed);
    let used = report.credential.unwrap();
    assert_eq!(used.action, CredentialAction::Used);
    assert_eq!(used.credential.sign_count, 1);
    let saved = cable_phone::store_file::load_store(&store_path).unwrap();
    assert_eq!(saved.iter().next().unwrap().sign_count, 1);
}

#[tokio::test]
async fn ios_advertises_on_fde2_with_domain_1_and_closes_when_the_person_cancels() {
    let rig = Rig::new().await;
    let mut desktop = Desktop::new(3, RequestType::MakeCredential, true);
    let config = rig
        .config(&desktop)
        .with_profile(PhoneProfile::Ios)
        .with_user(UserChoice::Deny);
    let phone = rig.spawn_phone(config);
    let (mut socket, mut channel, uuid, advert) = rig.desktop_connects(&mut desktop).await;
    assert_eq!(uuid, 0xFDE2);
    assert_eq!(advert.eid.tunnel_domain_id, 1);
    channel.post_handshake(&recv(&mut socket).await.unwrap());
    socket
        .send(&channel.request(&Command::MakeCredential(make_credential("a", true))))
        .await
        .unwrap();
    assert_eq!(
        recv(&mut socket).await,
        None,
        "no update, no answer: the tunnel closes"
    );
    let report = finish(phone).await.unwrap();
    assert_eq!(report.end, SessionEnd::Cancelled);
    assert_eq!(report.update_sent, None);
    assert_eq!(report.credential, None);
    assert_eq!(report.requests.len(), 1);
    assert_eq!(report.requests[0].status, None);
}

#[tokio::test]
async fn android_cancel_answers_operation_denied_and_the_person_takes_their_time() {
    let rig = Rig::new().await;
    let mut desktop = Desktop::new(4, RequestType::MakeCredential, false);
    let delay = Duration::from_millis(300);
    let config = rig
        .config(&desktop)
        .with_user(UserChoice::Deny)
        .with_answer_delay(delay);
    let phone = rig.spawn_phone(config);
    let (mut socket, mut channel, _, _) = rig.desktop_connects(&mut desktop).await;
    let asked = Instant::now();
    ready_then_send(
        &mut socket,
        &mut channel,
        Command::MakeCredential(make_credential("a", true)),
    )
    .await;
    let response = channel.ctap(&recv(&mut socket).await.unwrap());
    assert!(asked.elapsed() >= delay);
    assert_eq!(response, vec![CtapStatus::OperationDenied.code()]);
    socket.send(&channel.seal(&Frame::Shutdown)).await.unwrap();
    assert_eq!(recv(&mut socket).await, None);
    let report = finish(phone).await.unwrap();
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    assert_eq!(report.requests[0].status.unwrap().code, 0x27);
}

#[tokio::test]
async fn a_desktop_that_cancels_while_the_person_decides_gets_no_answer() {
    for shutdown in [true, false] {
        let rig = Rig::new().await;
        let mut desktop = Desktop::new(6, RequestType::MakeCredential, false);
        let config = rig
            .config(&desktop)
            .with_answer_delay(Duration::from_secs(60));
        let phone = rig.spawn_phone(config);
        let (mut socket, mut channel, _, _) = rig.desktop_connects(&mut desktop).await;
        ready_then_send(
            &mut socket,
            &mut channel,
            Command::MakeCredential(make_credential("a", true)),
        )
        .await;
        // The prompt is up on the phone; the desktop cancels (shutdown, or just hangs up).
        tokio::time::sleep(Duration::from_millis(100)).await;
        if shutdown {
            socket.send(&channel.seal(&Frame::Shutdown)).await.unwrap();
            assert_eq!(recv(&mut socket).await, None, "the phone sent an answer");
        } else {
            drop(socket);
        }
        let report = tokio::time::timeout(Duration::from_secs(10), finish(phone))
            .await
            .expect("the phone kept the prompt up after the desktop left")
            .unwrap();
        let expected = if shutdown {
            SessionEnd::DesktopShutdown
        } else {
            SessionEnd::DesktopClosed
        };
        assert_eq!(report.end, expected);
        assert_eq!(report.requests.len(), 1);
        assert_eq!(report.requests[0].status, None, "{:?}", report.requests);
        assert_eq!(report.credential, None);
    }
}

#[tokio::test]
async fn an_invalid_qr_code_fails_before_any_network_use() {
    let radio: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for (text, expected) in [
        ("https://example.com", "does not start with FIDO:/"),
        ("FIDO:/12", "damaged"),
    ] {
        let config = PhoneConfig::new(text, "ws://127.0.0.1:1", radio);
        let err = run_qr(config).await.unwrap_err();
        assert_eq!(err.code(), "invalid_qr");
        assert!(err.to_string().contains(expected), "{err}");
    }
    let desktop = Desktop::new(5, RequestType::GetAssertion, false);
    let err = run_qr(PhoneConfig::new(desktop.url(), "http://nope", radio))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_tunnel_url");
}

#[tokio::test]
async fn an_unreachable_tunnel_server_is_reported_with_its_url() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let desktop = Desktop::new(6, RequestType::GetAssertion, false);
    let url = format!("ws://127.0.0.1:{closed_port}");
    let config = PhoneConfig::new(desktop.url(), url.clone(), "127.0.0.1:9".parse().unwrap())
        .with_timeouts(Timeouts::all(WAIT));
    let err = run_qr(config).await.unwrap_err();
    assert_eq!(err.code(), "tunnel_unreachable");
    assert!(err.to_string().contains(&url), "{err}");
}

#[tokio::test]
async fn a_desktop_that_never_connects_times_out_while_the_phone_advertises() {
    let rig = Rig::new().await;
    let desktop = Desktop::new(7, RequestType::GetAssertion, false);
    let mut timeouts = Timeouts::all(WAIT);
    timeouts.handshake = Duration::from_millis(300);
    let phone = rig.spawn_phone(rig.config(&desktop).with_timeouts(timeouts));
    // The advert is there, and decrypts with this QR code's key.
    rig.advert(&desktop).await;
    let err = finish(phone).await.unwrap_err();
    assert_eq!(err.code(), "desktop_never_connected");
    assert!(err.to_string().contains("0.3 s"), "{err}");
}

#[tokio::test]
async fn the_total_timeout_bounds_the_whole_run() {
    let rig = Rig::new().await;
    let desktop = Desktop::new(8, RequestType::GetAssertion, false);
    let config = rig
        .config(&desktop)
        .with_total_timeout(Duration::from_millis(200));
    let err = finish(rig.spawn_phone(config)).await.unwrap_err();
    // Whichever limit fires first, the run ends in time and says it waited too long.
    assert!(
        matches!(err.code(), "timeout" | "desktop_never_connected"),
        "{err}"
    );
}

#[tokio::test]
async fn a_desktop_closing_before_its_request_is_an_error() {
    let rig = Rig::new().await;
    let mut desktop = Desktop::new(9, RequestType::GetAssertion, false);
    let phone = rig.spawn_phone(rig.config(&desktop));
    let (mut socket, _, _, _) = rig.desktop_connects(&mut desktop).await;
    socket.close().await.unwrap();
    let err = finish(phone).await.unwrap_err();
    assert_eq!(err.code(), "desktop_closed");
    assert!(
        err.to_string().contains("before sending a request"),
        "{err}"
    );
}

#[tokio::test]
async fn a_silent_desktop_hits_the_idle_limit() {
    let rig = Rig::new().await;
    let mut desktop = Desktop::new(10, RequestType::GetAssertion, false);
    let mut timeouts = Timeouts::all(WAIT);
    timeouts.idle = Duration::from_millis(300);
    let phone = rig.spawn_phone(rig.config(&desktop).with_timeouts(timeouts));
    let (_socket, _, _, _) = rig.desktop_connects(&mut desktop).await;
    let err = finish(phone).await.unwrap_err();
    assert_eq!(err.code(), "desktop_silent");
    assert!(err.to_string().contains("no CTAP request came"), "{err}");
}

#[tokio::test]
async fn a_phone_that_vanishes_after_advertising_leaves_no_tunnel() {
    let rig = Rig::new().await;
    let desktop = Desktop::new(11, RequestType::GetAssertion, false);
    let phone = rig.spawn_phone(rig.config(&desktop).vanishing_after(Stage::Advertised));
    let (_, advert) = rig.advert(&desktop).await;
    let report = finish(phone).await.unwrap();
    assert_eq!(
        report.end,
        SessionEnd::Vanished {
            after: Stage::Advertised
        }
    );
    assert!(!report.handshake_completed);
    // The desktop saw the advert, but the tunnel behind it is gone.
    let options = ClientOptions {
        base: TunnelBase::Override(rig.server.base_url()),
        ..ClientOptions::default()
    };
    let request = TunnelRequest::Connect {
        routing_id: advert.eid.routing_id,
        tunnel_id: desktop.qr.tunnel_id(),
    };
    // The server drops the tunnel once it sees the phone's socket close, which can take a while
    // on a loaded machine: wait for that up to `WAIT`. The server's count is polled, not
    // `connect`, because a connect that still got in would join the tunnel and end it itself.
    let deadline = Instant::now() + WAIT;
    while rig.server.stats().connections_open > 0 {
        assert!(
            Instant::now() < deadline,
            "the server still held the abandoned tunnel's socket after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let Err(err) = open(request, &options).await else {
        panic!("the server let a desktop join the abandoned tunnel");
    };
    assert!(matches!(err, ConnectError::NotFound), "{err}");
}

#[tokio::test]
async fn a_phone_that_vanishes_after_the_request_leaves_the_desktop_waiting_for_nothing() {
    let rig = Rig::new().await;
    let mut desktop = Desktop::new(12, RequestType::MakeCredential, false);
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("s.json");
    let config = rig
        .config(&desktop)
        .with_store_path(&store_path)
        .vanishing_after(Stage::RequestReceived);
    let phone = rig.spawn_phone(config);
    let (mut socket, mut channel, _, _) = rig.desktop_connects(&mut desktop).await;
    ready_then_send(
        &mut socket,
        &mut channel,
        Command::MakeCredential(make_credential("a", true)),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await,
        None,
        "the tunnel closes without an answer"
    );
    let report = finish(phone).await.unwrap();
    assert_eq!(
        report.end,
        SessionEnd::Vanished {
            after: Stage::RequestReceived
        }
    );
    assert_eq!(report.store_saved_to, None);
    assert!(!store_path.exists());
}

#[tokio::test]
async fn a_damaged_store_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{not json").unwrap();
    let desktop = Desktop::new(13, RequestType::GetAssertion, false);
    let config = PhoneConfig::new(
        desktop.url(),
        "ws://127.0.0.1:1",
        "127.0.0.1:9".parse().unwrap(),
    )
    .with_store_path(&path);
    let err = run_qr(config).await.unwrap_err();
    assert_eq!(err.code(), "store");
    assert!(err.to_string().contains("bad.json"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
}
