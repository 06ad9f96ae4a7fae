//! SPDY/3 header blocks: the name/value block ([`encode_block`], [`decode_block`]: pure) and
//! its compression — one zlib stream per direction and connection, preset with the SPDY
//! dictionary, each block ended with a sync flush ([`Deflater`], [`Inflater`]).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::dictionary::dictionary;

/// Names and values of one header block, in order (lower-case names; several values of one name
/// are joined with NUL, as SPDY/3 sends them).
pub type Headers = Vec<(String, String)>;

/// A header block that cannot be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The block ends inside a length or string.
    #[error("truncated header block")]
    Truncated,
    /// A name or value is not UTF-8.
    #[error("header block is not UTF-8")]
    NotUtf8,
    /// zlib refused the data.
    #[error("header compression: {0}")]
    Zlib(String),
}

fn put(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The uncompressed block of `headers`. Pure.
#[must_use]
pub fn encode_block(headers: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(headers.len()).unwrap_or(0).to_be_bytes());
    for (n, v) in headers {
        put(&mut out, &n.to_ascii_lowercase());
        put(&mut out, v);
    }
    out
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, HeaderError> {
        let s = self
            .b
            .get(self.at..self.at + 4)
            .ok_or(HeaderError::Truncated)?;
        self.at += 4;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn string(&mut self) -> Result<String, HeaderError> {
        let n = usize::try_from(self.u32()?).map_err(|_| HeaderError::Truncated)?;
        let s = self
            .b
            .get(self.at..self.at.saturating_add(n))
            .ok_or(HeaderError::Truncated)?;
        self.at += n;
        String::from_utf8(s.to_vec()).map_err(|_| HeaderError::NotUtf8)
    }
}

/// The headers of an uncompressed block. Pure.
///
/// # Errors
/// [`HeaderError::Truncated`], [`HeaderError::NotUtf8`].
pub fn decode_block(block: &[u8]) -> Result<Headers, HeaderError> {
    let mut r = Reader { b: block, at: 0 };
    let n = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = r.string()?;
        let value = r.string()?;
        out.push((name, value));
    }
    Ok(out)
}

/// The first value of `name` in `headers` (case-insensitive; the first of NUL-joined values).
#[must_use]
pub fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.split('\0').next())
}

fn total(n: u64, start: u64) -> usize {
    usize::try_from(n - start).unwrap_or(usize::MAX)
}

/// The compressing side of a connection's header blocks.
pub struct Deflater {
    z: Compress,
}

impl Deflater {
    /// A fresh zlib stream with the SPDY dictionary preset.
    ///
    /// # Errors
    /// [`HeaderError::Zlib`].
    pub fn new() -> Result<Self, HeaderError> {
        let mut z = Compress::new(Compression::default(), true);
        z.set_dictionary(dictionary())
            .map_err(|e| HeaderError::Zlib(e.to_string()))?;
        Ok(Self { z })
    }

    /// Compresses `headers` as the next block of the stream.
    ///
    /// # Errors
    /// [`HeaderError::Zlib`].
    pub fn compress(&mut self, headers: &[(String, String)]) -> Result<Vec<u8>, HeaderError> {
        let input = encode_block(headers);
        let start = self.z.total_in();
        let mut out = Vec::with_capacity(input.len() + 64);
        loop {
            let used = total(self.z.total_in(), start);
            if out.capacity() - out.len() < 32 {
                out.reserve(256);
            }
            self.z
                .compress_vec(&input[used..], &mut out, FlushCompress::Sync)
                .map_err(|e| HeaderError::Zlib(e.to_string()))?;
            if total(self.z.total_in(), start) == input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// The decompressing side of a connection's header blocks.
pub struct Inflater {
    z: Decompress,
}

impl Default for Inflater {
    fn default() -> Self {
        Self {
            z: Decompress::new(true),
        }
    }
}

impl Inflater {
    /// Decompresses the next block of the stream and decodes its headers.
    ///
    /// # Errors
    /// [`HeaderError`].
    pub fn decompress(&mut self, block: &[u8]) -> Result<Headers, HeaderError> {
        let start = self.z.total_in();
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        loop {
            let used = total(self.z.total_in(), start);
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            match self
                .z
                .decompress_vec(&block[used..], &mut out, FlushDecompress::Sync)
            {
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(dictionary())
                        .map_err(|e| HeaderError::Zlib(e.to_string()))?;
                    continue;
                }
                Err(e) => return Err(HeaderError::Zlib(e.to_string())),
            }
            if total(self.z.total_in(), start) == block.len() && out.len() < out.capacity() {
                break;
            }
        }
        decode_block(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn blocks() {
        let cases: Vec<(Headers, Vec<u8>)> = vec![
            (vec![], vec![0, 0, 0, 0]),
            (
                h(&[("streamType", "error")]),
                [
                    &[0, 0, 0, 1, 0, 0, 0, 10][..],
                    b"streamtype",
                    &[0, 0, 0, 5],
                    b"error",
                ]
                .concat(),
            ),
        ];
        for (headers, wire) in cases {
            assert_eq!(encode_block(&headers), wire);
            let lower: Headers = headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect();
            assert_eq!(decode_block(&wire).expect("decode"), lower);
        }
        assert_eq!(
            decode_block(&[0, 0, 0, 1, 0, 0]),
            Err(HeaderError::Truncated)
        );
        assert_eq!(
            decode_block(&[0, 0, 0, 1, 0, 0, 0, 9, b'a']),
            Err(HeaderError::Truncated)
        );
        assert_eq!(
            get(&h(&[("port", "8080\u{0}9090")]), "Port"),
            Some("8080"),
            "first of NUL-joined values"
        );
    }

    #[test]
    fn one_zlib_stream_per_direction_with_the_dictionary() {
        let mut d = Deflater::new().expect("deflater");
        let mut i = Inflater::default();
        let first = d
            .compress(&h(&[
                ("streamtype", "data"),
                ("port", "8080"),
                ("requestid", "0"),
            ]))
            .expect("first");
        // zlib header with FDICT set, then the dictionary's Adler-32.
        assert_eq!(first[0] & 0x0f, 8, "deflate");
        assert_ne!(first[1] & 0x20, 0, "FDICT");
        assert_eq!(&first[2..6], &0xe3c6_a7c2_u32.to_be_bytes());
        let second = d
            .compress(&h(&[("streamtype", "error"), ("port", "8080")]))
            .expect("second");
        assert!(second.len() < first.len(), "the stream's history is shared");
        assert_eq!(
            i.decompress(&first).expect("first"),
            h(&[("streamtype", "data"), ("port", "8080"), ("requestid", "0")])
        );
        assert_eq!(
            i.decompress(&second).expect("second"),
            h(&[("streamtype", "error"), ("port", "8080")])
        );
        let big: Headers = (0..200)
            .map(|n| (format!("x-header-{n}"), "v".repeat(n)))
            .collect();
        let third = d.compress(&big).expect("big");
        assert_eq!(i.decompress(&third).expect("big"), big);
    }
}
