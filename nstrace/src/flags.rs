//! Names for clone flags and errno values.

use std::{borrow::Cow, sync::Arc};

/// Names of the bits set in a flags argument. The names in the tables are
/// borrowed, and the events of one call share one list.
pub type FlagNames = Arc<[Cow<'static, str>]>;

/// `clone` flags from `include/uapi/linux/sched.h`, by bit.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x0000_0080, "CLONE_NEWTIME"),
    (0x0000_0100, "CLONE_VM"),
    (0x0000_0200, "CLONE_FS"),
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0040_0000, "CLONE_DETACHED"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
    (0x1_0000_0000, "CLONE_CLEAR_SIGHAND"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
];

/// `CSIGNAL`: in `clone` (not `clone3`) the low byte is the exit signal.
pub const CSIGNAL: u64 = 0xff;

/// Names the clone flags set in `flags`. A bit without a name is shown in
/// hex, so no set bit is hidden.
pub fn clone_flag_names(flags: u64) -> FlagNames {
    bit_name_list(CLONE_FLAGS, flags).into()
}

/// Names the bits of `flags` found in `table`. A bit without a name is
/// shown in hex, so no set bit is hidden.
pub fn bit_names(table: &'static [(u64, &'static str)], flags: u64) -> Vec<String> {
    bit_name_list(table, flags)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
}

/// Names the bits of `flags` as [`bit_names`] does, borrowing the names
/// found in `table`.
fn bit_name_list(table: &'static [(u64, &'static str)], flags: u64) -> Vec<Cow<'static, str>> {
    let mut names = Vec::new();
    let mut rest = flags;
    for &(bit, name) in table {
        if flags & bit != 0 {
            names.push(Cow::Borrowed(name));
            rest &= !bit;
        }
    }
    while rest != 0 {
        let mask = 1u64 << rest.trailing_zeros();
        names.push(Cow::Owned(format!("{mask:#x}")));
        rest &= !mask;
    }
    names
}

/// Splits `clone` flags into flags proper and the exit signal in the low
/// byte.
pub fn split_clone_signal(flags: u64) -> (u64, u32) {
    (
        flags & !CSIGNAL,
        u32::try_from(flags & CSIGNAL).unwrap_or(0),
    )
}

/// Name of a signal number, such as `SIGCHLD`, or the number itself.
pub fn signal_name(signal: u32) -> String {
    i32::try_from(signal)
        .ok()
        .and_then(|number| nix::sys::signal::Signal::try_from(number).ok())
        .map_or_else(|| signal.to_string(), |s| s.as_str().to_string())
}

/// Name of an errno value, such as `EPERM`; `E<number>` when unknown.
pub fn errno_name(errno: i32) -> String {
    let known = nix::errno::Errno::from_raw(errno);
    if known == nix::errno::Errno::UnknownErrno {
        format!("E{errno}")
    } else {
        format!("{known:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_flags_named() {
        assert_eq!(
            &*clone_flag_names(0x4400_0000),
            ["CLONE_NEWUTS", "CLONE_NEWNET"]
        );
    }

    #[test]
    fn unknown_bits_shown_in_hex() {
        assert_eq!(&*clone_flag_names(0x10_0000_0000), ["0x1000000000"]);
        assert_eq!(
            &*clone_flag_names(0x30_4000_0000),
            ["CLONE_NEWNET", "0x1000000000", "0x2000000000"]
        );
    }

    #[test]
    fn clone_signal_split() {
        let (flags, signal) = split_clone_signal(0x2002_0011);
        assert_eq!(flags, 0x2002_0000);
        assert_eq!(signal, 17);
        assert_eq!(signal_name(signal), "SIGCHLD");
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(1), "EPERM");
        assert_eq!(errno_name(9), "EBADF");
        assert_eq!(errno_name(22), "EINVAL");
        assert_eq!(errno_name(4095), "E4095");
    }
}
