//! A request body over the 3 MiB limit, sent by curl (a client nobody here wrote) over HTTP/2
//! and HTTP/1.1: both read the 413 `RequestEntityTooLarge` Status and curl exits 0 — over
//! HTTP/2 the stream ends with `NO_ERROR`, as Go's server ends it, not with an error code that
//! makes curl fail (exit 92).
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value;

const NS_WIDGETS: &str = "/apis/test.example.io/v1/namespaces/default/widgets";

/// Runs curl; panics with what to install when it is missing.
async fn curl(args: &[String]) -> std::process::Output {
    tokio::process::Command::new("curl")
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("curl (with HTTP/2) is needed: apt-get install curl ({e})"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_gets_a_clean_413_over_h2_and_h1() {
    let version = curl(&["--version".to_owned()]).await;
    let features = String::from_utf8_lossy(&version.stdout);
    assert!(
        features.contains("HTTP2"),
        "curl without HTTP/2 support; install one built with nghttp2: {features}"
    );
    let s = common::start().await;
    let ca = s.dir.path().join("ca.pem");
    std::fs::write(&ca, &s.ca_pem).unwrap();
    let big = s.dir.path().join("big.json");
    let body = format!(
        r#"{{"apiVersion":"test.example.io/v1","kind":"Widget","metadata":{{"name":"big","annotations":{{"a":"{}"}}}}}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    std::fs::write(&big, body).unwrap();
    let port = s.addr.port();
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out_file = s.dir.path().join(format!("out{version}"));
        let out = curl(&[
            "-sS".into(),
            flag.into(),
            "--cacert".into(),
            ca.display().to_string(),
            "--resolve".into(),
            format!("localhost:{port}:127.0.0.1"),
            "-X".into(),
            "POST".into(),
            "-H".into(),
            "content-type: application/json".into(),
            "--data-binary".into(),
            format!("@{}", big.display()),
            "-o".into(),
            out_file.display().to_string(),
            "-w".into(),
            "%{http_code} %{http_version}".into(),
            format!("https://localhost:{port}{NS_WIDGETS}"),
        ])
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "curl {flag} failed: {stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("413 {version}"),
            "{flag}"
        );
        let status: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
        assert_eq!(status["reason"], "RequestEntityTooLarge", "{flag}");
        assert_eq!(
            status["message"], "Request entity too large: limit is 3145728",
            "{flag}"
        );
    }
    // The server is still serving on the same port afterwards.
    let mut c = common::Conn::tls(s.addr, &s.ca_pem, common::Proto::H2).await;
    let (code, _) = c.get_json(NS_WIDGETS).await;
    assert_eq!(code, 200);
    s.shutdown.shutdown();
    s.task.await.unwrap();
}
