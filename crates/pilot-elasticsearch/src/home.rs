//! The writable home the database runs from: the image's installation is read-only (and
//! shared), so the pilot builds one in its configuration directory: `bin/`, `lib/` and
//! `modules/` are symlinks to the image's, `plugins/` is a real directory (the image's
//! plugins symlinked into it, `--plugin` entries installed there), `config/` holds copies of
//! the image's configuration files and the rendered `<flavor>.yml`, `logs/` the logs.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::flavor::Flavor;

/// The directories linked from the image.
pub const LINKED: [&str; 3] = ["bin", "lib", "modules"];
/// The manifest of the plugins the pilot installed (source → plugin directory name), in the
/// home beside `plugins/`: the database takes every entry of `plugins/` for a plugin.
pub const PLUGIN_MANIFEST: &str = ".navigator-plugins.json";

/// The home could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The home would be the image's own installation.
    #[error(
        "the writable home {0} is the image's installation; give --config-dir another directory"
    )]
    SameAsImage(PathBuf),
    /// The image lacks a directory the database needs.
    #[error("the image's installation {0} has no {1}/ (is --home right?)")]
    NotAnInstallation(PathBuf, &'static str),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> HomeError {
    let context = context.into();
    move |source| HomeError::Io { context, source }
}

/// The writable home's paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    /// The image's installation (read-only).
    pub image: PathBuf,
    /// The writable home.
    pub dir: PathBuf,
}

impl Home {
    /// `config/` of the home.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// `plugins/` of the home.
    pub fn plugins_dir(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    /// `logs/` of the home.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// The launcher, through the home's `bin/` link.
    pub fn launcher(&self, flavor: Flavor) -> PathBuf {
        self.dir.join("bin").join(flavor.as_str())
    }

    /// The plugin tool, through the home's `bin/` link.
    pub fn plugin_tool(&self, flavor: Flavor) -> PathBuf {
        self.dir
            .join("bin")
            .join(format!("{}-plugin", flavor.as_str()))
    }

    /// Builds (or refreshes) the home: links, `plugins/` with the image's plugins linked in,
    /// `config/` with fresh copies of the image's configuration files except `<flavor>.yml`
    /// (rendered separately; a keystore is copied only when absent, the database may rewrite
    /// it), `logs/`.
    pub fn build(&self, flavor: Flavor) -> Result<(), HomeError> {
        let same = match (self.image.canonicalize(), self.dir.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.image == self.dir,
        };
        if same {
            return Err(HomeError::SameAsImage(self.dir.clone()));
        }
        for d in ["bin", "lib"] {
            if !self.image.join(d).is_dir() {
                return Err(HomeError::NotAnInstallation(self.image.clone(), d));
            }
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(io_err(format!("creating {}", self.dir.display())))?;
        for d in LINKED {
            let target = self.image.join(d);
            if target.exists() {
                link(&target, &self.dir.join(d))?;
            }
        }
        let plugins = self.plugins_dir();
        std::fs::create_dir_all(&plugins)
            .map_err(io_err(format!("creating {}", plugins.display())))?;
        if let Ok(entries) = std::fs::read_dir(self.image.join("plugins")) {
            for e in entries.filter_map(Result::ok) {
                let at = plugins.join(e.file_name());
                if std::fs::symlink_metadata(&at).is_err() {
                    link(&e.path(), &at)?;
                }
            }
        }
        let config = self.config_dir();
        copy_config(
            &self.image.join("config"),
            &config,
            flavor.config_file(),
            true,
        )?;
        std::fs::create_dir_all(self.logs_dir())
            .map_err(io_err(format!("creating {}", self.logs_dir().display())))?;
        Ok(())
    }
}

/// Makes `at` a symlink to `target`, replacing a wrong link.
fn link(target: &Path, at: &Path) -> Result<(), HomeError> {
    if let Ok(existing) = std::fs::read_link(at) {
        if existing == target {
            return Ok(());
        }
        std::fs::remove_file(at).map_err(io_err(format!("removing {}", at.display())))?;
    }
    std::os::unix::fs::symlink(target, at).map_err(io_err(format!(
        "linking {} to {}",
        at.display(),
        target.display()
    )))
}

fn copy_config(from: &Path, to: &Path, skip: &str, top: bool) -> Result<(), HomeError> {
    std::fs::create_dir_all(to).map_err(io_err(format!("creating {}", to.display())))?;
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let (src, dst) = (e.path(), to.join(&name));
        if top && name == skip {
            continue;
        }
        if src.is_dir() {
            copy_config(&src, &dst, skip, false)?;
        } else if name.to_string_lossy().ends_with(".keystore") && dst.exists() {
            continue;
        } else {
            std::fs::copy(&src, &dst).map_err(io_err(format!(
                "copying {} to {}",
                src.display(),
                dst.display()
            )))?;
        }
    }
    Ok(())
}

/// A `--plugin` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginSource {
    /// A name the plugin tool resolves (official plugins; needs the internet).
    Name(String),
    /// A URL (`https://`, `http://`, `file://`).
    Url(String),
    /// A zip on the file system.
    File(PathBuf),
}

impl PluginSource {
    /// Classifies an entry.
    pub fn parse(entry: &str) -> Self {
        let entry = entry.trim();
        if entry.contains("://") {
            Self::Url(entry.to_owned())
        } else if entry.starts_with('/') || entry.starts_with('.') || entry.ends_with(".zip") {
            Self::File(PathBuf::from(entry))
        } else {
            Self::Name(entry.to_owned())
        }
    }

    /// The plugin tool's argument: the name, the URL, or `file://<absolute path>`.
    pub fn install_arg(&self) -> String {
        match self {
            Self::Name(n) => n.clone(),
            Self::Url(u) => u.clone(),
            Self::File(p) => {
                let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                format!("file://{}", abs.display())
            }
        }
    }
}

/// The entries still to install: not recorded in the manifest with their directory present,
/// and (for names) not present as a directory of that name.
pub fn to_install(
    requested: &[String],
    manifest: &BTreeMap<String, String>,
    installed: &BTreeSet<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in requested.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let recorded = manifest
            .get(entry)
            .is_some_and(|dir| installed.contains(dir));
        let by_name =
            matches!(PluginSource::parse(entry), PluginSource::Name(n) if installed.contains(&n));
        if !recorded && !by_name && !out.iter().any(|e| e == entry) {
            out.push(entry.to_owned());
        }
    }
    out
}

/// The plugin directories in `plugins/` (hidden files are not plugins).
pub fn installed_plugins(plugins: &Path) -> BTreeSet<String> {
    std::fs::read_dir(plugins)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the plugin manifest of the home `dir` (empty when absent or unreadable).
pub fn read_manifest(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read(dir.join(PLUGIN_MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes the plugin manifest.
pub fn write_manifest(
    plugins: &Path,
    manifest: &BTreeMap<String, String>,
) -> Result<(), HomeError> {
    let path = plugins.join(PLUGIN_MANIFEST);
    let body = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    std::fs::write(&path, body).map_err(io_err(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn plugin_sources() {
        let cases = [
            ("analysis-icu", PluginSource::Name("analysis-icu".into())),
            (
                "https://x/y.zip",
                PluginSource::Url("https://x/y.zip".into()),
            ),
            (
                "file:///p/y.zip",
                PluginSource::Url("file:///p/y.zip".into()),
            ),
            ("/p/y.zip", PluginSource::File("/p/y.zip".into())),
        ];
        for (entry, want) in cases {
            assert_eq!(PluginSource::parse(entry), want, "{entry}");
        }
        assert_eq!(
            PluginSource::File("/p/y.zip".into()).install_arg(),
            "file:///p/y.zip"
        );
    }

    #[test]
    fn what_to_install() {
        let s = |v: &[&str]| v.iter().map(|n| (*n).to_owned()).collect::<Vec<String>>();
        let manifest: BTreeMap<String, String> =
            [("/p/phonetic.zip".to_owned(), "analysis-phonetic".to_owned())].into();
        let installed: BTreeSet<String> =
            ["analysis-phonetic".to_owned(), "analysis-icu".to_owned()].into();
        let requested = s(&[
            "/p/phonetic.zip",
            "analysis-icu",
            "analysis-kuromoji",
            "/p/other.zip",
            " ",
            "analysis-kuromoji",
        ]);
        assert_eq!(
            to_install(&requested, &manifest, &installed),
            s(&["analysis-kuromoji", "/p/other.zip"])
        );
        // A recorded plugin whose directory went away is installed again.
        assert_eq!(
            to_install(&s(&["/p/phonetic.zip"]), &manifest, &BTreeSet::new()),
            s(&["/p/phonetic.zip"])
        );
    }

    #[test]
    fn builds_a_home_twice() {
        let image = tempfile::tempdir().expect("tempdir");
        let i = image.path();
        for d in [
            "bin",
            "lib",
            "modules/transport",
            "plugins/repo",
            "config/jvm.options.d",
        ] {
            std::fs::create_dir_all(i.join(d)).expect("mkdir");
        }
        std::fs::write(i.join("bin/opensearch"), "#!/bin/sh\n").expect("write");
        std::fs::write(i.join("config/jvm.options"), "-Xmx1g\n").expect("write");
        std::fs::write(i.join("config/jvm.options.d/gc.options"), "-XX:+UseG1GC\n").expect("write");
        std::fs::write(i.join("config/opensearch.yml"), "cluster.name: x\n").expect("write");
        std::fs::write(i.join("config/opensearch.keystore"), "image").expect("write");
        let work = tempfile::tempdir().expect("tempdir");
        let home = Home {
            image: i.to_owned(),
            dir: work.path().join("home"),
        };
        for _ in 0..2 {
            home.build(Flavor::Opensearch).expect("build");
        }
        let h = &home.dir;
        assert_eq!(
            std::fs::read_link(h.join("bin")).expect("link"),
            i.join("bin")
        );
        assert_eq!(
            std::fs::read_link(h.join("modules")).expect("link"),
            i.join("modules")
        );
        assert_eq!(
            std::fs::read_link(h.join("plugins/repo")).expect("link"),
            i.join("plugins/repo")
        );
        assert!(h.join("plugins").is_dir() && std::fs::read_link(h.join("plugins")).is_err());
        assert_eq!(
            std::fs::read_to_string(h.join("config/jvm.options")).expect("read"),
            "-Xmx1g\n"
        );
        assert!(h.join("config/jvm.options.d/gc.options").is_file());
        assert!(!h.join("config/opensearch.yml").exists());
        assert!(h.join("logs").is_dir());
        assert!(home.launcher(Flavor::Opensearch).is_file());
        std::fs::write(h.join("config/opensearch.keystore"), "rewritten").expect("write");
        home.build(Flavor::Opensearch).expect("build");
        assert_eq!(
            std::fs::read_to_string(h.join("config/opensearch.keystore")).expect("read"),
            "rewritten"
        );
        let same = Home {
            image: i.to_owned(),
            dir: i.to_owned(),
        };
        assert!(matches!(
            same.build(Flavor::Opensearch),
            Err(HomeError::SameAsImage(_))
        ));
    }
}
