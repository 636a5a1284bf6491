//! RFC 3339 times in UTC with nanoseconds, formatted without allocating.
//!
//! Every record carries at least one such time, so formatting them is on
//! the path of every event. The text is built in a fixed buffer from the
//! Unix time with integer arithmetic only.

use std::{fmt, ops::Deref};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};

/// Length of `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const LEN: usize = 30;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// An RFC 3339 time in UTC with 9 fractional digits, such as
/// `2023-11-14T22:13:20.000000005Z`. It serialises as a JSON string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    text: [u8; LEN],
}

impl Timestamp {
    /// Formats `unix_ns`, nanoseconds since 1970-01-01T00:00:00Z. Every
    /// `i64` value lies between the years 1677 and 2262, so the year always
    /// has 4 digits.
    pub fn from_unix_nanos(unix_ns: i64) -> Self {
        let seconds = unix_ns.div_euclid(NANOS_PER_SECOND);
        let nanos = unix_ns.rem_euclid(NANOS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);

        let mut text = *b"0000-00-00T00:00:00.000000000Z";
        write_digits(&mut text[0..4], year);
        write_digits(&mut text[5..7], month);
        write_digits(&mut text[8..10], day);
        write_digits(&mut text[11..13], second_of_day / 3600);
        write_digits(&mut text[14..16], second_of_day / 60 % 60);
        write_digits(&mut text[17..19], second_of_day % 60);
        write_digits(&mut text[20..29], nanos);
        Self { text }
    }

    /// Parses an RFC 3339 time, for tests that write times as text.
    ///
    /// # Panics
    /// When `text` is not an RFC 3339 time.
    #[cfg(test)]
    pub fn parse(text: &str) -> Self {
        let time = chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|error| panic!("invalid time {text:?}: {error}"));
        Self::from_unix_nanos(time.timestamp_nanos_opt().expect("time in range"))
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: `from_unix_nanos` fills the buffer with ASCII digits and
        // punctuation only, which are valid UTF-8, and nothing else writes
        // to it.
        unsafe { std::str::from_utf8_unchecked(&self.text) }
    }
}

/// Converts days since 1970-01-01 to a (year, month, day) date of the
/// proleptic Gregorian calendar. The calendar repeats every 400 years
/// (146,097 days), and counting years from March 1 puts the leap day at
/// the end of each year, so that months have a fixed pattern of lengths.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Days from 0000-03-01 to 1970-01-01.
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 is March, 11 is February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes `value` as decimal digits filling `out`, with leading zeros.
/// `value` is non-negative and has at most `out.len()` digits.
fn write_digits(out: &mut [u8], mut value: i64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

impl Deref for Timestamp {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The schema of `String`: a plain string, as JSON has no time type.
impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        String::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, SecondsFormat};

    use super::*;

    fn chrono_text(unix_ns: i64) -> String {
        DateTime::from_timestamp_nanos(unix_ns).to_rfc3339_opts(SecondsFormat::Nanos, true)
    }

    #[test]
    fn known_time_formatted() {
        let time = Timestamp::from_unix_nanos(1_700_000_000_000_000_005);
        assert_eq!(time.as_str(), "2023-11-14T22:13:20.000000005Z");
    }

    #[test]
    fn range_ends_match_chrono() {
        for unix_ns in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX] {
            assert_eq!(
                Timestamp::from_unix_nanos(unix_ns).as_str(),
                chrono_text(unix_ns),
                "unix_ns {unix_ns}"
            );
        }
    }

    #[test]
    fn leap_days_and_year_ends_match_chrono() {
        // Midnight and the nanosecond before it, around 29 February of
        // leap years (including 2000, a multiple of 400) and 1 March of
        // 1900 and 2100, which have no 29 February.
        let days = [
            -25_508, -25_509, // 1900-03-01, 1900-02-28
            10_957, 11_016, 11_017, // 2000-01-01, 2000-02-29, 2000-03-01
            19_782, 19_783, // 2024-02-29, 2024-03-01
            47_540, 47_541, // 2100-02-28, 2100-03-01
        ];
        for day in days {
            let midnight = day * SECONDS_PER_DAY * NANOS_PER_SECOND;
            for unix_ns in [midnight - 1, midnight, midnight + 1] {
                assert_eq!(
                    Timestamp::from_unix_nanos(unix_ns).as_str(),
                    chrono_text(unix_ns),
                    "unix_ns {unix_ns}"
                );
            }
        }
    }

    #[test]
    fn spread_of_times_matches_chrono() {
        // Steps of a little over 37 days, an odd number of nanoseconds,
        // reach every month and vary every digit over 1677 to 2262.
        let step: i64 = 3_200_000_000_000_011;
        let mut unix_ns = i64::MIN;
        let mut checked = 0;
        while let Some(next) = unix_ns.checked_add(step) {
            assert_eq!(
                Timestamp::from_unix_nanos(unix_ns).as_str(),
                chrono_text(unix_ns),
                "unix_ns {unix_ns}"
            );
            unix_ns = next;
            checked += 1;
        }
        assert!(checked > 5_000, "only {checked} times checked");
    }

    #[test]
    fn serialises_as_json_string() {
        let time = Timestamp::from_unix_nanos(0);
        assert_eq!(
            serde_json::to_string(&time).unwrap(),
            "\"1970-01-01T00:00:00.000000000Z\""
        );
    }
}
