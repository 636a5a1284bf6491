//! Throughput of the collector's per-record work on one core: decode the
//! ring buffer bytes, update the namespace state and translate
//! (`Tracker::handle`), and serialise each event as a JSON line into a
//! buffer. The records are those of the `churn` module.

mod churn;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn pipeline(c: &mut Criterion) {
    let records = churn::records();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("decode_handle_serialize", |b| {
        let mut tracker = churn::tracker();
        let mut output = Vec::with_capacity(1 << 20);
        b.iter(|| {
            output.clear();
            churn::process(&mut tracker, &records, &mut output);
            black_box(output.len())
        });
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
