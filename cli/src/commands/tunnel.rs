//! `cablectl tunnel domain`.

use crate::cli::TunnelCommand;

pub fn run(cmd: TunnelCommand) -> anyhow::Result<()> {
    match cmd {
        TunnelCommand::Domain { id } => domain(&id),
        TunnelCommand::Serve { listen } => serve(listen),
    }
}

fn serve(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use cable_tunnel_server::{ServerLimits, TunnelServer};
    let runtime = crate::commands::runtime()?;
    runtime.block_on(async move {
        let server = TunnelServer::bind(listen, ServerLimits::default())
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        println!("tunnel server listening on {}", server.base_url());
        println!(
            "use it with --tunnel-url {}; Ctrl-C stops it",
            server.base_url()
        );
        server
            .run_until(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| anyhow::anyhow!("the tunnel server failed: {e}"))
    })
}

fn domain(text: &str) -> anyhow::Result<()> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse::<u16>(),
    };
    let id = parsed.map_err(|_| {
        anyhow::anyhow!("{text:?} is not a tunnel domain ID: give a number from 0 to 65535")
    })?;
    match cable_tunnel::domain_name(id) {
        Some(host) => {
            println!("{host}");
            Ok(())
        }
        None => anyhow::bail!(
            "domain ID {id} is in the assigned range (0-255) but no server is assigned to it; \
             only 0 (Google) and 1 (Apple) are known"
        ),
    }
}
