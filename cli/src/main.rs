//! `cablectl`: the command line of cable.
//!
//! Every command prints its result on stdout (human text, or JSON with `--json`) and, on failure,
//! exactly one line on stderr saying what failed and what to do, then exits non-zero.

mod cli;
mod commands;
mod output;
mod printer;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // Logs go to stderr, errors only unless RUST_LOG asks; tunnel dependencies stay at info
    // even then, so no log shows a contact ID or client payload (see `cabled::logging`).
    cabled::logging::init(tracing_subscriber::filter::LevelFilter::ERROR);
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the cause chain on one line: "what failed: why".
            eprintln!("cablectl: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
