//! What the store does when an etcd member fails: pure decisions, no I/O (the store's request
//! loop in [`crate::store`] carries them out).
//!
//! The failure this guards against: the member the store talks to dies while it is the raft
//! leader. The store's requests move to another member at once, but that member keeps following
//! the dead leader until its election timeout runs out (etcd's default: 1 s, randomised up to
//! 2 s). A write it receives meanwhile is forwarded to the dead leader and silently dropped, and
//! etcd answers the client only after its own request timeout (5 s + two election timeouts):
//! the request stalls, then fails with an unknown outcome. So after a member's connection
//! fails, a request is held — unsent, so nothing can be applied twice — until the member it
//! goes to follows a live leader, which takes one election, typically 1–2 s.

/// What a request about to go to a member does, given what that member says its leader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// The member follows a live leader: send.
    Send,
    /// The member has no leader yet, or still follows the member whose connection failed:
    /// hold the request (unsent) and ask again shortly.
    Wait,
}

/// Decides whether a request may go to a member that reports `leader` (0: none known) while
/// the member with id `lost` (if its id is known) has lost its connection. Pure.
pub(crate) fn gate(leader: u64, lost: Option<u64>) -> Gate {
    match (leader, lost) {
        (0, _) => Gate::Wait,
        (leader, Some(lost)) if leader == lost => Gate::Wait,
        _ => Gate::Send,
    }
}

/// Whether a failed request can have been applied by etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// It never reached etcd (no connection, or held until the deadline).
    No,
    /// It was sent and no answer came back: etcd may have applied it.
    Maybe,
}

/// The message of a request that failed for want of a reachable member or a leader: what
/// failed, why, and whether it may have been applied (retrying a create that was applied meets
/// `AlreadyExists`; a caller deciding to retry needs to know). Pure.
pub(crate) fn unavailable(what: &str, why: &str, applied: Applied) -> String {
    let outcome = match applied {
        Applied::No => "it was not applied",
        Applied::Maybe => "it may have been applied",
    };
    format!("etcd {what}: {why}; {outcome}")
}

/// The member id (etcd's) that lists `endpoint` among its client URLs, from a member list of
/// `(id, client URLs)`. Trailing slashes are ignored. Pure.
pub(crate) fn member_with_endpoint<'a>(
    members: impl IntoIterator<Item = (u64, &'a [String])>,
    endpoint: &str,
) -> Option<u64> {
    let endpoint = endpoint.trim_end_matches('/');
    members
        .into_iter()
        .find(|(_, urls)| urls.iter().any(|u| u.trim_end_matches('/') == endpoint))
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_waits_while_its_member_has_no_live_leader() {
        let cases = [
            // (leader reported, id of the member whose connection failed, decision)
            (0, Some(7), Gate::Wait),
            (0, None, Gate::Wait),
            (7, Some(7), Gate::Wait),
            (8, Some(7), Gate::Send),
            (8, None, Gate::Send),
        ];
        for (leader, lost, want) in cases {
            assert_eq!(gate(leader, lost), want, "leader {leader}, lost {lost:?}");
        }
    }

    #[test]
    fn failure_messages_say_whether_the_request_was_applied() {
        assert_eq!(
            unavailable("txn", "no leader within 5s", Applied::No),
            "etcd txn: no leader within 5s; it was not applied"
        );
        assert_eq!(
            unavailable("txn", "connection lost", Applied::Maybe),
            "etcd txn: connection lost; it may have been applied"
        );
    }

    #[test]
    fn members_are_found_by_their_client_urls() {
        let a = vec!["http://127.0.0.1:2379".to_owned()];
        let b = vec![
            "http://10.0.0.2:2379/".to_owned(),
            "http://etcd-1:2379".to_owned(),
        ];
        let list = [(1, a.as_slice()), (2, b.as_slice())];
        assert_eq!(
            member_with_endpoint(list, "http://127.0.0.1:2379/"),
            Some(1)
        );
        assert_eq!(member_with_endpoint(list, "http://etcd-1:2379"), Some(2));
        assert_eq!(member_with_endpoint(list, "http://10.0.0.2:2379"), Some(2));
        assert_eq!(member_with_endpoint(list, "http://etcd-9:2379"), None);
    }
}
