//! `GET /containerLogs/{namespace}/{pod}/{container}`: a container's output from the runner's log
//! file. Each start of the container is preceded by a line `=== devenv: <time> start #N of …`;
//! the current instance is what follows the last such line, `previous` the one before it.
//! `tailLines` and `limitBytes` as a kubelet; `follow` streams new output until the container
//! restarts or stops or the client goes. `timestamps` and `sinceSeconds` are not supported (the
//! file has no per-line times): they are ignored. Selection is pure; the streaming is thin.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::http::Request;

/// The start of the runner's marker lines.
pub const MARKER: &[u8] = b"=== devenv: ";

/// The options of a log request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// Stream new output.
    pub follow: bool,
    /// The instance before the current one.
    pub previous: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// At most N bytes.
    pub limit_bytes: Option<usize>,
}

/// The options of `req`'s query. Pure.
#[must_use]
pub fn options(req: &Request) -> LogOptions {
    let num = |n: &str| req.param(n).and_then(|v| v.parse::<usize>().ok());
    LogOptions {
        follow: req.flag("follow"),
        previous: req.flag("previous"),
        tail_lines: num("tailLines"),
        limit_bytes: num("limitBytes").filter(|n| *n > 0),
    }
}

/// The byte ranges of every instance's output in `content`, oldest first (marker lines
/// excluded); with `uid`, only the instances of that pod (a pod recreated under the same name
/// appends to the same file). A file without markers is one instance. Pure.
#[must_use]
pub fn instances(content: &[u8], uid: Option<&str>) -> Vec<Range<usize>> {
    let mut markers: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < content.len() {
        let end = content[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(content.len(), |p| at + p + 1);
        if content[at..].starts_with(MARKER) {
            markers.push((at, end));
        }
        at = end;
    }
    if markers.is_empty() {
        return std::iter::once(0..content.len()).collect();
    }
    let tag = uid.map(|u| format!("(pod uid {u})"));
    markers
        .iter()
        .enumerate()
        .filter(|(_, (start, body))| {
            tag.as_ref().is_none_or(|t| {
                content[*start..*body]
                    .windows(t.len())
                    .any(|w| w == t.as_bytes())
            })
        })
        .map(|(i, (_, body))| {
            let stop = markers.get(i + 1).map_or(content.len(), |(m, _)| *m);
            *body..stop
        })
        .collect()
}

/// Where the last `n` lines of `b` start. Pure.
#[must_use]
pub fn tail_start(b: &[u8], n: usize) -> usize {
    if n == 0 {
        return b.len();
    }
    // A final line without its newline counts as a line.
    let body = b.strip_suffix(b"\n").unwrap_or(b);
    let mut seen = 0;
    for (i, c) in body.iter().enumerate().rev() {
        if *c == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    0
}

/// The part of `content` a request with `o` returns first (of the pod with `uid`), or `None`
/// when it asks for a previous instance that does not exist. Pure.
#[must_use]
pub fn select(content: &[u8], uid: Option<&str>, o: &LogOptions) -> Option<Range<usize>> {
    let all = instances(content, uid);
    let r = if o.previous {
        all.len().checked_sub(2).and_then(|i| all.get(i))?.clone()
    } else {
        all.last().cloned().unwrap_or(0..0)
    };
    let start = match o.tail_lines {
        Some(n) => r.start + tail_start(&content[r.clone()], n),
        None => r.start,
    };
    let end = match o.limit_bytes {
        Some(l) => r.end.min(start.saturating_add(l)),
        None => r.end,
    };
    Some(start..end)
}

/// New output in `fresh` up to the next instance's marker: `(bytes to send, whether a new
/// instance began)`. Pure.
#[must_use]
pub fn until_restart(fresh: &[u8], at_line_start: bool) -> (usize, bool) {
    if at_line_start && fresh.starts_with(MARKER) {
        return (0, true);
    }
    let mut i = 0;
    while let Some(p) = fresh[i..].iter().position(|b| *b == b'\n') {
        let next = i + p + 1;
        if fresh[next..].starts_with(MARKER) {
            return (next, true);
        }
        i = next;
    }
    (fresh.len(), false)
}

/// A log request that cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// No log file: the container never started here.
    #[error("container {0} has no logs on this node")]
    NoLog(String),
    /// `previous` with a single instance.
    #[error("previous terminated container {container:?} in pod {pod:?} not found")]
    NoPrevious {
        /// Container.
        container: String,
        /// Pod.
        pod: String,
    },
}

/// Streams the selected log of `file` to `w`; with `follow`, until `running` reports the
/// container gone, a new instance starts, the byte limit is reached or the client goes.
///
/// # Errors
/// [`LogError`] before anything is written; write errors end the stream quietly.
pub async fn serve<W, F>(
    w: &mut W,
    file: &Path,
    o: LogOptions,
    uid: &str,
    names: (&str, &str),
    running: F,
) -> Result<(), LogError>
where
    W: AsyncWrite + Unpin,
    F: Fn() -> bool + Send + Sync,
{
    let content = std::fs::read(file).map_err(|_| LogError::NoLog(names.1.to_owned()))?;
    let r = select(&content, Some(uid), &o).ok_or_else(|| LogError::NoPrevious {
        container: names.1.to_owned(),
        pod: names.0.to_owned(),
    })?;
    if super::http::stream_head(w).await.is_err() {
        return Ok(());
    }
    let mut sent = r.len();
    if w.write_all(&content[r.clone()]).await.is_err() || w.flush().await.is_err() {
        return Ok(());
    }
    if !o.follow || o.previous {
        return Ok(());
    }
    let mut offset = content.len() as u64;
    let mut at_line_start = content.last().is_none_or(|b| *b == b'\n');
    let mut idle = 0u32;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let fresh = read_from(file, offset);
        if fresh.is_empty() {
            idle += 1;
            // Once a second without output: is the container still there?
            if idle.is_multiple_of(5) && !running() {
                return Ok(());
            }
            continue;
        }
        idle = 0;
        let (n, restarted) = until_restart(&fresh, at_line_start);
        let mut chunk = &fresh[..n];
        if let Some(l) = o.limit_bytes {
            chunk = &chunk[..chunk.len().min(l.saturating_sub(sent))];
        }
        if !chunk.is_empty() && (w.write_all(chunk).await.is_err() || w.flush().await.is_err()) {
            return Ok(());
        }
        sent += chunk.len();
        if restarted || o.limit_bytes.is_some_and(|l| sent >= l) {
            return Ok(());
        }
        offset += n as u64;
        at_line_start = fresh[..n].last().is_none_or(|b| *b == b'\n');
    }
}

fn read_from(file: &Path, offset: u64) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(mut f) = std::fs::File::open(file)
        && f.seek(SeekFrom::Start(offset)).is_ok()
    {
        let _ = f.take(1 << 20).read_to_end(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"=== devenv: t1 start #1 of c (pod uid u): [\"sh\"]\none\ntwo\n=== devenv: t2 start #2 of c (pod uid u): [\"sh\"]\nthree\nfour\nfive\n";

    fn s(r: Option<Range<usize>>) -> Option<&'static str> {
        r.map(|r| std::str::from_utf8(&LOG[r]).expect("utf8"))
    }

    #[test]
    fn selection() {
        let o = |previous, tail_lines, limit_bytes| LogOptions {
            follow: false,
            previous,
            tail_lines,
            limit_bytes,
        };
        let cases = [
            (o(false, None, None), Some("three\nfour\nfive\n")),
            (o(true, None, None), Some("one\ntwo\n")),
            (o(false, Some(2), None), Some("four\nfive\n")),
            (o(false, Some(0), None), Some("")),
            (o(false, Some(10), None), Some("three\nfour\nfive\n")),
            (o(true, Some(1), None), Some("two\n")),
            (o(false, None, Some(7)), Some("three\nf")),
            (o(false, Some(2), Some(3)), Some("fou")),
        ];
        for (opts, want) in cases {
            assert_eq!(s(select(LOG, Some("u"), &opts)), want, "{opts:?}");
            assert_eq!(s(select(LOG, None, &opts)), want, "{opts:?}");
        }
        let single = b"=== devenv: t1 start #1 of c\nonly\n";
        assert_eq!(select(single, None, &o(true, None, None)), None);
        // The same pod name, a new pod: the old pod's instance is not its previous one.
        let recreated = b"=== devenv: t1 start #1 of c (pod uid old): []\nold\n=== devenv: t2 start #1 of c (pod uid new): []\nnew\n";
        let only_new: Vec<&[u8]> = instances(recreated, Some("new"))
            .into_iter()
            .map(|r| &recreated[r])
            .collect();
        assert_eq!(only_new, [b"new\n"]);
        assert_eq!(select(recreated, Some("new"), &o(true, None, None)), None);
        assert_eq!(instances(recreated, None).len(), 2);
        assert_eq!(
            instances(b"no markers\n", None),
            std::iter::once(0..11).collect::<Vec<_>>()
        );
        assert_eq!(
            instances(b"", None),
            std::iter::once(0..0).collect::<Vec<_>>()
        );
    }

    #[test]
    fn tails_count_an_unterminated_last_line() {
        let cases: [(&[u8], usize, usize); 5] = [
            (b"a\nb\nc", 1, 4),
            (b"a\nb\nc", 2, 2),
            (b"a\nb\nc\n", 1, 4),
            (b"a\nb\nc\n", 5, 0),
            (b"", 1, 0),
        ];
        for (b, n, want) in cases {
            assert_eq!(
                tail_start(b, n),
                want,
                "{:?} {n}",
                String::from_utf8_lossy(b)
            );
        }
    }

    #[test]
    fn following_stops_at_the_next_start() {
        let cases: [(&[u8], bool, (usize, bool)); 4] = [
            (b"x\ny\n", true, (4, false)),
            (b"x\n=== devenv: t start #2\nz\n", true, (2, true)),
            (b"=== devenv: t start #2\n", true, (0, true)),
            (b"=== devenv: not a line start\n", false, (29, false)),
        ];
        for (fresh, start, want) in cases {
            assert_eq!(
                until_restart(fresh, start),
                want,
                "{}",
                String::from_utf8_lossy(fresh)
            );
        }
    }

    #[test]
    fn options_from_the_query() {
        let r = Request {
            method: "GET".into(),
            path: "/containerLogs/a/b/c".into(),
            query: super::super::http::parse_query(
                "follow=true&previous=false&tailLines=2&limitBytes=100&timestamps=true",
            ),
            headers: vec![],
        };
        assert_eq!(
            options(&r),
            LogOptions {
                follow: true,
                previous: false,
                tail_lines: Some(2),
                limit_bytes: Some(100),
            }
        );
    }
}
