use super::*;
use fhir::model::{IntoResource, json};
use serde_json::Value as J;

const SAMPLE: &[u8] = include_bytes!("../../../golden/checkup/data/h1311234567_20240405_0001.xml");

fn rules(file: &str) -> Rules {
    let bytes = std::fs::read(crate::shared(&format!("fhir-profiles/echeckup/{file}")))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let pkg = fhir::package::Package::from_tgz(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    Rules::from_package(&pkg)
}

/// The rules of eCheckupReport 1.5.0 (the default pin).
fn r150() -> &'static Rules {
    static R: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
    R.get_or_init(|| rules("jp-eCheckupReport.r4-1.5.0-snap.tgz"))
}

/// The rules of eCheckupReport 1.1.3 (the `echeckup-1.1.3` pin).
fn r113() -> &'static Rules {
    static R: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
    R.get_or_init(|| rules("jp-eCheckupReport.r4.tgz"))
}

fn parse(bytes: &[u8]) -> CheckupDocument {
    let (doc, d) = parsers::checkup::read(bytes);
    assert!(!d.has_errors(), "{d:?}");
    doc.unwrap_or_default()
}

fn to_json(b: &CheckupBundle) -> (Vec<u8>, J) {
    let bytes = json::to_vec(&b.bundle.clone().into_resource()).unwrap_or_default();
    let v: J = serde_json::from_slice(&bytes).unwrap_or(J::Null);
    (bytes, v)
}

fn by_url<'a>(b: &'a J, url: &str) -> &'a J {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["fullUrl"] == url)
        .map(|e| &e["resource"])
        .unwrap_or(&J::Null)
}

fn obs_with_code<'a>(b: &'a J, code: &str) -> &'a J {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| r["code"]["coding"][0]["code"] == code)
        .unwrap_or(&J::Null)
}

fn ids(d: &Diagnostics) -> Vec<&'static str> {
    d.iter().map(|x| x.code.id).collect()
}

#[test]
fn sample_maps_to_a_document_bundle_deterministically() {
    let doc = parse(SAMPLE);
    let a = map(&doc, r150());
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    assert_eq!(a.observations, 22);
    let (bytes, b) = to_json(&a);
    assert_eq!(to_json(&map(&doc, r150())).0, bytes);
    assert_eq!(b["type"], "document");
    assert_eq!(b["timestamp"], "2024-04-05T00:00:00+09:00");
    assert_eq!(b["identifier"]["value"], a.identifier.as_str());
    assert!(
        a.identifier.starts_with("1311234567^2024^"),
        "{}",
        a.identifier
    );
    let comp = &b["entry"][0]["resource"];
    assert_eq!(
        comp["identifier"]["value"],
        a.identifier.replace('^', "-").as_str()
    );
    // The same fullUrls under 1.1.3, whose identifier is 機関番号-年-番号.
    let old = map(&doc, r113());
    assert_eq!(old.identifier, a.identifier.replace('^', "-"));
    let (_, o) = to_json(&old);
    let urls = |v: &J| -> Vec<String> {
        v["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["fullUrl"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(urls(&o), urls(&b));
    assert_eq!(comp["resourceType"], "Composition");
    assert_eq!(comp["event"][0]["code"][0]["coding"][0]["code"], "010");
    assert_eq!(comp["event"][0]["period"]["start"], "2024-04-04");
    assert_eq!(comp["category"][0]["coding"][0]["code"], "10");
    let patient = by_url(&b, comp["subject"]["reference"].as_str().unwrap_or(""));
    assert_eq!(
        patient["identifier"][0]["value"],
        "06139999:１２３:４５６:01"
    );
    assert_eq!(patient["name"][0]["family"], "ケンシン");
    assert_eq!(patient["birthDate"], "1970-05-04");
    let cov = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Coverage")
        .unwrap_or(&J::Null);
    assert_eq!(cov["subscriberId"], "24100000123");
    assert_eq!(cov["period"]["end"], "2025-03-31");
}

#[test]
fn split_rule_puts_questionnaire_items_in_01012() {
    let a = map(&parse(SAMPLE), r150());
    let (_, b) = to_json(&a);
    let sections = b["entry"][0]["resource"]["section"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let codes: Vec<_> = sections
        .iter()
        .map(|s| {
            s["code"]["coding"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(codes, vec!["01011", "01012", "01990"]);
    let quest: Vec<String> = sections[1]["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            by_url(&b, r["reference"].as_str().unwrap_or(""))["code"]["coding"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        quest,
        vec![
            "9N701000000000011",
            "9N736000000000011",
            "9N786000000000011"
        ]
    );
    // 01011 holds the 15 other entries (the group counts once); members are not section entries.
    assert_eq!(sections[0]["entry"].as_array().map(Vec::len), Some(15));
    assert_eq!(sections[2]["entry"].as_array().map(Vec::len), Some(1));
    assert!(questionnaire("9N872000000000011") && !questionnaire("9N501000000000011"));
}

#[test]
fn values_absence_and_groups() {
    let (_, b) = to_json(&map(&parse(SAMPLE), r150()));
    let ldl = obs_with_code(&b, "3F077000002327101");
    assert_eq!(ldl["valueQuantity"]["code"], "mg/dL");
    assert_eq!(ldl["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(ldl["referenceRange"][0]["high"]["value"].to_string(), "119");
    assert_eq!(
        ldl["method"]["coding"][0]["system"],
        "urn:oid:1.2.392.200119.6.1007"
    );
    let dbp = obs_with_code(&b, "9A761000000000001");
    assert_eq!(dbp["status"], "final");
    assert!(dbp.get("valueQuantity").is_none());
    assert_eq!(
        dbp["dataAbsentReason"]["coding"][0]["code"],
        "not-performed"
    );
    assert_eq!(dbp["dataAbsentReason"]["text"], "未実施");
    let a1c = obs_with_code(&b, "3D046000001906202");
    assert_eq!(a1c["dataAbsentReason"]["coding"][0]["code"], "unknown");
    assert_eq!(a1c["dataAbsentReason"]["text"], "測定不能");
    let metabo = obs_with_code(&b, "9N501000000000011");
    assert_eq!(
        metabo["valueCodeableConcept"]["coding"][0]["system"],
        "urn:oid:1.2.392.200119.6.1008"
    );
    assert_eq!(metabo["category"][0]["coding"][0]["code"], "survey");
    let level = obs_with_code(&b, "9N506000000000011");
    assert_eq!(level["valueCodeableConcept"]["coding"][0]["code"], "3");
    let dx = obs_with_code(&b, "9N511000000000049");
    assert_eq!(dx["valueString"], "異常なし（架空の所見）");
    let doctor = by_url(&b, dx["performer"][0]["reference"].as_str().unwrap_or(""));
    assert_eq!(doctor["resourceType"], "Practitioner");
    assert_eq!(doctor["name"][0]["given"][0], "一郎");
    let group = obs_with_code(&b, "3C015");
    assert_eq!(group["meta"]["profile"][0], GROUP_PROFILE);
    assert_eq!(group["hasMember"].as_array().map(Vec::len), Some(3));
    assert!(group.get("category").is_none());
    let reason = obs_with_code(&b, "3C015161002399949");
    assert_eq!(reason["valueString"], "医師の判断（架空）");
}

#[test]
fn problems_are_reported_not_invented() {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let bad = s
        .replace("ケンシン　ハナコ", "ケンシンハナコ")
        .replace("code=\"2\" codeSystem=\"1.2.392.200119.6.1104\"", "code=\"9\" codeSystem=\"1.2.392.200119.6.1104\"")
        .replace("<assignedPerson><name>見本　一郎</name></assignedPerson>", "")
        .replace(
            "<value xsi:type=\"PQ\" value=\"142\" unit=\"mg/dL\"/>",
            "<value xsi:type=\"PQ\" value=\".5\" unit=\"mg/dL\"/><value xsi:type=\"CD\" code=\"L\" codeSystem=\"2.16.840.1.113883.5.83\" displayName=\"以下\"/>",
        )
        .replace("<code code=\"3C015000002327101\"", "<code code=\"5Z999000000000001\"")
        .replace("<code code=\"8A065000002391901\"", "<code code=\"5Z998000000000001\"")
        .replace("<code code=\"3C015161002399949\"", "<code code=\"5Z997000000000049\"");
    // Under eCheckupReport 1.1.3, whose Patient profile requires family and given name.
    let a = map(&parse(bad.as_bytes()), r113());
    let got = ids(&a.diagnostics);
    for want in ["M202", "M203", "M220", "M211", "M210"] {
        assert!(got.contains(&want), "{want} missing in {got:?}");
    }
    let (_, b) = to_json(&a);
    let ldl = obs_with_code(&b, "3F077000002327101");
    assert_eq!(ldl["valueQuantity"]["comparator"], "<=");
    assert_eq!(ldl["valueQuantity"]["value"].to_string(), "0.5");
    let patient = &b["entry"][1]["resource"];
    assert!(patient.get("gender").is_none());
    assert!(patient["name"][0].get("given").is_none());
    // The name is PHI: only in a tagged excerpt, never in the message.
    let m202 = a.diagnostics.iter().find(|x| x.code.id == "M202").cloned();
    assert!(m202.is_some_and(|x| !x.message.contains("ケンシン")
        && matches!(
            x.excerpt,
            Some(Excerpt::Text {
                phi: Some(Phi::Name),
                ..
            })
        )));
}

#[test]
fn rules_are_read_from_each_package() {
    let (new, old) = (r150(), r113());
    assert_eq!(new.package, "jp-eCheckupReport.r4#1.5.0");
    assert_eq!(
        new.bundle_profile,
        "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eCheckupGeneral"
    );
    assert_eq!(
        old.bundle_profile,
        "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Bundle_eCheckupGeneral"
    );
    assert_eq!(
        new.patient_profile,
        "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Patient_eCheckupGeneral"
    );
    assert_eq!(
        old.patient_profile,
        "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS"
    );
    assert_eq!(new.bundle_identifier_system, rules::CLINS_BUNDLE_ID);
    assert!(new.caret_identifier && !old.caret_identifier);
    assert!(!new.patient_name_parts_required && old.patient_name_parts_required);
    // Both require a Practitioner entry; neither requires its name.
    assert!(new.practitioner_required && old.practitioner_required);
    assert!(!new.practitioner_name_required && !old.practitioner_name_required);
    for r in [new, old] {
        assert!(r.patient_required.contains("address"), "{}", r.package);
        assert!(r.patient_required.contains("address.text"), "{}", r.package);
    }
    assert_eq!(
        new.sections.get("01990").cloned().flatten().as_deref(),
        Some("任意追加項目セクション")
    );
    assert_eq!(
        old.sections.get("01990").cloned().flatten().as_deref(),
        Some("特定健診任意追加項目セクション")
    );
    assert!(new.group_codes.iter().any(|(c, _)| c == "2A020"));
    assert!(old.group_codes.iter().any(|(c, _)| c == "2A000"));
    let (url, codes) = new.group_relationship.clone().unwrap_or_default();
    assert_eq!(
        url,
        "http://jpfhir.jp/fhir/Common/Extension/StructureDefinition/observatioGroupRelationship"
    );
    assert_eq!(codes.into_iter().collect::<Vec<_>>(), ["COMP", "RSON"]);
    assert!(old.group_relationship.is_none());
    assert_eq!(
        new.insurer_system,
        "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber"
    );
    assert_eq!(old.insurer_system, "urn:oid:1.2.392.100495.20.3.61");
    assert!(new.organization_types.is_some() && old.organization_types.is_none());
    let cat = |r: &Rules, c: &str| {
        r.report_categories
            .as_ref()
            .is_some_and(|s| s.contains(&(CATEGORY_REPORT.to_owned(), c.to_owned())))
    };
    assert!(cat(new, "10") && cat(new, "60") && !cat(new, "90"));
    assert!(cat(old, "10") && cat(old, "90") && !cat(old, "60"));
}

/// Real 特定健診 files write the カナ氏名 without a space: under 1.5.0 it goes into
/// `text` alone (no split guessed); a file without a doctor gets an unnamed
/// Practitioner as its author; one without an address is reported (M219).
#[test]
fn unsplit_names_no_doctor_and_no_address_under_1_5_0() {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let xml = s.replace("ケンシン　ハナコ", "ケンシンハナコ").replace(
        "<assignedPerson><name>見本　一郎</name></assignedPerson>",
        "",
    );
    let a = map(&parse(xml.as_bytes()), r150());
    let got = ids(&a.diagnostics);
    assert_eq!(got, ["M218", "M220"], "{:?}", a.diagnostics);
    let (_, b) = to_json(&a);
    let patient = &b["entry"][1]["resource"];
    assert_eq!(patient["name"][0]["text"], "ケンシンハナコ");
    assert!(patient["name"][0].get("family").is_none());
    assert!(patient["name"][0].get("given").is_none());
    let practitioner = &b["entry"][2]["resource"];
    assert_eq!(practitioner["resourceType"], "Practitioner");
    assert!(practitioner.get("name").is_none());
    let comp = &b["entry"][0]["resource"];
    assert_eq!(comp["author"][0]["reference"], b["entry"][2]["fullUrl"]);
    assert!(
        a.identifier.starts_with("1311234567^2024^"),
        "{}",
        a.identifier
    );
    assert_eq!(
        b["identifier"]["system"],
        "http://jpfhir.jp/fhir/clins/bundle-identifier"
    );

    let no_addr = s.replace(
        "<addr><postalCode>100-0000</postalCode>東京都架空区見本町１－２－３</addr>",
        "",
    );
    let a = map(&parse(no_addr.as_bytes()), r150());
    let m219: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|x| x.code.id == "M219")
        .collect();
    assert_eq!(m219.len(), 1, "{:?}", a.diagnostics);
    assert!(
        m219[0].message.contains("Patient.address"),
        "{}",
        m219[0].message
    );
    assert_eq!(
        m219[0].location.element.as_deref(),
        Some("/ClinicalDocument/recordTarget/patientRole/addr")
    );
    let (_, b) = to_json(&a);
    assert!(b["entry"][1]["resource"].get("address").is_none());
}

#[test]
fn groups_carry_the_relationship_under_1_5_0_only() {
    let doc = parse(SAMPLE);
    for (rules, with) in [(r150(), true), (r113(), false)] {
        let (_, b) = to_json(&map(&doc, rules));
        let group = b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .find(|r| r.get("hasMember").is_some())
            .unwrap_or(&J::Null);
        let rel: Vec<&J> = group["hasMember"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| &m["extension"][0]["valueCode"])
            .collect();
        if with {
            assert_eq!(rel, ["COMP", "RSON", "COMP"], "{group}");
        } else {
            assert!(rel.iter().all(|v| v.is_null()), "{group}");
        }
    }
}

#[test]
fn a_doctor_name_item_also_names_the_practitioner() {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let xml = s
        .replace("<assignedPerson><name>見本　一郎</name></assignedPerson>", "")
        .replace(
            "<entry><observation classCode=\"OBS\" moodCode=\"EVN\">\n            <code code=\"9N701000000000011\"",
            "<entry><observation classCode=\"OBS\" moodCode=\"EVN\"><code code=\"9N516000000000049\"/><value xsi:type=\"ST\">見本　二郎</value></observation></entry>\n          <entry><observation classCode=\"OBS\" moodCode=\"EVN\">\n            <code code=\"9N701000000000011\"",
        );
    let a = map(&parse(xml.as_bytes()), r150());
    assert!(
        !ids(&a.diagnostics).contains(&"M204"),
        "{:?}",
        a.diagnostics
    );
    let (_, b) = to_json(&a);
    let doctor = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Practitioner")
        .unwrap_or(&J::Null);
    assert_eq!(doctor["name"][0]["given"][0], "二郎");
}

#[test]
fn helpers() {
    assert_eq!(decimal(".5"), "0.5");
    assert_eq!(decimal("-.5"), "-0.5");
    assert_eq!(decimal("+12"), "12");
    assert_eq!(decimal("007.50"), "7.50");
    assert_eq!(decimal("000"), "0");
    assert_eq!(
        split_name("ケンシン　ハナコ"),
        ("ケンシン".into(), Some("ハナコ".into()))
    );
    assert_eq!(split_name("ケンシン"), ("ケンシン".into(), None));
    assert_eq!(category("9N016160100000001").0, "body-measurement");
    assert_eq!(category("9A755000000000001").0, "vital-signs");
    assert_eq!(category("3D046000001906202").0, "laboratory");
    assert_eq!(category("9N056000000000011").0, "exam");
    assert_eq!(null_flavor_reason("NI"), "unknown");
    assert_eq!(null_flavor_reason("NAV"), "temp-unknown");
}

proptest::proptest! {
    /// Whatever decimal the XML holds, the bundle can be written as FHIR JSON.
    #[test]
    fn any_schema_decimal_is_writable(int in "[+-]?[0-9]{0,4}", frac in proptest::option::of("[0-9]{0,3}")) {
        let v = match &frac { Some(f) => format!("{int}.{f}"), None => int.clone() };
        proptest::prop_assume!(parsers::checkup::is_decimal(&v));
        let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
        let xml = s.replace("value=\"158.2\"", &format!("value=\"{v}\""));
        let b = map(&parse(xml.as_bytes()), r150());
        proptest::prop_assert!(json::to_vec(&b.bundle.into_resource()).is_ok(), "{v}");
    }

    /// Byte flips in the sample never make the mapper panic or write unwritable JSON.
    #[test]
    fn mapped_flips_stay_writable(at in 0usize..SAMPLE.len(), byte in proptest::prelude::any::<u8>()) {
        let mut bytes = SAMPLE.to_vec();
        bytes[at] = byte;
        if let (Some(doc), _) = parsers::checkup::read(&bytes) {
            let b = map(&doc, r150());
            proptest::prop_assert!(json::to_vec(&b.bundle.into_resource()).is_ok());
        }
    }
}

/// Regression (found by `mapped_flips_stay_writable`): a reference-range bound
/// that is not a decimal (`1:9`) is reported and left out, and the bundle stays
/// writable as FHIR JSON.
#[test]
fn a_non_decimal_range_bound_is_left_out() {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let bound = "<high value=\"129\" unit=\"mm[Hg]\"/>";
    assert!(s.contains(bound));
    let xml = s.replacen(bound, "<high value=\"1:9\" unit=\"mm[Hg]\"/>", 1);
    let (doc, d) = parsers::checkup::read(xml.as_bytes());
    assert!(d.iter().any(|x| x.message.contains("bound is left out")));
    let b = map(&doc.unwrap(), r150());
    assert!(json::to_vec(&b.bundle.into_resource()).is_ok());
}
