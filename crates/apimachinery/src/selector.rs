//! Label and field selectors: [`apimachinery_core::selector`] under the path this crate always
//! had, plus the conversion of their errors into this crate's [`ApiError`].

pub use apimachinery_core::names::{label_key_errors, label_value_errors};
pub use apimachinery_core::selector::*;

use crate::status::ApiError;

impl From<SelectorError> for ApiError {
    /// The 400 `BadRequest` a Go server answers with, the error's text as message.
    fn from(err: SelectorError) -> Self {
        ApiError::bad_request(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_errors_are_bad_requests_with_go_messages() {
        let err = ApiError::from(LabelSelector::parse("x in (a").expect_err("unclosed"));
        assert_eq!((err.code(), err.reason()), (400, "BadRequest"));
        let err = ApiError::from(FieldSelector::parse("a").expect_err("no operator"));
        assert_eq!(err.message(), "invalid selector: 'a'; can't understand 'a'");
    }
}
