//! `navigator-bench`: drives create, get, list (1k and 10k objects), update and a watch fan-out
//! against `navigator-apiserver` over HTTPS and prints throughput, p50/p99 latency and the
//! server's RSS. See `docs/benchmarks.md`.
//!
//! With `--compare` it runs the same phases, in one invocation, against navigator-apiserver on
//! etcd, kube-apiserver serving the navigator kinds as a CRD on the same etcd, and raw etcd
//! transactions, and prints them side by side.
//!
//! This file is the wiring. [`cli`]: the options; [`client`]: the HTTP client; [`server`]: the
//! server process under test; [`phases`] and [`fanout`]: the benchmark phases; [`single`]: one
//! server's run; [`side_by_side`]: `--compare`, with its real peers ([`peers`]: etcd and
//! kube-apiserver processes) and the raw etcd target ([`raw_etcd`]). The pure parts (statistics,
//! objects, parsing, the report) are the library (`src/lib.rs`).

mod cli;
mod client;
mod fanout;
mod peers;
mod phases;
mod raw_etcd;
mod server;
mod side_by_side;
mod single;

use anyhow::{Context as _, bail};
use navigator_bench::kubeconfig;
use navigator_bench::report::render_table;

use crate::cli::parse_args;
use crate::client::external_endpoint;
use crate::server::ServerProc;
use crate::side_by_side::run_compare;
use crate::single::{new_report, run_bounded};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.small == 0 {
        bail!("--small must be at least 1");
    }
    if args.compare {
        let ok = run_compare(&args).await?;
        if !ok {
            std::process::exit(1);
        }
        return Ok(());
    }
    let mut report = new_report(&args);

    let url = match (&args.url, &args.kubeconfig) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(path)) => Some(
            kubeconfig::parse(
                &std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?,
            )?
            .server,
        ),
        (None, None) => None,
    };
    let (server, ep, pid) = match url {
        Some(url) => (None, external_endpoint(&url, &args).await?, args.server_pid),
        None => {
            let (server, ep) = ServerProc::start(&args.server_bin, &args, &[]).await?;
            let pid = server.pid;
            (Some(server), ep, pid)
        }
    };
    report.server = ep.base.clone();
    if !args.json {
        eprintln!(
            "navigator-bench: {} ({}), load average {}",
            ep.base,
            pid.map_or_else(|| "pid unknown".to_owned(), |p| format!("pid {p}")),
            report.load_average[0]
        );
    }

    run_bounded(ep, pid, &args, &mut report).await;
    if let Some(mut server) = server {
        if let Ok(Some(status)) = server.child.try_wait() {
            report.problems.push(format!(
                "the server exited during the run ({status}):\n{}",
                server.log_tail()
            ));
        }
        server.stop(args.keep_data).await?;
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_table(&report));
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        std::process::exit(1)
    }
}
