//! `cablectl browser install` / `uninstall`: the native messaging host manifests that let
//! Firefox and the Chromium family start `cable-browser-host` for cable's extension, and what
//! `cablectl doctor` reads back from them.
//!
//! A manifest is the file `org.cable.hybrid.json` in a folder each browser searches; its
//! `path` must be absolute (browsers pass no arguments and use no PATH), and it names the one
//! extension allowed to start the host.

use crate::cli::{BrowserCommand, BrowserDirs};
use anyhow::{bail, Context};
use cable_browser_host::{CHROMIUM_ORIGIN, FIREFOX_ID, HOST_NAME};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The host binary's file name.
const HOST_BINARY: &str = "cable-browser-host";

/// The two manifest dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `allowed_extensions` with the Firefox add-on ID.
    Firefox,
    /// `allowed_origins` with the `chrome-extension://` origin (Chromium, Chrome, Brave, Edge).
    Chromium,
}

/// One folder a manifest goes in, and for which browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub browser: &'static str,
    pub family: Family,
    pub dir: PathBuf,
}

impl Target {
    pub fn manifest(&self) -> PathBuf {
        self.dir.join(format!("{HOST_NAME}.json"))
    }
}

/// The per-user folders of Firefox and the Chromium family on Linux. Chromium-family browsers
/// keep their profile under `$XDG_CONFIG_HOME` (default `~/.config`); Firefox always reads
/// `~/.mozilla/native-messaging-hosts`.
pub fn standard_targets() -> anyhow::Result<Vec<Target>> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set, so the browsers' folders cannot be found; pass --chromium-dir / --firefox-dir")?;
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"));
    let chromium = |browser, profile: &str| Target {
        browser,
        family: Family::Chromium,
        dir: config.join(profile).join("NativeMessagingHosts"),
    };
    Ok(vec![
        Target {
            browser: "Firefox",
            family: Family::Firefox,
            dir: home.join(".mozilla").join("native-messaging-hosts"),
        },
        chromium("Chromium", "chromium"),
        chromium("Google Chrome", "google-chrome"),
        chromium("Brave", "BraveSoftware/Brave-Browser"),
        chromium("Microsoft Edge", "microsoft-edge"),
    ])
}

/// The folders the flags name, or the standard ones when there are none.
fn targets(dirs: &BrowserDirs) -> anyhow::Result<Vec<Target>> {
    if dirs.chromium_dir.is_none() && dirs.firefox_dir.is_none() {
        return standard_targets();
    }
    let mut targets = Vec::new();
    if let Some(dir) = &dirs.firefox_dir {
        targets.push(Target {
            browser: "Firefox (--firefox-dir)",
            family: Family::Firefox,
            dir: dir.clone(),
        });
    }
    if let Some(dir) = &dirs.chromium_dir {
        targets.push(Target {
            browser: "Chromium (--chromium-dir)",
            family: Family::Chromium,
            dir: dir.clone(),
        });
    }
    Ok(targets)
}

/// The manifest for `family` with the host at `host` (absolute).
pub fn manifest(family: Family, host: &Path) -> Value {
    let mut manifest = json!({
        "name": HOST_NAME,
        "description": "cable: sign in with the passkeys on your phone (FIDO hybrid) through cabled",
        "path": host.to_string_lossy(),
        "type": "stdio",
    });
    match family {
        Family::Firefox => manifest["allowed_extensions"] = json!([FIREFOX_ID]),
        Family::Chromium => manifest["allowed_origins"] = json!([CHROMIUM_ORIGIN]),
    }
    manifest
}

pub fn run(command: BrowserCommand) -> anyhow::Result<()> {
    match command {
        BrowserCommand::Install { dirs, host } => install(&dirs, host.as_deref()),
        BrowserCommand::Uninstall { dirs } => uninstall(&dirs),
    }
}

fn install(dirs: &BrowserDirs, host: Option<&Path>) -> anyhow::Result<()> {
    let host = match host {
        Some(path) => checked_host(path)?,
        None => default_host()?,
    };
    for target in targets(dirs)? {
        let path = target.manifest();
        let text = serde_json::to_string_pretty(&manifest(target.family, &host))? + "\n";
        write_whole(&path, text.as_bytes())
            .with_context(|| format!("cannot write {} for {}", path.display(), target.browser))?;
        println!("{:<26} wrote {}", target.browser, path.display());
    }
    println!("host: {}", host.display());
    println!(
        "Restart the browser if it runs, then load cable's extension (docs/browser.md); \
         `cablectl doctor` checks these files."
    );
    Ok(())
}

fn uninstall(dirs: &BrowserDirs) -> anyhow::Result<()> {
    for target in targets(dirs)? {
        let path = target.manifest();
        match std::fs::remove_file(&path) {
            Ok(()) => println!("{:<26} removed {}", target.browser, path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("{:<26} none at {}", target.browser, path.display())
            }
            Err(e) => bail!("cannot remove {}: {e}", path.display()),
        }
    }
    Ok(())
}

/// `--host`: must be an executable file; made absolute, since browsers resolve nothing.
fn checked_host(path: &Path) -> anyhow::Result<PathBuf> {
    let absolute = std::fs::canonicalize(path).with_context(|| {
        format!(
            "--host {}: no such file; build it with `cargo build -p cable-browser-host` or give \
             the path of an installed cable-browser-host",
            path.display()
        )
    })?;
    if !is_executable(&absolute) {
        bail!(
            "--host {}: not an executable file; give the path of the cable-browser-host binary",
            absolute.display()
        );
    }
    Ok(absolute)
}

/// `cable-browser-host` next to this cablectl (how packages and `cargo build` place it), else
/// the first on PATH.
fn default_host() -> anyhow::Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(HOST_BINARY)));
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(HOST_BINARY))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for candidate in beside.into_iter().chain(on_path) {
        if candidate.is_absolute() && is_executable(&candidate) {
            return checked_host(&candidate);
        }
    }
    bail!(
        "found no {HOST_BINARY} next to cablectl or on PATH: install cable's package, or build \
         it (`cargo build -p cable-browser-host`) and pass --host PATH"
    )
}

pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Writes a temporary file beside `path` and renames it over: a browser never reads half a
/// manifest.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{HOST_NAME}.json.tmp"));
    std::fs::write(&temporary, bytes)?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&temporary, path)
}

/// What a manifest in place says, for `cablectl doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// No manifest in this folder.
    Missing,
    /// A manifest that allows cable's extension and names an executable host.
    Ready { host: PathBuf },
    /// A manifest that cannot work, and why.
    Broken(String),
}

pub fn inspect(target: &Target) -> Installed {
    let path = target.manifest();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Installed::Missing,
        Err(e) => return Installed::Broken(format!("{} cannot be read: {e}", path.display())),
    };
    let Ok(manifest) = serde_json::from_str::<Value>(&text) else {
        return Installed::Broken(format!("{} is not JSON", path.display()));
    };
    let (key, ours) = match target.family {
        Family::Firefox => ("allowed_extensions", FIREFOX_ID),
        Family::Chromium => ("allowed_origins", CHROMIUM_ORIGIN),
    };
    let allows = manifest[key]
        .as_array()
        .is_some_and(|list| list.iter().any(|v| v == ours));
    if manifest["name"] != HOST_NAME || manifest["type"] != "stdio" || !allows {
        return Installed::Broken(format!(
            "{} does not name {HOST_NAME} for cable's extension ({key} lacks {ours})",
            path.display()
        ));
    }
    let host = PathBuf::from(manifest["path"].as_str().unwrap_or_default());
    if !host.is_absolute() || !is_executable(&host) {
        return Installed::Broken(format!(
            "{} points at {:?}, which is not an executable file",
            path.display(),
            host
        ));
    }
    Installed::Ready { host }
}
