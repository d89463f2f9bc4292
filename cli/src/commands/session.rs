//! `cablectl register` and `cablectl sign-in`: a WebAuthn ceremony with the phone.

use crate::cli::{RegisterArgs, SessionFlags, SignInArgs};
use crate::commands::daemon_link;
use crate::printer::Printer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cabled::engine::{
    CancellationToken, Engine, EngineConfig, RadioConfig, Route, SessionError, TunnelConfig,
    WebAuthnRequest,
};
use cabled::history::{redact, FrontDoor, HistoryStore, Operation, Recorder};
use cabled::ipc::api::{WebAuthnCreate, WebAuthnGet, WebAuthnParams};
use cabled::ipc::config::{DaemonConfig, Overrides};
use cabled::store_book::{BrokenBook, StoreBook};
use rand_core::RngCore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub fn register(args: RegisterArgs) -> anyhow::Result<()> {
    let options = json!({
        "rp": { "id": args.rp_id, "name": args.rp_id },
        "user": {
            "id": random_b64(16),
            "name": args.user_name,
            "displayName": args.display_name.as_deref().unwrap_or(&args.user_name),
        },
        "challenge": random_b64(32),
        "pubKeyCredParams": [
            { "type": "public-key", "alg": -7 },
            { "type": "public-key", "alg": -257 },
        ],
        "authenticatorSelection": {
            "residentKey": if args.non_discoverable { "discouraged" } else { "required" },
            "requireResidentKey": !args.non_discoverable,
            "userVerification": "required",
        },
        "attestation": "none",
        "timeout": args.session.timeout * 1000,
    });
    let request = WebAuthnRequest::Create {
        origin: args.origin,
        options,
    };
    run(&args.session, request)
}

pub fn sign_in(args: SignInArgs) -> anyhow::Result<()> {
    for id in &args.credential_ids {
        URL_SAFE_NO_PAD
            .decode(id)
            .map_err(|_| anyhow::anyhow!("--credential-id {id:?} is not base64url (no padding)"))?;
    }
    let allow: Vec<Value> = args
        .credential_ids
        .iter()
        .map(|id| json!({ "type": "public-key", "id": id }))
        .collect();
    let options = json!({
        "challenge": random_b64(32),
        "rpId": args.rp_id,
        "allowCredentials": allow,
        "userVerification": "required",
        "timeout": args.session.timeout * 1000,
    });
    let request = WebAuthnRequest::Get {
        origin: args.origin,
        options,
    };
    run(&args.session, request)
}

pub fn engine_config(flags: &SessionFlags) -> anyhow::Result<EngineConfig> {
    let mut config = EngineConfig {
        radio: RadioConfig::parse(&flags.radio)?,
        ..EngineConfig::default()
    };
    if let Some(url) = &flags.tunnel_url {
        config.tunnel = TunnelConfig::Override(url.clone());
    }
    config.timeouts.advert = Duration::from_secs(flags.timeout);
    config.timeouts.linking_wait = Duration::from_secs(flags.link_wait);
    Ok(config)
}

/// The engine, with the store of linked phones unless linking is off. A store that cannot be
/// opened is reported and the session goes on with the QR code alone.
fn engine(flags: &SessionFlags, mut config: EngineConfig) -> Engine {
    if flags.no_link {
        return Engine::new(config);
    }
    match cable_store::LinkStore::open_default() {
        Ok(store) => {
            config.linking = true;
            Engine::with_links(config, Arc::new(StoreBook::new(store)))
        }
        // `--device` needs the store: its error, not "no such phone", is the answer.
        Err(e) if flags.device.is_some() => {
            Engine::with_links(config, Arc::new(BrokenBook::new(e)))
        }
        Err(e) => {
            eprintln!(
                "cablectl: linked phones unavailable ({e}); continuing with the QR code only"
            );
            Engine::new(config)
        }
    }
}

fn route(flags: &SessionFlags) -> Route {
    match (&flags.device, flags.qr_only) {
        (Some(id), _) => Route::Device(id.clone()),
        (None, true) => Route::QrOnly,
        (None, false) => Route::Any,
    }
}

fn run(flags: &SessionFlags, request: WebAuthnRequest) -> anyhow::Result<()> {
    let config = engine_config(flags)?;
    let route = route(flags);
    let flags = flags.clone();
    let printer = Printer {
        json: flags.json,
        draw_qr: true,
    };
    let runtime = crate::commands::runtime()?;
    runtime.block_on(async move {
        let sink = printer.sink();
        if let Some(client) = daemon_for(&flags).await {
            let (create, params) = daemon_params(&request, &flags);
            let credential = if create {
                daemon_link::webauthn::<WebAuthnCreate>(&client, params, printer, &sink).await?
            } else {
                daemon_link::webauthn::<WebAuthnGet>(&client, params, printer, &sink).await?
            };
            printer.credential(&sink, credential);
            return Ok(());
        }
        let engine = engine(&flags, config);
        let recording = recorder().begin(
            FrontDoor::Cli,
            match &request {
                WebAuthnRequest::Create { .. } => Operation::Create,
                WebAuthnRequest::Get { .. } => Operation::Get,
            },
            redact::rp_id_of(&request),
        );
        let cancel = CancellationToken::new();
        let ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.cancel();
            }
        });
        let result = engine
            .webauthn_via(request, route, recording.observe(sink.clone()), cancel)
            .await;
        recording.finish(&result);
        match result {
            Ok(credential) => {
                printer.credential(&sink, credential);
                Ok(())
            }
            Err(error) => {
                printer.error(&sink, &error);
                Err(person_facing(error))
            }
        }
    })
}

/// Where in-process sessions are recorded: the history folder cabled uses, with the
/// `[history]` settings of cabled.toml. A folder that cannot be used is said once and the
/// session goes on unrecorded.
fn recorder() -> Recorder {
    let settings = DaemonConfig::load(None, &Overrides::default())
        .map(|c| c.history)
        .unwrap_or_default();
    if !settings.enabled {
        return Recorder::off();
    }
    match HistoryStore::open_default(settings) {
        Ok(store) => Recorder::new(store),
        Err(e) => {
            eprintln!("cablectl: this session is not recorded in the history: {e}");
            Recorder::off()
        }
    }
}

/// The running daemon, unless this session needs options only the in-process engine has
/// (a tunnel or radio override, a specific route) or the user said `--no-daemon`.
async fn daemon_for(flags: &SessionFlags) -> Option<cabled::ipc::client::Client> {
    let overrides = flags.tunnel_url.is_some() || flags.radio != "bluetooth" || flags.no_link;
    if flags.no_daemon || overrides {
        return None;
    }
    daemon_link::connect().await
}

/// The daemon's params for `request`; true for `webauthn.create`.
fn daemon_params(request: &WebAuthnRequest, flags: &SessionFlags) -> (bool, WebAuthnParams) {
    let (create, origin, options) = match request {
        WebAuthnRequest::Create { origin, options } => (true, origin, options),
        WebAuthnRequest::Get { origin, options } => (false, origin, options),
    };
    let params = WebAuthnParams {
        origin: origin.clone(),
        options: options.as_object().cloned().unwrap_or_default(),
        device: flags.device.clone(),
        qr_only: flags.qr_only.then_some(true),
        top_origin: None,
    };
    (create, params)
}

/// The stderr line for a failed session: the message, and the code for scripts.
pub fn person_facing(error: SessionError) -> anyhow::Error {
    anyhow::anyhow!("{error} [{}]", error.code())
}

fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand_core::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
