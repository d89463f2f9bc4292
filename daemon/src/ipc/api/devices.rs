//! The linked-phone methods: `devices.list`, `devices.rename`, `devices.forget`.

use super::NoParams;
use serde::{Deserialize, Serialize};

/// A linked phone as `devices.list` shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub last_used: u64,
    pub tunnel_domain_id: u16,
    /// The tunnel server's host name, `null` for an unknown domain id.
    pub tunnel_domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub devices: Vec<Device>,
}

method! {
    /// `devices.list`: the linked phones, most recently used first.
    DevicesList = "devices.list" (NoParams) -> Devices
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameParams {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renamed {
    pub id: String,
    pub name: String,
}

method! {
    /// `devices.rename`.
    DevicesRename = "devices.rename" (RenameParams) -> Renamed
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdParams {
    pub id: String,
}

/// `devices.forget` params.
pub type ForgetParams = IdParams;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgotten {
    pub id: String,
    pub forgotten: bool,
}

method! {
    /// `devices.forget`.
    DevicesForget = "devices.forget" (ForgetParams) -> Forgotten
}
