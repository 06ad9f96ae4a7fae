//! The spec-hash annotation: a digest of the desired form of a child object, written on the
//! object when the controller applies it. Comparing the observed annotation with the digest of
//! today's desired object tells whether the child must be applied again, without comparing
//! against fields the API server defaulted.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Annotation carrying [`spec_hash`] of the desired object the controller last applied.
pub const SPEC_HASH_ANNOTATION: &str = "navigator.jetstack.io/spec-hash";

/// A short, stable digest (16 hex digits of SHA-256) of `value`'s JSON form.
pub fn spec_hash<T: Serialize>(value: &T) -> String {
    // Serialising plain data (k8s-openapi types, serde_json values) cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_hash_equal_and_different_values_differ() {
        let a = serde_json::json!({"a": 1, "b": [1, 2]});
        let b = serde_json::json!({"a": 1, "b": [1, 2]});
        let c = serde_json::json!({"a": 1, "b": [2, 1]});
        assert_eq!(spec_hash(&a), spec_hash(&b));
        assert_ne!(spec_hash(&a), spec_hash(&c));
        assert_eq!(spec_hash(&a).len(), 16);
    }
}
