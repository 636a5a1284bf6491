//! Paths and other strings from a traced caller's memory, in a form that
//! JSON carries losslessly.
//!
//! Valid UTF-8 is kept as text, and `serde_json` escapes quotes, backslashes,
//! newlines and other control characters. Any other bytes are written as
//! standard base64 with `"encoding":"base64"`, so that no byte is lost or
//! replaced.

use base64::Engine;
use nstrace_common::record::{string_state, StringInfo};
use serde::Serialize;

/// A string read from a traced call's arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PathText {
    /// The bytes as text when they are valid UTF-8, else their base64 form.
    pub value: String,
    /// `base64` when `value` is the base64 form of bytes that are not
    /// valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// Bytes kept, without the final NUL.
    pub bytes: u32,
    /// Whether the string was longer than the bytes kept: 4095 for paths,
    /// 255 for filesystem types and fsconfig keys.
    pub truncated: bool,
    /// Whether reading the caller's memory failed, as for a bad pointer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unreadable: bool,
    /// Whether the string was read at syscall exit because the entry read
    /// failed (its page was not mapped yet). The process could have
    /// changed the bytes in between.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_at_exit: bool,
    /// For a relative path: the directory it is relative to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_to: Option<RelativeTo>,
}

/// The directory that a relative path of a call is resolved against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RelativeTo {
    /// The directory fd argument, or -100 (`AT_FDCWD`) for the working
    /// directory.
    pub dirfd: i32,
    /// The directory's path, read from `/proc/PID/cwd` or `/proc/PID/fd/N`
    /// when the record was processed. Absent when that read failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<Box<PathText>>,
    /// Always true when `directory` is present: it was read after the
    /// call, so the process may have changed it in between.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resolved_late: bool,
}

impl PathText {
    /// Encodes `bytes`, which were complete when `truncated` is false.
    pub fn new(bytes: &[u8], truncated: bool) -> Self {
        let (value, encoding) = match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_string(), None),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(bytes),
                Some("base64"),
            ),
        };
        Self {
            value,
            encoding,
            bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            truncated,
            unreadable: false,
            read_at_exit: false,
            relative_to: None,
        }
    }

    /// Decodes a string slot of a record: `None` for a NULL pointer, an
    /// empty value marked `unreadable` when the read failed.
    pub fn from_record(buffer: &[u8], info: StringInfo) -> Option<Self> {
        if info.state & string_state::PRESENT == 0 {
            return None;
        }
        let read_at_exit = info.state & string_state::AT_EXIT != 0;
        if info.state & string_state::FAULT != 0 {
            let mut text = Self::new(&[], false);
            text.unreadable = true;
            text.read_at_exit = read_at_exit;
            return Some(text);
        }
        let len = usize::try_from(info.len).map_or(buffer.len(), |len| len.min(buffer.len()));
        let mut text = Self::new(&buffer[..len], info.state & string_state::TRUNCATED != 0);
        text.read_at_exit = read_at_exit;
        Some(text)
    }

    /// Returns the bytes that `value` encodes: the text itself, or the bytes
    /// decoded from base64. `None` only for a `value` that is not valid
    /// base64, which [`PathText::new`] never makes.
    pub fn raw_bytes(&self) -> Option<Vec<u8>> {
        match self.encoding {
            None => Some(self.value.as_bytes().to_vec()),
            Some(_) => base64::engine::general_purpose::STANDARD
                .decode(&self.value)
                .ok(),
        }
    }

    /// Returns whether the path is relative: it does not start with `/`.
    /// An empty path, which with `AT_EMPTY_PATH` means the dirfd itself,
    /// counts.
    pub fn is_relative(bytes: &[u8]) -> bool {
        bytes.first() != Some(&b'/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(len: u32, state: u32) -> StringInfo {
        StringInfo {
            len,
            state,
            addr: 0x1000,
        }
    }

    #[test]
    fn utf8_kept_as_text() {
        let text = PathText::new(b"/mnt/caf\xc3\xa9", false);
        assert_eq!(text.value, "/mnt/caf\u{e9}");
        assert_eq!(text.encoding, None);
        assert_eq!(text.bytes, 10);
    }

    #[test]
    fn invalid_utf8_base64() {
        let text = PathText::new(b"/tmp/\xff\xfe", false);
        assert_eq!(text.value, "L3RtcC///g==");
        assert_eq!(text.encoding, Some("base64"));
        assert_eq!(text.bytes, 7);
    }

    #[test]
    fn control_characters_escaped_in_json() {
        let text = PathText::new(b"a\nb\"c\\d\x01e\x7f", false);
        let json = serde_json::to_string(&text).unwrap();
        assert!(json.starts_with(r#"{"value":"a\nb\"c\\d\u0001e"#), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["value"], "a\nb\"c\\d\u{1}e\u{7f}");
    }

    #[test]
    fn record_slot_decoded() {
        let mut buffer = [0u8; 16];
        buffer[..4].copy_from_slice(b"/mnt");
        let text = PathText::from_record(&buffer, info(4, string_state::PRESENT)).unwrap();
        assert_eq!(text.value, "/mnt");
        assert!(!text.truncated);
    }

    #[test]
    fn null_pointer_absent() {
        assert_eq!(PathText::from_record(&[0; 4], info(0, 0)), None);
    }

    #[test]
    fn fault_marked_unreadable() {
        let text = PathText::from_record(
            &[0; 4],
            info(0, string_state::PRESENT | string_state::FAULT),
        )
        .unwrap();
        assert!(text.unreadable);
        assert_eq!(text.bytes, 0);
    }

    #[test]
    fn read_at_exit_marked() {
        let text = PathText::from_record(
            b"/mnt",
            info(4, string_state::PRESENT | string_state::AT_EXIT),
        )
        .unwrap();
        assert_eq!(text.value, "/mnt");
        assert!(text.read_at_exit);
        assert!(!text.unreadable);
    }

    #[test]
    fn truncated_flag_kept() {
        let buffer = [b'a'; 4096];
        let text = PathText::from_record(
            &buffer,
            info(4095, string_state::PRESENT | string_state::TRUNCATED),
        )
        .unwrap();
        assert!(text.truncated);
        assert_eq!(text.bytes, 4095);
        assert_eq!(text.value.len(), 4095);
    }

    #[test]
    fn length_beyond_buffer_clamped() {
        let text = PathText::from_record(b"abc", info(99, string_state::PRESENT)).unwrap();
        assert_eq!(text.value, "abc");
    }

    #[test]
    fn raw_bytes_round_trip() {
        for bytes in [&b"/proc"[..], b"/tmp/\xff\xfe", b""] {
            assert_eq!(PathText::new(bytes, false).raw_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn relative_paths_detected() {
        assert!(PathText::is_relative(b"sub/dir"));
        assert!(PathText::is_relative(b""));
        assert!(!PathText::is_relative(b"/abs"));
    }
}
