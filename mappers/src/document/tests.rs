use super::*;

#[test]
fn narrative_escapes_markup_and_keeps_lines() {
    let n = narrative("a < b & c\n2行目");
    assert_eq!(
        n.div.value,
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &lt; b &amp; c<br/>2行目</div>"
    );
    assert_eq!(n.status.value.as_deref(), Some("additional"));
}

#[test]
fn base64_matches_rfc4648_vectors() {
    for (i, o) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(i.as_bytes()), o);
    }
}

#[test]
fn instants_are_normalised_or_refused() {
    use request::normalise_instant as n;
    assert_eq!(
        n("2026-11-20T10:30", "+09:00").as_deref(),
        Some("2026-11-20T10:30:00+09:00")
    );
    assert_eq!(
        n("2026-11-20 10:30:05Z", "+09:00").as_deref(),
        Some("2026-11-20T10:30:05Z")
    );
    assert_eq!(
        n("2026-11-20T10:30:05.120+09:00", "+00:00").as_deref(),
        Some("2026-11-20T10:30:05.120+09:00")
    );
    assert_eq!(n("2026-11-20", "+09:00"), None);
    assert_eq!(n("2026-13-20T10:30", "+09:00"), None);
    assert_eq!(n("2026-11-20T25:30", "+09:00"), None);
}

use crate::config::SiteConfig;
use crate::record::{ConditionRecord, Name, PatientRecord, Submission};
use request::{DocumentRequest, Kind};

fn site() -> SiteConfig {
    match SiteConfig::parse("[site]\ninstitution_number = \"2213456789\"\nname = \"demo\"\n") {
        Ok(c) => c,
        Err(d) => panic!("{d:?}"),
    }
}

const REQUEST: &str = r#"
kind = "referral"
patient = "9999013"
issued = 2011-12-21T10:00:00+09:00
document_id = "REF-1"
version = 2
category = "OUTPATIENT"
[author]
name = "大河内 勘三郎"
id = "D001"
[author.organization]
name = "静岡テスト病院"
address = "静岡県静岡市"
[encounter]
class = "AMB"
start = "2011-12-20"
[referral]
purpose = "精査をお願いします。"
[referral.destination]
institution_number = "1311234567"
name = "東京第一テスト病院"
doctor = "野口 英世"
[narrative]
present_illness = "腹痛 <2週間>"
"#;

fn request(text: &str) -> (Option<DocumentRequest>, Vec<String>) {
    let (r, d) = DocumentRequest::parse(text, &site());
    let ids = d
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                x.code.id,
                x.location.element.clone().unwrap_or_default()
            )
        })
        .collect();
    (r, ids)
}

fn ok_request() -> DocumentRequest {
    match request(REQUEST) {
        (Some(r), d) if d.is_empty() => r,
        (_, d) => panic!("{d:?}"),
    }
}

#[test]
fn a_full_request_reads_with_toml_datetimes_and_integer_versions() {
    let r = ok_request();
    assert_eq!(r.kind, Kind::Referral);
    assert_eq!(r.issued, "2011-12-21T10:00:00+09:00");
    assert_eq!(r.version, "2");
    assert_eq!(r.category.display, "外来文書");
    assert_eq!(r.author.organization.institution_number, "2213456789");
    let dest = r.referral.as_ref().map(|x| x.destination.name.clone());
    assert_eq!(dest.as_deref(), Some("東京第一テスト病院"));
    assert_eq!(r.issue_date(), "2011-12-21");
}

#[test]
fn every_missing_part_is_named_at_once() {
    let (r, ids) = request("kind = \"referral\"\n");
    assert!(r.is_none());
    for key in [
        "patient",
        "issued",
        "document_id",
        "category",
        "author",
        "referral",
    ] {
        assert!(ids.contains(&format!("M301 {key}")), "{key}: {ids:?}");
    }
}

#[test]
fn unknown_keys_wrong_types_and_bad_values_are_refused() {
    let (r, ids) = request(&REQUEST.replace("version = 2", "versoin = 2"));
    assert!(r.is_none());
    assert_eq!(ids, vec!["M300 ".to_owned()]);
    let (_, d) = DocumentRequest::parse(&REQUEST.replace("version = 2", "versoin = 2"), &site());
    assert_eq!(d.iter().next().and_then(|x| x.location.line), Some(6));
    let (r, ids) = request(&REQUEST.replace("patient = \"9999013\"", "patient = 9999013"));
    assert!(r.is_none(), "{ids:?}");
    let (r, ids) = request(&REQUEST.replace("OUTPATIENT", "OUTPT"));
    assert!(r.is_none());
    assert_eq!(ids, vec!["M302 category".to_owned()]);
    let (_, ids) = request(&REQUEST.replace("REF-1", "REF 1"));
    assert_eq!(ids, vec!["M302 document_id".to_owned()]);
    let (_, ids) = request(&REQUEST.replace("class = \"AMB\"", "class = \"XX\""));
    assert_eq!(ids, vec!["M302 encounter.class".to_owned()]);
    let (_, ids) = request(&REQUEST.replace(
        "name = \"静岡テスト病院\"",
        "name = \"静岡テスト病院\"\ninstitution_number = \"1111111111\"",
    ));
    assert_eq!(
        ids,
        vec!["M306 author.organization.institution_number".to_owned()]
    );
    let (_, ids) = request(&format!(
        "{REQUEST}\n[[attachments]]\npath = \"a.png\"\ntitle = \"x\"\ncontent_type = \"image/png\"\n"
    ));
    assert_eq!(ids, vec!["M311 attachments[0].content_type".to_owned()]);
    let (_, ids) = request(&REQUEST.replace("present_illness = \"腹痛 <2週間>\"", ""));
    assert_eq!(ids, vec!["M301 narrative.present_illness".to_owned()]);
}

fn patient() -> PatientRecord {
    PatientRecord {
        local_id: "9999013".into(),
        names: vec![Name {
            representation: "IDE",
            family: "患者".into(),
            given: "太郎".into(),
            text: "患者 太郎".into(),
        }],
        gender: Some("male".into()),
        birth_date: Some("1948-04-05".into()),
        submission: Some(Submission::Submit),
        ..Default::default()
    }
}

fn json_of(d: &DocumentBundle) -> serde_json::Value {
    use fhir::model::IntoResource;
    let bytes = fhir::model::json::to_vec(&d.bundle.clone().into_resource()).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

fn section_codes(v: &serde_json::Value) -> Vec<String> {
    fn walk(s: &serde_json::Value, out: &mut Vec<String>) {
        for x in s.as_array().into_iter().flatten() {
            out.push(
                x["code"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
            walk(&x["section"], out);
        }
    }
    let mut out = Vec::new();
    walk(&v["entry"][0]["resource"]["section"], &mut out);
    out
}

#[test]
fn the_referral_has_its_fixed_parts_and_required_sections() {
    let req = ok_request();
    let src = Sources {
        patient: Some(patient()),
        ..Default::default()
    };
    let doc = match build(&req, &site(), &src, &[]) {
        Ok(d) => d,
        Err(d) => panic!("{d:?}"),
    };
    assert_eq!(doc.identifier, "2213456789^2011^REF-1");
    let v = json_of(&doc);
    assert_eq!(v["type"], "document");
    let c = &v["entry"][0]["resource"];
    assert_eq!(c["title"], "診療情報提供書");
    assert_eq!(c["type"]["coding"][0]["code"], "57133-1");
    assert_eq!(c["event"][0]["code"][0]["text"], "診療情報提供書発行");
    assert_eq!(c["extension"][0]["valueString"], "2");
    // No condition and no chief complaint: 340 is sent empty, and said so.
    assert_eq!(
        section_codes(&v),
        vec!["920", "910", "300", "950", "340", "360"]
    );
    let s340 = &c["section"][2]["section"][1];
    assert_eq!(s340["emptyReason"]["coding"][0]["code"], "unavailable");
    assert!(doc.diagnostics.iter().any(|d| d.code.id == "M307"));
    // The narrative is escaped XHTML.
    let s360 = &c["section"][2]["section"][2]["text"]["div"];
    assert!(
        s360.as_str().unwrap_or("").contains("腹痛 &lt;2週間&gt;"),
        "{s360}"
    );
    // Entries: Composition, Patient, two Encounters, two Practitioners, two Organizations.
    let types: Vec<&str> = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        vec![
            "Composition",
            "Patient",
            "Encounter",
            "Encounter",
            "Practitioner",
            "Practitioner",
            "Organization",
            "Organization"
        ]
    );
    // Same input, same bytes.
    let again = build(&req, &site(), &src, &[])
        .map(|d| json_of(&d))
        .unwrap_or_default();
    assert_eq!(v, again);
}

#[test]
fn conditions_go_to_340_or_370_and_withheld_ones_are_counted() {
    let req = ok_request();
    let cond = |id: &str, status: Option<&'static str>, end: Option<&str>, sub: Submission| {
        ConditionRecord {
            problem_id: id.into(),
            verification: "confirmed",
            clinical_status: status,
            abatement: end.map(Into::into),
            submission: Some(sub),
            ..Default::default()
        }
    };
    let src = Sources {
        patient: Some(patient()),
        conditions: vec![
            cond("1", Some("active"), None, Submission::Submit),
            cond(
                "2",
                Some("resolved"),
                Some("2010-01-01"),
                Submission::Submit,
            ),
            cond(
                "3",
                Some("resolved"),
                Some("2001-01-01"),
                Submission::Submit,
            ),
            cond("4", Some("active"), None, Submission::Withheld("疑い病名")),
        ],
        ..Default::default()
    };
    let doc = match build(&req, &site(), &src, &[]) {
        Ok(d) => d,
        Err(d) => panic!("{d:?}"),
    };
    let outcomes: Vec<String> = doc.tally.iter().map(|t| t.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        vec![
            "included (Composition.subject)",
            "included (section 340)",
            "included (section 370)",
            "left out: ended more than 5 years before the issue date",
            "withheld: 疑い病名",
        ]
    );
    assert_eq!(
        section_codes(&json_of(&doc)),
        vec!["920", "910", "300", "950", "340", "360", "370"]
    );
}

#[test]
fn no_document_without_a_patient_a_pdf_or_the_right_kind() {
    let req = ok_request();
    let ids = |r: Result<DocumentBundle, diagnostics::Diagnostics>| -> Vec<&'static str> {
        match r {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(|x| x.code.id).collect(),
        }
    };
    assert_eq!(
        ids(build(&req, &site(), &Sources::default(), &[])),
        vec!["M303"]
    );
    let withheld = Sources {
        patient: Some(PatientRecord {
            submission: Some(Submission::Withheld("no name")),
            ..patient()
        }),
        ..Default::default()
    };
    assert_eq!(ids(build(&req, &site(), &withheld, &[])), vec!["M304"]);
    let src = Sources {
        patient: Some(patient()),
        ..Default::default()
    };
    let a = request::Attachment {
        path: "x.txt".into(),
        title: "x".into(),
        content_type: "application/pdf".into(),
    };
    let bytes: &[u8] = b"hello";
    assert_eq!(
        ids(build(&req, &site(), &src, &[(&a, bytes)])),
        vec!["M312"]
    );
    let pdf: &[u8] = b"%PDF-1.4 ...";
    let doc = build(&req, &site(), &src, &[(&a, pdf)]).map(|d| json_of(&d));
    let codes = doc.as_ref().map(section_codes).unwrap_or_default();
    assert_eq!(codes.last().map(String::as_str), Some("230"));
    let discharge = DocumentRequest {
        kind: Kind::Discharge,
        ..req.clone()
    };
    // A discharge request goes to the discharge builder, which needs its `[discharge]` part.
    assert_eq!(ids(build(&discharge, &site(), &src, &[])), vec!["M310"]);
    assert_eq!(
        ids(referral::build(&discharge, &site(), &src, &[])),
        vec!["M310"]
    );
}

#[test]
fn the_documented_example_request_reads() {
    let doc = include_str!("../../../docs/document-request.md");
    let block = doc
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(b, _)| b)
        .unwrap_or_default();
    let (r, ids) = request(block);
    assert!(ids.is_empty(), "{ids:?}");
    let r = r.unwrap_or_else(|| panic!("no request"));
    assert_eq!(r.attachments.len(), 1);
    assert_eq!(r.narrative.social_history.as_deref(), Some("喫煙なし"));
    assert_eq!(r.sources.from.as_deref(), Some("2011-06-01"));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_read_or_refused_without_panicking(text in "\\PC{0,200}") {
            let (r, d) = DocumentRequest::parse(&text, &site());
            // No request without a reason, and never both a request and an error.
            prop_assert!(r.is_some() != d.has_errors());
        }

        #[test]
        fn truncations_and_byte_flips_of_a_request_never_panic(cut in 0usize..700, at in 0usize..700, b in 0u8..128) {
            let mut bytes = REQUEST.as_bytes().to_vec();
            if let Some(x) = bytes.get_mut(at) {
                *x = b;
            }
            bytes.truncate(cut);
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let (r, d) = DocumentRequest::parse(text, &site());
                prop_assert!(r.is_some() != d.has_errors());
                if let Some(r) = r {
                    let src = Sources { patient: Some(patient()), ..Default::default() };
                    // A request that reads always builds (or says why not).
                    let _ = build(&r, &site(), &src, &[]);
                }
            }
        }
    }
}
