//! Command-line arguments.

use std::{collections::HashSet, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use clap::Parser;

use crate::{
    filter::Filter,
    namespace::NsType,
    output::{format::Format, rotate::Rotation, sink::SinkConfig, syslog::transport::Target},
};

/// Traces Linux namespace creation and entry with eBPF and writes one JSON
/// record per line.
#[derive(Debug, Parser)]
#[command(name = "nstrace", version, about, long_about = None)]
pub struct Args {
    /// Write records to FILE instead of standard output. The file is
    /// appended to, and created with mode 0600.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Record format: `native` (schema nstrace/1) or `ecs` (Elastic Common
    /// Schema field names).
    #[arg(long, value_enum, default_value_t = Format::Native)]
    pub format: Format,

    /// Rotate the --output file before it grows past BYTES: FILE becomes
    /// FILE.1, FILE.1 becomes FILE.2, and so on. A record is never split.
    #[arg(long, value_name = "BYTES", requires = "output")]
    pub rotate_size: Option<u64>,

    /// Rotated files to keep, FILE.1 to FILE.N; older ones are deleted.
    #[arg(long, value_name = "N", default_value_t = 5, requires = "rotate_size")]
    pub rotate_keep: u32,

    /// Send records as RFC 5424 syslog messages (facility daemon) to
    /// `unix:/path` (a datagram socket), `udp:ADDRESS:PORT` or
    /// `tcp:ADDRESS:PORT` (octet-counted framing). With --output, records go to both.
    #[arg(long, value_name = "TARGET")]
    pub syslog: Option<Target>,

    /// Stop after SECS seconds (fractions allowed).
    #[arg(short, long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Only namespaces of these types, comma-separated: mnt, uts, ipc, pid,
    /// net, user, cgroup, time.
    #[arg(short, long, value_name = "TYPES", value_delimiter = ',')]
    pub types: Vec<String>,

    /// Only calls made by these process ids, or clones whose child has
    /// one of them; comma-separated.
    #[arg(short, long, value_name = "PIDS", value_delimiter = ',')]
    pub pid: Vec<u32>,

    /// Only calls made by processes with these command names (as in
    /// /proc/PID/comm); comma-separated.
    #[arg(short, long, value_name = "NAMES", value_delimiter = ',')]
    pub comm: Vec<String>,

    /// Seconds between `health` records, which report table sizes and
    /// counts.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub health_interval: f64,

    /// Read the kernel's BTF from FILE instead of /sys/kernel/btf/vmlinux,
    /// for kernels that do not publish it.
    #[arg(long, value_name = "FILE", default_value = crate::probe::KERNEL_BTF)]
    pub btf: PathBuf,

    /// Events the output queue holds while the sink is slow; beyond that
    /// events are dropped and counted.
    #[arg(long, value_name = "EVENTS", default_value_t = 16384)]
    pub queue_size: usize,
    /// Leave out calls made by processes with these command names;
    /// comma-separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub exclude_comm: Vec<String>,

    /// Only calls made by processes with these effective user ids;
    /// comma-separated.
    #[arg(long, value_name = "UIDS", value_delimiter = ',')]
    pub uid: Vec<u32>,

    /// Only calls made inside these containers: full container ids or
    /// prefixes of them, comma-separated.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub container: Vec<String>,

    /// Only calls that failed.
    #[arg(long)]
    pub failed_only: bool,

    /// Size of the kernel ring buffer in bytes: a power of two and a
    /// multiple of the page size.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024)]
    pub ring_buffer_size: u32,
}

/// Settings resolved from [`Args`].
#[derive(Debug)]
pub struct Config {
    pub sink: SinkConfig,
    pub duration: Option<Duration>,
    pub filter: Filter,
    pub ring_buffer_bytes: u32,
    pub health_interval: Duration,
    pub btf: PathBuf,
    pub queue_size: usize,
}

impl Args {
    /// Checks the arguments and turns them into a [`Config`].
    pub fn resolve(self) -> anyhow::Result<Config> {
        let duration = self
            .duration
            .map(|secs| positive_seconds("--duration", secs))
            .transpose()?;
        let health_interval = positive_seconds("--health-interval", self.health_interval)?;

        let mut types = HashSet::new();
        for name in &self.types {
            let name = name.trim();
            let ns_type = NsType::from_name(name).with_context(|| {
                format!("invalid namespace type {name:?} in --types; expected one of mnt, uts, ipc, pid, net, user, cgroup, time")
            })?;
            types.insert(ns_type);
        }

        if self.queue_size == 0 {
            bail!("invalid --queue-size 0: expected at least 1");
        }

        let page = page_size();
        let size = self.ring_buffer_size;
        if !size.is_power_of_two() || u64::from(size) % page != 0 {
            bail!("invalid --ring-buffer-size {size}: expected a power of two and a multiple of the page size ({page})");
        }

        let rotation = match self.rotate_size {
            None => None,
            Some(0) => bail!("invalid --rotate-size 0: expected a positive number of bytes"),
            Some(max_bytes) => Some(Rotation {
                max_bytes,
                keep: self.rotate_keep,
            }),
        };
        let containers: Vec<String> = self
            .container
            .iter()
            .map(|id| id.trim().to_string())
            .collect();
        if containers.iter().any(String::is_empty) {
            bail!("invalid --container: empty container id");
        }

        Ok(Config {
            sink: SinkConfig {
                format: self.format,
                file: self.output,
                rotation,
                syslog: self.syslog,
            },
            duration,
            filter: Filter {
                types,
                pids: self.pid.into_iter().collect(),
                comms: self
                    .comm
                    .into_iter()
                    .map(|c| c.trim().to_string())
                    .collect(),
                exclude_comms: self
                    .exclude_comm
                    .into_iter()
                    .map(|c| c.trim().to_string())
                    .collect(),
                uids: self.uid.into_iter().collect(),
                containers,
                failed_only: self.failed_only,
            },
            ring_buffer_bytes: size,
            health_interval,
            btf: self.btf,
            queue_size: self.queue_size,
        })
    }
}

/// Converts `secs` to a [`Duration`] of at least one nanosecond. Values
/// that do not fit a `Duration` (about 584 billion years) are errors
/// because `Duration::from_secs_f64` panics on them, and values that round
/// to zero because tokio's `interval` panics on a zero period.
fn positive_seconds(option: &str, secs: f64) -> anyhow::Result<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => bail!(
            "invalid {option} {secs}: expected a number of seconds from 1e-9 to {}",
            Duration::MAX.as_secs()
        ),
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no side effects.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Config> {
        let mut all = vec!["nstrace"];
        all.extend_from_slice(args);
        Args::try_parse_from(all)?.resolve()
    }

    #[test]
    fn defaults_accept_everything() {
        let config = parse(&[]).unwrap();
        assert!(config.filter.types.is_empty());
        assert!(config.duration.is_none());
        assert_eq!(config.ring_buffer_bytes, 8 * 1024 * 1024);
    }

    #[test]
    fn types_parsed() {
        let config = parse(&["--types", "net,user"]).unwrap();
        assert!(config.filter.types.contains(&NsType::Net));
        assert!(config.filter.types.contains(&NsType::User));
        assert_eq!(config.filter.types.len(), 2);
    }

    #[test]
    fn unknown_type_rejected() {
        let error = parse(&["--types", "network"]).unwrap_err().to_string();
        assert!(error.contains("network"), "{error}");
    }

    #[test]
    fn bad_duration_rejected() {
        assert!(parse(&["--duration", "0"]).is_err());
        assert!(parse(&["--duration", "-3"]).is_err());
        assert!(parse(&["--duration", "soon"]).is_err());
    }

    #[test]
    fn output_options_parsed() {
        let config = parse(&[
            "--output",
            "/var/log/nstrace.jsonl",
            "--rotate-size",
            "1048576",
            "--rotate-keep",
            "3",
            "--syslog",
            "tcp:127.0.0.1:601",
            "--format",
            "ecs",
        ])
        .unwrap();
        assert_eq!(config.sink.format, Format::Ecs);
        assert_eq!(
            config.sink.rotation,
            Some(Rotation {
                max_bytes: 1_048_576,
                keep: 3
            })
        );
        assert_eq!(
            config.sink.syslog,
            Some(Target::Tcp(([127, 0, 0, 1], 601).into()))
        );
    }

    #[test]
    fn rotation_needs_output() {
        assert!(parse(&["--rotate-size", "4096"]).is_err());
        assert!(parse(&["--output", "f", "--rotate-keep", "2"]).is_err());
        assert!(parse(&["--output", "f", "--rotate-size", "0"]).is_err());
    }

    #[test]
    fn bad_syslog_target_rejected() {
        let error = parse(&["--syslog", "syslog.example:514"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("syslog.example:514"), "{error}");
    }

    #[test]
    fn filter_options_parsed() {
        let config = parse(&[
            "--uid",
            "0,1000",
            "--container",
            "abc,web1",
            "--failed-only",
            "--exclude-comm",
            "runc,sshd",
        ])
        .unwrap();
        assert_eq!(config.filter.uids.len(), 2);
        assert_eq!(config.filter.containers, vec!["abc", "web1"]);
        assert!(config.filter.failed_only);
        assert!(config.filter.exclude_comms.contains("sshd"));
    }

    #[test]
    fn ring_buffer_size_checked() {
        assert!(parse(&["--ring-buffer-size", "12345"]).is_err());
        assert!(parse(&["--ring-buffer-size", "65536"]).is_ok());
    }
}
