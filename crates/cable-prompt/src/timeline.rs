//! Session events in a person's words: one line of the window's timeline per stage, and the
//! heading shown above the daemon's message when a session fails.

use crate::protocol::{Device, Operation, SessionEvent};

/// How a timeline line looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Waiting for something.
    Pending,
    /// A stage reached.
    Done,
    /// The person has to act now.
    Act,
    /// Something failed but the session goes on.
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub tone: Tone,
    pub text: String,
}

fn line(tone: Tone, text: impl Into<String>) -> Option<Line> {
    Some(Line {
        tone,
        text: text.into(),
    })
}

/// The timeline line for `event`, or `None` for events that add nothing a person needs
/// (`qr` draws the code instead, `error` gets the banner of [`error_heading`]).
/// `devices` names linked phones the events refer to by id.
pub fn describe(
    event: &SessionEvent,
    operation: Option<Operation>,
    devices: &[Device],
) -> Option<Line> {
    let name_of = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| devices.iter().find(|d| d.id == id))
            .map(Device::label)
    };
    match event {
        // `bluetooth_waiting` gets the notice of [`bluetooth_notice`], cleared when it is over.
        SessionEvent::Qr { .. }
        | SessionEvent::Error { .. }
        | SessionEvent::BluetoothWaiting { .. }
        | SessionEvent::Other(_) => None,
        SessionEvent::BluetoothReady { .. } => {
            line(Tone::Done, "Bluetooth is on: looking for your phone again")
        }
        SessionEvent::Scanning { radio } => match radio.as_deref() {
            Some(r) if !r.eq_ignore_ascii_case("bluetooth") => line(
                Tone::Pending,
                format!("Looking for your phone nearby ({r})"),
            ),
            _ => line(
                Tone::Pending,
                "Looking for your phone nearby over Bluetooth",
            ),
        },
        SessionEvent::Contacting { device, name } => {
            let name = name.clone().or_else(|| name_of(device));
            line(
                Tone::Pending,
                format!("Contacting {}", name.as_deref().unwrap_or("a linked phone")),
            )
        }
        SessionEvent::Advert { .. } => line(Tone::Done, "Phone found nearby"),
        SessionEvent::TunnelConnecting {} => line(Tone::Pending, "Connecting to the tunnel server"),
        SessionEvent::TunnelConnected {} => line(Tone::Done, "Connected to the tunnel"),
        SessionEvent::Handshake {} => line(Tone::Done, "Secure channel ready"),
        SessionEvent::PhoneReady {} => line(Tone::Done, "Phone connected"),
        SessionEvent::Path { path, device } => match path.as_deref() {
            Some("linked") => line(
                Tone::Done,
                format!(
                    "Reached {} (remembered phone)",
                    name_of(device).as_deref().unwrap_or("your phone")
                ),
            ),
            _ => None,
        },
        SessionEvent::CtapRequest { command } => {
            let what = match (command.as_deref(), operation) {
                (Some("makeCredential"), _) | (None, Some(Operation::Create)) => {
                    "Confirm on your phone to create the passkey"
                }
                (Some("getAssertion"), _) | (None, Some(Operation::Get)) => {
                    "Confirm on your phone to sign in"
                }
                _ => "Confirm on your phone",
            };
            line(Tone::Act, what)
        }
        SessionEvent::CtapResponse {
            status,
            status_code,
        } => {
            if *status_code == Some(0) || status.as_deref() == Some("CTAP2_OK") {
                line(Tone::Done, "Your phone answered")
            } else {
                line(
                    Tone::Warning,
                    format!(
                        "Your phone said no ({})",
                        status.as_deref().unwrap_or("an error status")
                    ),
                )
            }
        }
        SessionEvent::LinkFailed {
            device,
            message,
            forgotten,
        } => {
            let who = name_of(device).unwrap_or_else(|| "A remembered phone".into());
            let mut text = format!("{who} could not be reached");
            if let Some(m) = message {
                text = format!("{text}: {m}");
            }
            if *forgotten == Some(true) {
                text.push_str(" (it no longer remembers this computer)");
            }
            line(Tone::Warning, text)
        }
        SessionEvent::AwaitingLink { .. } => line(
            Tone::Pending,
            "Waiting a moment in case your phone offers to remember this computer",
        ),
        SessionEvent::Linked { name } => line(
            Tone::Done,
            format!(
                "{} will remember this computer",
                name.as_deref().unwrap_or("Your phone")
            ),
        ),
        SessionEvent::LinkRejected { reason } => line(
            Tone::Warning,
            match reason {
                Some(r) => format!("This computer was not remembered: {r}"),
                None => "This computer was not remembered".into(),
            },
        ),
        SessionEvent::Closed {} => line(Tone::Done, "Connection to your phone closed"),
    }
}

/// The notice a `bluetooth_waiting` event shows until `bluetooth_ready`: what is wrong with
/// Bluetooth and that the session goes on once it is fixed.
pub fn bluetooth_notice(code: Option<&str>) -> &'static str {
    match code.unwrap_or("") {
        "bluetooth_off" => "Bluetooth is off — turn it on to continue",
        "bluetooth_blocked" => {
            "Bluetooth is blocked (rfkill) — unblock it to continue: rfkill unblock bluetooth"
        }
        "no_bluetooth_adapter" => "No Bluetooth adapter — plug one in to continue",
        _ => "Bluetooth is not available — fix it to continue",
    }
}

/// The heading above an `error` event's message: what went wrong, in a few words. The daemon's
/// message (which says why and what to do) is shown under it unchanged.
pub fn error_heading(code: Option<&str>) -> &'static str {
    match code.unwrap_or("") {
        "bluetooth_off" => "Bluetooth is off",
        "bluetooth_blocked" => "Bluetooth is blocked",
        "no_bluetooth_adapter" => "No Bluetooth adapter",
        "bluetooth_unavailable" | "radio_error" => "Bluetooth is not available",
        "bluetooth_permission_denied" => "Not allowed to use Bluetooth",
        "no_phone" => "No phone answered",
        "timeout" => "Timed out",
        "cancelled" => "Cancelled",
        "operation_denied" => "Declined on your phone",
        "not_allowed" => "Not allowed",
        "no_credentials" => "No passkey for this site on your phone",
        "credential_excluded" => "Your phone already has a passkey for this site",
        "phone_disconnected" => "Your phone disconnected",
        "tunnel_unreachable" | "tunnel_rejected" | "tunnel_error" => {
            "Could not reach the tunnel server"
        }
        "link_gone" => "Your phone no longer remembers this computer",
        "handshake_failed" | "protocol_error" | "bad_response" => {
            "Your phone's answer was not understood"
        }
        "hybrid_disabled" => "Phone sign-in is turned off",
        _ => "Something went wrong",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> Vec<Device> {
        vec![Device {
            id: "d1".into(),
            name: Some("Pixel 8".into()),
        }]
    }

    fn text(event: SessionEvent) -> String {
        describe(&event, Some(Operation::Get), &devices())
            .expect("a line")
            .text
    }

    #[test]
    fn bluetooth_waiting_is_a_notice_and_ready_a_line() {
        let waiting = SessionEvent::BluetoothWaiting {
            code: Some("bluetooth_off".into()),
            message: None,
        };
        assert_eq!(describe(&waiting, None, &[]), None);
        assert_eq!(
            bluetooth_notice(Some("bluetooth_off")),
            "Bluetooth is off — turn it on to continue"
        );
        assert!(bluetooth_notice(Some("bluetooth_blocked")).contains("rfkill unblock bluetooth"));
        assert!(bluetooth_notice(Some("no_bluetooth_adapter")).starts_with("No Bluetooth adapter"));
        assert_ne!(
            bluetooth_notice(None),
            bluetooth_notice(Some("bluetooth_off"))
        );
        assert_eq!(
            text(SessionEvent::BluetoothReady { adapters: None }),
            "Bluetooth is on: looking for your phone again"
        );
        assert_eq!(
            error_heading(Some("bluetooth_blocked")),
            "Bluetooth is blocked"
        );
    }

    #[test]
    fn stages_in_person_facing_words() {
        assert_eq!(
            text(SessionEvent::Advert { source: None }),
            "Phone found nearby"
        );
        assert_eq!(
            text(SessionEvent::TunnelConnected {}),
            "Connected to the tunnel"
        );
        assert_eq!(text(SessionEvent::Handshake {}), "Secure channel ready");
        assert_eq!(
            text(SessionEvent::CtapRequest {
                command: Some("getAssertion".into())
            }),
            "Confirm on your phone to sign in"
        );
        assert_eq!(
            describe(
                &SessionEvent::CtapRequest { command: None },
                Some(Operation::Create),
                &[]
            )
            .unwrap()
            .tone,
            Tone::Act
        );
    }

    #[test]
    fn linked_phones_are_named_from_the_prompt() {
        assert_eq!(
            text(SessionEvent::Contacting {
                device: Some("d1".into()),
                name: None
            }),
            "Contacting Pixel 8"
        );
        assert_eq!(
            text(SessionEvent::Path {
                path: Some("linked".into()),
                device: Some("d1".into())
            }),
            "Reached Pixel 8 (remembered phone)"
        );
        let failed = describe(
            &SessionEvent::LinkFailed {
                device: Some("d1".into()),
                message: Some("the tunnel server said 410".into()),
                forgotten: Some(true),
            },
            None,
            &devices(),
        )
        .unwrap();
        assert_eq!(failed.tone, Tone::Warning);
        assert!(failed
            .text
            .starts_with("Pixel 8 could not be reached: the tunnel server said 410"));
    }

    #[test]
    fn a_failed_ctap_answer_is_a_warning_not_a_success() {
        let l = describe(
            &SessionEvent::CtapResponse {
                status: Some("CTAP2_ERR_OPERATION_DENIED".into()),
                status_code: Some(0x27),
            },
            None,
            &[],
        )
        .unwrap();
        assert_eq!(l.tone, Tone::Warning);
        assert!(l.text.contains("CTAP2_ERR_OPERATION_DENIED"));
    }

    #[test]
    fn qr_errors_and_unknown_events_add_no_line() {
        for e in [
            SessionEvent::Qr {
                url: "FIDO:/1".into(),
            },
            SessionEvent::Error {
                code: None,
                message: None,
            },
            SessionEvent::Other("x".into()),
            SessionEvent::Path {
                path: Some("qr".into()),
                device: None,
            },
        ] {
            assert_eq!(describe(&e, None, &[]), None, "{e:?}");
        }
    }

    #[test]
    fn error_headings() {
        assert_eq!(error_heading(Some("bluetooth_off")), "Bluetooth is off");
        assert_eq!(
            error_heading(Some("operation_denied")),
            "Declined on your phone"
        );
        assert_eq!(
            error_heading(Some("brand_new_code")),
            "Something went wrong"
        );
        assert_eq!(error_heading(None), "Something went wrong");
    }
}
