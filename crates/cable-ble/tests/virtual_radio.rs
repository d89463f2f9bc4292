//! The virtual radio, phone side against desktop side on 127.0.0.1, and into the matcher.

use std::net::SocketAddr;
use std::time::Duration;

use cable_ble::scan::encode_datagram;
use cable_ble::{
    encrypt_advert, AdvertMatcher, AdvertSource, DomainCheck, EidPlaintext, ScanError, Scanner,
    VirtualRadioAdvertiser, VirtualRadioScanner, UUID_FIDO, UUID_GOOGLE,
};
use cable_keys::EidKey;
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// Bounds only what must happen (a hang fails the test after this); never how long it takes.
const WAIT: Duration = Duration::from_secs(15);

/// A UUID no advertiser in these tests uses, for [`assert_quiet`]'s markers.
const MARKER: u16 = 0x4d4b;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn scanner() -> (VirtualRadioScanner, SocketAddr) {
    let scanner = VirtualRadioScanner::bind(loopback()).await.unwrap();
    let addr = scanner.local_addr();
    (scanner, addr)
}

#[tokio::test]
async fn one_datagram_becomes_one_advert() {
    let (scanner, addr) = scanner().await;
    let mut scan = scanner.start().await.unwrap();
    VirtualRadioAdvertiser::send_once(addr, UUID_GOOGLE, &[1, 2, 3])
        .await
        .unwrap();
    let advert = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!(advert.uuid, UUID_GOOGLE);
    assert_eq!(advert.service_data, [1, 2, 3]);
    assert_eq!(advert.source, AdvertSource::VirtualRadio);
    assert_eq!(advert.rssi, None);
    assert!(advert.address.unwrap().starts_with("127.0.0.1:"));
    assert_eq!(scan.stats().adverts, 1);
    scan.stop().await.unwrap();
}

#[tokio::test]
async fn short_datagrams_are_dropped_and_counted() {
    let (scanner, addr) = scanner().await;
    let mut scan = scanner.start().await.unwrap();
    let raw = UdpSocket::bind(loopback()).await.unwrap();
    raw.send_to(&[], addr).await.unwrap();
    raw.send_to(&[0xff], addr).await.unwrap();
    // A bare UUID is a (short) advert with empty service data; the matcher will count it.
    raw.send_to(&[0xff, 0xf9], addr).await.unwrap();
    let advert = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!((advert.uuid, advert.service_data.len()), (UUID_FIDO, 0));
    let stats = scan.stats();
    assert_eq!((stats.adverts, stats.malformed), (1, 2));
}

#[tokio::test]
async fn advertiser_repeats_until_stopped() {
    let (scanner, addr) = scanner().await;
    let mut scan = scanner.start().await.unwrap();
    let advertiser =
        VirtualRadioAdvertiser::start(addr, UUID_FIDO, vec![7; 20], Duration::from_millis(10))
            .await
            .unwrap();
    for _ in 0..3 {
        let advert = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
        assert_eq!(advert.service_data, [7; 20]);
    }
    assert!(advertiser.sent() >= 3);
    advertiser.stop().await;
    assert_quiet(addr, &mut scan).await;
}

/// Fails if anything but our own markers reaches `scan` from now on: drains up to a first
/// marker (what was in flight), lets a little time pass, then requires a second marker to be
/// the very next datagram. Loopback UDP keeps the order of sends, so whatever comes between
/// the markers was sent after the first. The pause only gives a still-running advertiser
/// the chance to show itself: a slow machine can make the check weaker, never fail it.
async fn assert_quiet(addr: SocketAddr, scan: &mut cable_ble::ScanHandle) {
    VirtualRadioAdvertiser::send_once(addr, MARKER, b"first")
        .await
        .unwrap();
    loop {
        let advert = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
        if advert.uuid == MARKER {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    VirtualRadioAdvertiser::send_once(addr, MARKER, b"second")
        .await
        .unwrap();
    let next = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!(
        (next.uuid, next.service_data.as_slice()),
        (MARKER, &b"second"[..]),
        "an advert arrived after the advertiser stopped"
    );
}

#[tokio::test]
async fn dropping_the_advertiser_stops_it() {
    let (scanner, addr) = scanner().await;
    let mut scan = scanner.start().await.unwrap();
    let advertiser =
        VirtualRadioAdvertiser::start(addr, UUID_FIDO, vec![8; 20], Duration::from_millis(10))
            .await
            .unwrap();
    timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    drop(advertiser);
    assert_quiet(addr, &mut scan).await;
}

#[tokio::test]
async fn dropping_the_handle_stops_the_scan_and_frees_the_scanner() {
    let (scanner, addr) = scanner().await;
    let scan = scanner.start().await.unwrap();
    assert!(matches!(
        scanner.start().await,
        Err(ScanError::AlreadyScanning)
    ));
    drop(scan);
    // The task notices the closed channel and releases the scanner.
    let restarted = timeout(WAIT, async {
        loop {
            match scanner.start().await {
                Ok(scan) => return scan,
                Err(ScanError::AlreadyScanning) => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .unwrap();
    // Datagrams sent while nobody scanned are gone, like adverts in the air.
    drop(restarted);
    VirtualRadioAdvertiser::send_once(addr, UUID_FIDO, &[1; 20])
        .await
        .unwrap();
    // A new scan drops what arrived before it (or the old task read it into a closed channel).
    let mut scan = loop {
        if let Ok(scan) = scanner.start().await {
            break scan;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    VirtualRadioAdvertiser::send_once(addr, UUID_FIDO, &[2; 20])
        .await
        .unwrap();
    let advert = timeout(WAIT, scan.recv()).await.unwrap().unwrap();
    assert_eq!(advert.service_data, [2; 20]);
}

#[tokio::test]
async fn scanners_are_usable_as_trait_objects() {
    let (scanner, addr) = scanner().await;
    let scanner: Box<dyn Scanner> = Box::new(scanner);
    assert_eq!(scanner.describe(), format!("virtual radio on udp://{addr}"));
    let mut scan = scanner.start().await.unwrap();
    VirtualRadioAdvertiser::send_once(addr, 0x1234, &[])
        .await
        .unwrap();
    assert_eq!(
        timeout(WAIT, scan.recv()).await.unwrap().unwrap().uuid,
        0x1234
    );
}

#[tokio::test]
async fn binding_a_used_address_names_it() {
    let (_scanner, addr) = scanner().await;
    let err = VirtualRadioScanner::bind(addr).await.unwrap_err();
    let ScanError::Socket { cause, .. } = &err else {
        panic!("not a socket error: {err:?}");
    };
    let message = err.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    // The OS's reason is in the message, once, and not repeated by the source chain.
    assert_eq!(message.matches(&cause.to_string()).count(), 1, "{message}");
    assert!(std::error::Error::source(&err).is_none(), "{message}");
}

/// The whole desktop path: a virtual phone advertises, the scanner hears it, the matcher finds
/// the session among others.
#[tokio::test]
async fn phone_advert_reaches_the_matching_session() {
    let (scanner, addr) = scanner().await;
    let mut scan = scanner.start().await.unwrap();
    let phone_key = EidKey::new([5; 64]);
    let eid = EidPlaintext {
        nonce: [9; 10],
        routing_id: [0xaa, 0xbb, 0xcc],
        tunnel_domain_id: 0,
    };
    let advert = encrypt_advert(&phone_key, &eid.to_bytes());
    let noise = VirtualRadioAdvertiser::start(addr, 0xFCF1, vec![0; 22], Duration::from_millis(5))
        .await
        .unwrap();
    let _phone =
        VirtualRadioAdvertiser::start(addr, UUID_FIDO, advert.to_vec(), Duration::from_millis(20))
            .await
            .unwrap();

    let mut matcher = AdvertMatcher::new();
    for n in 0..8u8 {
        matcher.add(n, EidKey::new([100 + n; 64]), DomainCheck::Qr);
    }
    matcher.add(42, phone_key, DomainCheck::Qr);
    let found = timeout(WAIT, async {
        loop {
            let advert = scan.recv().await.unwrap();
            if let Some(found) = matcher.offer(&advert) {
                return found;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(found.0, 42);
    assert_eq!(found.1.eid, eid);
    assert_eq!(found.2, UUID_FIDO);
    assert!(matcher.stats().foreign_uuid > 0 || noise.sent() > 0);
    assert_eq!(encode_datagram(UUID_FIDO, &advert)[..2], [0xff, 0xf9]);
}
