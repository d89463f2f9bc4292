//! Pure mapping from btleplug events and peripheral properties to [`Advert`]s.
//!
//! With BlueZ, btleplug reports service data in two ways:
//! * `ServiceDataAdvertisement` whenever a device's ServiceData property changes (BlueZ emits
//!   PropertiesChanged only on change; btleplug scans with `DuplicateData = true`, so the
//!   controller does not filter repeats and a new advert from the same address still arrives);
//! * nothing at all for a device BlueZ already knew with the same data, for which btleplug
//!   synthesises `DeviceDiscovered` when the event stream opens; there we read the device's
//!   properties, which carry its current service data.

use std::collections::HashMap;

use btleplug::api::{CentralEvent, CentralState, PeripheralProperties};
use btleplug::platform::PeripheralId;
use uuid::Uuid;

use crate::{uuid128_to_16, Advert, AdvertSource, HYBRID_UUIDS};

/// What the scanner task should do with one btleplug event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EventAction {
    /// Deliver these adverts.
    Adverts(Vec<Advert>),
    /// Read this peripheral's properties and deliver the adverts they carry.
    ReadProperties(PeripheralId),
    /// The adapter was switched off: its listener stops (the scan waits for it).
    PoweredOff,
    /// Nothing for us.
    Ignore,
}

/// The latest RSSI BlueZ reported per device. A phone rotating its advert data is reported by
/// PropertiesChanged, which btleplug splits into a service-data event without RSSI and an
/// RSSI event: the advert takes the device's latest RSSI. Bounded: a crowded room forgets
/// and starts over rather than grow without end.
#[derive(Debug, Default)]
pub(crate) struct LatestRssi(HashMap<PeripheralId, i16>);

impl LatestRssi {
    const MAX_DEVICES: usize = 512;

    fn remember(&mut self, id: &PeripheralId, rssi: i16) {
        if self.0.len() >= Self::MAX_DEVICES && !self.0.contains_key(id) {
            self.0.clear();
        }
        self.0.insert(id.clone(), rssi);
    }

    fn of(&self, id: &PeripheralId) -> Option<i16> {
        self.0.get(id).copied()
    }
}

/// Decides what a btleplug event means for hybrid scanning; RSSI updates are remembered.
pub(crate) fn map_event(event: &CentralEvent, rssi: &mut LatestRssi) -> EventAction {
    match event {
        CentralEvent::RssiUpdate { id, rssi: value } => {
            rssi.remember(id, *value);
            EventAction::Ignore
        }
        CentralEvent::ServiceDataAdvertisement { id, service_data } => {
            let adverts = hybrid_adverts(service_data, Some(address_of(id)), rssi.of(id));
            if adverts.is_empty() {
                EventAction::Ignore
            } else {
                EventAction::Adverts(adverts)
            }
        }
        CentralEvent::DeviceDiscovered(id) | CentralEvent::DeviceUpdated(id) => {
            EventAction::ReadProperties(id.clone())
        }
        CentralEvent::ServicesAdvertisement { id, services }
            if services
                .iter()
                .any(|uuid| uuid128_to_16(uuid.as_u128()).is_some_and(crate::is_hybrid_uuid)) =>
        {
            EventAction::ReadProperties(id.clone())
        }
        CentralEvent::StateUpdate(CentralState::PoweredOff) => EventAction::PoweredOff,
        _ => EventAction::Ignore,
    }
}

/// The hybrid adverts in a peripheral's properties (with its RSSI and address).
pub(crate) fn adverts_from_properties(properties: &PeripheralProperties) -> Vec<Advert> {
    hybrid_adverts(
        &properties.service_data,
        Some(properties.address.to_string()),
        properties.rssi,
    )
}

/// One advert per hybrid UUID present, Google's UUID first (Chromium's preference).
fn hybrid_adverts(
    service_data: &HashMap<Uuid, Vec<u8>>,
    address: Option<String>,
    rssi: Option<i16>,
) -> Vec<Advert> {
    HYBRID_UUIDS
        .iter()
        .filter_map(|&uuid16| {
            let (_, data) = service_data
                .iter()
                .find(|(uuid, _)| uuid128_to_16(uuid.as_u128()) == Some(uuid16))?;
            Some(Advert {
                uuid: uuid16,
                service_data: data.clone(),
                rssi,
                address: address.clone(),
                adapter: None,
                source: AdvertSource::Bluetooth,
            })
        })
        .collect()
}

/// A readable address for a peripheral ID: BlueZ IDs look like `hci0/dev_AA_BB_CC_DD_EE_FF`.
pub(crate) fn address_of(id: &PeripheralId) -> String {
    let id = id.to_string();
    match id.rsplit_once("dev_") {
        Some((_, mac)) if mac.len() == 17 => mac.replace('_', ":"),
        _ => id,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    fn map(event: &CentralEvent) -> EventAction {
        map_event(event, &mut LatestRssi::default())
    }

    /// BlueZ's PropertiesChanged for a rotating advert: RSSI and data arrive as two events;
    /// every later advert of that device carries the latest RSSI.
    #[test]
    fn adverts_by_properties_changed_keep_the_devices_latest_rssi() {
        let mut rssi = LatestRssi::default();
        let data = |byte| CentralEvent::ServiceDataAdvertisement {
            id: id(),
            service_data: HashMap::from([(uuid_from_u16(UUID_FIDO), vec![byte; 20])]),
        };
        let rssi_of = |action: EventAction| match action {
            EventAction::Adverts(adverts) => adverts[0].rssi,
            other => panic!("{other:?}"),
        };
        assert_eq!(rssi_of(map_event(&data(1), &mut rssi)), None);
        let update = |value| CentralEvent::RssiUpdate {
            id: id(),
            rssi: value,
        };
        assert_eq!(map_event(&update(-58), &mut rssi), EventAction::Ignore);
        assert_eq!(rssi_of(map_event(&data(2), &mut rssi)), Some(-58));
        map_event(&update(-71), &mut rssi);
        assert_eq!(rssi_of(map_event(&data(3), &mut rssi)), Some(-71));
    }

    use super::*;
    use crate::{UUID_FIDO, UUID_GOOGLE};
    use btleplug::api::bleuuid::uuid_from_u16;
    use btleplug::api::BDAddr;

    fn id() -> PeripheralId {
        let device: bluez_async::DeviceId = "hci0/dev_11_22_33_44_55_66".parse().unwrap();
        PeripheralId::from(device)
    }

    fn advert(uuid: u16, data: &[u8], rssi: Option<i16>) -> Advert {
        Advert {
            uuid,
            service_data: data.to_vec(),
            rssi,
            address: Some("11:22:33:44:55:66".into()),
            adapter: None,
            source: AdvertSource::Bluetooth,
        }
    }

    #[test]
    fn service_data_events_yield_hybrid_adverts_only() {
        let event = CentralEvent::ServiceDataAdvertisement {
            id: id(),
            service_data: HashMap::from([
                (uuid_from_u16(UUID_FIDO), vec![1; 20]),
                (uuid_from_u16(0xFCF1), vec![2; 22]),
                (uuid_from_u16(UUID_GOOGLE), vec![3; 24]),
            ]),
        };
        assert_eq!(
            map(&event),
            EventAction::Adverts(vec![
                advert(UUID_GOOGLE, &[3; 24], None),
                advert(UUID_FIDO, &[1; 20], None),
            ])
        );
        let foreign = CentralEvent::ServiceDataAdvertisement {
            id: id(),
            service_data: HashMap::from([(uuid_from_u16(0xFCF1), vec![2; 22])]),
        };
        assert_eq!(map(&foreign), EventAction::Ignore);
    }

    #[test]
    fn a_vendor_uuid_that_only_ends_like_ours_is_not_ours() {
        // Same last 96 bits as 0xFFF9's long form, but not on the Bluetooth base UUID.
        let lookalike = uuid::Uuid::from_u128(crate::UUID_FIDO_128 | (0xabcd << 112));
        let event = CentralEvent::ServiceDataAdvertisement {
            id: id(),
            service_data: HashMap::from([(lookalike, vec![1; 20])]),
        };
        assert_eq!(map(&event), EventAction::Ignore);
    }

    #[test]
    fn discovery_and_hybrid_service_lists_trigger_a_property_read() {
        assert_eq!(
            map(&CentralEvent::DeviceDiscovered(id())),
            EventAction::ReadProperties(id())
        );
        assert_eq!(
            map(&CentralEvent::DeviceUpdated(id())),
            EventAction::ReadProperties(id())
        );
        let hybrid = CentralEvent::ServicesAdvertisement {
            id: id(),
            services: vec![uuid_from_u16(0x180F), uuid_from_u16(UUID_FIDO)],
        };
        assert_eq!(map(&hybrid), EventAction::ReadProperties(id()));
        let other = CentralEvent::ServicesAdvertisement {
            id: id(),
            services: vec![uuid_from_u16(0x180F)],
        };
        assert_eq!(map(&other), EventAction::Ignore);
    }

    #[test]
    fn power_and_other_events() {
        assert_eq!(
            map(&CentralEvent::StateUpdate(CentralState::PoweredOff)),
            EventAction::PoweredOff
        );
        assert_eq!(
            map(&CentralEvent::StateUpdate(CentralState::PoweredOn)),
            EventAction::Ignore
        );
        for event in [
            CentralEvent::RssiUpdate {
                id: id(),
                rssi: -40,
            },
            CentralEvent::DeviceConnected(id()),
            CentralEvent::DeviceDisconnected(id()),
            CentralEvent::ManufacturerDataAdvertisement {
                id: id(),
                manufacturer_data: HashMap::from([(0x00E0, vec![0x15, 0x20])]),
            },
        ] {
            assert_eq!(map(&event), EventAction::Ignore, "{event:?}");
        }
    }

    #[test]
    fn properties_carry_rssi_and_address() {
        let properties = PeripheralProperties {
            address: BDAddr::from([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
            rssi: Some(-61),
            service_data: HashMap::from([(uuid_from_u16(UUID_FIDO), vec![9; 25])]),
            ..Default::default()
        };
        assert_eq!(
            adverts_from_properties(&properties),
            vec![Advert {
                uuid: UUID_FIDO,
                service_data: vec![9; 25],
                rssi: Some(-61),
                address: Some("AA:BB:CC:DD:EE:FF".into()),
                adapter: None,
                source: AdvertSource::Bluetooth,
            }]
        );
        assert!(adverts_from_properties(&PeripheralProperties::default()).is_empty());
    }

    #[test]
    fn bluez_ids_become_addresses() {
        assert_eq!(address_of(&id()), "11:22:33:44:55:66");
    }
}
