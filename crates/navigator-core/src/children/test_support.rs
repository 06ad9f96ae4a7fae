//! Test helpers both kinds' children tests use alike: a StatefulSet's pod spec, the
//! spec-hash annotation and its check, JSON deserialisation.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pretty_assertions::assert_eq;

use crate::hash::{SPEC_HASH_ANNOTATION, spec_hash};

pub(crate) fn pod_spec(s: &StatefulSet) -> &PodSpec {
    s.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec")
}

pub(crate) fn hash_of(meta: &ObjectMeta) -> String {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(SPEC_HASH_ANNOTATION))
        .cloned()
        .expect("spec-hash annotation")
}

/// The hash annotation equals the hash of the object without it.
pub(crate) fn check_hash<T: serde::Serialize + Clone>(
    object: &T,
    meta: fn(&mut T) -> &mut ObjectMeta,
) {
    let mut copy = object.clone();
    let m = meta(&mut copy);
    let want = hash_of(m);
    if let Some(a) = m.annotations.as_mut() {
        a.remove(SPEC_HASH_ANNOTATION);
        if a.is_empty() {
            m.annotations = None;
        }
    }
    assert_eq!(spec_hash(&copy), want);
}

pub(crate) fn from<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
    serde_json::from_value(json).expect("deserialise")
}
