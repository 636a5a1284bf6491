//! Byte offsets of the kernel struct fields that the eBPF programs read.
//!
//! rustc emits no CO-RE relocations for the BPF target, so the programs
//! cannot let the kernel fix field offsets at load time. The collector
//! reads them from the running kernel's BTF instead and writes this struct
//! into the programs' read-only data before loading them.

/// Offset value for a field that the running kernel does not have.
pub const ABSENT: u32 = u32::MAX;

/// Field offsets in bytes; [`ABSENT`] marks a field missing on this kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offsets {
    pub task_pid: u32,
    pub task_tgid: u32,
    pub task_real_parent: u32,
    pub task_nsproxy: u32,
    pub task_real_cred: u32,
    pub task_thread_pid: u32,
    pub task_files: u32,
    pub task_signal: u32,
    /// `signal_struct.live`: threads of the group that have not yet exited.
    pub signal_live: u32,

    pub nsproxy_uts: u32,
    pub nsproxy_ipc: u32,
    pub nsproxy_mnt: u32,
    pub nsproxy_pid_for_children: u32,
    pub nsproxy_net: u32,
    pub nsproxy_time: u32,
    pub nsproxy_time_for_children: u32,
    pub nsproxy_cgroup: u32,

    /// Offset of the embedded `struct ns_common ns` in each namespace struct.
    pub uts_ns_common: u32,
    pub ipc_ns_common: u32,
    pub mnt_ns_common: u32,
    pub pid_ns_common: u32,
    pub net_ns_common: u32,
    pub time_ns_common: u32,
    pub cgroup_ns_common: u32,
    pub user_ns_common: u32,

    /// Offset of the owning `struct user_namespace *user_ns` in each
    /// namespace struct but user's, whose owner is its `parent`.
    pub uts_owner: u32,
    pub ipc_owner: u32,
    pub mnt_owner: u32,
    pub pid_owner: u32,
    pub net_owner: u32,
    pub time_owner: u32,
    pub cgroup_owner: u32,
    pub user_parent: u32,
    pub pid_parent: u32,

    pub ns_common_inum: u32,
    /// 64-bit namespace id, present since Linux 6.18.
    pub ns_common_ns_id: u32,
    /// `CLONE_NEW*` value of the namespace type, present since Linux 6.18.
    pub ns_common_ns_type: u32,
    pub ns_common_ops: u32,
    pub proc_ns_operations_type: u32,

    pub cred_user_ns: u32,

    pub pid_level: u32,
    pub pid_numbers: u32,
    pub upid_size: u32,
    pub upid_nr: u32,
    pub upid_ns: u32,

    pub files_fdt: u32,
    pub fdtable_max_fds: u32,
    pub fdtable_fd: u32,
    pub file_f_inode: u32,
    pub inode_i_sb: u32,
    pub inode_i_private: u32,
    pub super_block_s_magic: u32,
    /// Fields that name an anon_inode file, which a pidfd is before Linux
    /// 6.9: `file->f_path.dentry->d_name.name` and `file->private_data`.
    pub file_f_path: u32,
    pub path_dentry: u32,
    pub dentry_d_name: u32,
    pub qstr_name: u32,
    pub file_private_data: u32,

    pub linux_binprm_filename: u32,
    pub task_exit_code: u32,
}

impl Offsets {
    /// Offsets with every field marked absent, the value compiled into the
    /// eBPF object before the collector fills it in.
    pub const ABSENT: Self = Self {
        task_pid: ABSENT,
        task_tgid: ABSENT,
        task_real_parent: ABSENT,
        task_nsproxy: ABSENT,
        task_real_cred: ABSENT,
        task_thread_pid: ABSENT,
        task_files: ABSENT,
        task_signal: ABSENT,
        signal_live: ABSENT,
        nsproxy_uts: ABSENT,
        nsproxy_ipc: ABSENT,
        nsproxy_mnt: ABSENT,
        nsproxy_pid_for_children: ABSENT,
        nsproxy_net: ABSENT,
        nsproxy_time: ABSENT,
        nsproxy_time_for_children: ABSENT,
        nsproxy_cgroup: ABSENT,
        uts_ns_common: ABSENT,
        ipc_ns_common: ABSENT,
        mnt_ns_common: ABSENT,
        pid_ns_common: ABSENT,
        net_ns_common: ABSENT,
        time_ns_common: ABSENT,
        cgroup_ns_common: ABSENT,
        user_ns_common: ABSENT,
        uts_owner: ABSENT,
        ipc_owner: ABSENT,
        mnt_owner: ABSENT,
        pid_owner: ABSENT,
        net_owner: ABSENT,
        time_owner: ABSENT,
        cgroup_owner: ABSENT,
        user_parent: ABSENT,
        pid_parent: ABSENT,
        ns_common_inum: ABSENT,
        ns_common_ns_id: ABSENT,
        ns_common_ns_type: ABSENT,
        ns_common_ops: ABSENT,
        proc_ns_operations_type: ABSENT,
        cred_user_ns: ABSENT,
        pid_level: ABSENT,
        pid_numbers: ABSENT,
        upid_size: ABSENT,
        upid_nr: ABSENT,
        upid_ns: ABSENT,
        files_fdt: ABSENT,
        fdtable_max_fds: ABSENT,
        fdtable_fd: ABSENT,
        file_f_inode: ABSENT,
        inode_i_sb: ABSENT,
        inode_i_private: ABSENT,
        super_block_s_magic: ABSENT,
        file_f_path: ABSENT,
        path_dentry: ABSENT,
        dentry_d_name: ABSENT,
        qstr_name: ABSENT,
        file_private_data: ABSENT,
        linux_binprm_filename: ABSENT,
        task_exit_code: ABSENT,
    };
}
