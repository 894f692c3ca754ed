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
