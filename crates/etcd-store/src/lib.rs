//! The `apimachinery` [`Storage`](apimachinery::store::Storage) contract on etcd v3, with
//! Kubernetes' key layout and revision semantics, so a navigator-apiserver can keep its data
//! where kube-apiserver keeps its own — and read what the Go Navigator stored there.
//!
//! ```text
//!   registry ──object_key()──► EtcdStore ──gRPC (TLS)──► etcd
//!                               │  get/list: Range (linearizable, at a revision, paged)
//!                               │  create:   Txn(create_revision == 0 → Put)
//!                               │  update:   read, check uid, Txn(mod_revision == read → Put)
//!                               │  delete:   read, check uid, Txn(mod_revision == read → Delete)
//!                               │  watch:    Watch(prefix, start, prev_kv), resumed on loss
//!                               └  compact:  Compact(physical); compactor: compact_rev_key
//! ```
//!
//! # Constructing it
//! ```no_run
//! # async fn f() -> Result<(), etcd_store::EtcdStoreError> {
//! use etcd_store::{EtcdConfig, EtcdStore, EtcdTls};
//! let cfg = EtcdConfig::new(["https://127.0.0.1:2379"]).with_tls(EtcdTls {
//!     ca_file: Some("ca.crt".into()),
//!     cert_file: Some("client.crt".into()),
//!     key_file: Some("client.key".into()),
//! });
//! let store = EtcdStore::connect(cfg).await?;
//! let compactor = store.spawn_compactor(std::time::Duration::from_secs(300));
//! # drop(compactor); Ok(()) }
//! ```
//!
//! See `docs/storage-etcd.md` for the key layout, revisions, compaction and watch resume.

mod compactor;
mod config;
mod error;
mod failover;
mod keys;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod watch;

pub use compactor::{COMPACT_REV_KEY, CompactorError, CompactorState, TickOutcome};
pub use config::{EtcdConfig, EtcdTls};
pub use error::EtcdStoreError;
pub use store::EtcdStore;
