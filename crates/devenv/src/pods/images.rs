//! The image map (`crates/devenv/images.yaml`): which host directories and default command a
//! container `image` stands for. Parsing, matching and command resolution are pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// An error loading the image map.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file could not be read.
    #[error("cannot read the image map {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid image map.
    #[error("{path} is not a valid image map")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML error.
        #[source]
        source: serde_yaml::Error,
    },
}

/// The whole map: entries in priority order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ImageMap {
    /// The entries; the first whose `match` fits an image reference wins.
    pub images: Vec<ImageEntry>,
}

/// One entry of the map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageEntry {
    /// Glob on the full image reference.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Host paths bound into the pod's root.
    #[serde(default)]
    pub binds: Vec<ImageBind>,
    /// Docker ENTRYPOINT.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// Docker CMD.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// Default environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Default working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
}

/// A host path bound into the pod's root.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageBind {
    /// Host path (with `${VAR}` references).
    pub source: String,
    /// Absolute path inside the pod.
    pub target: String,
    /// The host directory itself, shared and writable (default: a directory is the lower layer
    /// of the container's own writable overlay, a file a read-only bind).
    #[serde(default)]
    pub writable: bool,
}

/// An image resolved against the host: what the sandbox binds and runs by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The entry's pattern (for messages).
    pub pattern: String,
    /// (host source, target, writable).
    pub binds: Vec<(PathBuf, String, bool)>,
    /// ENTRYPOINT.
    pub entrypoint: Vec<String>,
    /// CMD.
    pub cmd: Vec<String>,
    /// Default environment.
    pub env: BTreeMap<String, String>,
    /// Default working directory.
    pub working_dir: Option<String>,
}

/// Why an image cannot be run (the pod waits with `ErrImagePull`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// No entry matches.
    #[error("image {0} is not in devenv's image map (crates/devenv/images.yaml)")]
    Unknown(String),
    /// A bind's source does not exist on the host.
    #[error("image {image}: {path} does not exist (build the image directory first)")]
    Missing {
        /// The image reference.
        image: String,
        /// The missing host path.
        path: PathBuf,
    },
}

impl ImageMap {
    /// Parses YAML text. Pure.
    ///
    /// # Errors
    /// The YAML error.
    pub fn parse(text: &str) -> Result<Self, serde_yaml::Error> {
        serde_yaml::from_str(text)
    }

    /// Reads and parses `path`.
    ///
    /// # Errors
    /// [`ImageError`].
    pub fn load(path: &Path) -> Result<Self, ImageError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImageError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|source| ImageError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The first entry matching `image`. Pure.
    #[must_use]
    pub fn find(&self, image: &str) -> Option<&ImageEntry> {
        self.images.iter().find(|e| glob(&e.pattern, image))
    }

    /// Resolves `image`: finds its entry and expands `${VAR}` in bind sources with `var`. Pure
    /// (does not check that the sources exist; see [`check_exists`]).
    ///
    /// # Errors
    /// [`Unavailable::Unknown`] when no entry matches.
    pub fn resolve(
        &self,
        image: &str,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedImage, Unavailable> {
        let e = self
            .find(image)
            .ok_or_else(|| Unavailable::Unknown(image.to_owned()))?;
        Ok(ResolvedImage {
            pattern: e.pattern.clone(),
            binds: e
                .binds
                .iter()
                .map(|b| {
                    (
                        PathBuf::from(expand_vars(&b.source, var)),
                        b.target.clone(),
                        b.writable,
                    )
                })
                .collect(),
            entrypoint: e.entrypoint.clone(),
            cmd: e.cmd.clone(),
            env: e.env.clone(),
            working_dir: e.working_dir.clone(),
        })
    }
}

/// Checks that every bind source of `img` exists.
///
/// # Errors
/// [`Unavailable::Missing`] naming the first missing path.
pub fn check_exists(image: &str, img: &ResolvedImage) -> Result<(), Unavailable> {
    for (src, _, _) in &img.binds {
        if !src.exists() {
            return Err(Unavailable::Missing {
                image: image.to_owned(),
                path: src.clone(),
            });
        }
    }
    Ok(())
}

/// The argv a container runs, Docker/Kubernetes style: `command` replaces ENTRYPOINT, `args`
/// replaces CMD, and CMD is dropped when `command` is given. Pure.
#[must_use]
pub fn argv(img: &ResolvedImage, command: &[String], args: &[String]) -> Vec<String> {
    let mut v = if command.is_empty() {
        img.entrypoint.clone()
    } else {
        command.to_vec()
    };
    if !args.is_empty() {
        v.extend(args.iter().cloned());
    } else if command.is_empty() {
        v.extend(img.cmd.iter().cloned());
    }
    v
}

/// Glob match with `*` (any run) and `?` (one character). Pure.
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Replaces `${NAME}` with `var(NAME)` (empty when undefined). Pure.
#[must_use]
pub fn expand_vars(s: &str, var: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        if let Some(j) = after.find('}') {
            out.push_str(&var(&after[..j]).unwrap_or_default());
            rest = &after[j + 1..];
        } else {
            out.push_str(&rest[i..]);
            rest = "";
        }
    }
    out.push_str(rest);
    out
}

/// The variables of the image map from the runner's environment (see [`image_var`]).
#[must_use]
pub fn host_var(name: &str) -> Option<String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(|p| p.to_string_lossy().into_owned());
    image_var(name, &|k| std::env::var(k).ok(), repo.as_deref())
}

/// The value of `${name}` in the image map, given an environment lookup `env` and the workspace
/// root `repo`: `IMAGES` (`$NAVIGATOR_CACHE/images`, default `~/.cache/navigator/images`),
/// `K8S_BIN` (`$DEVENV_BIN_DIR`, default `$NAVIGATOR_CACHE/k8s/<pinned version>` where
/// `hack/build-k8s` caches etcd and the control plane), `TARGET` (`$CARGO_TARGET_DIR`, default
/// `<repo>/target`), `REPO`, then any environment variable. Empty variables count as unset. Pure.
#[must_use]
pub fn image_var(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    repo: Option<&str>,
) -> Option<String> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let cache =
        || env("NAVIGATOR_CACHE").or_else(|| env("HOME").map(|h| format!("{h}/.cache/navigator")));
    match name {
        "IMAGES" => cache().map(|c| format!("{c}/images")),
        "K8S_BIN" => env("DEVENV_BIN_DIR").or_else(|| {
            let version = crate::binaries::pinned_k8s_version().ok()?;
            cache().map(|c| format!("{c}/k8s/{version}"))
        }),
        "TARGET" => env("CARGO_TARGET_DIR").or_else(|| repo.map(|r| format!("{r}/target"))),
        "REPO" => repo.map(str::to_owned),
        other => env(other),
    }
}

/// The image map shipped with devenv (`crates/devenv/images.yaml`), unless `DEVENV_IMAGES` names
/// another file.
#[must_use]
pub fn default_path() -> PathBuf {
    std::env::var_os("DEVENV_IMAGES")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("images.yaml"),
            PathBuf::from,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("busybox*", "busybox", true),
            ("busybox*", "busybox:1.36", true),
            ("cassandra:5.0*", "cassandra:5.0.6", true),
            ("cassandra:5.0*", "cassandra:4.1", false),
            ("navigator-test/*", "navigator-test/http:1", true),
            ("*/pilot:*", "quay.io/jetstack/pilot:v1", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("", "", true),
            ("x", "", false),
        ] {
            assert_eq!(glob(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn the_shipped_map_parses_and_busybox_is_host_root() {
        let m = ImageMap::parse(include_str!("../../images.yaml")).expect("parse");
        let img = m.resolve("busybox:1.36", &|_| None).expect("busybox");
        assert!(img.binds.is_empty());
        assert_eq!(img.cmd, s(&["sh"]));
        assert_eq!(
            m.resolve("nosuch:1", &|_| None),
            Err(Unavailable::Unknown("nosuch:1".into()))
        );
    }

    #[test]
    fn first_match_wins_and_vars_expand() {
        let m = ImageMap::parse(
            r"
images:
  - match: 'cassandra:5.0*'
    binds: [{source: '${IMAGES}/cassandra/5.0.6', target: /opt/cassandra}]
    entrypoint: [/opt/cassandra/bin/cassandra]
    cmd: ['-f']
    env: {CASSANDRA_HOME: /opt/cassandra}
  - match: '*'
",
        )
        .expect("parse");
        let img = m
            .resolve("cassandra:5.0.6", &|v| {
                (v == "IMAGES").then(|| "/c/images".into())
            })
            .expect("resolve");
        assert_eq!(
            img.binds,
            vec![(
                PathBuf::from("/c/images/cassandra/5.0.6"),
                "/opt/cassandra".to_owned(),
                false
            )]
        );
        assert_eq!(img.env["CASSANDRA_HOME"], "/opt/cassandra");
        assert!(m.resolve("other", &|_| None).is_ok());
        assert!(ImageMap::parse("images: [{match: x, bogus: 1}]").is_err());
    }

    #[test]
    fn argv_follows_docker_and_kubernetes_rules() {
        let img = ResolvedImage {
            pattern: String::new(),
            binds: vec![],
            entrypoint: s(&["/ep"]),
            cmd: s(&["-f"]),
            env: BTreeMap::new(),
            working_dir: None,
        };
        assert_eq!(argv(&img, &[], &[]), s(&["/ep", "-f"]));
        assert_eq!(argv(&img, &[], &s(&["x"])), s(&["/ep", "x"]));
        assert_eq!(argv(&img, &s(&["sh"]), &[]), s(&["sh"]));
        assert_eq!(
            argv(&img, &s(&["sh"]), &s(&["-c", "y"])),
            s(&["sh", "-c", "y"])
        );
    }

    #[test]
    fn image_vars_follow_the_cache_and_target_conventions() {
        let k8s = crate::binaries::pinned_k8s_version().expect("pinned version");
        let repo = Some("/w");
        for (env, name, want) in [
            (
                vec![("HOME", "/h")],
                "IMAGES",
                Some("/h/.cache/navigator/images".to_owned()),
            ),
            (
                vec![("HOME", "/h"), ("NAVIGATOR_CACHE", "/c")],
                "IMAGES",
                Some("/c/images".to_owned()),
            ),
            (
                vec![("HOME", "/h"), ("NAVIGATOR_CACHE", "")],
                "IMAGES",
                Some("/h/.cache/navigator/images".to_owned()),
            ),
            (vec![], "IMAGES", None),
            (
                vec![("HOME", "/h")],
                "K8S_BIN",
                Some(format!("/h/.cache/navigator/k8s/{k8s}")),
            ),
            (
                vec![("NAVIGATOR_CACHE", "/c")],
                "K8S_BIN",
                Some(format!("/c/k8s/{k8s}")),
            ),
            (
                vec![("NAVIGATOR_CACHE", "/c"), ("DEVENV_BIN_DIR", "/bin-dir")],
                "K8S_BIN",
                Some("/bin-dir".to_owned()),
            ),
            (vec![], "K8S_BIN", None),
            (vec![], "TARGET", Some("/w/target".to_owned())),
            (
                vec![("CARGO_TARGET_DIR", "/t")],
                "TARGET",
                Some("/t".to_owned()),
            ),
            (vec![], "REPO", Some("/w".to_owned())),
            (vec![("FOO", "bar")], "FOO", Some("bar".to_owned())),
            (vec![("FOO", "")], "FOO", None),
        ] {
            let lookup = |k: &str| {
                env.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            };
            assert_eq!(image_var(name, &lookup, repo), want, "{name} with {env:?}");
        }
    }

    #[test]
    fn navigator_images_and_etcd_resolve_to_the_workspace_and_cache_binaries() {
        let m = ImageMap::parse(include_str!("../../images.yaml")).expect("parse");
        let k8s = crate::binaries::pinned_k8s_version().expect("pinned version");
        let var = |n: &str| image_var(n, &|k| (k == "HOME").then(|| "/h".to_owned()), Some("/w"));
        let bind = |src: &str, target: &str| (PathBuf::from(src), target.to_owned(), false);
        for (image, binds, entrypoint) in [
            (
                "navigator-apiserver:0.1.0",
                vec![bind(
                    "/w/target/release/navigator-apiserver",
                    "/usr/local/bin/navigator-apiserver",
                )],
                s(&["/usr/local/bin/navigator-apiserver"]),
            ),
            (
                "registry.local/navigator-controller:0.1.0",
                vec![bind(
                    "/w/target/release/navigator-controller",
                    "/usr/local/bin/navigator-controller",
                )],
                s(&["/usr/local/bin/navigator-controller"]),
            ),
            (
                "navigator-pilot:dev",
                vec![
                    bind(
                        "/w/target/release/pilot-cassandra",
                        "/usr/local/bin/pilot-cassandra",
                    ),
                    bind(
                        "/w/target/release/pilot-elasticsearch",
                        "/usr/local/bin/pilot-elasticsearch",
                    ),
                ],
                vec![],
            ),
            (
                "registry.k8s.io/etcd:3.6.5-0",
                vec![bind(
                    &format!("/h/.cache/navigator/k8s/{k8s}/etcd"),
                    "/usr/local/bin/etcd",
                )],
                s(&["/usr/local/bin/etcd"]),
            ),
            (
                "quay.io/coreos/etcd:v3.6.5",
                vec![bind(
                    &format!("/h/.cache/navigator/k8s/{k8s}/etcd"),
                    "/usr/local/bin/etcd",
                )],
                s(&["/usr/local/bin/etcd"]),
            ),
        ] {
            let img = m.resolve(image, &var).expect(image);
            assert_eq!(img.binds, binds, "{image}");
            assert_eq!(img.entrypoint, entrypoint, "{image}");
        }
    }

    #[test]
    fn expand_vars_leaves_unclosed_references() {
        let v = |n: &str| (n == "A").then(|| "1".to_owned());
        assert_eq!(expand_vars("${A}/${B}/x", &v), "1//x");
        assert_eq!(expand_vars("${A", &v), "${A");
    }
}
