//! Shared support for Navigator's tests, benchmarks and local environments (devenv).
//!
//! [`ports`]: ports for servers that tests and devenv start (etcd, API servers, probes).
//! [`devenv`]: a devenv environment for end-to-end tests (`devenv up` in a temporary state
//! directory, kubectl, navigator-apiserver aggregated, pod logs, processes in pods).
//! [`cassandra`]: CQL through the Python cassandra-driver and checks of Pilots' ring facts.
//! [`deploy`]: `deploy/` (the rendered chart) as objects; the Helm binary.
//! [`controller`]: `navigator-controller` as a host process against devenv (SIGKILL, restart).
//! [`elasticsearch`]: Elasticsearch/OpenSearch's REST API from the host (health, shards,
//! exclusions, documents) and a continuous indexer whose acknowledged documents are read back.
//! [`kubectl_scenario`]: kubectl through the aggregation layer, every verb, both versions.
//! [`process`]: waiting until a started process is ready, or has exited first.
//! [`procfs`]: memory and thread figures of a process from `/proc/<pid>/status`.
//! [`etcd`]: a real single-member etcd process for synchronous tests (killable, restartable).
//! [`paths`]: prerequisites on the machine (binaries, images, kubectl and the other Go-built
//! Kubernetes binaries, all under `$NAVIGATOR_CACHE`), or a failure saying what to run.
//! [`pki`]: a test CA and the serving and client certificates it signs, as PEM.
//! [`pilot_pods`]: the pilots' RBAC and pod template pieces in devenv, Pilots and pods there.
//! With the `pilots` feature: `standalone`, `navigator-apiserver --standalone` and a kube
//! client for it; `pilots`, pilot binaries as host processes (stopped with SIGTERM), their
//! output.

pub mod cassandra;
pub mod controller;
pub mod deploy;
pub mod devenv;
pub mod elasticsearch;
pub mod etcd;
pub mod kubectl_scenario;
pub mod paths;
pub mod pilot_pods;
#[cfg(feature = "pilots")]
pub mod pilots;
pub mod pki;
pub mod ports;
pub mod process;
pub mod procfs;
#[cfg(feature = "pilots")]
pub mod standalone;
