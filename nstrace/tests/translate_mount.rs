//! The mount record-to-event stage on synthetic records.

use nstrace::{
    clock::Clock,
    decode::Record,
    filter::Filter,
    mount_tracker::MountTracker,
    namespace::NsType,
    output::event::Event,
    translate::{MountContext, Translator},
};
use nstrace_common::record::{
    kind, mount_syscall, string_state, ExitRecord, Header, MountRecord, NsSet, StringInfo, Task,
};

const MNT_INODE: u32 = 4_026_532_200;
const TGID: u32 = 700;

fn translator() -> Translator {
    Translator {
        clock: Clock::with_offset(1_700_000_000_000_000_000),
        host: "test-host".into(),
        nsfs_dev: Some(4),
    }
}

fn header(record_kind: u32) -> Header {
    Header {
        kind: record_kind,
        cpu: 0,
        time_ns: 7,
        tgid: TGID,
        tid: TGID,
    }
}

fn mount_record(call: u32, args: [u64; 6], ret: i64) -> MountRecord {
    let mut record = MountRecord {
        header: header(kind::MOUNT),
        task: Task {
            comm: *b"mounter\0\0\0\0\0\0\0\0\0",
            ..Default::default()
        },
        ..Default::default()
    };
    record.call.syscall = call;
    record.call.args = args;
    record.call.ret = ret;
    record.call.mnt_ns.inode = MNT_INODE;
    record.call.mnt_ns.id = 77;
    record
}

fn set_path(record: &mut MountRecord, slot: usize, bytes: &[u8]) {
    record.call.paths[slot][..bytes.len()].copy_from_slice(bytes);
    record.call.path_info[slot] = StringInfo {
        len: u32::try_from(bytes.len()).unwrap(),
        state: string_state::PRESENT,
        addr: 0x1000,
    };
}

fn set_name(record: &mut MountRecord, bytes: &[u8]) {
    record.call.name[..bytes.len()].copy_from_slice(bytes);
    record.call.name_info = StringInfo {
        len: u32::try_from(bytes.len()).unwrap(),
        state: string_state::PRESENT,
        addr: 0x1000,
    };
}

fn json(event: &Event) -> serde_json::Value {
    serde_json::to_value(event).unwrap()
}

fn one(events: &[Event]) -> serde_json::Value {
    assert_eq!(events.len(), 1);
    json(&events[0])
}

#[test]
fn bind_mount_event() {
    let mut record = mount_record(mount_syscall::MOUNT, [0, 0, 0, 0x5000, 0, 0], 0);
    set_path(&mut record, 0, b"/srv/data");
    set_path(&mut record, 1, b"/mnt/data");
    let event = one(&translator().translate(&Record::Mount(Box::new(record))));
    assert_eq!(event["event"], "mount");
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["syscall"]["name"], "mount");
    assert_eq!(
        event["syscall"]["flags"],
        serde_json::json!(["MS_BIND", "MS_REC"])
    );
    assert_eq!(event["source"]["value"], "/srv/data");
    assert_eq!(event["source"]["truncated"], false);
    assert_eq!(event["target"]["value"], "/mnt/data");
    assert_eq!(event["target"]["bytes"], 9);
    assert!(event.get("fstype").is_none());
    assert_eq!(event["ns"]["type"], "mnt");
    assert_eq!(event["ns"]["inode"], MNT_INODE);
    assert_eq!(event["ns"]["id"], 77);
    assert_eq!(event["process"]["comm"], "mounter");
}

#[test]
fn failed_umount_reports_errno() {
    let mut record = mount_record(mount_syscall::UMOUNT, [0, 2, 0, 0, 0, 0], -16);
    set_path(&mut record, 0, b"/mnt/busy");
    let event = one(&translator().translate(&Record::Mount(Box::new(record))));
    assert_eq!(event["syscall"]["name"], "umount2");
    assert_eq!(event["syscall"]["flags"], serde_json::json!(["MNT_DETACH"]));
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["error"]["name"], "EBUSY");
    assert_eq!(event["syscall"]["ret"], -16);
}

#[test]
fn relative_target_gets_directory() {
    let mut record = mount_record(mount_syscall::MOUNT, [0, 0, 0, 0x20, 0, 0], 0);
    set_path(&mut record, 1, b"sub/dir");
    let context = MountContext {
        directories: [None, Some(b"/home/user".to_vec())],
        attached: None,
    };
    let event = one(&translator().mount(&record, &context));
    let relative = &event["target"]["relative_to"];
    assert_eq!(relative["dirfd"], -100);
    assert_eq!(relative["directory"]["value"], "/home/user");
    assert_eq!(relative["resolved_late"], true);
}

#[test]
fn unresolved_directory_keeps_dirfd() {
    let mut record = mount_record(mount_syscall::OPEN_TREE, [5, 0, 1, 0, 0, 0], 6);
    set_path(&mut record, 0, b"rel");
    let event = one(&translator().translate(&Record::Mount(Box::new(record))));
    let relative = &event["source"]["relative_to"];
    assert_eq!(relative["dirfd"], 5);
    assert!(relative.get("directory").is_none());
    assert!(relative.get("resolved_late").is_none());
}

#[test]
fn truncated_and_unreadable_strings_marked() {
    let mut record = mount_record(mount_syscall::MOUNT, [0, 0, 0, 0, 0, 0], -36);
    set_path(&mut record, 1, &[b'a'; 4095]);
    record.call.path_info[1].state |= string_state::TRUNCATED;
    record.call.path_info[0] = StringInfo {
        len: 0,
        state: string_state::PRESENT | string_state::FAULT,
        addr: 0x1000,
    };
    let event = one(&translator().translate(&Record::Mount(Box::new(record))));
    assert_eq!(event["target"]["truncated"], true);
    assert_eq!(event["target"]["bytes"], 4095);
    assert_eq!(event["source"]["unreadable"], true);
    assert_eq!(event["error"]["name"], "ENAMETOOLONG");
}

#[test]
fn invalid_utf8_target_base64() {
    let mut record = mount_record(mount_syscall::MOUNT, [0, 0, 0, 0x1000, 0, 0], 0);
    set_path(&mut record, 1, b"/mnt/\xff");
    let event = one(&translator().translate(&Record::Mount(Box::new(record))));
    assert_eq!(event["target"]["encoding"], "base64");
    assert_eq!(event["target"]["value"], "L21udC//");
}

#[test]
fn mount_setattr_attr_decoded() {
    let mut record = mount_record(mount_syscall::MOUNT_SETATTR, [0, 0, 0x8000, 0, 32, 0], 0);
    set_path(&mut record, 0, b"/mnt");
    record.call.has_attr = 1;
    record.call.attr.attr_set = 0x1;
    record.call.attr.attr_clr = 0x70;
    record.call.attr.propagation = 0x8_0000;
    let event = one(&translator().translate(&Record::Mount(Box::new(record))));
    assert_eq!(
        event["syscall"]["flags"],
        serde_json::json!(["AT_RECURSIVE"])
    );
    assert_eq!(
        event["attr"]["set"],
        serde_json::json!(["MOUNT_ATTR_RDONLY"])
    );
    assert_eq!(
        event["attr"]["clear"],
        serde_json::json!(["MOUNT_ATTR__ATIME"])
    );
    assert_eq!(
        event["attr"]["propagation"],
        serde_json::json!(["MS_SLAVE"])
    );
}

/// Runs records through a tracker and the translator, as the collector
/// does, and returns the events of the last one.
fn replay(tracker: &mut MountTracker, records: Vec<MountRecord>) -> serde_json::Value {
    let mut last = Vec::new();
    for record in records {
        let record = Record::Mount(Box::new(record));
        let context = tracker
            .observe(&record)
            .expect("mount records get a context");
        let Record::Mount(mount) = &record else {
            unreachable!()
        };
        last = translator().mount(mount, &context);
    }
    one(&last)
}

fn new_api_records() -> Vec<MountRecord> {
    let mut fsopen = mount_record(mount_syscall::FSOPEN, [0, 1, 0, 0, 0, 0], 3);
    set_name(&mut fsopen, b"tmpfs");
    let mut source = mount_record(mount_syscall::FSCONFIG, [3, 1, 0, 0, 0, 0], 0);
    set_name(&mut source, b"source");
    set_path(&mut source, 0, b"scratch");
    let create = mount_record(mount_syscall::FSCONFIG, [3, 6, 0, 0, 0, 0], 0);
    let fsmount = mount_record(mount_syscall::FSMOUNT, [3, 1, 0x4, 0, 0, 0], 4);
    let mut move_mount = mount_record(mount_syscall::MOVE_MOUNT, [4, 0, 0, 0, 0x4, 0], 0);
    set_path(&mut move_mount, 0, b"");
    set_path(&mut move_mount, 1, b"/mnt/new");
    vec![fsopen, source, create, fsmount, move_mount]
}

#[test]
fn move_mount_joined_with_fsmount() {
    let mut tracker = MountTracker::default();
    let event = replay(&mut tracker, new_api_records());
    let attached = &event["attached"];
    assert_eq!(attached["kind"], "fsmount");
    assert_eq!(attached["fd"], 4);
    assert_eq!(attached["fs_fd"], 3);
    assert_eq!(attached["fstype"]["value"], "tmpfs");
    assert_eq!(attached["source"]["value"], "scratch");
    assert_eq!(attached["flags"], serde_json::json!(["MOUNT_ATTR_NODEV"]));
    assert_eq!(event["target"]["value"], "/mnt/new");
}

#[test]
fn exit_forgets_joined_fds() {
    let mut tracker = MountTracker::default();
    let mut records = new_api_records();
    let move_mount = records.pop().unwrap();
    replay(&mut tracker, records);
    let exit = ExitRecord {
        header: header(kind::EXIT),
        task: Task::default(),
        exit_code: 0,
        group_dead: 1,
        ns: NsSet::default(),
    };
    assert_eq!(tracker.observe(&Record::Exit(Box::new(exit))), None);
    let event = replay(&mut tracker, vec![move_mount]);
    assert!(event.get("attached").is_none(), "{event}");
}

#[test]
fn types_filter_keeps_mount_events() {
    let record = mount_record(mount_syscall::MOUNT, [0, 0, 0, 0x1000, 0, 0], 0);
    let events = translator().translate(&Record::Mount(Box::new(record)));
    let mnt_only = Filter {
        types: [NsType::Mnt].into_iter().collect(),
        ..Filter::default()
    };
    let net_only = Filter {
        types: [NsType::Net].into_iter().collect(),
        ..Filter::default()
    };
    assert!(mnt_only.accepts(&events[0]));
    assert!(!net_only.accepts(&events[0]));
}
