//! The JVM heap from the container's memory limit: half of it (the rest is for the page
//! cache, direct buffers and the JVM itself), at most 31 GiB so the JVM keeps compressed
//! object pointers, as the official guidance says.

/// The largest heap the pilot gives a node, in MiB (31 GiB).
pub const MAX_HEAP_MIB: u64 = 31 * 1024;
/// The smallest heap the pilot gives a node, in MiB.
pub const MIN_HEAP_MIB: u64 = 128;

/// The heap in MiB: `override_mib` when given, else half of `limit_bytes` within
/// [`MIN_HEAP_MIB`]..=[`MAX_HEAP_MIB`]; `None` (the image's `jvm.options` decide) without
/// either.
pub fn heap_mib(limit_bytes: Option<u64>, override_mib: Option<u64>) -> Option<u64> {
    if let Some(mib) = override_mib {
        return Some(mib);
    }
    let half = limit_bytes? / 2 / (1024 * 1024);
    Some(half.clamp(MIN_HEAP_MIB, MAX_HEAP_MIB))
}

/// The JVM options that set the heap, appended after the pod's own `*_JAVA_OPTS` (the last
/// `-Xms`/`-Xmx` wins).
pub fn java_opts(existing: Option<&str>, heap_mib: Option<u64>) -> Option<String> {
    let heap = heap_mib.map(|m| format!("-Xms{m}m -Xmx{m}m"));
    let existing = existing.map(str::trim).filter(|e| !e.is_empty());
    match (existing, heap) {
        (Some(e), Some(h)) => Some(format!("{e} {h}")),
        (Some(e), None) => Some(e.to_owned()),
        (None, h) => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn heap_from_the_limit() {
        let cases = [
            (None, None, None),
            (None, Some(700), Some(700)),
            (Some(2 * GIB), None, Some(1024)),
            (Some(2 * GIB), Some(300), Some(300)),
            (Some(GIB / 8), None, Some(MIN_HEAP_MIB)),
            (Some(128 * GIB), None, Some(MAX_HEAP_MIB)),
            (Some(3 * GIB / 2), None, Some(768)),
        ];
        for (limit, over, want) in cases {
            assert_eq!(heap_mib(limit, over), want, "{limit:?} {over:?}");
        }
    }

    #[test]
    fn java_opts_append_the_heap() {
        assert_eq!(java_opts(None, None), None);
        assert_eq!(
            java_opts(Some("-Dx=1"), Some(512)).as_deref(),
            Some("-Dx=1 -Xms512m -Xmx512m")
        );
        assert_eq!(
            java_opts(Some("  "), Some(64)).as_deref(),
            Some("-Xms64m -Xmx64m")
        );
        assert_eq!(java_opts(Some("-Dx=1"), None).as_deref(), Some("-Dx=1"));
    }
}
