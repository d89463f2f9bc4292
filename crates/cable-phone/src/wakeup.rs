//! Being woken for a linked session (HYBRID.md §5.5, §9.6), sans-IO.
//!
//! A desktop that holds a link asks the tunnel service to wake the phone; the service picks a
//! tunnel and pushes (tunnel ID, routing ID, the desktop's client payload) to the phone. The
//! phone reads the link ID from the client payload, finds that link's secret, and advertises an
//! EID under `Derive(link_secret, client_nonce, 1)` while it joins the tunnel and answers the
//! desktop's NKpsk0 handshake with its identity key.
//!
//! The local tunnel server delivers wake-ups as JSON text on the phone's push socket
//! ([`WakeUp::from_push_message`], through cable-tunnel's [`PushMessage`], the codec the server
//! encodes with: either hex case, unknown keys ignored); the real services use FCM
//! (Chrome-Android: the same three values in hex under `caBLE.tunnelID`, `caBLE.routingID`,
//! `caBLE.clientPayload`).

use cable_ble::{EidPlaintext, ADVERT_LEN};
use cable_ctap::CredentialStore;
use cable_tunnel::{ClientPayload, PushMessage};
use rand_core::CryptoRngCore;

use crate::advert::{linked_eid, service_data};
use crate::state::LinkState;
use crate::{PhoneBehavior, PhoneChannel, PhoneError, PhoneProfile, Result};

/// One wake-up: join this tunnel for the desktop whose client payload this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeUp {
    /// The tunnel the service opened for the desktop.
    pub tunnel_id: [u8; 16],
    /// Its routing ID.
    pub routing_id: [u8; 3],
    /// The desktop's client payload (CBOR, §9.5).
    pub client_payload: Vec<u8>,
}

impl WakeUp {
    /// Parses the local tunnel server's push message
    /// `{"tunnel_id":"<32 hex>","routing_id":"<6 hex>","client_payload":"<hex>"}`
    /// (either case; unknown keys are ignored), naming the key that is wrong.
    pub fn from_push_message(text: &str) -> Result<Self> {
        PushMessage::decode(text)
            .map(Self::from)
            .map_err(|e| PhoneError::InvalidWakeUp(e.to_string()))
    }

    /// The push message for this wake-up (upper-case hex, as the local tunnel server sends).
    pub fn to_push_message(&self) -> String {
        PushMessage::from(self.clone()).encode()
    }

    /// The desktop's client payload, decoded.
    pub fn decode_payload(&self) -> Result<ClientPayload> {
        ClientPayload::decode(&self.client_payload).map_err(|e| {
            PhoneError::InvalidWakeUp(format!("the desktop's client payload is invalid: {e}"))
        })
    }
}

impl From<PushMessage> for WakeUp {
    fn from(m: PushMessage) -> Self {
        Self {
            tunnel_id: m.tunnel_id,
            routing_id: m.routing_id,
            client_payload: m.client_payload,
        }
    }
}

impl From<WakeUp> for PushMessage {
    fn from(w: WakeUp) -> Self {
        Self {
            tunnel_id: w.tunnel_id,
            routing_id: w.routing_id,
            client_payload: w.client_payload,
        }
    }
}

/// A wake-up the phone answers: what to advertise and the session that follows.
#[derive(Debug)]
pub struct LinkedStart {
    /// The link the desktop named.
    pub link_id: [u8; 8],
    /// Client-payload key 3 (`ga`, `mc`): a hint of what the desktop will ask.
    pub request_type: String,
    /// The plaintext advertised: `00`, random nonce and routing bytes, domain 0 (§4.4).
    pub eid: EidPlaintext,
    /// The 20 bytes of service data: `eid` under `Derive(link_secret, client_nonce, 1)`.
    pub service_data: [u8; ADVERT_LEN],
    /// The session: NKpsk0 with the identity key and `psk = Derive(link_secret, eid, 3)`, the
    /// given passkeys, no update message.
    pub channel: PhoneChannel,
}

/// Decides whether to answer `wake_up` and prepares the session. Fails with
/// [`PhoneError::InvalidWakeUp`] for a client payload that does not parse and
/// [`PhoneError::UnknownLink`] for a link this phone never gave out; the phone ignores both.
pub fn answer_wake_up(
    linking: &LinkState,
    passkeys: CredentialStore,
    wake_up: &WakeUp,
    behavior: PhoneBehavior,
    rng: &mut (impl CryptoRngCore + ?Sized),
) -> Result<LinkedStart> {
    let payload = wake_up.decode_payload()?;
    let link_secret =
        linking
            .link_secret(&payload.link_id)
            .ok_or_else(|| PhoneError::UnknownLink {
                link_id: hex::encode(payload.link_id),
            })?;
    let eid_key = cable_keys::eid_key(link_secret.expose(), &payload.client_nonce);
    let eid = linked_eid(rng);
    let channel = PhoneChannel::linked(
        &link_secret,
        &eid,
        linking.identity.identity().clone(),
        PhoneProfile::Android,
        behavior,
    )
    .with_store(passkeys);
    Ok(LinkedStart {
        link_id: payload.link_id,
        request_type: payload.request_type,
        eid,
        service_data: service_data(&eid_key, &eid),
        channel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::PhoneState;
    use cable_ble::{decrypt_advert, DomainCheck};
    use rand::{rngs::StdRng, SeedableRng};

    fn payload(link_id: [u8; 8]) -> Vec<u8> {
        ClientPayload {
            link_id,
            client_nonce: [3; 16],
            request_type: "ga".into(),
        }
        .encode()
    }

    #[test]
    fn push_message_round_trips_and_accepts_lower_case() {
        let w = WakeUp {
            tunnel_id: [0xab; 16],
            routing_id: [1, 2, 0xfe],
            client_payload: vec![0xa3, 1],
        };
        let text = w.to_push_message();
        assert_eq!(
            text,
            format!(
                r#"{{"tunnel_id":"{}","routing_id":"0102FE","client_payload":"A301"}}"#,
                "AB".repeat(16)
            )
        );
        assert_eq!(WakeUp::from_push_message(&text).unwrap(), w);
        assert_eq!(WakeUp::from_push_message(&text.to_lowercase()).unwrap(), w);
        // A newer server's extra keys do not stop an older phone.
        let newer = text.replace('}', r#","contact_id":"AA","hint":2}"#);
        assert_eq!(WakeUp::from_push_message(&newer).unwrap(), w);
    }

    #[test]
    fn malformed_push_messages_say_which_field() {
        let tid = "00".repeat(16);
        for (text, expected) in [
            ("nope".to_string(), "JSON"),
            (r#"{"tunnel_id":"00"}"#.into(), "JSON"),
            (
                r#"{"tunnel_id":"00","routing_id":"000000","client_payload":""}"#.into(),
                "tunnel_id",
            ),
            (
                format!(r#"{{"tunnel_id":"{tid}","routing_id":"00","client_payload":""}}"#),
                "routing_id",
            ),
            (
                format!(r#"{{"tunnel_id":"{tid}","routing_id":"000000","client_payload":"z"}}"#),
                "client_payload",
            ),
        ] {
            let err = WakeUp::from_push_message(&text).unwrap_err();
            assert_eq!(err.code(), "invalid_wake_up");
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn a_known_link_advertises_under_its_eid_key_and_unknown_ones_are_refused() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut state = PhoneState::default();
        let (linking, _) = state.ensure_linking(&mut rng, "p");
        linking.record([9; 8], 1);
        let linking = linking.clone();
        let wake = |link_id| WakeUp {
            tunnel_id: [1; 16],
            routing_id: [2; 3],
            client_payload: payload(link_id),
        };

        let start = answer_wake_up(
            &linking,
            CredentialStore::new(),
            &wake([9; 8]),
            PhoneBehavior::approve(),
            &mut rng,
        )
        .unwrap();
        assert_eq!(start.link_id, [9; 8]);
        assert_eq!(start.request_type, "ga");
        let secret = linking.identity.link_secret(&[9; 8]);
        let key = cable_keys::eid_key(secret.expose(), &[3; 16]);
        let seen = decrypt_advert(&key, &start.service_data, DomainCheck::Qr).unwrap();
        assert_eq!(seen.eid, start.eid);
        assert_eq!(seen.plaintext[0], 0);
        assert_eq!(&seen.plaintext[14..16], &[0, 0]);

        let err = answer_wake_up(
            &linking,
            CredentialStore::new(),
            &wake([8; 8]),
            PhoneBehavior::approve(),
            &mut rng,
        )
        .unwrap_err();
        assert_eq!(err.code(), "unknown_link");
        assert!(err.to_string().contains("0808080808080808"), "{err}");

        let mut garbage = wake([9; 8]);
        garbage.client_payload = vec![0xa1, 1, 2];
        let err = answer_wake_up(
            &linking,
            CredentialStore::new(),
            &garbage,
            PhoneBehavior::approve(),
            &mut rng,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_wake_up");
    }
}
