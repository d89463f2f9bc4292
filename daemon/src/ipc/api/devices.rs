//! The linked-phone methods: `devices.list`, `devices.rename`, `devices.forget`.

use super::{Method, NoParams};
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

/// `devices.list`: the linked phones, most recently used first.
pub struct DevicesList;
impl Method for DevicesList {
    const NAME: &'static str = "devices.list";
    type Params = NoParams;
    type Result = Devices;
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

/// `devices.rename`.
pub struct DevicesRename;
impl Method for DevicesRename {
    const NAME: &'static str = "devices.rename";
    type Params = RenameParams;
    type Result = Renamed;
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

/// `devices.forget`.
pub struct DevicesForget;
impl Method for DevicesForget {
    const NAME: &'static str = "devices.forget";
    type Params = ForgetParams;
    type Result = Forgotten;
}
