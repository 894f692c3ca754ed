use proptest::prelude::*;

use super::Part;

const PARTS: [Part; 4] = [
    Part::WithoutExtension,
    Part::Basename,
    Part::Dirname,
    Part::BasenameWithoutExtension,
];

fn unhex(field: &str) -> Vec<u8> {
    (0..field.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&field[at..at + 2], 16).unwrap())
        .collect()
}

/// Every row of the table GNU parallel made
/// (`scripts/parallel-reference.py`): 400 awkward and random paths.
#[test]
fn every_part_matches_gnu_parallels_reference_table() {
    let table = include_str!("reference.tsv");
    let mut rows = 0;
    for line in table.lines() {
        let fields: Vec<Vec<u8>> = line.split('\t').map(unhex).collect();
        let input = &fields[0];
        for (part, expected) in PARTS.iter().zip(&fields[1..]) {
            assert_eq!(
                part.of(input).as_ref(),
                expected.as_slice(),
                "{part:?} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(Part::Whole.of(input).as_ref(), input.as_slice());
        rows += 1;
    }
    assert_eq!(rows, 400);
}

#[test]
fn the_manuals_examples() {
    let of = |part: Part, input: &str| {
        String::from_utf8(part.of(input.as_bytes()).into_owned()).unwrap()
    };
    assert_eq!(of(Part::WithoutExtension, "foo.jpg"), "foo");
    assert_eq!(of(Part::WithoutExtension, "subdir/foo.jpg"), "subdir/foo");
    assert_eq!(of(Part::WithoutExtension, "sub.dir/foo.jpg"), "sub.dir/foo");
    assert_eq!(of(Part::WithoutExtension, "sub.dir/bar"), "sub.dir/bar");
    assert_eq!(of(Part::Basename, "a/b/c.d"), "c.d");
    assert_eq!(of(Part::Dirname, "a/b/c.d"), "a/b");
    assert_eq!(of(Part::Dirname, "c.d"), ".");
    assert_eq!(of(Part::BasenameWithoutExtension, "a/b/c.d"), "c");
}

/// Paths from the bytes that matter to the parts, and any other byte.
fn path() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => Just(b'/'),
        3 => Just(b'.'),
        3 => Just(b'a'),
        1 => Just(b'\n'),
        1 => any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..24)
}

proptest! {
    /// `{/.}` is `{.}` of `{/}`, as the manual defines it; a one-line
    /// input's `{/}` has no `/`, its `{.}` no extension left to take and
    /// its `{//}` + `/` + `{/}` names the same file.
    #[test]
    fn parts_compose_as_the_manual_says(input in path()) {
        let base = Part::Basename.of(&input).into_owned();
        let both = Part::BasenameWithoutExtension.of(&input).into_owned();
        prop_assert_eq!(both, Part::WithoutExtension.of(&base).into_owned());
        let stripped = Part::WithoutExtension.of(&input).into_owned();
        prop_assert!(input.starts_with(&stripped));
        if !input.contains(&b'\n') {
            prop_assert!(!base.contains(&b'/'));
            prop_assert!(input.ends_with(&base));
            let dir = Part::Dirname.of(&input).into_owned();
            prop_assert!(!dir.is_empty());
            if !base.is_empty() && input.contains(&b'/') {
                // DIR, then one or more slashes, then BASE.
                prop_assert!(input.starts_with(&dir));
                let rest = &input[dir.len()..];
                let after_slashes = rest.iter().position(|&b| b != b'/').unwrap_or(rest.len());
                prop_assert_eq!(&rest[after_slashes..], base.as_slice());
            }
        }
    }
}
