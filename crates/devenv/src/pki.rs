//! The environment's PKI, generated with rcgen: a cluster CA, a separate front-proxy CA, serving
//! and client certificates, and the service-account signing key pair.
//!
//! [`plan`] decides what to issue (pure, unit-tested); [`generate`] signs it; [`ensure`] writes
//! it once into `<state>/pki` and keeps it across restarts.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use crate::components::ClusterSettings;
use crate::layout::Layout;

/// An error while generating or writing the PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused to generate a key or sign a certificate.
    #[error("cannot generate {what}")]
    Generate {
        /// The file stem of the certificate or key.
        what: String,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
    /// A certificate names a signer that the plan does not issue before it.
    #[error("certificate {what} is signed by {signer:?}, which is not issued before it")]
    MissingSigner {
        /// The certificate's file stem.
        what: String,
        /// The absent signer.
        signer: Signer,
    },
    /// Writing a file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// One of the environment's two certificate authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ca {
    /// The cluster CA (`ca.crt`): kube-apiserver's `--client-ca-file`, and what signs the
    /// serving certificates.
    Cluster,
    /// The front-proxy CA (`front-proxy-ca.crt`): `--requestheader-client-ca-file`.
    FrontProxy,
}

/// Who signs a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// Self-signed (the CAs).
    SelfSigned,
    /// One of the CAs.
    By(Ca),
}

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// The given certificate authority.
    Ca(Ca),
    /// A TLS server, valid for these DNS names and IP addresses.
    Server(Vec<String>),
    /// A TLS client (user = CN, groups = O).
    Client,
}

/// One certificate to issue, written as `<stem>.crt` and `<stem>.key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// File stem under `pki/`.
    pub stem: &'static str,
    /// Subject common name (the user name for client certificates).
    pub common_name: String,
    /// Subject organizations (the groups for client certificates).
    pub organizations: Vec<String>,
    /// Who signs it.
    pub signer: Signer,
    /// What it is for.
    pub usage: Usage,
}

/// The user name of the admin kubeconfig (in group `system:masters`).
pub const ADMIN_USER: &str = "kubernetes-admin";
/// The user name of the non-admin test kubeconfig (no RBAC bindings).
pub const TEST_USER: &str = "devenv-test-user";
/// The group of the non-admin test user.
pub const TEST_USER_GROUP: &str = "devenv:test-users";

/// Every certificate the environment needs, CAs first. Pure.
#[must_use]
pub fn plan(settings: &ClusterSettings) -> Vec<CertSpec> {
    let mut apiserver_sans: Vec<String> = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "127.0.0.1",
        "::1",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut add_ip = |ip: IpAddr| {
        let s = ip.to_string();
        if !ip.is_unspecified() && !apiserver_sans.contains(&s) {
            apiserver_sans.push(s);
        }
    };
    add_ip(settings.kubernetes_service_ip);
    add_ip(settings.bind_address);
    if let Some(a) = settings.advertise_address {
        add_ip(a);
    }
    let loopback_server = || Usage::Server(vec!["localhost".into(), "127.0.0.1".into()]);
    let client = |stem, cn: &str, orgs: &[&str]| CertSpec {
        stem,
        common_name: cn.to_owned(),
        organizations: orgs.iter().map(|o| (*o).to_owned()).collect(),
        signer: Signer::By(Ca::Cluster),
        usage: Usage::Client,
    };
    vec![
        CertSpec {
            stem: "ca",
            common_name: "devenv-ca".into(),
            organizations: vec![],
            signer: Signer::SelfSigned,
            usage: Usage::Ca(Ca::Cluster),
        },
        CertSpec {
            stem: "front-proxy-ca",
            common_name: "devenv-front-proxy-ca".into(),
            organizations: vec![],
            signer: Signer::SelfSigned,
            usage: Usage::Ca(Ca::FrontProxy),
        },
        CertSpec {
            stem: "apiserver",
            common_name: "kube-apiserver".into(),
            organizations: vec![],
            signer: Signer::By(Ca::Cluster),
            usage: Usage::Server(apiserver_sans),
        },
        CertSpec {
            stem: "front-proxy-client",
            common_name: "front-proxy-client".into(),
            organizations: vec![],
            signer: Signer::By(Ca::FrontProxy),
            usage: Usage::Client,
        },
        client(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            &["system:masters"],
        ),
        client("admin", ADMIN_USER, &["system:masters"]),
        client("test-user", TEST_USER, &[TEST_USER_GROUP]),
        client("controller-manager", "system:kube-controller-manager", &[]),
        client("scheduler", "system:kube-scheduler", &[]),
        CertSpec {
            stem: "controller-manager-serving",
            common_name: "kube-controller-manager".into(),
            organizations: vec![],
            signer: Signer::By(Ca::Cluster),
            usage: loopback_server(),
        },
        CertSpec {
            stem: "kubelet-serving",
            common_name: "devenv-kubelet".into(),
            organizations: vec![],
            signer: Signer::By(Ca::Cluster),
            // The address every devenv node advertises (the pod bridge's gateway).
            usage: Usage::Server(vec![
                "10.244.0.1".into(),
                "localhost".into(),
                "127.0.0.1".into(),
            ]),
        },
        CertSpec {
            stem: "scheduler-serving",
            common_name: "kube-scheduler".into(),
            organizations: vec![],
            signer: Signer::By(Ca::Cluster),
            usage: loopback_server(),
        },
    ]
}

/// A generated PEM file: its name under `pki/`, contents and whether it is secret.
#[derive(Debug, Clone)]
pub struct PemFile {
    /// File name under `pki/`.
    pub name: String,
    /// PEM text.
    pub pem: String,
    /// Private keys are written with mode 0600.
    pub secret: bool,
}

/// The file names [`generate`] produces for `plan`, plus the service-account key pair.
#[must_use]
pub fn file_names(plan: &[CertSpec]) -> Vec<String> {
    let mut names: Vec<String> = plan
        .iter()
        .flat_map(|c| [format!("{}.crt", c.stem), format!("{}.key", c.stem)])
        .collect();
    names.extend(["sa.key".to_owned(), "sa.pub".to_owned()]);
    names
}

/// Signs every certificate of `plan` (CAs must come before what they sign) and generates the
/// service-account key pair.
///
/// # Errors
/// [`PkiError::Generate`] if rcgen fails, [`PkiError::MissingSigner`] if the plan is misordered.
pub fn generate(plan: &[CertSpec], now: OffsetDateTime) -> Result<Vec<PemFile>, PkiError> {
    let mut files = Vec::new();
    let mut cluster_ca: Option<Issuer<'static, KeyPair>> = None;
    let mut front_proxy_ca: Option<Issuer<'static, KeyPair>> = None;
    for spec in plan {
        let gen_err = |source| PkiError::Generate {
            what: spec.stem.to_owned(),
            source,
        };
        let key = KeyPair::generate().map_err(gen_err)?;
        let params = params(spec, now).map_err(gen_err)?;
        let cert = match spec.signer {
            Signer::SelfSigned => params.self_signed(&key),
            Signer::By(ca) => {
                let issuer = match ca {
                    Ca::Cluster => cluster_ca.as_ref(),
                    Ca::FrontProxy => front_proxy_ca.as_ref(),
                }
                .ok_or(PkiError::MissingSigner {
                    what: spec.stem.to_owned(),
                    signer: spec.signer,
                })?;
                params.signed_by(&key, issuer)
            }
        }
        .map_err(gen_err)?;
        files.push(PemFile {
            name: format!("{}.crt", spec.stem),
            pem: cert.pem(),
            secret: false,
        });
        files.push(PemFile {
            name: format!("{}.key", spec.stem),
            pem: key.serialize_pem(),
            secret: true,
        });
        match spec.usage {
            Usage::Ca(Ca::Cluster) => cluster_ca = Some(Issuer::new(params, key)),
            Usage::Ca(Ca::FrontProxy) => front_proxy_ca = Some(Issuer::new(params, key)),
            Usage::Server(_) | Usage::Client => {}
        }
    }
    let sa = KeyPair::generate().map_err(|source| PkiError::Generate {
        what: "sa".to_owned(),
        source,
    })?;
    files.push(PemFile {
        name: "sa.key".to_owned(),
        pem: sa.serialize_pem(),
        secret: true,
    });
    files.push(PemFile {
        name: "sa.pub".to_owned(),
        pem: sa.public_key_pem(),
        secret: false,
    });
    Ok(files)
}

fn params(spec: &CertSpec, now: OffsetDateTime) -> Result<CertificateParams, rcgen::Error> {
    let (mut params, years) = match &spec.usage {
        Usage::Server(sans) => (CertificateParams::new(sans.clone())?, 2),
        Usage::Ca(_) | Usage::Client => (CertificateParams::new(Vec::<String>::new())?, 2),
    };
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, spec.common_name.as_str());
    for o in &spec.organizations {
        dn.push(DnType::OrganizationName, o.as_str());
    }
    params.distinguished_name = dn;
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(365 * years);
    params.use_authority_key_identifier_extension = spec.signer != Signer::SelfSigned;
    match &spec.usage {
        Usage::Ca(_) => {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.not_after = now + Duration::days(365 * 10);
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
        }
        Usage::Server(_) => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        Usage::Client => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
    Ok(params)
}

/// Makes sure `<state>/pki` holds every file of `plan`: an existing complete PKI is kept (so
/// kubeconfigs stay valid across restarts); an incomplete one is generated afresh.
/// Returns whether new files were written.
///
/// # Errors
/// [`PkiError`] if generation or writing fails.
pub fn ensure(layout: &Layout, plan: &[CertSpec]) -> Result<bool, PkiError> {
    let dir = layout.pki_dir();
    if file_names(plan).iter().all(|n| dir.join(n).is_file()) {
        return Ok(false);
    }
    let now = OffsetDateTime::now_utc();
    let files = match missing_leaves(&dir, plan, now)? {
        Some(files) => files,
        None => generate(plan, now)?,
    };
    fs::create_dir_all(&dir).map_err(|source| PkiError::Write {
        path: dir.clone(),
        source,
    })?;
    for f in &files {
        write_file(&dir.join(&f.name), f.pem.as_bytes(), f.secret).map_err(|source| {
            PkiError::Write {
                path: dir.join(&f.name),
                source,
            }
        })?;
    }
    Ok(true)
}

/// When both CAs and the service-account key pair exist and only leaf certificates are missing
/// (a state directory from before a certificate was added to the plan), those leaves signed by
/// the existing CAs — so the CA, kubeconfigs and tokens stay valid. `None`: generate everything.
fn missing_leaves(
    dir: &Path,
    plan: &[CertSpec],
    now: OffsetDateTime,
) -> Result<Option<Vec<PemFile>>, PkiError> {
    let has = |stem: &str| {
        dir.join(format!("{stem}.crt")).is_file() && dir.join(format!("{stem}.key")).is_file()
    };
    if !dir.join("sa.key").is_file() || !dir.join("sa.pub").is_file() {
        return Ok(None);
    }
    let mut cluster_ca = None;
    let mut front_proxy_ca = None;
    for spec in plan {
        let Usage::Ca(ca) = spec.usage else { continue };
        if !has(spec.stem) {
            return Ok(None);
        }
        let Ok(pem) = fs::read_to_string(dir.join(format!("{}.key", spec.stem))) else {
            return Ok(None);
        };
        let gen_err = |source| PkiError::Generate {
            what: spec.stem.to_owned(),
            source,
        };
        let issuer = Issuer::new(
            params(spec, now).map_err(gen_err)?,
            KeyPair::from_pem(&pem).map_err(gen_err)?,
        );
        match ca {
            Ca::Cluster => cluster_ca = Some(issuer),
            Ca::FrontProxy => front_proxy_ca = Some(issuer),
        }
    }
    let mut files = Vec::new();
    for spec in plan.iter().filter(|s| !has(s.stem)) {
        let gen_err = |source| PkiError::Generate {
            what: spec.stem.to_owned(),
            source,
        };
        let Signer::By(ca) = spec.signer else {
            return Ok(None);
        };
        let Some(issuer) = (match ca {
            Ca::Cluster => cluster_ca.as_ref(),
            Ca::FrontProxy => front_proxy_ca.as_ref(),
        }) else {
            return Ok(None);
        };
        let key = KeyPair::generate().map_err(gen_err)?;
        let cert = params(spec, now)
            .map_err(gen_err)?
            .signed_by(&key, issuer)
            .map_err(gen_err)?;
        files.push(PemFile {
            name: format!("{}.crt", spec.stem),
            pem: cert.pem(),
            secret: false,
        });
        files.push(PemFile {
            name: format!("{}.key", spec.stem),
            pem: key.serialize_pem(),
            secret: true,
        });
    }
    Ok(Some(files))
}

/// Writes `contents` to `path` (mode 0600 when `secret`, else 0644), replacing it.
pub(crate) fn write_file(path: &Path, contents: &[u8], secret: bool) -> std::io::Result<()> {
    let mode = if secret { 0o600 } else { 0o644 };
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::Ports;

    fn mk_settings() -> ClusterSettings {
        ClusterSettings::with_ports(Ports {
            etcd_client: 1,
            etcd_peer: 2,
            apiserver: 3,
            controller_manager: 4,
            scheduler: 5,
        })
    }

    fn find<'a>(plan: &'a [CertSpec], stem: &str) -> &'a CertSpec {
        plan.iter().find(|c| c.stem == stem).expect(stem)
    }

    #[test]
    fn front_proxy_client_is_signed_by_its_own_ca() {
        let p = plan(&mk_settings());
        let fp = find(&p, "front-proxy-client");
        assert_eq!(fp.signer, Signer::By(Ca::FrontProxy));
        assert_eq!(fp.common_name, "front-proxy-client");
        assert_eq!(fp.usage, Usage::Client);
        assert_eq!(find(&p, "front-proxy-ca").signer, Signer::SelfSigned);
    }

    #[test]
    fn users_and_groups() {
        let p = plan(&mk_settings());
        let admin = find(&p, "admin");
        assert_eq!(admin.common_name, ADMIN_USER);
        assert_eq!(admin.organizations, ["system:masters"]);
        let t = find(&p, "test-user");
        assert_eq!(t.common_name, TEST_USER);
        assert!(!t.organizations.iter().any(|o| o == "system:masters"));
        assert_eq!(
            find(&p, "controller-manager").common_name,
            "system:kube-controller-manager"
        );
        assert_eq!(find(&p, "scheduler").common_name, "system:kube-scheduler");
    }

    #[test]
    fn apiserver_serves_every_in_cluster_and_loopback_name() {
        let mut s = mk_settings();
        s.advertise_address = Some(IpAddr::from([10, 244, 0, 1]));
        let p = plan(&s);
        let Usage::Server(sans) = &find(&p, "apiserver").usage else {
            panic!("apiserver is a server certificate");
        };
        for want in [
            "127.0.0.1",
            "localhost",
            "10.96.0.1",
            "10.244.0.1",
            "kubernetes.default.svc.cluster.local",
        ] {
            assert!(
                sans.iter().any(|s| s == want),
                "missing SAN {want}: {sans:?}"
            );
        }
        let unique: std::collections::BTreeSet<_> = sans.iter().collect();
        assert_eq!(unique.len(), sans.len(), "duplicate SANs: {sans:?}");
    }

    #[test]
    fn cas_come_before_what_they_sign() {
        let p = plan(&mk_settings());
        let pos = |stem| p.iter().position(|c| c.stem == stem).expect(stem);
        for c in &p {
            match c.signer {
                Signer::SelfSigned => {}
                Signer::By(Ca::Cluster) => assert!(pos("ca") < pos(c.stem)),
                Signer::By(Ca::FrontProxy) => assert!(pos("front-proxy-ca") < pos(c.stem)),
            }
        }
    }

    #[test]
    fn generate_writes_every_planned_file_and_pem_kinds_match() {
        let p = plan(&mk_settings());
        let files = generate(&p, OffsetDateTime::now_utc()).expect("generate");
        let names: Vec<_> = files.iter().map(|f| f.name.clone()).collect();
        assert_eq!(names, file_names(&p));
        for f in &files {
            let want = if f.name.ends_with(".crt") {
                "-----BEGIN CERTIFICATE-----"
            } else if f.name == "sa.pub" {
                "-----BEGIN PUBLIC KEY-----"
            } else {
                "-----BEGIN PRIVATE KEY-----"
            };
            assert!(f.pem.starts_with(want), "{}: {}", f.name, &f.pem[..40]);
            assert_eq!(f.secret, f.name.ends_with(".key"), "{}", f.name);
        }
    }

    #[test]
    fn client_certificates_chain_to_their_own_ca_only() {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, UnixTime};
        let files = generate(&plan(&mk_settings()), OffsetDateTime::now_utc()).expect("generate");
        let pem = |name: &str| {
            let f = files.iter().find(|f| f.name == name).expect(name);
            CertificateDer::from_pem_slice(f.pem.as_bytes()).expect(name)
        };
        let accepts = |ca: &str, cert: &str| {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pem(ca)).expect("root");
            let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("verifier")
                .verify_client_cert(&pem(cert), &[], UnixTime::now())
                .is_ok()
        };
        assert!(accepts("front-proxy-ca.crt", "front-proxy-client.crt"));
        assert!(!accepts("ca.crt", "front-proxy-client.crt"));
        for client in [
            "admin.crt",
            "test-user.crt",
            "controller-manager.crt",
            "scheduler.crt",
        ] {
            assert!(accepts("ca.crt", client), "{client}");
            assert!(!accepts("front-proxy-ca.crt", client), "{client}");
        }
        // Serving certificates are not client certificates.
        assert!(!accepts("ca.crt", "apiserver.crt"));
    }

    #[test]
    fn ensure_adds_a_missing_leaf_signed_by_the_existing_ca() {
        use rustls::client::danger::ServerCertVerifier as _;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let p = plan(&mk_settings());
        assert!(ensure(&layout, &p).expect("first"));
        let ca = fs::read(layout.pki("ca.crt")).expect("ca");
        let admin = fs::read(layout.pki("admin.crt")).expect("admin");
        fs::remove_file(layout.pki("kubelet-serving.crt")).expect("rm");
        fs::remove_file(layout.pki("kubelet-serving.key")).expect("rm");
        assert!(ensure(&layout, &p).expect("second"));
        assert_eq!(fs::read(layout.pki("ca.crt")).expect("ca"), ca, "CA kept");
        assert_eq!(fs::read(layout.pki("admin.crt")).expect("admin"), admin);
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(&ca).expect("ca pem"))
            .expect("root");
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("verifier");
        let leaf = fs::read(layout.pki("kubelet-serving.crt")).expect("leaf");
        let leaf = CertificateDer::from_pem_slice(&leaf).expect("leaf pem");
        let name = ServerName::try_from("10.244.0.1").expect("name");
        verifier
            .verify_server_cert(&leaf, &[], &name, &[], UnixTime::now())
            .expect("the new kubelet serving certificate chains to the existing CA");
        // Without the CA's key everything is generated afresh.
        fs::remove_file(layout.pki("ca.key")).expect("rm");
        assert!(ensure(&layout, &p).expect("third"));
        assert_ne!(fs::read(layout.pki("ca.crt")).expect("ca"), ca);
    }

    #[test]
    fn ensure_keeps_a_complete_pki() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let p = plan(&mk_settings());
        assert!(ensure(&layout, &p).expect("first"));
        let before = fs::read(layout.pki("ca.crt")).expect("read");
        assert!(!ensure(&layout, &p).expect("second"));
        assert_eq!(fs::read(layout.pki("ca.crt")).expect("read"), before);
        let mode = fs::metadata(layout.pki("ca.key"))
            .expect("meta")
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
