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
mod tests;
