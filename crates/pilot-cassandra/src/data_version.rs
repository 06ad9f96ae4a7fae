//! The release line the node's SSTables were last brought to, recorded by the pilot in
//! `<data>/.navigator-cassandra-data.json` (`{"releaseLine": "5.0"}`) next to the runtime's
//! data marker. See [`crate::sstables`] for how it is used.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::sstables::ReleaseLine;

/// The record's file name inside the data directory.
pub const DATA_VERSION_FILE: &str = ".navigator-cassandra-data.json";

/// Reading or writing the record failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file holds something else than a record.
    #[error("{path}: not a release line record: {content}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What it holds.
        content: String,
    },
}

/// Reads the record of `data_dir`; None when there is none yet.
pub fn read(data_dir: &Path) -> Result<Option<ReleaseLine>, Error> {
    let path = data_dir.join(DATA_VERSION_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path, source }),
    };
    let line = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| ReleaseLine::parse(v.get("releaseLine")?.as_str()?));
    match line {
        Some(l) => Ok(Some(l)),
        None => Err(Error::Invalid {
            path,
            content: text.chars().take(200).collect(),
        }),
    }
}

/// Records `line` for `data_dir` (written to a temporary file, synced, then renamed).
pub fn write(data_dir: &Path, line: ReleaseLine) -> Result<(), Error> {
    use std::io::Write as _;
    let path = data_dir.join(DATA_VERSION_FILE);
    let tmp = data_dir.join(format!("{DATA_VERSION_FILE}.tmp"));
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let body = json!({ "releaseLine": line.to_string() }).to_string();
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(body.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()).expect("reads"), None);
        let line = ReleaseLine { major: 4, minor: 1 };
        write(dir.path(), line).expect("writes");
        assert_eq!(read(dir.path()).expect("reads"), Some(line));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(DATA_VERSION_FILE)).expect("file"),
            r#"{"releaseLine":"4.1"}"#
        );
        std::fs::write(dir.path().join(DATA_VERSION_FILE), "{}").expect("write");
        assert!(matches!(read(dir.path()), Err(Error::Invalid { .. })));
        assert!(matches!(
            write(&dir.path().join("missing"), line),
            Err(Error::Io { .. })
        ));
    }
}
