//! `new` + `connect`: pairing, relaying, errors and how a tunnel ends.

mod common;

use cable_tunnel::urls::{connect_path, new_path};
use cable_tunnel_server::{CloseReason, RejectReason};
use common::*;
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn relays_both_ways_and_delivers_early_messages_in_order() {
    let server = start_default().await;
    let base = server.base_url();
    let tunnel_id = [0x5a; 16];
    let (mut phone, routing_id) = open_new(&base, &tunnel_id).await;

    // The phone speaks before the desktop joins: an empty message, one byte, and a large one.
    let big: Vec<u8> = (0..60_000u32).map(|i| i as u8).collect();
    let early: [&[u8]; 3] = [&[], &[0x01], &big];
    for m in early {
        send(&mut phone, m).await;
    }

    // Lower-case hex in the connect path works too (libwebauthn).
    let path = connect_path(&routing_id, &tunnel_id).to_ascii_lowercase();
    let (mut desktop, resp) = cable(&base, &path).await;
    assert_eq!(header(&resp, "X-caBLE-Routing-ID"), None);
    for m in early {
        assert_eq!(recv_binary(&mut desktop).await, m);
    }

    // Both directions, boundaries preserved, interleaved.
    for i in 0..10u8 {
        send(&mut desktop, &[i; 81]).await;
        send(&mut phone, &vec![i; 1 + i as usize * 100]).await;
    }
    for i in 0..10u8 {
        assert_eq!(recv_binary(&mut phone).await, vec![i; 81]);
        assert_eq!(
            recv_binary(&mut desktop).await,
            vec![i; 1 + i as usize * 100]
        );
    }
    let stats = server.stats();
    assert_eq!(stats.tunnels_paired, 1);
    assert_eq!(stats.messages_relayed, 23);
    assert_eq!(stats.upgrades, 2);
    assert_eq!(stats.total_rejected(), 0);
}

#[tokio::test]
async fn upper_case_new_path_and_lower_case_work_alike() {
    let server = start_default().await;
    let base = server.base_url();
    let tunnel_id = [0xcd; 16];
    let (mut phone, routing_id) = {
        let path = new_path(&tunnel_id).to_ascii_lowercase();
        let (ws, resp) = cable(&base, &path).await;
        let rid = header(&resp, "x-cable-routing-id").unwrap();
        let mut r = [0u8; 3];
        hex::decode_to_slice(rid, &mut r).unwrap();
        (ws, r)
    };
    let (mut desktop, _) = cable(&base, &connect_path(&routing_id, &tunnel_id)).await;
    send(&mut desktop, b"hi").await;
    assert_eq!(recv_binary(&mut phone).await, b"hi");
}

#[tokio::test]
async fn missing_subprotocol_is_400_on_every_endpoint() {
    let server = start_default().await;
    let base = server.base_url();
    let (_phone, routing_id) = open_new(&base, &[1; 16]).await;
    let paths = [
        new_path(&[2; 16]),
        connect_path(&routing_id, &[1; 16]),
        "/cable/contact/AAAA".to_owned(),
        "/cable/push/AAAA".to_owned(),
    ];
    for path in &paths {
        assert_eq!(status(open(&base, path, &[]).await), 400, "{path}");
        let other = ("Sec-WebSocket-Protocol", "chat");
        assert_eq!(status(open(&base, path, &[other]).await), 400, "{path}");
    }
    assert_eq!(server.stats().rejected(RejectReason::MissingSubprotocol), 8);
    // The waiting tunnel was not consumed by the refused connect.
    let (_desktop, _) = cable(&base, &connect_path(&routing_id, &[1; 16])).await;
}

#[tokio::test]
async fn unknown_tunnel_and_unknown_endpoints_are_404() {
    let server = start_default().await;
    let base = server.base_url();
    assert_eq!(
        status(open(&base, &connect_path(&[1, 2, 3], &[9; 16]), &[FIDO]).await),
        404
    );
    assert_eq!(status(open(&base, "/cable/new/1234", &[FIDO]).await), 404);
    assert_eq!(status(open(&base, "/somewhere", &[FIDO]).await), 404);
    let stats = server.stats();
    assert_eq!(stats.rejected(RejectReason::UnknownTunnel), 1);
    assert_eq!(stats.rejected(RejectReason::UnknownEndpoint), 2);
}

#[tokio::test]
async fn routing_id_mismatch_is_404_and_keeps_the_tunnel_waiting() {
    let server = start_default().await;
    let base = server.base_url();
    let tunnel_id = [7; 16];
    let (mut phone, routing_id) = open_new(&base, &tunnel_id).await;
    let mut wrong = routing_id;
    wrong[2] ^= 0x80;
    assert_eq!(
        status(open(&base, &connect_path(&wrong, &tunnel_id), &[FIDO]).await),
        404
    );
    assert_eq!(server.stats().rejected(RejectReason::RoutingIdMismatch), 1);

    let (mut desktop, _) = cable(&base, &connect_path(&routing_id, &tunnel_id)).await;
    send(&mut phone, b"still here").await;
    assert_eq!(recv_binary(&mut desktop).await, b"still here");
    // Once joined, the tunnel is no longer waiting.
    assert_eq!(
        status(open(&base, &connect_path(&routing_id, &tunnel_id), &[FIDO]).await),
        404
    );
}

#[tokio::test]
async fn second_new_for_a_waiting_tunnel_is_409() {
    let server = start_default().await;
    let base = server.base_url();
    let (_phone, _) = open_new(&base, &[3; 16]).await;
    assert_eq!(status(open(&base, &new_path(&[3; 16]), &[FIDO]).await), 409);
    assert_eq!(
        server.stats().rejected(RejectReason::TunnelAlreadyWaiting),
        1
    );
}

#[tokio::test]
async fn routing_ids_are_random_per_tunnel() {
    let server = start_default().await;
    let base = server.base_url();
    let mut seen = std::collections::HashSet::new();
    let mut sockets = Vec::new();
    for i in 0..8u8 {
        let (ws, rid) = open_new(&base, &[i; 16]).await;
        seen.insert(rid);
        sockets.push(ws);
    }
    // 8 random 24-bit values collide with probability below 2e-6.
    assert!(seen.len() >= 7, "{seen:?}");
}

#[tokio::test]
async fn text_message_closes_the_tunnel() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut phone, mut desktop) = pair(&base, &[4; 16]).await;
    desktop.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        expect_close(&mut desktop).await,
        (1003, CloseReason::TextMessage.message().to_owned())
    );
    assert_eq!(
        expect_close(&mut phone).await,
        (1000, CloseReason::PeerClosed.message().to_owned())
    );
    let stats = server.stats();
    assert_eq!(stats.closed(CloseReason::TextMessage), 1);
    assert_eq!(stats.closed(CloseReason::PeerClosed), 1);
}

#[tokio::test]
async fn text_message_before_the_peer_joins_closes_the_waiting_tunnel() {
    let server = start_default().await;
    let base = server.base_url();
    let (mut phone, routing_id) = open_new(&base, &[5; 16]).await;
    phone.send(Message::text("{}")).await.unwrap();
    assert_eq!(expect_close(&mut phone).await.0, 1003);
    eventually(|| server.stats().closed(CloseReason::TextMessage) == 1).await;
    assert_eq!(
        status(open(&base, &connect_path(&routing_id, &[5; 16]), &[FIDO]).await),
        404
    );
}

#[tokio::test]
async fn closing_one_side_closes_the_other() {
    let server = start_default().await;
    let base = server.base_url();

    // A clean close by the phone.
    let (mut phone, mut desktop) = pair(&base, &[6; 16]).await;
    phone.close(None).await.unwrap();
    assert_eq!(
        expect_close(&mut desktop).await,
        (1000, "the other side closed the tunnel".to_owned())
    );

    // The desktop vanishing without a close frame.
    let (mut phone, desktop) = pair(&base, &[7; 16]).await;
    drop(desktop);
    assert_eq!(expect_close(&mut phone).await.0, 1000);

    // The phone leaving before the desktop joins: the tunnel is gone.
    let (mut phone, routing_id) = open_new(&base, &[8; 16]).await;
    phone.close(None).await.unwrap();
    eventually(|| server.stats().connections_open == 0).await;
    assert_eq!(
        status(open(&base, &connect_path(&routing_id, &[8; 16]), &[FIDO]).await),
        404
    );
}

#[tokio::test]
async fn frames_pipelined_behind_the_upgrade_request_are_relayed() {
    let server = start_default().await;
    let base = server.base_url();
    let tunnel_id = [9; 16];
    let (mut phone, routing_id) = open_new(&base, &tunnel_id).await;
    // One write: the upgrade request and a frame right behind it.
    let mut bytes = upgrade_head(&connect_path(&routing_id, &tunnel_id)).into_bytes();
    bytes.extend(masked_binary_frame(b"pipelined"));
    let mut tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &bytes)
        .await
        .unwrap();
    assert_eq!(recv_binary(&mut phone).await, b"pipelined");
}

#[tokio::test]
async fn graceful_shutdown_closes_tunnels_with_1001() {
    let server = start_default().await;
    let base = server.base_url();
    let addr = server.local_addr();
    let (mut phone, mut desktop) = pair(&base, &[10; 16]).await;
    let (mut waiting, _) = open_new(&base, &[11; 16]).await;
    let stop = tokio::spawn(server.shutdown());
    for ws in [&mut phone, &mut desktop, &mut waiting] {
        assert_eq!(
            expect_close(ws).await,
            (1001, "tunnel server shutting down".to_owned())
        );
    }
    stop.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
