//! The official Python kubernetes client (its dynamic client), a real client nobody here wrote,
//! against the standalone server: runs `tests/python/test_dynamic_client.py` with pytest from the
//! venv that `hack/install-prereqs` builds (`$HOME/.cache/navigator/venv`, or
//! `$NAVIGATOR_VENV`). Proves discovery, create/replace/patch/delete, list pagination, watch
//! resumption from a resourceVersion, and 410 handling after compaction (on a server started with
//! a short compaction history). pytest's output is passed through; the test fails if pytest does.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{Backend, Server, run_bounded};

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("NAVIGATOR_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| test_support::devenv::cache_dir().join("venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run hack/install-prereqs (it installs kubernetes and pytest there)",
        python.display()
    );
    python
}

fn pytest(server: &Server, selection: &str) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_dynamic_client.py"
    );
    let mut cmd = Command::new(venv_python());
    cmd.args([
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        "-k",
        selection,
        script,
    ])
    .env("PYTHONDONTWRITEBYTECODE", "1")
    .env("NAVIGATOR_KUBECONFIG", server.kubeconfig())
    .env(
        "NAVIGATOR_DISCOVERY_CACHE",
        server.data_dir().join("python-discovery.json"),
    )
    .current_dir(server.data_dir());
    let out = run_bounded(cmd, Duration::from_secs(300), "pytest");
    println!("{}", out.stdout);
    eprintln!("{}", out.stderr);
    assert!(
        out.success(),
        "pytest -k {selection:?} failed ({}):\n{}\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains("no tests ran"), "{}", out.stdout);
}

fn python_dynamic_client(backend: Backend) {
    let server = Server::start_on(backend);
    pytest(&server, "not gone");
}

fn python_dynamic_client_410_after_compaction(backend: Backend) {
    let server = Server::start_on_with(
        backend,
        &[
            "--compaction-history",
            "5",
            "--compaction-interval-seconds",
            "1",
        ],
    );
    pytest(&server, "gone");
}

support::on_both_backends!(
    python_dynamic_client,
    python_dynamic_client_410_after_compaction
);
