//! Which adapters BlueZ has, which of them a scan should use, and, when none can listen, why.

use btleplug::api::{Central as _, CentralState, Manager as _};
use btleplug::platform::{Adapter, Manager};

use super::errors::classify;
use super::AdapterChoice;
use crate::scan::rfkill::BlockedSwitch;
use crate::scan::{RadioDown, ScanError};

/// One adapter as BlueZ lists it.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub adapter: Adapter,
    /// `hci0`.
    pub name: String,
    pub powered: bool,
}

/// BlueZ's adapters, sorted by name (BlueZ lists them in no fixed order, and `Index` choices
/// must mean the same adapter from one poll to the next).
pub(crate) async fn list(manager: &Manager) -> Result<Vec<Listed>, ScanError> {
    let adapters = manager.adapters().await.map_err(|e| classify(&e, None))?;
    let mut listed = Vec::with_capacity(adapters.len());
    for adapter in adapters {
        // An adapter unplugged between the two calls is simply not there any more.
        let Ok(info) = adapter.adapter_info().await else {
            continue;
        };
        // BlueZ describes an adapter as "hci0 (usb:v1D6Bp0246d0537)".
        let name = info.split_whitespace().next().unwrap_or("?").to_string();
        let powered = adapter.adapter_state().await.ok() == Some(CentralState::PoweredOn);
        listed.push(Listed {
            adapter,
            name,
            powered,
        });
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

/// The positions in `names` (sorted) that `choice` selects, powered or not.
pub(crate) fn chosen(choice: &AdapterChoice, names: &[&str]) -> Vec<usize> {
    match choice {
        AdapterChoice::All => (0..names.len()).collect(),
        AdapterChoice::Name(wanted) => names.iter().position(|n| n == wanted).into_iter().collect(),
        AdapterChoice::Index(index) => (*index < names.len())
            .then_some(*index)
            .into_iter()
            .collect(),
    }
}

/// Why no chosen adapter listens, given BlueZ's adapters (name, powered) and rfkill's blocked
/// switches. rfkill comes first: a blocked adapter is also "off" to BlueZ (or absent), and
/// only unblocking it helps.
pub(crate) fn down_reason(
    choice: &AdapterChoice,
    listed: &[(&str, bool)],
    blocked: &[BlockedSwitch],
) -> RadioDown {
    let blocked: Vec<&BlockedSwitch> = blocked
        .iter()
        .filter(|s| match choice {
            AdapterChoice::Name(wanted) => &s.name == wanted,
            AdapterChoice::All | AdapterChoice::Index(_) => true,
        })
        .collect();
    if !blocked.is_empty() {
        return RadioDown::Blocked {
            adapters: blocked.iter().map(|s| s.name.clone()).collect(),
            // Only when no switch can be lifted by software is the hardware switch the fix.
            hard: blocked.iter().all(|s| s.hard),
        };
    }
    let names: Vec<&str> = listed.iter().map(|(n, _)| *n).collect();
    let candidates = chosen(choice, &names);
    if !candidates.is_empty() {
        return RadioDown::Off {
            adapters: candidates.iter().map(|&i| names[i].to_string()).collect(),
        };
    }
    let detail = match choice {
        AdapterChoice::All => String::new(),
        AdapterChoice::Name(name) => format!(" named {name}"),
        AdapterChoice::Index(index) => format!(" at position {index}"),
    };
    let detail = if names.is_empty() || matches!(choice, AdapterChoice::All) {
        detail
    } else {
        format!("{detail} (found: {})", names.join(", "))
    };
    RadioDown::NoAdapter { detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(name: &str, soft: bool, hard: bool) -> BlockedSwitch {
        BlockedSwitch {
            name: name.into(),
            soft,
            hard,
        }
    }

    #[test]
    fn choices_select_by_name_and_position() {
        let names = ["hci0", "hci1"];
        assert_eq!(chosen(&AdapterChoice::All, &names), [0, 1]);
        assert_eq!(chosen(&AdapterChoice::Name("hci1".into()), &names), [1]);
        assert!(chosen(&AdapterChoice::Name("hci7".into()), &names).is_empty());
        assert_eq!(chosen(&AdapterChoice::Index(0), &names), [0]);
        assert!(chosen(&AdapterChoice::Index(2), &names).is_empty());
    }

    #[test]
    fn rfkill_then_off_then_missing() {
        let all = AdapterChoice::All;
        assert_eq!(
            down_reason(&all, &[("hci0", false)], &[switch("hci0", true, false)]),
            RadioDown::Blocked {
                adapters: vec!["hci0".into()],
                hard: false
            }
        );
        // A blocked adapter BlueZ no longer lists is blocked all the same.
        assert_eq!(
            down_reason(&all, &[], &[switch("hci0", false, true)]),
            RadioDown::Blocked {
                adapters: vec!["hci0".into()],
                hard: true
            }
        );
        assert_eq!(
            down_reason(&all, &[("hci0", false), ("hci1", false)], &[]),
            RadioDown::Off {
                adapters: vec!["hci0".into(), "hci1".into()]
            }
        );
        assert_eq!(
            down_reason(&all, &[], &[]),
            RadioDown::NoAdapter {
                detail: String::new()
            }
        );
        // A pinned adapter: others' switches do not matter, and the message says what is there.
        let hci1 = AdapterChoice::Name("hci1".into());
        assert_eq!(
            down_reason(&hci1, &[("hci0", true)], &[switch("hci0", true, false)]),
            RadioDown::NoAdapter {
                detail: " named hci1 (found: hci0)".into()
            }
        );
    }
}
