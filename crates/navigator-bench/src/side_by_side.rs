//! `--compare`: navigator-apiserver on etcd, kube-apiserver with a CRD and raw etcd, the same
//! phases against each on one etcd, printed side by side.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use http::{Method, StatusCode};
use navigator_bench::compare::{self, Breakdown, Target};
use navigator_bench::objects::{self, Kind};
use navigator_bench::promtext;
use navigator_bench::report::{MemorySample, Report};
use serde_json::Value;

use crate::cli::{Args, TargetKind};
use crate::client::{Client, Endpoint};
use crate::server::ServerProc;
use crate::single::{load_average, memory, new_report, run_bounded};
use crate::{peers, raw_etcd};

/// Key prefix of navigator-apiserver's objects (its default `--storage-prefix`).
pub(crate) const NAVIGATOR_PREFIX: &str = "/registry/navigator.jetstack.io";
/// kube-apiserver's `--etcd-prefix` (its objects and the CRs under `<prefix>/<group>/…`).
pub(crate) const KUBE_PREFIX: &str = "/kube-apiserver-bench";
/// Root of the raw etcd keys.
pub(crate) const RAW_PREFIX: &str = "/raw-etcd";

/// `$DEVENV_BIN_DIR/kube-apiserver`, else the one `hack/build-k8s` caches under
/// `${NAVIGATOR_CACHE:-$HOME/.cache/navigator}/k8s/<pinned version>/`.
pub(crate) fn default_kube_bin() -> PathBuf {
    test_support::paths::k8s_binary_path("kube-apiserver")
}

/// Where a server keeps object `name` of the benchmark's collection, without the name.
pub(crate) fn stored_prefix(root: &str, kind: Kind, namespace: &str) -> String {
    format!("{root}/{}/{namespace}/", kind.plural())
}

/// The server's own time breakdown from its `/metrics`.
pub(crate) async fn scrape_breakdown(ep: &Endpoint, kind: Kind) -> anyhow::Result<Breakdown> {
    let mut c = Client::connect(ep).await?;
    let resp = c.call(Method::GET, "/metrics", None).await?;
    if resp.status != StatusCode::OK {
        bail!("{}", resp.describe(&Method::GET, "/metrics"));
    }
    let samples = promtext::parse(&String::from_utf8_lossy(&resp.body));
    let plural = kind.plural();
    Ok(Breakdown {
        request: promtext::histogram_means(
            &samples,
            "apiserver_request_duration_seconds",
            "verb",
            |s| s.label("resource") == Some(plural),
        ),
        storage: promtext::histogram_means(
            &samples,
            "etcd_request_duration_seconds",
            "operation",
            |s| s.label("type").is_some_and(|t| t.contains(plural)),
        ),
    })
}

/// Deletes every key under `prefix` (so the next target starts from the same etcd content).
pub(crate) async fn delete_prefix(url: &str, prefix: &str) -> anyhow::Result<()> {
    let mut c = etcd_client::Client::connect([url], None).await?;
    c.delete(
        prefix,
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await?;
    Ok(())
}

/// A stand-in for a stored object when no server ran first: the object as created plus the
/// metadata a server adds.
pub(crate) fn synthetic_stored(kind: Kind, namespace: &str) -> Value {
    let mut o = objects::object(kind, namespace, 0);
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "uid".to_owned(),
            Value::String("8c3f4f3e-2f4a-4d38-9a57-3f0c3e1f2b6d".to_owned()),
        );
        meta.insert(
            "creationTimestamp".to_owned(),
            Value::String("2026-11-25T12:00:00Z".to_owned()),
        );
        meta.insert("generation".to_owned(), Value::from(1));
    }
    o
}

pub(crate) async fn finish_target(
    name: &str,
    auth: &str,
    setup: String,
    report: Report,
    etcd: &peers::EtcdProc,
    stored: Option<(u64, Vec<u8>)>,
    breakdown: Option<Breakdown>,
) -> Target {
    Target {
        name: name.to_owned(),
        auth: auth.to_owned(),
        setup,
        report,
        etcd_memory: memory(etcd.pid).map(|status| MemorySample {
            after: format!("{name} run"),
            objects: 0,
            status,
        }),
        stored_bytes: stored.map(|(b, _)| b),
        breakdown,
    }
}

pub(crate) async fn navigator_target(
    args: &Args,
    etcd: &peers::EtcdProc,
    template: &mut Option<Vec<u8>>,
) -> Target {
    let mut report = new_report(args);
    eprintln!("navigator-bench: navigator-apiserver on etcd {}…", etcd.url);
    let extra = vec![
        format!("--etcd-servers={}", etcd.url),
        format!("--storage-prefix={NAVIGATOR_PREFIX}"),
    ];
    let mut breakdown = None;
    match ServerProc::start(&args.server_bin, args, &extra).await {
        Err(e) => report
            .problems
            .push(format!("navigator-apiserver did not start: {e:#}")),
        Ok((mut server, ep)) => {
            report.server = ep.base.clone();
            run_bounded(ep.clone(), server.pid, args, &mut report).await;
            match scrape_breakdown(&ep, args.kind).await {
                Ok(b) => breakdown = Some(b),
                Err(e) => report.problems.push(format!("/metrics: {e:#}")),
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                report.problems.push(format!(
                    "the server exited during the run ({status}):\n{}",
                    server.log_tail()
                ));
            }
            if let Err(e) = server.stop(args.keep_data).await {
                report.problems.push(format!("stopping the server: {e:#}"));
            }
        }
    }
    let prefix = stored_prefix(NAVIGATOR_PREFIX, args.kind, &args.namespace);
    let stored = peers::stored_values(&etcd.url, &prefix, 20)
        .await
        .ok()
        .flatten();
    if let Some((_, first)) = &stored {
        template.get_or_insert_with(|| first.clone());
    }
    let target = finish_target(
        "navigator",
        "standalone mode: every request is system:anonymous-admin (AllowAll); the bearer token is sent but not checked; no authorization",
        format!("navigator-apiserver --standalone --etcd-servers=<shared etcd> --storage-prefix={NAVIGATOR_PREFIX}"),
        report,
        etcd,
        stored,
        breakdown,
    )
    .await;
    let _ = delete_prefix(&etcd.url, NAVIGATOR_PREFIX).await;
    target
}

pub(crate) async fn kube_target(
    args: &Args,
    dir: &Path,
    etcd: &peers::EtcdProc,
    template: &mut Option<Vec<u8>>,
) -> Target {
    let mut report = new_report(args);
    let bin = args
        .kube_apiserver_bin
        .clone()
        .unwrap_or_else(default_kube_bin);
    eprintln!(
        "navigator-bench: kube-apiserver {} on etcd {}…",
        bin.display(),
        etcd.url
    );
    let mut breakdown = None;
    let started = peers::KubeApiserverProc::start(
        &bin,
        dir,
        &etcd.url,
        KUBE_PREFIX,
        args.protocol,
        Duration::from_secs(args.request_timeout),
    )
    .await;
    match started {
        Err(e) => report
            .problems
            .push(format!("kube-apiserver did not start: {e:#}")),
        Ok((mut kube, ep)) => {
            report.server = ep.base.clone();
            let setup = async {
                let mut c = Client::connect(&ep).await?;
                peers::ensure_namespace(&mut c, &args.namespace).await?;
                let version = navigator_api::scheme::ApiVersion::V1beta1;
                let doc = navigator_api::openapi::v3_document(version);
                let definition = format!("io.jetstack.navigator.v1beta1.{}", args.kind.kind());
                let crd =
                    navigator_bench::crd::crd_manifest(&doc, &definition, args.kind.plural())?;
                peers::install_crd(
                    &mut c,
                    &crd,
                    &objects::collection_path(args.kind, &args.namespace),
                )
                .await
            };
            match setup.await {
                Err(e) => report
                    .problems
                    .push(format!("kube-apiserver setup (namespace, CRD): {e:#}")),
                Ok(()) => {
                    eprintln!("navigator-bench: CRD established at {}", ep.base);
                    run_bounded(ep.clone(), kube.pid, args, &mut report).await;
                    match scrape_breakdown(&ep, args.kind).await {
                        Ok(b) => breakdown = Some(b),
                        Err(e) => report.problems.push(format!("/metrics: {e:#}")),
                    }
                }
            }
            if let Some(exit) = kube.exited() {
                report.problems.push(exit);
            } else if !report.problems.is_empty() {
                eprintln!(
                    "navigator-bench: kube-apiserver log tail:\n{}",
                    kube.log_tail()
                );
            }
            kube.stop().await;
        }
    }
    let root = format!("{KUBE_PREFIX}/navigator.jetstack.io");
    let prefix = stored_prefix(&root, args.kind, &args.namespace);
    let stored = peers::stored_values(&etcd.url, &prefix, 20)
        .await
        .ok()
        .flatten();
    if let Some((_, first)) = &stored {
        template.get_or_insert_with(|| first.clone());
    }
    let target = finish_target(
        "kube-apiserver",
        &format!("--token-auth-file (static bearer token, checked on every request) and --authorization-mode=AlwaysAllow; anonymous disabled; user {} (not system:masters: priority and fairness applies)", peers::KUBE_USER),
        peers::KubeApiserverProc::describe(KUBE_PREFIX),
        report,
        etcd,
        stored,
        breakdown,
    )
    .await;
    let _ = delete_prefix(&etcd.url, &root).await;
    target
}

pub(crate) async fn raw_target(
    args: &Args,
    etcd: &peers::EtcdProc,
    template: Option<&[u8]>,
) -> Target {
    let mut report = new_report(args);
    report.server = etcd.url.clone();
    eprintln!("navigator-bench: raw etcd {}…", etcd.url);
    let template = template
        .and_then(|t| serde_json::from_slice::<Value>(t).ok())
        .unwrap_or_else(|| synthetic_stored(args.kind, &args.namespace));
    let prefix = stored_prefix(RAW_PREFIX, args.kind, &args.namespace);
    let cfg = raw_etcd::RawConfig {
        url: etcd.url.clone(),
        prefix: prefix.clone(),
        template,
        concurrency: args.concurrency,
        small: args.small,
        large: args.large,
        gets: args.gets,
        updates: args.updates,
        list_runs: args.list_runs,
        page_size: args.page_size,
        watchers: args.watchers.clone(),
        watch_updates: args.watch_updates,
        watch_timeout: args.watch_timeout,
        etcd_pid: etcd.pid,
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(args.deadline),
        raw_etcd::bench(cfg, &mut report),
    )
    .await;
    match outcome {
        Err(_) => report.problems.push(format!(
            "the run passed its --deadline of {} s",
            args.deadline
        )),
        Ok(Err(e)) => report.problems.push(format!("the run stopped: {e:#}")),
        Ok(Ok(())) => {}
    }
    report.load_average.push(load_average());
    let stored = peers::stored_values(&etcd.url, &prefix, 20)
        .await
        .ok()
        .flatten();
    let target = finish_target(
        "raw etcd",
        "none: etcd v3 gRPC in plaintext on 127.0.0.1 (one HTTP/2 connection for the workers, one per 100 watchers)",
        "etcd-client: txn create (create_revision == 0), range get, range list (full; limit + next key at the first page's revision), range + txn update (mod_revision), watch on the prefix; values: the JSON navigator stored (or kube-apiserver, or a synthetic one)".to_owned(),
        report,
        etcd,
        stored,
        None,
    )
    .await;
    let _ = delete_prefix(&etcd.url, RAW_PREFIX).await;
    target
}

/// The side-by-side run; `Ok(false)` when some target had problems.
pub(crate) async fn run_compare(args: &Args) -> anyhow::Result<bool> {
    let dir = tempfile::Builder::new()
        .prefix("navigator-bench-compare-")
        .tempdir()
        .context("temporary dir")?;
    let kube_bin = args
        .kube_apiserver_bin
        .clone()
        .unwrap_or_else(default_kube_bin);
    let etcd_bin = args
        .etcd_bin
        .clone()
        .unwrap_or_else(|| kube_bin.with_file_name("etcd"));
    let start = Instant::now();
    let load_start = load_average();
    let mut etcd = peers::EtcdProc::start(&etcd_bin, dir.path(), !args.etcd_no_fsync).await?;
    eprintln!(
        "navigator-bench --compare: etcd {} (pid {}), fsync {}, load average {load_start}",
        etcd.url,
        etcd.pid.unwrap_or_default(),
        if args.etcd_no_fsync { "off" } else { "on" }
    );
    let mut template: Option<Vec<u8>> = None;
    let mut targets = Vec::new();
    for t in &args.targets {
        let target = match t {
            TargetKind::Navigator => navigator_target(args, &etcd, &mut template).await,
            TargetKind::KubeApiserver => kube_target(args, dir.path(), &etcd, &mut template).await,
            TargetKind::Etcd => raw_target(args, &etcd, template.as_deref()).await,
        };
        targets.push(target);
        if let Some(exit) = etcd.exited() {
            bail!("{exit}");
        }
    }
    etcd.stop().await;
    if args.keep_data {
        let kept = dir.keep();
        eprintln!("navigator-bench: logs kept in {}", kept.display());
    }
    let ok = targets.iter().all(|t| t.report.problems.is_empty());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&targets)?);
    } else {
        println!(
            "navigator-bench --compare: {} objects over {} (concurrency {}, {} CPUs), one etcd (fsync {}) shared by all targets, each under its own key prefix, targets run one after another (only etcd and the target running); load average {load_start} → {}; {:.0} s in all\n",
            args.kind.kind(),
            targets
                .first()
                .map_or("HTTP/2", |t| t.report.protocol.as_str()),
            args.concurrency,
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            if args.etcd_no_fsync { "off" } else { "on" },
            load_average(),
            start.elapsed().as_secs_f64()
        );
        print!("{}", compare::render(&targets));
    }
    Ok(ok)
}
