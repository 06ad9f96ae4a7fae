//! Ports for servers a test (or devenv) starts and then tells its clients about.
//!
//! Asking the kernel for port 0 and releasing it hands out a port from the ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default) — the same range every
//! outgoing connection on the machine takes its source port from. Between the release and the
//! server's own bind, any client socket (a gRPC connection, an HTTP request of a parallel test)
//! may take it, and the server fails with "address already in use": a flake seen in
//! `etcd-store`'s cluster test. The ports here come from below the ephemeral range instead,
//! where the kernel never puts a client socket: only another server binding that very port in
//! the gap can collide, and the search starts at a different place in each process.

use std::net::{Ipv4Addr, TcpListener};
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

/// Why no port could be found.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Every candidate port was in use (or could not be bound).
    #[error("no free port in {start}..{end} on 127.0.0.1 (last error: {last})")]
    Exhausted {
        /// First candidate.
        start: u16,
        /// One past the last candidate.
        end: u16,
        /// The last bind error.
        last: String,
    },
}

/// The lowest port the candidates start at: above the registered ports most services use.
const LOWEST: u16 = 20_000;

/// The default start of the ephemeral range, used when `/proc` cannot be read.
const DEFAULT_EPHEMERAL_LOW: u16 = 32_768;

/// The candidate ports given the start of the ephemeral range: from [`LOWEST`] up to it, or,
/// if the ephemeral range starts lower, the 4,096 ports just below it (at least 1,024 up). Pure.
pub fn candidates(ephemeral_low: u16) -> Range<u16> {
    if ephemeral_low > LOWEST + 1_024 {
        LOWEST..ephemeral_low
    } else {
        ephemeral_low.saturating_sub(4_096).max(1_024)..ephemeral_low.max(1_025)
    }
}

/// The start of the ephemeral range from the text of `ip_local_port_range` (`"32768\t60999"`).
/// Pure.
pub fn ephemeral_low(text: &str) -> Option<u16> {
    text.split_whitespace().next()?.parse().ok()
}

/// The `i`-th candidate of `range`, starting at `offset` and wrapping around. Pure.
pub fn nth_candidate(range: &Range<u16>, offset: u32, i: u32) -> u16 {
    let len = u32::from(range.end - range.start).max(1);
    let step = (offset.wrapping_add(i)) % len;
    range.start + u16::try_from(step).unwrap_or(0)
}

/// Where this process's search continues (seeded from the process id and the clock, so two
/// test processes start far apart).
static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);

fn next_offset() -> u32 {
    let seed = || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        std::process::id().wrapping_mul(2_654_435_761) ^ nanos
    };
    let _ = NEXT.compare_exchange(u32::MAX, seed() >> 1, Ordering::Relaxed, Ordering::Relaxed);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The machine's ephemeral range start (or the kernel default).
fn machine_ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| ephemeral_low(&t))
        .unwrap_or(DEFAULT_EPHEMERAL_LOW)
}

/// `n` distinct ports on 127.0.0.1 that nothing listens on now, below the ephemeral range
/// (held bound together while choosing, then released for the caller's servers).
///
/// # Errors
/// [`PortError::Exhausted`] when too few candidates can be bound.
pub fn free_ports(n: usize) -> Result<Vec<u16>, PortError> {
    let range = candidates(machine_ephemeral_low());
    let tries = u32::from(range.end - range.start);
    let mut held = Vec::with_capacity(n);
    let mut last = String::from("none");
    for _ in 0..tries {
        if held.len() == n {
            break;
        }
        let port = nth_candidate(&range, next_offset(), 0);
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(l) => held.push((port, l)),
            Err(e) => last = e.to_string(),
        }
    }
    if held.len() < n {
        return Err(PortError::Exhausted {
            start: range.start,
            end: range.end,
            last,
        });
    }
    Ok(held.into_iter().map(|(port, _listener)| port).collect())
}

/// One port on 127.0.0.1 that nothing listens on now, below the ephemeral range.
///
/// # Errors
/// [`PortError::Exhausted`].
pub fn free_port() -> Result<u16, PortError> {
    free_ports(1).map(|p| p[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_stay_below_the_ephemeral_range() {
        let cases = [
            (32_768, 20_000..32_768),
            (49_152, 20_000..49_152),
            (21_000, 16_904..21_000),
            (4_000, 1_024..4_000),
            (0, 1_024..1_025),
        ];
        for (low, want) in cases {
            assert_eq!(candidates(low), want, "ephemeral range from {low}");
        }
    }

    #[test]
    fn reads_the_kernels_range() {
        assert_eq!(ephemeral_low("32768\t60999\n"), Some(32_768));
        assert_eq!(ephemeral_low("1024 65535"), Some(1_024));
        assert_eq!(ephemeral_low(""), None);
        assert_eq!(ephemeral_low("x y"), None);
    }

    #[test]
    fn the_search_wraps_around_the_range() {
        let r = 100..110;
        assert_eq!(nth_candidate(&r, 0, 0), 100);
        assert_eq!(nth_candidate(&r, 8, 1), 109);
        assert_eq!(nth_candidate(&r, 8, 2), 100);
        assert_eq!(nth_candidate(&r, u32::MAX, 1), 100);
    }

    #[test]
    fn ports_are_distinct_free_and_not_ephemeral() {
        let low = machine_ephemeral_low();
        let ports = free_ports(8).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8, "{ports:?}");
        for p in ports {
            assert!(p < low, "{p} is in the ephemeral range");
            TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap();
        }
    }
}
