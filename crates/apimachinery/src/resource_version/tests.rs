use super::*;
use crate::store::encode_continue;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

const PREFIX: &str = "/registry/g/things/";

fn q<'a>(rv: Option<&'a str>, m: Option<&'a str>, limit: Option<i64>) -> ListQuery<'a> {
    ListQuery {
        resource_version: rv,
        resource_version_match: m,
        limit,
        ..ListQuery::default()
    }
}

#[test]
fn parse_resource_version_like_go() {
    assert_eq!(parse_resource_version(""), Ok(0));
    assert_eq!(parse_resource_version("0"), Ok(0));
    assert_eq!(parse_resource_version("42"), Ok(42));
    assert_eq!(parse_resource_version("18446744073709551615"), Ok(u64::MAX));
    for bad in ["abc", "-1", "+1", "1.0", " 1", "0x10"] {
        assert_eq!(
            parse_resource_version(bad).map_err(|e| e.to_string()),
            Err(format!(
                "strconv.ParseUint: parsing \"{bad}\": invalid syntax"
            ))
        );
    }
    assert_eq!(
        parse_resource_version("18446744073709551616").map_err(|e| e.to_string()),
        Err("strconv.ParseUint: parsing \"18446744073709551616\": value out of range".to_owned())
    );
}

#[test]
fn get_reads() {
    assert_eq!(plan_get(None), Ok(Read::Latest));
    assert_eq!(plan_get(Some("")), Ok(Read::Latest));
    assert_eq!(plan_get(Some("0")), Ok(Read::Any));
    assert_eq!(plan_get(Some("7")), Ok(Read::NotOlderThan(7)));
    let err = plan_get(Some("x")).expect_err("bad rv");
    assert_eq!((err.code(), err.reason()), (400, "BadRequest"));
    assert_eq!(
        err.message(),
        "invalid resource version: resourceVersion: Invalid value: \"x\": strconv.ParseUint: parsing \"x\": invalid syntax"
    );
}

/// The table of the conventions checklist (§2.4), row by row.
#[test]
fn list_reads_follow_the_resource_version_table() {
    let cases = [
        (q(None, None, None), Read::Latest),
        (q(None, None, Some(500)), Read::Latest),
        (q(Some("0"), None, None), Read::Any),
        (q(Some("0"), None, Some(500)), Read::Any),
        (q(Some("5"), None, None), Read::NotOlderThan(5)),
        (q(Some("5"), None, Some(0)), Read::NotOlderThan(5)),
        (q(Some("5"), None, Some(500)), Read::Exact(5)),
        (q(Some("0"), Some("NotOlderThan"), None), Read::Any),
        (
            q(Some("5"), Some("NotOlderThan"), Some(500)),
            Read::NotOlderThan(5),
        ),
        (q(Some("5"), Some("Exact"), None), Read::Exact(5)),
    ];
    for (query, want) in cases {
        assert_eq!(
            plan_list(&query, PREFIX),
            Ok(ListPlan {
                read: want,
                start: None
            }),
            "{query:?}"
        );
    }
}

#[test]
fn list_option_errors_are_collected_422s() {
    let cases: Vec<(ListQuery<'_>, &str)> = vec![
        (
            q(None, Some("Exact"), None),
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            q(Some("0"), Some("Exact"), None),
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ),
        (
            q(Some("1"), Some("Bogus"), None),
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported value: \"Bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\"",
        ),
        (
            ListQuery {
                continue_token: Some("tok"),
                ..q(None, Some("Bogus"), None)
            },
            "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided, resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided, resourceVersionMatch: Unsupported value: \"Bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\"]",
        ),
        (
            ListQuery {
                send_initial_events: Some(true),
                ..q(None, None, None)
            },
            "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list",
        ),
    ];
    for (query, want) in cases {
        let err = plan_list(&query, PREFIX).expect_err(want);
        assert_eq!(
            (err.code(), err.reason(), err.message().as_str()),
            (422, "Invalid", want)
        );
    }
}

#[test]
fn list_with_continue_tokens() {
    let token = encode_continue(&format!("{PREFIX}ns/b\u{0}"), PREFIX, 12).expect("token");
    let with = |rv: Option<&'static str>, t: &str| {
        plan_list(
            &ListQuery {
                continue_token: Some(t),
                ..q(rv, None, Some(2))
            },
            PREFIX,
        )
    };
    let want = Ok(ListPlan {
        read: Read::Exact(12),
        start: Some(format!("{PREFIX}ns/b\u{0}")),
    });
    assert_eq!(with(None, &token), want);
    assert_eq!(
        with(Some("0"), &token),
        want,
        "rv 0 is allowed with continue"
    );
    let err = with(Some("3"), &token).expect_err("rv with continue");
    assert_eq!(
        (err.code(), err.message()),
        (
            400,
            "specifying resource version is not allowed when using continue".to_owned()
        )
    );
    let latest = encode_continue(&format!("{PREFIX}ns/b\u{0}"), PREFIX, -1).expect("token");
    assert_eq!(
        with(None, &latest).map(|p| p.read),
        Ok(Read::Latest),
        "rv -1 continues at latest"
    );
    let err = with(None, "garbage!").expect_err("bad token");
    assert_eq!(err.code(), 400);
    assert!(
        err.message()
            .starts_with("invalid continue token: continue key is not valid"),
        "{}",
        err.message()
    );
    let err = plan_list(&q(Some("abc"), None, None), PREFIX).expect_err("bad rv");
    assert_eq!(err.code(), 400);
}

#[test]
fn watch_starts() {
    let r = GroupResource::new("navigator.jetstack.io", "pilots");
    let w = |rv: Option<&'static str>, m: Option<&'static str>, sie: Option<bool>| {
        plan_watch(
            &ListQuery {
                send_initial_events: sie,
                ..q(rv, m, None)
            },
            &r,
            true,
        )
    };
    let initial = |read, bookmark| WatchStart::InitialState {
        read,
        initial_events_end_bookmark: bookmark,
    };
    assert_eq!(w(None, None, None), Ok(initial(Read::Latest, false)));
    assert_eq!(w(Some("0"), None, None), Ok(initial(Read::Any, false)));
    assert_eq!(w(Some("9"), None, None), Ok(WatchStart::After(9)));
    assert_eq!(
        w(None, Some("NotOlderThan"), Some(true)),
        Ok(initial(Read::Latest, true))
    );
    assert_eq!(
        w(Some("0"), Some("NotOlderThan"), Some(true)),
        Ok(initial(Read::Any, true))
    );
    assert_eq!(
        w(Some("9"), Some("NotOlderThan"), Some(true)),
        Ok(initial(Read::NotOlderThan(9), true))
    );
    assert_eq!(
        w(None, Some("NotOlderThan"), Some(false)),
        Ok(WatchStart::Now)
    );
    assert_eq!(
        w(Some("9"), Some("NotOlderThan"), Some(false)),
        Ok(WatchStart::After(9))
    );

    let err = w(None, None, Some(true)).expect_err("no match");
    assert_eq!(
        err.message(),
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    );
    let err = w(Some("1"), Some("Exact"), None).expect_err("match without sie");
    assert_eq!(
        err.message(),
        "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided, resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"]"
    );
    let err = plan_watch(
        &ListQuery {
            send_initial_events: Some(true),
            ..q(None, Some("NotOlderThan"), None)
        },
        &r,
        false,
    )
    .expect_err("gate off");
    assert!(err.message().contains(
        "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
    ));
    let err = w(Some("x"), None, None).expect_err("bad rv");
    assert_eq!((err.code(), err.reason()), (422, "Invalid"));
    assert_eq!(
        err.message(),
        "pilots.navigator.jetstack.io \"\" is invalid: resourceVersion: Invalid value: \"x\": strconv.ParseUint: parsing \"x\": invalid syntax"
    );
}

#[test]
fn not_older_than_checks() {
    assert_eq!(check_not_older_than(Read::Latest, 5), Ok(()));
    assert_eq!(check_not_older_than(Read::NotOlderThan(5), 5), Ok(()));
    let err = check_not_older_than(Read::NotOlderThan(6), 5).expect_err("future");
    assert_eq!(
        (err.code(), err.message()),
        (
            504,
            "Timeout: Too large resource version: 6, current: 5".to_owned()
        )
    );
    assert!(check_not_older_than(Read::Exact(9), 5).is_err());
}

proptest! {
    #[test]
    fn planners_never_panic(
        rv in proptest::option::of("\\PC{0,12}"),
        m in proptest::option::of(prop_oneof![Just("Exact".to_owned()), Just("NotOlderThan".to_owned()), "\\PC{0,6}"]),
        limit in proptest::option::of(any::<i64>()),
        cont in proptest::option::of("\\PC{0,20}"),
        sie in proptest::option::of(any::<bool>()),
    ) {
        let query = ListQuery {
            resource_version: rv.as_deref(),
            resource_version_match: m.as_deref(),
            limit,
            continue_token: cont.as_deref(),
            send_initial_events: sie,
        };
        let _ = plan_list(&query, PREFIX);
        let _ = plan_watch(&query, &GroupResource::new("g", "r"), true);
        let _ = plan_get(rv.as_deref());
    }

    #[test]
    fn decimal_resource_versions_parse(n in any::<u64>()) {
        prop_assert_eq!(parse_resource_version(&n.to_string()), Ok(n));
    }
}
