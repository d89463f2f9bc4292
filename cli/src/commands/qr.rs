//! `cablectl qr new | decode | show`.

use crate::cli::QrCommand;
use crate::output::json_line;
use anyhow::Context;
use cable_qr::{render, QrHandshake, QrPayload, RequestType};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(cmd: QrCommand) -> anyhow::Result<()> {
    match cmd {
        QrCommand::New {
            json,
            request_type,
            linking,
        } => new(json, &request_type, linking),
        QrCommand::Decode { url, json } => decode(&url, json),
        QrCommand::Show { url, svg, png } => show(&url, svg, png),
    }
}

fn new(json: bool, request_type: &str, linking: bool) -> anyhow::Result<()> {
    let request_type = match request_type {
        "ga" => RequestType::GetAssertion,
        "mc" => RequestType::MakeCredential,
        other => anyhow::bail!("unknown request type {other:?}: use ga (sign in) or mc (register)"),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let handshake = QrHandshake::generate(&mut rand_core::OsRng, request_type, linking, now);
    let url = handshake.url();
    let secret = hex::encode(handshake.payload().secret.expose());
    let public_key = hex::encode(handshake.identity().public_key().compressed());
    if json {
        json_line(&json!({ "url": url, "qr_secret": secret, "public_key": public_key }));
    } else {
        println!("{url}");
        println!("qr_secret:  {secret}   (debug only: anyone with it can impersonate this QR)");
        println!("public_key: {public_key}");
    }
    Ok(())
}

fn decode(url: &str, json: bool) -> anyhow::Result<()> {
    let payload = QrPayload::parse_url(url).context("cannot decode the QR code")?;
    let fields = json!({
        "public_key": hex::encode(payload.public_key.compressed()),
        "qr_secret": hex::encode(payload.secret.expose()),
        "known_domains": payload.known_domains,
        "timestamp": payload.timestamp,
        "supports_linking": payload.supports_linking,
        "request_type": payload.request_type,
        "ble_data_channel": payload.ble_data_channel,
        "tunnel_id": hex::encode(payload.tunnel_id()),
    });
    if json {
        json_line(&fields);
    } else if let Some(map) = fields.as_object() {
        for (name, value) in map {
            println!("{name:<17} {value}");
        }
    }
    Ok(())
}

fn show(
    url: &str,
    svg: Option<std::path::PathBuf>,
    png: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    // Drawing a URL that no phone would accept helps no one: check it first.
    QrPayload::parse_url(url).context("refusing to draw an invalid QR code")?;
    if let Some(path) = svg {
        let text = render::svg(url).context("cannot draw the QR code")?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    } else if let Some(path) = png {
        let bytes = render::png(url, 8).context("cannot draw the QR code")?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        print!(
            "{}",
            crate::printer::draw_qr(url).context("cannot draw the QR code")?
        );
    }
    Ok(())
}
