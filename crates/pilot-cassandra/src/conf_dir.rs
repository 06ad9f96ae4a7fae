//! Writes the rendered configuration into the pod's writable configuration directory
//! (`CASSANDRA_CONF`), after copying the image's own configuration files there, so that
//! anything the image's scripts expect (client JVM options, logback for tools) is present.
//! The image's directories are read-only and never written.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::ConfigFile;

/// Why the configuration directory could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Fills `conf_dir` with the regular files of `image_conf` (if it exists) and then `files`,
/// replacing what was there. Each file is written to a temporary name and renamed.
pub fn install(
    conf_dir: &Path,
    image_conf: Option<&Path>,
    files: &[ConfigFile],
) -> Result<(), Error> {
    std::fs::create_dir_all(conf_dir).map_err(io_err("create", conf_dir))?;
    if let Some(image_conf) = image_conf.filter(|p| p.is_dir()) {
        let entries = std::fs::read_dir(image_conf).map_err(io_err("read", image_conf))?;
        for entry in entries {
            let entry = entry.map_err(io_err("read", image_conf))?;
            let from = entry.path();
            if !from.is_file() {
                continue;
            }
            let contents = std::fs::read(&from).map_err(io_err("read", &from))?;
            write(&conf_dir.join(entry.file_name()), &contents)?;
        }
    }
    for f in files {
        write(&conf_dir.join(&f.name), f.contents.as_bytes())?;
    }
    Ok(())
}

fn write(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("pilot-tmp");
    std::fs::write(&tmp, contents).map_err(io_err("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err("rename", &tmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_files_replace_the_images_copies() {
        let image = tempfile::tempdir().unwrap();
        std::fs::write(image.path().join("cassandra.yaml"), "image").unwrap();
        std::fs::write(image.path().join("jvm17-clients.options"), "clients").unwrap();
        std::fs::create_dir(image.path().join("triggers")).unwrap();
        let conf = tempfile::tempdir().unwrap();
        let dir = conf.path().join("conf");
        let files = [ConfigFile {
            name: "cassandra.yaml".into(),
            contents: "rendered".into(),
        }];
        install(&dir, Some(image.path()), &files).unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
        assert_eq!(read("cassandra.yaml"), "rendered");
        assert_eq!(read("jvm17-clients.options"), "clients");
        assert!(!dir.join("triggers").exists());
        // A second install over the first one works (a restarted container).
        install(&dir, Some(image.path()), &files).unwrap();
        assert_eq!(read("cassandra.yaml"), "rendered");
    }
}
