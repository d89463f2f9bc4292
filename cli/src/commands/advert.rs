//! `cablectl advert decrypt`: check a captured advert against a QR secret.

use crate::cli::{AdvertCommand, AdvertDecrypt};
use crate::output::{json_line, parse_hex};
use anyhow::Context;
use cable_ble::{decrypt_advert, DomainCheck};
use cable_keys::QrSecret;
use cable_qr::QrPayload;
use serde_json::json;

pub fn run(cmd: AdvertCommand) -> anyhow::Result<()> {
    match cmd {
        AdvertCommand::Decrypt(args) => decrypt(args),
    }
}

fn decrypt(args: AdvertDecrypt) -> anyhow::Result<()> {
    let secret = match (&args.secret, &args.qr) {
        (_, Some(url)) => {
            QrPayload::parse_url(url)
                .context("cannot decode --qr")?
                .secret
        }
        (Some(hex), None) => {
            let bytes = parse_hex("--secret", hex)?;
            QrSecret::from_slice(&bytes).ok_or_else(|| {
                anyhow::anyhow!("--secret has {} bytes; a QR secret has 16", bytes.len())
            })?
        }
        (None, None) => anyhow::bail!("give --secret HEX or --qr URL"),
    };
    let service_data = parse_hex("the advert", &args.advert_hex)?;
    let key = cable_keys::eid_key(secret.expose(), &[]);
    let advert = decrypt_advert(&key, &service_data, DomainCheck::Qr)
        .context("the advert does not belong to this QR code")?;
    let domain_id = advert.eid.tunnel_domain_id;
    let domain = cable_tunnel::domain_name(domain_id);
    let fields = json!({
        "nonce": hex::encode(advert.eid.nonce),
        "routing_id": hex::encode(advert.eid.routing_id),
        "tunnel_domain_id": domain_id,
        "tunnel_domain": domain,
        "plaintext": hex::encode(advert.plaintext),
        "suffix": advert.suffix.as_ref().map(ToString::to_string),
        // Why bytes after the advert were ignored (the advert itself stays usable).
        "suffix_error": advert.suffix_error.as_ref().map(ToString::to_string),
    });
    if args.json {
        json_line(&fields);
    } else if let Some(map) = fields.as_object() {
        for (name, value) in map {
            println!("{name:<17} {value}");
        }
    }
    Ok(())
}
