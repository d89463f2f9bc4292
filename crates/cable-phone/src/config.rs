//! What one run of the software phone needs, shaped so a command line can fill it from flags:
//! `PhoneConfig::new(qr_url, tunnel_url, radio_target)` (QR flow) or
//! `LinkedConfig::new(store_path, tunnel_url, radio_target)` (waiting to be woken), plus setters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cable_tunnel::TunnelBase;

use crate::linking::DEFAULT_PHONE_NAME;
use crate::{PhoneBehavior, PhoneProfile, Stage, UserChoice};

/// A real phone advertises about every 100 ms (Android's LOW_LATENCY mode, HYBRID.md §4.5).
pub const DEFAULT_ADVERT_INTERVAL: Duration = Duration::from_millis(100);

/// Every wait of a run is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The whole run, from parsing the QR code to the end of the session (WebAuthn requests
    /// commonly time out after 120 s, §11).
    pub total: Duration,
    /// Opening the tunnel (TCP, TLS, websocket handshake, redirects).
    pub tunnel_connect: Duration,
    /// Advertising while waiting for the desktop's handshake.
    pub handshake: Duration,
    /// Waiting for the desktop's next message once the session is up (Chrome-Android gives a
    /// platform operation 60 s).
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            total: Duration::from_secs(120),
            tunnel_connect: Duration::from_secs(20),
            handshake: Duration::from_secs(120),
            idle: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// Every limit set to `limit` (handy in tests: one number bounds the whole run).
    pub fn all(limit: Duration) -> Self {
        Self {
            total: limit,
            tunnel_connect: limit,
            handshake: limit,
            idle: limit,
        }
    }

    /// The overall limit set to `total`, the others kept no longer than it.
    pub fn capped(self, total: Duration) -> Self {
        Self {
            total,
            tunnel_connect: self.tunnel_connect.min(total),
            handshake: self.handshake.min(total),
            idle: self.idle.min(total),
        }
    }
}

/// Configuration of one QR-flow run ([`crate::run_qr`]).
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The scanned text, `FIDO:/…`.
    pub qr_url: String,
    /// The tunnel server. `TunnelBase::Override("ws://127.0.0.1:PORT")` for a local server;
    /// `TunnelBase::Domain(id)` for a real one (the advert then names that domain).
    pub tunnel: TunnelBase,
    /// The desktop's virtual-radio UDP address.
    pub radio_target: SocketAddr,
    pub profile: PhoneProfile,
    pub behavior: PhoneBehavior,
    /// The phone's state file (JSON: passkeys and linking identity, see
    /// [`crate::store_file`]). `None` keeps passkeys in memory for this run only, and the
    /// phone then cannot link.
    pub store_path: Option<PathBuf>,
    /// Offer linking when the QR code asks for it (Android profiles with a state file only;
    /// default true).
    pub offer_linking: bool,
    /// The name sent in the linking map when the phone first creates its linking identity.
    pub phone_name: String,
    pub advert_interval: Duration,
    pub timeouts: Timeouts,
}

impl PhoneConfig {
    /// An Android phone that approves at once, with passkeys in memory only, talking to the
    /// tunnel server at `tunnel_url` (e.g. `ws://127.0.0.1:8080`).
    pub fn new(
        qr_url: impl Into<String>,
        tunnel_url: impl Into<String>,
        radio_target: SocketAddr,
    ) -> Self {
        Self {
            qr_url: qr_url.into(),
            tunnel: TunnelBase::Override(tunnel_url.into()),
            radio_target,
            profile: PhoneProfile::default(),
            behavior: PhoneBehavior::default(),
            store_path: None,
            offer_linking: true,
            phone_name: DEFAULT_PHONE_NAME.to_string(),
            advert_interval: DEFAULT_ADVERT_INTERVAL,
            timeouts: Timeouts::default(),
        }
    }

    pub fn with_tunnel(mut self, tunnel: TunnelBase) -> Self {
        self.tunnel = tunnel;
        self
    }

    pub fn with_profile(mut self, profile: PhoneProfile) -> Self {
        self.profile = profile;
        self
    }

    pub fn with_behavior(mut self, behavior: PhoneBehavior) -> Self {
        self.behavior = behavior;
        self
    }

    /// The person's answer (`--deny` is `with_user(UserChoice::Deny)`).
    pub fn with_user(mut self, user: UserChoice) -> Self {
        self.behavior.user = user;
        self
    }

    pub fn with_answer_delay(mut self, delay: Duration) -> Self {
        self.behavior.answer_delay = delay;
        self
    }

    pub fn vanishing_after(mut self, stage: Stage) -> Self {
        self.behavior.vanish_after = Some(stage);
        self
    }

    pub fn with_store_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.store_path = Some(path.into());
        self
    }

    /// Whether to offer linking when the QR code asks for it (`--no-link` is `false`).
    pub fn with_linking(mut self, offer: bool) -> Self {
        self.offer_linking = offer;
        self
    }

    /// The name given in the linking map, if this run creates the linking identity.
    pub fn with_phone_name(mut self, name: impl Into<String>) -> Self {
        self.phone_name = name.into();
        self
    }

    pub fn with_advert_interval(mut self, interval: Duration) -> Self {
        self.advert_interval = interval;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the overall limit, keeping the others no longer than it.
    pub fn with_total_timeout(mut self, total: Duration) -> Self {
        self.timeouts = self.timeouts.capped(total);
        self
    }

    /// The tunnel-server domain ID the advert names: the real domain when connecting to one,
    /// else the profile's own (0 Google, 1 Apple).
    pub fn advert_domain_id(&self) -> u16 {
        match self.tunnel {
            TunnelBase::Domain(id) => id,
            TunnelBase::Override(_) => self.profile.tunnel_domain_id(),
        }
    }
}

/// Configuration of a phone waiting to be woken for linked sessions ([`crate::run_linked`]).
///
/// The phone imitates Android (iOS phones never link): it advertises on 0xFFF9 and answers as
/// the Android authenticator.
#[derive(Debug, Clone)]
pub struct LinkedConfig {
    /// The state file: passkeys, linking identity, the links given out. It is re-read at each
    /// wake-up, so links another run adds meanwhile are answered too.
    pub store_path: PathBuf,
    /// The tunnel server whose push stand-in the phone registers with (`ws://` only) and whose
    /// tunnels it joins.
    pub tunnel: TunnelBase,
    /// The desktop's virtual-radio UDP address.
    pub radio_target: SocketAddr,
    pub behavior: PhoneBehavior,
    /// Serve the first wake-up for a known link, then return (default false: serve until the
    /// registration ends).
    pub once: bool,
    /// The name given in the linking map, if this run creates the linking identity.
    pub phone_name: String,
    pub advert_interval: Duration,
    /// Limits of each woken session (`total` bounds one session, not the wait for wake-ups);
    /// `tunnel_connect` also bounds registering with the push stand-in.
    pub timeouts: Timeouts,
    /// How long to wait for a wake-up before giving up; `None` waits as long as the
    /// registration lasts.
    pub wake_wait: Option<Duration>,
}

impl LinkedConfig {
    /// A phone approving at once, keeping its state in `store_path`, registered with the tunnel
    /// server at `tunnel_url` (e.g. `ws://127.0.0.1:8080`).
    pub fn new(
        store_path: impl Into<PathBuf>,
        tunnel_url: impl Into<String>,
        radio_target: SocketAddr,
    ) -> Self {
        Self {
            store_path: store_path.into(),
            tunnel: TunnelBase::Override(tunnel_url.into()),
            radio_target,
            behavior: PhoneBehavior::default(),
            once: false,
            phone_name: DEFAULT_PHONE_NAME.to_string(),
            advert_interval: DEFAULT_ADVERT_INTERVAL,
            timeouts: Timeouts::default(),
            wake_wait: None,
        }
    }

    pub fn once(mut self, once: bool) -> Self {
        self.once = once;
        self
    }

    /// How the person behaves in each woken session (`PhoneBehavior::deny()`, …).
    pub fn with_behavior(mut self, behavior: PhoneBehavior) -> Self {
        self.behavior = behavior;
        self
    }

    pub fn with_phone_name(mut self, name: impl Into<String>) -> Self {
        self.phone_name = name.into();
        self
    }

    pub fn with_advert_interval(mut self, interval: Duration) -> Self {
        self.advert_interval = interval;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Limits each woken session to `total`, keeping the other limits no longer than it.
    pub fn with_session_timeout(mut self, total: Duration) -> Self {
        self.timeouts = self.timeouts.capped(total);
        self
    }

    /// Gives up when no wake-up arrives within `wait`.
    pub fn with_wake_wait(mut self, wait: Duration) -> Self {
        self.wake_wait = Some(wait);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_from_cli_flags() {
        let radio: SocketAddr = "127.0.0.1:9999".parse().unwrap();
        let c = PhoneConfig::new("FIDO:/1", "ws://127.0.0.1:8080", radio)
            .with_profile(PhoneProfile::Ios)
            .with_user(UserChoice::Deny)
            .with_store_path("/tmp/x.json")
            .with_total_timeout(Duration::from_secs(5));
        assert_eq!(c.tunnel, TunnelBase::Override("ws://127.0.0.1:8080".into()));
        assert_eq!(c.behavior.user, UserChoice::Deny);
        assert_eq!(c.advert_interval, Duration::from_millis(100));
        assert_eq!(c.timeouts.total, Duration::from_secs(5));
        assert_eq!(c.timeouts.idle, Duration::from_secs(5));
        assert_eq!(c.advert_domain_id(), 1);
        assert!(c.offer_linking);
        assert_eq!(c.phone_name, "cable software phone (android)");
        assert_eq!(
            c.with_tunnel(TunnelBase::Domain(266)).advert_domain_id(),
            266
        );
    }

    #[test]
    fn linked_builder() {
        let radio: SocketAddr = "127.0.0.1:9999".parse().unwrap();
        let c = LinkedConfig::new("/tmp/p.json", "ws://127.0.0.1:8080", radio);
        assert!(!c.once);
        assert_eq!(c.wake_wait, None);
        let c = c
            .once(true)
            .with_behavior(PhoneBehavior::deny())
            .with_session_timeout(Duration::from_secs(3))
            .with_wake_wait(Duration::from_secs(9));
        assert!(c.once);
        assert_eq!(c.tunnel, TunnelBase::Override("ws://127.0.0.1:8080".into()));
        assert_eq!(c.timeouts.total, Duration::from_secs(3));
        assert_eq!(c.timeouts.handshake, Duration::from_secs(3));
        assert_eq!(c.wake_wait, Some(Duration::from_secs(9)));
        assert_eq!(c.behavior.user, UserChoice::Deny);
    }
}
