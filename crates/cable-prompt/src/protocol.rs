//! The lines the prompt agent sends on stdin and the lines the window answers on stdout.
//!
//! Unknown members and unknown event names are ignored (the daemon may grow new ones); only a
//! line that is not JSON, or lacks what its `type` needs, is an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest line we read: the agent's lines are a few hundred bytes; a QR `svg` member is ~30 KiB.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One line from the agent.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// Open (or raise) the window of a session.
    Prompt(Prompt),
    /// A session event of docs/ipc.md.
    Event {
        session: String,
        event: SessionEvent,
    },
    /// The session is over: show how it ended.
    End {
        session: String,
        outcome: Outcome,
        message: Option<String>,
    },
    /// A `type` this version does not know: ignored.
    Unknown { kind: String },
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Prompt {
    pub session: String,
    /// Who asks, in a few words: "security key" for a program using the phone as a key.
    #[serde(default)]
    pub front_door: Option<String>,
    #[serde(default)]
    pub rp_id: Option<String>,
    #[serde(default)]
    pub operation: Option<Operation>,
    #[serde(default)]
    pub devices: Vec<Device>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Get,
}

/// A linked phone the person may pick instead of scanning.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Device {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl Device {
    /// The name to show: the phone's own, or a short form of its id.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => format!("phone {}", self.id.chars().take(8).collect::<String>()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
    Cancelled,
}

/// The session events the window shows; the fields are those of docs/ipc.md "Notifications".
/// Every field is optional here: a missing detail shortens the line, it never drops the event.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SessionEvent {
    Qr {
        url: String,
    },
    Scanning {
        #[serde(default)]
        radio: Option<String>,
    },
    Contacting {
        #[serde(default)]
        device: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
    Advert {
        #[serde(default)]
        source: Option<String>,
    },
    /// No Bluetooth adapter can listen; the session waits (`code`: `bluetooth_off`,
    /// `bluetooth_blocked`, `no_bluetooth_adapter`).
    BluetoothWaiting {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    /// After `bluetooth_waiting`: listening again.
    BluetoothReady {
        #[serde(default)]
        adapters: Option<Vec<String>>,
    },
    TunnelConnecting {},
    TunnelConnected {},
    Handshake {},
    PhoneReady {},
    CtapRequest {
        #[serde(default)]
        command: Option<String>,
    },
    CtapResponse {
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        status_code: Option<u64>,
    },
    Path {
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        device: Option<String>,
    },
    LinkFailed {
        #[serde(default)]
        device: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        forgotten: Option<bool>,
    },
    AwaitingLink {
        #[serde(default)]
        seconds: Option<f64>,
    },
    Linked {
        #[serde(default)]
        name: Option<String>,
    },
    LinkRejected {
        #[serde(default)]
        reason: Option<String>,
    },
    Closed {},
    Error {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    /// An event this version does not know: ignored.
    #[serde(skip)]
    Other(String),
}

/// What the window tells the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The person pressed Cancel or closed the window.
    Cancel { session: String },
    /// The person picked a linked phone.
    UseDevice { session: String, device: String },
}

impl Action {
    /// The line to write, without its `\n`.
    pub fn to_line(&self) -> String {
        // Two string members and a tag: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the line is {0} bytes, more than the {MAX_LINE_BYTES} a prompt line may have")]
    TooLong(usize),
    #[error("the line is not JSON ({0}); each line must be one JSON object")]
    NotJson(#[source] serde_json::Error),
    #[error("the line is JSON but not an object with a string \"type\" member")]
    NoType,
    #[error("the line has no string \"session\" member, which a \"{0}\" line needs")]
    NoSession(&'static str),
    #[error("a \"{kind}\" line has a member of the wrong shape: {source}")]
    Shape {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads one line (without its newline; a trailing `\r` is ignored). `Ok(None)` for a blank line.
pub fn parse_line(line: &str) -> Result<Option<Input>, ParseError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(ParseError::TooLong(line.len()));
    }
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).map_err(ParseError::NotJson)?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ParseError::NoType)?;
    let input = match kind {
        "prompt" => {
            session_of(&value, "prompt")?;
            Input::Prompt(shaped("prompt", value)?)
        }
        "event" => {
            let session = session_of(&value, "event")?;
            Input::Event {
                session,
                event: parse_event(value)?,
            }
        }
        "end" => {
            let session = session_of(&value, "end")?;
            #[derive(Deserialize)]
            struct End {
                outcome: Outcome,
                #[serde(default)]
                message: Option<String>,
            }
            let end: End = shaped("end", value)?;
            Input::End {
                session,
                outcome: end.outcome,
                message: end.message,
            }
        }
        other => Input::Unknown {
            kind: other.to_owned(),
        },
    };
    Ok(Some(input))
}

fn parse_event(value: Value) -> Result<SessionEvent, ParseError> {
    let name = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::Shape {
            kind: "event",
            source: serde::de::Error::missing_field("event"),
        })?
        .to_owned();
    match serde_json::from_value::<SessionEvent>(value) {
        Ok(event) => Ok(event),
        // serde says "unknown variant" for a name it lacks: that is an event we ignore, not a
        // malformed line.
        Err(_) if !KNOWN_EVENTS.contains(&name.as_str()) => Ok(SessionEvent::Other(name)),
        Err(source) => Err(ParseError::Shape {
            kind: "event",
            source,
        }),
    }
}

const KNOWN_EVENTS: &[&str] = &[
    "qr",
    "scanning",
    "contacting",
    "advert",
    "bluetooth_waiting",
    "bluetooth_ready",
    "tunnel_connecting",
    "tunnel_connected",
    "handshake",
    "phone_ready",
    "ctap_request",
    "ctap_response",
    "path",
    "link_failed",
    "awaiting_link",
    "linked",
    "link_rejected",
    "closed",
    "error",
];

fn session_of(value: &Value, kind: &'static str) -> Result<String, ParseError> {
    value
        .get("session")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(ParseError::NoSession(kind))
}

fn shaped<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    value: Value,
) -> Result<T, ParseError> {
    serde_json::from_value(value).map_err(|source| ParseError::Shape { kind, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Input {
        parse_line(line).unwrap().unwrap()
    }

    #[test]
    fn prompt_with_devices_and_extra_members() {
        let input = parse(
            r#"{"type":"prompt","session":"S","front_door":"security key","rp_id":"example.com","operation":"get","devices":[{"id":"d1","name":"Pixel 8","extra":1}],"new_member":true}"#,
        );
        let Input::Prompt(p) = input else {
            panic!("not a prompt: {input:?}")
        };
        assert_eq!(p.session, "S");
        assert_eq!(p.rp_id.as_deref(), Some("example.com"));
        assert_eq!(p.operation, Some(Operation::Get));
        assert_eq!(p.devices[0].label(), "Pixel 8");
    }

    #[test]
    fn prompt_with_null_operation_and_no_devices() {
        let Input::Prompt(p) = parse(r#"{"type":"prompt","session":"S","operation":null}"#) else {
            panic!()
        };
        assert_eq!(p.operation, None);
        assert!(p.devices.is_empty());
        assert_eq!(p.rp_id, None);
    }

    #[test]
    fn events_keep_their_fields_and_ignore_others() {
        let input = parse(
            r#"{"type":"event","session":"S","event":"qr","url":"FIDO:/123","svg":"<svg/>","t_ms":0}"#,
        );
        assert_eq!(
            input,
            Input::Event {
                session: "S".into(),
                event: SessionEvent::Qr {
                    url: "FIDO:/123".into()
                }
            }
        );
        let input = parse(
            r#"{"type":"event","session":"S","event":"error","code":"bluetooth_off","message":"Bluetooth is off","t_ms":5}"#,
        );
        assert_eq!(
            input,
            Input::Event {
                session: "S".into(),
                event: SessionEvent::Error {
                    code: Some("bluetooth_off".into()),
                    message: Some("Bluetooth is off".into())
                }
            }
        );
    }

    #[test]
    fn every_documented_event_parses_from_its_bare_name() {
        for name in KNOWN_EVENTS.iter().filter(|&&n| n != "qr") {
            let line = format!(r#"{{"type":"event","session":"S","event":"{name}","t_ms":1}}"#);
            let Input::Event { event, .. } = parse(&line) else {
                panic!("{name}")
            };
            assert!(
                !matches!(event, SessionEvent::Other(_)),
                "{name} was not recognised"
            );
        }
    }

    #[test]
    fn unknown_events_and_types_are_ignored_not_errors() {
        assert_eq!(
            parse(r#"{"type":"event","session":"S","event":"teleported","where":"moon"}"#),
            Input::Event {
                session: "S".into(),
                event: SessionEvent::Other("teleported".into())
            }
        );
        assert_eq!(
            parse(r#"{"type":"hello","x":1}"#),
            Input::Unknown {
                kind: "hello".into()
            }
        );
    }

    #[test]
    fn end_lines() {
        assert_eq!(
            parse(r#"{"type":"end","session":"S","outcome":"failed","message":"no phone"}"#),
            Input::End {
                session: "S".into(),
                outcome: Outcome::Failed,
                message: Some("no phone".into())
            }
        );
    }

    #[test]
    fn malformed_lines_are_typed_errors() {
        assert!(matches!(parse_line("{nope"), Err(ParseError::NotJson(_))));
        assert!(matches!(parse_line("[1,2]"), Err(ParseError::NoType)));
        assert!(matches!(
            parse_line(r#"{"type":"event","event":"qr"}"#),
            Err(ParseError::NoSession("event"))
        ));
        // A known event with a member of the wrong type is malformed, not silently unknown.
        assert!(matches!(
            parse_line(r#"{"type":"event","session":"S","event":"qr","url":5}"#),
            Err(ParseError::Shape { kind: "event", .. })
        ));
        assert!(matches!(
            parse_line(r#"{"type":"end","session":"S","outcome":"maybe"}"#),
            Err(ParseError::Shape { kind: "end", .. })
        ));
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        assert!(matches!(parse_line(&long), Err(ParseError::TooLong(_))));
        assert!(parse_line("  \r").unwrap().is_none());
    }

    #[test]
    fn actions_serialise_as_documented() {
        assert_eq!(
            Action::Cancel {
                session: "S".into()
            }
            .to_line(),
            r#"{"action":"cancel","session":"S"}"#
        );
        assert_eq!(
            Action::UseDevice {
                session: "S".into(),
                device: "d1".into()
            }
            .to_line(),
            r#"{"action":"use_device","session":"S","device":"d1"}"#
        );
    }
}
