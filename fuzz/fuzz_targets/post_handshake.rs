//! The messages inside the tunnel (HYBRID.md §7.4–7.6, §9): the phone's post-handshake message,
//! frames, update messages, linking data and the linked client payload. Every decoder gets the
//! same bytes; whatever decodes must survive its own encoder (decode ∘ encode is the identity
//! on decoded values).

#![no_main]

use cable_tunnel::{ClientPayload, Frame, LinkingInfo, PostHandshake, Revision, UpdateMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((message, revision)) = PostHandshake::decode(data) {
        // An empty feature list is encoded by omitting key 3, which reads back as ["ctap"]:
        // a documented asymmetry, not a bug, so only non-empty lists must round-trip.
        if !message.features.is_empty() {
            let again = PostHandshake::decode(&message.encode(revision));
            assert_eq!(again, Ok((message, revision)), "post-handshake round trip");
        }
    }

    let frame = Frame::decode(data);
    assert_eq!(Frame::decode_for(data, Revision::One), frame);
    match &frame {
        Ok(Frame::Shutdown) => assert_eq!(data.first(), Some(&0)),
        Ok(f) => assert_eq!(f.encode(), data, "frame round trip"),
        Err(_) => {}
    }
    assert_eq!(
        Frame::decode_for(data, Revision::Zero),
        Ok(Frame::Ctap(data.to_vec())),
        "revision 0 carries bare CTAP"
    );

    if let Ok(update) = UpdateMessage::decode(data) {
        assert_eq!(
            UpdateMessage::decode(&update.encode()),
            Ok(update),
            "update round trip"
        );
    }

    if let Ok(linking) = LinkingInfo::decode(data) {
        assert_eq!(LinkingInfo::decode(&linking.encode()), Ok(linking.clone()));
        assert!(linking.phone_public().is_ok());
    }

    if let Ok(payload) = ClientPayload::decode(data) {
        assert_eq!(
            ClientPayload::decode(&payload.encode()),
            Ok(payload.clone())
        );
        assert_eq!(
            ClientPayload::from_header_value(&payload.header_value()),
            Ok(payload)
        );
    }
});
