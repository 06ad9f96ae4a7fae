//! Integration tests of the registry against the embedded store.
