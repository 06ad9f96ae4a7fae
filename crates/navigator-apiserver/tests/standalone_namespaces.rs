//! Standalone, every namespace exists: the server answers kubectl's namespace lookups
//! (`/api/v1/namespaces[/<name>]`, read-only), so `kubectl -n <ns> get cass nope` prints Go's
//! `cassandraclusters.navigator.jetstack.io "nope" not found` — kubectl looks the namespace up
//! after a NotFound and would otherwise print "the server could not find the requested
//! resource".
#![allow(clippy::unwrap_used)]

mod support;

use support::Server;

#[test]
fn kubectl_prints_go_not_found_in_any_namespace() {
    let server = Server::start();
    for ns in ["default", "nowhere-yet"] {
        let out = server.kubectl(&["-n", ns, "get", "cassandraclusters", "nope"]);
        assert!(!out.success(), "{ns}: {}", out.stdout);
        assert_eq!(
            out.stderr.trim(),
            r#"Error from server (NotFound): cassandraclusters.navigator.jetstack.io "nope" not found"#,
            "{ns}"
        );
    }
    let out = server.kubectl(&["-n", "team-a", "get", "cass", "nope", "-o", "yaml"]);
    assert_eq!(
        out.stderr.trim(),
        r#"Error from server (NotFound): cassandraclusters.navigator.jetstack.io "nope" not found"#
    );
}

#[test]
fn namespaces_are_served_read_only() {
    let server = Server::start();
    let manifest = server.write_file(
        "pilot.json",
        &support::pilot("team-b", "p1", "a").to_string(),
    );
    server.kubectl_ok(&["create", "-f", manifest.to_str().unwrap()]);

    let ns = server.kubectl_ok(&["get", "--raw", "/api/v1/namespaces/team-z"]);
    let ns: serde_json::Value = serde_json::from_str(&ns.stdout).unwrap();
    assert_eq!(ns["kind"], "Namespace");
    assert_eq!(ns["metadata"]["name"], "team-z");
    assert_eq!(ns["status"]["phase"], "Active");

    let list = server.kubectl_ok(&["get", "--raw", "/api/v1/namespaces"]);
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "team-b"]);

    // Not a namespace name: Go's NotFound.
    let out = server.kubectl(&["get", "--raw", "/api/v1/namespaces/Not_A_Name"]);
    assert!(!out.success());
    assert_eq!(
        out.stderr.trim(),
        r#"Error from server (NotFound): namespaces "Not_A_Name" not found"#
    );
}
