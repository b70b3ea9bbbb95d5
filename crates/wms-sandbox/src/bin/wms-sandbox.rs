//! `wms-sandbox serve --listen HOST:PORT --data DIR`: prints the URLs as JSON on the first
//! stdout line, then serves until Ctrl-C / SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wms_sandbox::{Sandbox, SandboxConfig, Settings};

#[derive(Parser)]
#[command(
    name = "wms-sandbox",
    about = "Local Amazon SP-API / LWA stand-in and raw TCP printer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every stand-in.
    Serve {
        /// HTTPS listener (port 0: ephemeral).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Data directory (state, TLS certificate, print jobs).
        #[arg(long)]
        data: PathBuf,
        /// Raw TCP printer listener (default: an ephemeral port).
        #[arg(long)]
        printer_listen: Option<SocketAddr>,
        /// Lifetime of issued access tokens, for a fresh data directory.
        #[arg(long, default_value_t = 3600)]
        access_token_lifetime_secs: u64,
        /// searchOrders' lag behind "now" (Amazon: 120 s), for a fresh data directory.
        #[arg(long, default_value_t = 120)]
        search_lag_secs: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let Command::Serve {
        listen,
        data,
        printer_listen,
        access_token_lifetime_secs,
        search_lag_secs,
    } = Cli::parse().command;
    let running = Sandbox::start(SandboxConfig {
        listen,
        printer_listen,
        data_dir: data,
        settings: Settings {
            access_token_lifetime_secs,
            search_lag_secs,
        },
    })
    .await
    .context("starting the sandbox")?;
    let line = serde_json::to_string(running.urls()).context("serialising the URLs")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").context("writing to stdout")?;
    out.flush().context("flushing stdout")?;
    drop(out);
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
