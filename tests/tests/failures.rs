//! Sessions that go wrong: the phone vanishing at each stage, the tunnel server going away,
//! phones answering with CTAP errors, phases timing out, and cancellation. Each must end with a
//! clear error code, never a hang, and the phone must learn the end.
//!
//! No test bounds how long a session takes (a loaded machine breaks any such bound; see
//! docs/testing.md): the code tells a failure that was detected from a phase that timed out,
//! and `within` fails a hang. A timeout is checked only from below (timers never fire early),
//! and where a test needs the phone to be slower than the desktop it is slower by seconds.

use cable_e2e::requests;
use cable_e2e::rig::{fast_timeouts, phone_result, spawn_phone, within, Rig, LIMIT};
use cable_e2e::verify;
use cable_phone::{PhoneProfile, SessionEnd, Stage, UserChoice};
use cabled::engine::{EventKind, Timeouts};
use std::time::Duration;

/// How much later than the desktop's timeout a "late" phone acts: seconds, so the desktop's
/// timer fires first however loaded the machine is.
const LATE: Duration = Duration::from_secs(3);

// --- the phone vanishing (closing its socket without a close handshake or shutdown) ---

async fn phone_vanishing_after(stage: Stage) -> cable_e2e::rig::Outcome {
    let rig = Rig::new().await;
    let (request, _) = requests::create("erin");
    let (outcome, phone) = rig
        .ceremony(request, |phone| phone.vanishing_after(stage))
        .await;
    let report = phone.expect("a vanishing phone reports how it left");
    assert_eq!(report.end, SessionEnd::Vanished { after: stage });
    outcome
}

#[tokio::test]
async fn a_phone_vanishing_after_advertising_leaves_no_tunnel_to_join() {
    let outcome = phone_vanishing_after(Stage::Advertised).await;
    // The desktop saw the advert; its connect either finds the tunnel gone (404) or joins it
    // just before the server notices the phone left and closes it.
    assert!(
        matches!(outcome.code(), "tunnel_rejected" | "phone_disconnected"),
        "{} [{}]; events: {:?}",
        outcome.message(),
        outcome.code(),
        outcome.names()
    );
    assert!(outcome.names().contains(&"advert"));
}

#[tokio::test]
async fn a_phone_vanishing_on_receiving_the_handshake() {
    let outcome = phone_vanishing_after(Stage::HandshakeReceived).await;
    outcome.assert_failed("phone_disconnected");
    assert!(outcome.message().contains("handshake answer"));
}

#[tokio::test]
async fn a_phone_vanishing_after_answering_the_handshake() {
    let outcome = phone_vanishing_after(Stage::HandshakeSent).await;
    outcome.assert_failed("phone_disconnected");
    assert!(outcome.names().contains(&"handshake"));
    assert!(!outcome.names().contains(&"phone_ready"));
}

#[tokio::test]
async fn a_phone_vanishing_after_its_post_handshake_message() {
    let outcome = phone_vanishing_after(Stage::PostHandshakeSent).await;
    outcome.assert_failed("phone_disconnected");
    assert!(outcome.names().contains(&"phone_ready"));
}

#[tokio::test]
async fn a_phone_vanishing_with_the_request_unanswered() {
    let outcome = phone_vanishing_after(Stage::RequestReceived).await;
    outcome.assert_failed("phone_disconnected");
    assert!(outcome.message().contains("the phone's answer"));
}

#[tokio::test]
async fn a_phone_vanishing_after_its_answer_still_delivers_the_credential() {
    // Every phase waits longer than a whole session may take (rig::LIMIT), so a session that
    // ends at all did not wait one out.
    let patient = LIMIT + Duration::from_secs(5);
    let rig = Rig::with_timeouts(Timeouts {
        advert: patient,
        tunnel_connect: patient,
        handshake: patient,
        post_handshake: patient,
        ctap: patient,
        linking_wait: fast_timeouts().linking_wait,
    })
    .await;
    let (request, expected) = requests::create("erin");
    let (outcome, phone) = rig
        .ceremony(request, |phone| phone.vanishing_after(Stage::ResponseSent))
        .await;
    verify::registration(outcome.credential(), &expected);
    let report = phone.expect("the phone reports");
    assert_eq!(
        report.end,
        SessionEnd::Vanished {
            after: Stage::ResponseSent
        }
    );
}

// --- the tunnel server going away ---

#[tokio::test]
async fn the_tunnel_server_shutting_down_while_the_phone_decides() {
    let mut rig = Rig::new().await;
    let (request, _) = requests::create("frank");
    let mut session = rig.start(request);
    let qr = session.qr().await;
    let answer_delay = Duration::from_secs(2);
    let phone = spawn_phone(rig.phone(&qr).with_answer_delay(answer_delay));
    session.wait_for("ctap_request").await;

    let shutdown = tokio::spawn(rig.take_server().shutdown());
    let outcome = session.outcome().await;
    // Not a timeout (the code), and before the phone could answer: the desktop noticed.
    assert_eq!(
        outcome.code(),
        "phone_disconnected",
        "{}; events: {:?}",
        outcome.message(),
        outcome.names()
    );
    assert!(
        outcome.message().contains("tunnel server"),
        "{}",
        outcome.message()
    );
    assert!(!outcome.names().contains(&"ctap_response"));
    assert_eq!(outcome.names().last(), Some(&"closed"));
    // The phone ends too (its tunnel is gone); how is its business, but it must end.
    let _ = phone_result(phone).await;
    within("the tunnel server stops", shutdown)
        .await
        .expect("the shutdown task")
        .expect("a clean shutdown");
}

// --- CTAP errors from the phone ---

#[tokio::test]
async fn an_android_user_declining_is_operation_denied() {
    let rig = Rig::new().await;
    let (request, _) = requests::create("grace");
    let (outcome, phone) = rig
        .ceremony(request, |phone| phone.with_user(UserChoice::Deny))
        .await;
    outcome.assert_failed("operation_denied");
    let answered = outcome.events.iter().find_map(|e| match &e.kind {
        EventKind::CtapResponse {
            status,
            status_code,
        } => Some((status.clone(), *status_code)),
        _ => None,
    });
    assert_eq!(
        answered,
        Some(("CTAP2_ERR_OPERATION_DENIED".to_string(), 0x27))
    );
    assert_eq!(outcome.names().last(), Some(&"closed"));
    // Android waits for the desktop's shutdown after answering.
    let report = phone.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    assert!(report.credential.is_none());
}

#[tokio::test]
async fn an_iphone_user_declining_closes_the_tunnel() {
    let rig = Rig::new().await;
    let (request, _) = requests::create("grace");
    let (outcome, phone) = rig
        .ceremony(request, |phone| {
            phone
                .with_profile(PhoneProfile::Ios)
                .with_user(UserChoice::Deny)
        })
        .await;
    outcome.assert_failed("phone_disconnected");
    assert!(!outcome.names().contains(&"ctap_response"));
    let report = phone.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::Cancelled);
}

#[tokio::test]
async fn signing_in_on_a_phone_without_a_passkey_is_no_credentials() {
    let rig = Rig::new().await;
    let (request, _) = requests::get();
    let (outcome, phone) = rig.ceremony(request, |phone| phone).await;
    outcome.assert_failed("no_credentials");
    let report = phone.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
    let status = report.requests.last().and_then(|r| r.status);
    assert_eq!(status.map(|s| s.code), Some(0x2e));
}

// --- phases timing out ---

#[tokio::test]
async fn no_phone_at_all_is_no_phone_after_the_advert_timeout() {
    let advert = Duration::from_millis(500);
    let rig = Rig::with_timeouts(Timeouts {
        advert,
        ..fast_timeouts()
    })
    .await;
    let (request, _) = requests::create("heidi");
    let outcome = rig.start(request).outcome().await;
    outcome.assert_failed("no_phone");
    assert!(outcome.elapsed >= advert, "{:?}", outcome.elapsed);
    assert_eq!(outcome.names(), ["qr", "scanning"]);
    assert!(!rig.engine.is_scanning().await, "the radio still scans");
}

/// A rig whose desktop waits 700 ms for the CTAP answer.
async fn impatient_rig() -> (Rig, Duration) {
    let ctap = Duration::from_millis(700);
    let rig = Rig::with_timeouts(Timeouts {
        ctap,
        ..fast_timeouts()
    })
    .await;
    (rig, ctap)
}

#[tokio::test]
async fn a_phone_answering_after_the_ctap_timeout_is_a_timeout() {
    let (rig, ctap) = impatient_rig().await;
    let (request, _) = requests::create("ivan");
    let (outcome, phone) = rig
        .ceremony(request, |phone| phone.with_answer_delay(ctap + LATE))
        .await;
    outcome.assert_failed("timeout");
    assert!(
        outcome.message().contains("the phone's answer"),
        "{}",
        outcome.message()
    );
    // The desktop gave up at its timeout, not at the answer (which it never read).
    assert!(!outcome.names().contains(&"ctap_response"));
    let waited = ctap_wait(&outcome);
    assert!(waited + SLACK >= ctap, "{waited:?}");
    // The desktop said goodbye: the phone, answering late, reads the shutdown.
    let report = phone.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
}

#[tokio::test]
async fn a_phone_that_never_answers_is_a_timeout() {
    let (rig, ctap) = impatient_rig().await;
    let (request, _) = requests::create("ivan");
    let (outcome, phone) = rig
        .ceremony(request, |phone| {
            phone
                .with_user(UserChoice::NoAnswer)
                .with_answer_delay(ctap + LATE)
        })
        .await;
    // A timeout, not the phone's later close.
    outcome.assert_failed("timeout");
    let waited = ctap_wait(&outcome);
    assert!(waited + SLACK >= ctap, "{waited:?}");
    // The phone gives up later and closes without answering.
    let report = phone.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::Cancelled);
}

#[tokio::test]
async fn a_phone_giving_up_at_once_is_a_disconnect_not_a_timeout() {
    // The rig's usual CTAP wait (seconds), not the impatient one: a stalled machine must not
    // let the timer beat the phone's close.
    let rig = Rig::new().await;
    let (request, _) = requests::create("ivan");
    let (outcome, phone) = rig
        .ceremony(request, |phone| phone.with_user(UserChoice::NoAnswer))
        .await;
    outcome.assert_failed("phone_disconnected");
    let report = phone.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::Cancelled);
}

/// Event stamps are whole milliseconds from a clock started a moment before the test's.
const SLACK: Duration = Duration::from_millis(5);

/// From the CTAP request to the end of the session.
fn ctap_wait(outcome: &cable_e2e::rig::Outcome) -> Duration {
    let sent = outcome
        .events
        .iter()
        .find(|e| e.name() == "ctap_request")
        .expect("a CTAP request was sent");
    outcome
        .elapsed
        .saturating_sub(Duration::from_millis(sent.t_ms))
}

// --- cancellation ---

#[tokio::test]
async fn cancelling_while_the_phone_decides_reaches_the_phone() {
    let rig = Rig::new().await;
    let (request, _) = requests::create("judy");
    let mut session = rig.start(request);
    let qr = session.qr().await;
    let phone = spawn_phone(rig.phone(&qr).with_answer_delay(LATE));
    session.wait_for("ctap_request").await;

    session.cancel.cancel();
    let outcome = session.outcome().await;
    assert_eq!(outcome.code(), "cancelled", "{}", outcome.message());
    // Cancelled while the phone still decided: its answer never arrived.
    assert!(
        !outcome.names().contains(&"ctap_response"),
        "{:?}",
        outcome.names()
    );
    assert_eq!(outcome.names().last(), Some(&"closed"));
    // The phone, done deciding, finds the desktop's shutdown message waiting.
    let report = phone_result(phone).await.expect("the phone reports");
    assert_eq!(report.end, SessionEnd::DesktopShutdown);
}

#[tokio::test]
async fn cancelling_while_waiting_for_the_advert_stops_the_radio() {
    let rig = Rig::new().await;
    let (request, _) = requests::create("judy");
    let mut session = rig.start(request);
    session.wait_for("scanning").await;
    assert!(rig.engine.is_scanning().await);
    session.cancel.cancel();
    let outcome = session.outcome().await;
    outcome.assert_failed("cancelled");
    assert!(!rig.engine.is_scanning().await, "the radio still scans");
}
