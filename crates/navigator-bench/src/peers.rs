//! The real peers of the side-by-side run: an etcd process and a kube-apiserver serving the
//! navigator kinds as CustomResourceDefinitions (started directly, with a generated CA, serving
//! certificate, service-account key and a static token file).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use http::{Method, StatusCode};
use rcgen::KeyPair;
use serde_json::{Value, json};
use test_support::pki::{Ca, Leaf};

use crate::cli::Protocol;
use crate::client::{Client, Endpoint};

/// A free TCP port on 127.0.0.1, below the ephemeral range (no client socket takes it before
/// the peer binds it).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(test_support::ports::free_port()?)
}

/// SIGTERM, then SIGKILL after `grace`.
pub async fn stop_child(child: &mut tokio::process::Child, name: &str, grace: Duration) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        eprintln!("navigator-bench: {name} did not stop within {grace:?} of SIGTERM; killing it");
        let _ = child.kill().await;
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A throw-away etcd.
pub struct EtcdProc {
    child: tokio::process::Child,
    /// Its pid.
    pub pid: Option<u32>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    log: PathBuf,
}

impl EtcdProc {
    /// Starts `bin` with its data under `dir` and waits until it answers a range request.
    pub async fn start(bin: &Path, dir: &Path, fsync: bool) -> anyhow::Result<Self> {
        if !bin.exists() {
            bail!(
                "etcd binary {} not found (hack/build-k8s builds it; or pass --etcd-bin)",
                bin.display()
            );
        }
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let url = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let log = dir.join("etcd.log");
        let out = std::fs::File::create(&log)?;
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("--name=bench")
            .arg(format!("--data-dir={}", dir.join("etcd").display()))
            .arg(format!("--listen-client-urls={url}"))
            .arg(format!("--advertise-client-urls={url}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=bench={peer}"))
            .arg("--initial-cluster-state=new")
            .arg("--log-level=warn");
        if !fsync {
            cmd.arg("--unsafe-no-fsync=true");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut etcd = Self {
            pid: child.id(),
            child,
            url,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = etcd.child.try_wait()? {
                bail!("etcd exited with {status}:\n{}", log_tail(&etcd.log));
            }
            if Instant::now() > deadline {
                bail!("etcd was not ready within 30 s:\n{}", log_tail(&etcd.log));
            }
            let probe = async {
                let mut c = etcd_client::Client::connect([etcd.url.as_str()], None).await?;
                c.get("/health-probe", None).await?;
                anyhow::Ok(())
            };
            if tokio::time::timeout(Duration::from_secs(2), probe)
                .await
                .is_ok_and(|r| r.is_ok())
            {
                return Ok(etcd);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether it exited (with its log's tail).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("etcd exited ({status}):\n{}", log_tail(&self.log))),
            _ => None,
        }
    }

    /// Stops it.
    pub async fn stop(mut self) {
        stop_child(&mut self.child, "etcd", Duration::from_secs(10)).await;
    }
}

/// Mean size of the values under `prefix` (the first `sample` keys), and the first value.
pub async fn stored_values(
    url: &str,
    prefix: &str,
    sample: i64,
) -> anyhow::Result<Option<(u64, Vec<u8>)>> {
    let mut c = etcd_client::Client::connect([url], None).await?;
    let resp = c
        .get(
            prefix,
            Some(
                etcd_client::GetOptions::new()
                    .with_prefix()
                    .with_limit(sample),
            ),
        )
        .await?;
    let kvs = resp.kvs();
    let Some(first) = kvs.first() else {
        return Ok(None);
    };
    let total: usize = kvs.iter().map(|kv| kv.value().len()).sum();
    Ok(Some(((total / kvs.len()) as u64, first.value().to_vec())))
}

/// The generated credentials of a kube-apiserver.
struct KubePki {
    ca_pem: String,
    files: Vec<(&'static str, String)>,
}

fn kube_pki() -> anyhow::Result<KubePki> {
    let ca = Ca::new("navigator-bench CA")?;
    let serving = ca.issue(&Leaf::server("kube-apiserver", &["127.0.0.1", "localhost"]))?;
    let sa = KeyPair::generate()?;
    let ca_pem = ca.pem().cert.clone();
    Ok(KubePki {
        files: vec![
            ("ca.crt", ca_pem.clone()),
            ("apiserver.crt", serving.cert),
            ("apiserver.key", serving.key),
            ("sa.key", sa.serialize_pem()),
            ("sa.pub", sa.public_key_pem()),
        ],
        ca_pem,
    })
}

/// A kube-apiserver on the shared etcd, authenticating a static token and allowing everything.
pub struct KubeApiserverProc {
    child: tokio::process::Child,
    /// Its pid.
    pub pid: Option<u32>,
    log: PathBuf,
}

/// The bearer token of the benchmark's user in kube-apiserver's `--token-auth-file`.
pub const KUBE_TOKEN: &str = "navigator-bench-token";
/// The user that token authenticates as.
pub const KUBE_USER: &str = "navigator-bench";

impl KubeApiserverProc {
    /// The flags it runs with (without paths), for the report.
    pub fn describe(etcd_prefix: &str) -> String {
        format!(
            "kube-apiserver --etcd-servers=<shared etcd> --etcd-prefix={etcd_prefix} --token-auth-file --authorization-mode=AlwaysAllow --anonymous-auth=false (other flags default: watch cache, priority and fairness on), CRD pilots.navigator.jetstack.io with the schema generated from navigator-api's OpenAPI v3, status subresource"
        )
    }

    /// Starts `bin` on `etcd_url` under `etcd_prefix`, waits for `/readyz`, and returns it with
    /// an endpoint for the benchmark's client.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        etcd_url: &str,
        etcd_prefix: &str,
        protocol: Protocol,
        timeout: Duration,
    ) -> anyhow::Result<(Self, Endpoint)> {
        if !bin.exists() {
            bail!(
                "kube-apiserver binary {} not found (hack/build-k8s builds it; or pass --kube-apiserver-bin)",
                bin.display()
            );
        }
        let pki_dir = dir.join("kube-pki");
        std::fs::create_dir_all(&pki_dir)?;
        let pki = kube_pki()?;
        for (name, pem) in &pki.files {
            std::fs::write(pki_dir.join(name), pem)?;
        }
        let tokens = pki_dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{KUBE_TOKEN},{KUBE_USER},{KUBE_USER}-uid,\"navigator-bench\"\n"),
        )?;
        let p = |name: &str| pki_dir.join(name).display().to_string();
        let port = free_port()?;
        let log = dir.join("kube-apiserver.log");
        let out = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(bin)
            .arg(format!("--etcd-servers={etcd_url}"))
            .arg(format!("--etcd-prefix={etcd_prefix}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={port}"))
            .arg(format!("--cert-dir={}", pki_dir.display()))
            .arg(format!("--tls-cert-file={}", p("apiserver.crt")))
            .arg(format!("--tls-private-key-file={}", p("apiserver.key")))
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            .arg(format!("--service-account-key-file={}", p("sa.pub")))
            .arg(format!(
                "--service-account-signing-key-file={}",
                p("sa.key")
            ))
            .arg("--service-cluster-ip-range=10.96.0.0/16")
            .arg(format!("--token-auth-file={}", tokens.display()))
            .arg("--authorization-mode=AlwaysAllow")
            .arg("--anonymous-auth=false")
            .arg("--v=0")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut kube = Self {
            pid: child.id(),
            child,
            log,
        };
        let server = format!("https://127.0.0.1:{port}");
        let probe_ep = Endpoint::new(
            &server,
            &pki.ca_pem,
            protocol,
            Some(KUBE_TOKEN.to_owned()),
            Duration::from_secs(5),
        )?;
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = kube.child.try_wait()? {
                bail!(
                    "kube-apiserver exited with {status} before it was ready:\n{}",
                    log_tail(&kube.log)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "kube-apiserver was not ready within 180 s:\n{}",
                    log_tail(&kube.log)
                );
            }
            let ready = async {
                let mut c = Client::connect(&probe_ep).await?;
                let r = c.call(Method::GET, "/readyz", None).await?;
                anyhow::Ok(r.status == StatusCode::OK)
            };
            if ready.await.unwrap_or(false) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok((
            kube,
            Endpoint {
                timeout,
                ..probe_ep
            },
        ))
    }

    /// The tail of its log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Whether it exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "kube-apiserver exited ({status}):\n{}",
                log_tail(&self.log)
            )),
            _ => None,
        }
    }

    /// Stops it.
    pub async fn stop(mut self) {
        stop_child(&mut self.child, "kube-apiserver", Duration::from_secs(20)).await;
    }
}

/// Creates namespace `namespace` (an existing one is fine).
pub async fn ensure_namespace(client: &mut Client, namespace: &str) -> anyhow::Result<()> {
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    let resp = client
        .call(
            Method::POST,
            "/api/v1/namespaces",
            Some(serde_json::to_vec(&body)?),
        )
        .await?;
    if !(resp.status.is_success() || resp.status == StatusCode::CONFLICT) {
        bail!("{}", resp.describe(&Method::POST, "/api/v1/namespaces"));
    }
    Ok(())
}

/// Creates the CRD `crd`, waits until it is Established and its collection in `namespace`
/// answers 200 at `collection`.
pub async fn install_crd(client: &mut Client, crd: &Value, collection: &str) -> anyhow::Result<()> {
    let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let resp = client
        .call(Method::POST, path, Some(serde_json::to_vec(crd)?))
        .await?;
    if !(resp.status.is_success() || resp.status == StatusCode::CONFLICT) {
        bail!("{}", resp.describe(&Method::POST, path));
    }
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("the CRD has no name"))?;
    let one = format!("{path}/{name}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if Instant::now() > deadline {
            bail!("CRD {name} was not Established and served within 60 s");
        }
        let resp = client.call(Method::GET, &one, None).await?;
        let established = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| {
                v.pointer("/status/conditions")?
                    .as_array()?
                    .iter()
                    .find(|c| c["type"] == "Established")
                    .map(|c| c["status"] == "True")
            })
            .unwrap_or(false);
        if established {
            let served = client.call(Method::GET, collection, None).await?;
            if served.status == StatusCode::OK {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
