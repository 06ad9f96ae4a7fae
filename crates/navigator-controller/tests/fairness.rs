//! Reconciles under sustained overload (more requeues due than the controller can run), with
//! kube-rs' `Controller` and nothing else (no API server): `OBJECTS` objects, each reconcile
//! taking `WORK` and asking to run again after `REQUEUE`, at most `LIMIT` at once.
//!
//! - kube-rs' own limit (`Config::concurrency`) serves requests by hash order while the limit
//!   is reached: a fixed part of the objects is never reconciled for as long as the overload
//!   lasts (in a 1,000-cluster burst, 81 clusters waited ≈ 5 minutes: docs/benchmarks.md).
//! - The controller's wiring (`controller::config()`, kube-rs unbounded, plus
//!   `admission::Admission` inside the reconcile) serves them in turn: every object is
//!   reconciled, about every `OBJECTS / capacity` seconds.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::{reflector, watcher};
use navigator_controller::admission::{Admission, AdmissionError};
use navigator_controller::controller;

const OBJECTS: usize = 200;
const WORK: Duration = Duration::from_millis(5);
const REQUEUE: Duration = Duration::from_millis(200);
const LIMIT: u16 = 2;
const RUN: Duration = Duration::from_secs(6);

struct Ctx {
    start: Instant,
    /// Per object, when each of its reconciles ended (since `start`).
    log: Mutex<BTreeMap<String, Vec<Duration>>>,
    admission: Option<Admission>,
}

fn object(i: usize) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("o-{i:03}")),
            namespace: Some("ns".to_owned()),
            resource_version: Some("1".to_owned()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

async fn reconcile(obj: Arc<ConfigMap>, ctx: Arc<Ctx>) -> Result<Action, AdmissionError> {
    let work = || async {
        tokio::time::sleep(WORK).await;
        let name = obj.metadata.name.clone().unwrap_or_default();
        ctx.log
            .lock()
            .unwrap()
            .entry(name)
            .or_default()
            .push(ctx.start.elapsed());
        Action::requeue(REQUEUE)
    };
    match &ctx.admission {
        Some(admission) => admission.run(work).await,
        None => Ok(work().await),
    }
}

/// Runs a controller over `OBJECTS` objects (all triggered at once, as by a burst of creates)
/// for `RUN`; returns each object's reconcile times.
async fn drive(config: Config, admission: Option<Admission>) -> BTreeMap<String, Vec<Duration>> {
    let (reader, mut writer) = reflector::store::<ConfigMap>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for i in 0..OBJECTS {
        writer.apply_watcher_event(&watcher::Event::InitApply(object(i)));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    let trigger = futures::stream::iter((0..OBJECTS).map(|i| Ok(object(i))))
        .chain(futures::stream::pending());
    let ctx = Arc::new(Ctx {
        start: Instant::now(),
        log: Mutex::new(
            (0..OBJECTS)
                .map(|i| (format!("o-{i:03}"), vec![]))
                .collect(),
        ),
        admission,
    });
    let run = Controller::for_stream(trigger, reader)
        .with_config(config)
        .run(
            reconcile,
            |_, _: &AdmissionError, _| Action::await_change(),
            Arc::clone(&ctx),
        )
        .for_each(|_| async {});
    assert!(
        tokio::time::timeout(RUN, run).await.is_err(),
        "the controller stopped"
    );
    ctx.log.lock().unwrap().clone()
}

fn never_reconciled(log: &BTreeMap<String, Vec<Duration>>) -> Vec<&str> {
    log.iter()
        .filter(|(_, times)| times.is_empty())
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The longest an object went without a reconcile: from the start to its first, between two,
/// and from its last to the end of the run.
fn longest_gap(times: &[Duration]) -> Duration {
    let mut prev = Duration::ZERO;
    let mut longest = Duration::ZERO;
    for t in times.iter().chain([&RUN]) {
        longest = longest.max(t.saturating_sub(prev));
        prev = *t;
    }
    longest
}

/// The upstream behaviour the controller works around. If this fails, kube-rs serves held
/// requests fairly now and `admission` may be dropped for `Config::concurrency`.
#[tokio::test]
async fn kube_rs_concurrency_limit_starves_objects_under_overload() {
    let log = drive(
        Config::default()
            .debounce(controller::DEBOUNCE)
            .concurrency(LIMIT),
        None,
    )
    .await;
    let total: usize = log.values().map(Vec::len).sum();
    let starved = never_reconciled(&log);
    println!(
        "kube-rs concurrency {LIMIT}: {total} reconciles, {} of {OBJECTS} objects never reconciled in {RUN:?}",
        starved.len()
    );
    assert!(
        starved.len() >= OBJECTS / 4,
        "expected kube-rs to starve a part of the objects; never reconciled: {starved:?}"
    );
}

#[tokio::test]
async fn the_controllers_wiring_serves_every_object_in_turn() {
    let log = drive(
        controller::config(),
        Some(Admission::new(usize::from(LIMIT))),
    )
    .await;
    let total: usize = log.values().map(Vec::len).sum();
    let (worst, gap) = log
        .iter()
        .map(|(name, times)| (name.clone(), longest_gap(times)))
        .max_by_key(|(_, gap)| *gap)
        .unwrap();
    let fewest = log.values().map(Vec::len).min().unwrap_or(0);
    println!(
        "admission {LIMIT}: {total} reconciles, fewest per object {fewest}, longest gap {gap:?} ({worst})"
    );
    assert!(
        never_reconciled(&log).is_empty(),
        "{:?}",
        never_reconciled(&log)
    );
    // In turn: each object waits for about all the others once (OBJECTS × WORK / LIMIT =
    // 0.5 s of work, plus timer slack), never for the whole run.
    assert!(
        gap < Duration::from_secs(2),
        "{worst} waited {gap:?} between reconciles"
    );
    assert!(
        fewest >= 3,
        "an object was reconciled only {fewest} times in {RUN:?}"
    );
}
