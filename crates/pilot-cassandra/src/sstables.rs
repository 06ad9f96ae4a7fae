//! After a major-version upgrade, the pilot rewrites the node's SSTables in the running
//! version's format (`upgradesstables`) — its own data-safety step, with no request from the
//! controller. This module is the pure part: which release line's format the node's data was
//! last brought to, what the ring's members run (from gossip) and whether to run it now.
//!
//! The rule ([`decide`]): the record names the oldest format the node's data may hold. With no
//! record yet, the line whose format the node can bring its data to now ([`format_line`]) is
//! recorded and nothing runs. With an older major recorded, the pilot waits until the node is
//! NORMAL and every ring member runs the node's major, then runs `upgradeSSTables` on every
//! keyspace (skipping SSTables already in the current format) and records the new line. A
//! newer minor of the same major is only recorded.
//!
//! The line that counts is set by `storage_compatibility_mode` ([`crate::compatibility`]):
//! 5.0 under `CASSANDRA_4` still writes 4.x's `nb` format (and `upgradesstables` would skip
//! every `nb` file); under `UPGRADING` it writes 5.0's format but a return to `CASSANDRA_4`
//! (and 4.1) is still allowed, so nothing is rewritten yet. Both count as 4.0: a 4.1 → 5.0
//! upgrade records nothing new and rewrites nothing until the node runs under `NONE`, where
//! the data still recorded at 4.x is brought to 5.0's format. A node that first starts under
//! `UPGRADING` (a node added mid-upgrade, whose streamed data may be in `nb`) records 4.0; one
//! that first starts under `NONE` records 5.0.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::compatibility::StorageCompatibility;
use crate::mode::OperationMode;

/// The Gossiper MBean, whose `ReleaseVersionsWithPort` maps each release version gossip
/// knows to its endpoints (`address:port`, live and unreachable ones).
pub const GOSSIPER: &str = "org.apache.cassandra.net:type=Gossiper";

/// The Jolokia operation name of `StorageServiceMBean.upgradeSSTables(String keyspace,
/// boolean excludeCurrentVersion, int jobs, String... tables)` (4.1 and 5.0); it is
/// overloaded, so Jolokia needs the signature.
pub const UPGRADE_SSTABLES_OPERATION: &str =
    "upgradeSSTables(java.lang.String,boolean,int,[Ljava.lang.String;)";

/// A Cassandra release line: major and minor version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseLine {
    /// The major version (`5` of `5.0.8`).
    pub major: u64,
    /// The minor version (`0` of `5.0.8`).
    pub minor: u64,
}

impl ReleaseLine {
    /// The line of a version such as `5.0.8`, `4.1.10`, `5.0` or `5.0.8-SNAPSHOT`.
    pub fn parse(version: &str) -> Option<Self> {
        let mut parts = version.trim().split(['.', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }
}

impl fmt::Display for ReleaseLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What to do about the node's SSTables now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The data is at the running line already: nothing to do.
    UpToDate,
    /// Record the running line without running anything (no record yet, or a newer minor of
    /// the same major, or the node runs an older line than recorded).
    Record(ReleaseLine),
    /// Not yet; the reason says what is awaited.
    Wait(String),
    /// Run `upgradesstables` on every keyspace, then record this line.
    Run {
        /// The line recorded before.
        from: ReleaseLine,
        /// The running line, to record once every keyspace is done.
        to: ReleaseLine,
    },
}

/// The release line whose SSTable format a node running `running` under `mode` can bring
/// its data to: its own under `NONE` (or on a line without the setting, 4.x), else 4.0 (5.0
/// under `CASSANDRA_4` writes `nb`; under `UPGRADING` the rewrite waits for `NONE`).
pub fn format_line(running: ReleaseLine, mode: StorageCompatibility) -> ReleaseLine {
    match mode {
        StorageCompatibility::Cassandra4 | StorageCompatibility::Upgrading if running.major > 4 => {
            ReleaseLine { major: 4, minor: 0 }
        }
        _ => running,
    }
}

/// Decides whether to run `upgradesstables` now, from the line recorded for the node's data,
/// the running line, its `storage_compatibility_mode` (see [`format_line`]), the node's
/// operation mode, and the ring's members (addresses) with the version gossip says each runs
/// (`versions`, by address).
pub fn decide(
    recorded: Option<ReleaseLine>,
    running: ReleaseLine,
    compatibility: StorageCompatibility,
    mode: Option<&OperationMode>,
    ring_members: Option<&[String]>,
    versions: Option<&BTreeMap<String, String>>,
) -> Decision {
    let target = format_line(running, compatibility);
    let Some(from) = recorded else {
        return Decision::Record(target);
    };
    if from.major == target.major {
        // The same format major: a newer minor is recorded, nothing is rewritten (a line
        // held to an older format keeps the more precise record).
        return if target > from {
            Decision::Record(target)
        } else {
            Decision::UpToDate
        };
    }
    if from.major > target.major {
        // An older line than recorded (a downgrade): nothing to upgrade.
        return Decision::Record(target);
    }
    match mode {
        Some(OperationMode::Normal) => {}
        Some(m) => return Decision::Wait(format!("the node is {m}, not NORMAL")),
        None => return Decision::Wait("the node's operation mode is unknown".into()),
    }
    let (Some(members), Some(versions)) = (ring_members, versions) else {
        return Decision::Wait("the ring's members or their versions are unknown".into());
    };
    if members.is_empty() {
        return Decision::Wait("the ring's members are unknown".into());
    }
    let mut behind = Vec::new();
    for member in members {
        match versions.get(member).and_then(|v| ReleaseLine::parse(v)) {
            Some(line) if line.major == running.major => {}
            Some(_) => behind.push(format!("{member} runs {}", versions[member])),
            None => behind.push(format!("{member}'s version is unknown")),
        }
    }
    if behind.is_empty() {
        Decision::Run { from, to: target }
    } else {
        Decision::Wait(format!(
            "waiting for every ring member to run Cassandra {}: {}",
            running.major,
            behind.join(", ")
        ))
    }
}

/// Why the gossip versions could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The value is not a map of version to a list of endpoints.
    #[error("ReleaseVersionsWithPort is not a map of version to endpoints: {0}")]
    Shape(String),
}

/// Parses the Gossiper's `ReleaseVersionsWithPort` (`{"5.0.8": ["10.0.0.1:7000", …], …}`)
/// into the version of each endpoint's address (the port dropped, IPv6 brackets removed).
pub fn parse_release_versions(value: &Value) -> Result<BTreeMap<String, String>, Error> {
    let shape = || Error::Shape(value.to_string());
    let mut out = BTreeMap::new();
    for (version, endpoints) in value.as_object().ok_or_else(shape)? {
        for endpoint in endpoints.as_array().ok_or_else(shape)? {
            let endpoint = endpoint.as_str().ok_or_else(shape)?;
            out.insert(address_of(endpoint).to_owned(), version.clone());
        }
    }
    Ok(out)
}

/// The address of `address:port`, `[v6]:port`, or of a bare address.
fn address_of(endpoint: &str) -> &str {
    let endpoint = endpoint.trim().trim_start_matches('/');
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match endpoint.rsplit_once(':') {
        // One colon: IPv4 (or a host name) with a port; more: a bare IPv6 address.
        Some((address, port))
            if !address.contains(':') && port.chars().all(|c| c.is_ascii_digit()) =>
        {
            address
        }
        _ => endpoint,
    }
}

/// Whether the value `upgradeSSTables` returned means success (`0`; `1` aborted, `2` unable
/// to cancel other compactions).
pub fn upgrade_succeeded(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(0) => Ok(()),
        Some(1) => Err("aborted (status 1)".into()),
        Some(2) => Err("unable to cancel running compactions (status 2)".into()),
        _ => Err(format!("unexpected result {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn line(s: &str) -> ReleaseLine {
        ReleaseLine::parse(s).expect("a version")
    }

    #[test]
    fn release_lines_parse() {
        assert_eq!(
            ReleaseLine::parse("5.0.8"),
            Some(ReleaseLine { major: 5, minor: 0 })
        );
        assert_eq!(
            ReleaseLine::parse("4.1.10"),
            Some(ReleaseLine { major: 4, minor: 1 })
        );
        assert_eq!(ReleaseLine::parse("5.0"), Some(line("5.0.1")));
        assert_eq!(ReleaseLine::parse("5.1-SNAPSHOT"), Some(line("5.1.0")));
        assert_eq!(ReleaseLine::parse("5"), None);
        assert_eq!(ReleaseLine::parse("x.y"), None);
        assert_eq!(line("4.1.10").to_string(), "4.1");
    }

    /// Recorded line, running version, storage compatibility mode, operation mode, ring
    /// members, gossip versions, decision.
    type Case<'a> = (
        Option<&'a str>,
        &'a str,
        StorageCompatibility,
        Option<OperationMode>,
        Option<&'a Vec<String>>,
        Option<&'a BTreeMap<String, String>>,
        Decision,
    );

    #[test]
    fn decisions() {
        use OperationMode as M;
        use StorageCompatibility as S;
        let members = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let versions = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let empty: Vec<String> = Vec::new();
        let three = members(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        let all_5 = versions(&[
            ("10.0.0.1", "5.0.8"),
            ("10.0.0.2", "5.0.8"),
            ("10.0.0.3", "5.0.7"),
        ]);
        let one_4 = versions(&[
            ("10.0.0.1", "5.0.8"),
            ("10.0.0.2", "4.1.10"),
            ("10.0.0.3", "5.0.8"),
        ]);
        let one_missing = versions(&[("10.0.0.1", "5.0.8"), ("10.0.0.3", "5.0.8")]);
        // A node that left the ring but lingers in gossip does not hold the step back.
        let leftover_4 = versions(&[
            ("10.0.0.1", "5.0.8"),
            ("10.0.0.2", "5.0.8"),
            ("10.0.0.3", "5.0.8"),
            ("10.0.0.9", "4.1.10"),
        ]);
        let run = Decision::Run {
            from: line("4.1"),
            to: line("5.0"),
        };
        let wait = |s: &str| Decision::Wait(s.into());
        let cases: Vec<Case<'_>> = vec![
            // No record: record the line the data can be brought to now, run nothing.
            (
                None,
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&one_4),
                Decision::Record(line("5.0")),
            ),
            (
                None,
                "4.1.10",
                S::None,
                None,
                None,
                None,
                Decision::Record(line("4.1")),
            ),
            (
                None,
                "5.0.8",
                S::Cassandra4,
                None,
                None,
                None,
                Decision::Record(line("4.0")),
            ),
            // Same line: nothing.
            (
                Some("5.0"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::UpToDate,
            ),
            (
                Some("4.1"),
                "4.1.10",
                S::None,
                Some(M::Joining),
                None,
                None,
                Decision::UpToDate,
            ),
            // 5.0 held to CASSANDRA_4 writes 4.x's format: nothing to rewrite, 4.1 kept.
            (
                Some("4.1"),
                "5.0.8",
                S::Cassandra4,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::UpToDate,
            ),
            (
                Some("4.0"),
                "5.0.8",
                S::Cassandra4,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::UpToDate,
            ),
            // UPGRADING: 5.0's format is written, but nothing is rewritten before NONE.
            (
                Some("4.1"),
                "5.0.8",
                S::Upgrading,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::UpToDate,
            ),
            // A node first started under UPGRADING may have streamed nb files: 4.0.
            (
                None,
                "5.0.8",
                S::Upgrading,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::Record(line("4.0")),
            ),
            // The mode named for a 4.1 node changes nothing (it has no such setting).
            (
                Some("4.1"),
                "4.1.10",
                S::Upgrading,
                Some(M::Normal),
                Some(&three),
                Some(&one_4),
                Decision::UpToDate,
            ),
            // A newer minor, or an older line: record only.
            (
                Some("4.0"),
                "4.1.10",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::Record(line("4.1")),
            ),
            (
                Some("5.0"),
                "4.1.10",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::Record(line("4.1")),
            ),
            // NONE, an older major recorded, the whole ring on 5, NORMAL: run.
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                run.clone(),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&leftover_4),
                run.clone(),
            ),
            (
                Some("3.11"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::Run {
                    from: line("3.11"),
                    to: line("5.0"),
                },
            ),
            // Data of an older major on 5.0 held to 4: brought to 4.x's format (5 is what the
            // ring must run).
            (
                Some("3.11"),
                "5.0.8",
                S::Cassandra4,
                Some(M::Normal),
                Some(&three),
                Some(&all_5),
                Decision::Run {
                    from: line("3.11"),
                    to: line("4.0"),
                },
            ),
            // Not NORMAL yet.
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Joining),
                Some(&three),
                Some(&all_5),
                wait("the node is JOINING, not NORMAL"),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Drained),
                Some(&three),
                Some(&all_5),
                wait("the node is DRAINED, not NORMAL"),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                None,
                Some(&three),
                Some(&all_5),
                wait("the node's operation mode is unknown"),
            ),
            // The rolling upgrade is not over, or the ring is unknown.
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&one_4),
                wait("waiting for every ring member to run Cassandra 5: 10.0.0.2 runs 4.1.10"),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                Some(&one_missing),
                wait(
                    "waiting for every ring member to run Cassandra 5: 10.0.0.2's version is unknown",
                ),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                None,
                Some(&all_5),
                wait("the ring's members or their versions are unknown"),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&three),
                None,
                wait("the ring's members or their versions are unknown"),
            ),
            (
                Some("4.1"),
                "5.0.8",
                S::None,
                Some(M::Normal),
                Some(&empty),
                Some(&all_5),
                wait("the ring's members are unknown"),
            ),
        ];
        for (recorded, running, compatibility, mode, members, versions, want) in cases {
            let got = decide(
                recorded.map(line),
                line(running),
                compatibility,
                mode.as_ref(),
                members.map(Vec::as_slice),
                versions,
            );
            assert_eq!(got, want, "{recorded:?} {running} {mode:?}");
        }
    }

    #[test]
    fn format_lines() {
        use StorageCompatibility as S;
        assert_eq!(format_line(line("5.0.8"), S::Cassandra4), line("4.0"));
        assert_eq!(format_line(line("5.0.8"), S::Upgrading), line("4.0"));
        assert_eq!(format_line(line("5.0.8"), S::None), line("5.0"));
        assert_eq!(format_line(line("4.1.10"), S::None), line("4.1"));
        assert_eq!(format_line(line("4.1.10"), S::Cassandra4), line("4.1"));
    }

    #[test]
    fn gossip_versions_parse() {
        let value = json!({
            "5.0.8": ["10.0.0.1:7000", "/10.0.0.2:7000", "[fd00::3]:7000"],
            "4.1.10": ["10.0.0.4"]
        });
        let got = parse_release_versions(&value).expect("parses");
        let want: BTreeMap<String, String> = [
            ("10.0.0.1", "5.0.8"),
            ("10.0.0.2", "5.0.8"),
            ("fd00::3", "5.0.8"),
            ("10.0.0.4", "4.1.10"),
        ]
        .into_iter()
        .map(|(a, v)| (a.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(got, want);
        assert_eq!(address_of("fd00::3"), "fd00::3");
        assert!(parse_release_versions(&json!(["5.0.8"])).is_err());
        assert!(parse_release_versions(&json!({"5.0.8": "10.0.0.1:7000"})).is_err());
        assert!(parse_release_versions(&json!({"5.0.8": [7000]})).is_err());
    }

    #[test]
    fn upgrade_results() {
        assert_eq!(upgrade_succeeded(&json!(0)), Ok(()));
        assert!(upgrade_succeeded(&json!(1)).is_err());
        assert!(upgrade_succeeded(&json!(2)).is_err());
        assert!(upgrade_succeeded(&json!(null)).is_err());
    }
}
