//! The push stand-in's wake-up (HYBRID.md §5.5), in-process and on the wire.
//!
//! A real tunnel service wakes a linked phone through FCM (Chrome-Android: data keys
//! `caBLE.tunnelID`, `caBLE.routingID`, `caBLE.clientPayload`, all hex). This server instead
//! hands each wake-up to an in-process receiver as a [`WakeUp`], or sends it as one WebSocket
//! **text** message on the phone's `/cable/push/<contact>` socket: a [`PushMessage`], whose
//! JSON form and decoding rules (either hex case, unknown keys ignored) are cable-tunnel's, the
//! same code the software phone decodes it with.

pub use cable_tunnel::PushMessage;

/// A request to wake the phone registered for `contact_id` and have it join
/// `/cable/connect/<routing_id>/<tunnel_id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeUp {
    /// The contact ID the desktop asked for.
    pub contact_id: Vec<u8>,
    /// The tunnel the server opened for the desktop (random, 16 bytes).
    pub tunnel_id: [u8; 16],
    /// The routing ID the server assigned to that tunnel (random, 3 bytes).
    pub routing_id: [u8; 3],
    /// The desktop's `X-caBLE-Client-Payload`, decoded from hex (CBOR; HYBRID.md §9.5).
    pub client_payload: Vec<u8>,
}

impl WakeUp {
    /// The push-socket message for this wake-up: everything but the contact ID, which the
    /// socket it is sent on already stands for.
    pub fn push_message(&self) -> PushMessage {
        PushMessage {
            tunnel_id: self.tunnel_id,
            routing_id: self.routing_id,
            client_payload: self.client_payload.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_wire_form_phones_read() {
        let w = WakeUp {
            contact_id: b"secret-ish".to_vec(),
            tunnel_id: [0xab; 16],
            routing_id: [1, 2, 0xfe],
            client_payload: vec![0xa3, 0x01],
        };
        let text = w.push_message().encode();
        assert_eq!(
            text,
            format!(
                r#"{{"tunnel_id":"{}","routing_id":"0102FE","client_payload":"A301"}}"#,
                "AB".repeat(16)
            )
        );
        assert!(!text.contains("contact"));
    }

    proptest! {
        #[test]
        fn round_trip(t in any::<[u8; 16]>(), r in any::<[u8; 3]>(),
                      p in proptest::collection::vec(any::<u8>(), 0..200)) {
            let w = WakeUp { contact_id: vec![1], tunnel_id: t, routing_id: r, client_payload: p };
            let m = w.push_message();
            prop_assert_eq!(PushMessage::decode(&m.encode()), Ok(m));
        }
    }
}
