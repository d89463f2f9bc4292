//! `cablectl demo`: a registration and a sign-in on loopback, end to end: a local tunnel
//! server, the virtual radio and a software phone, with each phase timed and the signatures
//! verified here, independently of the phone.

use crate::printer::Printer;
use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cable_ctap::{client_data_hash, verify_assertion, verify_packed_self_attestation};
use cable_tunnel_server::{ServerLimits, TunnelServer};
use cabled::engine::{
    CancellationToken, Engine, EngineConfig, EventKind, EventSink, LinkBook, MemoryLinkBook,
    RadioConfig, Route, TunnelConfig, WebAuthnRequest,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

const ORIGIN: &str = "https://demo.cable.example";
const RP_ID: &str = "demo.cable.example";

pub fn run(json: bool, no_qr: bool) -> anyhow::Result<()> {
    let printer = Printer {
        json,
        draw_qr: !no_qr,
    };
    crate::commands::runtime()?.block_on(demo(printer))
}

struct Loopback {
    engine: Engine,
    book: Arc<MemoryLinkBook>,
    tunnel_url: String,
    radio: SocketAddr,
    store: std::path::PathBuf,
}

async fn demo(printer: Printer) -> anyhow::Result<()> {
    let server = TunnelServer::bind("127.0.0.1:0".parse()?, ServerLimits::default())
        .await
        .context("cannot start the local tunnel server")?
        .spawn();
    let radio = free_udp_port().context("cannot find a free UDP port for the virtual radio")?;
    let store = std::env::temp_dir().join(format!("cable-demo-{}.json", std::process::id()));
    let config = EngineConfig {
        tunnel: TunnelConfig::Override(server.base_url()),
        radio: RadioConfig::Virtual(radio),
        // The phone offers to remember this computer; links live in memory, not in the
        // user's store.
        linking: true,
        ..EngineConfig::default()
    };
    let book = Arc::new(MemoryLinkBook::default());
    let lo = Loopback {
        engine: Engine::with_links(config, book.clone()),
        book,
        tunnel_url: server.base_url(),
        radio,
        store,
    };
    say(
        &printer,
        &format!(
            "local tunnel server: {}; virtual radio: udp:{radio}",
            lo.tunnel_url
        ),
    );

    let result = async {
        say(
            &printer,
            "== 1. Registration: the phone creates a passkey ==",
        );
        let registration = ceremony(&lo, printer, registration_options()).await?;
        let (cose_key, credential_id) = check_registration(&registration)?;
        say(
            &printer,
            "attestation verified: packed self-attestation, ES256, signed by the new credential",
        );

        say(
            &printer,
            "== 2. Sign-in with the QR code (no credential ID given) ==",
        );
        let assertion = ceremony(&lo, printer, sign_in_options()).await?;
        check_assertion(&assertion, &cose_key, &credential_id)?;
        say(
            &printer,
            "assertion verified against the public key from the registration",
        );

        say(
            &printer,
            "== 3. Sign-in through the link: no QR code, the phone is woken ==",
        );
        let assertion = linked_sign_in(&lo, printer).await?;
        check_assertion(&assertion, &cose_key, &credential_id)?;
        say(
            &printer,
            "assertion verified; the phone was reached without a QR code",
        );
        anyhow::Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&lo.store);
    let _ = server.shutdown().await;
    result
}

fn say(printer: &Printer, text: &str) {
    if !printer.json {
        println!("{text}");
    }
}

/// Runs one WebAuthn ceremony with a software phone that scans the QR as soon as it is shown.
async fn ceremony(
    lo: &Loopback,
    printer: Printer,
    request: WebAuthnRequest,
) -> anyhow::Result<Value> {
    let (qr_tx, mut qr_rx) = mpsc::unbounded_channel();
    let sink = EventSink::new(move |event| {
        if let EventKind::Qr { url } = &event.kind {
            let _ = qr_tx.send(url.clone());
        }
        printer.event(&event);
    });
    let phone_config = |url: String| {
        cable_phone::PhoneConfig::new(url, lo.tunnel_url.clone(), lo.radio)
            .with_store_path(lo.store.clone())
    };
    let engine = lo.engine.clone();
    let session_sink = sink.clone();
    let session = tokio::spawn(async move {
        engine
            // The QR path only: the phone is not waiting to be woken in these steps.
            .webauthn_via(
                request,
                Route::QrOnly,
                session_sink,
                CancellationToken::new(),
            )
            .await
    });
    let url = qr_rx.recv().await;
    let phone = url.map(|url| tokio::spawn(cable_phone::run_qr(phone_config(url))));
    let credential = session.await.context("the session task failed")?;
    if let Some(phone) = phone {
        match phone.await {
            Ok(Ok(_report)) => {}
            Ok(Err(e)) => eprintln!("software phone: {e}"),
            Err(e) => eprintln!("software phone task failed: {e}"),
        }
    }
    let credential = credential.map_err(crate::commands::session::person_facing)?;
    printer.credential(&sink, credential.clone());
    Ok(credential)
}

/// Wakes the phone through its stored link: the phone waits on the tunnel server's push
/// stand-in; the engine contacts it and meets it on the tunnel.
async fn linked_sign_in(lo: &Loopback, printer: Printer) -> anyhow::Result<Value> {
    let device = lo
        .book
        .links()
        .map_err(anyhow::Error::msg)?
        .first()
        .map(|l| l.id.clone())
        .context("the phone did not offer to remember this computer")?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let config = cable_phone::LinkedConfig::new(lo.store.clone(), lo.tunnel_url.clone(), lo.radio)
        .once(true);
    let phone = tokio::spawn(cable_phone::run_linked_with_events(config, Some(tx)));
    // Contact requests reach the phone only once it is registered with the tunnel server.
    while let Some(event) = rx.recv().await {
        if matches!(event, cable_phone::LinkedEvent::Registered { .. }) {
            break;
        }
    }
    let sink = EventSink::new(move |event| printer.event(&event));
    let credential = lo
        .engine
        .webauthn_via(
            sign_in_options(),
            Route::Device(device),
            sink.clone(),
            CancellationToken::new(),
        )
        .await;
    let _ = phone.await;
    let credential = credential.map_err(crate::commands::session::person_facing)?;
    printer.credential(&sink, credential.clone());
    Ok(credential)
}

fn registration_options() -> WebAuthnRequest {
    WebAuthnRequest::Create {
        origin: ORIGIN.into(),
        options: json!({
            "rp": { "id": RP_ID, "name": "cable demo" },
            "user": { "id": URL_SAFE_NO_PAD.encode(b"demo-user-1"), "name": "alice@demo.cable.example", "displayName": "Alice" },
            "challenge": URL_SAFE_NO_PAD.encode(random::<32>()),
            "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
            "authenticatorSelection": { "residentKey": "required", "userVerification": "required" },
        }),
    }
}

fn sign_in_options() -> WebAuthnRequest {
    WebAuthnRequest::Get {
        origin: ORIGIN.into(),
        options: json!({
            "rpId": RP_ID,
            "challenge": URL_SAFE_NO_PAD.encode(random::<32>()),
            "userVerification": "required",
        }),
    }
}

/// Checks the packed self-attestation and returns the credential's COSE key and ID.
fn check_registration(credential: &Value) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let client_data = field(credential, "clientDataJSON")?;
    let attestation = field(credential, "attestationObject")?;
    let auth_data = verify_packed_self_attestation(&attestation, &client_data_hash(&client_data))
        .context("the attestation does not verify")?;
    let attested = auth_data
        .attested_credential
        .context("the registration carries no credential")?;
    Ok((
        attested.credential_public_key_bytes().to_vec(),
        attested.credential_id().to_vec(),
    ))
}

fn check_assertion(
    credential: &Value,
    cose_key: &[u8],
    credential_id: &[u8],
) -> anyhow::Result<()> {
    let id = credential["rawId"]
        .as_str()
        .context("the assertion has no rawId")?;
    anyhow::ensure!(
        URL_SAFE_NO_PAD.decode(id).ok().as_deref() == Some(credential_id),
        "the phone signed with a different credential than the one it registered"
    );
    let client_data = field(credential, "clientDataJSON")?;
    let auth_data = field(credential, "authenticatorData")?;
    let signature = field(credential, "signature")?;
    verify_assertion(
        &auth_data,
        &client_data_hash(&client_data),
        &signature,
        cose_key,
    )
    .context("the assertion signature does not verify")
}

fn field(credential: &Value, name: &str) -> anyhow::Result<Vec<u8>> {
    let text = credential["response"][name]
        .as_str()
        .with_context(|| format!("the credential has no response.{name}"))?;
    URL_SAFE_NO_PAD
        .decode(text)
        .with_context(|| format!("response.{name} is not base64url"))
}

fn random<const N: usize>() -> [u8; N] {
    use rand_core::RngCore;
    let mut bytes = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A UDP port that was free a moment ago (the engine binds it when the first session waits).
fn free_udp_port() -> std::io::Result<SocketAddr> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    socket.local_addr()
}
