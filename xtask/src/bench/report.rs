//! Tables of the session's results, as Markdown, and the raw runs as CSV.

use std::{fmt::Write as _, fs, path::Path};

use anyhow::Context;

use super::{
    session::{Measurement, Results},
    stats::{summarize, Summary},
    tracer::TracerKind,
    workload::Workload,
};

/// Formats the workload table and the tracer table.
pub fn tables(results: &Results, tracers: &[TracerKind], workloads: &[Workload]) -> String {
    let mut text = String::new();
    text.push_str("| workload | tracer | median ops/s | min-max ops/s | ratio to none | median ops/CPU-s | min-max ops/CPU-s | CPU ratio to none | tracer CPU per run, ms | calls reported / made |\n");
    text.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &workload in workloads {
        let baseline = rates(results, workload, TracerKind::None).map(|s| s.median);
        let cpu_baseline = cpu_rates(results, workload, TracerKind::None).map(|s| s.median);
        for &tracer in tracers {
            let Some(rate) = rates(results, workload, tracer) else {
                continue;
            };
            let cpu_rate = cpu_rates(results, workload, tracer);
            let cpu = cpu_ms(results, workload, tracer)
                .map_or_else(|| "-".to_string(), |s| format!("{:.0}", s.median));
            let _ = writeln!(
                text,
                "| {} | {tracer} | {:.0} | {:.0}-{:.0} | {} | {} | {} | {} | {cpu} | {} |",
                workload.name(),
                rate.median,
                rate.min,
                rate.max,
                ratio(Some(rate), baseline),
                cpu_rate.map_or_else(|| "-".to_string(), |s| format!("{:.0}", s.median)),
                cpu_rate.map_or_else(|| "-".to_string(), |s| format!("{:.0}-{:.0}", s.min, s.max)),
                ratio(cpu_rate, cpu_baseline),
                coverage(results, workload, tracer),
            );
        }
    }
    text.push('\n');
    text.push_str("| tracer | blocks | median start-up, s | max peak RSS, MiB | events lost |\n");
    text.push_str("|---|---:|---:|---:|---:|\n");
    for &tracer in tracers.iter().filter(|&&t| t != TracerKind::None) {
        let blocks: Vec<_> = results
            .blocks
            .iter()
            .filter(|b| b.tracer == tracer)
            .collect();
        if blocks.is_empty() {
            continue;
        }
        let start = summarize(&blocks.iter().map(|b| b.start_seconds).collect::<Vec<_>>())
            .map_or_else(|| "-".to_string(), |s| format!("{:.1}", s.median));
        #[allow(clippy::cast_precision_loss)]
        let peak = blocks
            .iter()
            .filter_map(|b| b.peak_rss_kib)
            .max()
            .map_or_else(
                || "-".to_string(),
                |kib| format!("{:.1}", kib as f64 / 1024.0),
            );
        let lost: u64 = blocks.iter().filter_map(|b| b.lost).sum();
        let _ = writeln!(
            text,
            "| {tracer} | {} | {start} | {peak} | {lost} |",
            blocks.len()
        );
    }
    text
}

/// Writes every run as one CSV line.
pub fn write_csv(results: &Results, path: &Path) -> anyhow::Result<()> {
    let mut text = String::from(
        "round,tracer,workload,pid,iterations,operations,seconds,ops_per_second,cpu_seconds,ops_per_cpu_second,tracer_cpu_ms,reported_calls,namespace_calls\n",
    );
    for m in &results.measurements {
        let cpu = m
            .tracer_cpu
            .map_or_else(String::new, |d| d.as_millis().to_string());
        let cpu_rate = m
            .run
            .ops_per_cpu_second
            .map_or_else(String::new, |r| format!("{r:.1}"));
        let reported = m.reported_calls.map_or_else(String::new, |c| c.to_string());
        let made = m
            .run
            .workload
            .namespace_calls(m.run.iterations)
            .map_or_else(String::new, |c| c.to_string());
        let _ = writeln!(
            text,
            "{},{},{},{},{},{},{:.6},{:.1},{:.6},{cpu_rate},{cpu},{reported},{made}",
            m.round,
            m.tracer,
            m.run.workload.name(),
            m.run.pid,
            m.run.iterations,
            m.run.operations,
            m.run.seconds,
            m.run.ops_per_second,
            m.run.cpu_seconds,
        );
    }
    fs::write(path, text).with_context(|| format!("writing {} failed", path.display()))
}

fn measurements(
    results: &Results,
    workload: Workload,
    tracer: TracerKind,
) -> impl Iterator<Item = &Measurement> {
    results
        .measurements
        .iter()
        .filter(move |m| m.run.workload == workload && m.tracer == tracer)
}

fn rates(results: &Results, workload: Workload, tracer: TracerKind) -> Option<Summary> {
    let values: Vec<f64> = measurements(results, workload, tracer)
        .map(|m| m.run.ops_per_second)
        .collect();
    summarize(&values)
}

/// Operations per CPU-second of the workload's own loop.
fn cpu_rates(results: &Results, workload: Workload, tracer: TracerKind) -> Option<Summary> {
    let values: Vec<f64> = measurements(results, workload, tracer)
        .filter_map(|m| m.run.ops_per_cpu_second)
        .collect();
    summarize(&values)
}

/// Formats the median of `rate` over the baseline's median to 3 decimals,
/// or "-" when either is missing.
fn ratio(rate: Option<Summary>, baseline: Option<f64>) -> String {
    match (rate, baseline) {
        (Some(rate), Some(baseline)) => format!("{:.3}", rate.median / baseline),
        _ => "-".to_string(),
    }
}

/// CPU time of the tracer process per run, in milliseconds.
fn cpu_ms(results: &Results, workload: Workload, tracer: TracerKind) -> Option<Summary> {
    let values: Vec<f64> = measurements(results, workload, tracer)
        .filter_map(|m| m.tracer_cpu)
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    summarize(&values)
}

/// "reported / made" summed over the rounds, or "-" when the workload makes
/// no namespace calls per run or the configuration reports none.
fn coverage(results: &Results, workload: Workload, tracer: TracerKind) -> String {
    let mut reported = 0;
    let mut made = 0;
    let mut any = false;
    for m in measurements(results, workload, tracer) {
        if let (Some(r), Some(c)) = (
            m.reported_calls,
            m.run.workload.namespace_calls(m.run.iterations),
        ) {
            reported += r;
            made += c;
            any = true;
        }
    }
    if any {
        format!("{reported} / {made}")
    } else {
        "-".to_string()
    }
}
