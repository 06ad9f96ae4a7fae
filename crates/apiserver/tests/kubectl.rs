//! The real kubectl against the server: discovery (`api-resources`, `api-versions`,
//! `get --raw`), OpenAPI (`explain`) and a create/get round trip through the fake resource.
//! Uses `$NAVIGATOR_KUBECTL`, else the Go-built kubectl (`$DEVENV_BIN_DIR`, else
//! `${NAVIGATOR_CACHE:-~/.cache/navigator}/k8s/<version>/kubectl`, from `hack/build-k8s`); fails
//! saying what to install when there is none.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::PathBuf;

use base64::Engine as _;

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .await
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_discovery_explain_and_get() {
    let bin = test_support::paths::kubectl();
    let s = common::start().await;
    let ca = base64::engine::general_purpose::STANDARD.encode(&s.ca_pem);
    let kubeconfig = s.dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: https://127.0.0.1:{}\n    certificate-authority-data: {ca}\nusers:\n- name: t\n  user:\n    token: anything\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: default\ncurrent-context: t\n",
            s.addr.port()
        ),
    )
    .unwrap();
    let k = Kubectl {
        bin,
        kubeconfig,
        cache: s.dir.path().join("cache"),
    };

    let (ok, out, err) = k
        .run(&["api-resources", "--api-group=test.example.io", "-o", "wide"])
        .await;
    assert!(ok, "api-resources failed: {err}");
    let widgets = out
        .lines()
        .find(|l| l.starts_with("widgets"))
        .unwrap_or_else(|| panic!("{out}"));
    for want in [
        "wd",
        "test.example.io/v1",
        "true",
        "Widget",
        "create,delete,deletecollection,get,list,patch,update,watch",
    ] {
        assert!(
            widgets.split_whitespace().any(|w| w == want),
            "{want} missing in {widgets:?}"
        );
    }
    let gadgets = out
        .lines()
        .find(|l| l.starts_with("gadgets"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        gadgets.contains("false") && gadgets.contains("all"),
        "{gadgets}"
    );

    let (ok, out, err) = k.run(&["api-versions"]).await;
    assert!(ok, "api-versions failed: {err}");
    let versions: Vec<&str> = out.lines().collect();
    assert!(
        versions.contains(&"test.example.io/v1") && versions.contains(&"test.example.io/v1beta1"),
        "{out}"
    );

    let (ok, out, err) = k.run(&["get", "--raw", "/apis"]).await;
    assert!(ok, "get --raw failed: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "APIGroupList");
    let (ok, out, _) = k.run(&["get", "--raw", "/apis/test.example.io/v1"]).await;
    assert!(ok);
    assert!(out.contains(r#""kind":"APIResourceList""#));

    let (ok, out, err) = k.run(&["explain", "widgets.spec"]).await;
    assert!(ok, "explain failed: {err}");
    assert!(out.contains("KIND:") && out.contains("Widget"), "{out}");
    assert!(
        out.contains("size") && out.contains("Size of the widget in sprockets."),
        "{out}"
    );

    let manifest = s.dir.path().join("w.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: test.example.io/v1\nkind: Widget\nmetadata:\n  name: from-kubectl\nspec:\n  size: 2\n",
    )
    .unwrap();
    let (ok, out, err) = k.run(&["create", "-f", manifest.to_str().unwrap()]).await;
    assert!(ok, "create failed: {err}");
    assert!(
        out.contains("widget.test.example.io/from-kubectl created"),
        "{out}"
    );
    let (ok, out, err) = k.run(&["get", "wd"]).await;
    assert!(ok, "get failed: {err}");
    assert!(
        out.contains("NAME") && out.contains("from-kubectl"),
        "{out}"
    );
    let (ok, out, err) = k
        .run(&[
            "get",
            "widget",
            "from-kubectl",
            "-o",
            "jsonpath={.spec.size}",
        ])
        .await;
    assert!(ok, "get -o jsonpath failed: {err}");
    assert_eq!(out, "2");
    let (ok, _, err) = k.run(&["get", "widgets", "nope"]).await;
    assert!(!ok);
    assert!(
        err.contains(r#"widgets.test.example.io "nope" not found"#),
        "{err}"
    );

    s.shutdown.shutdown();
    s.task.await.unwrap();
}
