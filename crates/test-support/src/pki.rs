//! Certificates for tests: a CA and the serving and client certificates it signs, as PEM (what
//! etcd, kube-apiserver, aggregated backends and their clients read from files).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Key generation, parsing or signing.
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// A certificate and its private key, as PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPem {
    /// The certificate.
    pub cert: String,
    /// Its private key (PKCS#8).
    pub key: String,
}

/// What a certificate [`Ca::issue`]s is for. Pure data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leaf {
    /// The subject's common name (a client certificate's user name).
    pub common_name: String,
    /// The subject's organizations (a client certificate's groups).
    pub organizations: Vec<String>,
    /// Subject alternative names: IP addresses or DNS names.
    pub sans: Vec<String>,
    /// Usable as a TLS server's certificate.
    pub server: bool,
    /// Usable as a TLS client's certificate.
    pub client: bool,
}

impl Leaf {
    /// A serving certificate for `sans` (IP addresses or DNS names).
    pub fn server(common_name: &str, sans: &[&str]) -> Self {
        Leaf {
            common_name: common_name.to_owned(),
            sans: sans.iter().map(|s| (*s).to_owned()).collect(),
            server: true,
            ..Leaf::default()
        }
    }

    /// A client certificate for user `common_name` in groups `organizations`.
    pub fn client(common_name: &str, organizations: &[&str]) -> Self {
        Leaf {
            common_name: common_name.to_owned(),
            organizations: organizations.iter().map(|s| (*s).to_owned()).collect(),
            client: true,
            ..Leaf::default()
        }
    }

    /// Also usable as a client certificate (etcd's peers and servers present theirs to others).
    pub fn and_client(mut self) -> Self {
        self.client = true;
        self
    }
}

/// A certificate authority whose key signs [`Leaf`] certificates.
pub struct Ca {
    pem: CertPem,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("cert", &self.pem.cert).finish()
    }
}

impl Ca {
    /// A new self-signed CA named `common_name`.
    ///
    /// # Errors
    /// [`PkiError`].
    pub fn new(common_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            pem: CertPem {
                cert: cert.pem(),
                key: key.serialize_pem(),
            },
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA's certificate and key.
    pub fn pem(&self) -> &CertPem {
        &self.pem
    }

    /// A new key and a certificate for it as `leaf` says, signed by this CA.
    ///
    /// # Errors
    /// [`PkiError`].
    pub fn issue(&self, leaf: &Leaf) -> Result<CertPem, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(leaf.sans.clone())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, leaf.common_name.as_str());
        for o in &leaf.organizations {
            dn.push(DnType::OrganizationName, o.as_str());
        }
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = [
            (leaf.server, ExtendedKeyUsagePurpose::ServerAuth),
            (leaf.client, ExtendedKeyUsagePurpose::ClientAuth),
        ]
        .into_iter()
        .filter_map(|(on, usage)| on.then_some(usage))
        .collect();
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertPem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_say_what_they_are_for() {
        let s = Leaf::server("etcd", &["127.0.0.1", "localhost"]);
        assert!(s.server && !s.client);
        assert_eq!(s.sans, ["127.0.0.1", "localhost"]);
        assert!(s.and_client().client);
        let c = Leaf::client("alice", &["devs", "ops"]);
        assert!(c.client && !c.server && c.sans.is_empty());
        assert_eq!(c.organizations, ["devs", "ops"]);
    }

    #[test]
    fn a_ca_signs_servers_and_clients() {
        let ca = Ca::new("test CA").unwrap();
        assert!(ca.pem().cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let leaf = ca.issue(&Leaf::server("s", &["127.0.0.1"])).unwrap();
        assert!(leaf.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(leaf.key.contains("PRIVATE KEY"));
        assert!(ca.pem().key.contains("PRIVATE KEY"));
        let client = ca.issue(&Leaf::client("u", &["g"])).unwrap();
        assert_ne!(client.cert, leaf.cert);
    }
}
