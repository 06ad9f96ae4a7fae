//! Client certificates (Go's `authentication/request/x509`): a chain that verifies against the
//! client CA (with the clientAuth extended key usage) names the user: common name → user name,
//! organizations → groups.

use apimachinery::registry::UserInfo;
use rustls::pki_types::CertificateDer;

use super::{CaBundle, Outcome};

/// The parts of a certificate subject that name a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// CN.
    pub common_name: String,
    /// Every O.
    pub organizations: Vec<String>,
}

/// The subject of a DER certificate; `None` if it does not parse.
pub fn subject(cert: &CertificateDer<'_>) -> Option<Subject> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let name = parsed.subject();
    let common_name = name
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_owned();
    let organizations = name
        .iter_organization()
        .filter_map(|a| a.as_str().ok())
        .map(str::to_owned)
        .collect();
    Some(Subject {
        common_name,
        organizations,
    })
}

/// The client-certificate step: no certificate → abstain; a chain that does not verify → failed;
/// a verified chain → CN/O (an empty CN abstains, as Go's `CommonNameUserConversion`).
pub fn authenticate(ca: &CaBundle, chain: Option<&[CertificateDer<'static>]>) -> Outcome {
    let Some(chain) = chain.filter(|c| !c.is_empty()) else {
        return Outcome::Abstain;
    };
    if let Err(e) = ca.verify(chain) {
        return Outcome::Failed(format!("verifying certificate against the client CA: {e}"));
    }
    match subject(&chain[0]) {
        Some(s) if !s.common_name.is_empty() => Outcome::User(UserInfo {
            name: s.common_name,
            groups: s.organizations,
            uid: None,
            extra: Default::default(),
        }),
        Some(_) => Outcome::Abstain,
        None => Outcome::Failed("x509: unparsable certificate subject".to_owned()),
    }
}
