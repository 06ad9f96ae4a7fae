//! Errors of connecting to etcd, and how etcd's errors map onto [`StoreError`].

/// Why [`crate::EtcdStore::connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdStoreError {
    /// The configuration is unusable (no endpoints, a TLS file that cannot be read, a client
    /// certificate without its key).
    #[error("invalid etcd configuration: {0}")]
    Config(String),
    /// etcd did not answer the first request (down, wrong address, TLS handshake refused, e.g.
    /// a missing or untrusted client certificate).
    #[error("cannot reach etcd at {endpoints}: {message}")]
    Unreachable {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// etcd's or the transport's error, with its causes.
        message: String,
    },
}

/// What an etcd error means for the storage contract. Pure: decided from the error alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `mvcc: required revision has been compacted`.
    Compacted,
    /// `mvcc: required revision is a future revision`.
    FutureRevision,
    /// etcd could not be reached, lost the connection mid-request, or had no leader in time:
    /// worth retrying (the message says whether a write may have been applied).
    Unavailable(String),
    /// Anything else etcd answered with: a backend failure.
    Backend(String),
}

/// etcd's messages for its two revision errors (`mvcc.ErrCompacted`, `mvcc.ErrFutureRev`),
/// which reach clients as gRPC `OutOfRange` with these texts.
const COMPACTED: &str = "required revision has been compacted";
const FUTURE: &str = "required revision is a future revision";

/// Classifies an etcd client error.
pub(crate) fn classify(err: &etcd_client::Error) -> Failure {
    let message = match err {
        etcd_client::Error::GRpcStatus(status) => Some(status.message()),
        _ => None,
    };
    classify_message(message).unwrap_or_else(|| Failure::Backend(describe(err)))
}

/// The revision error a gRPC status message names, if any.
fn classify_message(message: Option<&str>) -> Option<Failure> {
    match message {
        Some(m) if m.contains(COMPACTED) => Some(Failure::Compacted),
        Some(m) if m.contains(FUTURE) => Some(Failure::FutureRevision),
        _ => None,
    }
}

/// An error with its chain of causes, on one line (tonic's transport errors say only
/// "transport error" at the top).
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The message of a backend error for `what` failing with `err`.
pub(crate) fn backend(what: &str, err: &etcd_client::Error) -> String {
    format!("etcd {what}: {}", describe(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_etcd_status_messages() {
        let cases = [
            (
                Some("etcdserver: mvcc: required revision has been compacted"),
                Some(Failure::Compacted),
            ),
            (
                Some("etcdserver: mvcc: required revision is a future revision"),
                Some(Failure::FutureRevision),
            ),
            (Some("etcdserver: no leader"), None),
            (Some("etcdserver: request timed out"), None),
            (None, None),
        ];
        for (message, want) in cases {
            assert_eq!(classify_message(message), want, "{message:?}");
        }
    }

    #[test]
    fn other_errors_are_backend_failures_with_their_text() {
        let err = etcd_client::Error::WatchError("closed".to_owned());
        assert_eq!(
            classify(&err),
            Failure::Backend("watch error: closed".to_owned())
        );
    }
}
