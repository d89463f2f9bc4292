//! The relay's rules, without a browser or a daemon: what reaches cabled, what the host answers
//! itself, what comes back, and what every pending request gets when cabled goes away.

use cable_browser_host::{
    codes, Decoder, FatalMessage, Relay, Routed, DEFAULT_MAX_REQUEST_LINE, MAX_TO_BROWSER,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The JSON of one native frame.
fn body(frame: &[u8]) -> Value {
    let mut decoder = Decoder::new(MAX_TO_BROWSER);
    decoder.push(frame);
    let message = decoder.next_message().unwrap().expect("one whole frame");
    assert_eq!(decoder.next_message().unwrap(), None, "exactly one frame");
    serde_json::from_slice(&message).expect("a frame to the browser is JSON")
}

fn to_browser(routed: Routed) -> Value {
    match routed {
        Routed::ToBrowser(frame) => body(&frame),
        Routed::ToDaemon { line, .. } => panic!(
            "expected the host's own answer, got a line for cabled: {}",
            String::from_utf8_lossy(&line)
        ),
    }
}

fn to_daemon(routed: Routed) -> (Value, Value) {
    match routed {
        Routed::ToDaemon { id, line } => {
            assert_eq!(line.last(), Some(&b'\n'), "a line ends in a newline");
            assert_eq!(
                line.iter().filter(|&&b| b == b'\n').count(),
                1,
                "one line, one request"
            );
            (id, serde_json::from_slice(&line).unwrap())
        }
        Routed::ToBrowser(frame) => panic!("expected a line for cabled, got {}", body(&frame)),
    }
}

fn code(answer: &Value) -> &str {
    answer["error"]["data"]["code"].as_str().unwrap_or("")
}

#[test]
fn a_whitelisted_request_becomes_one_json_rpc_line_with_only_its_members() {
    let mut relay = Relay::default();
    let message = json!({
        "id": 7,
        "method": "webauthn.get",
        "params": {"origin": "https://example.com", "options": {"challenge": "AAAA"}},
        "jsonrpc": "1.0",
        "extra": "dropped"
    });
    let (id, line) = to_daemon(relay.from_browser(message.to_string().as_bytes()).unwrap());
    assert_eq!(id, json!(7));
    assert_eq!(
        line,
        json!({"jsonrpc": "2.0", "id": 7, "method": "webauthn.get",
               "params": {"origin": "https://example.com", "options": {"challenge": "AAAA"}}})
    );
    assert_eq!(relay.pending(), 1);
}

#[test]
fn every_whitelisted_method_goes_to_cabled_and_others_are_answered_by_the_host() {
    let mut relay = Relay::default();
    for (n, method) in cable_browser_host::ALLOWED_METHODS.iter().enumerate() {
        let message = json!({"id": n, "method": method, "params": {}});
        to_daemon(relay.from_browser(message.to_string().as_bytes()).unwrap());
    }
    for method in [
        "devices.forget",
        "ctap.send",
        "hybrid.start",
        "history.list",
        "",
    ] {
        let message = json!({"id": 99, "method": method, "params": {}});
        let answer = to_browser(relay.from_browser(message.to_string().as_bytes()).unwrap());
        assert_eq!(answer["id"], json!(99), "{answer}");
        assert_eq!(answer["error"]["code"], json!(-32601), "{answer}");
        assert_eq!(code(&answer), codes::METHOD_NOT_ALLOWED, "{answer}");
    }
    assert_eq!(relay.pending(), cable_browser_host::ALLOWED_METHODS.len());
}

#[test]
fn json_that_is_not_a_request_is_answered_with_a_null_id() {
    let mut relay = Relay::default();
    for message in [
        "[]",
        "3",
        "\"x\"",
        "null",
        r#"{"method":"daemon.status"}"#,
        r#"{"id":true,"method":"daemon.status"}"#,
        r#"{"id":[1],"method":"daemon.status"}"#,
    ] {
        let answer = to_browser(relay.from_browser(message.as_bytes()).unwrap());
        assert_eq!(answer["id"], Value::Null, "{message}: {answer}");
        assert_eq!(code(&answer), codes::INVALID_REQUEST, "{message}: {answer}");
    }
    let answer = to_browser(relay.from_browser(br#"{"id":4,"method":5}"#).unwrap());
    assert_eq!(
        (answer["id"].clone(), code(&answer)),
        (json!(4), codes::INVALID_REQUEST)
    );
    assert_eq!(relay.pending(), 0);
}

#[test]
fn bytes_that_are_not_json_or_not_utf8_end_the_host() {
    let mut relay = Relay::default();
    assert!(matches!(
        relay.from_browser(b"{\"id\":1,"),
        Err(FatalMessage::NotJson(_))
    ));
    assert_eq!(
        relay.from_browser(b"{\"id\":\xff}"),
        Err(FatalMessage::NotUtf8 { at: 6 })
    );
}

#[test]
fn a_second_request_with_a_pending_id_is_refused() {
    let mut relay = Relay::default();
    let message = br#"{"id":1,"method":"daemon.status"}"#;
    to_daemon(relay.from_browser(message).unwrap());
    let answer = to_browser(relay.from_browser(message).unwrap());
    assert_eq!(
        (answer["id"].clone(), code(&answer)),
        (json!(1), codes::INVALID_REQUEST)
    );
    // Answered, the id may be used again.
    relay
        .from_daemon(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n")
        .unwrap();
    to_daemon(relay.from_browser(message).unwrap());
}

#[test]
fn a_request_longer_than_cableds_line_limit_never_reaches_it() {
    let mut relay = Relay::default();
    let big = "A".repeat(DEFAULT_MAX_REQUEST_LINE);
    let message =
        json!({"id": 2, "method": "webauthn.create", "params": {"options": {"challenge": big}}});
    let answer = to_browser(relay.from_browser(message.to_string().as_bytes()).unwrap());
    assert_eq!(
        (answer["id"].clone(), code(&answer)),
        (json!(2), codes::REQUEST_TOO_LARGE)
    );
    assert_eq!(relay.pending(), 0);
}

#[test]
fn cableds_lines_come_back_byte_for_byte_one_frame_each() {
    let mut relay = Relay::default();
    to_daemon(
        relay
            .from_browser(br#"{"id":3,"method":"webauthn.create","params":{}}"#)
            .unwrap(),
    );
    let event = r#"{"jsonrpc":"2.0","method":"session.event","params":{"session":"ab","event":"qr","url":"FIDO:/1"}}"#;
    let answer = r#"{"jsonrpc":"2.0","id":3,"result":{"id":"x"}}"#;
    let frames = relay
        .from_daemon(format!("{event}\n{answer}\r\n\n").as_bytes())
        .unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(&frames[0][4..], event.as_bytes());
    assert_eq!(&frames[1][4..], answer.as_bytes());
    assert_eq!(relay.pending(), 0, "the answer settled id 3");
}

#[test]
fn an_answer_too_large_for_the_browser_becomes_message_too_large_for_its_id() {
    let mut relay = Relay::default();
    to_daemon(
        relay
            .from_browser(br#"{"id":"a","method":"devices.list"}"#)
            .unwrap(),
    );
    let huge = "x".repeat(MAX_TO_BROWSER);
    let answer = json!({"jsonrpc": "2.0", "id": "a", "result": {"devices": [huge]}});
    let notice = json!({"jsonrpc": "2.0", "method": "session.event", "params": {"svg": huge}});
    let frames = relay
        .from_daemon(format!("{notice}\n{answer}\n").as_bytes())
        .unwrap();
    assert_eq!(frames.len(), 1, "the oversized notification is dropped");
    let answer = body(&frames[0]);
    assert_eq!(
        (answer["id"].clone(), code(&answer)),
        (json!("a"), codes::MESSAGE_TOO_LARGE)
    );
    assert!(frames[0].len() <= MAX_TO_BROWSER + 4);
    assert_eq!(relay.pending(), 0);
}

#[test]
fn when_cabled_goes_away_each_pending_id_gets_daemon_gone_once() {
    let mut relay = Relay::default();
    for id in [1, 2, 3] {
        let message = json!({"id": id, "method": "daemon.status"});
        to_daemon(relay.from_browser(message.to_string().as_bytes()).unwrap());
    }
    relay
        .from_daemon(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32000}}\n{\"partial")
        .unwrap();
    let gone: Vec<Value> = relay.daemon_gone().iter().map(|f| body(f)).collect();
    let ids: Vec<&Value> = gone.iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&json!(1), &json!(3)]);
    assert!(gone.iter().all(|a| code(a) == codes::DAEMON_GONE));
    assert!(relay.daemon_gone().is_empty());
    // The partial line of the old connection does not leak into the next one.
    let frames = relay
        .from_daemon(b"{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\n")
        .unwrap();
    assert_eq!(body(&frames[0])["method"], "m");
}

#[test]
fn unavailable_answers_the_id_with_the_words_to_start_cabled() {
    let mut relay = Relay::default();
    let (id, _) = to_daemon(
        relay
            .from_browser(br#"{"id":5,"method":"webauthn.get","params":{}}"#)
            .unwrap(),
    );
    let answer = body(&relay.unavailable(&id, None));
    assert_eq!(
        answer,
        json!({"id": 5, "error": {"code": -32000,
            "message": "cabled is not running: start it with `systemctl --user start cabled.socket` (or run `cabled`)",
            "data": {"code": "daemon_unavailable"}}})
    );
    assert_eq!(relay.pending(), 0);
}

#[test]
fn a_megabyte_method_name_or_id_still_gets_a_small_answer() {
    let mut relay = Relay::default();
    let long = "m".repeat(2 * MAX_TO_BROWSER);
    let message = json!({"id": long, "method": long});
    let answer = to_browser(relay.from_browser(message.to_string().as_bytes()).unwrap());
    assert_eq!(answer["id"], Value::Null);
    assert_eq!(code(&answer), codes::METHOD_NOT_ALLOWED);
}

proptest! {
    /// However cabled's writes are cut, the same frames come out.
    #[test]
    fn daemon_lines_survive_any_chunking(cuts in proptest::collection::vec(0usize..400, 0..8)) {
        let stream = concat!(
            r#"{"jsonrpc":"2.0","method":"session.event","params":{"event":"qr","svg":"<svg>…</svg>"}}"#, "\n",
            r#"{"jsonrpc":"2.0","method":"session.event","params":{"event":"scanning"}}"#, "\n",
            r#"{"jsonrpc":"2.0","id":1,"result":{"ok":true}}"#, "\n",
        ).as_bytes();
        let mut whole = Relay::default();
        let expected = whole.from_daemon(stream).unwrap();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
        cuts.sort();
        let mut relay = Relay::default();
        let mut got = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([stream.len()]) {
            got.extend(relay.from_daemon(&stream[start..cut]).unwrap());
            start = cut;
        }
        prop_assert_eq!(got, expected);
    }

    /// Whatever the browser sends, the host never panics, and what it answers itself is one
    /// frame of a JSON error within the browsers' limit.
    #[test]
    fn any_message_is_refused_or_routed_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), json in any::<bool>()) {
        let mut relay = Relay::default();
        let message = if json {
            serde_json::to_vec(&json!({"id": bytes.len(), "method": String::from_utf8_lossy(&bytes), "params": bytes})).unwrap()
        } else {
            bytes
        };
        match relay.from_browser(&message) {
            Ok(Routed::ToBrowser(frame)) => {
                prop_assert!(frame.len() <= MAX_TO_BROWSER + 4);
                prop_assert!(body(&frame)["error"]["data"]["code"].is_string());
            }
            Ok(Routed::ToDaemon { line, .. }) => prop_assert!(line.ends_with(b"\n")),
            Err(_) => {}
        }
    }
}
