//! A command name with bytes that need escaping in JSON.

use std::process::ExitCode;

use crate::{unshare_uts, wait_for_line, Failure};

/// Maximum bytes of a command name that the kernel keeps (`TASK_COMM_LEN`
/// is 16, with the NUL).
const MAX_COMM_BYTES: usize = 15;

/// Sets the command name to the bytes written in hex, unshares uts, prints
/// `ok` and waits for a stdin line.
pub fn comm_unshare(args: &[String]) -> Result<ExitCode, Failure> {
    let [hex] = args else {
        return Err(Failure::Usage("comm-unshare needs HEX".to_string()));
    };
    let bytes = parse_hex(hex)?;
    if bytes.is_empty() || bytes.len() > MAX_COMM_BYTES || bytes.contains(&0) {
        return Err(Failure::Usage(format!(
            "invalid name {hex:?}: expected 1 to {MAX_COMM_BYTES} bytes without NUL"
        )));
    }
    let mut name = [0u8; MAX_COMM_BYTES + 1];
    name[..bytes.len()].copy_from_slice(&bytes);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes
    // from the pointer, and `name` ends with a NUL.
    if unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) } != 0 {
        return Err(Failure::Setup(format!(
            "prctl(PR_SET_NAME) failed: {}",
            nix::errno::Errno::last()
        )));
    }
    unshare_uts("nshelper")?;
    println!("ok");
    wait_for_line();
    Ok(ExitCode::SUCCESS)
}

/// Parses pairs of hex digits into bytes.
fn parse_hex(text: &str) -> Result<Vec<u8>, Failure> {
    let invalid = || {
        Failure::Usage(format!(
            "invalid HEX {text:?}: expected pairs of hex digits"
        ))
    };
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return Err(invalid());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| invalid()))
        .collect()
}
