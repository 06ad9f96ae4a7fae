//! Cassandra 5's `storage_compatibility_mode`, as a pool's pod template names it: the pilot's
//! `--storage-compatibility-mode` argument, and an annotation on the StatefulSet and its pod
//! template (so the mode a StatefulSet and each pod run is read from their metadata, which the
//! controller's caches keep).
//!
//! Only templates of Cassandra 5 or later carry a mode (4.x has no such setting). A cluster
//! upgraded from 4.x goes `CASSANDRA_4` → `UPGRADING` → `NONE`, one rolling restart each; the
//! planner decides the steps (`plan`, "Storage compatibility").

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::version::CassandraVersion;

/// Annotation on a StatefulSet and its pod template naming the template's mode
/// (`CASSANDRA_4`, `UPGRADING`, `NONE`).
pub const STORAGE_COMPATIBILITY_ANNOTATION: &str =
    "navigator.jetstack.io/cassandra-storage-compatibility-mode";

/// The pilot's flag (`pilot-cassandra --storage-compatibility-mode=<mode>`).
pub const STORAGE_COMPATIBILITY_FLAG: &str = "--storage-compatibility-mode";

/// A value of `storage_compatibility_mode`, in the order an upgrade goes through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StorageCompatibility {
    /// `CASSANDRA_4`: 4.x formats and messaging; nodes may still run 4.x.
    Cassandra4,
    /// `UPGRADING`: every node runs 5; new formats are enabled as the cluster allows.
    Upgrading,
    /// `NONE`: no compatibility with 4.x; the pilots rewrite old SSTables.
    None,
}

impl StorageCompatibility {
    /// The value in `cassandra.yaml` and in the annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cassandra4 => "CASSANDRA_4",
            Self::Upgrading => "UPGRADING",
            Self::None => "NONE",
        }
    }

    /// The pilot flag's value.
    pub fn as_flag(self) -> &'static str {
        match self {
            Self::Cassandra4 => "cassandra-4",
            Self::Upgrading => "upgrading",
            Self::None => "none",
        }
    }

    /// The mode of an annotation value or a flag value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().replace('-', "_").as_str() {
            "CASSANDRA_4" => Some(Self::Cassandra4),
            "UPGRADING" => Some(Self::Upgrading),
            "NONE" => Some(Self::None),
            _ => None,
        }
    }

    /// The next step of an upgrade (`None` after `NONE`).
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Cassandra4 => Some(Self::Upgrading),
            Self::Upgrading => Some(Self::None),
            Self::None => None,
        }
    }
}

impl std::fmt::Display for StorageCompatibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether templates of `version` carry a mode (Cassandra 5 or later).
pub fn applies_to(version: &CassandraVersion) -> bool {
    version.major() >= 5
}

fn of_meta(meta: &ObjectMeta) -> Option<StorageCompatibility> {
    StorageCompatibility::parse(
        meta.annotations
            .as_ref()?
            .get(STORAGE_COMPATIBILITY_ANNOTATION)?,
    )
}

/// The mode a StatefulSet's template names: its annotation, else the pilot argument of its
/// template (when the template was kept); `None` when it names none (a 4.x template, or a
/// 5.x one written before modes were named, which ran `CASSANDRA_4`).
pub fn of_statefulset(sts: &StatefulSet) -> Option<StorageCompatibility> {
    of_meta(&sts.metadata).or_else(|| {
        let prefix = format!("{STORAGE_COMPATIBILITY_FLAG}=");
        sts.spec
            .as_ref()?
            .template
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.args.iter().flatten())
            .find_map(|a| StorageCompatibility::parse(a.strip_prefix(&prefix)?))
    })
}

/// The mode a pod was created with (its template's annotation), if any.
pub fn of_pod(pod: &Pod) -> Option<StorageCompatibility> {
    of_meta(&pod.metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use StorageCompatibility as S;

    #[test]
    fn spellings_and_steps() {
        for m in [S::Cassandra4, S::Upgrading, S::None] {
            assert_eq!(S::parse(m.as_str()), Some(m));
            assert_eq!(S::parse(m.as_flag()), Some(m));
        }
        assert_eq!(S::parse("cassandra-5"), None);
        assert_eq!(S::Cassandra4.next(), Some(S::Upgrading));
        assert_eq!(S::Upgrading.next(), Some(S::None));
        assert_eq!(S::None.next(), None);
        assert!(S::Cassandra4 < S::Upgrading && S::Upgrading < S::None);
        let v = |s: &str| CassandraVersion::parse(s).expect("version");
        assert!(!applies_to(&v("4.1.10")));
        assert!(applies_to(&v("5.0.8")));
    }
}
