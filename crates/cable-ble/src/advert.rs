//! The one event every scanner yields: service data seen under a 16-bit service UUID.

/// Where an advert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvertSource {
    /// A real Bluetooth LE scan (btleplug).
    Bluetooth,
    /// The UDP "virtual radio" used on machines without Bluetooth.
    VirtualRadio,
}

/// Service data observed under one 16-bit service UUID.
///
/// A device that carries service data under several UUIDs yields one `Advert` per UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// The 16-bit service UUID the data was advertised under.
    pub uuid: u16,
    /// The raw service data (for hybrid: the 20-byte advert, maybe followed by a suffix).
    pub service_data: Vec<u8>,
    /// Received signal strength in dBm, when the radio reports it.
    pub rssi: Option<i16>,
    /// The sender's address (a BLE address, or `ip:port` for the virtual radio). Phones rotate
    /// their BLE address, so it is for logs and the CTAP 2.3 BLE channel only, never for matching.
    pub address: Option<String>,
    /// The adapter that heard it (`hci0`), when several may listen; `None` for the virtual radio.
    pub adapter: Option<String>,
    pub source: AdvertSource,
}

impl Advert {
    /// An advert with no RSSI, address or adapter.
    pub fn new(uuid: u16, service_data: Vec<u8>, source: AdvertSource) -> Self {
        Self {
            uuid,
            service_data,
            rssi: None,
            address: None,
            adapter: None,
            source,
        }
    }
}
