//! Shows a session's timeline: JSON lines (`--json`) or readable lines with the QR drawn.

use cabled::engine::{EventKind, EventSink, SessionError, SessionEvent};
use serde_json::json;
use std::io::Write;

#[derive(Clone, Copy)]
pub struct Printer {
    pub json: bool,
    pub draw_qr: bool,
}

impl Printer {
    pub fn sink(self) -> EventSink {
        EventSink::new(move |event| self.event(&event))
    }

    pub fn event(&self, event: &SessionEvent) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(out, "{}", event.to_json());
            return;
        }
        if let EventKind::Qr { url } = &event.kind {
            if self.draw_qr {
                match draw_qr(url) {
                    Ok(drawing) => {
                        let _ = write!(out, "{drawing}");
                    }
                    Err(e) => {
                        let _ = writeln!(out, "(cannot draw the QR code: {e})");
                    }
                }
            }
            let _ = writeln!(out, "{url}");
        }
        let _ = writeln!(out, "{}", event.human());
    }

    /// The final credential: an event line in JSON mode, pretty JSON otherwise.
    pub fn credential(&self, sink: &EventSink, credential: serde_json::Value) {
        if self.json {
            self.event(&SessionEvent {
                kind: EventKind::Credential { credential },
                t_ms: sink.elapsed_ms(),
            });
        } else {
            let text = serde_json::to_string_pretty(&credential).unwrap_or_default();
            println!("{text}");
        }
    }

    /// A failure: an error event on stdout in JSON mode; the caller prints the stderr line.
    pub fn error(&self, sink: &EventSink, error: &SessionError) {
        if self.json {
            let event = json!({
                "event": "error",
                "code": error.code(),
                "message": error.to_string(),
                "t_ms": sink.elapsed_ms(),
            });
            println!("{event}");
        }
    }
}

/// The QR code for this terminal. Colours pin a light quiet zone on dark terminals; plain
/// blocks for pipes and for people who set NO_COLOR.
pub fn draw_qr(url: &str) -> Result<String, cable_qr::RenderError> {
    use std::io::IsTerminal;
    let plain = std::env::var_os("NO_COLOR").is_some() || !std::io::stdout().is_terminal();
    if plain {
        cable_qr::render::terminal_plain(url)
    } else {
        cable_qr::render::terminal(url)
    }
}
