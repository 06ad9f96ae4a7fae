//! The API client: from a kubeconfig when given, else inferred (the shared
//! `navigator-client` crate).

pub use navigator_client::{ClientError, client, install_crypto_provider};
