//! The `navigator-controller` binary: parses the command line, serves metrics, takes part in
//! leader election and runs the controller while it leads.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use navigator_api::v1beta1::{CassandraCluster, ElasticsearchCluster};
use navigator_client::leader::{Elector, default_identity};
use navigator_controller::cli::Cli;
use navigator_controller::metrics::{self, Metrics};
use navigator_controller::{client, controller, logging};

/// The controller's work (watches, reconciles, their HTTP connections, metrics) runs on one
/// thread: it is I/O and at most `controller::CONCURRENCY` reconciles at a time. With a worker
/// thread per core, glibc's malloc gave each thread its own arena, and after a burst of 1,000
/// new clusters the memory freed in each stayed with the process (docs/benchmarks.md, "RSS,
/// third round"). Leader election has a thread of its own ([`election`]).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let client = client::client(cli.kubeconfig.as_deref())
        .await
        .context("connecting to the API")?;
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

    // Told to the election thread when this process stops acting (it then releases the Lease).
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let mut leading = None;
    if cli.leader_elect {
        // A follower is healthy and ready; it only waits.
        metrics.set_ready(true);
        let (mut events, thread) = election(&cli, identity.clone(), release_rx)?;
        tokio::select! {
            event = events.recv() => match event {
                Some(Leadership::Acquired) => {}
                Some(Leadership::Lost(reason)) => anyhow::bail!("leader election: {reason}"),
                None => anyhow::bail!("leader election stopped before leading"),
            },
            () = stopped(stop_rx.clone()) => {
                tracing::info!("stopping (signal) before leading");
                let _ = release_tx.send(true);
                join(thread).await;
                return Ok(());
            }
        }
        metrics.set_ready(false);
        leading = Some((events, thread));
    }
    metrics.set_leader(true);

    // One controller per kind of cluster, each with its own caches, on the same thread.
    let cassandra = controller::run::<CassandraCluster>(
        client.clone(),
        cli.namespace.clone(),
        cli.settings(),
        Arc::clone(&metrics),
        identity.clone(),
        stopped(stop_rx.clone()),
    );
    let elasticsearch = controller::run::<ElasticsearchCluster>(
        client,
        cli.namespace.clone(),
        cli.elasticsearch_settings(),
        Arc::clone(&metrics),
        identity,
        stopped(stop_rx.clone()),
    );
    let run = async {
        tokio::join!(cassandra, elasticsearch);
    };
    let lost = async {
        match leading.as_mut() {
            Some((events, _)) => match events.recv().await {
                Some(Leadership::Lost(reason)) => reason,
                Some(Leadership::Acquired) | None => "the election thread stopped".to_owned(),
            },
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
    if let Some((_, thread)) = leading {
        let _ = release_tx.send(true);
        join(thread).await;
    }
    Ok(())
}

/// What the election thread tells the controller.
enum Leadership {
    /// This process holds the Lease: it may act.
    Acquired,
    /// Leadership is lost (or could not be sought), with why.
    Lost(String),
}

/// Starts leader election on a thread of its own, with its own runtime and API client (its
/// own connections): renewals never wait behind the controller's work, neither for a
/// connection (1,000 new clusters once delayed them past the Lease's expiry) nor for the
/// controller's thread. The thread acquires the Lease, reports it, holds it until it is lost
/// (reported) or `release` turns true, then gives it up.
fn election(
    cli: &Cli,
    identity: String,
    release: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(
    tokio::sync::mpsc::UnboundedReceiver<Leadership>,
    std::thread::JoinHandle<()>,
)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let kubeconfig = cli.kubeconfig.clone();
    let namespace = cli.leader_election_namespace.clone();
    let name = cli.leader_election_name.clone();
    let duration = cli.leader_election_lease_duration;
    let renew = cli.leader_election_renew_period;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the leader election runtime")?;
    let thread = std::thread::Builder::new()
        .name("leader-election".into())
        .spawn(move || {
            runtime.block_on(async move {
                let released = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|r| *r).await;
                };
                let client = match client::client(kubeconfig.as_deref()).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Leadership::Lost(format!(
                            "connecting to the API (leader election): {e}"
                        )));
                        return;
                    }
                };
                let elector = Elector::new(
                    Api::<Lease>::namespaced(client, &namespace),
                    name,
                    identity,
                    duration,
                    renew,
                );
                tokio::select! {
                    () = elector.acquire() => {}
                    () = released(release.clone()) => return,
                }
                if tx.send(Leadership::Acquired).is_err() {
                    return;
                }
                tokio::select! {
                    reason = elector.hold() => {
                        let _ = tx.send(Leadership::Lost(reason));
                        return;
                    }
                    () = released(release.clone()) => {}
                }
                match elector.release().await {
                    Ok(()) => tracing::info!("released the Lease"),
                    Err(e) => tracing::warn!(error = %e, "releasing the Lease"),
                }
            });
        })
        .context("starting the leader election thread")?;
    Ok((rx, thread))
}

/// Waits for the election thread to finish (it releases the Lease first).
async fn join(thread: std::thread::JoinHandle<()>) {
    match tokio::task::spawn_blocking(move || thread.join()).await {
        Ok(Ok(())) => {}
        _ => tracing::warn!("the leader election thread failed"),
    }
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
