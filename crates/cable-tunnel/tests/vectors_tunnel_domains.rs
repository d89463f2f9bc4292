//! tunnel_domains.json: every domain ID and every URL.

mod common;
use cable_tunnel::domain::domain_hash_input;
use cable_tunnel::{
    connect_url, contact_url, domain_name, new_url, ClientPayload, TunnelBase, TunnelPath,
    TunnelRequest,
};
use common::*;
use sha2::{Digest, Sha256};

#[test]
fn domains() {
    let v = load(TUNNEL_DOMAINS);
    let domains = list(&v, "domains");
    let mut checked = 0;
    for d in domains {
        let id = u16::try_from(d["id"].as_u64().unwrap()).unwrap();
        assert_eq!(str_of(d, "id_hex"), format!("0x{id:04x}"));
        assert_eq!(
            domain_name(id).as_deref(),
            d["domain"].as_str(),
            "domain {id}"
        );
        if d.get("sha256_input").is_some() {
            let input = domain_hash_input(id);
            assert_eq!(input.to_vec(), hexf(d, "sha256_input"));
            assert_eq!(Sha256::digest(input).to_vec(), hexf(d, "sha256"));
        } else {
            assert!(id < 256, "hashed IDs carry their hash input");
        }
        checked += 1;
    }
    assert_eq!(checked, 19);
    assert_eq!(checked, domains.len());
}

#[test]
fn urls() {
    let v = load(TUNNEL_DOMAINS);
    let urls = list(&v, "urls");
    let mut checked = 0;
    for u in urls {
        let base = TunnelBase::Domain(u["domain_id"].as_u64().unwrap() as u16);
        let tunnel_id = || arr::<16>(u, "tunnel_id");
        let url = match str_of(u, "kind") {
            "new" => new_url(&base, &tunnel_id()).unwrap(),
            "connect" => connect_url(&base, &arr::<3>(u, "routing_id"), &tunnel_id()).unwrap(),
            "contact" => contact_url(&base, &hexf(u, "contact_id")).unwrap(),
            other => panic!("unknown kind {other}"),
        };
        match u.get("url") {
            Some(expected) => assert_eq!(Some(url.as_str()), expected.as_str()),
            None => assert!(url.contains(str_of(u, "url_contains")), "{url}"),
        }
        // The request type builds the same URL, and the server's parser reads the vector's
        // path back into the vector's fields (lower-case hex too).
        let request = vector_request(u);
        assert_eq!(request.url(&base).unwrap(), url);
        let path = &url[base.base_url().unwrap().len()..];
        assert_eq!(TunnelPath::parse(path).unwrap(), request.path());
        if str_of(u, "kind") != "contact" {
            assert_eq!(
                TunnelPath::parse(&path.to_lowercase()).unwrap(),
                request.path()
            );
        }
        if u.get("qr_secret").is_some() {
            let secret = cable_keys::QrSecret::new(arr(u, "qr_secret"));
            assert_eq!(cable_keys::tunnel_id(&secret), tunnel_id());
        }
        if let Some(note) = u.get("note").and_then(|n| n.as_str()) {
            if note.contains("16 zero bytes") {
                let zero = cable_keys::QrSecret::new([0; 16]);
                assert_eq!(cable_keys::tunnel_id(&zero), tunnel_id());
            } else {
                assert!(note.contains("without padding"));
                assert!(!url.ends_with('='));
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
    assert_eq!(checked, urls.len());
}

/// The request a vector describes (contact payloads are arbitrary: they are not in the URL).
fn vector_request(u: &serde_json::Value) -> TunnelRequest {
    let tunnel_id = || arr::<16>(u, "tunnel_id");
    match str_of(u, "kind") {
        "new" => TunnelRequest::New {
            tunnel_id: tunnel_id(),
        },
        "connect" => TunnelRequest::Connect {
            routing_id: arr(u, "routing_id"),
            tunnel_id: tunnel_id(),
        },
        "contact" => TunnelRequest::Contact {
            contact_id: hexf(u, "contact_id"),
            client_payload: ClientPayload {
                link_id: [0; 8],
                client_nonce: [0; 16],
                request_type: "ga".into(),
            },
            signal_connection: false,
        },
        other => panic!("unknown kind {other}"),
    }
}
