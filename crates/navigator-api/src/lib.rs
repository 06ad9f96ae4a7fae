//! The `navigator.jetstack.io` API.
