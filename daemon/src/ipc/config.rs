//! The daemon's settings: `cabled.toml` in the XDG config folder, then command-line
//! overrides. Every setting has a default, so no file is needed.
//!
//! ```toml
//! hybrid_enabled = true          # false: every session method answers `hybrid_disabled`
//! tunnel_url = "ws://127.0.0.1:8080"   # one tunnel server for every domain (tests, demos)
//! radio = "bluetooth"            # "bluetooth", "bluetooth:hci1" or "udp:127.0.0.1:7999"
//!
//! [timeouts]                     # seconds (fractions allowed)
//! advert = 120
//! tunnel_connect = 15
//! handshake = 15
//! post_handshake = 15
//! ctap = 120
//! linking_wait = 5
//!
//! [security_key]               # the phone as a USB security key, through cable-uhid
//! enabled = true
//! socket = "/run/cable/uhid.sock"
//!
//! [history]                    # the redacted timelines of past sessions ($XDG_STATE_HOME/cable/history)
//! enabled = true
//! keep = 100                     # sessions
//! max_bytes = 2097152
//!
//! [limits]
//! max_line_bytes = 1048576
//! max_clients = 128
//! max_sessions = 64
//! max_sessions_per_client = 16
//! max_requests_per_client = 32
//! ```

use crate::engine::{EngineConfig, RadioConfig, Timeouts, TunnelConfig};
use crate::history::HistorySettings;
use crate::security_key::SecurityKeyConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the daemon runs with.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub engine: EngineConfig,
    /// The organisation policy switch: false refuses every session.
    pub hybrid_enabled: bool,
    pub limits: Limits,
    /// The virtual security key's attachment to cable-uhid.
    pub security_key: SecurityKeyConfig,
    /// How much session history to keep.
    pub history: HistorySettings,
    /// Where the settings came from (for `daemon.status` and the start-up log).
    pub source: Option<PathBuf>,
}

/// Protections against clients that send too much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line; a longer one closes the connection.
    pub max_line_bytes: usize,
    /// Connections at once; one more is answered `too_many_clients` and closed.
    pub max_clients: usize,
    /// Open sessions at once, all clients together.
    pub max_sessions: usize,
    /// Open sessions at once for one connection.
    pub max_sessions_per_client: usize,
    /// Requests one connection may have in progress; the daemon stops reading from a client
    /// that has this many until one finishes.
    pub max_requests_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_bytes: 1024 * 1024,
            max_clients: 128,
            max_sessions: 64,
            max_sessions_per_client: 16,
            max_requests_per_client: 32,
        }
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            // Linking ("remember this computer") is on unless the file turns it off.
            engine: EngineConfig {
                linking: true,
                // Callers get their credential at once; a late linking offer is still stored.
                link_wait_in_background: true,
                ..EngineConfig::default()
            },
            hybrid_enabled: true,
            limits: Limits::default(),
            security_key: SecurityKeyConfig::default(),
            history: HistorySettings::default(),
            source: None,
        }
    }
}

/// Command-line settings, stronger than the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub tunnel_url: Option<String>,
    pub radio: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {} is not valid: {message}", .path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{setting}: {message}")]
    Invalid { setting: String, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    hybrid_enabled: Option<bool>,
    linking: Option<bool>,
    tunnel_url: Option<String>,
    radio: Option<String>,
    #[serde(default)]
    timeouts: TimeoutsFile,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    security_key: SecurityKeyFile,
    #[serde(default)]
    history: HistoryFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFile {
    enabled: Option<bool>,
    keep: Option<usize>,
    max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityKeyFile {
    enabled: Option<bool>,
    socket: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutsFile {
    advert: Option<f64>,
    tunnel_connect: Option<f64>,
    handshake: Option<f64>,
    post_handshake: Option<f64>,
    ctap: Option<f64>,
    linking_wait: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_line_bytes: Option<usize>,
    max_clients: Option<usize>,
    max_sessions: Option<usize>,
    max_sessions_per_client: Option<usize>,
    max_requests_per_client: Option<usize>,
}

/// `$XDG_CONFIG_HOME/cable/cabled.toml`, else `~/.config/cable/cabled.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("cable").join("cabled.toml"))
}

impl DaemonConfig {
    /// Loads `explicit` (which must exist) or the default file (which may be absent), then
    /// applies the command-line overrides.
    pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut config = match explicit {
            Some(path) => Self::read(path)?,
            None => match default_config_path() {
                Some(path) if path.exists() => Self::read(&path)?,
                _ => Self::default(),
            },
        };
        config.apply(overrides)?;
        Ok(config)
    }

    fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Invalid { setting, message } => ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!("{setting}: {message}"),
            },
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses the text of a `cabled.toml`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("cabled.toml"),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut config = Self::default();
        if let Some(enabled) = file.hybrid_enabled {
            config.hybrid_enabled = enabled;
        }
        if let Some(enabled) = file.security_key.enabled {
            config.security_key.enabled = enabled;
        }
        if let Some(socket) = file.security_key.socket {
            config.security_key.socket = socket;
        }
        if let Some(linking) = file.linking {
            config.engine.linking = linking;
        }
        config.apply(&Overrides {
            tunnel_url: file.tunnel_url,
            radio: file.radio,
        })?;
        config.engine.timeouts = timeouts(&file.timeouts)?;
        config.limits = limits(&file.limits)?;
        config.history = history(&file.history)?;
        Ok(config)
    }

    /// Applies command-line settings over the file's.
    pub fn apply(&mut self, overrides: &Overrides) -> Result<(), ConfigError> {
        if let Some(url) = &overrides.tunnel_url {
            cable_tunnel::TunnelBase::Override(url.clone())
                .base_url()
                .map_err(|_| ConfigError::Invalid {
                    setting: "tunnel_url".into(),
                    message: format!(
                        "{url:?} is not a tunnel base URL: use ws://HOST:PORT or wss://HOST, \
                         without a path"
                    ),
                })?;
            self.engine.tunnel = TunnelConfig::Override(url.clone());
        }
        if let Some(radio) = &overrides.radio {
            self.engine.radio = RadioConfig::parse(radio).map_err(|e| ConfigError::Invalid {
                setting: "radio".into(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

fn timeouts(file: &TimeoutsFile) -> Result<Timeouts, ConfigError> {
    let d = Timeouts::default();
    let pick = |name: &str, value: Option<f64>, default: Duration| match value {
        None => Ok(default),
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        Some(secs) => Err(ConfigError::Invalid {
            setting: format!("timeouts.{name}"),
            message: format!("{secs} is not a number of seconds between 0 and 86400"),
        }),
    };
    Ok(Timeouts {
        advert: pick("advert", file.advert, d.advert)?,
        tunnel_connect: pick("tunnel_connect", file.tunnel_connect, d.tunnel_connect)?,
        handshake: pick("handshake", file.handshake, d.handshake)?,
        post_handshake: pick("post_handshake", file.post_handshake, d.post_handshake)?,
        ctap: pick("ctap", file.ctap, d.ctap)?,
        linking_wait: pick("linking_wait", file.linking_wait, d.linking_wait)?,
    })
}

fn history(file: &HistoryFile) -> Result<HistorySettings, ConfigError> {
    let d = HistorySettings::default();
    let invalid = |setting: &str, message: &str| ConfigError::Invalid {
        setting: format!("history.{setting}"),
        message: message.into(),
    };
    let keep = match file.keep {
        None => d.keep,
        Some(n) if (1..=100_000).contains(&n) => n,
        Some(_) => return Err(invalid("keep", "must be between 1 and 100000 sessions")),
    };
    let max_bytes = match file.max_bytes {
        None => d.max_bytes,
        Some(n) if n >= 64 * 1024 => n,
        Some(_) => return Err(invalid("max_bytes", "must be at least 65536 (64 KiB)")),
    };
    Ok(HistorySettings {
        enabled: file.enabled.unwrap_or(d.enabled),
        keep,
        max_bytes,
    })
}

fn limits(file: &LimitsFile) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let pick = |name: &str, value: Option<usize>, default: usize| match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::Invalid {
            setting: format!("limits.{name}"),
            message: "must be at least 1".into(),
        }),
        Some(n) => Ok(n),
    };
    Ok(Limits {
        max_line_bytes: pick("max_line_bytes", file.max_line_bytes, d.max_line_bytes)?,
        max_clients: pick("max_clients", file.max_clients, d.max_clients)?,
        max_sessions: pick("max_sessions", file.max_sessions, d.max_sessions)?,
        max_sessions_per_client: pick(
            "max_sessions_per_client",
            file.max_sessions_per_client,
            d.max_sessions_per_client,
        )?,
        max_requests_per_client: pick(
            "max_requests_per_client",
            file.max_requests_per_client,
            d.max_requests_per_client,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = DaemonConfig::from_toml("").unwrap();
        assert!(c.hybrid_enabled);
        assert_eq!(c.engine.timeouts, Timeouts::default());
        assert_eq!(c.engine.tunnel, TunnelConfig::Real);
        assert_eq!(c.engine.radio, RadioConfig::Bluetooth { adapter: None });
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.history, HistorySettings::default());
    }

    #[test]
    fn reads_every_setting() {
        let c = DaemonConfig::from_toml(
            r#"
            hybrid_enabled = false
            tunnel_url = "ws://127.0.0.1:8080"
            radio = "udp:127.0.0.1:7999"
            [timeouts]
            advert = 30
            tunnel_connect = 1.5
            handshake = 2
            post_handshake = 3
            ctap = 60
            linking_wait = 0.25
            [limits]
            max_line_bytes = 4096
            max_clients = 5
            max_sessions = 6
            max_sessions_per_client = 2
            max_requests_per_client = 3
            [history]
            enabled = false
            keep = 7
            max_bytes = 100000
            "#,
        )
        .unwrap();
        assert!(!c.hybrid_enabled);
        assert_eq!(
            c.history,
            HistorySettings {
                enabled: false,
                keep: 7,
                max_bytes: 100000
            }
        );
        assert_eq!(
            c.engine.tunnel,
            TunnelConfig::Override("ws://127.0.0.1:8080".into())
        );
        assert_eq!(
            c.engine.radio,
            RadioConfig::Virtual("127.0.0.1:7999".parse().unwrap())
        );
        let t = c.engine.timeouts;
        assert_eq!(t.advert, Duration::from_secs(30));
        assert_eq!(t.tunnel_connect, Duration::from_millis(1500));
        assert_eq!(t.handshake, Duration::from_secs(2));
        assert_eq!(t.post_handshake, Duration::from_secs(3));
        assert_eq!(t.ctap, Duration::from_secs(60));
        assert_eq!(t.linking_wait, Duration::from_millis(250));
        assert_eq!(
            c.limits,
            Limits {
                max_line_bytes: 4096,
                max_clients: 5,
                max_sessions: 6,
                max_sessions_per_client: 2,
                max_requests_per_client: 3,
            }
        );
    }

    #[test]
    fn overrides_beat_the_file() {
        let mut c = DaemonConfig::from_toml("radio = \"bluetooth:hci1\"").unwrap();
        c.apply(&Overrides {
            tunnel_url: Some("ws://localhost:9".into()),
            radio: Some("udp:127.0.0.1:1".into()),
        })
        .unwrap();
        assert_eq!(
            c.engine.tunnel,
            TunnelConfig::Override("ws://localhost:9".into())
        );
        assert_eq!(
            c.engine.radio,
            RadioConfig::Virtual("127.0.0.1:1".parse().unwrap())
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = DaemonConfig::from_toml("hybrid_enable = false").unwrap_err();
        assert!(e.to_string().contains("hybrid_enable"), "{e}");
        let e = DaemonConfig::from_toml("[timeouts]\nadvert = -1").unwrap_err();
        assert!(e.to_string().contains("timeouts.advert"), "{e}");
        let e = DaemonConfig::from_toml("[timeouts]\nadvret = 1").unwrap_err();
        assert!(e.to_string().contains("advret"), "{e}");
        let e = DaemonConfig::from_toml("[limits]\nmax_sessions = 0").unwrap_err();
        assert!(e.to_string().contains("limits.max_sessions"), "{e}");
        let e = DaemonConfig::from_toml("[history]\nkeep = 0").unwrap_err();
        assert!(e.to_string().contains("history.keep"), "{e}");
        let e = DaemonConfig::from_toml("radio = \"wifi\"").unwrap_err();
        assert!(e.to_string().contains("unknown radio"), "{e}");
        let e = DaemonConfig::from_toml("tunnel_url = \"http://x\"").unwrap_err();
        assert!(e.to_string().contains("ws://HOST:PORT"), "{e}");
    }

    #[test]
    fn load_reads_an_explicit_file_and_refuses_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cabled.toml");
        std::fs::write(&path, "hybrid_enabled = false\n").unwrap();
        let c = DaemonConfig::load(Some(&path), &Overrides::default()).unwrap();
        assert!(!c.hybrid_enabled);
        assert_eq!(c.source.as_deref(), Some(path.as_path()));
        let e = DaemonConfig::load(Some(&dir.path().join("nope.toml")), &Overrides::default())
            .unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
        std::fs::write(&path, "[limits]\nmax_clients = 0\n").unwrap();
        let e = DaemonConfig::load(Some(&path), &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
