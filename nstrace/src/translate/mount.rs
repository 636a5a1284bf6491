//! Turns mount records into `mount` events.

use nstrace_common::record::{mount_syscall, MountCall, MountRecord};

use super::{error_of, outcome, process, Translator};
use crate::{
    mount_flags::{
        at_flag_names, fsconfig_command_name, fsmount_flag_names, fsopen_flag_names,
        mount_attr_names, mount_flag_names, move_mount_flag_names, open_tree_flag_names,
        propagation_names, umount_flag_names, AT_FDCWD,
    },
    namespace::NsType,
    output::event::{Attached, Body, Event, EventKind, Mount, MountAttrInfo, MountSyscall, NsInfo},
    path_text::{PathText, RelativeTo},
};

/// `MS_BIND | MS_MOVE`: the mount flags whose source is a path.
const MS_SOURCE_IS_PATH: u64 = 0x1000 | 0x2000;
/// fsconfig commands whose value is a path relative to `aux`.
const FSCONFIG_SET_PATH: u64 = 3;
const FSCONFIG_SET_PATH_EMPTY: u64 = 4;

/// Facts that the translation of a mount record needs beyond the record:
/// those that take `/proc` reads or the state of earlier records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountContext {
    /// For each path slot with a relative path: the directory that its
    /// dirfd referred to when the record was processed.
    pub directories: [Option<Vec<u8>>; 2],
    /// For `move_mount`: what its `from` fd was made from.
    pub attached: Option<Attached>,
}

/// Returns the syscall's name as the man pages spell it.
pub fn mount_syscall_name(call: u32) -> &'static str {
    match call {
        mount_syscall::MOUNT => "mount",
        mount_syscall::UMOUNT => "umount2",
        mount_syscall::PIVOT_ROOT => "pivot_root",
        mount_syscall::FSOPEN => "fsopen",
        mount_syscall::FSCONFIG => "fsconfig",
        mount_syscall::FSMOUNT => "fsmount",
        mount_syscall::MOVE_MOUNT => "move_mount",
        mount_syscall::OPEN_TREE => "open_tree",
        mount_syscall::OPEN_TREE_ATTR => "open_tree_attr",
        mount_syscall::MOUNT_SETATTR => "mount_setattr",
        _ => "unknown",
    }
}

/// Returns an fd argument: syscalls take an `int`, so only the low 32 bits
/// count.
pub fn fd_arg(value: u64) -> i32 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the kernel reads these arguments as int"
    )]
    let fd = value as u32;
    fd.cast_signed()
}

/// Returns the dirfd that the path in `slot` is relative to, when that
/// path was read and does not start with `/`.
pub fn relative_dirfd(call: &MountCall, slot: usize) -> Option<i32> {
    let dirfd = match (call.syscall, slot) {
        (mount_syscall::MOUNT, 0) if call.args[3] & MS_SOURCE_IS_PATH != 0 => AT_FDCWD,
        (mount_syscall::MOUNT, 1) | (mount_syscall::UMOUNT | mount_syscall::PIVOT_ROOT, 0 | 1) => {
            AT_FDCWD
        }
        (mount_syscall::FSCONFIG, 0)
            if matches!(
                call.args[1] & 0xffff_ffff,
                FSCONFIG_SET_PATH | FSCONFIG_SET_PATH_EMPTY
            ) =>
        {
            fd_arg(call.args[4])
        }
        (
            mount_syscall::MOVE_MOUNT
            | mount_syscall::OPEN_TREE
            | mount_syscall::OPEN_TREE_ATTR
            | mount_syscall::MOUNT_SETATTR,
            0,
        ) => fd_arg(call.args[0]),
        (mount_syscall::MOVE_MOUNT, 1) => fd_arg(call.args[2]),
        _ => return None,
    };
    let text = path_slot(call, slot)?;
    if text.unreadable {
        return None;
    }
    let len = usize::try_from(call.path_info[slot].len).unwrap_or(0);
    let bytes = call.paths[slot].get(..len).unwrap_or(&[]);
    PathText::is_relative(bytes).then_some(dirfd)
}

/// Decodes path slot `slot` of `call`.
pub fn path_slot(call: &MountCall, slot: usize) -> Option<PathText> {
    PathText::from_record(call.paths.get(slot)?, *call.path_info.get(slot)?)
}

/// Decodes the name slot of `call`: a filesystem type or fsconfig key.
pub fn name_slot(call: &MountCall) -> Option<PathText> {
    PathText::from_record(&call.name, call.name_info)
}

impl Translator {
    /// Returns the `mount` event of a mount record.
    pub fn mount(&self, record: &MountRecord, context: &MountContext) -> Vec<Event> {
        let call = &record.call;
        let error = error_of(call.ret);
        let mut event = Mount {
            outcome: outcome(error.as_ref()),
            error,
            ns: NsInfo {
                ns_type: Some(NsType::Mnt),
                inode: (call.mnt_ns.inode != 0).then_some(call.mnt_ns.inode),
                dev: self.nsfs_dev,
                id: (call.mnt_ns.id != 0).then_some(call.mnt_ns.id),
                owner: (call.mnt_ns.owner != 0).then_some(call.mnt_ns.owner),
                parent: None,
            },
            syscall: MountSyscall {
                name: mount_syscall_name(call.syscall),
                flags: Vec::new(),
                fd: None,
                command: None,
                aux: None,
                attr_flags: None,
                ret: call.ret,
            },
            source: None,
            target: None,
            put_old: None,
            fstype: None,
            key: None,
            value: None,
            attr: None,
            attached: None,
            process: process(&record.header, &record.task),
        };
        fill_call_fields(call, context, &mut event);
        vec![self.event(
            EventKind::Mount,
            record.header.time_ns,
            Body::Mount(Box::new(event)),
        )]
    }
}

/// Decodes path slot `slot` with the directory of a relative path.
pub fn path_with_directory(
    call: &MountCall,
    context: &MountContext,
    slot: usize,
) -> Option<PathText> {
    let mut text = path_slot(call, slot)?;
    if let Some(dirfd) = relative_dirfd(call, slot) {
        let directory = context.directories[slot]
            .as_deref()
            .map(|bytes| Box::new(PathText::new(bytes, false)));
        text.relative_to = Some(RelativeTo {
            dirfd,
            resolved_late: directory.is_some(),
            directory,
        });
    }
    Some(text)
}

/// Sets the flags, strings and other fields that depend on the syscall.
fn fill_call_fields(call: &MountCall, context: &MountContext, event: &mut Mount) {
    let args = call.args;
    let path = |slot: usize| path_with_directory(call, context, slot);
    let syscall = &mut event.syscall;
    match call.syscall {
        mount_syscall::MOUNT => {
            syscall.flags = mount_flag_names(args[3]);
            event.source = path(0);
            event.target = path(1);
            event.fstype = name_slot(call);
        }
        mount_syscall::UMOUNT => {
            syscall.flags = umount_flag_names(args[1]);
            event.target = path(0);
        }
        mount_syscall::PIVOT_ROOT => {
            event.target = path(0);
            event.put_old = path(1);
        }
        mount_syscall::FSOPEN => {
            syscall.flags = fsopen_flag_names(args[1]);
            event.fstype = name_slot(call);
        }
        mount_syscall::FSCONFIG => {
            syscall.fd = Some(fd_arg(args[0]));
            #[expect(
                clippy::cast_possible_truncation,
                reason = "fsconfig's cmd is an unsigned int"
            )]
            let command = args[1] as u32;
            syscall.command = Some(fsconfig_command_name(command));
            syscall.aux = Some(fd_arg(args[4]));
            event.key = name_slot(call);
            event.value = path(0);
        }
        mount_syscall::FSMOUNT => {
            syscall.flags = fsmount_flag_names(args[1]);
            syscall.fd = Some(fd_arg(args[0]));
            syscall.attr_flags = Some(mount_attr_names(args[2]));
        }
        mount_syscall::MOVE_MOUNT => {
            syscall.flags = move_mount_flag_names(args[4]);
            event.source = path(0);
            event.target = path(1);
            event.attached.clone_from(&context.attached);
        }
        mount_syscall::OPEN_TREE | mount_syscall::OPEN_TREE_ATTR => {
            syscall.flags = open_tree_flag_names(args[2]);
            event.source = path(0);
            event.attr = attr_info(call);
        }
        mount_syscall::MOUNT_SETATTR => {
            syscall.flags = at_flag_names(args[2]);
            event.target = path(0);
            event.attr = attr_info(call);
        }
        _ => {}
    }
}

fn attr_info(call: &MountCall) -> Option<MountAttrInfo> {
    (call.has_attr != 0).then(|| MountAttrInfo {
        set: mount_attr_names(call.attr.attr_set),
        clear: mount_attr_names(call.attr.attr_clr),
        propagation: propagation_names(call.attr.propagation),
        userns_fd: call.attr.userns_fd,
    })
}
