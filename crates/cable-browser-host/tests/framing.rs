use cable_browser_host::{encode, Decoder, FramingError, MAX_FROM_BROWSER, MAX_TO_BROWSER};
use proptest::prelude::*;

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_ne_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

#[test]
fn the_length_is_in_the_machines_byte_order() {
    let framed = encode(b"{}").unwrap();
    assert_eq!(&framed[..4], &2u32.to_ne_bytes());
    assert_eq!(&framed[4..], b"{}");
}

#[test]
fn two_messages_in_one_read_come_out_one_by_one() {
    let mut d = Decoder::default();
    let mut bytes = frame(b"{\"a\":1}");
    bytes.extend(frame(b"[]"));
    d.push(&bytes);
    assert_eq!(d.next_message().unwrap().unwrap(), b"{\"a\":1}");
    assert_eq!(d.next_message().unwrap().unwrap(), b"[]");
    assert_eq!(d.next_message().unwrap(), None);
    d.finish().unwrap();
}

#[test]
fn a_length_over_64_mib_is_refused_before_its_body_arrives() {
    let mut d = Decoder::default();
    d.push(&((MAX_FROM_BROWSER as u32) + 1).to_ne_bytes());
    assert_eq!(
        d.next_message(),
        Err(FramingError::TooLarge {
            len: MAX_FROM_BROWSER + 1,
            max: MAX_FROM_BROWSER
        })
    );
}

#[test]
fn a_stream_that_ends_inside_a_message_is_an_error() {
    let mut d = Decoder::default();
    d.push(&frame(b"{\"half\":true}")[..9]);
    assert_eq!(d.next_message().unwrap(), None);
    assert_eq!(
        d.finish(),
        Err(FramingError::Truncated { have: 9, want: 17 })
    );
    let mut d = Decoder::default();
    d.push(&[1, 0]);
    assert_eq!(
        d.finish(),
        Err(FramingError::Truncated { have: 2, want: 4 })
    );
}

#[test]
fn a_message_over_1_mib_is_never_sent_to_the_browser() {
    assert!(encode(&vec![b' '; MAX_TO_BROWSER]).is_ok());
    assert_eq!(
        encode(&vec![b' '; MAX_TO_BROWSER + 1]),
        Err(FramingError::TooLargeForBrowser {
            len: MAX_TO_BROWSER + 1,
            max: MAX_TO_BROWSER
        })
    );
}

proptest! {
    #[test]
    fn any_chunking_gives_back_the_same_messages(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        cuts in prop::collection::vec(1usize..64, 1..40),
    ) {
        let stream: Vec<u8> = bodies.iter().flat_map(|b| encode(b).unwrap()).collect();
        let mut d = Decoder::default();
        let mut out = Vec::new();
        let mut rest = &stream[..];
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let n = (*cut.next().unwrap()).min(rest.len());
            d.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(m) = d.next_message().unwrap() {
                out.push(m);
            }
        }
        d.finish().unwrap();
        prop_assert_eq!(out, bodies);
    }
}
