use super::*;
use pretty_assertions::assert_eq;

#[test]
fn dns_names() {
    assert!(dns1123_subdomain_errors("es-demo.pool-1").is_empty());
    assert!(!dns1123_subdomain_errors("Caps").is_empty());
    assert!(!dns1123_subdomain_errors("under_score").is_empty());
    assert!(!dns1123_subdomain_errors("-lead").is_empty());
    assert!(!dns1123_subdomain_errors(&"a".repeat(254)).is_empty());
    assert!(dns1123_label_errors("region-1-zone-a").is_empty());
    assert!(!dns1123_label_errors("a.b").is_empty());
    assert!(!dns1123_label_errors(&"a".repeat(64)).is_empty());
}

#[test]
fn label_keys_and_values() {
    assert!(label_key_errors("navigator.jetstack.io/has-pilot").is_empty());
    assert!(label_key_errors("app").is_empty());
    assert!(!label_key_errors("/app").is_empty());
    assert!(!label_key_errors("Bad_Prefix/app").is_empty());
    assert!(!label_key_errors("a/-b").is_empty());
    assert!(label_value_errors("").is_empty());
    assert!(label_value_errors("v1.2_3").is_empty());
    assert!(!label_value_errors("a b").is_empty());
}

const LABEL_NAME_REGEX: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// Where navigator-api's own name rules (before this crate) differed from Go's: a DNS label with
/// dots, a key with two slashes, an empty name part, and the length unit of label values. Each
/// row is Go's list of messages.
#[test]
fn differences_from_the_old_navigator_api_rules_follow_go() {
    assert_eq!(dns1123_label_errors("a.b"), ["must not contain dots"]);
    assert_eq!(
        label_key_errors("a/b/c"),
        [
            "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    );
    assert_eq!(
        label_key_errors("a/"),
        ["name part must be non-empty", LABEL_NAME_REGEX]
    );
    assert_eq!(
        label_value_errors(&"a".repeat(64)),
        ["must be no more than 63 bytes"]
    );
}
