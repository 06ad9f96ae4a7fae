//! The front-proxy authenticator (Go's `authentication/request/headerrequest` behind
//! `request/x509.NewDynamicCAVerifier`): `X-Remote-*` headers are believed only from a peer
//! whose client certificate chains to the requestheader CA and, when allowed names are
//! configured, whose common name is one of them.

use std::collections::BTreeMap;

use apimachinery::registry::UserInfo;
use http::HeaderMap;
use rustls::pki_types::CertificateDer;

use super::{CaBundle, Outcome};

/// The front-proxy settings (`--requestheader-*` or the ConfigMap's keys).
#[derive(Debug, Clone)]
pub struct RequestHeaderConfig {
    /// `requestheader-client-ca-file`: the front proxy's client certificate must chain to it.
    pub ca: CaBundle,
    /// `requestheader-allowed-names`: accepted common names; empty accepts any.
    pub allowed_names: Vec<String>,
    /// `requestheader-username-headers`, e.g. `X-Remote-User`.
    pub username_headers: Vec<String>,
    /// `requestheader-group-headers`, e.g. `X-Remote-Group`.
    pub group_headers: Vec<String>,
    /// `requestheader-extra-headers-prefix`, e.g. `X-Remote-Extra-`.
    pub extra_headers_prefixes: Vec<String>,
    /// `requestheader-uid-headers`, e.g. `X-Remote-Uid` (empty: no uid).
    pub uid_headers: Vec<String>,
}

/// Whether the proxy's certificate is trusted: it verifies against the requestheader CA and
/// its common name is allowed. `None` when no certificate was presented (the authenticator
/// abstains), `Some(Err(why))` when one was presented and is not trusted.
pub fn check_proxy(
    config: &RequestHeaderConfig,
    chain: Option<&[CertificateDer<'static>]>,
) -> Option<Result<(), String>> {
    let chain = chain.filter(|c| !c.is_empty())?;
    if let Err(e) = config.ca.verify(chain) {
        return Some(Err(format!(
            "verifying certificate against the requestheader client CA: {e}"
        )));
    }
    if config.allowed_names.is_empty() {
        return Some(Ok(()));
    }
    let cn = super::x509::subject(&chain[0]).map(|s| s.common_name);
    Some(match cn {
        Some(cn) if config.allowed_names.contains(&cn) => Ok(()),
        Some(cn) => Err(format!(
            "x509: subject with cn={cn} is not in the allowed list {:?}",
            config.allowed_names
        )),
        None => Err("x509: certificate has no parsable subject".to_owned()),
    })
}

fn values<'a>(headers: &'a HeaderMap, names: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .flat_map(move |n| headers.get_all(n).iter())
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// Percent-decodes an extra key (Go's `url.PathUnescape`; the raw key when it is malformed).
fn unescape_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return key.to_owned(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| key.to_owned())
}

/// The user the headers name (Go's `requestHeaderAuthRequestHandler.AuthenticateRequest`):
/// the first non-empty username header, every non-empty group header value (one group per
/// value, no comma splitting), extras from the prefixed headers (key lower-cased then
/// percent-decoded, all values), the first non-empty uid header. `None` without a user name.
pub fn user_from_headers(config: &RequestHeaderConfig, headers: &HeaderMap) -> Option<UserInfo> {
    let name = values(headers, &config.username_headers).next()?.to_owned();
    let groups = values(headers, &config.group_headers)
        .map(str::to_owned)
        .collect();
    let uid = values(headers, &config.uid_headers)
        .next()
        .map(str::to_owned);
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let prefixes: Vec<String> = config
        .extra_headers_prefixes
        .iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    for (header_name, value) in headers {
        // http's header names are already lower-case.
        let lower = header_name.as_str();
        let Some(rest) = prefixes.iter().find_map(|p| lower.strip_prefix(p.as_str())) else {
            continue;
        };
        let Ok(v) = value.to_str() else {
            continue;
        };
        extra
            .entry(unescape_key(&rest.to_ascii_lowercase()))
            .or_default()
            .push(v.to_owned());
    }
    Some(UserInfo {
        name,
        groups,
        uid,
        extra,
    })
}

/// The whole front-proxy step: trusted proxy, then headers.
pub fn authenticate(
    config: &RequestHeaderConfig,
    headers: &HeaderMap,
    chain: Option<&[CertificateDer<'static>]>,
) -> Outcome {
    match check_proxy(config, chain) {
        None => Outcome::Abstain,
        Some(Err(e)) => Outcome::Failed(e),
        Some(Ok(())) => match user_from_headers(config, headers) {
            Some(u) => Outcome::User(u),
            None => Outcome::Abstain,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn config() -> RequestHeaderConfig {
        RequestHeaderConfig {
            ca: CaBundle::empty_for_tests(),
            allowed_names: vec!["front-proxy-client".into()],
            username_headers: vec!["X-Remote-User".into()],
            group_headers: vec!["X-Remote-Group".into()],
            extra_headers_prefixes: vec!["X-Remote-Extra-".into()],
            uid_headers: vec!["X-Remote-Uid".into()],
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn users_from_headers_as_go_reads_them() {
        let h = headers(&[
            ("X-Remote-User", ""),
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "a,b"),
            ("X-Remote-Group", "c"),
            ("X-Remote-Group", ""),
            ("X-Remote-Extra-Scopes", "one"),
            ("x-remote-extra-scopes", "two"),
            ("X-Remote-Extra-Example.com%2fKey", "v"),
            ("X-Remote-Extra-Bad%zz", "w"),
            ("X-Remote-Uid", "1234"),
        ]);
        let u = user_from_headers(&config(), &h).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, vec!["a,b", "c"]);
        assert_eq!(u.uid.as_deref(), Some("1234"));
        assert_eq!(u.extra["scopes"], vec!["one", "two"]);
        assert_eq!(u.extra["example.com/key"], vec!["v"]);
        assert_eq!(u.extra["bad%zz"], vec!["w"]);
        assert_eq!(u.extra.len(), 3);
    }

    #[test]
    fn no_user_header_no_user_and_uid_only_when_configured() {
        assert!(user_from_headers(&config(), &headers(&[("X-Remote-Group", "g")])).is_none());
        let mut c = config();
        c.uid_headers.clear();
        let u = user_from_headers(
            &c,
            &headers(&[("X-Remote-User", "u"), ("X-Remote-Uid", "9")]),
        )
        .unwrap();
        assert_eq!(u.uid, None);
    }

    #[test]
    fn headers_without_a_certificate_are_ignored() {
        let h = headers(&[
            ("X-Remote-User", "system:admin"),
            ("X-Remote-Group", "system:masters"),
        ]);
        assert_eq!(authenticate(&config(), &h, None), Outcome::Abstain);
        assert_eq!(authenticate(&config(), &h, Some(&[])), Outcome::Abstain);
    }

    #[test]
    fn key_unescaping() {
        assert_eq!(unescape_key("a%2fb"), "a/b");
        assert_eq!(unescape_key("a%2"), "a%2");
        assert_eq!(unescape_key("plain"), "plain");
    }
}
