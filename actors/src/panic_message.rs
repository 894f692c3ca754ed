//! Turning a caught panic into a message.

use std::any::Any;

/// The message a panic was raised with, or a placeholder when its payload
/// is neither a `&str` nor a `String` (`std::panic::panic_any`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
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
}
