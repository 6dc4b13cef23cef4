//! `warmrun-server`: runs the service until SIGINT/SIGTERM, which drain the node (see
//! `server::serve`); a second signal cuts the drain short.

use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut config_path: Option<PathBuf> = std::env::var_os("WARMRUN_CONFIG").map(Into::into);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => config_path = args.next().map(Into::into),
            "--help" | "-h" => {
                println!("warmrun-server [--config FILE]\n\nEnvironment overrides:");
                for (k, what) in server::config::ENV_OVERRIDES {
                    println!("  {k:<28} {what}");
                }
                println!(
                    "\nSIGTERM/SIGINT drain the node: /readyz turns 503 at once, connections are\n\
                     accepted for drain_delay_ms, runs and sessions with a run finish within\n\
                     shutdown_grace_ms, then every container is removed. A second signal\n\
                     cuts the drain short."
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let config = server::config::ServerConfig::load(config_path.as_deref())?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let state = server::build_state(config).await?;
    tracing::info!(node = %state.node.id, "listening on http://{}", state.config.listen);
    let app = server::app_router(state.clone());
    let signalled = state.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("signal: draining");
        signalled.begin_drain();
        shutdown_signal().await;
        tracing::warn!("second signal: shutting down now");
        signalled.shutdown.cancel();
    });
    server::serve(state, app, listener).await
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
