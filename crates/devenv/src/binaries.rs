//! Finding the upstream binaries `hack/build-k8s` built from `tools/k8s/go.mod`.
//!
//! The Kubernetes version is read from that go.mod at compile time, so devenv and the build
//! script agree on one cache directory: `${NAVIGATOR_CACHE:-$HOME/.cache/navigator}/k8s/<version>/`.

use std::path::{Path, PathBuf};

use crate::components::Component;

/// The tools module's go.mod, compiled in.
const TOOLS_GO_MOD: &str = include_str!("../../../tools/k8s/go.mod");

/// An error finding the binaries.
#[derive(Debug, thiserror::Error)]
pub enum BinariesError {
    /// Neither `NAVIGATOR_CACHE` nor `HOME` is set, so there is no default cache directory.
    #[error("neither NAVIGATOR_CACHE nor HOME is set; pass --bin-dir")]
    NoCacheDir,
    /// go.mod does not pin `k8s.io/kubernetes` (a broken checkout).
    #[error("tools/k8s/go.mod does not require k8s.io/kubernetes")]
    NoVersion,
    /// Some binaries are missing from the directory.
    #[error(
        "the Kubernetes binaries are missing from {dir}: {missing}. Build them with hack/build-k8s \
         (or hack/local-up), or point --bin-dir / DEVENV_BIN_DIR at a directory that has them"
    )]
    Missing {
        /// The directory looked in.
        dir: PathBuf,
        /// The missing file names, comma-separated.
        missing: String,
    },
}

/// The `k8s.io/kubernetes` version `go_mod` requires (e.g. `v1.37.2`). Pure.
#[must_use]
pub fn k8s_version_from_go_mod(go_mod: &str) -> Option<&str> {
    go_mod.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        let (module, version) = if first == "require" {
            (words.next()?, words.next()?)
        } else {
            (first, words.next()?)
        };
        (module == "k8s.io/kubernetes" && version.starts_with('v')).then_some(version)
    })
}

/// The pinned Kubernetes version.
///
/// # Errors
/// [`BinariesError::NoVersion`] if the compiled-in go.mod does not pin one.
pub fn pinned_k8s_version() -> Result<&'static str, BinariesError> {
    k8s_version_from_go_mod(TOOLS_GO_MOD).ok_or(BinariesError::NoVersion)
}

/// The default binary directory, from `NAVIGATOR_CACHE` or `HOME` as `hack/build-k8s` computes it.
///
/// # Errors
/// [`BinariesError`] if there is no cache directory or no pinned version.
pub fn default_bin_dir() -> Result<PathBuf, BinariesError> {
    let cache = match std::env::var_os("NAVIGATOR_CACHE") {
        Some(c) if !c.is_empty() => PathBuf::from(c),
        _ => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".cache").join("navigator"))
            .ok_or(BinariesError::NoCacheDir)?,
    };
    Ok(cache.join("k8s").join(pinned_k8s_version()?))
}

/// The binaries in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Checks that `dir` holds an executable file for every component and `kubectl`.
    ///
    /// # Errors
    /// [`BinariesError::Missing`] naming every missing file and how to build them.
    pub fn find(dir: &Path) -> Result<Self, BinariesError> {
        let names = Component::ALL
            .iter()
            .map(|c| c.name())
            .chain(std::iter::once("kubectl"));
        let missing: Vec<&str> = names.filter(|n| !is_executable(&dir.join(n))).collect();
        if missing.is_empty() {
            Ok(Self {
                dir: dir.to_path_buf(),
            })
        } else {
            Err(BinariesError::Missing {
                dir: dir.to_path_buf(),
                missing: missing.join(", "),
            })
        }
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The binary of one component.
    #[must_use]
    pub fn component(&self, c: Component) -> PathBuf {
        self.dir.join(c.name())
    }

    /// kubectl.
    #[must_use]
    pub fn kubectl(&self) -> PathBuf {
        self.dir.join("kubectl")
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_a_require_block_or_line() {
        let block = "module x\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 v3.7.0\n\tk8s.io/kubernetes v1.37.2\n)\n";
        assert_eq!(k8s_version_from_go_mod(block), Some("v1.37.2"));
        assert_eq!(
            k8s_version_from_go_mod("require k8s.io/kubernetes v1.36.3\n"),
            Some("v1.36.3")
        );
        // A replace line's right-hand side is not a requirement.
        assert_eq!(
            k8s_version_from_go_mod("replace k8s.io/api => k8s.io/api v0.37.2\n"),
            None
        );
    }

    #[test]
    fn the_compiled_in_go_mod_pins_a_release() {
        let v = pinned_k8s_version().expect("pinned");
        assert!(v.starts_with("v1."), "{v}");
    }

    #[test]
    fn missing_binaries_are_all_named_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("etcd"), "").expect("write");
        let err = Binaries::find(dir.path()).expect_err("missing");
        let msg = err.to_string();
        for name in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kubectl",
        ] {
            assert!(msg.contains(name), "{msg}");
        }
        assert!(msg.contains("hack/build-k8s"), "{msg}");
    }
}
