//! Kernel struct field offsets for the eBPF programs, from the running
//! kernel's BTF.

use nstrace_common::offsets::{Offsets, ABSENT};
use thiserror::Error;

use crate::btf::Btf;

#[derive(Debug, Error)]
pub enum OffsetError {
    #[error("kernel BTF has no field {struct_name}.{member}, which nstrace needs")]
    MissingField {
        struct_name: &'static str,
        member: &'static str,
    },
    #[error("kernel BTF has no struct {0}, which nstrace needs")]
    MissingStruct(&'static str),
    #[error(
        "kernel BTF has neither ns_common.ns_type nor ns_common.ops with proc_ns_operations.type"
    )]
    NoNamespaceType,
}

/// Whether a field must exist on the running kernel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}

/// Reads every offset in [`Offsets`] from `btf`.
pub fn resolve(btf: &Btf) -> Result<Offsets, OffsetError> {
    use Need::{Optional, Required};

    let field =
        |struct_name: &'static str, member: &'static str, need: Need| -> Result<u32, OffsetError> {
            match btf.field(struct_name, member) {
                Some(found) => Ok(found.offset),
                None if need == Optional => Ok(ABSENT),
                None => Err(OffsetError::MissingField {
                    struct_name,
                    member,
                }),
            }
        };
    let ns = |struct_name: &'static str| field(struct_name, "ns", Required);

    let mut offsets = Offsets {
        task_pid: field("task_struct", "pid", Required)?,
        task_tgid: field("task_struct", "tgid", Required)?,
        task_real_parent: field("task_struct", "real_parent", Required)?,
        task_nsproxy: field("task_struct", "nsproxy", Required)?,
        task_real_cred: field("task_struct", "real_cred", Required)?,
        task_thread_pid: field("task_struct", "thread_pid", Required)?,
        task_files: field("task_struct", "files", Required)?,
        task_signal: field("task_struct", "signal", Required)?,
        signal_live: field("signal_struct", "live", Required)?,
        nsproxy_uts: field("nsproxy", "uts_ns", Required)?,
        nsproxy_ipc: field("nsproxy", "ipc_ns", Required)?,
        nsproxy_mnt: field("nsproxy", "mnt_ns", Required)?,
        nsproxy_pid_for_children: field("nsproxy", "pid_ns_for_children", Required)?,
        nsproxy_net: field("nsproxy", "net_ns", Required)?,
        // Time namespaces arrived in Linux 5.6.
        nsproxy_time: field("nsproxy", "time_ns", Optional)?,
        nsproxy_time_for_children: field("nsproxy", "time_ns_for_children", Optional)?,
        nsproxy_cgroup: field("nsproxy", "cgroup_ns", Required)?,
        uts_ns_common: ns("uts_namespace")?,
        ipc_ns_common: ns("ipc_namespace")?,
        mnt_ns_common: ns("mnt_namespace")?,
        pid_ns_common: ns("pid_namespace")?,
        net_ns_common: ns("net")?,
        time_ns_common: field("time_namespace", "ns", Optional)?,
        cgroup_ns_common: ns("cgroup_namespace")?,
        user_ns_common: ns("user_namespace")?,
        uts_owner: field("uts_namespace", "user_ns", Required)?,
        ipc_owner: field("ipc_namespace", "user_ns", Required)?,
        mnt_owner: field("mnt_namespace", "user_ns", Required)?,
        pid_owner: field("pid_namespace", "user_ns", Required)?,
        net_owner: field("net", "user_ns", Required)?,
        time_owner: field("time_namespace", "user_ns", Optional)?,
        cgroup_owner: field("cgroup_namespace", "user_ns", Required)?,
        user_parent: field("user_namespace", "parent", Required)?,
        pid_parent: field("pid_namespace", "parent", Required)?,
        ns_common_inum: field("ns_common", "inum", Required)?,
        ns_common_ns_id: field("ns_common", "ns_id", Optional)?,
        ns_common_ns_type: field("ns_common", "ns_type", Optional)?,
        ns_common_ops: field("ns_common", "ops", Optional)?,
        proc_ns_operations_type: field("proc_ns_operations", "type", Optional)?,
        cred_user_ns: field("cred", "user_ns", Required)?,
        pid_level: field("pid", "level", Required)?,
        pid_numbers: field("pid", "numbers", Required)?,
        upid_size: btf
            .struct_size("upid")
            .ok_or(OffsetError::MissingStruct("upid"))?,
        upid_nr: field("upid", "nr", Required)?,
        upid_ns: field("upid", "ns", Required)?,
        files_fdt: field("files_struct", "fdt", Required)?,
        fdtable_max_fds: field("fdtable", "max_fds", Required)?,
        fdtable_fd: field("fdtable", "fd", Required)?,
        file_f_inode: field("file", "f_inode", Required)?,
        inode_i_sb: field("inode", "i_sb", Required)?,
        inode_i_private: field("inode", "i_private", Required)?,
        super_block_s_magic: field("super_block", "s_magic", Required)?,
        // Only needed to recognise a pidfd before Linux 6.9; without them a
        // pidfd there is reported as "other".
        file_f_path: field("file", "f_path", Optional)?,
        path_dentry: field("path", "dentry", Optional)?,
        dentry_d_name: field("dentry", "d_name", Optional)?,
        qstr_name: field("qstr", "name", Optional)?,
        file_private_data: field("file", "private_data", Optional)?,
        linux_binprm_filename: field("linux_binprm", "filename", Required)?,
        task_exit_code: field("task_struct", "exit_code", Required)?,
    };

    // Without ns_common.ns_type (before Linux 6.18) the type of an nsfs
    // file's namespace comes from ns_common.ops->type.
    if offsets.ns_common_ns_type == ABSENT
        && (offsets.ns_common_ops == ABSENT || offsets.proc_ns_operations_type == ABSENT)
    {
        return Err(OffsetError::NoNamespaceType);
    }
    if offsets.ns_common_ns_type != ABSENT {
        offsets.ns_common_ops = ABSENT;
    }
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_kernel_offsets() {
        let btf = Btf::from_sys_fs()
            .expect("this test needs /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
        let offsets = resolve(&btf).expect("every required field in the running kernel's BTF");
        assert_ne!(offsets.task_nsproxy, ABSENT);
        assert_eq!(offsets.upid_size, 16);
        // Optional fields, found in the BTF of Linux 6.1 and 6.18. Without
        // them a pidfd before Linux 6.9 is reported as "other".
        for (name, offset) in [
            ("file.f_path", offsets.file_f_path),
            ("path.dentry", offsets.path_dentry),
            ("dentry.d_name", offsets.dentry_d_name),
            ("qstr.name", offsets.qstr_name),
            ("file.private_data", offsets.file_private_data),
        ] {
            assert_ne!(offset, ABSENT, "{name} not found in the kernel's BTF");
        }
    }
}
