use super::*;
use crate::document::fixtures::{patient, site};
use crate::record::{Coding, Concept, Submission};

const REQUEST: &str = r#"
kind = "summary"
patient = "42"
issued = "2025-06-10T10:00:00"
document_id = "PCS-1"
category = "OUTPATIENT"
[author]
name = "架空 太郎"
[author.organization]
name = "架空医院"
[encounter]
class = "AMB"
start = "2025-06-10"
[summary]
plan = "血圧の薬を続けましょう。"
next_review = "2025-09-10"
goals = ["家庭血圧 135/85 未満"]
conditions = "current"
[summary.advice]
diet = "減塩 6 g/日"
exercise = "毎日 30 分歩く"
"#;

fn request(text: &str) -> DocumentRequest {
    let (r, d) = DocumentRequest::parse(text, &site());
    assert!(!d.has_errors(), "{d:?}");
    r.unwrap()
}

fn condition(id: &str, icd: &str, end: Option<&str>, tags: Vec<Tag>) -> ConditionRecord {
    ConditionRecord {
        problem_id: id.into(),
        action: "AD".into(),
        code: Concept {
            coding: vec![Coding::new(
                "http://jpfhir.jp/fhir/core/CodeSystem/JP_ICD10_CS",
                icd,
                "病名",
            )],
            text: format!("病名{id}"),
        },
        verification: "confirmed",
        clinical_status: Some(if end.is_some() { "resolved" } else { "active" }),
        onset: Some("2024-01-01".into()),
        abatement: end.map(Into::into),
        tags,
        submission: Some(Submission::Submit),
        ..ConditionRecord::default()
    }
}

fn sources(conditions: Vec<ConditionRecord>) -> Sources {
    Sources {
        patient: Some(patient()),
        conditions,
        ..Sources::default()
    }
}

fn errors(d: &Diagnostics) -> Vec<&'static str> {
    d.iter()
        .filter(|d| d.severity == diagnostics::Severity::Error)
        .map(|d| d.code.id)
        .collect()
}

fn plan_of(d: &DocumentBundle) -> &CarePlan {
    d.bundle
        .entry
        .iter()
        .find_map(|e| match e.resource.as_ref() {
            Some(Resource::CarePlan(p)) => Some(&**p),
            _ => None,
        })
        .unwrap()
}

#[test]
fn current_told_conditions_are_addressed_and_the_rest_left_out() {
    let req = request(REQUEST);
    let src = sources(vec![
        condition("A", "I10", None, vec![]),
        condition("B", "E119", None, vec![Tag::Uninformed]),
        condition("C", "K297", Some("2024-03-01"), vec![]),
        condition("D", "E785", None, vec![Tag::Undelivered]),
    ]);
    let d = build(&req, &site(), &src).unwrap();
    let types: Vec<&str> = d
        .bundle
        .entry
        .iter()
        .map(|e| match e.resource.as_ref() {
            Some(Resource::Composition(_)) => "Composition",
            Some(Resource::Patient(_)) => "Patient",
            Some(Resource::Practitioner(_)) => "Practitioner",
            Some(Resource::Organization(_)) => "Organization",
            Some(Resource::Encounter(_)) => "Encounter",
            Some(Resource::Condition(_)) => "Condition",
            Some(Resource::CarePlan(_)) => "CarePlan",
            _ => "other",
        })
        .collect();
    // one condition only: A (B 未告知, D 未提供, C ended)
    assert_eq!(
        types,
        [
            "Composition",
            "Patient",
            "Practitioner",
            "Organization",
            "Encounter",
            "Condition",
            "CarePlan"
        ]
    );
    let p = plan_of(&d);
    assert_eq!(p.addresses.len(), 1);
    assert_eq!(p.contained.len(), 1);
    assert_eq!(p.goal.len(), 1);
    assert_eq!(p.activity.len(), 2);
    let outcomes: Vec<String> = d.tally.iter().map(|t| t.outcome.clone()).collect();
    assert!(
        outcomes.iter().any(|o| o.contains("未告知")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o.contains("未提供")),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| o.contains("ended")), "{outcomes:?}");
    // Composition: fixed title, the visit, no custodian, no event
    let Some(Resource::Composition(c)) = d.bundle.entry[0].resource.as_ref() else {
        panic!()
    };
    assert_eq!(c.title.value.as_deref(), Some(TITLE));
    assert!(c.custodian.is_none() && c.event.is_empty() && c.encounter.is_some());
    assert_eq!(c.author.len(), 2);
}

#[test]
fn only_untold_conditions_refuse_the_whole_document() {
    let req = request(REQUEST);
    let src = sources(vec![condition("B", "E119", None, vec![Tag::Uninformed])]);
    let d = build(&req, &site(), &src).unwrap_err();
    assert_eq!(errors(&d), ["M320"]);
    // no condition at all: the same
    let d = build(&req, &site(), &sources(Vec::new())).unwrap_err();
    assert_eq!(errors(&d), ["M320"]);
}

#[test]
fn named_codes_choose_and_unknown_or_untold_ones_are_reported() {
    let named = REQUEST.replace(
        "conditions = \"current\"",
        "conditions = [\"I10\", \"E119\"]",
    );
    let req = request(&named);
    let src = sources(vec![
        condition("A", "I10", None, vec![]),
        condition("B", "E119", None, vec![Tag::Uninformed]),
        condition("C", "E785", None, vec![]),
    ]);
    let d = build(&req, &site(), &src).unwrap();
    assert_eq!(plan_of(&d).addresses.len(), 1);
    let warned: Vec<_> = d.diagnostics.iter().map(|x| x.code.id).collect();
    assert!(warned.contains(&"M322"), "{warned:?}");
    // a code no current condition carries: refused, never silently dropped
    let req = request(&REQUEST.replace(
        "conditions = \"current\"",
        "conditions = [\"I10\", \"J450\"]",
    ));
    let d = build(&req, &site(), &src).unwrap_err();
    assert_eq!(errors(&d), ["M321"]);
}

#[test]
fn request_needs_the_plan_the_conditions_and_the_visit() {
    let bad = REQUEST
        .replace("plan = \"血圧の薬を続けましょう。\"\n", "")
        .replace("conditions = \"current\"\n", "")
        .replace("[encounter]\nclass = \"AMB\"\nstart = \"2025-06-10\"\n", "");
    let (r, d) = DocumentRequest::parse(&bad, &site());
    assert!(r.is_none());
    let keys: Vec<String> = d
        .iter()
        .filter_map(|x| x.location.element.clone())
        .collect();
    assert_eq!(keys, ["encounter", "summary.plan", "summary.conditions"]);
    let (_, d) = DocumentRequest::parse(
        &REQUEST.replace("conditions = \"current\"", "conditions = \"all\""),
        &site(),
    );
    assert_eq!(errors(&d), ["M302"]);
    let (_, d) = DocumentRequest::parse(
        &REQUEST.replace("next_review = \"2025-09-10\"", "next_review = \"2025-09\""),
        &site(),
    );
    assert_eq!(errors(&d), ["M302"]);
}
