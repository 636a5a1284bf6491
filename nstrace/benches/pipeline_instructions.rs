//! A fixed amount of the collector's per-record work, for instruction
//! counts under callgrind, which criterion's timed loops do not give:
//!
//!     valgrind --tool=callgrind --toggle-collect='pipeline_instructions::run' \
//!         target/release/deps/pipeline_instructions-HASH
//!
//! Divide the collected instructions by the record count that this
//! program prints. Only `run` is counted, so building the records and the
//! start-up are not.

mod churn;

use std::hint::black_box;

/// Batches processed. The first fills the tables, and the others find
/// them in their steady state.
const BATCHES: usize = 5;

fn main() {
    let records = churn::records();
    let mut output = Vec::with_capacity(1 << 20);
    let bytes = run(&records, &mut output);
    println!(
        "{} records, {} bytes of JSON",
        BATCHES * records.len(),
        bytes
    );
}

#[inline(never)]
fn run(records: &[Vec<u8>], output: &mut Vec<u8>) -> usize {
    let mut tracker = churn::tracker();
    let mut bytes = 0;
    for _ in 0..BATCHES {
        output.clear();
        churn::process(&mut tracker, records, output);
        bytes += black_box(output.len());
    }
    bytes
}
