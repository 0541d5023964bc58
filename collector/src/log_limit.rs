//! A cap on repeated warnings, so that a client sending the same bad input in a loop
//! cannot flood the log: one line per second, which counts the lines left out before it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Admits one log line per second of the system clock.
#[derive(Debug, Default)]
pub struct LogLimit {
    /// The Unix second of the last admitted line, plus one, so 0 means none yet.
    last_second: AtomicU64,
    /// Lines left out since the last admitted one.
    left_out: AtomicU64,
}

impl LogLimit {
    /// Creates a limit that admits the next line.
    pub const fn new() -> Self {
        LogLimit {
            last_second: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// Returns the number of lines left out since the last admitted one when a line may be
    /// logged now, or `None` when this second already had its line.
    pub fn admit(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.admit_at(now)
    }

    fn admit_at(&self, second: u64) -> Option<u64> {
        let stamp = second.saturating_add(1);
        let last = self.last_second.load(Ordering::Relaxed);
        if last != stamp
            && self
                .last_second
                .compare_exchange(last, stamp, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.left_out.swap(0, Ordering::Relaxed));
        }
        self.left_out.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_second_counts_the_rest() {
        let limit = LogLimit::new();

        assert_eq!(limit.admit_at(100), Some(0));
        assert_eq!(limit.admit_at(100), None);
        assert_eq!(limit.admit_at(100), None);
        assert_eq!(limit.admit_at(101), Some(2));
        assert_eq!(limit.admit_at(101), None);
        assert_eq!(limit.admit_at(0), Some(1));
    }
}
