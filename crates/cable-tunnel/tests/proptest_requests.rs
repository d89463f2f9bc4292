//! Builders against parsers: every request's URL parses back to its path on the server side,
//! client-payload headers and push messages round-trip, and the parsers take any input.

use cable_tunnel::urls::{
    client_payload_header_value, max_path_len, parse_client_payload_header, MAX_CONTACT_ID_LEN,
};
use cable_tunnel::{ClientPayload, Error, PushMessage, TunnelBase, TunnelPath, TunnelRequest};
use proptest::prelude::*;

fn request() -> impl Strategy<Value = TunnelRequest> {
    let contact = (
        proptest::collection::vec(any::<u8>(), 1..=MAX_CONTACT_ID_LEN),
        any::<[u8; 8]>(),
        any::<[u8; 16]>(),
        any::<bool>(),
    )
        .prop_map(|(contact_id, link_id, client_nonce, signal_connection)| {
            TunnelRequest::Contact {
                contact_id,
                client_payload: ClientPayload {
                    link_id,
                    client_nonce,
                    request_type: "mc".into(),
                },
                signal_connection,
            }
        });
    prop_oneof![
        any::<[u8; 16]>().prop_map(|tunnel_id| TunnelRequest::New { tunnel_id }),
        (any::<[u8; 3]>(), any::<[u8; 16]>()).prop_map(|(routing_id, tunnel_id)| {
            TunnelRequest::Connect {
                routing_id,
                tunnel_id,
            }
        }),
        contact,
    ]
}

fn base() -> impl Strategy<Value = TunnelBase> {
    prop_oneof![
        prop_oneof![Just(0u16), Just(1), 256u16..].prop_map(TunnelBase::Domain),
        (1u16..).prop_map(|port| TunnelBase::Override(format!("ws://127.0.0.1:{port}"))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn request_urls_parse_back_to_their_paths(req in request(), base in base()) {
        let url = req.url(&base).unwrap();
        let prefix = base.base_url().unwrap();
        let path = url.strip_prefix(&prefix).expect("URL starts with the base");
        prop_assert_eq!(TunnelPath::parse(path).unwrap(), req.path());
        prop_assert!(path.len() <= cable_tunnel::urls::MAX_PATH_LEN);

        // The headers a server reads back out of the request.
        let headers = req.headers(&base).unwrap();
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        prop_assert_eq!(get("Sec-WebSocket-Protocol"), Some("fido.cable".to_string()));
        prop_assert_eq!(get("Origin"), Some(base.origin().unwrap()));
        if let TunnelRequest::Contact { client_payload, signal_connection, .. } = &req {
            let raw = get("X-caBLE-Client-Payload").expect("contact sends its payload");
            let bytes = parse_client_payload_header(raw.as_bytes(), 1024).unwrap();
            prop_assert_eq!(ClientPayload::decode(&bytes).unwrap(), client_payload.clone());
            prop_assert_eq!(get("X-caBLE-Signal-Connection").is_some(), *signal_connection);
        } else {
            prop_assert_eq!(headers.len(), 2);
        }
    }

    #[test]
    fn bounded_parse_admits_exactly_the_bound(contact_id in proptest::collection::vec(any::<u8>(), 1..200), push in any::<bool>()) {
        let path = if push {
            TunnelPath::Push { contact_id: contact_id.clone() }
        } else {
            TunnelPath::Contact { contact_id: contact_id.clone() }
        };
        let text = path.to_path();
        prop_assert_eq!(TunnelPath::parse_bounded(&text, contact_id.len()).unwrap(), path);
        let tighter = TunnelPath::parse_bounded(&text, contact_id.len() - 1);
        let rejected = matches!(
            tighter,
            Err(Error::ContactIdLength { .. } | Error::PathTooLong { .. })
        );
        prop_assert!(rejected, "{:?}", tighter);
    }

    #[test]
    fn client_payload_header_round_trip(payload in proptest::collection::vec(any::<u8>(), 1..300), lower in any::<bool>()) {
        let mut value = client_payload_header_value(&payload);
        prop_assert_eq!(value.to_uppercase(), value.clone());
        if lower {
            value = value.to_lowercase();
        }
        prop_assert_eq!(parse_client_payload_header(value.as_bytes(), payload.len()).unwrap(), payload.clone());
        let over = parse_client_payload_header(value.as_bytes(), payload.len() - 1);
        prop_assert_eq!(over, Err(Error::ClientPayloadLength { len: payload.len(), max: payload.len() - 1 }));
    }

    #[test]
    fn push_message_round_trip(tunnel_id in any::<[u8; 16]>(), routing_id in any::<[u8; 3]>(), client_payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let m = PushMessage { tunnel_id, routing_id, client_payload };
        let text = m.encode();
        prop_assert_eq!(PushMessage::decode(&text).unwrap(), m.clone());
        prop_assert_eq!(PushMessage::decode(&text.to_lowercase()).unwrap(), m.clone());
        // An unknown key added by a newer server changes nothing.
        let newer = format!("{},\"hint\":\"ga\"}}", text.trim_end_matches('}'));
        prop_assert_eq!(PushMessage::decode(&newer).unwrap(), m);
    }

    #[test]
    fn request_parsers_never_panic(text in ".{0,300}", max in 0usize..2000) {
        let _ = TunnelPath::parse_bounded(&text, max);
        let _ = parse_client_payload_header(text.as_bytes(), max);
        let _ = PushMessage::decode(&text);
    }
}

#[test]
fn path_bound_covers_connect_and_contact_paths() {
    // Small contact bounds still admit a connect path.
    let connect = TunnelPath::Connect {
        routing_id: [0; 3],
        tunnel_id: [0; 16],
    };
    assert_eq!(max_path_len(1), connect.to_path().len());
    assert_eq!(
        TunnelPath::parse_bounded(&connect.to_path(), 1),
        Ok(connect)
    );
    assert_eq!(
        max_path_len(MAX_CONTACT_ID_LEN),
        TunnelPath::Contact {
            contact_id: vec![0; MAX_CONTACT_ID_LEN]
        }
        .to_path()
        .len()
    );
    assert_eq!(
        parse_client_payload_header(b"  a1B2 ", 8),
        Ok(vec![0xa1, 0xb2])
    );
    assert_eq!(
        parse_client_payload_header(b"", 8),
        Err(Error::ClientPayloadLength { len: 0, max: 8 })
    );
    assert_eq!(
        parse_client_payload_header(b"xyz1", 8),
        Err(Error::ClientPayloadHex)
    );
}
