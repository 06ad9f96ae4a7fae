//! The server side of one SPDY/3.1 connection, after the HTTP upgrade: a reader task that turns
//! frames into [`Stream`]s (headers + a channel of their data) and a writer task that owns the
//! outgoing header compression and writes frames in order. Pings are echoed; SETTINGS and
//! WINDOW_UPDATE are ignored (the Go peers do no flow control); a stream's data ends at FLAG_FIN
//! or RST_STREAM.

use std::collections::BTreeMap;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{mpsc, watch};

use super::frame::{self, FLAG_FIN, Frame};
use super::headers::{Deflater, Headers, Inflater};

/// The largest data frame written (the peers' default receive window).
const CHUNK: usize = 32 * 1024;

/// A stream the peer opened.
#[derive(Debug)]
pub struct Stream {
    /// Its ID.
    pub id: u32,
    /// Its SYN_STREAM headers.
    pub headers: Headers,
    /// Its data; `None` once the peer finished or reset it.
    pub data: mpsc::UnboundedReceiver<Vec<u8>>,
}

enum Out {
    Reply(u32),
    Data(u32, Vec<u8>, bool),
    Ping(u32),
    GoAway,
}

/// Writes frames to the peer; clones share one ordered writer.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Out>,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Out::Reply(id) => write!(f, "Reply({id})"),
            Out::Data(id, d, fin) => write!(f, "Data({id}, {} bytes, fin {fin})", d.len()),
            Out::Ping(id) => write!(f, "Ping({id})"),
            Out::GoAway => write!(f, "GoAway"),
        }
    }
}

impl Writer {
    /// Accepts stream `id` (an empty SYN_REPLY).
    pub fn reply(&self, id: u32) {
        let _ = self.tx.send(Out::Reply(id));
    }

    /// Sends `data` on stream `id`.
    pub fn data(&self, id: u32, data: &[u8]) {
        for c in data.chunks(CHUNK) {
            let _ = self.tx.send(Out::Data(id, c.to_vec(), false));
        }
    }

    /// Ends our side of stream `id` (an empty data frame with FLAG_FIN).
    pub fn finish(&self, id: u32) {
        let _ = self.tx.send(Out::Data(id, Vec::new(), true));
    }

    /// Ends the session: GOAWAY, then the writer closes the connection.
    pub fn go_away(&self) {
        let _ = self.tx.send(Out::GoAway);
    }
}

/// One upgraded connection.
#[derive(Debug)]
pub struct Session {
    /// Streams as the peer opens them; ends with the connection.
    pub incoming: mpsc::UnboundedReceiver<Stream>,
    /// Our side.
    pub writer: Writer,
    /// Turns true when the peer's side of the connection ends (closed, reset or GOAWAY).
    pub closed: watch::Receiver<bool>,
}

/// Starts the reader and writer tasks on `io`; `early` holds bytes read past the HTTP request.
pub fn start<S>(io: S, early: Vec<u8>) -> Session
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(io);
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let writer = Writer { tx: out_tx };
    let (closed_tx, closed) = watch::channel(false);
    tokio::spawn(write_loop(wr, out_rx));
    let w = writer.clone();
    tokio::spawn(async move {
        read_loop(rd, early, in_tx, w).await;
        let _ = closed_tx.send(true);
    });
    Session {
        incoming: in_rx,
        writer,
        closed,
    }
}

/// Encodes `o` onto `buf`: `Some(true)` for GOAWAY (the last frame), `None` if compression
/// failed.
fn encode(o: Out, deflater: &mut Deflater, last_seen: &mut u32, buf: &mut Vec<u8>) -> Option<bool> {
    let mut end = false;
    let f = match o {
        Out::Reply(id) => {
            *last_seen = id;
            Frame::SynReply {
                stream_id: id,
                flags: 0,
                block: deflater.compress(&[]).ok()?,
            }
        }
        Out::Data(id, data, fin) => Frame::Data {
            stream_id: id,
            flags: if fin { FLAG_FIN } else { 0 },
            data,
        },
        Out::Ping(id) => Frame::Ping { id },
        Out::GoAway => {
            end = true;
            Frame::GoAway {
                last_good: *last_seen,
                status: 0,
            }
        }
    };
    f.encode(buf);
    Some(end)
}

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::UnboundedReceiver<Out>) {
    let Ok(mut deflater) = Deflater::new() else {
        return;
    };
    let mut last_seen = 0;
    while let Some(o) = rx.recv().await {
        let mut buf = Vec::new();
        let Some(mut end) = encode(o, &mut deflater, &mut last_seen, &mut buf) else {
            return;
        };
        // Batch what is already queued into one write.
        while !end && buf.len() < 256 * 1024 {
            let Ok(o) = rx.try_recv() else { break };
            let Some(e) = encode(o, &mut deflater, &mut last_seen, &mut buf) else {
                return;
            };
            end = e;
        }
        if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() {
            return;
        }
        if end {
            let _ = wr.shutdown().await;
            return;
        }
    }
    let _ = wr.shutdown().await;
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut rd: R,
    mut buf: Vec<u8>,
    incoming: mpsc::UnboundedSender<Stream>,
    writer: Writer,
) {
    let mut inflater = Inflater::default();
    let mut streams: BTreeMap<u32, mpsc::UnboundedSender<Vec<u8>>> = BTreeMap::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        loop {
            let (f, used) = match frame::parse(&buf) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(_) => return,
            };
            buf.drain(..used);
            match f {
                Frame::SynStream {
                    stream_id,
                    flags,
                    block,
                    ..
                } => {
                    let Ok(headers) = inflater.decompress(&block) else {
                        return;
                    };
                    let (tx, rx) = mpsc::unbounded_channel();
                    if flags & FLAG_FIN == 0 {
                        streams.insert(stream_id, tx);
                    }
                    let _ = incoming.send(Stream {
                        id: stream_id,
                        headers,
                        data: rx,
                    });
                }
                Frame::SynReply { block, .. } | Frame::Headers { block, .. } => {
                    // Keep the zlib stream in step even for frames we do not use.
                    if inflater.decompress(&block).is_err() {
                        return;
                    }
                }
                Frame::Data {
                    stream_id,
                    flags,
                    data,
                } => {
                    if let Some(tx) = streams.get(&stream_id)
                        && !data.is_empty()
                    {
                        let _ = tx.send(data);
                    }
                    if flags & FLAG_FIN != 0 {
                        streams.remove(&stream_id);
                    }
                }
                Frame::RstStream { stream_id, .. } => {
                    streams.remove(&stream_id);
                }
                Frame::Ping { id } => {
                    let _ = writer.tx.send(Out::Ping(id));
                }
                Frame::GoAway { .. } => return,
                Frame::Settings { .. } | Frame::WindowUpdate { .. } | Frame::Unknown { .. } => {}
            }
        }
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
