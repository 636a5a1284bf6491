//! A small reader of the kernel's BTF, enough to find struct field offsets.
//!
//! The format is described in the kernel's `Documentation/bpf/btf.rst`:
//! a header, a type section of variable-length records numbered from 1,
//! and a string section.

use std::{collections::HashMap, path::Path};

use thiserror::Error;

const BTF_MAGIC: u16 = 0xeb9f;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

#[derive(Debug, Error)]
pub enum BtfError {
    #[error("failed to read BTF from {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid BTF: {0}")]
    Invalid(&'static str),
    #[error("BTF has an unknown type kind {kind} at type id {id}")]
    UnknownKind { kind: u32, id: u32 },
}

/// One member of a struct or union.
#[derive(Clone, Debug)]
struct Member {
    name: String,
    type_id: u32,
    bit_offset: u32,
}

/// One type record, reduced to what field look-ups need.
#[derive(Clone, Debug)]
#[expect(
    clippy::struct_field_names,
    reason = "the BTF format names this union `size`/`type`"
)]
struct Type {
    kind: u32,
    /// Byte size for ints, structs and unions; referenced type id for
    /// pointers, typedefs and qualifiers.
    size_or_type: u32,
    members: Vec<Member>,
}

/// A parsed BTF blob.
#[derive(Debug)]
pub struct Btf {
    /// Types by id; index 0 is the `void` placeholder.
    types: Vec<Type>,
    structs_by_name: HashMap<String, u32>,
}

/// Where a field sits in its struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Byte offset from the start of the outer struct.
    pub offset: u32,
    /// Byte size of the field's type, 0 when it has no fixed size.
    pub size: u32,
}

impl Btf {
    /// Reads the BTF of the running kernel from `/sys/kernel/btf/vmlinux`.
    pub fn from_sys_fs() -> Result<Self, BtfError> {
        Self::from_file(Path::new("/sys/kernel/btf/vmlinux"))
    }

    pub fn from_file(path: &Path) -> Result<Self, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&data)
    }

    /// Parses a BTF blob in the host's byte order.
    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        let u16_at = |at: usize| {
            data.get(at..at + 2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        };
        if u16_at(0) != Some(BTF_MAGIC) {
            return Err(BtfError::Invalid("bad magic number or wrong byte order"));
        }
        let header = Reader { data, at: 0 };
        let hdr_len = header.u32_at(4)? as usize;
        let type_off = header.u32_at(8)? as usize;
        let type_len = header.u32_at(12)? as usize;
        let str_off = header.u32_at(16)? as usize;
        let str_len = header.u32_at(20)? as usize;
        let types_start = hdr_len + type_off;
        let strings_start = hdr_len + str_off;
        let strings = data
            .get(strings_start..strings_start + str_len)
            .ok_or(BtfError::Invalid("string section out of bounds"))?;
        let type_data = data
            .get(types_start..types_start + type_len)
            .ok_or(BtfError::Invalid("type section out of bounds"))?;

        let name_at = |offset: u32| -> String {
            let rest = strings.get(offset as usize..).unwrap_or_default();
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end]).into_owned()
        };

        let mut types = vec![Type {
            kind: 0,
            size_or_type: 0,
            members: Vec::new(),
        }];
        let mut structs_by_name = HashMap::new();
        let reader = Reader {
            data: type_data,
            at: 0,
        };
        let mut at = 0;
        while at < type_data.len() {
            let id = u32::try_from(types.len()).map_err(|_| BtfError::Invalid("too many types"))?;
            let name_off = reader.u32_at(at)?;
            let info = reader.u32_at(at + 4)?;
            let size_or_type = reader.u32_at(at + 8)?;
            at += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let mut members = Vec::new();
            let extra = match kind {
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_STRUCT | KIND_UNION => {
                    for index in 0..vlen {
                        let base = at + index * 12;
                        let offset = reader.u32_at(base + 8)?;
                        members.push(Member {
                            name: name_at(reader.u32_at(base)?),
                            type_id: reader.u32_at(base + 4)?,
                            // With kind_flag set, the top 8 bits hold a
                            // bitfield size and the low 24 the bit offset.
                            bit_offset: if kind_flag {
                                offset & 0x00ff_ffff
                            } else {
                                offset
                            },
                        });
                    }
                    12 * vlen
                }
                _ => return Err(BtfError::UnknownKind { kind, id }),
            };
            at += extra;
            let name = name_at(name_off);
            if kind == KIND_STRUCT && !name.is_empty() && !members.is_empty() {
                structs_by_name.entry(name).or_insert(id);
            }
            types.push(Type {
                kind,
                size_or_type,
                members,
            });
        }

        Ok(Self {
            types,
            structs_by_name,
        })
    }

    /// Byte size of the named struct.
    pub fn struct_size(&self, name: &str) -> Option<u32> {
        let id = *self.structs_by_name.get(name)?;
        Some(self.types[id as usize].size_or_type)
    }

    /// Finds `member` in the named struct, looking through anonymous
    /// struct and union members as C does.
    pub fn field(&self, struct_name: &str, member: &str) -> Option<Field> {
        let id = *self.structs_by_name.get(struct_name)?;
        let bits = self.find_member(id, member, 0)?;
        Some(bits)
    }

    fn find_member(&self, type_id: u32, member: &str, depth: u32) -> Option<Field> {
        if depth > 8 {
            return None;
        }
        let ty = self.types.get(type_id as usize)?;
        for candidate in &ty.members {
            if candidate.name == member {
                return Some(Field {
                    offset: candidate.bit_offset / 8,
                    size: self.type_size(candidate.type_id),
                });
            }
        }
        for candidate in ty.members.iter().filter(|m| m.name.is_empty()) {
            let inner = self.resolve(candidate.type_id);
            let Some(inner_type) = self.types.get(inner as usize) else {
                continue;
            };
            if inner_type.kind != KIND_STRUCT && inner_type.kind != KIND_UNION {
                continue;
            }
            if let Some(found) = self.find_member(inner, member, depth + 1) {
                return Some(Field {
                    offset: candidate.bit_offset / 8 + found.offset,
                    size: found.size,
                });
            }
        }
        None
    }

    /// Follows typedefs and qualifiers to the underlying type id.
    fn resolve(&self, mut type_id: u32) -> u32 {
        for _ in 0..16 {
            match self.types.get(type_id as usize) {
                Some(ty)
                    if matches!(
                        ty.kind,
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    type_id = ty.size_or_type;
                }
                _ => break,
            }
        }
        type_id
    }

    fn type_size(&self, type_id: u32) -> u32 {
        let id = self.resolve(type_id);
        match self.types.get(id as usize) {
            Some(ty)
                if matches!(
                    ty.kind,
                    KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT
                ) =>
            {
                ty.size_or_type
            }
            Some(ty) if ty.kind == KIND_PTR => 8,
            _ => 0,
        }
    }
}

/// Bounds-checked reads of native-endian `u32` values.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u32_at(&self, offset: usize) -> Result<u32, BtfError> {
        let start = self.at + offset;
        self.data
            .get(start..start + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(BtfError::Invalid("record runs past the end of its section"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob with `struct outer { int a; union { struct { long b; }; int c; }; }`.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0long\0outer\0a\0b\0c\0";
        let name = |s: &str| -> u32 {
            let needle = format!("\0{s}\0");
            let at = strings
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap();
            u32::try_from(at + 1).unwrap()
        };
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for word in words {
                types.extend_from_slice(&word.to_ne_bytes());
            }
        };
        // 1: int, 4 bytes
        push(&[name("int"), KIND_INT << 24, 4, 32]);
        // 2: long, 8 bytes
        push(&[name("long"), KIND_INT << 24, 8, 64]);
        // 3: anonymous struct { long b; }
        push(&[0, (KIND_STRUCT << 24) | 1, 8, name("b"), 2, 0]);
        // 4: anonymous union { struct {...}; int c; }
        push(&[0, (KIND_UNION << 24) | 2, 8, 0, 3, 0, name("c"), 1, 0]);
        // 5: struct outer { int a; union {...}; } with the union at byte 8
        push(&[
            name("outer"),
            (KIND_STRUCT << 24) | 2,
            16,
            name("a"),
            1,
            0,
            0,
            4,
            64,
        ]);

        let mut blob = Vec::new();
        blob.extend_from_slice(&BTF_MAGIC.to_ne_bytes());
        blob.extend_from_slice(&[1, 0]);
        for word in [
            24u32,
            0,
            u32::try_from(types.len()).unwrap(),
            u32::try_from(types.len()).unwrap(),
            u32::try_from(strings.len()).unwrap(),
        ] {
            blob.extend_from_slice(&word.to_ne_bytes());
        }
        blob.extend_from_slice(&types);
        blob.extend_from_slice(strings);
        blob
    }

    #[test]
    fn field_in_struct() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.field("outer", "a"), Some(Field { offset: 0, size: 4 }));
    }

    #[test]
    fn field_through_anonymous_members() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.field("outer", "b"), Some(Field { offset: 8, size: 8 }));
        assert_eq!(btf.field("outer", "c"), Some(Field { offset: 8, size: 4 }));
    }

    #[test]
    fn missing_field_and_struct() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.field("outer", "d"), None);
        assert_eq!(btf.field("inner", "a"), None);
        assert_eq!(btf.struct_size("outer"), Some(16));
    }

    #[test]
    fn bad_magic_rejected() {
        let mut blob = sample();
        blob[0] = 0;
        assert!(matches!(Btf::parse(&blob), Err(BtfError::Invalid(_))));
    }

    #[test]
    fn truncated_blob_rejected() {
        let blob = sample();
        assert!(Btf::parse(&blob[..40]).is_err());
    }

    #[test]
    fn running_kernel_task_struct() {
        let btf = Btf::from_sys_fs()
            .expect("this test needs /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
        let nsproxy = btf
            .field("task_struct", "nsproxy")
            .expect("task_struct.nsproxy in BTF");
        assert_eq!(nsproxy.size, 8);
        assert!(btf.field("ns_common", "inum").is_some());
    }
}
