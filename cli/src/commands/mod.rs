//! One module per command group; `run` dispatches.

mod advert;
pub mod agent;
pub mod browser;
pub mod daemon_link;
mod debug_report;
mod demo;
mod devices;
mod docs;
mod doctor;
mod history;
mod phone;
mod qr;
mod scan;
pub mod session;
mod stats;
mod tunnel;

use crate::cli::{Cli, Command, DaemonCommand};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Qr(cmd) => qr::run(cmd),
        Command::Advert(cmd) => advert::run(cmd),
        Command::Tunnel(cmd) => tunnel::run(cmd),
        Command::Register(args) => session::register(args),
        Command::SignIn(args) => session::sign_in(args),
        Command::Phone(args) => phone::run(args),
        Command::Demo { json, no_qr } => demo::run(json, no_qr),
        Command::Scan(args) => scan::run(args),
        Command::Devices(cmd) => devices::run(cmd),
        Command::Browser(cmd) => browser::run(cmd),
        Command::Doctor { json, offline } => doctor::run(json, offline),
        Command::Daemon(DaemonCommand::Status { json }) => daemon_link::print_status(json),
        Command::History(args) => history::run(args),
        Command::Stats { json, last } => stats::run(json, last),
        Command::DebugReport {
            output,
            offline,
            last,
        } => debug_report::run(output, offline, last),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man => docs::man(),
        Command::Agent { socket, display } => agent::run(socket, display),
    }
}

/// The async runtime for commands that do I/O.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}
