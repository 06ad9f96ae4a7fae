//! Prerequisites on the machine that tests need (binaries, images, virtualenvs), found or
//! failed with a message saying what to run: a test never skips because one is missing.
//!
//! Every cached prerequisite lives under [`cache_dir`] (`$NAVIGATOR_CACHE`, else
//! `~/.cache/navigator`), where `hack/install-prereqs`, `hack/build-k8s` and `hack/build-images`
//! put them.

use std::path::PathBuf;

use crate::devenv::cache_dir;

/// The Go tools module pinning the Kubernetes release whose binaries `hack/build-k8s` builds.
const TOOLS_GO_MOD: &str = include_str!("../../../tools/k8s/go.mod");

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

/// The `k8s.io/kubernetes` version a Go module file requires (`v1.37.2`). Pure.
pub fn k8s_version_in(go_mod: &str) -> Option<&str> {
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

/// The Kubernetes version `tools/k8s/go.mod` pins (the binaries `hack/build-k8s` builds).
pub fn pinned_k8s_version() -> &'static str {
    k8s_version_in(TOOLS_GO_MOD).expect("tools/k8s/go.mod requires k8s.io/kubernetes")
}

/// Where a Go-built Kubernetes binary (`kubectl`, `kube-apiserver`, `etcd`, …) is:
/// `$DEVENV_BIN_DIR/<name>` when that is set, else `<cache>/k8s/<pinned version>/<name>` (what
/// `hack/build-k8s` builds). Does not check that it exists: see [`k8s_binary`].
pub fn k8s_binary_path(name: &str) -> PathBuf {
    match std::env::var_os("DEVENV_BIN_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join(name),
        None => cache_dir()
            .join("k8s")
            .join(pinned_k8s_version())
            .join(name),
    }
}

/// A Go-built Kubernetes binary ([`k8s_binary_path`]); panics saying what to run when it is
/// missing.
pub fn k8s_binary(name: &str) -> PathBuf {
    require_path(
        k8s_binary_path(name),
        "run hack/build-k8s (part of hack/install-prereqs), or set DEVENV_BIN_DIR to the \
         directory it prints",
    )
}

/// The kubectl tests run: `$NAVIGATOR_KUBECTL` when set, else the Go-built one
/// ([`k8s_binary`]). Panics saying what to install when it is missing.
pub fn kubectl() -> PathBuf {
    match std::env::var_os("NAVIGATOR_KUBECTL").filter(|p| !p.is_empty()) {
        Some(p) => require_path(
            PathBuf::from(p),
            "NAVIGATOR_KUBECTL names no file (unset it to use hack/build-k8s' kubectl)",
        ),
        None => k8s_binary("kubectl"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubernetes_version_comes_from_the_go_module() {
        let cases = [
            (
                "module x\n\nrequire (\n\tk8s.io/kubernetes v1.37.2\n)\n",
                Some("v1.37.2"),
            ),
            ("require k8s.io/kubernetes v1.30.0\n", Some("v1.30.0")),
            ("require (\n\tk8s.io/kubernetes-x v1.1.1\n)\n", None),
            ("\tk8s.io/kubernetes => ./staging\n", None),
            ("", None),
        ];
        for (go_mod, want) in cases {
            assert_eq!(k8s_version_in(go_mod), want, "{go_mod:?}");
        }
        assert!(pinned_k8s_version().starts_with("v1."));
    }
}
