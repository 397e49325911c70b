use super::*;
use serde_json::{Value, json};

fn eval(expr: &str, v: &Value) -> Vec<String> {
    let e = Expression::compile(expr);
    assert!(
        e.not_evaluable().is_none(),
        "{expr}: {:?}",
        e.not_evaluable()
    );
    e.evaluate(v, None, Env::default())
        .unwrap_or_else(|err| panic!("{expr}: {err:?}"))
        .iter()
        .map(|i| i.to_text().unwrap_or_else(|| "<node>".into()))
        .collect()
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"text": "山田　太郎", "given": ["太郎"], "_given": [{"extension": [{"url": "http://x/e", "valueString": "y"}]}]},
                 {"text": "ヤマダ"}],
        "birthDate": "1970-01-02",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1970-01-02T10:00:00+09:00"}]},
        "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.51.11234567890", "value": "123"}],
        "deceasedBoolean": false
    })
}

#[test]
fn navigation_and_counts() {
    let p = patient();
    assert_eq!(eval("name.count()", &p), ["2"]);
    assert_eq!(eval("Patient.name.text.first()", &p), ["山田　太郎"]);
    assert_eq!(eval("name.tail().text", &p), ["ヤマダ"]);
    assert_eq!(eval("name[1].text", &p), ["ヤマダ"]);
    assert_eq!(
        eval("name.where(text.contains('　')).exists()", &p),
        ["true"]
    );
    assert_eq!(eval("name.select(given).count()", &p), ["1"]);
    assert_eq!(eval("name.all(text.exists())", &p), ["true"]);
    assert_eq!(eval("name.given.extension.exists()", &p), ["true"]);
    assert_eq!(eval("birthDate.hasValue()", &p), ["true"]);
    assert_eq!(
        eval(
            "birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value.ofType(dateTime).exists()",
            &p
        ),
        ["true"]
    );
    assert_eq!(eval("telecom.empty()", &p), ["true"]);
    assert_eq!(eval("telecom.count() = 0", &p), ["true"]);
    assert!(eval("telecom = 'x'", &p).is_empty());
    assert_eq!(
        eval(
            "deceased.ofType(boolean).exists() and deceased.is(boolean)",
            &p
        ),
        ["true"]
    );
    assert_eq!(eval("deceased.ofType(dateTime).exists()", &p), ["false"]);
    assert_eq!(
        eval(
            "identifier.system.substring(0,31) = 'urn:oid:1.2.392.100495.20.3.51.'",
            &p
        ),
        ["true"]
    );
    assert_eq!(eval("identifier.system.substring(31,1)", &p), ["1"]);
    assert_eq!(eval("identifier.system.indexOf('51.')", &p), ["28"]);
    assert_eq!(eval("'山田'.length()", &p), ["2"]);
    assert_eq!(eval("name.text.isDistinct()", &p), ["true"]);
    assert_eq!(eval("(name.text | name.text).count()", &p), ["2"]);
    assert_eq!(eval("children().count() > id.count()", &p), ["true"]);
    assert_eq!(
        eval("descendants().where($this = '太郎').count()", &p),
        ["1"]
    );
    assert_eq!(eval("iif(name.exists(), 'y', 'n')", &p), ["y"]);
    assert_eq!(eval("'a' + 'b' & {} & 'c'", &p), ["abc"]);
    assert_eq!(eval("1 + 2 * 3 - 4 div 3 + 7 mod 4", &p), ["9"]);
    assert_eq!(eval("is(Patient) and $this is Resource", &p), ["true"]);
    assert_eq!(eval("name.text.trace('x').count()", &p), ["2"]);
    assert_eq!(eval("birthDate.toString()", &p), ["1970-01-02"]);
}

#[test]
fn logic_is_three_valued() {
    let p = patient();
    assert_eq!(eval("{} or true", &p), ["true"]);
    assert!(eval("{} or false", &p).is_empty());
    assert_eq!(eval("{} and false", &p), ["false"]);
    assert_eq!(eval("false implies {}", &p), ["true"]);
    assert!(eval("true implies {}", &p).is_empty());
    assert_eq!(eval("true xor false", &p), ["true"]);
    assert!(eval("{}.not()", &p).is_empty());
    assert_eq!(eval("'C' in ('C' | 'CM')", &p), ["true"]);
    assert_eq!(eval("('C' | 'CM') contains 'X'", &p), ["false"]);
}

#[test]
fn comparisons_dates_and_quantities() {
    let v = json!({"start": "2020-01-01T10:00:00+09:00", "end": "2020-01-01T02:00:00Z",
                   "low": {"value": 1, "unit": "mg", "code": "mg"}, "high": {"value": 0.5, "code": "mg"},
                   "d": 1.50});
    assert_eq!(eval("start <= end", &v), ["true"]);
    assert_eq!(eval("low <= high", &v), ["false"]);
    assert_eq!(eval("d > 1", &v), ["true"]);
    assert_eq!(eval("d.toString().contains('.')", &v), ["true"]);
    assert_eq!(eval("@2020-01-01 < @2020-02-01", &v), ["true"]);
    assert!(eval("@2020-01 < @2020-01-05", &v).is_empty());
    assert_eq!(eval("'abc' < 'abd'", &v), ["true"]);
}

#[test]
fn matches_uses_regex_search() {
    let v = json!({"value": "1311234567^2024^abc"});
    assert_eq!(
        eval(
            "value.matches('^[0-4][0-9][1-3][0-9]{7}[\\\\^]20[2-3][0-9][\\\\^][A-Za-z0-9\\\\-]{1,36}$')",
            &v
        ),
        ["true"]
    );
    assert_eq!(
        eval("value.matches('[0-4][0-9][1-3][0-9]{7}')", &v),
        ["true"]
    );
    assert_eq!(eval("value.matches('^x')", &v), ["false"]);
}

#[test]
fn not_evaluable_is_explicit() {
    let v = json!({"a": 1});
    for (src, why) in [
        ("a.frobnicate()", "unsupported function"),
        ("a.conformsTo('http://x')", "unsupported function"),
        ("a.", "does not parse"),
        ("a.matches('(')", "bad regular expression"),
    ] {
        let e = Expression::compile(src);
        let reason = e.not_evaluable().unwrap_or_else(|| panic!("{src}"));
        assert!(reason.contains(why), "{src}: {reason}");
        assert!(matches!(
            e.check(&v, None, Env::default()),
            Verdict::NotEvaluable(_)
        ));
    }
    // runtime errors too
    let e = Expression::compile("(1 | 2) and true");
    assert!(matches!(
        e.check(&v, None, Env::default()),
        Verdict::NotEvaluable(_)
    ));
    let e = Expression::compile("%nope.exists()");
    assert!(matches!(
        e.check(&v, None, Env::default()),
        Verdict::NotEvaluable(_)
    ));
}

/// A value set `http://vs` holding `s|a` and `s|b`.
struct OneValueSet;
impl Terminology for OneValueSet {
    fn member_of(&self, canonical: &str, system: Option<&str>, code: &str) -> Option<bool> {
        (canonical == "http://vs")
            .then(|| matches!(code, "a" | "b") && system.is_none_or(|s| s == "s"))
    }
}

#[test]
fn member_of_asks_the_terminology() {
    let obs = json!({"code": {"coding": [
        {"system": "local", "code": "a"},
        {"system": "s", "code": "b"}
    ]}, "status": "a"});
    let env = Env {
        terminology: Some(&OneValueSet),
        ..Env::default()
    };
    let check = |src: &str| Expression::compile(src).check(&obs, None, env);
    // a Coding, a CodeableConcept (any coding), a bare code
    assert_eq!(
        check("code.coding.where(memberOf('http://vs')).count() = 1"),
        Verdict::Pass
    );
    assert_eq!(
        check("code.coding.first().memberOf('http://vs').not()"),
        Verdict::Pass
    );
    assert_eq!(check("code.memberOf('http://vs')"), Verdict::Pass);
    assert_eq!(check("status.memberOf('http://vs')"), Verdict::Pass);
    // empty in, empty out
    assert_eq!(
        check("missing.memberOf('http://vs').empty()"),
        Verdict::Pass
    );
    // a value set that cannot be expanded, or no terminology: never a pass
    assert!(matches!(
        check("code.memberOf('http://other')"),
        Verdict::NotEvaluable(_)
    ));
    assert!(matches!(
        Expression::compile("code.memberOf('http://vs')").check(&obs, None, Env::default()),
        Verdict::NotEvaluable(_)
    ));
}

struct MapResolver<'a>(Vec<(&'a str, &'a Value)>);
impl<'a> Resolver<'a> for MapResolver<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        self.0
            .iter()
            .find(|(k, _)| *k == reference)
            .map(|(_, v)| *v)
    }
}

#[test]
fn resolve_and_variables() {
    let bundle = json!({"resourceType": "Bundle", "type": "document", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Composition", "subject": {"reference": "urn:uuid:2"}}},
        {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient", "id": "x"}}]});
    let r = MapResolver(vec![("urn:uuid:2", &bundle["entry"][1]["resource"])]);
    let env = Env {
        resource: Some(&bundle),
        root_resource: Some(&bundle),
        resolver: Some(&r),
        terminology: None,
        types: None,
    };
    let e = Expression::compile("entry.first().resource.subject.resolve().is(Patient)");
    assert_eq!(e.check(&bundle, None, env), Verdict::Pass);
    let e = Expression::compile("type = 'document' implies entry.first().resource.is(Composition)");
    assert_eq!(e.check(&bundle, None, env), Verdict::Pass);
    let e = Expression::compile("entry.all(%resource.type = 'document')");
    assert_eq!(e.check(&bundle, None, env), Verdict::Pass);
    let e = Expression::compile("entry.select(resource as Patient).count() = 2");
    assert_eq!(e.check(&bundle, None, env), Verdict::Fail);
    let e = Expression::compile("entry.resource.subject.resolve().exists()");
    assert!(matches!(
        e.check(&bundle, None, Env::default()),
        Verdict::NotEvaluable(_)
    ));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text compiles to an expression or an explicit reason, and
        /// evaluating it never panics.
        #[test]
        fn arbitrary_text_never_panics(src in "\\PC{0,60}") {
            let e = Expression::compile(&src);
            let _ = e.check(&json!({"a": [1, "x", {"b": true}]}), None, Env::default());
        }

        /// Truncations of real invariants never panic.
        #[test]
        fn truncated_invariants_never_panic(cut in 0usize..200) {
            let src = "entry.select(resource as Condition).all(extension.where(url='http://x').value.ofType(Identifier).value.matches('^[0-4][0-9]{7}$') and (a.substring(0,3) = 'abc' or b.indexOf('|') > 0))";
            let s: String = src.chars().take(cut).collect();
            let e = Expression::compile(&s);
            let _ = e.check(&json!({"entry": [{"resource": {"resourceType": "Condition"}}]}), None, Env::default());
        }
    }
}

#[test]
fn sql_on_fhir_functions_keys_join_and_boundaries() {
    let p = patient();
    assert_eq!(eval("getResourceKey()", &p), ["Patient/p1"]);
    assert_eq!(eval("name.text.join(', ')", &p), ["山田　太郎, ヤマダ"]);
    assert_eq!(eval("name.given.join()", &p), ["太郎"]);
    let obs = json!({"resourceType": "Observation", "id": "o",
        "subject": {"reference": "http://x/fhir/Patient/p1/_history/2"},
        "performer": [{"reference": "urn:uuid:u1", "type": "Practitioner"}],
        "valueQuantity": {"value": 1.0}, "effectiveDateTime": "2010-10-10"});
    assert_eq!(eval("subject.getReferenceKey()", &obs), ["Patient/p1"]);
    assert_eq!(
        eval("subject.getReferenceKey(Patient)", &obs),
        ["Patient/p1"]
    );
    assert!(eval("subject.getReferenceKey(Group)", &obs).is_empty());
    assert_eq!(
        eval("performer.getReferenceKey()", &obs),
        ["Practitioner/u1"]
    );
    assert_eq!(
        eval("value.ofType(Quantity).value.lowBoundary()", &obs),
        ["0.95000000"]
    );
    assert_eq!(
        eval("value.ofType(Quantity).value.highBoundary(2)", &obs),
        ["1.05"]
    );
    assert_eq!(eval("(-1.0).lowBoundary(2)", &obs), ["-1.05"]);
    assert_eq!(
        eval("effective.ofType(dateTime).lowBoundary()", &obs),
        ["2010-10-10T00:00:00.000+14:00"]
    );
    // A date reached by name carries no FHIR type (the evaluator has no element
    // model), so it is not known to be a date and has no boundary: the SQL on FHIR
    // suite's two birthDate boundary tests are listed as known failures for this
    // (views/conformance-known-failures.tsv). The day a type reaches it, this fails.
    assert_eq!(
        eval(
            "birthDate.highBoundary()",
            &json!({"resourceType": "Patient", "birthDate": "1970-02"})
        ),
        [] as [&str; 0]
    );
    // caller-defined variables
    let e = Expression::compile("name.where(text = %wanted).count() + %rowIndex");
    let vars = [
        ("wanted", Item::Str("ヤマダ".into())),
        ("rowIndex", Item::Int(2)),
    ];
    let r = e
        .evaluate_with(
            Item::Node(Node {
                value: &p,
                ext: None,
                ty: Some("Patient"),
            }),
            Env::default(),
            &vars,
        )
        .unwrap();
    assert_eq!(r[0].as_int(), Some(3));
    assert_eq!(
        variables(e.ast().unwrap()).into_iter().collect::<Vec<_>>(),
        ["rowIndex", "wanted"]
    );
}

/// With the R4 base element types, elements reached by name have their FHIR
/// type: `birthDate` is a date (boundaries), `Quantity.value` a decimal, `gender`
/// a code (a string by specialization), a backbone element's children are typed
/// under its path, and a repeated element (`contentReference`) as its original.
#[test]
fn element_types_from_the_r4_base() {
    let types = crate::conformance::r4_element_types();
    assert!(types.len() > 50, "{} types", types.len());
    assert_eq!(types.child("Patient", "birthDate"), Some("date"));
    assert_eq!(types.child("Patient", "contact"), Some("Patient.contact"));
    assert_eq!(types.child("Patient.contact", "name"), Some("HumanName"));
    assert_eq!(types.child("HumanName", "family"), Some("string"));
    assert_eq!(types.child("Quantity", "value"), Some("decimal"));
    assert_eq!(
        types.child("Patient", "deceased"),
        None,
        "choice elements carry their type"
    );
    assert_eq!(types.child("Patient", "nonsense"), None);
    let p = json!({"resourceType": "Patient", "birthDate": "1970-06", "gender": "male",
        "contact": [{"name": {"family": "Kato"}}],
        "extension": [{"url": "u", "valueQuantity": {"value": 1.0}}]});
    let (typed, untyped) = (true, false);
    let eval = |src: &str, with_types: bool| -> Vec<String> {
        let env = Env {
            types: with_types.then_some(types),
            ..Env::default()
        };
        Expression::compile(src)
            .evaluate(&p, None, env)
            .unwrap()
            .iter()
            .filter_map(|i| i.to_text())
            .collect()
    };
    assert_eq!(eval("birthDate.lowBoundary()", typed), ["1970-06-01"]);
    assert_eq!(eval("birthDate.highBoundary()", typed), ["1970-06-30"]);
    // without the model the string is not known to be a date
    assert!(eval("birthDate.lowBoundary()", untyped).is_empty());
    assert_eq!(eval("birthDate.is(date)", typed), ["true"]);
    assert_eq!(
        eval(
            "gender.is(code) and gender.is(string) and gender.is(String)",
            typed
        ),
        ["true"]
    );
    assert_eq!(eval("contact.name.family.is(string)", typed), ["true"]);
    assert_eq!(eval("contact.name.is(HumanName)", typed), ["true"]);
    assert_eq!(
        eval(
            "extension.value.ofType(Quantity).value.lowBoundary()",
            typed
        ),
        ["0.95000000"]
    );
}
