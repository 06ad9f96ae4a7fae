//! Pure helpers of `navigator-bench`: latency percentiles, the benchmark objects, parsing of the
//! kubeconfig and `/proc/<pid>/status`, matching watch events to writes, and the report (table and
//! JSON). The binary (`src/main.rs`) does the I/O: it starts the server, drives the requests and
//! prints what these helpers compute.

pub mod compare;
pub mod crd;
pub mod kubeconfig;
pub mod objects;
pub mod procfs;
pub mod promtext;
pub mod report;
pub mod stats;
pub mod watch;

static UPDATE_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A number no earlier call in this process returned: the value every update writes, so that no
/// update is a no-op (a server answers a no-op update without writing, and no watch event
/// follows).
pub fn next_update_seq() -> u64 {
    UPDATE_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A small deterministic pseudo-random generator (xorshift64*), enough to pick random names.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (0 is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` must be non-zero; 0 gives 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // n fits in u64 on every supported target; the modulo bias is irrelevant here.
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_in_range_and_is_deterministic() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.below(10);
            assert!(x < 10);
            assert_eq!(x, b.below(10));
        }
        assert_eq!(Rng::new(0).below(0), 0);
    }

    #[test]
    fn rng_covers_the_range() {
        let mut rng = Rng::new(42);
        let mut seen = [false; 16];
        for _ in 0..1000 {
            seen[rng.below(16)] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
