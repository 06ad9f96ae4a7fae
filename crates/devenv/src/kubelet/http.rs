//! The HTTP/1.1 part of the kubelet API: request heads, the kubelet's paths and their queries
//! (pure), and plain responses. Every response closes the connection (kube-apiserver opens a new
//! one per request to a kubelet's streaming endpoints).

use tokio::io::{AsyncWrite, AsyncWriteExt as _};

/// The largest request head accepted.
pub const MAX_HEAD: usize = 64 * 1024;

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path (percent-decoded per segment by [`route`]).
    pub path: String,
    /// Query pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`, comma-separated lists split.
    #[must_use]
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Every value of query parameter `name`.
    #[must_use]
    pub fn params(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The last value of query parameter `name`.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query parameter `name` as a boolean (`1`, `true`; absent is false).
    #[must_use]
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("1" | "true" | "True" | "TRUE" | "t"))
    }
}

/// A request head that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Not an HTTP/1.x request line or header.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The head is larger than [`MAX_HEAD`].
    #[error("request head too large")]
    TooLarge,
}

/// `%XX` and `+` decoding of a query component. Pure.
#[must_use]
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs of a query string. Pure.
#[must_use]
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Parses the head at the start of `buf`: `Ok(None)` while incomplete, else the request and the
/// head's length. Pure.
///
/// # Errors
/// [`HttpError`].
pub fn parse_head(buf: &[u8]) -> Result<Option<(Request, usize)>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err(HttpError::TooLarge)
        } else {
            Ok(None)
        };
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| HttpError::Malformed("not UTF-8".to_owned()))?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed(first.to_owned()));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(first.to_owned()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for l in lines {
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| HttpError::Malformed(l.to_owned()))?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(Some((
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            query: parse_query(query),
            headers,
        },
        end + 4,
    )))
}

/// What a kubelet path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/containerLogs/{namespace}/{pod}/{container}`.
    Logs {
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// Container.
        container: String,
    },
    /// `/exec/{namespace}/{pod}[/{uid}]/{container}`.
    Exec {
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// Container.
        container: String,
    },
    /// `/portForward/{namespace}/{pod}[/{uid}]`.
    PortForward {
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
    },
    /// `/healthz`.
    Healthz,
    /// Anything else.
    NotFound,
}

/// The route of `path`. Pure.
#[must_use]
pub fn route(path: &str) -> Route {
    let seg: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["containerLogs", ns, pod, c] => Route::Logs {
            namespace: (*ns).to_owned(),
            pod: (*pod).to_owned(),
            container: (*c).to_owned(),
        },
        ["exec", ns, pod, c] | ["exec", ns, pod, _, c] => Route::Exec {
            namespace: (*ns).to_owned(),
            pod: (*pod).to_owned(),
            container: (*c).to_owned(),
        },
        ["portForward", ns, pod] | ["portForward", ns, pod, _] => Route::PortForward {
            namespace: (*ns).to_owned(),
            pod: (*pod).to_owned(),
        },
        ["healthz"] => Route::Healthz,
        _ => Route::NotFound,
    }
}

/// The reason phrase of the statuses we send.
fn reason(code: u16) -> &'static str {
    match code {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

/// A whole plain-text response (the connection closes after it).
///
/// # Errors
/// The write error.
pub async fn respond<W: AsyncWrite + Unpin>(
    w: &mut W,
    code: u16,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(code),
        body.len()
    );
    w.write_all(head.as_bytes()).await?;
    w.write_all(body.as_bytes()).await?;
    w.flush().await
}

/// The head of a streamed body (ends when the connection closes).
///
/// # Errors
/// The write error.
pub async fn stream_head<W: AsyncWrite + Unpin>(w: &mut W) -> std::io::Result<()> {
    w.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nCache-Control: no-cache, private\r\n\r\n",
    )
    .await?;
    w.flush().await
}

/// The `101 Switching Protocols` answer to a SPDY upgrade naming `protocol`.
///
/// # Errors
/// The write error.
pub async fn upgrade<W: AsyncWrite + Unpin>(w: &mut W, protocol: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: {protocol}\r\n\r\n"
    );
    w.write_all(head.as_bytes()).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let raw = b"POST /exec/ns/p/c?command=sh&command=-c&command=echo+a%20b&output=1&tty=true HTTP/1.1\r\nHost: 10.244.0.1:10250\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: v3.channel.k8s.io, v2.channel.k8s.io\r\n\r\nrest";
        let (r, n) = parse_head(raw).expect("parse").expect("complete");
        assert_eq!(&raw[n..], b"rest");
        assert_eq!(r.method, "POST");
        assert_eq!(r.params("command"), ["sh", "-c", "echo a b"]);
        assert!(r.flag("output") && r.flag("tty") && !r.flag("input"));
        assert_eq!(r.header("host"), Some("10.244.0.1:10250"));
        assert_eq!(
            r.header_values("x-stream-protocol-version"),
            [
                "v4.channel.k8s.io",
                "v3.channel.k8s.io",
                "v2.channel.k8s.io"
            ]
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n").expect("partial"),
            None
        );
        assert!(parse_head(b"GET /\r\n\r\n").is_err());
        assert!(parse_head(&vec![b'a'; MAX_HEAD + 1]).is_err());
    }

    #[test]
    fn queries() {
        let cases = [
            ("a=1&b=&c", vec![("a", "1"), ("b", ""), ("c", "")]),
            (
                "x=%2Fetc%2Fhosts&y=a+b",
                vec![("x", "/etc/hosts"), ("y", "a b")],
            ),
            ("bad=%zz&end=%4", vec![("bad", "%zz"), ("end", "%4")]),
            ("", vec![]),
        ];
        for (q, want) in cases {
            let want: Vec<(String, String)> = want
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(parse_query(q), want, "{q}");
        }
    }

    #[test]
    fn routes() {
        let l = |ns: &str, p: &str, c: &str| Route::Logs {
            namespace: ns.into(),
            pod: p.into(),
            container: c.into(),
        };
        let e = |ns: &str, p: &str, c: &str| Route::Exec {
            namespace: ns.into(),
            pod: p.into(),
            container: c.into(),
        };
        let pf = |ns: &str, p: &str| Route::PortForward {
            namespace: ns.into(),
            pod: p.into(),
        };
        let cases = [
            (
                "/containerLogs/default/web/nginx",
                l("default", "web", "nginx"),
            ),
            ("/exec/default/web/nginx", e("default", "web", "nginx")),
            (
                "/exec/default/web/0a-uid/nginx",
                e("default", "web", "nginx"),
            ),
            ("/portForward/default/web", pf("default", "web")),
            ("/portForward/default/web/0a-uid", pf("default", "web")),
            ("/healthz", Route::Healthz),
            ("/containerLogs/default/web", Route::NotFound),
            ("/run/default/web/c", Route::NotFound),
        ];
        for (p, want) in cases {
            assert_eq!(route(p), want, "{p}");
        }
    }
}
