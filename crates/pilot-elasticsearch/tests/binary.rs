//! The `pilot-elasticsearch` binary's command line: `--help` documents the flags the pod
//! template uses, bad flags and values fail with clap's usage error (exit 2) naming the
//! problem, and a pilot without its downward-API identity exits 1 saying which variable is
//! missing.

use std::process::{Command, Output};

fn pilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilot-elasticsearch"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run pilot-elasticsearch")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const REQUIRED: [&str; 3] = [
    "--cluster-name=demo",
    "--discovery-service=demo-discovery.ns.svc.cluster.local",
    "--data-dir=/tmp/pilot-elasticsearch-binary-test-data",
];

#[test]
fn help_documents_the_flags() {
    let out = pilot(&["--help"]);
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&out);
    for flag in [
        "--flavor",
        "--version <X.Y.Z>",
        "--home",
        "--cluster-name",
        "--node-pool",
        "--roles",
        "--discovery-service",
        "--initial-master-nodes",
        "--minimum-master-nodes",
        "--plugin",
        "--node-attribute",
        "--awareness-attributes",
        "--setting",
        "--http-port",
        "--transport-port",
        "--heap-mib",
        "--config-dir",
        "--data-dir",
        "--kubeconfig",
        "ELASTICSEARCH_CLUSTER_NAME",
        "PILOT_DATA_DIR",
        "es-<cluster-name>-pilot-leader",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 5] = [
        (&["--bogus"], "unexpected argument '--bogus'"),
        (
            &["--flavor=solr"],
            "invalid value 'solr' for '--flavor <FLAVOR>'",
        ),
        (&["--roles=master,chef"], "unknown role \"chef\""),
        (&["--setting=novalue"], "\"novalue\" is not key=value"),
        (
            &["--http-port=http"],
            "invalid value 'http' for '--http-port",
        ),
    ];
    for (args, want) in cases {
        let mut all: Vec<&str> = REQUIRED.to_vec();
        all.extend_from_slice(args);
        let out = pilot(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
    }
    let out = pilot(&["--discovery-service=x", "--data-dir=/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--cluster-name <CLUSTER_NAME>"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_pilot_without_its_identity_says_what_is_missing() {
    let out = pilot(&REQUIRED);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("POD_NAME is not set"), "{}", text(&out));
}
