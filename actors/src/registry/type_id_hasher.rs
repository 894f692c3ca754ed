//! A hasher for `TypeId` keys that passes the id through.
//!
//! A `TypeId` is already a well-mixed hash of the type, so hashing it again
//! with SipHash (the map default) only costs time on the resolve path.

use std::hash::{BuildHasherDefault, Hasher};

/// Builds [`TypeIdHasher`]s.
pub(crate) type BuildTypeIdHasher = BuildHasherDefault<TypeIdHasher>;

/// Passes a `TypeId`'s 64 bits through as the hash.
#[derive(Debug, Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// `TypeId` hashes itself with one `write_u64` today; should that ever
    /// change, bytes are folded in with FNV-1a so the map stays correct
    /// (only slower).
    fn write(&mut self, bytes: &[u8]) {
        const PRIME: u64 = 0x0100_0000_01b3;
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
        self.0 = hash;
    }

    fn write_u64(&mut self, id: u64) {
        self.0 ^= id;
    }
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    fn hash_of(type_id: TypeId) -> u64 {
        BuildTypeIdHasher::default().hash_one(type_id)
    }

    #[test]
    fn distinct_types_hash_apart_and_the_same_type_alike() {
        let ids = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<String>(),
            TypeId::of::<Vec<u8>>(),
        ];
        let hashes: HashSet<u64> = ids.iter().map(|&id| hash_of(id)).collect();
        assert_eq!(hashes.len(), ids.len());
        assert_eq!(
            hash_of(TypeId::of::<String>()),
            hash_of(TypeId::of::<String>())
        );
    }

    #[test]
    fn bytes_are_folded_in() {
        let mut a = TypeIdHasher::default();
        a.write(b"ab");
        let mut b = TypeIdHasher::default();
        b.write(b"ba");
        assert_ne!(a.finish(), b.finish());
    }
}
