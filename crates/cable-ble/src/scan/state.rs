//! Whether a scan can hear adverts right now. A Bluetooth scan outlives its radio: when every
//! adapter is off, blocked or unplugged it keeps waiting (as Chrome asks the person to turn
//! Bluetooth on and carries on), and says so through [`RadioState`].

use super::ScanError;

/// The radio of a running scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioState {
    /// Listening, with these adapters (`hci0`, …; empty for the virtual radio).
    Ready { adapters: Vec<String> },
    /// Nothing can listen now; the scan resumes by itself once an adapter can.
    Down(RadioDown),
}

impl RadioState {
    /// The virtual radio's state, and that of any radio that cannot go down.
    pub fn always_ready() -> Self {
        Self::Ready {
            adapters: Vec::new(),
        }
    }
}

/// Why no adapter listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioDown {
    /// These adapters exist but are powered off.
    Off { adapters: Vec<String> },
    /// rfkill blocks Bluetooth (soft: a setting or airplane mode; hard: a switch); the names
    /// are rfkill's (`hci0`).
    Blocked { adapters: Vec<String>, hard: bool },
    /// No adapter (matching the choice) is there; `detail` says what was looked for.
    NoAdapter { detail: String },
}

impl RadioDown {
    /// The error a scan that gave up waiting ends with.
    pub fn to_error(&self) -> ScanError {
        match self {
            Self::Off { adapters } => ScanError::PoweredOff {
                adapter: adapters.join(", "),
            },
            Self::Blocked { adapters, hard } => ScanError::Blocked {
                adapters: adapters.join(", "),
                hard: *hard,
            },
            Self::NoAdapter { detail } => ScanError::NoAdapter {
                detail: detail.clone(),
            },
        }
    }
}

impl std::fmt::Display for RadioDown {
    /// One line for a person looking at a QR code: what is wrong, what to do, and that the
    /// wait goes on.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off { adapters } => write!(
                f,
                "Bluetooth is off ({}): turn it on (`bluetoothctl power on`); waiting for it",
                adapters.join(", ")
            ),
            Self::Blocked {
                adapters,
                hard: false,
            } => write!(
                f,
                "Bluetooth is blocked by rfkill ({}): unblock it (`rfkill unblock bluetooth`); \
                 waiting for it",
                adapters.join(", ")
            ),
            Self::Blocked {
                adapters,
                hard: true,
            } => write!(
                f,
                "Bluetooth is blocked by a hardware switch ({}): flip the switch or leave \
                 airplane mode; waiting for it",
                adapters.join(", ")
            ),
            Self::NoAdapter { detail } => write!(
                f,
                "No Bluetooth adapter{detail}: plug one in or unblock it; waiting for one"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_names_its_fix_and_its_error() {
        let off = RadioDown::Off {
            adapters: vec!["hci0".into()],
        };
        assert!(off.to_string().contains("bluetoothctl power on"), "{off}");
        assert!(matches!(off.to_error(), ScanError::PoweredOff { adapter } if adapter == "hci0"));
        let blocked = RadioDown::Blocked {
            adapters: vec!["hci1".into()],
            hard: false,
        };
        assert!(blocked.to_string().contains("rfkill unblock bluetooth"));
        assert_eq!(
            blocked.to_error().to_string(),
            "Bluetooth is blocked by rfkill (hci1): unblock it with `rfkill unblock bluetooth`"
        );
        let none = RadioDown::NoAdapter {
            detail: String::new(),
        };
        assert!(none
            .to_string()
            .starts_with("No Bluetooth adapter: plug one in"));
        assert!(matches!(none.to_error(), ScanError::NoAdapter { .. }));
    }
}
