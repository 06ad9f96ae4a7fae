//! Memory figures of a process from `/proc/<pid>/status`.

use serde::Serialize;

/// Resident set size now and its high-water mark, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemStatus {
    /// `VmRSS`: resident set size, KiB.
    pub vm_rss_kib: u64,
    /// `VmHWM`: peak resident set size, KiB.
    pub vm_hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` out of the text of `/proc/<pid>/status`. `None` when either is
/// missing (e.g. a kernel thread or a zombie).
pub fn parse_status(text: &str) -> Option<MemStatus> {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    Some(MemStatus {
        vm_rss_kib: field("VmRSS")?,
        vm_hwm_kib: field("VmHWM")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_hwm() {
        let text = "Name:\tnavigator-apise\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   48000 kB\nThreads:\t4\n";
        assert_eq!(
            parse_status(text),
            Some(MemStatus {
                vm_rss_kib: 48000,
                vm_hwm_kib: 51234
            })
        );
    }

    #[test]
    fn missing_fields_give_none() {
        assert_eq!(parse_status("Name:\tkthreadd\nState:\tS\n"), None);
        assert_eq!(parse_status("VmRSS:\t1 kB\n"), None);
    }
}
