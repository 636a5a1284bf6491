//! Decoding of ring buffer bytes into typed records.

use std::{borrow::Cow, mem::size_of};

use nstrace_common::record::{
    kind, ExecRecord, ExitRecord, ForkRecord, Header, MountRecord, NsFreeRecord, SyscallRecord,
};
use thiserror::Error;

/// A record from the eBPF programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Syscall(Box<SyscallRecord>),
    Fork(Box<ForkRecord>),
    Exec(Box<ExecRecord>),
    Exit(Box<ExitRecord>),
    NsFree(NsFreeRecord),
    Mount(Box<MountRecord>),
}

impl Record {
    pub fn header(&self) -> &Header {
        match self {
            Record::Syscall(r) => &r.header,
            Record::Fork(r) => &r.header,
            Record::Exec(r) => &r.header,
            Record::Exit(r) => &r.header,
            Record::NsFree(r) => &r.header,
            Record::Mount(r) => &r.header,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {len} bytes is shorter than a header")]
    NoHeader { len: usize },
    #[error("record kind {kind} is unknown")]
    UnknownKind { kind: u32 },
    #[error("record of kind {kind} has {len} bytes, expected at least {expected}")]
    TooShort {
        kind: u32,
        len: usize,
        expected: usize,
    },
}

/// Decodes one ring buffer entry.
pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    let header: Header = read(bytes).ok_or(DecodeError::NoHeader { len: bytes.len() })?;
    let too_short = |expected: usize| DecodeError::TooShort {
        kind: header.kind,
        len: bytes.len(),
        expected,
    };
    match header.kind {
        kind::SYSCALL => read(bytes)
            .map(|r| Record::Syscall(Box::new(r)))
            .ok_or_else(|| too_short(size_of::<SyscallRecord>())),
        kind::FORK => read(bytes)
            .map(|r| Record::Fork(Box::new(r)))
            .ok_or_else(|| too_short(size_of::<ForkRecord>())),
        kind::EXEC => read(bytes)
            .map(|r| Record::Exec(Box::new(r)))
            .ok_or_else(|| too_short(size_of::<ExecRecord>())),
        kind::EXIT => read(bytes)
            .map(|r| Record::Exit(Box::new(r)))
            .ok_or_else(|| too_short(size_of::<ExitRecord>())),
        kind::NS_FREE => read(bytes)
            .map(Record::NsFree)
            .ok_or_else(|| too_short(size_of::<NsFreeRecord>())),
        kind::MOUNT => read(bytes)
            .map(|r| Record::Mount(Box::new(r)))
            .ok_or_else(|| too_short(size_of::<MountRecord>())),
        other => Err(DecodeError::UnknownKind { kind: other }),
    }
}

/// Marker for the record structs, which any bit pattern of their size
/// makes valid.
///
/// # Safety
///
/// Implementors are `#[repr(C)]` and made of integers and integer arrays
/// only.
unsafe trait Plain: Copy {}

// SAFETY: all are `#[repr(C)]` structs of integers and integer arrays.
unsafe impl Plain for Header {}
unsafe impl Plain for SyscallRecord {}
unsafe impl Plain for ForkRecord {}
unsafe impl Plain for ExecRecord {}
unsafe impl Plain for ExitRecord {}
unsafe impl Plain for NsFreeRecord {}
unsafe impl Plain for MountRecord {}

fn read<T: Plain>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: the length was checked above, `read_unaligned` has no
    // alignment needs, and `T: Plain` is valid for any bit pattern.
    Some(unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
}

/// Views a record as bytes, for tests and benchmarks that replay records.
pub fn to_bytes<T: Copy>(record: &T) -> Vec<u8> {
    // SAFETY: the record types have no padding bytes, so every byte of the
    // value is initialised.
    unsafe { std::slice::from_raw_parts(std::ptr::from_ref(record).cast::<u8>(), size_of::<T>()) }
        .to_vec()
}

/// Returns the text of a NUL-padded byte array, lossily decoded, borrowed
/// when it is valid UTF-8.
pub fn c_str(bytes: &[u8]) -> Cow<'_, str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use nstrace_common::record::{NsSet, Task};

    fn header(kind: u32) -> Header {
        Header {
            kind,
            cpu: 1,
            time_ns: 42,
            tgid: 100,
            tid: 101,
        }
    }

    #[test]
    fn syscall_round_trip() {
        let mut record = SyscallRecord {
            header: header(kind::SYSCALL),
            syscall: nstrace_common::record::syscall::UNSHARE,
            ret: -1,
            ..Default::default()
        };
        record.after.ns[5].inode = 4_026_532_000;
        let decoded = decode(&to_bytes(&record)).unwrap();
        assert_eq!(decoded, Record::Syscall(Box::new(record)));
        assert_eq!(decoded.header().tgid, 100);
    }

    #[test]
    fn exit_round_trip() {
        let record = ExitRecord {
            header: header(kind::EXIT),
            task: Task {
                comm: *b"sleep\0\0\0\0\0\0\0\0\0\0\0",
                ..Default::default()
            },
            exit_code: 256,
            group_dead: 1,
            ns: NsSet::default(),
        };
        assert_eq!(
            decode(&to_bytes(&record)),
            Ok(Record::Exit(Box::new(record)))
        );
    }

    #[test]
    fn fork_round_trip() {
        let record = ForkRecord {
            header: header(kind::FORK),
            child_tgid: 7,
            child_tid: 7,
            clone_flags: 0x4000_0000,
            clone_syscall: 1,
            child: NsSet::default(),
            ..Default::default()
        };
        assert_eq!(
            decode(&to_bytes(&record)),
            Ok(Record::Fork(Box::new(record)))
        );
    }

    #[test]
    fn mount_round_trip() {
        let mut record = MountRecord {
            header: header(kind::MOUNT),
            ..Default::default()
        };
        record.call.syscall = nstrace_common::record::mount_syscall::MOUNT;
        record.call.paths[1][..4].copy_from_slice(b"/mnt");
        record.call.path_info[1].len = 4;
        assert_eq!(
            decode(&to_bytes(&record)),
            Ok(Record::Mount(Box::new(record)))
        );
    }

    #[test]
    fn short_record_rejected() {
        let record = ForkRecord {
            header: header(kind::FORK),
            ..Default::default()
        };
        let bytes = to_bytes(&record);
        assert_eq!(
            decode(&bytes[..100]),
            Err(DecodeError::TooShort {
                kind: kind::FORK,
                len: 100,
                expected: size_of::<ForkRecord>()
            })
        );
        assert_eq!(decode(&bytes[..3]), Err(DecodeError::NoHeader { len: 3 }));
    }

    #[test]
    fn unknown_kind_rejected() {
        let bytes = to_bytes(&header(99));
        assert_eq!(decode(&bytes), Err(DecodeError::UnknownKind { kind: 99 }));
    }

    #[test]
    fn comm_without_nul() {
        assert_eq!(c_str(b"0123456789abcdef"), "0123456789abcdef");
        assert_eq!(c_str(b"sh\0junk"), "sh");
    }
}
