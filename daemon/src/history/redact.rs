//! The engine's events turned into the stages a record keeps. Every field is picked by name
//! from a typed event, so a new secret-bearing field in `EventKind` is kept out until someone
//! decides here that it may be kept.

use super::record::{PathTaken, PhoneInfo, PhoneProfile, Stage, StageKind};
use crate::engine::{EventKind, SessionEvent, WebAuthnRequest};

/// iOS's getInfo AAGUID (f24a8e70-d0d3-f82c-2937-32523cc4de5a), as the engine prints it.
const IOS_AAGUID: &str = "f24a8e70d0d3f82c293732523cc4de5a";
/// Google Play services reports the zero AAGUID.
const ZERO_AAGUID: &str = "00000000000000000000000000000000";

/// The stage to keep for `event`, or `None` for events with nothing to keep (the credential).
pub fn stage(event: &SessionEvent) -> Option<Stage> {
    let kind = match &event.kind {
        EventKind::Qr { .. } => StageKind::Qr,
        EventKind::Scanning { radio } => StageKind::Scanning {
            radio: radio.clone(),
        },
        EventKind::Contacting { .. } => StageKind::Contacting,
        EventKind::Advert {
            uuid,
            source,
            tunnel_domain,
            rssi,
            ..
        } => StageKind::Advert {
            uuid: uuid.clone(),
            source: source.clone(),
            tunnel_domain: tunnel_domain.clone(),
            rssi: *rssi,
        },
        EventKind::TunnelConnecting { url } => StageKind::TunnelConnecting { host: host_of(url) },
        EventKind::TunnelConnected { http_status } => StageKind::TunnelConnected {
            http_status: *http_status,
        },
        EventKind::Handshake { protocol } => StageKind::Handshake {
            protocol: protocol.clone(),
        },
        EventKind::PhoneReady {
            versions,
            features,
            revision,
            ..
        } => StageKind::PhoneReady {
            versions: versions.clone(),
            features: features.clone(),
            revision: *revision,
        },
        EventKind::CtapRequest { command } => StageKind::CtapRequest {
            command: command.clone(),
        },
        EventKind::CtapResponse { status, .. } => StageKind::CtapResponse {
            status: status.clone(),
        },
        EventKind::Linked { .. } => StageKind::Linked,
        EventKind::LinkRejected { .. } => StageKind::LinkRejected,
        EventKind::Path { path, .. } => StageKind::Path {
            path: path_taken(path)?,
        },
        EventKind::LinkFailed {
            code, forgotten, ..
        } => StageKind::LinkFailed {
            code: code.clone(),
            forgotten: *forgotten,
        },
        EventKind::AwaitingLink { seconds } => StageKind::AwaitingLink { seconds: *seconds },
        EventKind::BluetoothWaiting { code, .. } => {
            StageKind::BluetoothWaiting { code: code.clone() }
        }
        EventKind::BluetoothReady { adapters } => StageKind::BluetoothReady {
            adapters: adapters.clone(),
        },
        EventKind::Closed => StageKind::Closed,
        EventKind::Error { code, .. } => StageKind::Error { code: code.clone() },
        EventKind::Credential { .. } => return None,
    };
    Some(Stage {
        kind,
        t_ms: event.t_ms,
    })
}

/// The site a WebAuthn request is for: the options' RP ID, else its origin's host (the
/// WebAuthn default).
pub fn rp_id_of(request: &WebAuthnRequest) -> Option<String> {
    let (origin, named) = match request {
        WebAuthnRequest::Create { origin, options } => (origin, options.pointer("/rp/id")),
        WebAuthnRequest::Get { origin, options } => (origin, options.get("rpId")),
    };
    match named.and_then(|v| v.as_str()) {
        Some(id) => Some(id.to_string()),
        None => {
            let host = host_of(origin);
            let host = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            (!host.is_empty()).then(|| host.to_string())
        }
    }
}

pub fn path_taken(path: &str) -> Option<PathTaken> {
    match path {
        "qr" => Some(PathTaken::Qr),
        "linked" => Some(PathTaken::Linked),
        _ => None,
    }
}

/// The phone as its `phone_ready` event describes it.
pub fn phone(event: &SessionEvent) -> Option<PhoneInfo> {
    let EventKind::PhoneReady {
        versions, aaguid, ..
    } = &event.kind
    else {
        return None;
    };
    let aaguid = aaguid.to_ascii_lowercase();
    let profile = match aaguid.as_str() {
        ZERO_AAGUID => PhoneProfile::Android,
        IOS_AAGUID => PhoneProfile::Ios,
        _ => PhoneProfile::Unknown,
    };
    // Only hex is kept: the AAGUID comes from the phone, which could put anything there.
    let aaguid = aaguid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    Some(PhoneInfo {
        profile,
        aaguid,
        versions: versions.iter().take(8).cloned().collect(),
    })
}

/// `wss://host:port/cable/connect/<routing id>/<tunnel id>` → `host:port`: the path holds the
/// IDs, the part before `@` any credentials; neither is kept.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> SessionEvent {
        SessionEvent { kind, t_ms: 7 }
    }

    #[test]
    fn tunnel_urls_keep_only_their_host() {
        assert_eq!(
            host_of("wss://cable.ua5v.com/cable/connect/0a0b0c/00112233445566778899aabbccddeeff"),
            "cable.ua5v.com"
        );
        assert_eq!(
            host_of("ws://user:pw@127.0.0.1:8080/cable/contact/c29tZQ?x=1"),
            "127.0.0.1:8080"
        );
        assert_eq!(host_of("not a url"), "not a url");
        assert_eq!(host_of(""), "");
    }

    #[test]
    fn secret_fields_are_dropped() {
        let advert = event(EventKind::Advert {
            uuid: "fff9".into(),
            source: "Virtual".into(),
            routing_id: "a1b2c3".into(),
            tunnel_domain_id: 0,
            tunnel_domain: "cable.ua5v.com".into(),
            rssi: Some(-60),
            adapter: Some("hci1".into()),
        });
        let kept = serde_json::to_string(&stage(&advert).unwrap()).unwrap();
        assert!(!kept.contains("a1b2c3"), "{kept}");
        assert!(kept.contains("cable.ua5v.com"), "{kept}");

        let qr = event(EventKind::Qr {
            url: "FIDO:/123456789".into(),
        });
        assert_eq!(stage(&qr).unwrap().kind, StageKind::Qr);
        let linked = event(EventKind::Linked {
            name: "Pixel".into(),
            device: "0011223344556677".into(),
        });
        assert_eq!(stage(&linked).unwrap().kind, StageKind::Linked);
        let error = event(EventKind::Error {
            code: "tunnel_error".into(),
            message: "cannot open the tunnel URL wss://x/cable/connect/aa/bb".into(),
        });
        let kept = serde_json::to_string(&stage(&error).unwrap()).unwrap();
        assert!(!kept.contains("cable/connect"), "{kept}");
        let credential = event(EventKind::Credential {
            credential: serde_json::json!({"id": "abc"}),
        });
        assert!(stage(&credential).is_none());
    }

    #[test]
    fn the_rp_id_is_named_or_the_origins_host() {
        let create = WebAuthnRequest::Create {
            origin: "https://www.example.com".into(),
            options: serde_json::json!({"rp": {"id": "example.com"}}),
        };
        assert_eq!(rp_id_of(&create).as_deref(), Some("example.com"));
        let get = WebAuthnRequest::Get {
            origin: "https://login.example.org:8443".into(),
            options: serde_json::json!({"challenge": "x"}),
        };
        assert_eq!(rp_id_of(&get).as_deref(), Some("login.example.org"));
    }

    #[test]
    fn the_phone_profile_follows_the_aaguid() {
        let ready = |aaguid: &str| {
            phone(&event(EventKind::PhoneReady {
                versions: vec!["FIDO_2_0".into()],
                aaguid: aaguid.into(),
                features: vec![],
                revision: 1,
            }))
            .unwrap()
        };
        assert_eq!(ready(ZERO_AAGUID).profile, PhoneProfile::Android);
        assert_eq!(ready(IOS_AAGUID).profile, PhoneProfile::Ios);
        let other = ready("537a17fa79904363a0f7bea9fd90e68c");
        assert_eq!(other.profile, PhoneProfile::Unknown);
        assert_eq!(other.aaguid, "537a17fa79904363a0f7bea9fd90e68c");
        assert_eq!(ready("<script>").aaguid, "c");
    }
}
