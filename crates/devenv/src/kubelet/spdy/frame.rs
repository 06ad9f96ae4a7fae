//! SPDY/3 framing (the wire format Kubernetes' `SPDY/3.1` upgrade speaks): control frames
//! (`1 | version 3 | type`, `flags | 24-bit length`, payload) and data frames
//! (`0 | stream id`, `flags | 24-bit length`, payload). Header blocks stay compressed here; the
//! session owns the zlib contexts. Pure: [`parse`] and [`Frame::encode`].

/// The SPDY version in every control frame.
pub const VERSION: u16 = 3;
/// `FLAG_FIN` of data, SYN_STREAM, SYN_REPLY and HEADERS frames.
pub const FLAG_FIN: u8 = 0x01;
/// `FLAG_UNIDIRECTIONAL` of SYN_STREAM.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// The largest payload a frame can carry (24-bit length).
pub const MAX_PAYLOAD: usize = 0x00ff_ffff;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// A malformed frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A control frame of another SPDY version.
    #[error("unsupported SPDY version {0}")]
    Version(u16),
    /// A control frame shorter than its type requires.
    #[error("control frame type {kind} too short ({len} bytes)")]
    Short {
        /// Frame type.
        kind: u16,
        /// Its payload length.
        len: usize,
    },
}

/// One SPDY/3 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A new stream.
    SynStream {
        /// Stream ID (odd: opened by the client).
        stream_id: u32,
        /// Associated stream (0: none).
        associated: u32,
        /// Priority 0–7.
        priority: u8,
        /// FLAG_FIN and FLAG_UNIDIRECTIONAL.
        flags: u8,
        /// The compressed header block.
        block: Vec<u8>,
    },
    /// The answer to a SYN_STREAM.
    SynReply {
        /// Stream ID.
        stream_id: u32,
        /// FLAG_FIN.
        flags: u8,
        /// The compressed header block.
        block: Vec<u8>,
    },
    /// Aborts a stream.
    RstStream {
        /// Stream ID.
        stream_id: u32,
        /// Status code.
        status: u32,
    },
    /// Settings (ignored: the Go peers do no flow control either).
    Settings {
        /// Raw payload.
        payload: Vec<u8>,
    },
    /// A ping, echoed back.
    Ping {
        /// Ping ID.
        id: u32,
    },
    /// The session ends.
    GoAway {
        /// Last stream the sender processed.
        last_good: u32,
        /// Status code.
        status: u32,
    },
    /// More headers on a stream.
    Headers {
        /// Stream ID.
        stream_id: u32,
        /// FLAG_FIN.
        flags: u8,
        /// The compressed header block.
        block: Vec<u8>,
    },
    /// Flow control (ignored).
    WindowUpdate {
        /// Stream ID.
        stream_id: u32,
        /// Delta.
        delta: u32,
    },
    /// Stream data.
    Data {
        /// Stream ID.
        stream_id: u32,
        /// FLAG_FIN.
        flags: u8,
        /// Payload.
        data: Vec<u8>,
    },
    /// A control frame type this implementation does not know (skipped).
    Unknown {
        /// Its type.
        kind: u16,
    },
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

fn id_at(b: &[u8], at: usize) -> u32 {
    u32_at(b, at) & 0x7fff_ffff
}

/// Parses the first frame of `buf`: `Ok(None)` when `buf` does not hold a whole frame yet,
/// else the frame and how many bytes it used. Pure.
///
/// # Errors
/// [`FrameError`] for a frame no peer of ours sends.
pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let flags = buf[4];
    let len = usize::try_from(u32_at(buf, 4) & 0x00ff_ffff).unwrap_or(MAX_PAYLOAD);
    if buf.len() < 8 + len {
        return Ok(None);
    }
    let p = &buf[8..8 + len];
    let used = 8 + len;
    if buf[0] & 0x80 == 0 {
        let frame = Frame::Data {
            stream_id: id_at(buf, 0),
            flags,
            data: p.to_vec(),
        };
        return Ok(Some((frame, used)));
    }
    let version = u16::from_be_bytes([buf[0], buf[1]]) & 0x7fff;
    let kind = u16::from_be_bytes([buf[2], buf[3]]);
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let need = match kind {
        SYN_STREAM => 10,
        SYN_REPLY | HEADERS | PING => 4,
        RST_STREAM | GOAWAY | WINDOW_UPDATE => 8,
        _ => 0,
    };
    if p.len() < need {
        return Err(FrameError::Short { kind, len: p.len() });
    }
    let frame = match kind {
        SYN_STREAM => Frame::SynStream {
            stream_id: id_at(p, 0),
            associated: id_at(p, 4),
            priority: p[8] >> 5,
            flags,
            block: p[10..].to_vec(),
        },
        SYN_REPLY => Frame::SynReply {
            stream_id: id_at(p, 0),
            flags,
            block: p[4..].to_vec(),
        },
        RST_STREAM => Frame::RstStream {
            stream_id: id_at(p, 0),
            status: u32_at(p, 4),
        },
        SETTINGS => Frame::Settings {
            payload: p.to_vec(),
        },
        PING => Frame::Ping { id: u32_at(p, 0) },
        GOAWAY => Frame::GoAway {
            last_good: id_at(p, 0),
            status: u32_at(p, 4),
        },
        HEADERS => Frame::Headers {
            stream_id: id_at(p, 0),
            flags,
            block: p[4..].to_vec(),
        },
        WINDOW_UPDATE => Frame::WindowUpdate {
            stream_id: id_at(p, 0),
            delta: u32_at(p, 4) & 0x7fff_ffff,
        },
        other => Frame::Unknown { kind: other },
    };
    Ok(Some((frame, used)))
}

fn control(out: &mut Vec<u8>, kind: u16, flags: u8, payload: &[u8]) {
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    head_len(out, flags, payload.len());
    out.extend_from_slice(payload);
}

fn head_len(out: &mut Vec<u8>, flags: u8, len: usize) {
    let len = u32::try_from(len.min(MAX_PAYLOAD)).unwrap_or(0);
    out.extend_from_slice(&((u32::from(flags) << 24) | len).to_be_bytes());
}

impl Frame {
    /// Appends the frame's wire form to `out`. Data payloads must be at most [`MAX_PAYLOAD`]
    /// bytes (the session splits larger writes). Pure.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let id = |v: u32| (v & 0x7fff_ffff).to_be_bytes();
        match self {
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                out.extend_from_slice(&id(*stream_id));
                head_len(out, *flags, data.len());
                out.extend_from_slice(data);
            }
            Frame::SynStream {
                stream_id,
                associated,
                priority,
                flags,
                block,
            } => {
                let mut p = Vec::with_capacity(10 + block.len());
                p.extend_from_slice(&id(*stream_id));
                p.extend_from_slice(&id(*associated));
                p.push((priority & 0x7) << 5);
                p.push(0);
                p.extend_from_slice(block);
                control(out, SYN_STREAM, *flags, &p);
            }
            Frame::SynReply {
                stream_id,
                flags,
                block,
            } => {
                let mut p = id(*stream_id).to_vec();
                p.extend_from_slice(block);
                control(out, SYN_REPLY, *flags, &p);
            }
            Frame::Headers {
                stream_id,
                flags,
                block,
            } => {
                let mut p = id(*stream_id).to_vec();
                p.extend_from_slice(block);
                control(out, HEADERS, *flags, &p);
            }
            Frame::RstStream { stream_id, status } => {
                let mut p = id(*stream_id).to_vec();
                p.extend_from_slice(&status.to_be_bytes());
                control(out, RST_STREAM, 0, &p);
            }
            Frame::Settings { payload } => control(out, SETTINGS, 0, payload),
            Frame::Ping { id: ping } => control(out, PING, 0, &ping.to_be_bytes()),
            Frame::GoAway { last_good, status } => {
                let mut p = id(*last_good).to_vec();
                p.extend_from_slice(&status.to_be_bytes());
                control(out, GOAWAY, 0, &p);
            }
            Frame::WindowUpdate { stream_id, delta } => {
                let mut p = id(*stream_id).to_vec();
                p.extend_from_slice(&id(*delta));
                control(out, WINDOW_UPDATE, 0, &p);
            }
            Frame::Unknown { kind } => control(out, *kind, 0, &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: &Frame) -> Vec<u8> {
        let mut v = Vec::new();
        f.encode(&mut v);
        v
    }

    #[test]
    fn wire_forms() {
        let cases: Vec<(Frame, Vec<u8>)> = vec![
            (
                Frame::Data {
                    stream_id: 3,
                    flags: FLAG_FIN,
                    data: b"hi".to_vec(),
                },
                vec![0, 0, 0, 3, 1, 0, 0, 2, b'h', b'i'],
            ),
            (
                Frame::SynReply {
                    stream_id: 5,
                    flags: 0,
                    block: vec![0xaa],
                },
                vec![0x80, 3, 0, 2, 0, 0, 0, 5, 0, 0, 0, 5, 0xaa],
            ),
            (
                Frame::SynStream {
                    stream_id: 1,
                    associated: 0,
                    priority: 7,
                    flags: FLAG_UNIDIRECTIONAL,
                    block: vec![],
                },
                vec![0x80, 3, 0, 1, 2, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0xe0, 0],
            ),
            (
                Frame::Ping { id: 0x0102_0304 },
                vec![0x80, 3, 0, 6, 0, 0, 0, 4, 1, 2, 3, 4],
            ),
            (
                Frame::GoAway {
                    last_good: 7,
                    status: 0,
                },
                vec![0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 0],
            ),
            (
                Frame::RstStream {
                    stream_id: 9,
                    status: 5,
                },
                vec![0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 5],
            ),
            (
                Frame::WindowUpdate {
                    stream_id: 1,
                    delta: 65_536,
                },
                vec![0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 1, 0, 0],
            ),
            (
                Frame::Headers {
                    stream_id: 1,
                    flags: FLAG_FIN,
                    block: vec![1],
                },
                vec![0x80, 3, 0, 8, 1, 0, 0, 5, 0, 0, 0, 1, 1],
            ),
        ];
        for (frame, wire) in cases {
            assert_eq!(enc(&frame), wire, "{frame:?}");
            assert_eq!(
                parse(&wire).expect("parse"),
                Some((frame.clone(), wire.len())),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn partial_frames_wait_and_trailing_bytes_stay() {
        let wire = enc(&Frame::Ping { id: 1 });
        for cut in 0..wire.len() {
            assert_eq!(parse(&wire[..cut]).expect("partial"), None, "cut {cut}");
        }
        let mut two = wire.clone();
        two.extend_from_slice(&[0, 0]);
        assert_eq!(
            parse(&two).expect("parse").map(|(_, n)| n),
            Some(wire.len())
        );
    }

    #[test]
    fn other_versions_and_short_frames_are_errors() {
        assert_eq!(
            parse(&[0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1]),
            Err(FrameError::Version(2))
        );
        assert_eq!(
            parse(&[0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1]),
            Err(FrameError::Short { kind: 3, len: 4 })
        );
        assert_eq!(
            parse(&[0x80, 3, 0, 42, 0, 0, 0, 0]).expect("unknown"),
            Some((Frame::Unknown { kind: 42 }, 8))
        );
    }
}
