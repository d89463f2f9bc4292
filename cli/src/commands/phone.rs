//! `cablectl phone`: the software phone, answering a QR code or waiting to be woken as a
//! linked phone.

use crate::cli::{PhoneArgs, ProfileArg};
use anyhow::Context;
use cable_phone::{LinkedConfig, LinkedEvent, PhoneConfig, PhoneProfile, UserChoice};
use std::time::Duration;

pub fn run(args: PhoneArgs) -> anyhow::Result<()> {
    let answer_delay = answer_delay(args.answer_after)?;
    let radio = args.radio.strip_prefix("udp:").unwrap_or(&args.radio);
    let radio: std::net::SocketAddr = radio.parse().map_err(|_| {
        anyhow::anyhow!("--radio {radio:?} is not an address: give HOST:PORT, e.g. 127.0.0.1:7999")
    })?;
    let runtime = crate::commands::runtime()?;
    let report = match &args.qr {
        Some(qr) => runtime.block_on(cable_phone::run_qr(
            qr_config(&args, qr, radio).with_answer_delay(answer_delay),
        )),
        None => runtime.block_on(linked(&args, radio, answer_delay)),
    }
    .context("the software phone failed")?;
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!("{report}");
    }
    Ok(())
}

/// `--answer-after`: seconds, at most a day (the phone's own timeouts end it sooner).
fn answer_delay(seconds: f64) -> anyhow::Result<Duration> {
    if !(0.0..=86_400.0).contains(&seconds) {
        anyhow::bail!("--answer-after {seconds} is not a number of seconds between 0 and 86400");
    }
    Ok(Duration::from_secs_f64(seconds))
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
    answer_delay: Duration,
) -> cable_phone::Result<cable_phone::PhoneReport> {
    let store = args.store.clone().unwrap_or_default();
    let mut config = LinkedConfig::new(store, args.tunnel_url.clone(), radio).once(args.once);
    let behavior = match args.deny {
        true => cable_phone::PhoneBehavior::deny(),
        false => cable_phone::PhoneBehavior::approve(),
    };
    config = config.with_behavior(behavior.with_answer_delay(answer_delay));
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
