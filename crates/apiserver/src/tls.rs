//! Serving certificates (Go's `apiserver/pkg/server/options/serving.go`): from files, or a
//! self-signed CA and a serving certificate generated on first start into a certificate
//! directory and reused afterwards; and the rustls server configuration (TLS ≥ 1.2, ALPN `h2`
//! and `http/1.1`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a certificate file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// `reading`, `writing` …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// rcgen could not generate a key or certificate.
    #[error("generating {what}: {source}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
    /// A PEM file did not contain what was expected.
    #[error("parsing {what}: {message}")]
    Pem {
        /// What was being parsed.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// rustls rejected the configuration.
    #[error("building the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where the serving certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// `--tls-cert-file` / `--tls-private-key-file`.
    Files {
        /// PEM certificate chain, leaf first.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
    /// `--cert-dir`: a CA (`ca.crt`, `ca.key`) and a serving certificate (`apiserver.crt`,
    /// `apiserver.key`) for `localhost`, `127.0.0.1`, `::1` and `extra_sans`, generated when
    /// absent and reused when present.
    SelfSigned {
        /// The certificate directory.
        cert_dir: PathBuf,
        /// Additional DNS names or IP addresses, e.g. `navigator.ns.svc`.
        extra_sans: Vec<String>,
    },
}

/// The serving certificate in PEM.
#[derive(Debug, Clone)]
pub struct ServingCerts {
    /// Certificate chain, leaf first.
    pub cert_pem: String,
    /// Private key.
    pub key_pem: String,
    /// The CA that signed a generated certificate (for clients and kubeconfigs).
    pub ca_pem: Option<String>,
    /// Where the CA was written, for generated certificates.
    pub ca_path: Option<PathBuf>,
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        action: "writing",
        path: path.to_owned(),
        source,
    };
    std::fs::write(path, contents).map_err(io)?;
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

/// Loads the certificate, generating it first for [`TlsSource::SelfSigned`] when the
/// directory does not hold one yet.
///
/// # Errors
/// [`TlsError`] on I/O or generation failures.
pub fn load_or_generate(source: &TlsSource) -> Result<ServingCerts, TlsError> {
    match source {
        TlsSource::Files { cert, key } => Ok(ServingCerts {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            ca_pem: None,
            ca_path: None,
        }),
        TlsSource::SelfSigned {
            cert_dir,
            extra_sans,
        } => {
            let cert = cert_dir.join("apiserver.crt");
            let key = cert_dir.join("apiserver.key");
            let ca = cert_dir.join("ca.crt");
            if cert.is_file() && key.is_file() && ca.is_file() {
                return Ok(ServingCerts {
                    cert_pem: read(&cert)?,
                    key_pem: read(&key)?,
                    ca_pem: Some(read(&ca)?),
                    ca_path: Some(ca),
                });
            }
            std::fs::create_dir_all(cert_dir).map_err(|source| TlsError::Io {
                action: "creating",
                path: cert_dir.clone(),
                source,
            })?;
            let generated = generate(extra_sans)?;
            write(&ca, &generated.ca_cert, false)?;
            write(&cert_dir.join("ca.key"), &generated.ca_key, true)?;
            write(&cert, &generated.cert, false)?;
            write(&key, &generated.key, true)?;
            Ok(ServingCerts {
                cert_pem: generated.cert,
                key_pem: generated.key,
                ca_pem: Some(generated.ca_cert),
                ca_path: Some(ca),
            })
        }
    }
}

struct Generated {
    ca_cert: String,
    ca_key: String,
    cert: String,
    key: String,
}

fn generate(extra_sans: &[String]) -> Result<Generated, TlsError> {
    let gen_err = |what| move |source| TlsError::Generate { what, source };
    let ca_key = KeyPair::generate().map_err(gen_err("CA key"))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(gen_err("CA parameters"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "navigator-apiserver-ca");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(gen_err("CA certificate"))?;

    let mut sans = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for s in extra_sans {
        if !sans.contains(s) {
            sans.push(s.clone());
        }
    }
    let key = KeyPair::generate().map_err(gen_err("serving key"))?;
    let mut params = CertificateParams::new(sans).map_err(gen_err("serving parameters"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let ca_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(gen_err("serving certificate"))?;
    Ok(Generated {
        ca_cert: ca_pem,
        ca_key: ca_key_pem,
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// The rustls provider every TLS configuration here uses.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Makes [`crypto_provider`] the process-wide rustls default, for libraries (such as the kube
/// client) that build their TLS configurations with the default provider. Idempotent.
pub fn install_default_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// Asks every client for a certificate but requires none, and accepts whatever chain is
/// presented (Go's `tls.RequestClientCert`): deciding whether a chain is trusted, and by which
/// CA pool (client CA or front-proxy CA), is the [`crate::Authenticator`]'s job, which gets the
/// chain in [`crate::AuthRequest::peer_certificates`]. The handshake signature is still checked,
/// so the client does hold the certificate's key. The `CertificateRequest` names the subjects
/// of the CAs the authenticators trust (`hints`), so clients with several certificates pick the
/// right one.
#[derive(Debug)]
struct RequestClientCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
    hints: Vec<rustls::DistinguishedName>,
}

impl rustls::server::danger::ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn parse_chain(pem: &str, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            what,
            message: "no CERTIFICATE block".to_owned(),
        });
    }
    Ok(chain)
}

/// The certificate and key as rustls serves them, checked to belong together.
///
/// # Errors
/// [`TlsError::Pem`] for unparsable PEM, [`TlsError::Rustls`] for an unusable key or a key that
/// does not match the certificate.
pub fn certified_key(certs: &ServingCerts) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = parse_chain(&certs.cert_pem, "serving certificate")?;
    let key =
        PrivateKeyDer::from_pem_slice(certs.key_pem.as_bytes()).map_err(|e| TlsError::Pem {
            what: "serving key",
            message: e.to_string(),
        })?;
    let provider = crypto_provider();
    let key = CertifiedKey::from_der(chain, key, &provider)?;
    Ok(Arc::new(key))
}

/// The subjects of every certificate in a PEM CA bundle, as sent in a TLS
/// `CertificateRequest` (`certificate_authorities`).
///
/// # Errors
/// [`TlsError::Pem`] if the bundle holds no parsable certificate.
pub fn ca_subjects(pem: &str) -> Result<Vec<rustls::DistinguishedName>, TlsError> {
    let certs = parse_chain(pem, "CA bundle")?;
    let mut roots = rustls::RootCertStore::empty();
    let (_, bad) = roots.add_parsable_certificates(certs);
    if roots.is_empty() {
        return Err(TlsError::Pem {
            what: "CA bundle",
            message: format!("{bad} certificate(s), none usable as a CA"),
        });
    }
    Ok(roots.subjects())
}

/// The serving certificate, swappable while the server runs (Go's `DynamicServingCertificate`
/// controller): every handshake takes the current one. For [`TlsSource::Files`],
/// [`ServingCertResolver::reload`] rereads the files; a pair that does not load is logged and
/// the previous certificate stays in use.
#[derive(Debug)]
pub struct ServingCertResolver {
    current: RwLock<(ServingCerts, Arc<CertifiedKey>)>,
    files: Option<(PathBuf, PathBuf)>,
}

/// What [`ServingCertResolver::reload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// The files hold what is being served already (or the certificate is not from files).
    Unchanged,
    /// A new certificate is served to new connections.
    Swapped,
}

impl ServingCertResolver {
    /// Serves `certs`; reloads from `source` when it names files.
    ///
    /// # Errors
    /// [`TlsError`] if `certs` is not a usable certificate and key.
    pub fn new(source: &TlsSource, certs: ServingCerts) -> Result<Self, TlsError> {
        let key = certified_key(&certs)?;
        let files = match source {
            TlsSource::Files { cert, key } => Some((cert.clone(), key.clone())),
            TlsSource::SelfSigned { .. } => None,
        };
        Ok(Self {
            current: RwLock::new((certs, key)),
            files,
        })
    }

    /// The certificate served now.
    pub fn current(&self) -> ServingCerts {
        match self.current.read() {
            Ok(g) => g.0.clone(),
            Err(p) => p.into_inner().0.clone(),
        }
    }

    /// Rereads the certificate files and swaps the served certificate if they changed.
    ///
    /// # Errors
    /// [`TlsError`] when the files cannot be read or do not form a usable pair; the previous
    /// certificate is kept.
    pub fn reload(&self) -> Result<Reload, TlsError> {
        let Some((cert, key)) = &self.files else {
            return Ok(Reload::Unchanged);
        };
        let next = ServingCerts {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            ca_pem: None,
            ca_path: None,
        };
        {
            let now = self.current();
            if now.cert_pem == next.cert_pem && now.key_pem == next.key_pem {
                return Ok(Reload::Unchanged);
            }
        }
        let key = certified_key(&next)?;
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard = (next, key);
        Ok(Reload::Swapped)
    }
}

impl rustls::server::ResolvesServerCert for ServingCertResolver {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(match self.current.read() {
            Ok(g) => g.1.clone(),
            Err(p) => p.into_inner().1.clone(),
        })
    }
}

/// A rustls server configuration serving whatever `resolver` holds: TLS 1.2 and 1.3, ALPN `h2`
/// then `http/1.1`, client certificates requested but not required (see `RequestClientCert`:
/// the chain is handed to the authenticator unverified), with `hints` as the acceptable CA
/// subjects.
///
/// # Errors
/// [`TlsError::Rustls`] if rustls rejects the configuration.
pub fn server_config_with(
    resolver: Arc<ServingCertResolver>,
    hints: Vec<rustls::DistinguishedName>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = crypto_provider();
    let verifier = Arc::new(RequestClientCert {
        provider: provider.clone(),
        hints,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A rustls server configuration for a fixed `certs` (no hints, no reloading).
///
/// # Errors
/// [`TlsError::Pem`] for unparsable PEM, [`TlsError::Rustls`] if rustls rejects the pair.
pub fn server_config(certs: &ServingCerts) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let source = TlsSource::SelfSigned {
        cert_dir: PathBuf::new(),
        extra_sans: Vec::new(),
    };
    let resolver = Arc::new(ServingCertResolver::new(&source, certs.clone())?);
    server_config_with(resolver, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let source = TlsSource::SelfSigned {
            cert_dir: dir.path().join("certs"),
            extra_sans: vec!["navigator.default.svc".into()],
        };
        let first = load_or_generate(&source).unwrap();
        assert!(first.ca_pem.is_some());
        server_config(&first).unwrap();
        let second = load_or_generate(&source).unwrap();
        assert_eq!(first.cert_pem, second.cert_pem);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("certs/apiserver.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let files = TlsSource::Files {
            cert: dir.path().join("certs/apiserver.crt"),
            key: dir.path().join("certs/apiserver.key"),
        };
        let loaded = load_or_generate(&files).unwrap();
        assert_eq!(loaded.cert_pem, first.cert_pem);
        assert!(
            load_or_generate(&TlsSource::Files {
                cert: dir.path().join("missing"),
                key: dir.path().join("missing"),
            })
            .is_err()
        );
    }
}
