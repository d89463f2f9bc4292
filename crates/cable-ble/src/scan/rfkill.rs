//! Linux's rfkill switches, read from sysfs (`/sys/class/rfkill/rfkill*/{type,name,soft,hard}`):
//! a blocked adapter looks merely "off" to BlueZ, but `bluetoothctl power on` cannot turn it
//! on, so the person needs to hear "blocked" and `rfkill unblock bluetooth` instead.

use std::path::{Path, PathBuf};

/// Where the kernel lists rfkill switches.
pub const DEFAULT_RFKILL_ROOT: &str = "/sys/class/rfkill";

/// One blocked Bluetooth rfkill switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedSwitch {
    /// rfkill's name for it, the adapter's (`hci0`).
    pub name: String,
    /// Blocked by software (a setting, airplane mode): `rfkill unblock bluetooth` lifts it.
    pub soft: bool,
    /// Blocked by a hardware switch: only the switch lifts it.
    pub hard: bool,
}

/// The Bluetooth switches under `root` that block their radio, sorted by name. A missing or
/// unreadable root (not Linux, no sysfs in a container) blocks nothing.
pub fn blocked_bluetooth(root: &Path) -> Vec<BlockedSwitch> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut blocked: Vec<BlockedSwitch> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|dir| {
            dir.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rfkill"))
        })
        .filter_map(|dir| read_switch(&dir))
        .filter(|switch| switch.soft || switch.hard)
        .collect();
    blocked.sort_by(|a, b| a.name.cmp(&b.name));
    blocked
}

fn read_switch(dir: &Path) -> Option<BlockedSwitch> {
    let read = |file: &str| -> Option<String> {
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        Some(text.trim().to_string())
    };
    if read("type")? != "bluetooth" {
        return None;
    }
    let name = read("name").unwrap_or_else(|| {
        let fallback: PathBuf = dir.file_name().map(PathBuf::from).unwrap_or_default();
        fallback.display().to_string()
    });
    Some(BlockedSwitch {
        name,
        soft: read("soft").as_deref() == Some("1"),
        hard: read("hard").as_deref() == Some("1"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(root: &Path, dir: &str, kind: &str, name: &str, soft: u8, hard: u8) {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in [
            ("type", format!("{kind}\n")),
            ("name", format!("{name}\n")),
            ("soft", format!("{soft}\n")),
            ("hard", format!("{hard}\n")),
        ] {
            std::fs::write(dir.join(file), text).unwrap();
        }
    }

    #[test]
    fn only_blocked_bluetooth_switches_count() {
        let root = std::env::temp_dir().join(format!("cable-rfkill-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert!(
            blocked_bluetooth(&root).is_empty(),
            "a missing root blocks nothing"
        );
        switch(&root, "rfkill0", "wlan", "phy0", 1, 0);
        switch(&root, "rfkill1", "bluetooth", "hci0", 0, 0);
        assert!(blocked_bluetooth(&root).is_empty());
        switch(&root, "rfkill3", "bluetooth", "hci1", 0, 1);
        switch(&root, "rfkill2", "bluetooth", "hci0", 1, 0);
        std::fs::create_dir_all(root.join("not-a-switch")).unwrap();
        assert_eq!(
            blocked_bluetooth(&root),
            vec![
                BlockedSwitch {
                    name: "hci0".into(),
                    soft: true,
                    hard: false
                },
                BlockedSwitch {
                    name: "hci1".into(),
                    soft: false,
                    hard: true
                },
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
