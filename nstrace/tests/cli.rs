//! Command-line values at the edges of their types: every invalid value
//! is an error that names it, never a panic, and a resolved configuration
//! has the positive intervals the collector's timers need.

use std::time::Duration;

use clap::Parser;
use nstrace::cli::{Args, Config};

fn resolve(args: &[&str]) -> anyhow::Result<Config> {
    let command_line = std::iter::once("nstrace").chain(args.iter().copied());
    Args::try_parse_from(command_line)?.resolve()
}

#[track_caller]
fn assert_rejected(args: &[&str], named: &str) {
    match resolve(args) {
        Ok(config) => panic!("{args:?} accepted as {config:?}"),
        Err(error) => {
            let message = format!("{error:#}");
            assert!(message.contains(named), "{args:?}: {message}");
        }
    }
}

#[test]
fn duration_too_large_rejected() {
    assert_rejected(&["--duration", "1e300"], "--duration");
    assert_rejected(&["--duration", "inf"], "--duration");
}

#[test]
fn duration_below_nanosecond_rejected() {
    assert_rejected(&["--duration", "1e-300"], "--duration");
}

#[test]
fn health_interval_too_large_rejected() {
    assert_rejected(&["--health-interval", "1e300"], "--health-interval");
}

#[test]
fn health_interval_below_nanosecond_rejected() {
    assert_rejected(&["--health-interval", "1e-300"], "--health-interval");
}

#[test]
fn smallest_intervals_accepted() {
    let config = resolve(&["--duration", "1e-9", "--health-interval", "1e-9"]).unwrap();
    assert_eq!(config.duration, Some(Duration::from_nanos(1)));
    assert_eq!(config.health_interval, Duration::from_nanos(1));
}
