//! Memory and thread figures of a process from `/proc/<pid>/status`, as the benchmarks sample
//! them (the controller's and the pilot's RSS measurements), and the machine's load averages
//! from `/proc/loadavg` that the benchmarks print beside their figures.

/// Figures of `/proc/<pid>/status`; memory in KiB (the kernel's "kB"). A field the text lacks
/// (a kernel thread has no `VmRSS`, an old kernel no `RssAnon`) reads as 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// `VmRSS`: resident set size.
    pub vm_rss: u64,
    /// `RssAnon`: resident anonymous memory (heap, stacks).
    pub rss_anon: u64,
    /// `RssFile`: resident file mappings (the program's text, shared libraries).
    pub rss_file: u64,
    /// `VmHWM`: peak resident set size.
    pub vm_hwm: u64,
    /// `Threads`: number of threads.
    pub threads: u64,
}

/// Parses the text of `/proc/<pid>/status`. Lines whose key is not one of [`Status`]'s, or
/// whose value is not a number, are skipped.
pub fn parse_status(text: &str) -> Status {
    let mut status = Status::default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue;
        };
        match key {
            "VmRSS:" => status.vm_rss = value,
            "RssAnon:" => status.rss_anon = value,
            "RssFile:" => status.rss_file = value,
            "VmHWM:" => status.vm_hwm = value,
            "Threads:" => status.threads = value,
            _ => {}
        }
    }
    status
}

/// Reads and parses `/proc/<pid>/status`; `None` when it cannot be read (the process is gone).
pub fn read_status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(parse_status(&text))
}

/// The 1, 5 and 15 minute load averages of the text of `/proc/loadavg`, space-separated
/// (`"0.52 0.58 0.59"`); the run-queue and last-pid fields are left out.
pub fn parse_loadavg(text: &str) -> String {
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The machine's load averages from `/proc/loadavg` (see [`parse_loadavg`]); empty when the file
/// cannot be read.
pub fn loadavg() -> String {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_status_text() {
        let text = "Name:\tnavigator-contr\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n\
                    VmPeak:\t  912345 kB\nVmHWM:\t   61234 kB\nVmRSS:\t   48000 kB\n\
                    RssAnon:\t   30000 kB\nRssFile:\t   18000 kB\nRssShmem:\t       0 kB\n\
                    Threads:\t7\nSigQ:\t0/63432\nCpus_allowed_list:\t0-1\n";
        assert_eq!(
            parse_status(text),
            Status {
                vm_rss: 48000,
                rss_anon: 30000,
                rss_file: 18000,
                vm_hwm: 61234,
                threads: 7,
            }
        );
    }

    #[test]
    fn missing_fields_read_as_zero() {
        assert_eq!(
            parse_status("Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n"),
            Status {
                threads: 1,
                ..Status::default()
            }
        );
        assert_eq!(parse_status(""), Status::default());
    }

    #[test]
    fn reads_this_process() {
        let status = read_status(std::process::id()).expect("/proc/self/status is readable");
        assert!(status.vm_rss > 0, "{status:?}");
        assert!(status.threads >= 1, "{status:?}");
    }

    #[test]
    fn parses_loadavg() {
        assert_eq!(
            parse_loadavg("0.52 0.58 0.59 2/913 123456\n"),
            "0.52 0.58 0.59"
        );
        assert_eq!(parse_loadavg(""), "");
        assert_eq!(loadavg().split(' ').count(), 3, "/proc/loadavg is readable");
    }
}
