//! TLS to etcd with client-certificate auth (`--cert-file --key-file --client-cert-auth
//! --trusted-ca-file`): a round trip with the client certificate; clear failures without it,
//! with an untrusted server, and in plain text.
#![allow(clippy::unwrap_used)]

use apimachinery::store::{Preconditions, Storage};
use etcd_store::testing::{EtcdServer, EtcdServerOptions};
use etcd_store::{EtcdStore, EtcdStoreError, EtcdTls};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_round_trip_and_clear_refusals() {
    let etcd = EtcdServer::start_with(EtcdServerOptions {
        tls: true,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    assert!(etcd.endpoint().starts_with("https://"));

    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    let key = "/registry/navigator.jetstack.io/pilots/ns/p1";
    let created = store.create(key, br#"{"n":1}"#.to_vec()).await.unwrap();
    let updated = store
        .update(key, br#"{"n":2}"#.to_vec(), &Preconditions::default())
        .await
        .unwrap();
    assert!(updated.mod_revision > created.mod_revision);
    assert_eq!(store.get(key, None).await.unwrap(), Some(updated));

    let files = etcd.tls_files().unwrap().clone();

    // No client certificate: etcd refuses the handshake.
    let mut no_cert = etcd.config();
    no_cert.tls = Some(EtcdTls {
        ca_file: Some(files.ca.clone()),
        cert_file: None,
        key_file: None,
    });
    let err = EtcdStore::connect(no_cert).await.unwrap_err();
    println!("without a client certificate: {err}");
    assert!(matches!(err, EtcdStoreError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&etcd.endpoint()), "{err}");
    assert!(err.to_string().contains("no client certificate"), "{err}");

    // A server certificate we do not trust (the client's own certificate as the "CA").
    let mut wrong_ca = etcd.config();
    wrong_ca.tls = Some(EtcdTls {
        ca_file: Some(files.client_cert.clone()),
        cert_file: Some(files.client_cert.clone()),
        key_file: Some(files.client_key.clone()),
    });
    let err = EtcdStore::connect(wrong_ca).await.unwrap_err();
    println!("with an untrusted server certificate: {err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(matches!(err, EtcdStoreError::Unreachable { .. }), "{err:?}");

    // Plain text to a TLS port.
    let mut plain = etcd.config();
    plain.tls = None;
    plain.endpoints = vec![etcd.endpoint().replace("https://", "http://")];
    let err = EtcdStore::connect(plain).await.unwrap_err();
    println!("plain text: {err}");
    assert!(err.to_string().contains("is etcd serving TLS?"), "{err}");
    assert!(matches!(err, EtcdStoreError::Unreachable { .. }), "{err:?}");

    // A certificate without its key is a configuration error, found before dialing.
    let mut half = etcd.config();
    half.tls = Some(EtcdTls {
        ca_file: Some(files.ca.clone()),
        cert_file: Some(files.client_cert.clone()),
        key_file: None,
    });
    assert!(matches!(
        EtcdStore::connect(half).await.unwrap_err(),
        EtcdStoreError::Config(_)
    ));
    // A missing file, likewise.
    let mut missing = etcd.config();
    missing.tls = Some(EtcdTls {
        ca_file: Some("/nonexistent/ca.crt".into()),
        cert_file: None,
        key_file: None,
    });
    let err = EtcdStore::connect(missing).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.crt"), "{err}");
}
