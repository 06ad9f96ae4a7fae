//! Connecting to etcd at start, waiting for it a while: installed beside the server (the Helm
//! chart's StatefulSet), etcd starts at the same time, and a server that exited at once would be
//! restarted by the kubelet with a growing back-off. Like kube-apiserver, the server waits and
//! says why; a configuration error ends the wait at once.

use std::time::{Duration, Instant};

use etcd_store::{EtcdConfig, EtcdStore, EtcdStoreError};

/// How long the server waits at start for etcd to answer.
pub const START_WAIT: Duration = Duration::from_secs(60);

/// The pause before connection attempt `attempt + 1` (0-based): 250 ms doubling to 4 s. Pure.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(4)))
}

/// [`EtcdStore::connect`], tried again while etcd is unreachable, until `wait` has passed.
///
/// # Errors
/// A configuration error at once; the last [`EtcdStoreError::Unreachable`] after `wait`.
pub async fn connect(config: EtcdConfig, wait: Duration) -> Result<EtcdStore, EtcdStoreError> {
    let deadline = Instant::now() + wait;
    let mut attempt = 0;
    loop {
        match EtcdStore::connect(config.clone()).await {
            Err(EtcdStoreError::Unreachable { endpoints, message })
                if Instant::now() + backoff(attempt) < deadline =>
            {
                tracing::warn!(
                    %endpoints,
                    error = %message,
                    attempt = attempt + 1,
                    "etcd does not answer yet; trying again (for up to {wait:?} after start)"
                );
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_four_seconds() {
        let pauses: Vec<u64> = (0..7).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(4));
    }

    #[tokio::test]
    async fn a_configuration_error_ends_the_wait_at_once() {
        let started = Instant::now();
        let Err(err) = connect(EtcdConfig::new(Vec::<String>::new()), START_WAIT).await else {
            panic!("connected without endpoints");
        };
        assert!(matches!(err, EtcdStoreError::Config(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn an_unreachable_etcd_is_tried_until_the_wait_ends() {
        // A port nothing listens on (bound and released).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let started = Instant::now();
        let Err(err) = connect(
            EtcdConfig::new([format!("http://127.0.0.1:{port}")]),
            Duration::from_secs(2),
        )
        .await
        else {
            panic!("connected to a port nothing listens on");
        };
        assert!(matches!(err, EtcdStoreError::Unreachable { .. }), "{err}");
        assert!(
            started.elapsed() >= Duration::from_millis(750),
            "{:?}",
            started.elapsed()
        );
    }
}
