//! Names for the flags and commands of the mount syscalls, with values from
//! `include/uapi/linux/mount.h` and `include/uapi/linux/fcntl.h`.

use crate::flags::bit_names;

/// `mount` flags (`MS_*`), by bit.
const MS_FLAGS: &[(u64, &str)] = &[
    (0x1, "MS_RDONLY"),
    (0x2, "MS_NOSUID"),
    (0x4, "MS_NODEV"),
    (0x8, "MS_NOEXEC"),
    (0x10, "MS_SYNCHRONOUS"),
    (0x20, "MS_REMOUNT"),
    (0x40, "MS_MANDLOCK"),
    (0x80, "MS_DIRSYNC"),
    (0x100, "MS_NOSYMFOLLOW"),
    (0x400, "MS_NOATIME"),
    (0x800, "MS_NODIRATIME"),
    (0x1000, "MS_BIND"),
    (0x2000, "MS_MOVE"),
    (0x4000, "MS_REC"),
    (0x8000, "MS_SILENT"),
    (0x1_0000, "MS_POSIXACL"),
    (0x2_0000, "MS_UNBINDABLE"),
    (0x4_0000, "MS_PRIVATE"),
    (0x8_0000, "MS_SLAVE"),
    (0x10_0000, "MS_SHARED"),
    (0x20_0000, "MS_RELATIME"),
    (0x40_0000, "MS_KERNMOUNT"),
    (0x80_0000, "MS_I_VERSION"),
    (0x100_0000, "MS_STRICTATIME"),
    (0x200_0000, "MS_LAZYTIME"),
];

/// `MS_MGC_VAL`: the magic that callers before Linux 2.4 put in the upper
/// 16 bits of the flags, which the kernel strips.
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const MS_MGC_MSK: u64 = 0xffff_0000;

/// `umount2` flags.
const UMOUNT_FLAGS: &[(u64, &str)] = &[
    (0x1, "MNT_FORCE"),
    (0x2, "MNT_DETACH"),
    (0x4, "MNT_EXPIRE"),
    (0x8, "UMOUNT_NOFOLLOW"),
];

/// `fsopen` flags.
const FSOPEN_FLAGS: &[(u64, &str)] = &[(0x1, "FSOPEN_CLOEXEC")];

/// `fsmount` flags.
const FSMOUNT_FLAGS: &[(u64, &str)] = &[(0x1, "FSMOUNT_CLOEXEC")];

/// `move_mount` flags.
const MOVE_MOUNT_FLAGS: &[(u64, &str)] = &[
    (0x1, "MOVE_MOUNT_F_SYMLINKS"),
    (0x2, "MOVE_MOUNT_F_AUTOMOUNTS"),
    (0x4, "MOVE_MOUNT_F_EMPTY_PATH"),
    (0x10, "MOVE_MOUNT_T_SYMLINKS"),
    (0x20, "MOVE_MOUNT_T_AUTOMOUNTS"),
    (0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
    (0x100, "MOVE_MOUNT_SET_GROUP"),
    (0x200, "MOVE_MOUNT_BENEATH"),
];

/// `open_tree` and `open_tree_attr` flags: `OPEN_TREE_*` and the `AT_*`
/// path flags they accept.
const OPEN_TREE_FLAGS: &[(u64, &str)] = &[
    (0x1, "OPEN_TREE_CLONE"),
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
    (0x8_0000, "OPEN_TREE_CLOEXEC"),
];

/// `mount_setattr` flags: the `AT_*` path flags it accepts.
const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];

/// `MOUNT_ATTR_*` bits other than the access time field.
const MOUNT_ATTR_FLAGS: &[(u64, &str)] = &[
    (0x1, "MOUNT_ATTR_RDONLY"),
    (0x2, "MOUNT_ATTR_NOSUID"),
    (0x4, "MOUNT_ATTR_NODEV"),
    (0x8, "MOUNT_ATTR_NOEXEC"),
    (0x80, "MOUNT_ATTR_NODIRATIME"),
    (0x10_0000, "MOUNT_ATTR_IDMAP"),
    (0x20_0000, "MOUNT_ATTR_NOSYMFOLLOW"),
];

/// `MOUNT_ATTR__ATIME`: a 3-bit field, not a set of flags.
const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;

/// Propagation types accepted in `mount_attr.propagation`.
const PROPAGATION_FLAGS: &[(u64, &str)] = &[
    (0x2_0000, "MS_UNBINDABLE"),
    (0x4_0000, "MS_PRIVATE"),
    (0x8_0000, "MS_SLAVE"),
    (0x10_0000, "MS_SHARED"),
];

/// `fsconfig` commands, by value.
const FSCONFIG_COMMANDS: [&str; 9] = [
    "FSCONFIG_SET_FLAG",
    "FSCONFIG_SET_STRING",
    "FSCONFIG_SET_BINARY",
    "FSCONFIG_SET_PATH",
    "FSCONFIG_SET_PATH_EMPTY",
    "FSCONFIG_SET_FD",
    "FSCONFIG_CMD_CREATE",
    "FSCONFIG_CMD_RECONFIGURE",
    "FSCONFIG_CMD_CREATE_EXCL",
];

/// `AT_FDCWD`: the directory file descriptor that means the working
/// directory.
pub const AT_FDCWD: i32 = -100;

/// Names `mount` flags, after stripping the `MS_MGC_VAL` magic as the
/// kernel does.
pub fn mount_flag_names(flags: u64) -> Vec<String> {
    let flags = if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags & !MS_MGC_MSK
    } else {
        flags
    };
    bit_names(MS_FLAGS, flags)
}

pub fn umount_flag_names(flags: u64) -> Vec<String> {
    bit_names(UMOUNT_FLAGS, flags)
}

pub fn fsopen_flag_names(flags: u64) -> Vec<String> {
    bit_names(FSOPEN_FLAGS, flags)
}

pub fn fsmount_flag_names(flags: u64) -> Vec<String> {
    bit_names(FSMOUNT_FLAGS, flags)
}

pub fn move_mount_flag_names(flags: u64) -> Vec<String> {
    bit_names(MOVE_MOUNT_FLAGS, flags)
}

pub fn open_tree_flag_names(flags: u64) -> Vec<String> {
    bit_names(OPEN_TREE_FLAGS, flags)
}

pub fn at_flag_names(flags: u64) -> Vec<String> {
    bit_names(AT_FLAGS, flags)
}

/// Names `MOUNT_ATTR_*` bits. The access time field is named by its value
/// (`MOUNT_ATTR_NOATIME`, `MOUNT_ATTR_STRICTATIME`), or
/// `MOUNT_ATTR__ATIME` when all its bits are set, as in an `attr_clr`
/// that resets it. A 0 in the field is `MOUNT_ATTR_RELATIME`, the
/// default, and gets no name.
pub fn mount_attr_names(attr: u64) -> Vec<String> {
    let mut names = bit_names(MOUNT_ATTR_FLAGS, attr & !MOUNT_ATTR_ATIME_MASK);
    match attr & MOUNT_ATTR_ATIME_MASK {
        0 => {}
        0x10 => names.push("MOUNT_ATTR_NOATIME".to_string()),
        0x20 => names.push("MOUNT_ATTR_STRICTATIME".to_string()),
        MOUNT_ATTR_ATIME_MASK => names.push("MOUNT_ATTR__ATIME".to_string()),
        other => names.push(format!("{other:#x}")),
    }
    names
}

/// Names a `mount_attr.propagation` value, such as `MS_PRIVATE`.
pub fn propagation_names(propagation: u64) -> Vec<String> {
    bit_names(PROPAGATION_FLAGS, propagation)
}

/// Names an `fsconfig` command, such as `FSCONFIG_SET_STRING`, or returns
/// the number itself when unknown.
pub fn fsconfig_command_name(command: u32) -> String {
    usize::try_from(command)
        .ok()
        .and_then(|index| FSCONFIG_COMMANDS.get(index))
        .map_or_else(|| command.to_string(), |name| (*name).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_bind_named() {
        assert_eq!(mount_flag_names(0x5000), vec!["MS_BIND", "MS_REC"]);
    }

    #[test]
    fn remount_read_only_named() {
        assert_eq!(
            mount_flag_names(0x1021),
            vec!["MS_RDONLY", "MS_REMOUNT", "MS_BIND"]
        );
    }

    #[test]
    fn propagation_flags_named() {
        assert_eq!(mount_flag_names(0x4_4000), vec!["MS_REC", "MS_PRIVATE"]);
        assert_eq!(mount_flag_names(0x8_0000), vec!["MS_SLAVE"]);
        assert_eq!(mount_flag_names(0x10_0000), vec!["MS_SHARED"]);
        assert_eq!(mount_flag_names(0x2_0000), vec!["MS_UNBINDABLE"]);
        assert_eq!(mount_flag_names(0x2000), vec!["MS_MOVE"]);
    }

    #[test]
    fn magic_stripped() {
        assert_eq!(mount_flag_names(0xc0ed_0001), vec!["MS_RDONLY"]);
    }

    #[test]
    fn unknown_mount_bits_in_hex() {
        assert_eq!(mount_flag_names(0x4000_0000), vec!["0x40000000"]);
    }

    #[test]
    fn umount_flags_named() {
        assert_eq!(umount_flag_names(0x2), vec!["MNT_DETACH"]);
        assert_eq!(
            umount_flag_names(0xd),
            vec!["MNT_FORCE", "MNT_EXPIRE", "UMOUNT_NOFOLLOW"]
        );
    }

    #[test]
    fn new_api_flags_named() {
        assert_eq!(fsopen_flag_names(1), vec!["FSOPEN_CLOEXEC"]);
        assert_eq!(fsmount_flag_names(1), vec!["FSMOUNT_CLOEXEC"]);
        assert_eq!(
            move_mount_flag_names(0x44),
            vec!["MOVE_MOUNT_F_EMPTY_PATH", "MOVE_MOUNT_T_EMPTY_PATH"]
        );
        assert_eq!(
            open_tree_flag_names(0x8_8001),
            vec!["OPEN_TREE_CLONE", "AT_RECURSIVE", "OPEN_TREE_CLOEXEC"]
        );
        assert_eq!(at_flag_names(0x9000), vec!["AT_EMPTY_PATH", "AT_RECURSIVE"]);
    }

    #[test]
    fn mount_attr_atime_field_named() {
        assert_eq!(
            mount_attr_names(0x13),
            vec![
                "MOUNT_ATTR_RDONLY",
                "MOUNT_ATTR_NOSUID",
                "MOUNT_ATTR_NOATIME"
            ]
        );
        assert_eq!(mount_attr_names(0x70), vec!["MOUNT_ATTR__ATIME"]);
        assert_eq!(mount_attr_names(0x20), vec!["MOUNT_ATTR_STRICTATIME"]);
        assert_eq!(mount_attr_names(0x30), vec!["0x30"]);
        assert_eq!(mount_attr_names(0x10_0000), vec!["MOUNT_ATTR_IDMAP"]);
    }

    #[test]
    fn propagation_named() {
        assert_eq!(propagation_names(0x4_0000), vec!["MS_PRIVATE"]);
        assert!(propagation_names(0).is_empty());
    }

    #[test]
    fn fsconfig_commands_named() {
        assert_eq!(fsconfig_command_name(1), "FSCONFIG_SET_STRING");
        assert_eq!(fsconfig_command_name(6), "FSCONFIG_CMD_CREATE");
        assert_eq!(fsconfig_command_name(8), "FSCONFIG_CMD_CREATE_EXCL");
        assert_eq!(fsconfig_command_name(99), "99");
    }
}
