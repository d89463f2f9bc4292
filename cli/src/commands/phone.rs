//! `cablectl phone`: the software phone, answering a QR code or waiting to be woken as a
//! linked phone.

use crate::cli::{PhoneArgs, ProfileArg};
use anyhow::Context;
use cable_phone::{LinkedConfig, LinkedEvent, PhoneConfig, PhoneProfile, UserChoice};

pub fn run(args: PhoneArgs) -> anyhow::Result<()> {
    let radio = args.radio.strip_prefix("udp:").unwrap_or(&args.radio);
    let radio: std::net::SocketAddr = radio.parse().map_err(|_| {
        anyhow::anyhow!("--radio {radio:?} is not an address: give HOST:PORT, e.g. 127.0.0.1:7999")
    })?;
    let runtime = crate::commands::runtime()?;
    let report = match &args.qr {
        Some(qr) => runtime.block_on(cable_phone::run_qr(qr_config(&args, qr, radio))),
        None => runtime.block_on(linked(&args, radio)),
    }
    .context("the software phone failed")?;
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!("{report}");
    }
    Ok(())
}

fn qr_config(args: &PhoneArgs, qr: &str, radio: std::net::SocketAddr) -> PhoneConfig {
    let mut config = PhoneConfig::new(qr, args.tunnel_url.clone(), radio)
        .with_profile(match args.profile {
            ProfileArg::Android => PhoneProfile::Android,
            ProfileArg::Ios => PhoneProfile::Ios,
        })
        .with_linking(!args.no_link);
    if args.deny {
        config = config.with_user(UserChoice::Deny);
    }
    if let Some(path) = &args.store {
        config = config.with_store_path(path);
    }
    if let Some(name) = &args.name {
        config = config.with_phone_name(name.clone());
    }
    config
}

/// Waits for wake-ups; prints `registered` once the tunnel server can wake this phone, so a
/// script (or test) knows when contact requests will reach it.
async fn linked(
    args: &PhoneArgs,
    radio: std::net::SocketAddr,
) -> cable_phone::Result<cable_phone::PhoneReport> {
    let store = args.store.clone().unwrap_or_default();
    let mut config = LinkedConfig::new(store, args.tunnel_url.clone(), radio).once(args.once);
    if args.deny {
        config = config.with_behavior(cable_phone::PhoneBehavior::deny());
    }
    if let Some(name) = &args.name {
        config = config.with_phone_name(name.clone());
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<LinkedEvent>();
    let json = args.json;
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if json {
                println!("{}", serde_json::to_string(&event).unwrap_or_default());
            } else {
                match &event {
                    LinkedEvent::Registered { .. } => println!("registered: waiting to be woken"),
                    other => println!("{}", serde_json::to_string(other).unwrap_or_default()),
                }
            }
        }
    });
    let report = cable_phone::run_linked_with_events(config, Some(tx)).await;
    let _ = printer.await;
    report
}
