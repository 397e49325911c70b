#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::key::{Key, KeyError};
use crate::optout::OptOut;
use crate::patients::Patients;
use crate::transform::{Options, Pseudonymiser, Quasi};
use serde_json::{Value, json};

const KEY_A: &[u8] = b"test key A: not secret, for tests only 0123456789";
const KEY_B: &[u8] = b"test key B: not secret, for tests only 9876543210";

fn patient_ndjson() -> Value {
    json!({"resourceType": "Patient", "id": "e906b826-2191-5c3a-b9ab-0f4d7440338f",
        "identifier": [
            {"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID", "value": "06139999:１２３:４５６:01"},
            {"system": "urn:oid:1.2.392.100495.20.3.51.12213456789", "value": "9999013"}],
        "meta": {"lastUpdated": "2011-12-09T16:30:30.000+09:00", "versionId": "3"},
        "name": [{"family": "患者", "given": ["太郎"], "text": "患者 太郎"}],
        "telecom": [{"system": "phone", "value": "054-000-0000"}],
        "gender": "male", "birthDate": "1948-04-05",
        "address": [{"postalCode": "422-8033", "text": "静岡県静岡市登呂１－３－５"}]})
}

fn bundle() -> Value {
    json!({"resourceType": "Bundle",
    "identifier": {"system": "http://jpfhir.jp/fhir/clins/bundle-identifier", "value": "2213456789^2026^A-9999013"},
    "timestamp": "2011-12-20T22:44:47.339+09:00",
    "entry": [
        {"fullUrl": "urn:uuid:873797bd-29c9-5cb6-866a-25184d22a9d3", "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.51.12213456789", "value": "9999013"}],
            "name": [{"text": "患者 太郎"}], "birthDate": "1948-04-05"}},
        {"fullUrl": "urn:uuid:15669fb7-614c-5f76-9952-c3cde6129869", "resource": {
            "resourceType": "AllergyIntolerance",
            "identifier": [{"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier", "value": "1"}],
            "patient": {"reference": "urn:uuid:873797bd-29c9-5cb6-866a-25184d22a9d3", "display": "患者 太郎"},
            "code": {"coding": [{"system": "x", "code": "1", "display": "サバ"}], "text": "サバ"},
            "reaction": [{"manifestation": [{"text": "のどの渇きが止まらない"}]}],
            "note": [{"text": "母親より聴取"}],
            "onsetString": "二十歳頃",
            "recordedDate": "2011-12-20",
            "contained": [{"resourceType": "Practitioner", "id": "performer", "name": [{"text": "医師一郎"}],
                "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.41.12213456789", "value": "607"}]}],
            "recorder": {"reference": "#performer", "display": "医師一郎"}}},
        {"fullUrl": "urn:uuid:aaaa0000-0000-5000-8000-000000000001", "resource": {
            "resourceType": "Coverage", "subscriberId": "24100000123",
            "beneficiary": {"reference": "urn:uuid:873797bd-29c9-5cb6-866a-25184d22a9d3"},
            "extension": [{"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSymbol", "valueString": "１２３"}]}}
    ]})
}

fn condition() -> Value {
    json!({"resourceType": "Condition", "id": "034d11e9-c269-54c8-8734-865762ed467e",
        "subject": {"reference": "Patient/e906b826-2191-5c3a-b9ab-0f4d7440338f"},
        "code": {"text": "左膝の痛み（本人申告）"},
        "onsetDateTime": "2011-08-31", "recordedDate": "2011-08-31T10:00:00+09:00"})
}

fn run(
    key: &[u8],
    opts: Options,
    opt_out: Option<&OptOut>,
) -> (Vec<Option<Value>>, Pseudonymiser<'static>) {
    let key: &'static Key = Box::leak(Box::new(Key::from_bytes(key).unwrap()));
    let inputs = [patient_ndjson(), bundle(), condition()];
    let mut people = Patients::default();
    for v in &inputs {
        people.observe(v);
    }
    let mut p = Pseudonymiser::new(key, opts, people, opt_out, Quasi::defaults());
    let out = inputs
        .into_iter()
        .map(|mut v| p.process(&mut v).then_some(v))
        .collect();
    (out, p)
}

fn text(v: &[Option<Value>]) -> String {
    v.iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn identifying_values_are_gone_and_links_kept() {
    let (out, p) = run(KEY_A, Options::default(), None);
    let all = text(&out);
    for secret in [
        "患者",
        "太郎",
        "054-000-0000",
        "422-8033",
        "静岡市",
        "9999013",
        "A-9999013",
        "１２３",
        "４５６",
        "24100000123",
        "e906b826",
        "873797bd",
        "15669fb7",
        "034d11e9",
        "医師一郎",
        "607",
        "母親",
        "二十歳頃",
        "のどの渇き",
        "左膝",
        "1948-04-05",
        "versionId",
    ] {
        assert!(!all.contains(secret), "{secret} left in {all}");
    }
    let patient = out[0].as_ref().unwrap();
    assert_eq!(patient["birthDate"], "1948-04");
    assert_eq!(patient["address"], json!([{"state": "静岡県"}]));
    let pid = patient["id"].as_str().unwrap();
    // every copy of the patient and every reference to it: the same pseudonym
    let b = out[1].as_ref().unwrap();
    assert_eq!(b["entry"][0]["fullUrl"], format!("urn:uuid:{pid}"));
    assert_eq!(
        b["entry"][1]["resource"]["patient"]["reference"],
        format!("urn:uuid:{pid}")
    );
    assert_eq!(
        out[2].as_ref().unwrap()["subject"]["reference"],
        format!("Patient/{pid}")
    );
    // coded text kept, contained reference still resolves
    let allergy = &b["entry"][1]["resource"];
    assert_eq!(allergy["code"]["text"], "サバ");
    assert_eq!(
        allergy["recorder"]["reference"],
        format!("#{}", allergy["contained"][0]["id"].as_str().unwrap())
    );
    assert_eq!(allergy["recordedDate"], "2011-12-20");
    assert!(b["entry"][2]["resource"].get("extension").is_none());
    assert_eq!(p.counts().patients_in, 1);
    assert_eq!(p.released().len(), 1);
    assert_eq!(
        p.released()[0].qi,
        Some(vec![
            Some("1948-04".into()),
            Some("male".into()),
            Some("静岡県".into())
        ])
    );
}

#[test]
fn same_key_same_bytes_other_key_nothing_shared() {
    let (a1, _) = run(KEY_A, Options::default(), None);
    let (a2, _) = run(KEY_A, Options::default(), None);
    let (b, _) = run(KEY_B, Options::default(), None);
    assert_eq!(text(&a1), text(&a2));
    let uuids = |s: &str| -> std::collections::BTreeSet<String> {
        s.split('"')
            .filter(|t| t.len() >= 36)
            .map(|t| t.rsplit([':', '/', '#']).next().unwrap().to_owned())
            .filter(|t| t.len() == 36 && t.as_bytes()[8] == b'-')
            .collect()
    };
    let (ua, ub) = (uuids(&text(&a1)), uuids(&text(&b)));
    assert!(ua.len() > 5, "{ua:?}");
    assert!(ua.is_disjoint(&ub));
}

#[test]
fn dates_shift_by_one_offset_per_patient() {
    let opts = Options {
        shift_dates: true,
        ..Options::default()
    };
    let (out, _) = run(KEY_A, opts, None);
    let onset = out[2].as_ref().unwrap()["onsetDateTime"]
        .as_str()
        .unwrap()
        .to_owned();
    let recorded = out[2].as_ref().unwrap()["recordedDate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(onset, "2011-08-31");
    // both dates of the resource moved by the same days, the time kept
    assert_eq!(format!("{onset}T10:00:00+09:00"), recorded);
    let days = |s: &str| {
        let b = crate::dates::shift(s, 0).unwrap();
        (0..=400)
            .find(|d| crate::dates::shift(&b, -200 + d).as_deref() == Some("2011-08-31"))
            .map(|d| 200 - d)
    };
    let d = days(&onset).unwrap();
    assert!((1..=180).contains(&d.abs()), "{d}");
    // the bundle's entries moved by the same offset
    let b = out[1].as_ref().unwrap();
    assert_eq!(
        b["entry"][1]["resource"]["recordedDate"],
        crate::dates::shift("2011-12-20", d).unwrap()
    );
}

#[test]
fn opted_out_patient_and_everything_of_theirs_excluded() {
    for list in [
        "patient,9999013\n",
        "# by insurance, full width folded, any 枝番\ninsurance,06139999:123:456\n",
        "kind,value\ninsurance, 06139999:１２３:４５６:01 \n",
    ] {
        let l = OptOut::parse("optout.csv", list.as_bytes()).unwrap();
        let (out, p) = run(KEY_A, Options::default(), Some(&l));
        assert!(out.iter().all(Option::is_none), "{list}");
        let c = p.counts();
        assert_eq!(
            (c.patients_opted_out, c.patients_out, c.resources_out),
            (1, 0, 0)
        );
        assert_eq!(c.resources_excluded, 5);
        assert!(p.released().is_empty());
    }
    let l = OptOut::parse("o", b"patient,0000001\n").unwrap();
    let (out, p) = run(KEY_A, Options::default(), Some(&l));
    assert!(out.iter().all(Option::is_some));
    assert_eq!(p.counts().opt_out_unmatched, 1);
}

#[test]
fn malformed_opt_out_lines_are_located() {
    let e = OptOut::parse(
        "o.csv",
        b"patient,1\nfoo,2\npatient\npatient,\ninsurance,06139999\npatient,1,2\npatient,a:b\n",
    )
    .unwrap_err();
    let lines: Vec<String> = e.iter().map(|d| d.location.to_string()).collect();
    assert_eq!(
        lines,
        [
            "o.csv:2", "o.csv:3", "o.csv:4", "o.csv:5", "o.csv:6", "o.csv:7"
        ]
    );
    assert!(e.iter().all(|d| d.code.id == "R001"));
    assert!(OptOut::parse("o", b"\xff\xfe").is_err());
}

#[test]
fn short_or_placeholder_keys_are_refused() {
    assert_eq!(
        Key::from_bytes(b"short").unwrap_err(),
        KeyError::TooShort(5)
    );
    assert_eq!(
        Key::from_bytes(&[0u8; 64]).unwrap_err(),
        KeyError::Degenerate
    );
    let k = Key::from_bytes(KEY_A).unwrap();
    assert_eq!(k.id().len(), 16);
    assert!(!format!("{k:?}").contains("test key"));
    assert_ne!(k.id(), Key::from_bytes(KEY_B).unwrap().id());
}
