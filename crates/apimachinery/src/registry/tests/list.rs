//! get and list: pages, selectors, namespaces, representations, resourceVersion.

use super::*;
use pretty_assertions::assert_eq;

#[tokio::test]
async fn list_pages_selectors_and_representations() {
    let f = fixture();
    for i in 0..5 {
        let mut b = widget(
            &format!("w{i}"),
            json!({"replicas": i, "version": if i % 2 == 0 { "even" } else { "odd" }}),
        );
        b["metadata"]["labels"] = json!({"parity": if i % 2 == 0 { "even" } else { "odd" }});
        f.reg.create(&ctx(), b).await.expect("create");
    }
    let all = f
        .reg
        .list(&ctx(), &ListOptions::default())
        .await
        .expect("list")
        .body;
    assert_eq!(all["kind"], "WidgetList");
    assert_eq!(all["apiVersion"], "test.io/v1");
    assert_eq!(all["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(all["items"][0].get("kind"), None);
    let list_rv = all["metadata"]["resourceVersion"].clone();

    let mut names = vec![];
    let mut token = None;
    let mut first = true;
    loop {
        let page = f
            .reg
            .list(
                &ctx(),
                &ListOptions {
                    limit: Some(2),
                    continue_token: token.clone(),
                    ..ListOptions::default()
                },
            )
            .await
            .expect("page")
            .body;
        if first {
            assert_eq!(page["metadata"]["remainingItemCount"], 3);
            assert_eq!(page["metadata"]["resourceVersion"], list_rv);
            first = false;
        }
        names.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["metadata"]["name"].clone()),
        );
        match page["metadata"]["continue"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["w0", "w1", "w2", "w3", "w4"]);

    let sel = |l: Option<&str>, fs: Option<&str>| ListOptions {
        label_selector: l.map(Into::into),
        field_selector: fs.map(Into::into),
        ..ListOptions::default()
    };
    let odd = f
        .reg
        .list(&ctx(), &sel(Some("parity=odd"), None))
        .await
        .expect("label")
        .body;
    assert_eq!(odd["items"].as_array().map(Vec::len), Some(2));
    let one = f
        .reg
        .list(&ctx(), &sel(None, Some("metadata.name=w3")))
        .await
        .expect("field")
        .body;
    assert_eq!(one["items"][0]["metadata"]["name"], "w3");
    let even = f
        .reg
        .list(&ctx(), &sel(None, Some("spec.version=even")))
        .await
        .expect("custom")
        .body;
    assert_eq!(even["items"].as_array().map(Vec::len), Some(3));
    let e = f
        .reg
        .list(&ctx(), &sel(None, Some("spec.foo=1")))
        .await
        .expect_err("unknown");
    assert_eq!(
        e.message(),
        "\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\", \"spec.version\""
    );
    assert_eq!(
        f.reg
            .list(&ctx(), &sel(Some("a in (b"), None))
            .await
            .expect_err("parse")
            .code(),
        400
    );
    // Paging with a selector still pages.
    let page = f
        .reg
        .list(
            &ctx(),
            &ListOptions {
                limit: Some(1),
                ..sel(Some("parity=odd"), None)
            },
        )
        .await
        .expect("sel page")
        .body;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert!(page["metadata"]["continue"].is_string());
    assert_eq!(page["metadata"].get("remainingItemCount"), None);

    let other_ns = RequestContext {
        namespace: Some("elsewhere".into()),
        ..ctx()
    };
    let none = f
        .reg
        .list(&other_ns, &ListOptions::default())
        .await
        .expect("ns")
        .body;
    assert_eq!(none["items"], json!([]));
    let cluster = RequestContext {
        namespace: None,
        ..ctx()
    };
    let everywhere = f
        .reg
        .list(&cluster, &ListOptions::default())
        .await
        .expect("all")
        .body;
    assert_eq!(everywhere["items"].as_array().map(Vec::len), Some(5));

    let table = RequestContext {
        representation: Representation::Table {
            include_object: IncludeObject::Metadata,
        },
        ..ctx()
    };
    let t = f
        .reg
        .list(&table, &ListOptions::default())
        .await
        .expect("table")
        .body;
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["columnDefinitions"][1]["name"], "Replicas");
    assert_eq!(t["rows"][4]["cells"], json!(["w4", 4]));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let pom = RequestContext {
        representation: Representation::PartialObjectMetadata,
        ..ctx()
    };
    let p = f
        .reg
        .list(&pom, &ListOptions::default())
        .await
        .expect("pom")
        .body;
    assert_eq!(p["kind"], "PartialObjectMetadataList");
    assert_eq!(p["items"][0]["apiVersion"], "meta.k8s.io/v1");
    let g = f
        .reg
        .get(&pom, "w1", &GetOptions::default())
        .await
        .expect("pom get")
        .body;
    assert_eq!(g["kind"], "PartialObjectMetadata");
    assert_eq!(g.get("spec"), None);
    // A resourceVersion from the future is a 504.
    let e = f
        .reg
        .get(
            &ctx(),
            "w1",
            &GetOptions {
                resource_version: Some("100000".into()),
            },
        )
        .await
        .expect_err("future");
    assert_eq!(e.code(), 504);
}
