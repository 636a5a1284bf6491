//! The kernel's audit state as `auditctl -s` and `auditctl -l` print it.

use std::process::Command;

use anyhow::{bail, Context};

/// The fields of `auditctl -s` that the bench changes or reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditStatus {
    pub enabled: u32,
    /// Pid of the registered audit daemon, 0 when there is none.
    pub pid: u32,
    pub backlog_limit: u32,
    /// Records the kernel dropped since boot.
    pub lost: u64,
}

/// Runs `auditctl -s` and parses it.
pub fn read() -> anyhow::Result<AuditStatus> {
    parse(&run(&["-s"])?)
}

/// Runs `auditctl -l`: the rules in force, one a line.
pub fn rules() -> anyhow::Result<String> {
    run(&["-l"])
}

fn run(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("auditctl")
        .args(args)
        .output()
        .context("starting auditctl failed; is the auditd package installed?")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "auditctl {} failed with {}: {}{}",
            args.join(" "),
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(stdout)
}

fn parse(text: &str) -> anyhow::Result<AuditStatus> {
    let value = |key: &str| -> anyhow::Result<u64> {
        text.lines()
            .find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some(key)).then(|| words.next()).flatten()
            })
            .with_context(|| format!("auditctl -s printed no {key}:\n{text}"))?
            .parse()
            .with_context(|| format!("auditctl -s printed an invalid {key}:\n{text}"))
    };
    let small = |key: &str| -> anyhow::Result<u32> {
        u32::try_from(value(key)?).with_context(|| format!("auditctl -s {key} out of range"))
    };
    Ok(AuditStatus {
        enabled: small("enabled")?,
        pid: small("pid")?,
        backlog_limit: small("backlog_limit")?,
        lost: value("lost")?,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parse_status() {
        let text =
            "enabled 1\nfailure 1\npid 21366\nrate_limit 0\nbacklog_limit 64\nlost 7\nbacklog 0\n";
        let status = parse(text).unwrap();
        assert_eq!(status.enabled, 1);
        assert_eq!(status.pid, 21_366);
        assert_eq!(status.backlog_limit, 64);
        assert_eq!(status.lost, 7);
    }

    #[test]
    fn parse_rejects_missing_field() {
        assert!(parse("enabled 1\n").is_err());
    }
}
