//! `contact` + the push stand-in: wake-ups, the connect signal, wake-ups held for a phone that
//! is away, 410 for unknown or forgotten contacts.

mod common;

use cable_tunnel::urls::{connect_path, contact_path, push_path};
use cable_tunnel_server::{CloseReason, PushMessage, RejectReason, ServerLimits};
use common::*;
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;

const CONTACT: &[u8] = b"contact id from linking \x00\xff";
/// Canonical CBOR {1: link_id (8 bytes), 2: client_nonce (16 bytes), 3: "ga"} (HYBRID.md §9.5),
/// upper-case hex as Chromium sends it.
fn payload_hex() -> String {
    format!(
        "A30148{}0250{}03626761",
        "0102030405060708",
        "10".repeat(16)
    )
}

async fn contact(
    base: &str,
    contact_id: &[u8],
    signal: bool,
) -> Result<
    (
        Client,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    let payload = payload_hex();
    let mut headers = vec![FIDO, ("X-caBLE-Client-Payload", payload.as_str())];
    if signal {
        headers.push(("X-caBLE-Signal-Connection", "true"));
    }
    open(base, &contact_path(contact_id), &headers).await
}

/// The phone's next wake-up from its push socket.
async fn wake_up(push: &mut Client) -> PushMessage {
    match recv(push).await {
        Message::Text(text) => PushMessage::decode(&text).expect("valid push message"),
        other => panic!("expected a text wake-up, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_contact_is_410() {
    let server = start_default().await;
    assert_eq!(
        status(contact(&server.base_url(), CONTACT, false).await),
        410
    );
    assert_eq!(server.stats().rejected(RejectReason::UnknownContact), 1);
}

#[tokio::test]
async fn contact_wakes_the_phone_which_joins_and_the_desktop_gets_the_signal_first() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut push, _) = cable(&base, &push_path(CONTACT)).await;

    let (mut desktop, resp) = contact(&base, CONTACT, true)
        .await
        .expect("contact upgrade");
    assert_eq!(resp.status(), 101);
    assert_eq!(
        header(&resp, "Sec-WebSocket-Protocol").as_deref(),
        Some("fido.cable")
    );
    assert_eq!(
        header(&resp, "X-caBLE-Signal-Connection").as_deref(),
        Some("true")
    );
    // Chromium may send its Noise message before the phone is there.
    send(&mut desktop, b"noise message 1").await;

    let wake = wake_up(&mut push).await;
    assert_eq!(wake.client_payload, hex::decode(payload_hex()).unwrap());
    let (mut phone, resp) = cable(&base, &connect_path(&wake.routing_id, &wake.tunnel_id)).await;
    assert_eq!(header(&resp, "X-caBLE-Routing-ID"), None);

    assert_eq!(recv_binary(&mut desktop).await, [0u8]);
    assert_eq!(recv_binary(&mut phone).await, b"noise message 1");
    send(&mut phone, b"noise response").await;
    assert_eq!(recv_binary(&mut desktop).await, b"noise response");
    send(&mut desktop, b"ctap").await;
    assert_eq!(recv_binary(&mut phone).await, b"ctap");

    let stats = server.stats();
    assert_eq!(stats.wakeups_sent, 1);
    assert_eq!(stats.tunnels_paired, 1);
    // The signal is not a relayed message.
    assert_eq!(stats.messages_relayed, 3);
}

#[tokio::test]
async fn without_the_signal_header_there_is_no_echo_and_no_signal() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut push, _) = cable(&base, &push_path(CONTACT)).await;
    let (mut desktop, resp) = contact(&base, CONTACT, false).await.unwrap();
    assert_eq!(header(&resp, "X-caBLE-Signal-Connection"), None);
    let wake = wake_up(&mut push).await;
    let (mut phone, _) = cable(&base, &connect_path(&wake.routing_id, &wake.tunnel_id)).await;
    send(&mut phone, b"first from phone").await;
    assert_eq!(recv_binary(&mut desktop).await, b"first from phone");
}

#[tokio::test]
async fn each_contact_request_gets_its_own_tunnel() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut push, _) = cable(&base, &push_path(CONTACT)).await;
    let (mut d1, _) = contact(&base, CONTACT, false).await.unwrap();
    let (mut d2, _) = contact(&base, CONTACT, false).await.unwrap();
    let w1 = wake_up(&mut push).await;
    let w2 = wake_up(&mut push).await;
    assert_ne!(w1.tunnel_id, w2.tunnel_id);
    let (mut p2, _) = cable(&base, &connect_path(&w2.routing_id, &w2.tunnel_id)).await;
    let (mut p1, _) = cable(&base, &connect_path(&w1.routing_id, &w1.tunnel_id)).await;
    send(&mut p1, b"one").await;
    send(&mut p2, b"two").await;
    assert_eq!(recv_binary(&mut d1).await, b"one");
    assert_eq!(recv_binary(&mut d2).await, b"two");
}

#[tokio::test]
async fn a_phone_whose_push_socket_closed_gets_the_wake_ups_when_it_returns() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut push, _) = cable(&base, &push_path(CONTACT)).await;
    push.close(None).await.unwrap();
    // The server answers the close after parking the contact ID.
    let _ = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut push)).await;

    // The phone is away (off, no network): a desktop that gives up leaves nothing behind, one
    // that waits is joined once the phone is back, as a push service delivers late.
    let gave_up = contact(&base, CONTACT, false).await.unwrap();
    drop(gave_up);
    eventually(|| server.stats().connections_open == 0).await;
    let (mut desktop, _) = contact(&base, CONTACT, false).await.unwrap();
    let (mut back, _) = cable(&base, &push_path(CONTACT)).await;
    let wake = wake_up(&mut back).await;
    let (mut phone, _) = cable(&base, &connect_path(&wake.routing_id, &wake.tunnel_id)).await;
    send(&mut phone, b"back").await;
    assert_eq!(recv_binary(&mut desktop).await, b"back");
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), recv(&mut back))
            .await
            .is_err(),
        "the wake-up of the desktop that gave up was delivered"
    );

    // Forgotten (the push service says the phone is gone for good): 410.
    assert!(server.forget_contact(CONTACT));
    assert_eq!(status(contact(&base, CONTACT, false).await), 410);
}

#[tokio::test]
async fn a_newer_push_registration_replaces_the_old_one() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut old, _) = cable(&base, &push_path(CONTACT)).await;
    let (mut new, _) = cable(&base, &push_path(CONTACT)).await;
    assert_eq!(
        expect_close(&mut old).await,
        (1000, CloseReason::PushReplaced.message().to_owned())
    );
    let (_desktop, _) = contact(&base, CONTACT, false).await.unwrap();
    let wake = wake_up(&mut new).await;
    assert_eq!(wake.client_payload.len(), 33);
}

#[tokio::test]
async fn the_push_channel_is_one_way() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut push, _) = cable(&base, &push_path(CONTACT)).await;
    push.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(expect_close(&mut push).await.0, 1008);
    eventually(|| server.stats().connections_open == 0).await;
}

#[tokio::test]
async fn in_process_registration_delivers_wakeups_and_forget_makes_410() {
    let server = start_default().await;
    let base = server.base_url();
    let mut wakeups = server.register_contact(CONTACT);
    let (mut desktop, resp) = contact(&base, CONTACT, true).await.unwrap();
    assert_eq!(
        header(&resp, "X-caBLE-Signal-Connection").as_deref(),
        Some("true")
    );
    let wake = tokio::time::timeout(WAIT, wakeups.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wake.contact_id, CONTACT);
    assert_eq!(wake.client_payload, hex::decode(payload_hex()).unwrap());
    let (mut phone, _) = cable(&base, &connect_path(&wake.routing_id, &wake.tunnel_id)).await;
    assert_eq!(recv_binary(&mut desktop).await, [0]);
    send(&mut desktop, b"x").await;
    assert_eq!(recv_binary(&mut phone).await, b"x");

    assert!(server.forget_contact(CONTACT));
    assert!(!server.forget_contact(CONTACT));
    assert_eq!(status(contact(&base, CONTACT, false).await), 410);

    // Dropping the receiver unregisters too.
    let wakeups = server.register_contact(b"other");
    drop(wakeups);
    assert_eq!(status(contact(&base, b"other", false).await), 410);
}

#[tokio::test]
async fn forget_contact_closes_the_push_socket() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut push, _) = cable(&base, &push_path(CONTACT)).await;
    assert!(server.forget_contact(CONTACT));
    assert_eq!(
        expect_close(&mut push).await,
        (1000, CloseReason::PushForgotten.message().to_owned())
    );
}

#[tokio::test]
async fn contact_needs_a_hex_client_payload() {
    let server = start_default().await;
    let base = server.base_url();
    let _wakeups = server.register_contact(CONTACT);
    let path = contact_path(CONTACT);
    assert_eq!(status(open(&base, &path, &[FIDO]).await), 400);
    let bad = ("X-caBLE-Client-Payload", "not hex");
    assert_eq!(status(open(&base, &path, &[FIDO, bad]).await), 400);
    assert_eq!(server.stats().rejected(RejectReason::BadClientPayload), 2);
}

#[tokio::test]
async fn unread_wakeups_are_bounded() {
    let limits = ServerLimits {
        max_pending_wakeups: 2,
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let _wakeups = server.register_contact(CONTACT);
    let (_d1, _) = contact(&base, CONTACT, false).await.unwrap();
    let (_d2, _) = contact(&base, CONTACT, false).await.unwrap();
    assert_eq!(status(contact(&base, CONTACT, false).await), 503);
    assert_eq!(server.stats().rejected(RejectReason::WakeUpQueueFull), 1);
}

#[tokio::test]
async fn a_phone_that_never_joins_leaves_the_desktop_to_the_lifetime() {
    let limits = ServerLimits {
        tunnel_lifetime: std::time::Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let server = start(limits).await;
    let base = server.base_url();
    let _wakeups = server.register_contact(CONTACT);
    let (mut desktop, _) = contact(&base, CONTACT, true).await.unwrap();
    assert_eq!(
        expect_close(&mut desktop).await,
        (1001, "tunnel lifetime exceeded".to_owned())
    );
}
