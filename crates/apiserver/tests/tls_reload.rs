//! The TLS listener follows its inputs while it runs: certificate files replaced on disk are
//! served to new connections (a bad pair is ignored and the old one kept), and the client-CA
//! hints in the `CertificateRequest` follow the authenticators' CA bundles.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiserver::tls::{TlsSource, load_or_generate};
use apiserver::{ApiServer, ServingOptions};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Records the CA names the server asked for; presents no certificate.
#[derive(Debug, Default)]
struct RecordHints(Mutex<Vec<Vec<u8>>>);

impl rustls::client::ResolvesClientCert for RecordHints {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        *self.0.lock().unwrap() = root_hint_subjects.iter().map(|s| s.to_vec()).collect();
        None
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Connects trusting `cas`; returns the served leaf certificate and the hints received.
async fn handshake(port: u16, cas: &[&str]) -> (CertificateDer<'static>, Vec<Vec<u8>>) {
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
    }
    let hints = Arc::new(RecordHints::default());
    let config = rustls::ClientConfig::builder_with_provider(apiserver::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(hints.clone());
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let got = hints.0.lock().unwrap().clone();
    (leaf, got)
}

fn leaf_of(pem: &str) -> CertificateDer<'static> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_certificate_files_are_served_to_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |name: &str| {
        load_or_generate(&TlsSource::SelfSigned {
            cert_dir: dir.path().join(name),
            extra_sans: Vec::new(),
        })
        .unwrap()
    };
    let first = generate("one");
    let second = generate("two");
    let (ca1, ca2) = (
        first.ca_pem.clone().unwrap(),
        second.ca_pem.clone().unwrap(),
    );
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    std::fs::write(&cert, &first.cert_pem).unwrap();
    std::fs::write(&key, &first.key_pem).unwrap();

    // Client-CA hints that change while the server runs.
    let (hints_tx, hints_rx) =
        tokio::sync::watch::channel(apiserver::tls::ca_subjects(&ca1).unwrap());
    let mut options = ServingOptions::self_signed("127.0.0.1:0".parse().unwrap(), dir.path());
    options.tls = TlsSource::Files {
        cert: cert.clone(),
        key: key.clone(),
    };
    options.cert_reload_interval = Duration::from_millis(100);
    options.client_ca_hints = Some(hints_rx);
    let bound = ApiServer::builder()
        .build()
        .unwrap()
        .bind(options)
        .await
        .unwrap();
    let port = bound.secure_addr().port();
    let stop = bound.shutdown_handle();
    let running = tokio::spawn(bound.run());

    let (served, hints) = handshake(port, &[&ca1, &ca2]).await;
    assert_eq!(served, leaf_of(&first.cert_pem));
    let subject1: Vec<Vec<u8>> = apiserver::tls::ca_subjects(&ca1)
        .unwrap()
        .iter()
        .map(|d| d.as_ref().to_vec())
        .collect();
    assert_eq!(hints, subject1);

    // Replace the files: new connections get the new certificate.
    std::fs::write(&key, &second.key_pem).unwrap();
    std::fs::write(&cert, &second.cert_pem).unwrap();
    let t = Instant::now();
    loop {
        let (served, _) = handshake(port, &[&ca1, &ca2]).await;
        if served == leaf_of(&second.cert_pem) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "new certificate not served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("TIMING certificate swap seen after {:?}", t.elapsed());

    // A broken pair is not taken: the second certificate stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (served, _) = handshake(port, &[&ca1, &ca2]).await;
    assert_eq!(served, leaf_of(&second.cert_pem));
    // A certificate with another certificate's key is not taken either.
    std::fs::write(&cert, &first.cert_pem).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (served, _) = handshake(port, &[&ca1, &ca2]).await;
    assert_eq!(served, leaf_of(&second.cert_pem));

    // New hints (both CAs) reach the next handshake.
    let mut both = apiserver::tls::ca_subjects(&ca1).unwrap();
    both.extend(apiserver::tls::ca_subjects(&ca2).unwrap());
    hints_tx.send_replace(both.clone());
    let (_, hints) = handshake(port, &[&ca1, &ca2]).await;
    assert_eq!(hints.len(), 2);
    assert_eq!(hints[1], both[1].as_ref().to_vec());

    stop.shutdown();
    running.await.unwrap();
}
