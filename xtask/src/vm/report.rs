//! The marker lines that the guest's /init prints on the console.

/// Prefix of the summary line that /init prints before powering off.
const RESULT_MARKER: &str = "NSTRACE-GUEST-RESULT";

/// Test counts of one guest run.
#[derive(Debug, PartialEq, Eq)]
pub struct GuestResult {
    pub kernel: String,
    pub passed: usize,
    /// Failed tests, ignored tests and test binaries that crashed.
    pub failed: usize,
}

/// Parses the last summary line in `console`, a line such as
/// `NSTRACE-GUEST-RESULT kernel=6.1 passed=12 failed=0`.
pub fn parse_result(console: &str) -> Option<GuestResult> {
    let line = console
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix(RESULT_MARKER))?;
    let mut kernel = None;
    let mut passed = None;
    let mut failed = None;
    for word in line.split_whitespace() {
        match word.split_once('=') {
            Some(("kernel", value)) => kernel = Some(value.to_string()),
            Some(("passed", value)) => passed = value.parse().ok(),
            Some(("failed", value)) => failed = value.parse().ok(),
            _ => {}
        }
    }
    Some(GuestResult {
        kernel: kernel?,
        passed: passed?,
        failed: failed?,
    })
}

/// Returns the per-binary marker lines, such as
/// `NSTRACE-GUEST-BINARY name=ns_create status=0 passed=4 failed=0 ignored=0`,
/// for the host's summary.
pub fn binary_lines(console: &str) -> Vec<&str> {
    console
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("NSTRACE-GUEST-BINARY "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_parsed() {
        let console = "booting\nNSTRACE-GUEST-BINARY name=filters status=0 passed=3 failed=0 ignored=0\n\
                       NSTRACE-GUEST-RESULT kernel=6.12 passed=12 failed=1\n[   9.1] reboot: Power down\n";
        assert_eq!(
            parse_result(console),
            Some(GuestResult {
                kernel: "6.12".to_string(),
                passed: 12,
                failed: 1,
            })
        );
        assert_eq!(binary_lines(console).len(), 1);
    }

    #[test]
    fn missing_summary_is_none() {
        assert_eq!(parse_result("Kernel panic - not syncing\n"), None);
    }

    #[test]
    fn incomplete_summary_is_none() {
        assert_eq!(
            parse_result("NSTRACE-GUEST-RESULT kernel=6.1 passed=3\n"),
            None
        );
    }
}
