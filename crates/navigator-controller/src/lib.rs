//! navigator-controller: the I/O around the pure planner in `navigator-core`.
//!
//! The controller watches CassandraClusters and, label-selected (`app=cassandracluster`), their
//! children, pods, claims and Pilots ([`stores`], [`controller`]), keeping only what the decisions read ([`strip`]). For each cluster it builds
//! the planner's observations from those caches ([`observe`]), asks
//! `navigator_core::cassandra::plan` for the one next step, carries it out ([`execute`]),
//! publishes an event ([`events`]) and writes the status when it changed ([`status_writer`]),
//! all in [`reconcile`]. Only the holder of the leader Lease acts (`navigator_client::leader`); [`metrics`]
//! serves Prometheus figures and health endpoints.

pub mod admission;
pub mod cli;
pub mod client;
pub mod context;
pub mod controller;
pub mod events;
pub mod execute;
pub mod expectations;
pub mod kind;
pub mod logging;
pub mod metrics;
pub mod observe;
pub mod reconcile;
pub mod status_writer;
pub mod stores;
pub mod strip;
