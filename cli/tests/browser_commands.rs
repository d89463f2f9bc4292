//! `cablectl browser install` / `uninstall` and the doctor's browser checks, in a temporary
//! home: the manifests each browser reads, where they go, and what happens when the host binary
//! is missing.

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cablectl");
const CHROMIUM_ORIGIN: &str = "chrome-extension://cpljglomlfjdmdmkoikijgaiomcikked/";
const FIREFOX_ID: &str = "cable@cable-hybrid.invalid";

fn cablectl_at(bin: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("PATH", "")
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/cable-test-bus",
        )
        .output()
        .unwrap()
}

fn cablectl(home: &Path, args: &[&str]) -> Output {
    cablectl_at(Path::new(BIN), home, args)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A stand-in host binary (its contents do not matter to the manifests).
fn fake_host(dir: &Path) -> PathBuf {
    let path = dir.join("cable-browser-host");
    std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn standard(home: &Path) -> Vec<(&'static str, PathBuf)> {
    let c = home.join(".config");
    vec![
        ("Firefox", home.join(".mozilla/native-messaging-hosts")),
        ("Chromium", c.join("chromium/NativeMessagingHosts")),
        ("Chrome", c.join("google-chrome/NativeMessagingHosts")),
        (
            "Brave",
            c.join("BraveSoftware/Brave-Browser/NativeMessagingHosts"),
        ),
        ("Edge", c.join("microsoft-edge/NativeMessagingHosts")),
    ]
}

/// The doctor's browser checks, by name: (ok, detail).
fn doctor_browsers(home: &Path) -> Vec<(String, Value, String)> {
    let out = cablectl(home, &["doctor", "--json", "--offline"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|c| c["check"].as_str().unwrap().starts_with("browser host: "))
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["ok"].clone(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn install_writes_every_browsers_manifest_and_uninstall_removes_them() {
    let home = tempfile::tempdir().unwrap();
    let host = fake_host(home.path());
    let before = doctor_browsers(home.path());
    assert_eq!(before.len(), 5, "{before:?}");
    assert!(
        before.iter().all(|(_, ok, _)| ok.is_null()),
        "skipped before: {before:?}"
    );

    let out = ok(&cablectl(
        home.path(),
        &["browser", "install", "--host", host.to_str().unwrap()],
    ));
    for (browser, dir) in standard(home.path()) {
        let path = dir.join("org.cable.hybrid.json");
        assert!(
            out.contains(&path.display().to_string()),
            "{browser}: {out}"
        );
        let manifest = read(&path);
        assert_eq!(manifest["name"], "org.cable.hybrid");
        assert_eq!(manifest["type"], "stdio");
        assert_eq!(
            manifest["path"],
            host.canonicalize().unwrap().to_str().unwrap()
        );
        if browser == "Firefox" {
            assert_eq!(
                manifest["allowed_extensions"],
                serde_json::json!([FIREFOX_ID])
            );
            assert!(manifest.get("allowed_origins").is_none());
        } else {
            assert_eq!(
                manifest["allowed_origins"],
                serde_json::json!([CHROMIUM_ORIGIN])
            );
            assert!(manifest.get("allowed_extensions").is_none());
        }
    }
    let installed = doctor_browsers(home.path());
    assert!(
        installed.iter().all(|(_, ok, _)| ok == true),
        "{installed:?}"
    );

    // The host disappears: every check fails and says where the manifest points.
    std::fs::remove_file(&host).unwrap();
    let broken = doctor_browsers(home.path());
    assert!(
        broken
            .iter()
            .all(|(_, ok, detail)| ok == false && detail.contains("not an executable")),
        "{broken:?}"
    );

    let out = ok(&cablectl(home.path(), &["browser", "uninstall"]));
    assert_eq!(out.matches("removed").count(), 5, "{out}");
    for (_, dir) in standard(home.path()) {
        assert!(!dir.join("org.cable.hybrid.json").exists());
    }
    let out = ok(&cablectl(home.path(), &["browser", "uninstall"]));
    assert_eq!(out.matches("none at").count(), 5, "{out}");
}

#[test]
fn the_dir_flags_write_only_the_folders_given() {
    let home = tempfile::tempdir().unwrap();
    let host = fake_host(home.path());
    let chromium = home.path().join("profile/NativeMessagingHosts");
    let firefox = home.path().join("ff");
    let args = [
        "browser",
        "install",
        "--host",
        host.to_str().unwrap(),
        "--chromium-dir",
        chromium.to_str().unwrap(),
        "--firefox-dir",
        firefox.to_str().unwrap(),
    ];
    ok(&cablectl(home.path(), &args));
    assert_eq!(
        read(&chromium.join("org.cable.hybrid.json"))["allowed_origins"][0],
        CHROMIUM_ORIGIN
    );
    assert_eq!(
        read(&firefox.join("org.cable.hybrid.json"))["allowed_extensions"][0],
        FIREFOX_ID
    );
    for (_, dir) in standard(home.path()) {
        assert!(!dir.exists(), "{} was written", dir.display());
    }
    let out = ok(&cablectl(
        home.path(),
        &[
            "browser",
            "uninstall",
            "--chromium-dir",
            chromium.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("removed"), "{out}");
    assert!(!chromium.join("org.cable.hybrid.json").exists());
    assert!(firefox.join("org.cable.hybrid.json").exists());
}

#[test]
fn without_a_host_binary_install_refuses_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = cablectl(
        home.path(),
        &["browser", "install", "--host", "/nonexistent/host"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no such file"), "{stderr}");

    // The default: the host next to cablectl (a link to it in a folder of its own).
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let linked = bin.join("cablectl");
    std::fs::hard_link(BIN, &linked)
        .or_else(|_| std::fs::copy(BIN, &linked).map(|_| ()))
        .unwrap();
    let out = cablectl_at(&linked, home.path(), &["browser", "install"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("found no cable-browser-host"), "{stderr}");
    assert!(!home.path().join(".mozilla").exists(), "nothing written");

    let host = fake_host(&bin);
    ok(&cablectl_at(&linked, home.path(), &["browser", "install"]));
    let manifest = read(
        &home
            .path()
            .join(".mozilla/native-messaging-hosts/org.cable.hybrid.json"),
    );
    assert_eq!(
        manifest["path"],
        host.canonicalize().unwrap().to_str().unwrap()
    );
}
