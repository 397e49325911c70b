//! MedicationRequest ← OMP-01: the NHO sample's records and resources (goldens),
//! validation against the clins package set, and the edge cases.

use super::*;
use crate::record::MedicationRecord;

pub(super) const OMP01: &str = "999/901/9999013/20110701/OMP-01/9999013_20110701_OMP-01_000000011000185_20110701224603984_01_1";

const MSH: &str = "MSH|^~\\&|||||||RDE^O11^RDE_O11|1|P|2.5\rPID|1||42^^^^PI\r";
const ORC: &str = "ORC|NW|000000011000185||1|||||20110701103045|||110^医師^一郎|||||01^内科^99XY1";
const RXE: &str = "RXE||108665201^ダーゼン錠（５mg)^HOT9|1||TAB^錠^MR9P|||||15|TAB^錠^MR9P||||2011070112345||||3^TAB&錠&MR9P||OHP^外来処方^MR9P";
const TQ1: &str =
    "TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||5^d|2011070100";
const RXR: &str = "RXR|PO^口^HL70162";

fn meds_of(text: &str, cfg: &SiteConfig, t: &Index) -> (Vec<MedicationRecord>, Findings) {
    map_inline(
        &Hl7File::parse_str(text),
        cfg,
        t,
        lab_sets(),
        medication::map,
    )
}

fn one_line(orc: &str, rxe: &str, tq1: &str) -> String {
    format!("{MSH}{orc}\r{rxe}\r{tq1}\r{RXR}\r")
}

/// A table file in SSSOM TSV with one approved row per (source, target).
fn table(id: &str, source: &str, rows: &[(&str, &str, &str, &str)]) -> terminologies::table::Table {
    let mut text = format!(
        "#curie_map:\n#  source: {source}/\n#  T1: {}/\n#mapping_set_id: urn:kakehashi:table:{id}\n#mapping_set_version: \"1\"\n#license: https://www.apache.org/licenses/LICENSE-2.0\n#table_id: {id}\n#source_system: {source}\n",
        rows.first().map_or("", |r| r.2)
    );
    text.push_str("row_id\tsubject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\tstatus\tmapping_justification\treviewer_label\n");
    for (i, (code, label, _target_system, target)) in rows.iter().enumerate() {
        let (tcode, tlabel) = target.split_once('|').unwrap_or((target, ""));
        text.push_str(&format!(
            "r{:05}\tsource:{code}\t{label}\tskos:exactMatch\tT1:{tcode}\t{tlabel}\tapproved\tsemapv:ManualMappingCuration\treviewer\n",
            i + 1
        ));
    }
    let (t, d) = terminologies::table::parse_sssom(text.as_bytes());
    assert!(!d.has_errors(), "{d:?}");
    t
}

#[test]
fn nho_omp01_records() {
    let cfg = config("");
    let t = demo_tables();
    let (meds, sink, text) = run(OMP01, &cfg, &t, medication::map);
    expect("medication-omp01", &text);
    assert_eq!(meds.len(), 3);
    // RP numbers and the order within each RP.
    let ids: Vec<_> = meds
        .iter()
        .map(|m| (m.rp_number.as_str(), m.order_in_rp))
        .collect();
    assert_eq!(ids, [("1", 1), ("1", 2), ("2", 1)]);
    // No YJ / 一般名 table: NOCODED plus HOT9 as sent.
    for m in &meds {
        assert_eq!(m.medication.coding[0].code, medication::NOCODED);
        assert_eq!(
            m.medication.coding[1].system,
            "http://medis.or.jp/CodeSystem/master-HOT9"
        );
        assert_eq!(m.usage.coding[0].code, medication::DUMMY_USAGE);
        assert_eq!(m.usage.coding[1].system, medication::JAMI_USAGE);
        assert_eq!(m.authored_on.as_deref(), Some("2011-07-01T10:30:45+09:00"));
        assert_eq!(m.submission, Some(Submission::Submit));
    }
    assert_eq!(meds[0].days.as_deref(), Some("5"));
    assert_eq!(meds[2].days.as_deref(), Some("14"));
    assert_eq!(meds[0].prescription_no.as_deref(), Some("2011070112345"));
    assert_eq!(meds[1].prescription_no, None);
    // 錠 is a preparation unit; アレピアチン's mg dose is not known to be 製剤量.
    assert!(meds[0].dose_type.is_some() && meds[2].dose_type.is_none());
    let p = meds[0].prescriber.as_ref().unwrap();
    assert_eq!(
        (p.id.as_str(), p.name.as_str(), p.representation),
        ("110", "医師 一郎", Some("IDE"))
    );
    let c = codes_of(&sink);
    assert_eq!(c.iter().filter(|c| **c == "M101").count(), 3);
    assert_eq!(c.iter().filter(|c| **c == "M102").count(), 3);
    assert_eq!(c.iter().filter(|c| **c == "M107").count(), 1);
}

fn medication_bundle(meds: &[MedicationRecord], cfg: &SiteConfig) -> Vec<u8> {
    let t = demo_tables();
    let (p, _, _) = run(ADT00, cfg, &t, patient::map);
    let scope = "2213456789^2026^9999013-omp01";
    let patient_url = fhir::model::id::urn_uuid(&[scope.as_bytes(), b"Patient"]);
    let ts = "2011-07-01T22:46:03.984+09:00";
    let mut entry = vec![build_entry(
        &patient_url,
        bundle::patient(&p.unwrap(), cfg, ts),
    )];
    for m in meds {
        let r = medication::resource(m, cfg, &patient_url, ts).unwrap();
        entry.push(build_entry(&medication::full_url(scope, m), r));
    }
    let b = fhir::model::Bundle {
        r#type: "collection".into(),
        timestamp: Some(ts.into()),
        entry,
        ..Default::default()
    };
    fhir::model::json::to_vec(&fhir::model::IntoResource::into_resource(b)).unwrap()
}

fn build_entry(
    url: &str,
    r: impl fhir::model::IntoResource,
) -> fhir::model::resources::BundleEntry {
    fhir::model::build::bundle_entry(url, r)
}

#[test]
fn nho_medication_requests_validate_against_clins() {
    let cfg = config("allow_unreviewed = true");
    let t = demo_tables();
    let (meds, _, _) = run(OMP01, &cfg, &t, medication::map);
    let bytes = medication_bundle(&meds, &cfg);
    // Deterministic.
    assert_eq!(bytes, medication_bundle(&meds, &cfg));
    expect(
        "medication-omp01.json",
        &String::from_utf8(bytes.clone()).unwrap(),
    );
    let v = fhir::validate::Validator::new(clins());
    for i in v.validate_json(&bytes, &[]).issues.iter() {
        eprintln!(
            "{}",
            i.to_diagnostic()
                .render_human(RenderOptions { show_phi: true })
        );
    }
    let errors = clins_errors(&bytes);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn mapped_drug_usage_and_route_come_from_the_tables_with_their_rows() {
    let cfg = config("allow_unreviewed = true");
    let drugs = table(
        "drug",
        "http://medis.or.jp/CodeSystem/master-HOT9",
        &[(
            "108665201",
            "ダーゼン錠",
            medication::YJ,
            "2399002F1014|ダーゼン錠５ｍｇ",
        )],
    );
    let usage = table(
        "usage",
        medication::JAMI_USAGE,
        &[(
            "1013044400000000",
            "内服・経口・１日３回朝昼夕食後",
            medication::EPRESCRIPTION_USAGE,
            "1013044400000000|１日３回朝昼夕食後　服用",
        )],
    );
    let route = table(
        "route",
        medication::HL7_0162,
        &[("PO", "口", medication::ROUTE, "PO|口")],
    );
    let t = Index::new(&[drugs, usage, route]);
    let (meds, sink) = meds_of(&one_line(ORC, RXE, TQ1), &cfg, &t);
    let m = &meds[0];
    let yj = m.medication.coding_of(medication::YJ).unwrap();
    assert_eq!(yj.code, "2399002F1014");
    assert_eq!(yj.table_row.as_deref(), Some("drug@1#r00001"));
    assert!(m.medication.coding_of(medication::NOCODED_SYSTEM).is_none());
    let u = m.usage.coding_of(medication::EPRESCRIPTION_USAGE).unwrap();
    assert_eq!(u.table_row.as_deref(), Some("usage@1#r00001"));
    assert!(m.usage.coding_of(medication::USAGE_UNCODED).is_none());
    assert_eq!(m.route.as_ref().unwrap().coding[0].code, "PO");
    assert!(
        !codes_of(&sink)
            .iter()
            .any(|c| ["M020", "M101", "M102"].contains(c)),
        "{:?}",
        codes_of(&sink)
    );
    // The built resource still validates (YJ satisfies R3010, the ePrescription code R5020).
    let bytes = medication_bundle(&meds, &cfg);
    let errors = clins_errors(&bytes);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn missing_drug_is_reported_and_withheld() {
    let cfg = config("");
    let t = demo_tables();
    let rxe = RXE.replace("108665201^ダーゼン錠（５mg)^HOT9", "");
    let (meds, sink) = meds_of(&one_line(ORC, &rxe, TQ1), &cfg, &t);
    assert_eq!(meds.len(), 1, "the line is accounted for");
    assert_eq!(
        meds[0].submission,
        Some(Submission::Withheld("no drug (RXE-2)"))
    );
    let d = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M100")
        .unwrap();
    assert_eq!(d.location.field.as_ref().unwrap().to_string(), "RXE-2");
    assert!(medication::resource(&meds[0], &cfg, "urn:uuid:x", "2011-07-01").is_none());
}

#[test]
fn unmapped_drug_goes_to_the_worklist_and_is_sent_as_nocoded() {
    let cfg = config("");
    let t = Index::new(&[]);
    let rxe = RXE.replace("108665201^ダーゼン錠（５mg)^HOT9", "A123^院内薬^99XYZ");
    let (meds, sink) = meds_of(&one_line(ORC, &rxe, TQ1), &cfg, &t);
    let m = &meds[0];
    assert_eq!(m.medication.coding[0].code, "NOCODED");
    assert_eq!(m.medication.text, "院内薬");
    assert_eq!(
        m.medication.coding[1].system,
        "urn:kakehashi:local:nho-sample:99XYZ"
    );
    let c = codes_of(&sink);
    assert!(c.contains(&"M020") && c.contains(&"M101"), "{c:?}");
    assert!(
        sink.worklist.items().iter().any(|w| w.key.code == "A123"),
        "{:?}",
        sink.worklist.items()
    );
    assert_eq!(m.submission, Some(Submission::Submit));
}

#[test]
fn missing_usage_withholds_and_uncoded_usage_gets_the_dummy() {
    let cfg = config("");
    let t = demo_tables();
    // No TQ1 at all.
    let text = format!("{MSH}{ORC}\r{RXE}\r{RXR}\r");
    let (meds, sink) = meds_of(&text, &cfg, &t);
    assert_eq!(
        meds[0].submission,
        Some(Submission::Withheld("no usage (TQ1-3)"))
    );
    assert!(codes_of(&sink).contains(&"M103"));
    assert!(meds[0].usage.coding.is_empty(), "no dummy without a usage");
    // A usage with text only: the dummy carries it.
    let tq1 = "TQ1|1||&寝る前&|||7^d|20110701";
    let (meds, sink) = meds_of(&one_line(ORC, RXE, tq1), &cfg, &t);
    let m = &meds[0];
    assert_eq!(m.usage.text, "寝る前");
    assert_eq!(m.usage.coding.len(), 1);
    assert_eq!(m.usage.coding[0].code, medication::DUMMY_USAGE);
    assert!(codes_of(&sink).contains(&"M102"));
    assert_eq!(m.start.as_deref(), Some("2011-07-01"));
    assert_eq!(m.dosage_text, "寝る前 1回1錠 1日3錠 7日分");
}

#[test]
fn required_elements_missing_withhold_with_a_reason() {
    let cfg = config("");
    let t = demo_tables();
    // No RP number.
    let orc = ORC.replace("||1|||||", "|||||||");
    let (meds, sink) = meds_of(&one_line(&orc, RXE, TQ1), &cfg, &t);
    assert_eq!(
        meds[0].submission,
        Some(Submission::Withheld("no RP number (ORC-4)"))
    );
    assert!(codes_of(&sink).contains(&"M104"));
    // No order date anywhere.
    let orc = ORC.replace("20110701103045", "");
    let (meds, sink) = meds_of(&one_line(&orc, RXE, TQ1), &cfg, &t);
    assert_eq!(meds[0].authored_on, None);
    assert!(codes_of(&sink).contains(&"M105"));
    // No start date.
    let tq1 = TQ1.replace("|2011070100", "|");
    let (meds, sink) = meds_of(&one_line(ORC, RXE, &tq1), &cfg, &t);
    assert_eq!(meds[0].start, None);
    assert!(codes_of(&sink).contains(&"M106"));
    // Cancelled.
    let orc = ORC.replace("ORC|NW|", "ORC|CA|");
    let (meds, sink) = meds_of(&one_line(&orc, RXE, TQ1), &cfg, &t);
    assert!(matches!(meds[0].submission, Some(Submission::Withheld(_))));
    assert!(codes_of(&sink).contains(&"M110"));
}

#[test]
fn amounts_units_and_days() {
    let cfg = config("");
    let t = Index::new(&[]);
    // Bad amount, unit missing, days in weeks.
    let rxe = RXE
        .replace("|1||TAB^錠^MR9P|", "|1錠||TAB^錠^MR9P|")
        .replace("|15|TAB^錠^MR9P|", "|15||");
    let tq1 = TQ1.replace("|5^d|", "|2^wk|");
    let (meds, sink) = meds_of(&one_line(ORC, &rxe, &tq1), &cfg, &t);
    let m = &meds[0];
    assert_eq!(m.dose, None);
    assert_eq!(m.dispense, None);
    assert_eq!(m.days, None);
    let c = codes_of(&sink);
    for code in ["M108", "M111", "M109"] {
        assert!(c.contains(&code), "{code} in {c:?}");
    }
    // Decimals are kept exactly; a local unit without a table leaves the dose out.
    let rxe = RXE.replace("|1||TAB^錠^MR9P|", "|.5||T^錠^99U|");
    let (meds, sink) = meds_of(&one_line(ORC, &rxe, TQ1), &cfg, &t);
    assert_eq!(meds[0].dose, None);
    assert!(codes_of(&sink).contains(&"M020"));
    let rxe = RXE.replace("|1||TAB^錠^MR9P|", "|.5||TAB^錠^MR9P|");
    let (meds, _) = meds_of(&one_line(ORC, &rxe, TQ1), &cfg, &t);
    assert_eq!(meds[0].dose.as_ref().unwrap().value, "0.5");
    // A range RXE-3..RXE-4: text only, no structured dose.
    let rxe = RXE.replace("|1||TAB^錠^MR9P|", "|1|2|TAB^錠^MR9P|");
    let (meds, sink) = meds_of(&one_line(ORC, &rxe, TQ1), &cfg, &t);
    assert_eq!(meds[0].dose_max.as_deref(), Some("2"));
    assert_eq!(meds[0].dose_type, None);
    assert!(meds[0].dosage_text.contains("1回1～2錠"));
    assert!(codes_of(&sink).contains(&"M112"));
}

#[test]
fn local_category_goes_through_the_tables() {
    let cfg = config("");
    let t = Index::new(&[table(
        "cat",
        "urn:kakehashi:local:nho-sample:99I01",
        &[(
            "FTP",
            "定時処方",
            medication::MERIT9_CATEGORY,
            "ORD|定期処方",
        )],
    )]);
    let rxe = RXE.replace(
        "OHP^外来処方^MR9P",
        "OHP^外来処方^MR9P~FTP^定時処方^99I01~XX^謎^99I01",
    );
    let (meds, sink) = meds_of(&one_line(ORC, &rxe, TQ1), &cfg, &t);
    let codes: Vec<_> = meds[0].category.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["OHP", "ORD"]);
    assert!(
        sink.worklist.items().iter().any(|w| w.key.code == "XX"),
        "the unmapped local category is on the worklist"
    );
}

#[test]
fn several_orders_and_rps_number_their_lines() {
    let cfg = config("");
    let t = Index::new(&[]);
    let orc2 = ORC.replace("||1|||||", "||2|||||");
    let text = format!(
        "{MSH}{ORC}\r{RXE}\r{TQ1}\r{RXR}\r{ORC}\r{RXE}\r{TQ1}\r{RXR}\r{orc2}\r{RXE}\r{TQ1}\r{RXR}\r{ORC}\r{RXE}\r{TQ1}\r{RXR}\r"
    );
    let (meds, _) = meds_of(&text, &cfg, &t);
    let ids: Vec<_> = meds
        .iter()
        .map(|m| (m.rp_number.as_str(), m.order_in_rp))
        .collect();
    assert_eq!(ids, [("1", 1), ("1", 2), ("2", 1), ("1", 3)]);
    let urls: std::collections::BTreeSet<_> =
        meds.iter().map(|m| medication::full_url("s", m)).collect();
    assert_eq!(urls.len(), 4, "distinct fullUrls");
}

#[test]
fn omp01_without_rxe_is_reported() {
    let cfg = config("");
    let t = Index::new(&[]);
    let (meds, sink) = meds_of(&format!("{MSH}{ORC}\r"), &cfg, &t);
    assert!(meds.is_empty());
    assert_eq!(codes_of(&sink), ["M060"]);
}

#[test]
fn the_validator_enforces_the_profile_rules_the_builder_satisfies() {
    // Guard against a vacuous pass: break the built resources and see the
    // JP_MedicationRequest_eCS / JP_MedicationDosage_eCS rules fire.
    let cfg = config("allow_unreviewed = true");
    let t = demo_tables();
    let (meds, _, _) = run(OMP01, &cfg, &t, medication::map);
    let bytes = medication_bundle(&meds[..1], &cfg);
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let broken = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = v.clone();
        f(&mut v["entry"][1]["resource"]);
        clins_errors(&serde_json::to_vec(&v).unwrap()).join("\n")
    };
    // R3010: no YJ, 一般名 or NOCODED coding.
    let e = broken(&|r| {
        r["medicationCodeableConcept"]["coding"]
            .as_array_mut()
            .unwrap()
            .remove(0);
    });
    assert!(e.contains("needs-anyOfStandardCode-medication"), "{e}");
    // R5020: neither the ePrescription usage code nor the dummy.
    let e = broken(&|r| {
        r["dosageInstruction"][0]["timing"]["code"]["coding"]
            .as_array_mut()
            .unwrap()
            .remove(0);
    });
    assert!(e.contains("validUsage-MedicationUsage-codesystem"), "{e}");
    // PeriodOfUse start and the RP number are required.
    let e = broken(&|r| {
        r["dosageInstruction"][0]
            .as_object_mut()
            .unwrap()
            .remove("extension");
        r["identifier"].as_array_mut().unwrap().remove(0);
    });
    assert!(e.contains("extension") && e.contains("identifier"), "{e}");
}

#[test]
fn alternate_triplet_and_extra_timing() {
    let cfg = config("");
    let drugs = table(
        "drug",
        "http://medis.or.jp/CodeSystem/master-HOT9",
        &[(
            "108665201",
            "ダーゼン錠",
            medication::GENERAL_NAME,
            "2399002F1ZZZ|【般】セラペプターゼ錠５ｍｇ",
        )],
    );
    let t = Index::new(&[drugs]);
    // Local code first, HOT9 as the alternate triplet.
    let rxe = RXE.replace(
        "108665201^ダーゼン錠（５mg)^HOT9",
        "A1^ダーゼン錠（５mg)^99XYZ^108665201^^HOT9",
    );
    let tq1b = "TQ1|2||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||2^d|2011070600";
    let text = format!("{MSH}{ORC}\r{rxe}\r{TQ1}\r{tq1b}\r{RXR}\r");
    let (meds, sink) = meds_of(&text, &cfg, &t);
    let m = &meds[0];
    let systems: Vec<_> = m
        .medication
        .coding
        .iter()
        .map(|c| c.system.as_str())
        .collect();
    assert_eq!(
        systems,
        [
            medication::GENERAL_NAME,
            "urn:kakehashi:local:nho-sample:99XYZ",
            "http://medis.or.jp/CodeSystem/master-HOT9"
        ]
    );
    assert_eq!(m.medication.coding[2].display, "ダーゼン錠（５mg)");
    // The first TQ1 wins; the second is reported.
    assert_eq!(m.days.as_deref(), Some("5"));
    assert!(codes_of(&sink).contains(&"M113"));
    let bytes = medication_bundle(&meds, &config("allow_unreviewed = true"));
    let errors = clins_errors(&bytes);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
