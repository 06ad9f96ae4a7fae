//! The pilot's view of the API: a kube-rs client (in-cluster through the ServiceAccount token
//! and `KUBERNETES_SERVICE_HOST`, or a kubeconfig) and a watch of exactly one object — the
//! pilot's own Pilot, selected by `metadata.name` in its namespace.

use futures::StreamExt as _;
use kube::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use navigator_api::v1beta1::Pilot;
use tokio::sync::watch;

pub use navigator_client::{ClientError, client, install_crypto_provider};

/// The field selector of one object by name.
pub fn name_selector(name: &str) -> String {
    format!("metadata.name={name}")
}

/// Watches the Pilot `name` through `api` (namespaced) in a background task; the receiver
/// holds the Pilot as last seen, `None` before it is first seen and after it is deleted. The
/// watch recovers from errors with kube-rs' default backoff.
pub fn watch_own_pilot(api: Api<Pilot>, name: &str) -> watch::Receiver<Option<Pilot>> {
    let (tx, rx) = watch::channel(None);
    let config = watcher::Config::default().fields(&name_selector(name));
    let name = name.to_owned();
    tokio::spawn(async move {
        let mut events = watcher(api, config).default_backoff().boxed();
        // During a (re)list, the Pilot is gone unless the list brings it.
        let mut seen_in_list = false;
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Init) => seen_in_list = false,
                Ok(watcher::Event::InitApply(p)) => {
                    seen_in_list = true;
                    tx.send_replace(Some(p));
                }
                Ok(watcher::Event::InitDone) => {
                    if !seen_in_list {
                        tx.send_replace(None);
                    }
                }
                Ok(watcher::Event::Apply(p)) => {
                    tx.send_replace(Some(p));
                }
                Ok(watcher::Event::Delete(_)) => {
                    tracing::warn!(pilot = %name, "own Pilot deleted");
                    tx.send_replace(None);
                }
                Err(e) => tracing::warn!(pilot = %name, error = %e, "watching own Pilot"),
            }
            if tx.is_closed() {
                break;
            }
        }
    });
    rx
}
