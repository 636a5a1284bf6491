//! Conversion of kernel timestamps to UTC.

use chrono::{DateTime, Utc};
use nix::time::{clock_gettime, ClockId};

use crate::output::timestamp::Timestamp;

/// Converts `CLOCK_BOOTTIME` nanoseconds, as `bpf_ktime_get_boot_ns`
/// returns them, to wall-clock time.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// `CLOCK_REALTIME` minus `CLOCK_BOOTTIME`, in nanoseconds.
    offset_ns: i128,
}

impl Clock {
    /// Measures the offset between the two clocks now.
    ///
    /// NOTE: the offset is measured once, so a later step of the wall
    /// clock (settimeofday, a large NTP correction) is not followed.
    pub fn now() -> nix::Result<Self> {
        let boot = nanos(clock_gettime(ClockId::CLOCK_BOOTTIME)?);
        let real = nanos(clock_gettime(ClockId::CLOCK_REALTIME)?);
        Ok(Self {
            offset_ns: real - boot,
        })
    }

    /// A clock with a fixed offset, for tests.
    pub fn with_offset(offset_ns: i128) -> Self {
        Self { offset_ns }
    }

    /// Returns the UTC time of a boot-time timestamp.
    pub fn utc(&self, boot_ns: u64) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.unix_nanos(boot_ns))
    }

    /// Formats a boot-time timestamp as RFC 3339 in UTC with nanoseconds.
    pub fn rfc3339(&self, boot_ns: u64) -> Timestamp {
        Timestamp::from_unix_nanos(self.unix_nanos(boot_ns))
    }

    /// Returns the Unix time of a boot-time timestamp in nanoseconds,
    /// clamped to the `i64` range.
    fn unix_nanos(&self, boot_ns: u64) -> i64 {
        let real = i128::from(boot_ns) + self.offset_ns;
        i64::try_from(real).unwrap_or(if real < 0 { i64::MIN } else { i64::MAX })
    }

    /// Returns the current `CLOCK_BOOTTIME` in nanoseconds.
    pub fn boot_now() -> u64 {
        clock_gettime(ClockId::CLOCK_BOOTTIME).map_or(0, |t| u64::try_from(nanos(t)).unwrap_or(0))
    }
}

fn nanos(time: nix::sys::time::TimeSpec) -> i128 {
    i128::from(time.tv_sec()) * 1_000_000_000 + i128::from(time.tv_nsec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_nanoseconds_in_utc() {
        let clock = Clock::with_offset(1_700_000_000_000_000_000);
        assert_eq!(clock.rfc3339(5).as_str(), "2023-11-14T22:13:20.000000005Z");
    }

    #[test]
    fn boot_time_maps_near_now() {
        let clock = Clock::now().unwrap();
        let now = Utc::now();
        let mapped = clock.utc(Clock::boot_now());
        assert!((mapped - now).num_milliseconds().abs() < 1000);
    }
}
