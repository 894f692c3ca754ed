use super::panic_message;

#[test]
fn reads_str_string_and_other_payloads() {
    let from_str = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
    let from_format = std::panic::catch_unwind(|| panic!("formatted {}", 7)).unwrap_err();
    let other = std::panic::catch_unwind(|| std::panic::panic_any(42_u8)).unwrap_err();
    assert_eq!(panic_message(&*from_str), "plain");
    assert_eq!(panic_message(&*from_format), "formatted 7");
    assert_eq!(panic_message(&*other), "panic with a non-string payload");
}
