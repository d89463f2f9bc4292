//! `cablectl completions SHELL` and `cablectl man`, generated from the clap definitions.

use crate::cli::Cli;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "cablectl", &mut std::io::stdout());
    Ok(())
}

pub fn man() -> anyhow::Result<()> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .map_err(|e| anyhow::anyhow!("cannot write the man page: {e}"))
}
