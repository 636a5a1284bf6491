//! Checks that the record decoder returns a record or an error, without
//! panicking, for arbitrary ring buffer bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nstrace::decode::{decode, DecodeError, Record};
use nstrace_common::record::kind;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(record) => {
            let expected = match record {
                Record::Syscall(_) => kind::SYSCALL,
                Record::Fork(_) => kind::FORK,
                Record::Exec(_) => kind::EXEC,
                Record::Exit(_) => kind::EXIT,
                Record::NsFree(_) => kind::NS_FREE,
            };
            assert_eq!(record.header().kind, expected);
        }
        Err(DecodeError::NoHeader { len }) => assert_eq!(len, data.len()),
        Err(DecodeError::TooShort { len, expected, .. }) => {
            assert_eq!(len, data.len());
            assert!(len < expected);
        }
        Err(DecodeError::UnknownKind { .. }) => {}
    }
});
