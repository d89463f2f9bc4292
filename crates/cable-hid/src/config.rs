//! What the device says about itself in an INIT response, and its timers.

use std::time::Duration;

/// The capability flags of an INIT response (CTAP 2.2 §11.2.9.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    /// CAPABILITY_WINK: the device answers CTAPHID_WINK.
    pub const WINK: Capabilities = Capabilities(0x01);
    /// CAPABILITY_CBOR: the device answers CTAPHID_CBOR (CTAP2).
    pub const CBOR: Capabilities = Capabilities(0x04);
    /// CAPABILITY_NMSG: the device does *not* answer CTAPHID_MSG (no U2F/CTAP1).
    pub const NMSG: Capabilities = Capabilities(0x08);

    /// The flags byte.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Capabilities) -> Capabilities {
        Capabilities(self.0 | rhs.0)
    }
}

/// The device version triple of an INIT response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeviceVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u8,
}

/// How a [`crate::Device`] presents itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    pub version: DeviceVersion,
    /// NMSG is always added: we implement no U2F, so claiming MSG would be a lie.
    pub capabilities: Capabilities,
    /// Seeds the CID generator (any value; pass a random one so CIDs differ across restarts).
    pub channel_seed: u32,
    /// How long a host may take to send all packets of one message, counted from its
    /// initialization packet (§11.2.5.2); then ERR_MSG_TIMEOUT.
    pub transaction_timeout: Duration,
    /// The gap between KEEPALIVEs while a CBOR request waits; capped at 100 ms, the most
    /// §11.2.9.1.7 allows.
    pub keepalive_interval: Duration,
}

/// The longest gap between keepalives the spec allows.
pub const MAX_KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            version: DeviceVersion {
                major: 0,
                minor: 1,
                build: 0,
            },
            capabilities: Capabilities::CBOR | Capabilities::WINK | Capabilities::NMSG,
            channel_seed: 1,
            // Generous for a host behind uhid and a relay process; a stalled host frees the
            // device after this.
            transaction_timeout: Duration::from_secs(3),
            keepalive_interval: MAX_KEEPALIVE_INTERVAL,
        }
    }
}
