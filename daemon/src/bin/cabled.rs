//! cabled: the per-user daemon that browsers and programs hand FIDO hybrid (caBLE v2) to over
//! a Unix socket. See docs/ipc.md for the protocol and the systemd units.

use cabled::engine::{Engine, LinkBook};
use cabled::history::{HistoryStore, Recorder};
use cabled::ipc::config::{DaemonConfig, Overrides};
use cabled::ipc::socket::{self, BoundSocket};
use cabled::ipc::{serve, Daemon};
use cabled::store_book::{BrokenBook, StoreBook};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// The per-user daemon that programs delegate FIDO hybrid (phone as passkey) to.
#[derive(Debug, Parser)]
#[command(name = "cabled", version)]
struct Args {
    /// Listen here instead of $XDG_RUNTIME_DIR/cable/cabled.sock (ignored under systemd
    /// socket activation).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Read this configuration file instead of $XDG_CONFIG_HOME/cable/cabled.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// One tunnel server for every domain, e.g. ws://127.0.0.1:8080 (overrides the file).
    #[arg(long, value_name = "URL")]
    tunnel_url: Option<String>,
    /// bluetooth, bluetooth:ADAPTER or udp:HOST:PORT (the virtual radio; overrides the file).
    #[arg(long, value_name = "RADIO")]
    radio: Option<String>,
    /// Attach the virtual security key to cable-uhid at this socket (overrides the file's
    /// security_key.socket; default /run/cable/uhid.sock).
    #[arg(long, value_name = "PATH")]
    uhid_socket: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    // Before any thread starts: takes the systemd socket and clears LISTEN_* for children.
    let activated = match socket::take_activated() {
        Ok(activated) => activated,
        Err(e) => return fail(&e),
    };
    let overrides = Overrides {
        tunnel_url: args.tunnel_url.clone(),
        radio: args.radio.clone(),
    };
    let config = match DaemonConfig::load(args.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(run(args, config, activated)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn run(
    args: Args,
    config: DaemonConfig,
    activated: Option<BoundSocket>,
) -> Result<(), Box<dyn std::error::Error>> {
    let bound = match activated {
        Some(bound) => {
            if args.socket.is_some() {
                tracing::warn!("--socket is ignored: systemd passed the listening socket");
            }
            bound
        }
        None => match &args.socket {
            Some(path) => socket::bind(path, false)?,
            None => socket::bind(&socket::default_socket_path()?, true)?,
        },
    };
    let BoundSocket { listener, guard } = bound;
    let listener = tokio::net::UnixListener::from_std(listener)?;

    if !config.hybrid_enabled {
        tracing::warn!("hybrid is turned off (hybrid_enabled = false): sessions will be refused");
    }
    tracing::info!(
        socket = %guard.path().map_or("(from systemd)".into(), |p| p.display().to_string()),
        config = %config.source.as_ref().map_or("(defaults)".into(), |p| p.display().to_string()),
        radio = %config.engine.radio.describe(),
        tunnel = ?config.engine.tunnel,
        "cabled ready"
    );
    let mut config = config;
    if let Some(socket) = &args.uhid_socket {
        config.security_key.socket = socket.clone();
    }
    let engine = match linked_phones(&config) {
        Some((book, can_link)) => {
            config.engine.linking &= can_link;
            Engine::with_links(config.engine.clone(), book)
        }
        None => {
            config.engine.linking = false;
            Engine::new(config.engine.clone())
        }
    };
    let history = history(&config);
    let daemon = Daemon::with_history(engine, config, history);
    watch_signals(daemon.clone())?;
    let security_key = daemon.config.security_key.clone();
    tokio::spawn(cabled::security_key::run(daemon.clone(), security_key));
    serve(daemon, listener).await;
    guard.remove();
    tracing::info!("cabled stopped");
    Ok(())
}

/// The store of linked phones and whether phones may be offered to link, unless linking is
/// off. A store that cannot be opened stays in place as a `BrokenBook`: `devices.*` and
/// `daemon.status` report its error (a damaged store must not look empty), QR sessions still
/// work, and no link is offered that could not be stored.
fn linked_phones(config: &DaemonConfig) -> Option<(Arc<dyn LinkBook>, bool)> {
    if !config.engine.linking {
        return None;
    }
    match cable_store::LinkStore::open_default() {
        Ok(store) => {
            tracing::info!(store = %store.path().display(), "linked phones enabled");
            Some((Arc::new(StoreBook::new(store)), true))
        }
        Err(e) => {
            tracing::warn!(error = %e, "linked phones unavailable; QR sessions only");
            Some((Arc::new(BrokenBook::new(e)), false))
        }
    }
}

/// The session history, unless it is turned off; a folder that cannot be used is reported and
/// sessions go on unrecorded.
fn history(config: &DaemonConfig) -> Recorder {
    if !config.history.enabled {
        tracing::info!("session history is off ([history] enabled = false)");
        return Recorder::off();
    }
    match HistoryStore::open_default(config.history) {
        Ok(store) => {
            tracing::info!(folder = %store.dir().display(), keep = config.history.keep, "session history enabled");
            Recorder::new(store)
        }
        Err(e) => {
            tracing::warn!(error = %e, "session history unavailable; sessions are not recorded");
            Recorder::off()
        }
    }
}

/// SIGTERM and SIGINT start a graceful shutdown. (Signals need no timer: idle stays idle.)
fn watch_signals(daemon: Arc<Daemon>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down");
        daemon.shutdown.cancel();
    });
    Ok(())
}

/// `RUST_LOG` decides (default `info`); logs go to stderr, which systemd sends to the journal.
/// Tunnel dependencies stay at info even under `RUST_LOG=trace` (see `cabled::logging`).
fn init_logging() {
    cabled::logging::init(tracing_subscriber::filter::LevelFilter::INFO);
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("cabled: {e}");
    ExitCode::FAILURE
}
