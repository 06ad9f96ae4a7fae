//! The chain's decisions over real certificates (generated here with rcgen).

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};
use rustls::pki_types::CertificateDer;

use super::configmap::{self, ClientAuthSource, RequestHeaderSource};
use super::*;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    }
}

fn client(ca: &Ca, cn: &str, orgs: &[&str], client_auth: bool) -> Vec<CertificateDer<'static>> {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    p.distinguished_name = dn;
    p.extended_key_usages = if client_auth {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    } else {
        vec![ExtendedKeyUsagePurpose::ServerAuth]
    };
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    vec![cert.der().clone()]
}

struct Pki {
    client_ca: Ca,
    proxy_ca: Ca,
    other_ca: Ca,
}

fn pki() -> Pki {
    Pki {
        client_ca: ca("client-ca"),
        proxy_ca: ca("front-proxy-ca"),
        other_ca: ca("other-ca"),
    }
}

fn source(p: &Pki) -> ClientAuthSource {
    ClientAuthSource {
        client_ca_pem: Some(p.client_ca.pem.clone()),
        request_header: Some(RequestHeaderSource {
            ca_pem: p.proxy_ca.pem.clone(),
            allowed_names: vec!["front-proxy-client".into()],
            username_headers: vec!["X-Remote-User".into()],
            group_headers: vec!["X-Remote-Group".into()],
            extra_headers_prefixes: vec!["X-Remote-Extra-".into()],
            uid_headers: vec!["X-Remote-Uid".into()],
        }),
    }
}

fn forged() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-remote-user", HeaderValue::from_static("system:admin"));
    h.insert("x-remote-group", HeaderValue::from_static("system:masters"));
    h
}

async fn run(
    auth: &DelegatingAuthenticator,
    headers: &HeaderMap,
    chain: Option<&[CertificateDer<'static>]>,
) -> Result<UserInfo, Unauthenticated> {
    auth.authenticate(&AuthRequest {
        headers,
        peer_certificates: chain,
        remote_addr: None,
    })
    .await
}

#[tokio::test]
async fn the_chain_trusts_headers_only_from_the_allowed_front_proxy() {
    let p = pki();
    let config = configmap::build(&source(&p)).unwrap();
    assert_eq!(config.hints().len(), 2);
    let auth = DelegatingAuthenticator::new(Arc::new(DynamicClientAuth::new(config)), None, true);

    // Forged headers, no certificate: anonymous, never system:admin.
    let u = run(&auth, &forged(), None).await.unwrap();
    assert_eq!(u.name, ANONYMOUS);
    assert_eq!(u.groups, vec![UNAUTHENTICATED]);

    // The allowed front proxy: the headers' user, plus system:authenticated.
    let proxy = client(&p.proxy_ca, "front-proxy-client", &[], true);
    let u = run(&auth, &forged(), Some(&proxy)).await.unwrap();
    assert_eq!(u.name, "system:admin");
    assert_eq!(u.groups, vec!["system:masters", AUTHENTICATED]);

    // Signed by the front-proxy CA but not an allowed name: 401.
    let other_name = client(&p.proxy_ca, "mallory", &[], true);
    let e = run(&auth, &forged(), Some(&other_name)).await.unwrap_err();
    assert!(
        e.message.contains("not in the allowed list"),
        "{}",
        e.message
    );

    // Another CA: 401.
    let foreign = client(&p.other_ca, "front-proxy-client", &["system:masters"], true);
    assert!(run(&auth, &forged(), Some(&foreign)).await.is_err());

    // The front proxy's certificate without a serverAuth-only usage mistake: a cert with the
    // wrong extended key usage does not verify.
    let wrong_usage = client(&p.proxy_ca, "front-proxy-client", &[], false);
    assert!(run(&auth, &forged(), Some(&wrong_usage)).await.is_err());

    // The front proxy without a user header: nothing accepts its certificate → 401.
    assert!(run(&auth, &HeaderMap::new(), Some(&proxy)).await.is_err());

    // A client-CA certificate: CN and O, headers ignored.
    let admin = client(&p.client_ca, "admin", &["system:masters"], true);
    let u = run(&auth, &forged(), Some(&admin)).await.unwrap();
    assert_eq!(u.name, "admin");
    assert_eq!(u.groups, vec!["system:masters", AUTHENTICATED]);

    // Anonymous disabled: no credentials → 401.
    let strict = DelegatingAuthenticator::new(
        Arc::new(DynamicClientAuth::new(
            configmap::build(&source(&p)).unwrap(),
        )),
        None,
        false,
    );
    assert!(run(&strict, &HeaderMap::new(), None).await.is_err());
}

#[test]
fn decisions() {
    let user = |n: &str| {
        Outcome::User(UserInfo {
            name: n.into(),
            groups: vec![AUTHENTICATED.into()],
            ..UserInfo::default()
        })
    };
    assert_eq!(
        decide(vec![Outcome::Failed("x".into()), user("a")], true)
            .unwrap()
            .groups,
        vec![AUTHENTICATED]
    );
    assert!(decide(vec![Outcome::Abstain, Outcome::Failed("x".into())], true).is_err());
    assert_eq!(
        decide(vec![Outcome::Abstain], true).unwrap().name,
        ANONYMOUS
    );
    assert!(decide(vec![], false).is_err());
}

#[test]
fn configmap_and_flags() {
    let p = pki();
    let mut data = BTreeMap::new();
    data.insert("client-ca-file".to_owned(), p.client_ca.pem.clone());
    data.insert(
        "requestheader-client-ca-file".to_owned(),
        p.proxy_ca.pem.clone(),
    );
    data.insert(
        "requestheader-allowed-names".to_owned(),
        r#"["front-proxy-client"]"#.to_owned(),
    );
    data.insert(
        "requestheader-username-headers".to_owned(),
        r#"["X-Remote-User"]"#.to_owned(),
    );
    data.insert("requestheader-uid-headers".to_owned(), "[]".to_owned());
    let s = configmap::source_from_configmap(&data).unwrap();
    let rh = s.request_header.clone().unwrap();
    assert_eq!(rh.allowed_names, vec!["front-proxy-client"]);
    assert!(rh.group_headers.is_empty() && rh.uid_headers.is_empty());
    assert!(configmap::warnings(&s).is_empty());

    data.insert("requestheader-allowed-names".to_owned(), "front".to_owned());
    assert!(configmap::source_from_configmap(&data).is_err());

    // A flag replaces its part only.
    let flags = ClientAuthSource {
        client_ca_pem: Some(p.other_ca.pem.clone()),
        request_header: None,
    };
    let merged = configmap::merge(flags, Some(s.clone()));
    assert_eq!(
        merged.client_ca_pem.as_deref(),
        Some(p.other_ca.pem.as_str())
    );
    assert_eq!(merged.request_header, s.request_header);

    assert!(CaBundle::from_pem("x", "not pem").is_err());

    // Swapping the configuration changes the hints the listener offers.
    let dynamic = DynamicClientAuth::new(ClientAuthConfig::default());
    let hints = dynamic.hints();
    assert!(hints.borrow().is_empty());
    assert!(dynamic.set(configmap::build(&s).unwrap()));
    assert_eq!(hints.borrow().len(), 2);
    assert!(!dynamic.set(configmap::build(&s).unwrap()));
}
