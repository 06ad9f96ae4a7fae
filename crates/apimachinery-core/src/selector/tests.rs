use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Go's `TestSelectorParse` good strings: they parse and re-render without spaces.
#[test]
fn label_parse_good_strings_round_trip_like_go() {
    for s in [
        "x=a,y=b,z=c",
        "",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "!x",
        "x>1",
        "x>1,z<5",
    ] {
        let sel = LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(sel.to_string(), s.replace(' ', ""), "{s}");
    }
}

#[test]
fn label_parse_sorts_and_normalises() {
    let cases = [
        ("x=a,a=x", "a=x,x=a"),
        ("z>5 , !y, x notin (b,a,b), w", "w,x notin (a,b),!y,z>5"),
        ("k in (c, a ,b)", "k in (a,b,c)"),
        ("k in ()", "k in ()"),
        ("k in (,)", "k in ()"),
        ("k in (a,,b)", "k in (,a,b)"),
        ("notin=in", "notin=in"),
        ("k==v", "k==v"),
        ("example.com/app-name=x", "example.com/app-name=x"),
        ("k in (in,notin)", "k in (in,notin)"),
    ];
    for (input, want) in cases {
        let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(sel.to_string(), want, "{input}");
    }
}

/// Error messages derived from Go's parser and validators, case by case.
#[test]
fn label_parse_errors_match_go() {
    let key_name_err = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let value_err = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let cases: Vec<(&str, String)> = vec![
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("x=a,", "found '', expected: identifier after ','".into()),
        ("x=a b", "found 'b', expected: ',' or 'end of string'".into()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
        ("x==a==b", "found '==', expected: ',' or 'end of string'".into()),
        ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
        ("x in a", "unable to parse requirement: found 'a' expected: '('".into()),
        ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".into()),
        ("x=(", "unable to parse requirement: found '(', expected: identifier".into()),
        ("!", "unable to parse requirement: found '', expected: identifier".into()),
        (
            "x<a",
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        ("-x", format!("unable to parse requirement: <nil>: Invalid value: \"-x\": {key_name_err}")),
        (
            "a/b/c",
            "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into(),
        ),
        (
            "/x",
            "unable to parse requirement: <nil>: Invalid value: \"/x\": prefix part must be non-empty".into(),
        ),
        (
            "Ex.com/x",
            "unable to parse requirement: <nil>: Invalid value: \"Ex.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
        ),
        (
            "x/",
            format!("unable to parse requirement: <nil>: Invalid value: \"x/\": name part must be non-empty; {key_name_err}"),
        ),
        (
            "x=a||y=b",
            format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {value_err}"),
        ),
        (
            "x>-1",
            format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {value_err}"),
        ),
        (
            "x in (a,-b)",
            format!("unable to parse requirement: values[0][x]: Invalid value: \"-b\": {value_err}"),
        ),
    ];
    for (input, want) in cases {
        let err = LabelSelector::parse(input).expect_err(input);
        assert_eq!(err.to_string(), want, "{input}");
    }
    let long = "a".repeat(64);
    let err = LabelSelector::parse(&format!("x={long}")).expect_err("long value");
    assert_eq!(
        err.to_string(),
        format!(
            "unable to parse requirement: values[0][x]: Invalid value: \"{long}\": must be no more than 63 bytes"
        )
    );
}

/// Go's `TestSelectorMatches`, plus the operators it leaves out.
#[test]
fn label_matches_like_go() {
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool);
    let cases: Vec<Case<'_>> = vec![
        ("", vec![("x", "y")], true),
        ("x=y", vec![("x", "y")], true),
        ("x=y,z=w", vec![("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", vec![("x", "z"), ("z", "a")], true),
        ("notin=in", vec![("notin", "in")], true),
        ("x", vec![("x", "z")], true),
        ("!x", vec![("y", "z")], true),
        ("x>1", vec![("x", "2")], true),
        ("x<1", vec![("x", "0")], true),
        ("x=z", vec![], false),
        ("x=y", vec![("x", "z")], false),
        ("x=y,z=w", vec![("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", vec![("x", "z"), ("z", "w")], false),
        ("x", vec![("y", "z")], false),
        ("!x", vec![("x", "z")], false),
        ("x>1", vec![("x", "0")], false),
        ("x<1", vec![("x", "2")], false),
        ("x>1", vec![("x", "abc")], false),
        ("x>1", vec![], false),
        ("x!=y", vec![], true),
        ("x in (a,b)", vec![("x", "b")], true),
        ("x in (a,b)", vec![("x", "c")], false),
        ("x in (a,b)", vec![], false),
        ("x notin (a,b)", vec![], true),
        ("x notin (a,b)", vec![("x", "a")], false),
        ("x in ()", vec![("x", "")], true),
        ("x=", vec![("x", "")], true),
        ("x=", vec![], false),
    ];
    for (sel, set, want) in cases {
        let parsed = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
        assert_eq!(parsed.matches(&labels(&set)), want, "{sel} against {set:?}");
        assert_eq!(
            parsed.matches(set.as_slice()),
            want,
            "{sel} against slice {set:?}"
        );
    }
}

#[test]
fn from_metav1_label_selector() {
    use meta::LabelSelectorRequirement as Req;
    let sel = meta::LabelSelector {
        match_labels: Some(labels(&[("app", "db"), ("tier", "data")])),
        match_expressions: Some(vec![
            Req {
                key: "zone".into(),
                operator: "In".into(),
                values: Some(vec!["b".into(), "a".into()]),
            },
            Req {
                key: "legacy".into(),
                operator: "DoesNotExist".into(),
                values: None,
            },
        ]),
    };
    let parsed = LabelSelector::from_metav1(&sel).expect("valid");
    assert_eq!(parsed.to_string(), "app=db,!legacy,tier=data,zone in (a,b)");
    assert!(parsed.matches(&labels(&[("app", "db"), ("tier", "data"), ("zone", "a")])));
    assert!(!parsed.matches(&labels(&[("app", "db"), ("tier", "data"), ("zone", "c")])));
    assert!(
        LabelSelector::from_metav1(&meta::LabelSelector::default())
            .expect("empty")
            .is_empty()
    );

    let bad_op = meta::LabelSelector {
        match_expressions: Some(vec![Req {
            key: "k".into(),
            operator: "Gt".into(),
            values: None,
        }]),
        ..Default::default()
    };
    assert_eq!(
        LabelSelector::from_metav1(&bad_op)
            .expect_err("Gt")
            .to_string(),
        "\"Gt\" is not a valid label selector operator"
    );
    let empty_in = meta::LabelSelector {
        match_expressions: Some(vec![Req {
            key: "k".into(),
            operator: "In".into(),
            values: Some(vec![]),
        }]),
        ..Default::default()
    };
    assert_eq!(
        LabelSelector::from_metav1(&empty_in)
            .expect_err("empty in")
            .to_string(),
        "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"
    );
    let exists_with_values = meta::LabelSelector {
        match_expressions: Some(vec![Req {
            key: "k".into(),
            operator: "Exists".into(),
            values: Some(vec!["a".into()]),
        }]),
        ..Default::default()
    };
    assert_eq!(
        LabelSelector::from_metav1(&exists_with_values)
            .expect_err("exists")
            .to_string(),
        "values: Invalid value: [\"a\"]: values set must be empty for exists and does not exist"
    );
}

#[test]
fn requirement_new_collects_every_error() {
    let err = Requirement::new("-k", Operator::GreaterThan, vec!["a".into(), "b".into()])
        .expect_err("three problems");
    let msg = err.to_string();
    assert!(
        msg.starts_with("[key: Invalid value: \"-k\": name part must consist"),
        "{msg}"
    );
    assert!(msg.contains("values: Invalid value: [\"a\",\"b\"]: for 'Gt', 'Lt' operators, exactly one value is required"), "{msg}");
    assert!(msg.contains("values[1]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer]"), "{msg}");
}

/// Go's `TestSplitTerms`, through the public parser, and `TestEscapeValue`.
#[test]
fn field_split_and_escape_like_go() {
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("a", vec!["a"]),
        ("a=avalue,b=bvalue", vec!["a=avalue", "b=bvalue"]),
        ("", vec![]),
        ("a=a,", vec!["a=a", ""]),
        (r"k=\,,k2=v2", vec![r"k=\,", "k2=v2"]),
        (r"k=\\,k2=v2", vec![r"k=\\", "k2=v2"]),
        (r"k=\\\,,k2=v2", vec![r"k=\\\,", "k2=v2"]),
        (r"k=\a\b\", vec![r"k=\a\b\"]),
        ("함=수,목=록", vec!["함=수", "목=록"]),
    ];
    for (input, want) in cases {
        assert_eq!(split_terms(input), want, "{input}");
    }
    for (raw, escaped) in [
        ("", ""),
        ("a", "a"),
        ("=", r"\="),
        (",", r"\,"),
        ("\\", r"\\"),
        (r"\=\,\", r"\\\=\\\,\\"),
    ] {
        assert_eq!(escape_field_value(raw), escaped);
        assert_eq!(unescape_field_value(escaped).as_deref(), Ok(raw));
    }
    for bad in [r"\", r"\\\", r"\a"] {
        assert!(
            matches!(
                unescape_field_value(bad),
                Err(SelectorError::InvalidEscape(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn field_parse_render_and_errors_like_go() {
    for good in ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"] {
        let sel = FieldSelector::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(sel.to_string(), good);
    }
    assert_eq!(
        FieldSelector::parse("x=a,a=x")
            .map(|s| s.to_string())
            .as_deref(),
        Ok("a=x,x=a")
    );
    assert_eq!(
        FieldSelector::parse("a==b")
            .map(|s| s.to_string())
            .as_deref(),
        Ok("a=b")
    );
    let cases = [
        (
            "x=a||y=b",
            "invalid field selector: unescaped character in value: 61",
        ),
        (
            "x==a==b",
            "invalid field selector: unescaped character in value: 61",
        ),
        ("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"),
        (
            "x in (a)",
            "invalid selector: 'x in (a)'; can't understand 'x in (a)'",
        ),
        ("x", "invalid selector: 'x'; can't understand 'x'"),
        (
            r"x=\q",
            r"invalid field selector: invalid escape sequence: \q",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            FieldSelector::parse(input).expect_err(input).to_string(),
            want,
            "{input}"
        );
    }
}

#[test]
fn field_matches_exact_match_and_known_fields() {
    let sel =
        FieldSelector::parse("metadata.name=demo,metadata.namespace!=kube-system").expect("ok");
    let fields = labels(&[("metadata.name", "demo"), ("metadata.namespace", "default")]);
    assert!(sel.matches(&fields));
    assert!(!sel.matches(&labels(&[
        ("metadata.name", "demo"),
        ("metadata.namespace", "kube-system")
    ])));
    assert!(
        !sel.matches(&labels(&[])),
        "missing field compares as empty string"
    );
    assert!(
        FieldSelector::parse("spec.x=")
            .expect("ok")
            .matches(&labels(&[]))
    );
    assert_eq!(sel.requires_exact_match("metadata.name"), Some("demo"));
    assert_eq!(sel.requires_exact_match("metadata.namespace"), None);
    assert_eq!(
        sel.validate_fields(&["metadata.name", "metadata.namespace"]),
        Ok(())
    );
    let err = FieldSelector::parse("spec.foo=1")
        .expect("ok")
        .validate_fields(&["metadata.name", "metadata.namespace"])
        .expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9]", "[A-Za-z0-9][-A-Za-z0-9_.]{0,10}[A-Za-z0-9]"]
        .prop_filter("not a keyword", |s| s != "in" && s != "notin")
}

fn label_key() -> impl Strategy<Value = String> {
    (
        proptest::option::of("[a-z0-9]{1,5}(\\.[a-z0-9]{1,5}){0,2}"),
        label_name(),
    )
        .prop_map(|(prefix, name)| prefix.map_or(name.clone(), |p| format!("{p}/{name}")))
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), label_name()]
}

fn requirement() -> impl Strategy<Value = Requirement> {
    let values = proptest::collection::vec(label_value(), 1..4);
    (label_key(), 0..9u8, values, any::<i32>()).prop_map(|(key, op, values, n)| {
        let (operator, values) = match op {
            0 => (Operator::In, values),
            1 => (Operator::NotIn, values),
            2 => (Operator::Equals, values[..1].to_vec()),
            3 => (Operator::DoubleEquals, values[..1].to_vec()),
            4 => (Operator::NotEquals, values[..1].to_vec()),
            5 => (Operator::GreaterThan, vec![n.unsigned_abs().to_string()]),
            6 => (Operator::LessThan, vec![n.unsigned_abs().to_string()]),
            7 => (Operator::Exists, vec![]),
            _ => (Operator::DoesNotExist, vec![]),
        };
        Requirement::new(key, operator, values).expect("generated requirement is valid")
    })
}

proptest! {
    #[test]
    fn label_parse_render_round_trip(reqs in proptest::collection::vec(requirement(), 0..5)) {
        let sel = LabelSelector::from_requirements(reqs);
        let text = sel.to_string();
        prop_assert_eq!(LabelSelector::parse(&text), Ok(sel), "{}", text);
    }

    #[test]
    fn label_parser_never_panics(input in "\\PC*") {
        let _ = LabelSelector::parse(&input);
    }

    #[test]
    fn label_parser_never_panics_on_selector_alphabet(input in "[a-z!=<>(), in]{0,30}") {
        if let Ok(sel) = LabelSelector::parse(&input) {
            // Anything that parses renders to something that parses to the same selector.
            prop_assert_eq!(LabelSelector::parse(&sel.to_string()), Ok(sel));
        }
    }

    #[test]
    fn field_parse_render_round_trip(
        terms in proptest::collection::vec(("[a-z.]{1,10}", any::<bool>(), "\\PC{0,8}"), 0..4)
    ) {
        let mut terms: Vec<FieldTerm> = terms
            .into_iter()
            .map(|(field, eq, value)| FieldTerm {
                field,
                operator: if eq { FieldOperator::Equals } else { FieldOperator::NotEquals },
                value,
            })
            .collect();
        // Go sorts terms by their rendered text.
        terms.sort_by_key(|t| FieldSelector::from_terms(vec![t.clone()]).to_string());
        let sel = FieldSelector::from_terms(terms);
        let text = sel.to_string();
        prop_assert_eq!(FieldSelector::parse(&text), Ok(sel), "{}", text);
    }

    #[test]
    fn field_parser_never_panics(input in "\\PC*") {
        let _ = FieldSelector::parse(&input);
    }

    #[test]
    fn escape_unescape_round_trip(value in "\\PC*") {
        prop_assert_eq!(unescape_field_value(&escape_field_value(&value)), Ok(value));
    }
}
