//! `/portForward/{namespace}/{pod}` over SPDY (`portforward.k8s.io`): per forwarded connection
//! the client opens an `error` and a `data` stream with the same `port` and `requestID`; the
//! data stream is piped to `127.0.0.1:<port>` inside the pod's network namespace (a socket made
//! by a thread that joined the namespace); a failure is written on the error stream. Both
//! streams are finished when the connection ends.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::spdy::headers::get;
use super::spdy::session::{Session, Stream, Writer};

/// The port-forward protocol.
pub const PROTOCOL: &str = "portforward.k8s.io";

/// One stream's role in a forwarded connection. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `error` or `data`.
    pub kind: String,
    /// The pod's port.
    pub port: Option<u16>,
    /// Pairs a connection's two streams.
    pub request_id: String,
}

/// The role of a stream with `headers`. Pure.
#[must_use]
pub fn role(headers: &[(String, String)]) -> Role {
    Role {
        kind: get(headers, "streamtype").unwrap_or_default().to_owned(),
        port: get(headers, "port").and_then(|p| p.parse().ok()),
        request_id: get(headers, "requestid").unwrap_or_default().to_owned(),
    }
}

/// Connects to `port` on the loopback of the network namespace `netns` (IPv4, then IPv6).
fn connect_in(netns: &Path, port: u16) -> std::io::Result<TcpStream> {
    let ns = std::fs::File::open(netns)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // Only this thread moves; the socket stays in the pod's namespace.
            setns(&ns, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            let t = Duration::from_secs(5);
            TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), t).or_else(
                |e| {
                    TcpStream::connect_timeout(&SocketAddr::from((Ipv6Addr::LOCALHOST, port)), t)
                        .map_err(|_| e)
                },
            )
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("connect thread panicked")))
    })
}

async fn forward(w: Writer, netns: PathBuf, port: u16, error_id: Option<u32>, data: Stream) {
    let ns = netns.clone();
    let conn = tokio::task::spawn_blocking(move || connect_in(&ns, port))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    let sock = conn.and_then(|s| {
        s.set_nonblocking(true)?;
        tokio::net::TcpStream::from_std(s)
    });
    let sock = match sock {
        Ok(s) => s,
        Err(e) => {
            if let Some(id) = error_id {
                let msg = format!(
                    "error forwarding port {port} to pod: failed to connect to localhost:{port} inside the pod's network namespace: {e}"
                );
                w.data(id, msg.as_bytes());
                w.finish(id);
            }
            w.finish(data.id);
            return;
        }
    };
    let (mut rd, mut wr) = sock.into_split();
    let mut rx = data.data;
    let up = async move {
        while let Some(d) = rx.recv().await {
            if wr.write_all(&d).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    };
    let ww = w.clone();
    let id = data.id;
    let down = async move {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
            ww.data(id, &buf[..n]);
        }
        ww.finish(id);
    };
    tokio::join!(up, down);
    if let Some(e) = error_id {
        w.finish(e);
    }
}

/// Serves forwarded connections on an upgraded session until the client closes it.
pub async fn serve(mut session: Session, netns: PathBuf) {
    let w = session.writer.clone();
    // requestID → the error stream's ID, until its data stream comes.
    let mut errors: BTreeMap<String, u32> = BTreeMap::new();
    while let Some(s) = session.incoming.recv().await {
        w.reply(s.id);
        let r = role(&s.headers);
        match (r.kind.as_str(), r.port) {
            ("error", _) => {
                errors.insert(r.request_id, s.id);
            }
            ("data", Some(port)) => {
                let error_id = errors.remove(&r.request_id);
                tokio::spawn(forward(w.clone(), netns.clone(), port, error_id, s));
            }
            _ => w.finish(s.id),
        }
    }
    w.go_away();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            role(&h(&[
                ("streamtype", "data"),
                ("port", "8080"),
                ("requestid", "3")
            ])),
            Role {
                kind: "data".into(),
                port: Some(8080),
                request_id: "3".into()
            }
        );
        assert_eq!(
            role(&h(&[("streamtype", "error"), ("port", "x")])),
            Role {
                kind: "error".into(),
                port: None,
                request_id: String::new()
            }
        );
    }
}
