//! The `navigator-controller` binary: parses the command line, serves metrics, takes part in
//! leader election and runs the controller while it leads.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use navigator_client::leader::{Elector, default_identity};
use navigator_controller::cli::Cli;
use navigator_controller::metrics::{self, Metrics};
use navigator_controller::{client, controller, logging};

/// One thread runs everything (watches, reconciles, HTTP connections, the Lease, metrics): the
/// work is I/O and at most `controller::CONCURRENCY` reconciles at a time. With a worker thread
/// per core, glibc's malloc gave each thread its own arena, and after a burst of 1,000 new
/// clusters the memory freed in each stayed with the process (docs/benchmarks.md, "RSS, third
/// round").
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let client = client::client(cli.kubeconfig.as_deref())
        .await
        .context("connecting to the API")?;
    // The Lease has its own client (its own connections): renewals must not queue behind a
    // burst of reconciles (1,000 new clusters once delayed them past the lease's expiry).
    let lease_client = client::client(cli.kubeconfig.as_deref())
        .await
        .context("connecting to the API (leader election)")?;
    let metrics = Arc::new(Metrics::new());
    let listener = metrics::bind(cli.metrics_bind_address).await?;
    let served = Arc::clone(&metrics);
    tokio::spawn(async move {
        if let Err(e) = metrics::serve(listener, served).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    let identity = cli
        .leader_election_identity
        .clone()
        .unwrap_or_else(default_identity);
    tracing::info!(
        %identity,
        namespace = cli.namespace.as_deref().unwrap_or("(all)"),
        leader_elect = cli.leader_elect,
        "navigator-controller starting"
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let elector = cli.leader_elect.then(|| {
        Elector::new(
            Api::<Lease>::namespaced(lease_client, &cli.leader_election_namespace),
            cli.leader_election_name.clone(),
            identity.clone(),
            cli.leader_election_lease_duration,
            cli.leader_election_renew_period,
        )
    });
    if let Some(elector) = &elector {
        // A follower is healthy and ready; it only waits.
        metrics.set_ready(true);
        tokio::select! {
            () = elector.acquire() => {}
            () = stopped(stop_rx.clone()) => {
                tracing::info!("stopping (signal) before leading");
                return Ok(());
            }
        }
        metrics.set_ready(false);
    }
    metrics.set_leader(true);

    let run = controller::run(
        client,
        cli.namespace.clone(),
        cli.settings(),
        Arc::clone(&metrics),
        identity,
        stopped(stop_rx.clone()),
    );
    let lost = async {
        match &elector {
            Some(e) => e.hold().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = run => {
            tracing::info!("controller stopped");
        }
        reason = lost => {
            metrics.set_leader(false);
            // Acting without the Lease could race another leader: stop at once. The process
            // manager restarts this process, which then runs as a candidate.
            tracing::error!(%reason, "lost leadership; exiting");
            anyhow::bail!("lost leadership: {reason}");
        }
    }
    if let Some(elector) = &elector {
        match elector.release().await {
            Ok(()) => tracing::info!("released the Lease"),
            Err(e) => tracing::warn!(error = %e, "releasing the Lease"),
        }
    }
    Ok(())
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
