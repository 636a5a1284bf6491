//! Exponential backoff between connection attempts to a syslog receiver.

use std::time::{Duration, Instant};

/// Wait after the first failed attempt.
pub const INITIAL_DELAY: Duration = Duration::from_millis(100);

/// Maximum wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// When the next connection attempt is allowed. The wait starts at
/// [`INITIAL_DELAY`] and doubles after each failed attempt up to
/// [`MAX_DELAY`]; a success resets it.
#[derive(Debug, Default)]
pub struct Backoff {
    /// Wait after the next failure; zero while connected.
    delay: Duration,
    /// No attempt before this instant; `None` allows one at once.
    next_attempt: Option<Instant>,
}

impl Backoff {
    /// Returns whether an attempt is allowed at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.next_attempt.is_none_or(|next| now >= next)
    }

    /// Records a failed attempt at `now` and returns the wait before the
    /// next one.
    pub fn fail(&mut self, now: Instant) -> Duration {
        let delay = if self.delay.is_zero() {
            INITIAL_DELAY
        } else {
            self.delay
        };
        self.next_attempt = Some(now + delay);
        self.delay = (delay * 2).min(MAX_DELAY);
        delay
    }

    /// Records a successful attempt: the next failure waits
    /// [`INITIAL_DELAY`] again.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_cap() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        let delays: Vec<u128> = (0..9).map(|_| backoff.fail(start).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }

    #[test]
    fn attempt_due_after_delay() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        assert!(backoff.due(start));
        backoff.fail(start);
        assert!(!backoff.due(start + Duration::from_millis(99)));
        assert!(backoff.due(start + INITIAL_DELAY));
    }

    #[test]
    fn reset_restarts_at_initial_delay() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        backoff.fail(start);
        backoff.fail(start);
        backoff.reset();
        assert!(backoff.due(start));
        assert_eq!(backoff.fail(start), INITIAL_DELAY);
    }
}
