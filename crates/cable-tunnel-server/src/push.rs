//! The push stand-in's wake-up and its wire form (HYBRID.md §5.5).
//!
//! A real tunnel service wakes a linked phone through FCM (Chrome-Android: data keys
//! `caBLE.tunnelID`, `caBLE.routingID`, `caBLE.clientPayload`, all hex). This server instead
//! sends each wake-up as one WebSocket **text** message on the phone's `/cable/push/<contact>`
//! socket:
//!
//! ```json
//! {"tunnel_id":"<32 HEX>","routing_id":"<6 HEX>","client_payload":"<HEX>"}
//! ```
//!
//! Hex is upper case when sent; [`PushMessage::decode`] accepts either case. The contact ID is not
//! repeated: the socket it arrives on is registered for exactly one contact ID.

use serde::{Deserialize, Serialize};

use crate::paths::{ROUTING_ID_LEN, TUNNEL_ID_LEN};
use crate::Error;

/// A request to wake the phone registered for `contact_id` and have it join
/// `/cable/connect/<routing_id>/<tunnel_id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeUp {
    /// The contact ID the desktop asked for.
    pub contact_id: Vec<u8>,
    /// The tunnel the server opened for the desktop (random, 16 bytes).
    pub tunnel_id: [u8; TUNNEL_ID_LEN],
    /// The routing ID the server assigned to that tunnel (random, 3 bytes).
    pub routing_id: [u8; ROUTING_ID_LEN],
    /// The desktop's `X-caBLE-Client-Payload`, decoded from hex (CBOR; HYBRID.md §9.5).
    pub client_payload: Vec<u8>,
}

impl WakeUp {
    /// The push-socket message for this wake-up.
    pub fn push_message(&self) -> PushMessage {
        PushMessage {
            tunnel_id: self.tunnel_id,
            routing_id: self.routing_id,
            client_payload: self.client_payload.clone(),
        }
    }
}

/// What the phone receives on its push socket: a [`WakeUp`] without the contact ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The tunnel to join.
    pub tunnel_id: [u8; TUNNEL_ID_LEN],
    /// Its routing ID.
    pub routing_id: [u8; ROUTING_ID_LEN],
    /// The desktop's client payload (CBOR bytes).
    pub client_payload: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    tunnel_id: String,
    routing_id: String,
    client_payload: String,
}

impl PushMessage {
    /// The JSON text sent on the push socket (upper-case hex).
    pub fn encode(&self) -> String {
        let wire = Wire {
            tunnel_id: hex::encode_upper(self.tunnel_id),
            routing_id: hex::encode_upper(self.routing_id),
            client_payload: hex::encode_upper(&self.client_payload),
        };
        // Serialising a struct of three strings cannot fail; fall back to an empty object anyway
        // rather than panic.
        serde_json::to_string(&wire).unwrap_or_else(|_| String::from("{}"))
    }

    /// Parses a push-socket message (as a software phone does).
    pub fn decode(text: &str) -> Result<Self, Error> {
        let wire: Wire =
            serde_json::from_str(text).map_err(|e| Error::BadPushMessage(e.to_string()))?;
        let mut tunnel_id = [0u8; TUNNEL_ID_LEN];
        hex::decode_to_slice(&wire.tunnel_id, &mut tunnel_id).map_err(|_| Error::BadPushField {
            field: "tunnel_id",
            expected: TUNNEL_ID_LEN,
        })?;
        let mut routing_id = [0u8; ROUTING_ID_LEN];
        hex::decode_to_slice(&wire.routing_id, &mut routing_id).map_err(|_| {
            Error::BadPushField {
                field: "routing_id",
                expected: ROUTING_ID_LEN,
            }
        })?;
        let client_payload =
            hex::decode(&wire.client_payload).map_err(|_| Error::BadPushField {
                field: "client_payload",
                expected: 0,
            })?;
        Ok(Self {
            tunnel_id,
            routing_id,
            client_payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_wire_form() {
        let m = PushMessage {
            tunnel_id: [0xab; 16],
            routing_id: [1, 2, 0xfe],
            client_payload: vec![0xa3, 0x01],
        };
        assert_eq!(
            m.encode(),
            format!(
                r#"{{"tunnel_id":"{}","routing_id":"0102FE","client_payload":"A301"}}"#,
                "AB".repeat(16)
            )
        );
    }

    #[test]
    fn decode_rejects_wrong_shapes() {
        assert!(matches!(
            PushMessage::decode("not json"),
            Err(Error::BadPushMessage(_))
        ));
        assert!(matches!(
            PushMessage::decode(r#"{"tunnel_id":"00","routing_id":"000000","client_payload":""}"#),
            Err(Error::BadPushField {
                field: "tunnel_id",
                expected: 16
            })
        ));
        let tid = "00".repeat(16);
        assert!(matches!(
            PushMessage::decode(&format!(
                r#"{{"tunnel_id":"{tid}","routing_id":"0000","client_payload":""}}"#
            )),
            Err(Error::BadPushField {
                field: "routing_id",
                expected: 3
            })
        ));
        assert!(matches!(
            PushMessage::decode(&format!(
                r#"{{"tunnel_id":"{tid}","routing_id":"000000","client_payload":"x"}}"#
            )),
            Err(Error::BadPushField {
                field: "client_payload",
                ..
            })
        ));
        assert!(matches!(
            PushMessage::decode(&format!(
                r#"{{"tunnel_id":"{tid}","routing_id":"000000","client_payload":"","extra":1}}"#
            )),
            Err(Error::BadPushMessage(_))
        ));
    }

    #[test]
    fn decode_accepts_lower_case() {
        let text = format!(
            r#"{{"tunnel_id":"{}","routing_id":"abcdef","client_payload":"ff"}}"#,
            "cd".repeat(16)
        );
        let m = PushMessage::decode(&text).unwrap();
        assert_eq!(m.routing_id, [0xab, 0xcd, 0xef]);
        assert_eq!(m.client_payload, vec![0xff]);
    }

    proptest! {
        #[test]
        fn round_trip(t in any::<[u8; 16]>(), r in any::<[u8; 3]>(),
                      p in proptest::collection::vec(any::<u8>(), 0..200)) {
            let w = WakeUp { contact_id: vec![1], tunnel_id: t, routing_id: r, client_payload: p };
            let m = w.push_message();
            prop_assert_eq!(PushMessage::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn decode_never_panics(s in ".{0,300}") {
            let _ = PushMessage::decode(&s);
        }
    }
}
