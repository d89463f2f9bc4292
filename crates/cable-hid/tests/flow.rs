//! A whole sign-in as Firefox runs it against the virtual key, device and local answers
//! together: open, getInfo, the silent pre-flight with getNextAssertion, then the real
//! getAssertion, which must reach the phone with the allowList intact and be kept alive
//! until the phone answers.

mod common;

use std::time::{Duration, Instant};

use cable_hid::{Device, DeviceConfig, DeviceEvent, Handling, Keepalive, LocalAnswers};
use cable_keys::cbor::{self, Value};
use common::*;

/// The daemon's side: every CBOR request goes to the local answers; relayed ones are kept.
fn serve(device: &mut Device, local: &mut LocalAnswers, now: Instant) -> Option<(u32, Vec<u8>)> {
    let mut relayed = None;
    while let Some(event) = device.poll_event() {
        if let DeviceEvent::Cbor { cid, request } = event {
            match local.handle(&request) {
                Handling::Reply { response, .. } => device.respond(now, cid, &response).unwrap(),
                Handling::Relay { .. } => relayed = Some((cid, request)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    relayed
}

fn get_assertion(allow: &[&[u8]], up: Option<bool>) -> Vec<u8> {
    let mut entries = vec![
        (Value::Integer(1.into()), Value::Text("example.com".into())),
        (Value::Integer(2.into()), Value::Bytes(vec![0x11; 32])),
        (
            Value::Integer(3.into()),
            Value::Array(
                allow
                    .iter()
                    .map(|id| {
                        Value::Map(vec![
                            (Value::Text("id".into()), Value::Bytes(id.to_vec())),
                            (Value::Text("type".into()), Value::Text("public-key".into())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ];
    if let Some(up) = up {
        entries.push((
            Value::Integer(5.into()),
            Value::Map(vec![(Value::Text("up".into()), Value::Bool(up))]),
        ));
    }
    let mut out = vec![0x02];
    out.extend(cbor::to_canonical_vec(&Value::Map(entries)));
    out
}

/// The credential IDs a getAssertion response names.
fn credential_id(response: &[u8]) -> Vec<u8> {
    assert_eq!(response[0], 0x00, "success");
    let Value::Map(m) = cbor::from_slice(&response[1..]).unwrap() else {
        panic!("a map")
    };
    let credential = cbor::map_get(&m, 1).unwrap().as_map().unwrap();
    cbor::map_get_text(credential, "id")
        .unwrap()
        .as_bytes()
        .unwrap()
        .clone()
}

#[test]
fn a_firefox_sign_in_with_an_allow_list_reaches_the_phone_with_every_credential() {
    let mut device = Device::new(DeviceConfig::default());
    let mut local = LocalAnswers::new();
    let mut now = Instant::now();
    let cid = allocate(&mut device, now, *b"firefox!");

    send(&mut device, now, cid, CBOR, &[0x04]);
    assert!(serve(&mut device, &mut local, now).is_none());
    let info = drain(&mut device);
    assert_eq!((info.len(), info[0].data[0]), (1, 0x00));

    // Pre-flight: which of these are yours? Each answer names one; follow numberOfCredentials.
    let ids: [&[u8]; 3] = [&[0xA1; 40], &[0xB2; 64], &[0xC3; 16]];
    send(
        &mut device,
        now,
        cid,
        CBOR,
        &get_assertion(&ids, Some(false)),
    );
    assert!(serve(&mut device, &mut local, now).is_none());
    let mut found = vec![credential_id(&drain(&mut device)[0].data)];
    for _ in 1..ids.len() {
        send(&mut device, now, cid, CBOR, &[0x08]);
        assert!(serve(&mut device, &mut local, now).is_none());
        found.push(credential_id(&drain(&mut device)[0].data));
    }
    assert_eq!(found, ids.map(|id| id.to_vec()));

    // The real request, with the list the pre-flight left: all of it.
    let real = get_assertion(&ids, None);
    send(&mut device, now, cid, CBOR, &real);
    let (relay_cid, relayed) = serve(&mut device, &mut local, now).expect("relayed");
    assert_eq!((relay_cid, &relayed), (cid, &real), "relayed unchanged");

    // The phone takes 2 s; the host hears from the key at least every 100 ms.
    device.set_keepalive(cid, Keepalive::UpNeeded);
    let end = now + Duration::from_secs(2);
    let mut keepalives = 0;
    while let Some(deadline) = device.poll_timeout().filter(|&d| d <= end) {
        assert!(deadline - now <= Duration::from_millis(100));
        now = deadline;
        device.handle_timeout(now);
        for m in drain(&mut device) {
            assert_eq!((m.cid, m.cmd, m.data), (cid, KEEPALIVE, vec![2]));
            keepalives += 1;
        }
    }
    assert_eq!(keepalives, 20);
    device.respond(end, cid, &[0x00, 0xA0]).unwrap();
    assert_eq!(drain(&mut device)[0].data, vec![0x00, 0xA0]);
    assert_eq!(device.poll_timeout(), None);
}
