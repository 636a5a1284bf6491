//! RFC 5424 syslog messages.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, with the
//! record's JSON as MSG and no structured data. MSG is sent without the
//! UTF-8 byte order mark, which RFC 5424 section 6.4 allows (MSG-ANY);
//! receivers then treat it as opaque bytes, and JSON is valid UTF-8.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

/// `daemon`, RFC 5424 facility 3.
pub const FACILITY_DAEMON: u8 = 3;

/// RFC 5424 severities used for records.
pub mod severity {
    pub const CRITICAL: u8 = 2;
    pub const ERROR: u8 = 3;
    pub const WARNING: u8 = 4;
    pub const NOTICE: u8 = 5;
    pub const INFORMATIONAL: u8 = 6;
}

/// Header fields of a message.
#[derive(Clone, Debug)]
pub struct Header<'a> {
    pub facility: u8,
    pub severity: u8,
    pub time: DateTime<Utc>,
    pub hostname: &'a str,
    pub app_name: &'a str,
    pub proc_id: u32,
    pub msg_id: &'a str,
}

/// Formats one message. Header fields are reduced to what RFC 5424 allows:
/// printable US-ASCII without spaces, cut to the field's maximum length,
/// or `-` when empty. The time has microseconds, the finest that
/// TIME-SECFRAC allows.
pub fn format(header: &Header, msg: &[u8]) -> Vec<u8> {
    let pri = u16::from(header.facility) * 8 + u16::from(header.severity);
    let mut text = String::with_capacity(128);
    let _ = write!(
        text,
        "<{pri}>1 {} {} {} {} {} - ",
        header.time.to_rfc3339_opts(SecondsFormat::Micros, true),
        field(header.hostname, 255),
        field(header.app_name, 48),
        header.proc_id,
        field(header.msg_id, 32),
    );
    let mut message = text.into_bytes();
    message.extend_from_slice(msg);
    message
}

/// A header field: printable US-ASCII (33 to 126) only, at most `max`
/// characters, `-` (NILVALUE) when nothing is left.
fn field(value: &str, max: usize) -> String {
    let cleaned: String = value
        .chars()
        .filter(char::is_ascii_graphic)
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_formatted() {
        let header = Header {
            facility: FACILITY_DAEMON,
            severity: severity::NOTICE,
            time: DateTime::from_timestamp_nanos(1_700_000_000_123_456_789),
            hostname: "vm one",
            app_name: "nstrace",
            proc_id: 42,
            msg_id: "ns_create",
        };
        let message = format(&header, br#"{"a":1}"#);
        assert_eq!(
            String::from_utf8(message).unwrap(),
            r#"<29>1 2023-11-14T22:13:20.123456Z vmone nstrace 42 ns_create - {"a":1}"#
        );
    }

    #[test]
    fn empty_field_is_nil() {
        assert_eq!(field("", 10), "-");
        assert_eq!(field("ä", 10), "-");
        assert_eq!(field("abcdef", 3), "abc");
    }
}
