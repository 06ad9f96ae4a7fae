//! Go's string quoting, the one place it is written: `strconv.Quote` (`%q` in messages) and the
//! string escaping of `encoding/json` (values rendered as JSON in field errors).
//!
//! Rust strings are valid UTF-8, so Go's `\x..` escapes of invalid bytes cannot occur.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

/// Go's `unicode.IsPrint` complement for non-ASCII characters: anything outside the letter,
/// mark, number, punctuation and symbol categories (spaces other than U+0020, separators,
/// format and private-use characters, unassigned code points).
#[allow(clippy::unwrap_used)] // a constant pattern, exercised by every test
static NOT_PRINTABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^\p{L}\p{M}\p{N}\p{P}\p{S}]").unwrap());

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
pub fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let mut buf = [0u8; 4];
    !NOT_PRINTABLE.is_match(c.encode_utf8(&mut buf))
}

/// Quotes a string exactly as Go's `strconv.Quote`: `"` and `\` escaped, printable characters
/// kept, `\a \b \f \n \r \t \v` for those controls, other bytes below U+0020 and U+007F as
/// `\x..`, other non-printable characters as `\u....` or `\U........` (lowercase hex).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// A JSON value as Go's `json.Marshal` writes it: compact, with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped as `\u....` (Go's HTML-safe default). Those characters can only occur inside
/// JSON strings, so escaping them in the serialised text is exact.
pub fn go_json(value: &serde_json::Value) -> String {
    let json = value.to_string();
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row is what Go's `strconv.Quote` returns for the input.
    #[test]
    fn go_quote_escapes_like_strconv_quote() {
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("", r#""""#),
            ("tab\there", r#""tab\there""#),
            ("a\"b\n", r#""a\"b\n""#),
            ("back\\slash", r#""back\\slash""#),
            ("\u{7}\u{8}\u{c}\u{b}\r", r#""\a\b\f\v\r""#),
            ("\u{0}\u{1}\u{1b}\u{7f}", r#""\x00\x01\x1b\x7f""#),
            ("\u{85}", r#""\u0085""#),
            ("héllo wörld ✓ 日本", "\"héllo wörld ✓ 日本\""),
            // Non-ASCII spaces and separators are not printable in Go.
            ("a\u{a0}b", r#""a\u00a0b""#),
            ("\u{2028}\u{2029}\u{3000}", r#""\u2028\u2029\u3000""#),
            // Format characters (Cf): soft hyphen, zero-width space, byte-order mark.
            ("\u{ad}\u{200b}\u{feff}", r#""\u00ad\u200b\ufeff""#),
            // Private use and unassigned code points.
            ("\u{e000}", r#""\ue000""#),
            ("\u{10ffff}", r#""\U0010ffff""#),
            // Combining marks and symbols outside the BMP are printable.
            ("e\u{301}", "\"e\u{301}\""),
            ("\u{1f600}", "\"\u{1f600}\""),
            ("'single'", r#""'single'""#),
        ];
        for (input, want) in cases {
            assert_eq!(go_quote(input), *want, "{input:?}");
        }
    }

    /// Where the `{:?}` quoting navigator-api used before differed from Go's.
    #[test]
    fn go_quote_differs_from_rust_debug_where_go_wins() {
        let cases: &[(&str, &str, &str)] = &[
            ("\u{8}", "\"\\u{8}\"", r#""\b""#),
            ("\u{c}", "\"\\u{c}\"", r#""\f""#),
            ("\u{7}", "\"\\u{7}\"", r#""\a""#),
            ("\u{b}", "\"\\u{b}\"", r#""\v""#),
            ("\u{0}", "\"\\0\"", r#""\x00""#),
            ("\u{1}", "\"\\u{1}\"", r#""\x01""#),
            ("\u{ad}", "\"\\u{ad}\"", r#""\u00ad""#),
        ];
        for (input, rust, go) in cases {
            assert_eq!(format!("{input:?}"), *rust, "{input:?}");
            assert_eq!(go_quote(input), *go, "{input:?}");
        }
    }

    #[test]
    fn go_json_escapes_html_characters_like_json_marshal() {
        let v = serde_json::json!({"a": ["<b>", "x&y", "\u{2028}"], "n": 1});
        assert_eq!(
            go_json(&v),
            r#"{"a":["\u003cb\u003e","x\u0026y","\u2028"],"n":1}"#
        );
        assert_eq!(go_json(&serde_json::json!([1, "a"])), r#"[1,"a"]"#);
    }
}
