//! Cluster DNS for the pod network: an authoritative server for `cluster.local` (and reverse
//! lookups under `in-addr.arpa`), fed by watches of Services, EndpointSlices and Pods.
//!
//! Pods have no upstream resolver (no internet), so everything is answered from memory at once:
//! records for Services, headless endpoints (StatefulSet pod names), pods and named ports —
//! [`zone`] lists them — NXDOMAIN for other names inside the zones, REFUSED for names outside.
//! TTL 5 s, including negative answers.
//!
//! # Use (for the pod runner's wiring)
//!
//! ```no_run
//! # async fn wire(client: kube::Client) -> Result<(), devenv::dns::DnsError> {
//! use std::net::SocketAddr;
//! // Bind first (errors surface at once), then serve until shutdown.
//! let dns = devenv::dns::Dns::bind(client, SocketAddr::from(([10, 244, 0, 1], 53))).await?;
//! dns.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! * Bind after the bridge has its gateway address (`10.244.0.1/16` on `navbr0`): binding an
//!   address the host does not have fails with [`DnsError::Bind`]. Port 53 needs root (devenv
//!   runs as root for netns anyway).
//! * Each pod's `/etc/netns/<netns>/resolv.conf` (see test-environment §2.2 item 8):
//!   `nameserver 10.244.0.1`, `search <ns>.svc.cluster.local svc.cluster.local cluster.local`,
//!   `options ndots:5 timeout:1 attempts:2`.
//! * A StatefulSet pod's own FQDN (`<hostname>.<subdomain>.<ns>.svc.cluster.local`) is only in
//!   DNS once the pod is ready (unless the Service publishes not-ready addresses), exactly as
//!   with CoreDNS; the kubelet puts it in the pod's `/etc/hosts` — the runner should too.
//! * [`Dns::run`] returns only on shutdown or if every watch stream ends; watch errors are
//!   logged to standard error and retried with backoff.
//!
//! Tests and other set-ups can serve a fixed table with [`server::DnsServer`] directly.

pub mod server;
pub mod zone;

use std::net::SocketAddr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use tokio::sync::watch;

use crate::cluster_watch::{self, Changes, Ready};
use server::DnsServer;
use zone::Zone;

/// An error of the DNS service.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The UDP socket or TCP listener could not be bound.
    #[error("cannot bind the DNS server to {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Every watch stream ended (the client was dropped).
    #[error("the Service/EndpointSlice/Pod watches ended")]
    WatchesEnded,
}

/// The DNS service: the bound server plus the watches that keep its table current.
pub struct Dns {
    server: DnsServer,
    client: Client,
    zone: watch::Sender<Arc<Zone>>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Dns {
    /// Binds UDP and TCP on `addr` (e.g. `10.244.0.1:53`). The table starts empty (every
    /// cluster name NXDOMAIN) until [`Dns::run`]'s watches have listed the cluster.
    ///
    /// # Errors
    /// [`DnsError::Bind`].
    pub async fn bind(client: Client, addr: SocketAddr) -> Result<Self, DnsError> {
        let (zone, rx) = watch::channel(Arc::new(Zone::default()));
        let server = DnsServer::bind(addr, rx).await?;
        Ok(Self {
            server,
            client,
            zone,
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// [`DnsError::Bind`] (cannot happen once bound).
    pub fn local_addr(&self) -> Result<SocketAddr, DnsError> {
        self.server.local_addr()
    }

    /// A receiver of the current table (for diagnostics and tests).
    pub fn zone(&self) -> watch::Receiver<Arc<Zone>> {
        self.zone.subscribe()
    }

    /// Watches the cluster and serves until `shutdown` resolves.
    ///
    /// # Errors
    /// [`DnsError::WatchesEnded`] if the watches stop (not on shutdown).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), DnsError> {
        let Dns {
            server,
            client,
            zone,
        } = self;
        tokio::select! {
            () = server.run(std::future::pending()) => Ok(()),
            r = feed(client, zone) => r,
            () = shutdown => Ok(()),
        }
    }
}

/// Keeps `zone` equal to the table built from the cluster's Services, EndpointSlices and Pods.
///
/// # Errors
/// [`DnsError::WatchesEnded`].
pub async fn feed(client: Client, zone: watch::Sender<Arc<Zone>>) -> Result<(), DnsError> {
    let mut changes = Changes::default();
    let services = cluster_watch::reflect::<Service>(&client, &mut changes);
    let slices = cluster_watch::reflect::<EndpointSlice>(&client, &mut changes);
    let pods = cluster_watch::reflect::<Pod>(&client, &mut changes);
    while let Some(errors) = cluster_watch::next_batch(&mut changes).await {
        for e in errors {
            cluster_watch::log("dns", &format!("watch error (retrying): {e}"));
        }
        // Until all three have listed, a table would wrongly NXDOMAIN existing names.
        if !cluster_watch::all_ready([
            &services as &dyn Ready,
            &slices as &dyn Ready,
            &pods as &dyn Ready,
        ]) {
            continue;
        }
        let table = zone::build(&services.state(), &slices.state(), &pods.state());
        zone.send_replace(Arc::new(table));
    }
    Err(DnsError::WatchesEnded)
}
