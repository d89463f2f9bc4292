//! The log subscriber both binaries install (`cabled`, `cablectl`): `RUST_LOG` decides, except
//! that dependencies which print what a tunnel connection carries never log below
//! [`DEPENDENCY_CAP`], whatever `RUST_LOG` says.
//!
//! Why: tungstenite logs the URL it connects to at debug (`/cable/contact/<contact ID>`; the
//! contact ID is what wakes the phone) and, at trace, the whole handshake request (with
//! `X-caBLE-Client-Payload`: link ID and client nonce) and every frame. rustls logs its
//! handshake messages at debug and trace. A person asked for `RUST_LOG=trace` to debug a
//! session must be able to paste the output into a bug report.
//!
//! The cap is a global filter in front of the `EnvFilter`, not extra directives appended to
//! it: a user's more specific directive (`tungstenite::handshake=trace`) or a span directive
//! would outrank an appended `tungstenite=info`, but it cannot get past this filter.

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterFn, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log targets (crate names as `log` and `tracing` spell them) that are capped.
pub const CAPPED_TARGETS: &[&str] = &["tungstenite", "tokio_tungstenite", "rustls", "tokio_rustls"];

/// The most detail a capped target may log: its info lines say nothing about the traffic.
pub const DEPENDENCY_CAP: Level = Level::INFO;

/// Installs the process's subscriber, writing to stderr (colours only on a terminal):
/// `RUST_LOG`'s directives, or `default` when it is unset, empty or all invalid, with the
/// dependency cap in front. Does nothing if a subscriber is already installed.
pub fn init(default: LevelFilter) {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_default();
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = subscriber(&directives, default, std::io::stderr, ansi).try_init();
}

/// The subscriber [`init`] installs, writing to `writer`; separate so tests can read its output.
pub fn subscriber<W>(
    directives: &str,
    default: LevelFilter,
    writer: W,
    ansi: bool,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // Lossy: one mistyped directive is reported on stderr and skipped, not fatal.
    let filter = EnvFilter::builder()
        .with_default_directive(default.into())
        .parse_lossy(directives);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .finish()
        .with(FilterFn::new(allowed))
}

/// Whether the dependency cap lets a span or event through.
fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= DEPENDENCY_CAP || !is_capped(metadata.target())
}

/// `target` is a capped crate or one of its modules (`tungstenite::handshake::client`), not a
/// crate that merely starts with the same letters.
fn is_capped(target: &str) -> bool {
    CAPPED_TARGETS.iter().any(|capped| {
        target
            .strip_prefix(capped)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Everything a subscriber wrote.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("the capture").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("the capture")).into_owned()
        }
    }

    /// Logs one line per (target, level) under `directives` and returns what was written.
    fn logged(directives: &str) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = subscriber(directives, LevelFilter::INFO, move || writer.clone(), false);
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "tungstenite::handshake::client", "ws-trace-line");
            tracing::debug!(target: "tungstenite::client", "ws-debug-line");
            tracing::info!(target: "tungstenite::client", "ws-info-line");
            tracing::debug!(target: "tokio_tungstenite", "tokio-ws-debug-line");
            tracing::trace!(target: "rustls::client::hs", "tls-trace-line");
            tracing::warn!(target: "rustls::common_state", "tls-warn-line");
            tracing::trace!(target: "cabled::engine", "own-trace-line");
            tracing::trace!(target: "tungstenite_lookalike", "lookalike-trace-line");
        });
        capture.text()
    }

    #[test]
    fn trace_everywhere_leaves_dependencies_at_info() {
        let text = logged("trace");
        for hidden in [
            "ws-trace-line",
            "ws-debug-line",
            "tokio-ws-debug-line",
            "tls-trace-line",
        ] {
            assert!(!text.contains(hidden), "{hidden} was logged:\n{text}");
        }
        for shown in [
            "ws-info-line",
            "tls-warn-line",
            "own-trace-line",
            "lookalike-trace-line",
        ] {
            assert!(text.contains(shown), "{shown} is missing:\n{text}");
        }
    }

    #[test]
    fn naming_a_dependency_or_its_module_does_not_lift_the_cap() {
        let text = logged("tungstenite=trace,tungstenite::handshake::client=trace,rustls=trace");
        assert!(!text.contains("ws-trace-line"), "{text}");
        assert!(!text.contains("ws-debug-line"), "{text}");
        assert!(!text.contains("tls-trace-line"), "{text}");
        assert!(text.contains("ws-info-line"), "{text}");
    }

    #[test]
    fn without_directives_the_default_level_applies() {
        let text = logged("");
        assert!(text.contains("ws-info-line"), "{text}");
        assert!(!text.contains("own-trace-line"), "{text}");
        let quiet = logged("warn");
        assert!(quiet.contains("tls-warn-line"), "{quiet}");
        assert!(!quiet.contains("ws-info-line"), "{quiet}");
    }

    #[test]
    fn capped_targets_are_whole_crate_names() {
        assert!(is_capped("tungstenite"));
        assert!(is_capped("tungstenite::protocol"));
        assert!(is_capped("tokio_tungstenite::compat"));
        assert!(!is_capped("tungstenite_lookalike"));
        assert!(!is_capped("cable_tunnel"));
    }
}
