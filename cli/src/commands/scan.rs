//! `cablectl scan`: a live list of hybrid adverts, for debugging a phone that "never connects".

use crate::cli::ScanArgs;
use crate::output::parse_hex;
use anyhow::Context;
use cable_ble::scan::{RadioState, ScanEvent, ScanHandle, Scanner, VirtualRadioScanner};
use cable_ble::{decrypt_advert, is_hybrid_uuid, Advert, DomainCheck};
use cable_keys::{EidKey, QrSecret};
use cabled::engine::RadioConfig;
use serde_json::json;
use std::time::{Duration, Instant};

pub fn run(args: ScanArgs) -> anyhow::Result<()> {
    let key = eid_key(&args)?;
    let radio = RadioConfig::parse(&args.radio)?;
    crate::commands::runtime()?.block_on(async move {
        let mut handle = start(&radio).await?;
        if !args.json {
            println!("scanning {} for hybrid adverts (UUIDs FFF9 and FDE2); Ctrl-C stops", radio.describe());
        }
        let start = Instant::now();
        if let state @ RadioState::Down(_) = handle.radio_state() {
            show_radio(&state, start.elapsed(), args.json);
        }
        let limit = args.duration.map(Duration::from_secs);
        loop {
            let remaining = limit.map(|l| l.saturating_sub(start.elapsed()));
            let next = tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tokio::time::sleep(remaining.unwrap_or(Duration::MAX)), if remaining.is_some() => break,
                event = handle.next_event() => event,
            };
            let advert = match next {
                ScanEvent::Advert(advert) => Some(advert),
                ScanEvent::Radio(state) => {
                    show_radio(&state, start.elapsed(), args.json);
                    continue;
                }
                ScanEvent::Ended => None,
            };
            let Some(advert) = advert else {
                let cause = handle.stop().await.err();
                anyhow::bail!("the radio stopped: {}", cause.map(|e| e.to_string()).unwrap_or_else(|| "no reason given".into()));
            };
            if is_hybrid_uuid(advert.uuid) {
                show(&advert, key.as_ref(), start.elapsed(), args.json);
            }
        }
        let _ = handle.stop().await;
        Ok(())
    })
}

fn eid_key(args: &ScanArgs) -> anyhow::Result<Option<EidKey>> {
    let secret = match (&args.qr, &args.secret) {
        (Some(url), _) => {
            cable_qr::QrPayload::parse_url(url)
                .context("cannot decode --qr")?
                .secret
        }
        (None, Some(hex)) => {
            let bytes = parse_hex("--secret", hex)?;
            QrSecret::from_slice(&bytes).ok_or_else(|| {
                anyhow::anyhow!("--secret has {} bytes; a QR secret has 16", bytes.len())
            })?
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(cable_keys::eid_key(secret.expose(), &[])))
}

async fn start(radio: &RadioConfig) -> anyhow::Result<ScanHandle> {
    let handle = match radio {
        RadioConfig::Virtual(addr) => VirtualRadioScanner::bind(*addr).await?.start().await?,
        #[cfg(feature = "bluetooth")]
        RadioConfig::Bluetooth { adapter } => {
            use cable_ble::scan::{AdapterChoice, BluetoothScanner};
            let choice = adapter.clone().map(AdapterChoice::Name).unwrap_or_default();
            BluetoothScanner::new(choice).start().await?
        }
        #[cfg(not(feature = "bluetooth"))]
        RadioConfig::Bluetooth { .. } => {
            anyhow::bail!("this build has no Bluetooth support; use --radio udp:HOST:PORT")
        }
    };
    Ok(handle)
}

/// The radio went down (the scan waits) or came back: the session events' names and fields.
fn show_radio(state: &RadioState, at: Duration, json: bool) {
    let t_ms = at.as_millis() as u64;
    match (state, json) {
        (RadioState::Down(down), true) => println!(
            "{}",
            json!({
                "t_ms": t_ms,
                "event": "bluetooth_waiting",
                "code": cabled::engine::SessionError::from(down.to_error()).code(),
                "message": down.to_string(),
            })
        ),
        (RadioState::Ready { adapters }, true) => println!(
            "{}",
            json!({"t_ms": t_ms, "event": "bluetooth_ready", "adapters": adapters})
        ),
        (RadioState::Down(down), false) => println!("{:>8.3}s  {down}", at.as_secs_f64()),
        (RadioState::Ready { adapters }, false) => println!(
            "{:>8.3}s  Bluetooth is back: scanning with {}",
            at.as_secs_f64(),
            adapters.join(", ")
        ),
    }
}

fn show(advert: &Advert, key: Option<&EidKey>, at: Duration, json: bool) {
    let decrypted = key.map(|k| decrypt_advert(k, &advert.service_data, DomainCheck::Qr));
    let (verdict, routing, domain) = match &decrypted {
        None => ("not checked".to_string(), None, None),
        Some(Ok(d)) => (
            "matches the QR code".to_string(),
            Some(hex::encode(d.eid.routing_id)),
            Some(d.eid.tunnel_domain_id),
        ),
        Some(Err(e)) => (e.to_string(), None, None),
    };
    if json {
        println!(
            "{}",
            json!({
                "t_ms": at.as_millis() as u64,
                "uuid": format!("{:04X}", advert.uuid),
                "address": advert.address,
                "adapter": advert.adapter,
                "rssi": advert.rssi,
                "service_data": hex::encode(&advert.service_data),
                "matches": matches!(decrypted, Some(Ok(_))),
                "verdict": verdict,
                "routing_id": routing,
                "tunnel_domain_id": domain,
            })
        );
    } else {
        println!(
            "{:>8.3}s  {:04X}  {:<17}  {:<5}  RSSI {:>4}  {}  {}",
            at.as_secs_f64(),
            advert.uuid,
            advert.address.as_deref().unwrap_or("?"),
            advert.adapter.as_deref().unwrap_or("-"),
            advert
                .rssi
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
            hex::encode(&advert.service_data),
            verdict
        );
    }
}
