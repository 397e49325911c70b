//! Tests of the package diff: small packages built here, one kind of change at a
//! time, then the real JP-CLINS and eCheckupReport packages.

use super::*;
use serde_json::json;

const BASE: &str = "http://example.org/StructureDefinition/";

/// A package of `resources` (file names from type and position).
fn package(version: &str, resources: &[Value]) -> Package {
    let mut files = BTreeMap::new();
    files.insert(
        "package/package.json".to_owned(),
        serde_json::to_vec(&json!({
            "name": "example.ig",
            "version": version,
            "dependencies": {"hl7.fhir.r4.core": "4.0.1"}
        }))
        .unwrap(),
    );
    for (i, r) in resources.iter().enumerate() {
        let ty = r["resourceType"].as_str().unwrap_or("Unknown");
        files.insert(
            format!("package/{ty}-{i:03}.json"),
            serde_json::to_vec(r).unwrap(),
        );
    }
    Package {
        name: "example.ig".into(),
        version: version.into(),
        files,
    }
}

/// A profile of Condition named `name` with these snapshot elements.
fn sd(name: &str, elements: Vec<Value>) -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "id": name,
        "url": format!("{BASE}{name}"),
        "name": name,
        "version": "1",
        "status": "active",
        "type": "Condition",
        "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Condition",
        "snapshot": {"element": elements},
    })
}

/// The path of an element id (slice names dropped).
fn path_of(id: &str) -> String {
    id.split('.')
        .map(|seg| seg.split(':').next().unwrap_or(seg))
        .collect::<Vec<_>>()
        .join(".")
}

/// An element `min..max` whose base has the same cardinality.
fn el(id: &str, min: u64, max: &str) -> Value {
    el_base(id, (min, max), (min, max))
}

/// An element `min..max` over a base `base_min..base_max`.
fn el_base(id: &str, (min, max): (u64, &str), (bmin, bmax): (u64, &str)) -> Value {
    let path = path_of(id);
    let mut e = json!({
        "id": id,
        "path": path,
        "short": "documentation",
        "min": min,
        "max": max,
        "base": {"path": path, "min": bmin, "max": bmax},
    });
    if let Some(slice) = id.rsplit('.').next().and_then(|s| s.split_once(':')) {
        e["sliceName"] = json!(slice.1);
    }
    e
}

/// `v` with the fields of `extra` added or replaced.
fn with(mut v: Value, extra: Value) -> Value {
    if let (Some(o), Value::Object(x)) = (v.as_object_mut(), extra) {
        for (k, val) in x {
            o.insert(k, val);
        }
    }
    v
}

/// The element changes of the profile `name` (element, kind), in order.
fn changes(d: &PackageDiff, name: &str) -> Vec<(String, ElementChangeKind)> {
    let p = d
        .profiles
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not among the changed profiles"));
    p.elements
        .iter()
        .map(|c| (c.element.clone(), c.kind.clone()))
        .collect()
}

fn card(old: &str, new: &str) -> ElementChangeKind {
    ElementChangeKind::Cardinality(Change {
        old: old.into(),
        new: new.into(),
    })
}

fn must_support(old: bool, new: bool) -> ElementChangeKind {
    ElementChangeKind::MustSupport(Change { old, new })
}

fn one_profile_diff(old: Vec<Value>, new: Vec<Value>) -> PackageDiff {
    diff(
        &package("1.0.0", &[sd("P", old)]),
        &package("1.0.0", &[sd("P", new)]),
    )
}

#[test]
fn definitions_added_removed_and_their_header_changes() {
    let a_old = sd("A", vec![el("Condition", 0, "*")]);
    let a_new = with(
        a_old.clone(),
        json!({"version": "2", "status": "draft",
               "baseDefinition": format!("{BASE}Base")}),
    );
    let d = diff(
        &package("1.0.0", &[a_old, sd("B", vec![el("Condition", 0, "*")])]),
        &package("1.0.0", &[a_new, sd("C", vec![el("Condition", 0, "*")])]),
    );
    let summary: Vec<(&str, Presence)> = d
        .profiles
        .iter()
        .map(|p| (p.name.as_str(), p.presence))
        .collect();
    assert_eq!(
        summary,
        [
            ("A", Presence::Changed),
            ("B", Presence::Removed),
            ("C", Presence::Added)
        ]
    );
    let a = &d.profiles[0];
    assert_eq!((a.version.old.as_str(), a.version.new.as_str()), ("1", "2"));
    assert_eq!(a.status.new, "draft");
    assert_eq!(a.base_definition.new, format!("{BASE}Base"));
    assert!(a.elements.is_empty());
    let c = d.counts["StructureDefinition"];
    assert_eq!(
        (c.old, c.new, c.added, c.removed, c.changed, c.unchanged),
        (2, 2, 1, 1, 1, 0)
    );
    assert!(!d.is_empty());
}

#[test]
fn cardinality_and_must_support() {
    let d = one_profile_diff(
        vec![el("Condition", 0, "*"), el("Condition.code", 0, "1")],
        vec![
            el("Condition", 0, "*"),
            with(el("Condition.code", 1, "1"), json!({"mustSupport": true})),
        ],
    );
    assert_eq!(
        changes(&d, "P"),
        [
            ("Condition.code".into(), card("0..1", "1..1")),
            ("Condition.code".into(), must_support(false, true)),
        ]
    );
    assert!(
        d.render_markdown()
            .contains("- `Condition.code`: 0..1 → 1..1; mustSupport added\n")
    );
}

#[test]
fn an_expanded_data_type_is_compared_with_its_base() {
    let old = vec![
        el("Condition", 0, "*"),
        el("Condition.clinicalStatus", 0, "1"),
        el("Condition.clinicalStatus.coding", 1, "*"),
    ];
    let mut new = old.clone();
    new.push(el("Condition.clinicalStatus.coding.id", 0, "1"));
    new.push(with(
        el_base(
            "Condition.clinicalStatus.coding.display",
            (1, "1"),
            (0, "1"),
        ),
        json!({"mustSupport": true}),
    ));
    let d = one_profile_diff(old.clone(), new.clone());
    let display = "Condition.clinicalStatus.coding.display".to_owned();
    assert_eq!(
        changes(&d, "P"),
        [
            (display.clone(), card("0..1", "1..1")),
            (display.clone(), must_support(false, true)),
        ]
    );
    assert_eq!(d.profiles[0].snapshot_only, 1, "coding.id only expanded");

    // The other way round: the snapshot no longer expands coding.
    let back = one_profile_diff(new, old);
    assert_eq!(
        changes(&back, "P"),
        [
            (display.clone(), card("1..1", "0..1")),
            (display, must_support(true, false)),
        ]
    );
}

#[test]
fn a_slice_is_added_or_removed_once_its_children_only_where_constrained() {
    let old = vec![
        el("Condition", 0, "*"),
        with(
            el("Condition.code.coding", 0, "*"),
            json!({"slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}}),
        ),
        with(
            el_base("Condition.code.coding:a", (0, "1"), (0, "*")),
            json!({"type": [{"code": "Coding"}]}),
        ),
        with(
            el_base("Condition.code.coding:a.system", (1, "1"), (0, "1")),
            json!({"fixedUri": "urn:a"}),
        ),
    ];
    let new = vec![
        old[0].clone(),
        old[1].clone(),
        with(
            el_base("Condition.code.coding:b", (0, "1"), (0, "*")),
            json!({"type": [{"code": "Coding"}]}),
        ),
        with(
            el_base("Condition.code.coding:b.system", (1, "1"), (0, "1")),
            json!({"fixedUri": "urn:b"}),
        ),
        el("Condition.code.coding:b.code", 0, "1"),
    ];
    let d = one_profile_diff(old, new);
    // A removed element stays where it was: after the last element both share.
    assert_eq!(
        changes(&d, "P"),
        [
            (
                "Condition.code.coding:a".into(),
                ElementChangeKind::Removed {
                    cardinality: "0..1".into()
                }
            ),
            (
                "Condition.code.coding:b".into(),
                ElementChangeKind::Added {
                    cardinality: "0..1".into(),
                    types: vec![TypeRef {
                        code: "Coding".into(),
                        profiles: vec![],
                        target_profiles: vec![],
                    }],
                }
            ),
            (
                "Condition.code.coding:b.system".into(),
                card("0..1", "1..1")
            ),
            (
                "Condition.code.coding:b.system".into(),
                ElementChangeKind::Fixed(Change {
                    old: None,
                    new: Some(("Uri".into(), json!("urn:b"))),
                })
            ),
        ]
    );
    assert_eq!(d.profiles[0].snapshot_only, 1, "coding:b.code is plain");
    // In Markdown the new slice's children share its line.
    let md = d.render_markdown();
    assert!(
        md.contains(
            "- `Condition.code.coding:b`: added 0..1 Coding — `system` 1..1, fixedUri `\"urn:b\"`\n"
        ),
        "{md}"
    );
    assert!(md.contains("- `Condition.code.coding:a`: removed (was 0..1)\n"));
}

#[test]
fn types_profiles_and_target_profiles() {
    let subject = |targets: &[&str]| {
        with(
            el("Condition.subject", 1, "1"),
            json!({"type": [{"code": "Reference", "targetProfile": targets}]}),
        )
    };
    let d = one_profile_diff(
        vec![
            el("Condition", 0, "*"),
            subject(&["http://x/JP_Patient"]),
            with(
                el("Condition.note", 0, "*"),
                json!({"type": [{"code": "string"}]}),
            ),
        ],
        vec![
            el("Condition", 0, "*"),
            subject(&["http://x/JP_Patient_eCS", "http://x/JP_Group"]),
            with(
                el("Condition.note", 0, "*"),
                json!({"type": [{"code": "Annotation", "profile": ["http://x/JP_Note"]}]}),
            ),
        ],
    );
    let kinds = changes(&d, "P");
    let ElementChangeKind::Types(t) = &kinds[0].1 else {
        panic!("{kinds:?}")
    };
    assert_eq!(
        t.new[0].target_profiles,
        ["http://x/JP_Group", "http://x/JP_Patient_eCS"],
        "sorted"
    );
    let md = d.render_markdown();
    assert!(md.contains(
        "- `Condition.subject`: type Reference(JP_Patient) → Reference(JP_Group|JP_Patient_eCS)\n"
    ));
    assert!(md.contains("- `Condition.note`: type string → Annotation<JP_Note>\n"));
}

#[test]
fn fixed_and_pattern_values_added_removed_changed() {
    let d = one_profile_diff(
        vec![
            el("Condition", 0, "*"),
            with(el("Condition.a", 0, "1"), json!({"fixedCode": "x"})),
            with(el("Condition.b", 0, "1"), json!({"fixedUri": "urn:b"})),
            el("Condition.c", 0, "1"),
        ],
        vec![
            el("Condition", 0, "*"),
            with(el("Condition.a", 0, "1"), json!({"fixedCode": "y"})),
            el("Condition.b", 0, "1"),
            with(
                el("Condition.c", 0, "1"),
                json!({"patternCodeableConcept": {"coding": [{"system": "urn:s", "code": "1"}]}}),
            ),
        ],
    );
    let md = d.render_markdown();
    for line in [
        "- `Condition.a`: fixedCode `\"x\"` → `\"y\"`\n",
        "- `Condition.b`: fixedUri `\"urn:b\"` removed\n",
        "- `Condition.c`: patternCodeableConcept `{\"coding\":[{\"system\":\"urn:s\",\"code\":\"1\"}]}` added\n",
    ] {
        assert!(md.contains(line), "{line} missing from\n{md}");
    }
    assert_eq!(changes(&d, "P").len(), 3);
}

#[test]
fn bindings_strength_and_value_set_example_bindings_are_documentation() {
    let bound = |id: &str, strength: &str, vs: &str| {
        with(
            el(id, 0, "1"),
            json!({"binding": {"strength": strength, "valueSet": vs}}),
        )
    };
    let d = one_profile_diff(
        vec![
            el("Condition", 0, "*"),
            bound("Condition.a", "extensible", "urn:vs:a"),
            bound("Condition.b", "required", "urn:vs:b"),
            bound("Condition.c", "example", "urn:vs:c"),
        ],
        vec![
            el("Condition", 0, "*"),
            bound("Condition.a", "required", "urn:vs:a"),
            bound("Condition.b", "required", "urn:vs:b2"),
            el("Condition.c", 0, "1"),
        ],
    );
    let md = d.render_markdown();
    assert!(md.contains("- `Condition.a`: binding extensible → required (`urn:vs:a`)\n"));
    assert!(md.contains("- `Condition.b`: binding required `urn:vs:b` → required `urn:vs:b2`\n"));
    assert_eq!(changes(&d, "P").len(), 2);
    assert_eq!(d.profiles[0].documentation_changes, 1, "example binding");
}

fn invariant(key: &str, severity: &str, expression: &str, human: &str) -> Value {
    json!({"key": key, "severity": severity, "expression": expression, "human": human})
}

#[test]
fn invariants_by_key() {
    let root =
        |constraints: Vec<Value>| with(el("Condition", 0, "*"), json!({"constraint": constraints}));
    let d = one_profile_diff(
        vec![root(vec![
            invariant("gone", "error", "a.exists()", "A"),
            invariant("expr", "error", "b.exists()", "B"),
            invariant("sev", "warning", "c.exists()", "C"),
            invariant("doc", "error", "d.exists()", "D"),
        ])],
        vec![root(vec![
            invariant("expr", "error", "b.exists().not()", "B"),
            invariant("sev", "error", "c.exists()", "C"),
            invariant("doc", "error", "d.exists()", "D, reworded"),
            invariant("new", "error", "e.exists()", "R9017O: e is required"),
        ])],
    );
    let inv = |k: &str, s: &str, e: &str, h: &str| Invariant {
        key: k.into(),
        severity: s.into(),
        expression: e.into(),
        human: h.into(),
    };
    let changed = |k: &str, s: (&str, &str), e: (&str, &str)| ElementChangeKind::InvariantChanged {
        key: k.into(),
        severity: Change {
            old: s.0.into(),
            new: s.1.into(),
        },
        expression: Change {
            old: e.0.into(),
            new: e.1.into(),
        },
    };
    let root_id = "Condition".to_owned();
    assert_eq!(
        changes(&d, "P"),
        [
            (
                root_id.clone(),
                changed(
                    "expr",
                    ("error", "error"),
                    ("b.exists()", "b.exists().not()")
                )
            ),
            (
                root_id.clone(),
                ElementChangeKind::InvariantRemoved(inv("gone", "error", "a.exists()", "A"))
            ),
            (
                root_id.clone(),
                ElementChangeKind::InvariantAdded(inv(
                    "new",
                    "error",
                    "e.exists()",
                    "R9017O: e is required"
                ))
            ),
            (
                root_id,
                changed("sev", ("warning", "error"), ("c.exists()", "c.exists()"))
            ),
        ]
    );
    let md = d.render_markdown();
    assert!(md.contains(
        "- `Condition`: invariant `new` added (error): R9017O: e is required — `e.exists()`\n"
    ));
    assert!(md.contains("- `Condition`: invariant `sev` changed: severity warning → error\n"));
    assert!(md.contains(
        "- `Condition`: invariant `expr` changed: expression `b.exists()` → `b.exists().not()`\n"
    ));
}

#[test]
fn long_expressions_are_shortened_in_markdown_never_in_json() {
    let long_old = format!("{}='x'{}", "a.".repeat(120), ".b".repeat(120));
    let long_new = format!("{}!='x'{}", "a.".repeat(120), ".b".repeat(120));
    let root = |e: &str| {
        with(
            el("Condition", 0, "*"),
            json!({"constraint": [invariant("k", "error", e, "")]}),
        )
    };
    let d = one_profile_diff(vec![root(&long_old)], vec![root(&long_new)]);
    let md = d.render_markdown();
    let line = md
        .lines()
        .find(|l| l.contains("invariant `k` changed"))
        .unwrap();
    assert!(line.chars().count() < 300, "{line}");
    // The shortened text still shows where the two differ.
    assert!(line.contains("a.a.a.='x'.b.b.b") && line.contains("a.a.a.!='x'.b.b.b"));
    let j = d.to_json();
    let el = &j["structureDefinitions"][0]["elements"][0];
    assert_eq!(el["old"]["expression"], json!(long_old));
    assert_eq!(el["new"]["expression"], json!(long_new));
}

#[test]
fn slicing_discriminator_rules_and_order() {
    let sliced = |path: &str, rules: &str, ordered: bool| {
        with(
            el("Condition.code.coding", 0, "*"),
            json!({"slicing": {"discriminator": [{"type": "value", "path": path}],
                               "rules": rules, "ordered": ordered}}),
        )
    };
    let d = one_profile_diff(
        vec![el("Condition", 0, "*"), sliced("code", "closed", false)],
        vec![el("Condition", 0, "*"), sliced("system", "open", true)],
    );
    let kinds = changes(&d, "P");
    assert_eq!(kinds.len(), 1);
    let ElementChangeKind::Slicing(s) = &kinds[0].1 else {
        panic!("{kinds:?}")
    };
    let new = s.new.as_ref().unwrap();
    assert_eq!(
        (new.discriminators.clone(), new.rules.as_str(), new.ordered),
        (vec![("value".into(), "system".into())], "open", true)
    );
    assert!(d.render_markdown().contains(
        "- `Condition.code.coding`: slicing by value:code, closed, unordered → by value:system, open, ordered\n"
    ));
}

#[test]
fn documentation_is_counted_not_reported() {
    let d = one_profile_diff(
        vec![el("Condition", 0, "*"), el("Condition.code", 0, "1")],
        vec![
            el("Condition", 0, "*"),
            with(
                el("Condition.code", 0, "1"),
                json!({"short": "reworded", "comment": "new"}),
            ),
        ],
    );
    assert!(d.profiles.is_empty());
    assert_eq!(d.documentation_only, [format!("{BASE}P")]);
    assert!(d.is_empty());
    assert_eq!(d.counts["StructureDefinition"].unchanged, 1);
}

#[test]
fn changes_inherited_from_a_base_profile_of_the_package_are_marked() {
    let base_old = sd(
        "Base",
        vec![el("Condition", 0, "*"), el("Condition.code", 0, "1")],
    );
    let base_new = sd(
        "Base",
        vec![el("Condition", 0, "*"), el("Condition.code", 1, "1")],
    );
    let derived = |code: Value, note: Value| {
        with(
            sd("Derived", vec![el("Condition", 0, "*"), code, note]),
            json!({"baseDefinition": format!("{BASE}Base")}),
        )
    };
    let d = diff(
        &package(
            "1",
            &[
                base_old,
                derived(el("Condition.code", 0, "1"), el("Condition.note", 0, "*")),
            ],
        ),
        &package(
            "2",
            &[
                base_new,
                derived(el("Condition.code", 1, "1"), el("Condition.note", 0, "1")),
            ],
        ),
    );
    let derived = d.profiles.iter().find(|p| p.name == "Derived").unwrap();
    let inherited: Vec<(&str, Option<&str>)> = derived
        .elements
        .iter()
        .map(|c| (c.element.as_str(), c.inherited_from.as_deref()))
        .collect();
    let base_url = format!("{BASE}Base");
    assert_eq!(
        inherited,
        [
            ("Condition.code", Some(base_url.as_str())),
            ("Condition.note", None)
        ]
    );
    let md = d.render_markdown();
    assert!(md.contains("- 1 change(s) inherited from Base (listed there)\n"));
    assert!(md.contains("- `Condition.note`: 0..* → 0..1\n"));
}

#[test]
fn code_systems_value_sets_and_their_content() {
    let cs = |version: &str, codes: Value| {
        json!({"resourceType": "CodeSystem", "url": "urn:cs", "name": "CS",
               "version": version, "concept": codes})
    };
    let vs = |url: &str, include: Value| {
        json!({"resourceType": "ValueSet", "url": url, "version": "1",
               "compose": {"include": include}})
    };
    let d = diff(
        &package(
            "1",
            &[
                cs(
                    "1",
                    json!([{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}]),
                ),
                vs(
                    "urn:vs",
                    json!([{"system": "urn:cs", "concept": [{"code": "a"}, {"code": "b"}]},
                           {"system": "urn:other"}]),
                ),
                vs("urn:vs:gone", json!([])),
            ],
        ),
        &package(
            "2",
            &[
                cs(
                    "2",
                    json!([{"code": "a", "concept": [{"code": "a2"}]}, {"code": "b"}]),
                ),
                vs(
                    "urn:vs",
                    json!([{"system": "urn:cs", "concept": [{"code": "a"}, {"code": "c"}]},
                           {"system": "urn:cs2", "filter": [{"property": "concept", "op": "is-a", "value": "X"}]},
                           {"valueSet": ["urn:vs:base"]}]),
                ),
                vs("urn:vs:new", json!([])),
            ],
        ),
    );
    let t: Vec<(&str, &str, Presence)> = d
        .terminology
        .iter()
        .map(|t| (t.resource_type.as_str(), t.url.as_str(), t.presence))
        .collect();
    assert_eq!(
        t,
        [
            ("CodeSystem", "urn:cs", Presence::Changed),
            ("ValueSet", "urn:vs", Presence::Changed),
            ("ValueSet", "urn:vs:gone", Presence::Removed),
            ("ValueSet", "urn:vs:new", Presence::Added),
        ]
    );
    let cs = &d.terminology[0];
    assert_eq!(
        (cs.version.old.as_str(), cs.version.new.as_str()),
        ("1", "2")
    );
    assert_eq!(cs.concepts_added, ["a2"]);
    assert_eq!(cs.concepts_removed, ["a1"]);
    let vs = &d.terminology[1];
    assert_eq!(
        vs.compose_added,
        [
            "urn:cs#c",
            "urn:cs2: filter concept is-a X",
            "valueSet urn:vs:base"
        ]
    );
    assert_eq!(vs.compose_removed, ["urn:cs#b", "urn:other (all codes)"]);
    assert!(!vs.version.differs());
    let md = d.render_markdown();
    assert!(md.contains(
        "- CodeSystem `urn:cs`: version 1 → 2; codes added (1): `a2`; codes removed (1): `a1`\n"
    ));
}

#[test]
fn other_resources_and_package_metadata() {
    let ig = |version: &str, core: &str| {
        json!({"resourceType": "ImplementationGuide", "url": "urn:ig", "version": version,
               "dependsOn": [{"packageId": "jp-core.r4", "version": core}]})
    };
    let old = package(
        "1.0.0",
        &[
            ig("1.0.0", "1.1.2-url"),
            json!({"resourceType": "Patient", "id": "example-1"}),
            json!({"resourceType": "SearchParameter", "url": "urn:sp:kept", "code": "a"}),
        ],
    );
    let mut new = package(
        "1.1.0",
        &[
            ig("1.1.0", "1.1.2-clins"),
            json!({"resourceType": "SearchParameter", "url": "urn:sp:kept", "code": "a"}),
            json!({"resourceType": "SearchParameter", "url": "urn:sp:new", "code": "b"}),
        ],
    );
    new.files.insert(
        "package/package.json".into(),
        serde_json::to_vec(&json!({"name": "example.ig", "version": "1.1.0",
                                   "dependencies": {"hl7.fhir.r4.core": "4.0.1", "jp-core.r4": "1.1.2"}}))
        .unwrap(),
    );
    let d = diff(&old, &new);
    let pc: Vec<(&str, Option<&str>, Option<&str>)> = d
        .package
        .iter()
        .map(|c| {
            (
                c.subject.as_str(),
                c.change.old.as_deref(),
                c.change.new.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        pc,
        [
            ("version", Some("1.0.0"), Some("1.1.0")),
            ("dependency jp-core.r4", None, Some("1.1.2")),
            ("ImplementationGuide version", Some("1.0.0"), Some("1.1.0")),
            (
                "ImplementationGuide dependsOn jp-core.r4",
                Some("jp-core.r4#1.1.2-url"),
                Some("jp-core.r4#1.1.2-clins")
            ),
        ]
    );
    assert_eq!(d.others["Patient"].removed, ["example-1"]);
    assert_eq!(d.others["SearchParameter"].added, ["urn:sp:new"]);
    assert!(d.others["SearchParameter"].changed.is_empty());
    assert_eq!(d.others["ImplementationGuide"].changed, ["urn:ig"]);
    assert_eq!(d.counts["SearchParameter"].unchanged, 1);
    let md = d.render_markdown();
    assert!(md.contains("- ImplementationGuide dependsOn jp-core.r4: jp-core.r4#1.1.2-url → jp-core.r4#1.1.2-clins\n"));
    assert!(md.contains("- Patient removed (1): `example-1`\n"));
}

#[test]
fn odd_content_is_tolerated_and_noted_never_a_panic() {
    let odd = json!({
        "resourceType": "StructureDefinition",
        "url": format!("{BASE}Odd"),
        "name": "Odd",
        "snapshot": {"element": [
            {"id": "Condition", "path": "Condition", "min": "", "max": 5, "short": ""},
            {"id": "Condition.code", "path": "Condition.code", "min": "1", "max": "",
             "mustSupport": "true", "type": {"code": "oops"}, "binding": "none",
             "constraint": [{"key": ""}, {"severity": "error"}], "slicing": [],
             "fixedString": ""},
            {"path": "Condition.note", "min": 0, "max": "*"},
            {"min": 0},
            {"id": "Condition.code", "path": "Condition.code"}
        ]}
    });
    let mut old = package("1", std::slice::from_ref(&odd));
    old.files
        .insert("package/broken.json".into(), b"{ not json".to_vec());
    old.files
        .insert("package/array.json".into(), b"[1, 2]".to_vec());
    old.files
        .insert("package/untyped.json".into(), br#"{"id": "x"}"#.to_vec());
    let mut changed = odd;
    changed["snapshot"]["element"][1]["min"] = json!(0);
    let new = package("1", &[changed]);
    let d = diff(&old, &new);
    assert_eq!(
        changes(&d, "Odd"),
        [("Condition.code".into(), card("1..?", "0..?")),]
    );
    let notes = d.notes.join("\n");
    for part in [
        "package/broken.json: not JSON",
        "package/array.json: not a JSON object",
        "package/untyped.json: no resourceType",
        "element without id or path",
        "element Condition.code appears twice",
    ] {
        assert!(notes.contains(part), "{part} missing from\n{notes}");
    }
    // Notes are not differences.
    let same = diff(&old, &old);
    assert!(same.is_empty() && !same.notes.is_empty());
    let _ = d.render_markdown();
}

#[test]
fn differentials_are_compared_when_a_package_has_no_snapshots() {
    let diff_only = |min: u64| {
        json!({"resourceType": "StructureDefinition", "url": format!("{BASE}D"), "name": "D",
               "differential": {"element": [el("Condition.code", min, "1")]}})
    };
    let d = diff(
        &package("1", &[diff_only(0)]),
        &package("2", &[diff_only(1)]),
    );
    assert_eq!(
        changes(&d, "D"),
        [("Condition.code".into(), card("0..1", "1..1"))]
    );
    assert!(d.profiles[0].differential_only);
    assert_eq!(
        d.notes,
        [
            "1 StructureDefinitions lack a snapshot in one package or both; their \
          differentials were compared instead (what each changes relative to its base): D"
        ]
    );
}

#[test]
fn output_is_deterministic() {
    let build = || {
        one_profile_diff(
            vec![el("Condition", 0, "*"), el("Condition.code", 0, "1")],
            vec![
                el("Condition", 0, "*"),
                with(el("Condition.code", 1, "1"), json!({"mustSupport": true})),
            ],
        )
    };
    let (a, b) = (build(), build());
    assert_eq!(a, b);
    assert_eq!(a.render_markdown(), b.render_markdown());
    assert_eq!(
        serde_json::to_string(&a.to_json()).unwrap(),
        serde_json::to_string(&b.to_json()).unwrap()
    );
    let j = a.to_json();
    assert_eq!(
        j["structureDefinitions"][0]["elements"][0],
        json!({"element": "Condition.code", "change": "cardinality", "old": "0..1", "new": "1..1"})
    );
    assert_eq!(j["counts"]["StructureDefinition"]["changed"], json!(1));
}

#[test]
fn a_package_compared_with_itself_is_empty() {
    let p = package(
        "1",
        &[sd(
            "P",
            vec![el("Condition", 0, "*"), el("Condition.code", 1, "1")],
        )],
    );
    let d = diff(&p, &p);
    assert!(d.is_empty(), "{d:?}");
    assert!(d.render_markdown().contains("No differences."));
}

// ---------------------------------------------------------------------------
// The real packages

/// A package from `shared/fhir-profiles` beside the repository.
fn shared(rel: &str) -> Package {
    let path = crate::shared(&format!("fhir-profiles/{rel}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Package::from_tgz(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn clins_1_5_2() -> Package {
    shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz")
}

fn clins_1_10_0() -> Package {
    shared("jp-clins/jp-eCSCLINS.r4-1.10.0-snap.tgz")
}

fn profile<'d>(d: &'d PackageDiff, url: &str) -> &'d ProfileDiff {
    d.profiles
        .iter()
        .find(|p| p.url == url)
        .unwrap_or_else(|| panic!("{url} not among the changed profiles"))
}

fn added_invariant<'p>(p: &'p ProfileDiff, element: &str, key: &str) -> Option<&'p Invariant> {
    p.elements.iter().find_map(|c| match &c.kind {
        ElementChangeKind::InvariantAdded(i) if c.element == element && i.key == key => Some(i),
        _ => None,
    })
}

fn mentions_key(p: &ProfileDiff, key: &str) -> bool {
    p.elements.iter().any(|c| match &c.kind {
        ElementChangeKind::InvariantAdded(i) | ElementChangeKind::InvariantRemoved(i) => {
            i.key == key
        }
        ElementChangeKind::InvariantChanged { key: k, .. } => k == key,
        _ => false,
    })
}

#[test]
fn jp_clins_1_5_2_to_1_10_0() {
    let d = diff(&clins_1_5_2(), &clins_1_10_0());
    assert!(d.notes.is_empty(), "{:?}", d.notes);

    // Package level.
    let subjects: BTreeMap<&str, (Option<&str>, Option<&str>)> = d
        .package
        .iter()
        .map(|c| {
            (
                c.subject.as_str(),
                (c.change.old.as_deref(), c.change.new.as_deref()),
            )
        })
        .collect();
    assert_eq!(subjects["version"], (Some("1.x.x-temp"), Some("1.10.0")));
    assert_eq!(
        subjects["ImplementationGuide dependsOn jp-core.r4"],
        (Some("jp-core.r4#1.1.2-url"), Some("jp-core.r4#1.1.2-clins"))
    );

    // JP_Condition_eCS: the display of clinicalStatus's coding becomes required.
    let condition = profile(
        &d,
        "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS",
    );
    let display: Vec<&ElementChangeKind> = condition
        .elements
        .iter()
        .filter(|c| c.element == "Condition.clinicalStatus.coding.display")
        .map(|c| &c.kind)
        .collect();
    assert_eq!(display, [&card("0..1", "1..1"), &must_support(false, true)]);
    assert_eq!(
        (
            condition.version.old.as_str(),
            condition.version.new.as_str()
        ),
        ("1", "1.10.0")
    );

    // JP_Bundle_CLINS: R9017O and R9019O (IG change history) are new invariants;
    // their rule numbers live in `human`, the keys are descriptive.
    let bundle = profile(
        &d,
        "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS",
    );
    let r9017 = added_invariant(bundle, "Bundle", "observation-needs-performer").unwrap();
    assert!(r9017.human.starts_with("R9017O:"), "{}", r9017.human);
    assert_eq!(
        r9017.expression,
        "entry.select(resource as Observation).all(performer.exists())"
    );
    let r9019 = added_invariant(
        bundle,
        "Bundle",
        "observation-needs-contained-of-Practitioner",
    )
    .unwrap();
    assert!(r9019.human.starts_with("R9019O:"), "{}", r9019.human);
    // R2152 (valid-value-bundleIdenfifier) was already in JP_Bundle_CLINS 1.5.2
    // and did not change there; 1.10.0 adds it to the other document bundles.
    assert!(!mentions_key(bundle, "valid-value-bundleIdenfifier"));
    let referral = profile(
        &d,
        "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral",
    );
    let r2152 = added_invariant(referral, "Bundle", "valid-value-bundleIdenfifier").unwrap();
    assert!(r2152.human.starts_with("R2152:"));
    // validEntryProfile-*: `=` became `!=` inside a long expression.
    let flipped = bundle
        .elements
        .iter()
        .find_map(|c| match &c.kind {
            ElementChangeKind::InvariantChanged {
                key, expression, ..
            } if key == "validEntryProfile-Condition" => Some(expression),
            _ => None,
        })
        .unwrap();
    assert!(
        flipped
            .old
            .contains("))='http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS'")
    );
    assert!(
        flipped
            .new
            .contains("))!='http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS'")
    );

    // New profiles, removed examples.
    assert!(d.profiles.iter().any(|p| p.presence == Presence::Added
        && p.url == "http://jpfhir.jp/fhir/core/StructureDefinition/JP_ServiceRequest"));
    assert_eq!(d.others["Patient"].removed, ["Patient1", "Patient2"]);
    // JLAC11 code systems appear.
    assert!(d.terminology.iter().any(|t| t.presence == Presence::Added
        && t.url
            == "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_CoreLabo_CS"));

    // The Markdown is something a person reads.
    let md = d.render_markdown();
    assert!(
        md.contains("- `Bundle`: invariant `observation-needs-performer` added (error): R9017O:")
    );
    assert!(md.contains("`Condition.clinicalStatus.coding.display`"));
    let lines = md.lines().count();
    assert!((100..800).contains(&lines), "{lines} lines");
    assert_eq!(md, diff(&clins_1_5_2(), &clins_1_10_0()).render_markdown());
}

#[test]
fn echeckup_report_1_1_3_to_1_5_0() {
    let d = diff(
        &shared("echeckup/jp-eCheckupReport.r4.tgz"),
        &shared("echeckup/jp-eCheckupReport.r4-1.5.0-snap.tgz"),
    );
    let ig = d
        .package
        .iter()
        .find(|c| c.subject == "ImplementationGuide version")
        .unwrap();
    assert_eq!(
        (ig.change.old.as_deref(), ig.change.new.as_deref()),
        (Some("1.1.3"), Some("1.5.0"))
    );
    // Insurer numbers moved from an OID to an http identifier system.
    let payer = profile(
        &d,
        "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Organization_eCS_coveragePayer",
    );
    assert!(payer.elements.iter().any(|c| {
        c.element == "Organization.identifier:insurerNumber.system"
            && c.kind
                == ElementChangeKind::Fixed(Change {
                    old: Some(("Uri".into(), json!("urn:oid:1.2.392.100495.20.3.61"))),
                    new: Some((
                        "Uri".into(),
                        json!("http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber"),
                    )),
                })
    }));
    let lines = d.render_markdown().lines().count();
    assert!((50..600).contains(&lines), "{lines} lines");
}

#[test]
fn real_packages_compared_with_themselves_are_empty() {
    for p in [
        clins_1_5_2(),
        clins_1_10_0(),
        shared("echeckup/jp-eCheckupReport.r4-1.5.0-snap.tgz"),
    ] {
        let d = diff(&p, &p);
        assert!(d.is_empty(), "{} {}: {:?}", p.name, p.version, d.package);
        assert!(d.documentation_only.is_empty());
        assert!(d.render_markdown().contains("No differences."));
    }
}
