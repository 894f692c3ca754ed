//! The error type of user callbacks: factories, checks, cleanups.

use std::error::Error;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An error returned by application code that steward calls (a factory, a
/// health check, a cleanup).
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it, so `?`
/// works inside a callback whatever the error type; [`UserError::msg`]
/// makes one from a message. It is cheap to clone (the error is shared), so
/// one failure can be reported to several waiters.
///
/// Like `anyhow::Error` it does not implement `std::error::Error` itself
/// (that would conflict with the blanket `From`); it dereferences to
/// `dyn Error`, so it works as a `#[source]` and with `?`.
///
/// # Examples
///
/// ```
/// use steward_actors::UserError;
///
/// fn parse(text: &str) -> Result<u16, UserError> {
///     Ok(text.parse::<u16>()?)
/// }
///
/// let err = parse("port").unwrap_err();
/// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
/// assert_eq!(UserError::msg("backend refused").to_string(), "backend refused");
/// ```
#[derive(Clone)]
pub struct UserError(Arc<dyn Error + Send + Sync + 'static>);

impl UserError {
    /// An error that is only a message.
    #[must_use]
    pub fn msg(message: impl fmt::Display) -> Self {
        Self(Arc::new(Message(message.to_string())))
    }

    /// The underlying error, if it is an `E`.
    #[must_use]
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl<E: Error + Send + Sync + 'static> From<E> for UserError {
    fn from(error: E) -> Self {
        Self(Arc::new(error))
    }
}

impl Deref for UserError {
    type Target = dyn Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}
