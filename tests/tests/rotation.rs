//! `--rotate-size` and `--rotate-keep`: the output file is rotated by
//! size between records, no record is lost or split, old files beyond
//! the retention count are deleted, and every file has mode 0600.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use nstrace_tests::{process::run, scratch::ScratchDir, tools::renamed_tool, tracer::Tracer};
use serde_json::Value;

const ROTATE_SIZE: u64 = 4096;

fn rotated(path: &Path, index: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// Output files oldest first: FILE.N down to FILE.1, then FILE.
fn files_oldest_first(path: &Path, max_index: u32) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..=max_index)
        .rev()
        .map(|index| rotated(path, index))
        .filter(|file| file.exists())
        .collect();
    files.push(path.to_path_buf());
    files
}

#[track_caller]
fn check_file(file: &Path) -> Vec<Value> {
    let text = fs::read_to_string(file).unwrap();
    let mode = fs::metadata(file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode of {}", file.display());
    assert!(
        text.ends_with('\n'),
        "{} ends inside a record",
        file.display()
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        text.len() as u64 <= ROTATE_SIZE || lines.len() == 1,
        "{} has {} bytes in {} records, over the limit of {ROTATE_SIZE}",
        file.display(),
        text.len(),
        lines.len()
    );
    lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| {
                panic!(
                    "split or broken record in {} ({error}): {line}",
                    file.display()
                )
            })
        })
        .collect()
}

#[test]
fn rotation_loses_no_record() {
    let tools = ScratchDir::new("rotation-tools");
    let unshare = renamed_tool("unshare", "util-linux", tools.path(), "rot-all");
    let size = ROTATE_SIZE.to_string();
    let mut tracer = Tracer::start(&[
        "--comm",
        "rot-all",
        "--rotate-size",
        &size,
        "--rotate-keep",
        "1000",
    ]);
    let output = tracer.output_path().to_path_buf();
    let mut pids = Vec::new();
    for _ in 0..40 {
        let finished = run(Command::new(&unshare).args(["--net", "true"]));
        finished.assert_success();
        pids.push(finished.pid);
    }
    // terminate returns only the current file; the rotated ones are read below.
    let _ = tracer.terminate();

    let files = files_oldest_first(&output, 1000);
    assert!(
        files.len() > 3,
        "expected several rotated files, found {files:?}"
    );
    let records: Vec<Value> = files.iter().flat_map(|file| check_file(file)).collect();
    assert_eq!(
        records.first().map(|r| r["event"].clone()),
        Some("start".into())
    );
    assert_eq!(
        records.last().map(|r| r["event"].clone()),
        Some("stop".into())
    );
    for pid in pids {
        let count = records
            .iter()
            .filter(|r| r["event"] == "ns_create" && r["process"]["pid"] == pid)
            .count();
        assert_eq!(
            count, 1,
            "records of unshare pid {pid} across the rotated files"
        );
    }
    let stop = records.last().unwrap();
    assert_eq!(
        stop["events_written"],
        records.len() - 1,
        "events_written counts every record before the stop record"
    );
}

#[test]
fn rotation_keeps_only_newest_files() {
    let tools = ScratchDir::new("rotation-tools");
    let unshare = renamed_tool("unshare", "util-linux", tools.path(), "rot-keep");
    let size = ROTATE_SIZE.to_string();
    let mut tracer = Tracer::start(&[
        "--comm",
        "rot-keep",
        "--rotate-size",
        &size,
        "--rotate-keep",
        "2",
    ]);
    let output = tracer.output_path().to_path_buf();
    for _ in 0..30 {
        run(Command::new(&unshare).args(["--net", "true"])).assert_success();
    }
    let _ = tracer.terminate();

    assert!(
        rotated(&output, 1).exists(),
        "{} missing",
        rotated(&output, 1).display()
    );
    assert!(
        rotated(&output, 2).exists(),
        "{} missing",
        rotated(&output, 2).display()
    );
    assert!(
        !rotated(&output, 3).exists(),
        "{} kept beyond --rotate-keep 2",
        rotated(&output, 3).display()
    );
    let records: Vec<Value> = files_oldest_first(&output, 2)
        .iter()
        .flat_map(|file| check_file(file))
        .collect();
    assert!(
        records.iter().all(|r| r["event"] != "start"),
        "the start record survived in a file that should have been deleted"
    );
    assert_eq!(
        records.last().map(|r| r["event"].clone()),
        Some("stop".into())
    );
}
