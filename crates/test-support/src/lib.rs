//! Shared support for Navigator's tests, benchmarks and local environments (devenv).
//!
//! [`ports`]: ports for servers that tests and devenv start (etcd, API servers, probes).

pub mod ports;
