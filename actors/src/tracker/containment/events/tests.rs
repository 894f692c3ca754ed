#[test]
fn reads_fields_of_cgroup_events() {
    let text = "populated 1\nfrozen 0\n";
    assert_eq!(super::field(text, "populated"), Some(true));
    assert_eq!(super::field(text, "frozen"), Some(false));
    assert_eq!(super::field(text, "other"), None);
}
