"""The official Python kubernetes client's dynamic client against the standalone navigator server.

Driven by tests/python_client.rs, which starts the server and sets NAVIGATOR_KUBECONFIG (and
NAVIGATOR_DISCOVERY_CACHE). Proves: discovery of the navigator kinds, create/replace/patch (merge,
strategic, JSON patch, server-side apply)/delete with the right errors, list pagination with
limit + continue over more objects than the limit, watches resumed from a resourceVersion that
see exactly the later changes, and 410 Gone handling (a watch from a compacted resourceVersion
fails with 410, the client relists and watches on from the new resourceVersion).
"""

import os
import time

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

GROUP_VERSION = "navigator.jetstack.io/v1beta1"


@pytest.fixture(scope="module")
def dyn():
    api_client = config.new_client_from_config(config_file=os.environ["NAVIGATOR_KUBECONFIG"])
    return dynamic.DynamicClient(api_client, cache_file=os.environ["NAVIGATOR_DISCOVERY_CACHE"])


@pytest.fixture(scope="module")
def cass(dyn):
    return dyn.resources.get(api_version=GROUP_VERSION, kind="CassandraCluster")


@pytest.fixture
def ns(request):
    """One namespace per test."""
    return "py-" + request.node.name.replace("_", "-")[5:40].strip("-")


def cassandra(name, replicas=3, labels=None):
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "CassandraCluster",
        "metadata": {"name": name, "labels": labels or {"app": "py"}},
        "spec": {
            "version": "5.0.2",
            "pilotImage": {"repository": "navigator/pilot-cassandra", "tag": "v1"},
            "nodePools": [{"name": "a", "replicas": replicas}],
        },
    }


def names(items):
    return [i["metadata"]["name"] for i in items]


def collect(resource, ns, rv, timeout):
    """Every non-bookmark event of a watch from `rv` that the server ends after `timeout` s."""
    events = []
    for e in resource.watch(namespace=ns, resource_version=rv, timeout=timeout):
        if e["type"] == "BOOKMARK":
            continue
        events.append((e["type"], e["raw_object"]["metadata"]["name"], e["raw_object"]))
    return events


def test_discovery(dyn, cass):
    assert cass.kind == "CassandraCluster"
    assert cass.name == "cassandraclusters"
    assert cass.namespaced
    assert "status" in cass.subresources
    esc = dyn.resources.get(api_version="navigator.jetstack.io/v1alpha1", kind="ElasticsearchCluster")
    assert esc.name == "elasticsearchclusters"
    pilot = dyn.resources.get(api_version=GROUP_VERSION, kind="Pilot")
    assert pilot.name == "pilots"


def test_create_replace_patch_delete(cass, ns):
    created = cass.create(body=cassandra("demo"), namespace=ns).to_dict()
    assert created["metadata"]["namespace"] == ns
    assert created["metadata"]["generation"] == 1
    assert created["spec"]["nodePools"][0]["datacenter"] == "navigator-default-datacenter"
    with pytest.raises(ConflictError) as exc:
        cass.create(body=cassandra("demo"), namespace=ns)
    assert exc.value.status == 409

    # replace with the current resourceVersion lands; with a stale one is a 409 Conflict.
    body = cass.get(name="demo", namespace=ns).to_dict()
    body["spec"]["nodePools"][0]["replicas"] = 4
    replaced = cass.replace(body=body, namespace=ns).to_dict()
    assert replaced["spec"]["nodePools"][0]["replicas"] == 4
    assert replaced["metadata"]["generation"] == 2
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    with pytest.raises(ConflictError) as exc:
        cass.replace(body=body, namespace=ns)  # body still carries the old resourceVersion
    assert "the object has been modified" in exc.value.body

    # merge patch, strategic merge patch (pools merge by name), JSON patch, server-side apply.
    patched = cass.patch(
        name="demo", namespace=ns, body={"metadata": {"labels": {"patched": "merge"}}},
        content_type="application/merge-patch+json",
    ).to_dict()
    assert patched["metadata"]["labels"] == {"app": "py", "patched": "merge"}
    patched = cass.patch(
        name="demo", namespace=ns, body={"spec": {"nodePools": [{"name": "b", "replicas": 0}]}},
    ).to_dict()
    # (Like Go's, a strategic merge patch may put the new element first: compare as a set.)
    assert sorted((p["name"], p["replicas"]) for p in patched["spec"]["nodePools"]) == [("a", 4), ("b", 0)]
    index_a = [p["name"] for p in patched["spec"]["nodePools"]].index("a")
    patched = cass.patch(
        name="demo", namespace=ns,
        body=[{"op": "replace", "path": "/spec/nodePools/%d/replicas" % index_a, "value": 5}],
        content_type="application/json-patch+json",
    ).to_dict()
    assert patched["spec"]["nodePools"][index_a]["replicas"] == 5
    applied = cass.server_side_apply(
        body={"apiVersion": GROUP_VERSION, "kind": "CassandraCluster",
              "metadata": {"name": "demo", "labels": {"owner": "pytest"}}},
        namespace=ns, field_manager="pytest",
    ).to_dict()
    assert applied["metadata"]["labels"]["owner"] == "pytest"
    managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
    assert "pytest" in managers

    deleted = cass.delete(name="demo", namespace=ns)
    assert deleted is not None
    with pytest.raises(NotFoundError) as exc:
        cass.get(name="demo", namespace=ns)
    assert exc.value.status == 404
    assert cass.get(namespace=ns).to_dict()["items"] == []


def test_list_with_pagination(cass, ns):
    want = ["c%02d" % i for i in range(7)]
    for n in reversed(want):
        cass.create(body=cassandra(n), namespace=ns)
    pages = []
    seen = []
    token = None
    list_rv = None
    while True:
        page = cass.get(namespace=ns, limit=3, _continue=token).to_dict()
        pages.append(len(page["items"]))
        seen += names(page["items"])
        list_rv = list_rv or page["metadata"]["resourceVersion"]
        token = page["metadata"].get("continue")
        if token:
            assert page["metadata"].get("remainingItemCount") == len(want) - len(seen)
        if not token:
            break
    assert pages == [3, 3, 1]
    assert seen == want  # key order
    # Pages are a consistent snapshot: an object created mid-way is not in the remaining pages.
    first = cass.get(namespace=ns, limit=4).to_dict()
    cass.create(body=cassandra("c99"), namespace=ns)
    rest = cass.get(namespace=ns, limit=10, _continue=first["metadata"]["continue"]).to_dict()
    assert names(first["items"]) + names(rest["items"]) == want
    assert len(cass.get(namespace=ns).to_dict()["items"]) == 8
    # A label selector over pages.
    cass.patch(name="c03", namespace=ns, body={"metadata": {"labels": {"pick": "me"}}},
               content_type="application/merge-patch+json")
    picked = cass.get(namespace=ns, label_selector="pick=me").to_dict()
    assert names(picked["items"]) == ["c03"]


def test_watch_resumes_from_a_resource_version(cass, ns):
    for n in ["w1", "w2", "w3"]:
        cass.create(body=cassandra(n), namespace=ns)
    listed = cass.get(namespace=ns).to_dict()
    rv = listed["metadata"]["resourceVersion"]
    assert names(listed["items"]) == ["w1", "w2", "w3"]

    cass.patch(name="w1", namespace=ns, body={"metadata": {"labels": {"step": "1"}}},
               content_type="application/merge-patch+json")
    cass.delete(name="w2", namespace=ns)
    cass.create(body=cassandra("w4"), namespace=ns)

    events = collect(cass, ns, rv, timeout=3)
    assert [(t, n) for t, n, _ in events] == [("MODIFIED", "w1"), ("DELETED", "w2"), ("ADDED", "w4")]
    assert events[0][2]["metadata"]["labels"]["step"] == "1"
    rvs = [int(o["metadata"]["resourceVersion"]) for _, _, o in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)

    # Resuming from the first event's resourceVersion sees exactly the two later ones.
    later = collect(cass, ns, events[0][2]["metadata"]["resourceVersion"], timeout=2)
    assert [(t, n) for t, n, _ in later] == [("DELETED", "w2"), ("ADDED", "w4")]
    # ... and from the last one, nothing.
    assert collect(cass, ns, events[2][2]["metadata"]["resourceVersion"], timeout=1) == []


def test_gone_after_compaction_and_relist(cass, ns):
    """Run against a server with a short compaction history (python_client.rs)."""
    created = cass.create(body=cassandra("g"), namespace=ns).to_dict()
    old_rv = created["metadata"]["resourceVersion"]
    for i in range(30):
        cass.patch(name="g", namespace=ns, body={"metadata": {"labels": {"n": str(i)}}},
                   content_type="application/merge-patch+json")

    # Compaction runs periodically: retry until the old revision is gone (bounded).
    deadline = time.monotonic() + 60
    gone = None
    while gone is None:
        try:
            collect(cass, ns, old_rv, timeout=1)
        except ApiException as e:
            gone = e
        if gone is None and time.monotonic() > deadline:
            pytest.fail("a watch from a compacted resourceVersion never got 410")
    assert gone.status == 410, gone

    # The exact list at that revision is expired too.
    with pytest.raises(ApiException) as exc:
        cass.get(namespace=ns, resource_version=old_rv, resource_version_match="Exact")
    assert exc.value.status == 410
    assert "Expired" in str(exc.value.body)

    # What a client does on 410: relist, then watch from the new list's resourceVersion.
    relisted = cass.get(namespace=ns).to_dict()
    assert relisted["items"][0]["metadata"]["labels"]["n"] == "29"
    new_rv = relisted["metadata"]["resourceVersion"]
    cass.patch(name="g", namespace=ns, body={"metadata": {"labels": {"n": "after"}}},
               content_type="application/merge-patch+json")
    events = collect(cass, ns, new_rv, timeout=2)
    assert [(t, n) for t, n, _ in events] == [("MODIFIED", "g")]
    assert events[0][2]["metadata"]["labels"]["n"] == "after"

    # The library's own Watch also surfaces the 410 when it may not retry.
    w = watch.Watch()
    with pytest.raises(ApiException) as exc:
        for _ in w.stream(cass.get, namespace=ns, resource_version=old_rv, timeout_seconds=1,
                          serialize=False):
            pass
    assert exc.value.status == 410
