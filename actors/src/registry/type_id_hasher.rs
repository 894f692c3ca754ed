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
mod tests;
