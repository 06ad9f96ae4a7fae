//! `devenv`: a local Kubernetes control plane for Navigator's tests and for trying Navigator on a
//! laptop or CI machine — no Docker, only the upstream binaries built from the Go module proxy
//! (`tools/k8s`, `hack/build-k8s`).
//!
//! ```text
//!  devenv up ──► prepare (state dir, PKI, kubeconfigs, ports) ──► devenv supervise (detached)
//!                                                                   │ starts, waits for, restarts
//!                  etcd ◄── kube-apiserver (+ kube-aggregator) ◄──┬─ kube-controller-manager
//!                                                                 └─ kube-scheduler
//!  devenv down ──► SIGTERM the supervisor (by PID) ──► it stops the components in reverse order;
//!                  any component PID still alive afterwards is stopped directly.
//! ```
//!
//! Decisions are pure functions with unit tests: the state-directory [`layout`], the [`pki`] plan,
//! the command lines of every [`components`] entry, [`kubeconfig`] rendering and the restart
//! [`supervisor::Backoff`]. The I/O around them ([`probe`], [`supervisor`], [`cli`]) is thin.

pub mod binaries;
pub mod cli;
pub mod cluster_watch;
pub mod components;
pub mod dns;
pub mod kubeconfig;
pub mod kubelet;
pub mod layout;
pub mod pki;
pub mod pods;
pub mod probe;
pub mod process;
pub mod provisioner;
pub mod service_proxy;
pub mod state;
pub mod supervisor;
