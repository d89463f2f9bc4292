//! `cable-uhid`: owns /dev/uhid, creates the one FIDO device while the active user's cabled is
//! attached, and relays its reports. See docs/security-key-install.md.

mod device;
mod seat;
mod server;
mod session;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tracing::info;

/// The privileged half of cable: one virtual FIDO security key, relayed to cabled.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The uhid character device, or a SOCK_SEQPACKET socket that plays the kernel (tests).
    #[arg(long, default_value = "/dev/uhid")]
    device: PathBuf,
    /// Where cabled connects.
    #[arg(long, default_value = "/run/cable/uhid.sock")]
    socket: PathBuf,
    /// The only user whose cabled may attach (name or uid). Without it, the user of the
    /// active session on seat0 (logind) may.
    #[arg(long, value_name = "NAME|UID")]
    user: Option<String>,
    /// The loginctl to ask instead of the one on PATH (tests give a fake; implies logind).
    #[arg(long, hide = true)]
    loginctl: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CABLE_UHID_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // journald shows escape codes literally.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cable-uhid: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let seat = seat::Seat::choose(args.user.as_deref(), args.loginctl.clone())?;
    device::probe(&args.device)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = server::listen(&args.socket)?;
        info!(socket = %args.socket.display(), device = %args.device.display(), who = %seat.describe(), "listening for cabled");
        let ctx = Arc::new(session::Context {
            device: args.device,
            seat,
            device_lock: tokio::sync::Mutex::new(()),
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = server::serve(listener, ctx) => r?,
            _ = tokio::signal::ctrl_c() => info!("interrupted"),
            _ = term.recv() => info!("terminated"),
        }
        // Exiting closes every uhid fd: the kernel destroys the device with it.
        let _ = std::fs::remove_file(&args.socket);
        Ok(())
    })
}
