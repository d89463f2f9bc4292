//! `cablectl phone`: the software phone answering a QR code on loopback.

use crate::cli::{PhoneArgs, ProfileArg};
use anyhow::Context;
use cable_phone::{PhoneConfig, PhoneProfile, UserChoice};

pub fn run(args: PhoneArgs) -> anyhow::Result<()> {
    let radio = args.radio.strip_prefix("udp:").unwrap_or(&args.radio);
    let radio: std::net::SocketAddr = radio.parse().map_err(|_| {
        anyhow::anyhow!("--radio {radio:?} is not an address: give HOST:PORT, e.g. 127.0.0.1:7999")
    })?;
    let mut config =
        PhoneConfig::new(args.qr, args.tunnel_url, radio).with_profile(match args.profile {
            ProfileArg::Android => PhoneProfile::Android,
            ProfileArg::Ios => PhoneProfile::Ios,
        });
    if args.deny {
        config = config.with_user(UserChoice::Deny);
    }
    if let Some(path) = args.store {
        config = config.with_store_path(path);
    }
    let runtime = crate::commands::runtime()?;
    let report = runtime
        .block_on(cable_phone::run_qr(config))
        .context("the software phone failed")?;
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!("{report}");
    }
    Ok(())
}
