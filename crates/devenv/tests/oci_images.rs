//! Navigator's OCI images (`hack/build-oci-images`, docs/images.md) read back by real OCI tools,
//! and devenv's image map running the same binaries under the same names.
//!
//! `#[ignore]`d (needs root, umoci, skopeo, busybox-static and the four release binaries); run by
//! `hack/test-devenv` after its `cargo build --release`. Builds the images into a temporary
//! `NAVIGATOR_CACHE` with `--no-build`, then for each archive: the index and manifest media types
//! (`skopeo inspect --raw`), the config (`skopeo inspect --config`: non-root numeric user, the
//! documented entrypoint/cmd, ports, labels), the unpacked layer (`skopeo copy` to an OCI layout,
//! `umoci unpack`): the binaries are the release binaries (sha256), no shell, the pilot image's
//! `cp`; each image's program started in its own rootfs as the image's user (`chroot
//! --userspec`), the pilot copied out by the image's own `cp`; a rebuild gives the same layers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use devenv::pods::images::{self, ImageMap};
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn release_dir() -> PathBuf {
    PathBuf::from(images::host_var("TARGET").expect("a target directory")).join("release")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (install it: hack/install-prereqs)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).unwrap()
}

fn json(cmd: &mut Command) -> Value {
    serde_json::from_str(&stdout(cmd)).unwrap()
}

fn sha256(path: &Path) -> String {
    let out = stdout(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().unwrap().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// What each image must be.
struct Expected {
    name: &'static str,
    /// The binaries in /usr/local/bin, all from target/release.
    binaries: &'static [&'static str],
    entrypoint: &'static [&'static str],
    cmd: &'static [&'static str],
    ports: &'static [&'static str],
    /// The name devenv's image map resolves (same binaries at the same paths).
    map_reference: &'static str,
}

const IMAGES: [Expected; 3] = [
    Expected {
        name: "navigator-apiserver",
        binaries: &["navigator-apiserver"],
        entrypoint: &["/usr/local/bin/navigator-apiserver"],
        cmd: &[],
        ports: &["6443/tcp"],
        map_reference: "navigator-apiserver:0.1.0",
    },
    Expected {
        name: "navigator-controller",
        binaries: &["navigator-controller"],
        entrypoint: &["/usr/local/bin/navigator-controller"],
        cmd: &[],
        ports: &["8080/tcp"],
        map_reference: "registry.example/navigator-controller:0.1.0",
    },
    Expected {
        name: "navigator-pilot",
        binaries: &["pilot-cassandra", "pilot-elasticsearch"],
        entrypoint: &[],
        cmd: &["/usr/local/bin/pilot-cassandra", "--help"],
        ports: &[],
        map_reference: "navigator-pilot:dev",
    },
];

fn build(cache: &Path) -> Vec<PathBuf> {
    let out = stdout(
        Command::new(repo().join("hack/build-oci-images"))
            .arg("--no-build")
            .env("NAVIGATOR_CACHE", cache)
            // Fixed, so that a commit made meanwhile by someone else does not change the times.
            .env("SOURCE_DATE_EPOCH", "1700000000"),
    );
    out.lines().map(PathBuf::from).collect()
}

/// The digest of the image's only layer.
fn layer_digest(archive: &Path) -> String {
    let v = json(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(oci_archive(archive)),
    );
    v["layers"][0]["digest"].as_str().unwrap().to_owned()
}

fn oci_archive(archive: &Path) -> String {
    format!("oci-archive:{}", archive.display())
}

/// Runs `argv` in `rootfs` as `user` (uid:gid) with only the image's environment.
fn in_image(rootfs: &Path, user: &str, env: &[String], argv: &[&str]) -> Output {
    let mut cmd = Command::new("/usr/sbin/chroot");
    cmd.arg(format!("--userspec={user}"))
        .arg(rootfs)
        .args(argv)
        .env_clear();
    for kv in env {
        let (k, v) = kv.split_once('=').unwrap();
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
#[ignore = "needs root, umoci, skopeo, busybox-static and release binaries; run by hack/test-devenv"]
fn images_carry_the_release_binaries_as_non_root_with_their_entrypoints() {
    let release = release_dir();
    for e in &IMAGES {
        for b in e.binaries {
            assert!(
                release.join(b).is_file(),
                "{} is missing: cargo build --release -p navigator-apiserver -p \
                 navigator-controller -p pilot-cassandra -p pilot-elasticsearch",
                release.join(b).display()
            );
        }
    }
    assert_eq!(
        VERSION, "0.1.0",
        "update map_reference tags with the version"
    );
    let map = ImageMap::load(&images::default_path()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");

    let started = std::time::Instant::now();
    let archives = build(&cache);
    println!("TIMING build-oci-images {:?}", started.elapsed());
    let want: Vec<PathBuf> = IMAGES
        .iter()
        .map(|e| cache.join("oci").join(format!("{}-{VERSION}.tar", e.name)))
        .collect();
    assert_eq!(archives, want, "the paths printed");

    let mut digests = Vec::new();
    for (e, archive) in IMAGES.iter().zip(&archives) {
        let name = e.name;
        let size = std::fs::metadata(archive).unwrap().len();
        println!("{name}: {} ({size} bytes)", archive.display());

        // The archive's index names one manifest, tagged with the version.
        let index: Value = serde_json::from_str(&stdout(
            Command::new("tar")
                .arg("-xOf")
                .arg(archive)
                .arg("index.json"),
        ))
        .unwrap();
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 1, "{name}: {index}");
        assert_eq!(manifests[0]["mediaType"], OCI_MANIFEST, "{name}");
        assert_eq!(
            manifests[0]["annotations"]["org.opencontainers.image.ref.name"], VERSION,
            "{name}"
        );

        // The manifest: an OCI config and one gzip layer.
        let manifest = json(
            Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(oci_archive(archive)),
        );
        assert_eq!(manifest["schemaVersion"], 2, "{name}");
        assert_eq!(manifest["config"]["mediaType"], OCI_CONFIG, "{name}");
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "{name}: {manifest}");
        assert_eq!(layers[0]["mediaType"], OCI_LAYER_GZIP, "{name}");
        digests.push(layer_digest(archive));

        // The config: a numeric non-root user, the documented entrypoint and cmd.
        let config = json(
            Command::new("skopeo")
                .args(["inspect", "--config"])
                .arg(oci_archive(archive)),
        );
        assert_eq!(config["os"], "linux", "{name}");
        assert_eq!(config["architecture"], "amd64", "{name}");
        let c = &config["config"];
        let user = c["User"].as_str().unwrap().to_owned();
        let (uid, gid) = user.split_once(':').unwrap();
        let (uid, gid): (u32, u32) = (uid.parse().unwrap(), gid.parse().unwrap());
        assert!(uid != 0 && gid != 0, "{name}: user {user} is root");
        assert_eq!(strings(&c["Entrypoint"]), e.entrypoint, "{name}");
        assert_eq!(strings(&c["Cmd"]), e.cmd, "{name}");
        let ports: Vec<&str> = c["ExposedPorts"]
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(ports, e.ports, "{name}");
        let labels = &c["Labels"];
        assert_eq!(labels["org.opencontainers.image.title"], name);
        assert_eq!(labels["org.opencontainers.image.version"], VERSION);
        assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
        let env = strings(&c["Env"]);
        assert!(
            env.iter().any(|v| v.starts_with("PATH=")),
            "{name}: {env:?}"
        );

        // The layer, unpacked by umoci from an OCI layout skopeo copied out of the archive.
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        let layout = format!("{}:{VERSION}", dir.join("layout").display());
        run(Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(oci_archive(archive))
            .arg(format!("oci:{layout}")));
        let stat = json(Command::new("umoci").args(["stat", "--json", "--image", &layout]));
        assert_eq!(
            stat["history"].as_array().map(Vec::len),
            Some(1),
            "{name}: {stat}"
        );
        let bundle = dir.join("bundle");
        run(Command::new("umoci")
            .args(["unpack", "--image", &layout])
            .arg(&bundle));
        let rootfs = bundle.join("rootfs");
        for b in e.binaries {
            let inside = rootfs.join("usr/local/bin").join(b);
            assert_eq!(
                sha256(&inside),
                sha256(&release.join(b)),
                "{name}: /usr/local/bin/{b} is not target/release/{b}"
            );
        }
        let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
        assert!(
            passwd
                .lines()
                .any(|l| l.split(':').nth(2) == Some(&uid.to_string())),
            "{name}: no passwd entry for {uid}: {passwd}"
        );
        assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").is_file());
        for shell in ["bin/sh", "bin/bash", "usr/bin/sh"] {
            assert!(
                rootfs.join(shell).symlink_metadata().is_err(),
                "{name}: has /{shell}"
            );
        }

        // The program starts in its own rootfs (the image's loader and libraries) as the image's
        // user, with only the image's environment.
        let program = e.entrypoint.first().copied().unwrap_or_else(|| e.cmd[0]);
        let help = in_image(&rootfs, &user, &env, &[program, "--help"]);
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("Usage"),
            "{name}: {program} --help printed {help:?}"
        );

        // devenv's image map runs the same binaries at the same paths under the image's name.
        let resolved = map.resolve(e.map_reference, &images::host_var).unwrap();
        let mut bound: Vec<(String, String)> = resolved
            .binds
            .iter()
            .map(|(src, target, writable)| {
                assert!(!writable, "{name}: {target} bound writable");
                (target.clone(), sha256(src))
            })
            .collect();
        bound.sort();
        let mut in_layer: Vec<(String, String)> = e
            .binaries
            .iter()
            .map(|b| {
                let path = format!("/usr/local/bin/{b}");
                let sum = sha256(&rootfs.join(path.trim_start_matches('/')));
                (path, sum)
            })
            .collect();
        in_layer.sort();
        assert_eq!(bound, in_layer, "{name}: image map vs layer");
        assert_eq!(resolved.entrypoint, e.entrypoint, "{name}: image map");

        if name == "navigator-pilot" {
            // The controller's init container: `cp /usr/local/bin/pilot-… /shared/pilot`, `cp`
            // found on the image's PATH, run as the image's user.
            for b in e.binaries {
                let dest = format!("/tmp/{b}");
                in_image(
                    &rootfs,
                    &user,
                    &env,
                    &["cp", &format!("/usr/local/bin/{b}"), &dest],
                );
                let copied = rootfs.join(dest.trim_start_matches('/'));
                assert_eq!(sha256(&copied), sha256(&release.join(b)), "{name}: cp {b}");
                let help = in_image(&rootfs, &user, &env, &[&dest, "--help"]);
                assert!(String::from_utf8_lossy(&help.stdout).contains("Usage"));
            }
        }
    }

    // A rebuild of the same binaries gives the same layers (the config differs only when the
    // HEAD commit, its revision label, changed meanwhile).
    let again = build(&cache);
    let again: Vec<String> = again.iter().map(|a| layer_digest(a)).collect();
    assert_eq!(again, digests, "a rebuild changed the layers");
}
