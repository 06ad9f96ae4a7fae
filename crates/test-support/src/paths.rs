//! Prerequisites on the machine that tests need (binaries, images, virtualenvs), found or
//! failed with a message saying what to run: a test never skips because one is missing.

use std::path::PathBuf;

use crate::devenv::cache_dir;

/// `path` when it exists; otherwise panics with "`path` is missing: `hint`".
pub fn require_path(path: PathBuf, hint: &str) -> PathBuf {
    assert!(path.exists(), "{} is missing: {hint}", path.display());
    path
}

/// The root filesystem of an image hack/build-images assembles:
/// `<cache>/images/<name>/<version>` (see [`cache_dir`]). Panics saying what to run when
/// `probe` (a path inside it, such as `opt/cassandra/bin/cassandra`) is missing.
pub fn image_root(name: &str, version: &str, probe: &str) -> PathBuf {
    let root = cache_dir().join("images").join(name).join(version);
    require_path(
        root.join(probe),
        "run hack/build-images (or hack/install-prereqs)",
    );
    root
}
