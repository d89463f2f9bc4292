//! The local tunnel server's push message: its stand-in for the push notification that wakes a
//! linked phone (HYBRID.md §5.5), sent as one websocket text message on the phone's
//! `/cable/push/<contact ID>` socket ([`crate::urls::push_path`]) for each `contact` request:
//!
//! ```json
//! {"tunnel_id":"<32 HEX>","routing_id":"<6 HEX>","client_payload":"<HEX>"}
//! ```
//!
//! The values are Chrome-Android's FCM data keys (`caBLE.tunnelID`, `caBLE.routingID`,
//! `caBLE.clientPayload`) under plain names. The contact ID is not repeated: the socket it
//! arrives on is registered for exactly one.
//!
//! Rules, one for both ends: [`PushMessage::encode`] writes upper-case hex;
//! [`PushMessage::decode`] accepts either case, requires all three keys once each, and
//! **ignores unknown keys**, so a newer server may add fields without breaking older phones
//! (the forward compatibility JSON and CBOR maps get elsewhere, and how Chromium reads the client
//! payload).

use crate::error::{Error, Result};
use crate::urls::TunnelPath;
use serde::{Deserialize, Serialize};

/// One wake-up, as the phone receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The tunnel the server opened for the desktop (random, 16 bytes).
    pub tunnel_id: [u8; 16],
    /// The routing ID the server assigned to it.
    pub routing_id: [u8; 3],
    /// The desktop's `X-caBLE-Client-Payload`, decoded from hex (CBOR, HYBRID.md §9.5).
    pub client_payload: Vec<u8>,
}

/// The JSON object. No `deny_unknown_fields`: unknown keys are ignored (module docs).
#[derive(Serialize, Deserialize)]
struct Wire {
    tunnel_id: String,
    routing_id: String,
    client_payload: String,
}

impl PushMessage {
    /// The JSON text (upper-case hex).
    pub fn encode(&self) -> String {
        let wire = Wire {
            tunnel_id: hex::encode_upper(self.tunnel_id),
            routing_id: hex::encode_upper(self.routing_id),
            client_payload: hex::encode_upper(&self.client_payload),
        };
        // Three ASCII strings always serialise; an empty string (which `decode` rejects) beats a
        // panic should that ever change.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses the JSON text; errors name the key that is wrong.
    pub fn decode(text: &str) -> Result<Self> {
        let wire: Wire =
            serde_json::from_str(text).map_err(|e| Error::PushMessageJson(e.to_string()))?;
        let mut tunnel_id = [0u8; 16];
        hex::decode_to_slice(&wire.tunnel_id, &mut tunnel_id).map_err(|_| {
            Error::PushMessageField {
                field: "tunnel_id",
                expected: "32 hexadecimal digits (16 bytes)",
            }
        })?;
        let mut routing_id = [0u8; 3];
        hex::decode_to_slice(&wire.routing_id, &mut routing_id).map_err(|_| {
            Error::PushMessageField {
                field: "routing_id",
                expected: "6 hexadecimal digits (3 bytes)",
            }
        })?;
        let client_payload =
            hex::decode(&wire.client_payload).map_err(|_| Error::PushMessageField {
                field: "client_payload",
                expected: "hexadecimal digits",
            })?;
        Ok(Self {
            tunnel_id,
            routing_id,
            client_payload,
        })
    }

    /// Where the phone joins: `/cable/connect/<routing ID>/<tunnel ID>`.
    pub fn connect_path(&self) -> TunnelPath {
        TunnelPath::Connect {
            routing_id: self.routing_id,
            tunnel_id: self.tunnel_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PushMessage {
        PushMessage {
            tunnel_id: [0xab; 16],
            routing_id: [1, 2, 0xfe],
            client_payload: vec![0xa3, 0x01],
        }
    }

    #[test]
    fn exact_wire_form() {
        assert_eq!(
            sample().encode(),
            format!(
                r#"{{"tunnel_id":"{}","routing_id":"0102FE","client_payload":"A301"}}"#,
                "AB".repeat(16)
            )
        );
        assert_eq!(
            sample().connect_path().to_path(),
            format!("/cable/connect/0102FE/{}", "AB".repeat(16))
        );
    }

    #[test]
    fn lower_case_and_any_key_order_decode() {
        let text = format!(
            r#"{{"client_payload":"a301","routing_id":"0102fe","tunnel_id":"{}"}}"#,
            "ab".repeat(16)
        );
        assert_eq!(PushMessage::decode(&text), Ok(sample()));
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let text = format!(
            r#"{{"tunnel_id":"{}","routing_id":"0102FE","client_payload":"A301","contact_id":"AA","version":2,"extra":{{"nested":[1,null]}}}}"#,
            "AB".repeat(16)
        );
        assert_eq!(PushMessage::decode(&text), Ok(sample()));
    }

    #[test]
    fn wrong_shapes_name_what_is_wrong() {
        let tid = "00".repeat(16);
        let field = |text: &str| match PushMessage::decode(text) {
            Err(Error::PushMessageField { field, .. }) => field,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            field(r#"{"tunnel_id":"00","routing_id":"000000","client_payload":""}"#),
            "tunnel_id"
        );
        assert_eq!(
            field(&format!(
                r#"{{"tunnel_id":"{tid}","routing_id":"0000","client_payload":""}}"#
            )),
            "routing_id"
        );
        assert_eq!(
            field(&format!(
                r#"{{"tunnel_id":"{tid}","routing_id":"000000","client_payload":"x"}}"#
            )),
            "client_payload"
        );
        // Blanks are not hex: the server never sends them.
        assert_eq!(
            field(&format!(
                r#"{{"tunnel_id":" {tid}","routing_id":"000000","client_payload":""}}"#
            )),
            "tunnel_id"
        );
        for text in [
            "not json".to_string(),
            "[]".into(),
            r#"{"tunnel_id":"00"}"#.into(),
            format!(r#"{{"tunnel_id":"{tid}","routing_id":1,"client_payload":""}}"#),
            format!(
                r#"{{"tunnel_id":"{tid}","tunnel_id":"{tid}","routing_id":"000000","client_payload":""}}"#
            ),
        ] {
            let err = PushMessage::decode(&text).unwrap_err();
            assert!(matches!(err, Error::PushMessageJson(_)), "{text}: {err:?}");
            assert!(err.to_string().contains("JSON"), "{err}");
        }
    }
}
