//! `cable-prompt`: the prompt window. The prompt agent (`cablectl agent`) spawns it when there
//! is a display and talks to it in JSON lines: prompts and session events on stdin, the
//! person's choices (cancel, use a linked phone) on stdout. See the crate's README.md.

mod app;
mod protocol;
mod qr_image;
mod timeline;
mod window;

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args()
        .nth(1)
        .is_some_and(|a| a == "--help" || a == "-h")
    {
        println!("{}", include_str!("../README.md"));
        return ExitCode::SUCCESS;
    }
    match app::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cable-prompt: {e}");
            ExitCode::FAILURE
        }
    }
}
