//! Heap size and resource profile of a node, from its container's memory limit.
//!
//! The heap follows Cassandra's own calculation in `cassandra-env.sh`: the larger of half the
//! memory capped at 1 GiB and a quarter of the memory capped at 8 GiB. Containers below
//! [`SMALL_LIMIT`] get the small profile: fewer threads, small caches and memtables and a
//! bounded direct-memory pool, so a node fits a test machine (about 900 MiB resident with a
//! 512 MiB heap); larger containers keep Cassandra's defaults.

/// Containers with less memory than this (4 GiB) get [`Profile::Small`].
pub const SMALL_LIMIT: u64 = 4 << 30;
/// The heap when the memory limit is unknown: what the image's start script uses by default.
pub const DEFAULT_HEAP_MIB: u64 = 512;
/// The smallest heap the pilot gives Cassandra.
pub const MIN_HEAP_MIB: u64 = 256;

const MIB: u64 = 1 << 20;

/// How much of Cassandra's defaults a node keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// A node in a container below 4 GiB (or of unknown size): the settings of the devenv
    /// image, tuned for several nodes on one small machine.
    Small,
    /// Cassandra's defaults for everything but the heap.
    Standard,
}

/// The memory settings of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// `-Xms`/`-Xmx` in MiB (the start script's `MAX_HEAP_SIZE`).
    pub heap_mib: u64,
    /// The resource profile.
    pub profile: Profile,
}

impl Sizing {
    /// The sizing for a container with `memory_limit` bytes (None: unknown or unlimited).
    pub fn for_limit(memory_limit: Option<u64>) -> Self {
        let Some(limit) = memory_limit.filter(|l| *l > 0) else {
            return Self {
                heap_mib: DEFAULT_HEAP_MIB,
                profile: Profile::Small,
            };
        };
        let mib = limit / MIB;
        let half = (mib / 2).min(1024);
        let quarter = (mib / 4).min(8192);
        Self {
            heap_mib: half.max(quarter).max(MIN_HEAP_MIB),
            profile: if limit < SMALL_LIMIT {
                Profile::Small
            } else {
                Profile::Standard
            },
        }
    }

    /// The heap as the start script's `MAX_HEAP_SIZE` wants it (`512M`).
    pub fn max_heap_size(&self) -> String {
        format!("{}M", self.heap_mib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_follows_cassandras_calculation() {
        const GIB: u64 = 1 << 30;
        let cases = [
            (None, 512, Profile::Small),
            (Some(0), 512, Profile::Small),
            (Some(256 * MIB), 256, Profile::Small),
            (Some(768 * MIB), 384, Profile::Small),
            (Some(GIB), 512, Profile::Small),
            (Some(3 * GIB / 2), 768, Profile::Small),
            (Some(2 * GIB), 1024, Profile::Small),
            (Some(4 * GIB), 1024, Profile::Standard),
            (Some(8 * GIB), 2048, Profile::Standard),
            (Some(16 * GIB), 4096, Profile::Standard),
            (Some(64 * GIB), 8192, Profile::Standard),
        ];
        for (limit, heap_mib, profile) in cases {
            assert_eq!(
                Sizing::for_limit(limit),
                Sizing { heap_mib, profile },
                "limit {limit:?}"
            );
        }
    }

    #[test]
    fn max_heap_size_is_in_mebibytes() {
        assert_eq!(Sizing::for_limit(None).max_heap_size(), "512M");
    }
}
