use super::*;
use crate::admission::{AdtEvent, EventKind};
use crate::document::fixtures::{patient, site};
use crate::record::{Coding, Concept, MedicationRecord, ObservationRecord, Submission};
use fhir::model::Resource;

const REQUEST: &str = r#"
kind = "discharge"
patient = "42"
issued = "2011-12-21T10:00:00"
document_id = "DIS-1"
category = "DISCHARGE"
[author]
name = "架空 太郎"
[author.organization]
name = "架空病院"
[discharge]
admission = "2011-11-20"
[narrative]
hospital_course = "経過良好。"
discharge_plan = "外来で経過観察。"
"#;

fn request(text: &str) -> DocumentRequest {
    let (r, d) = DocumentRequest::parse(text, &site());
    assert!(!d.has_errors(), "{d:?}");
    r.unwrap()
}

fn ev(kind: EventKind, time: &str, bed: &str) -> AdtEvent {
    let key: String = time.chars().filter(char::is_ascii_digit).take(12).collect();
    let digits = key.len();
    let key = format!("{key:0<14}");
    AdtEvent {
        kind,
        cancel: false,
        time: time.into(),
        key,
        digits,
        admitted: None,
        bed: (!bed.is_empty()).then(|| Bed {
            ward: bed.into(),
            room: "1".into(),
            bed: "1".into(),
        }),
        prior_bed: None,
        department_local: "01".into(),
        department: Some(Coding::new(crate::uri::DEPARTMENT, "01", "内科")),
        attending: None,
        class: Some(Coding::new(ACT_CODE, "IMP", "inpatient encounter")),
        admission_type: None,
        admit_source: None,
        disposition: None,
        discharged_to: None,
        file: format!("{kind:?}"),
        at: Location::default(),
    }
}

fn stay(discharged: bool) -> Stay {
    Stay {
        admission: ev(EventKind::Admission, "2011-11-20T16:00:00+09:00", "32"),
        transfers: vec![ev(EventKind::Transfer, "2011-11-21T10:00:00+09:00", "ICU")],
        discharge: discharged.then(|| ev(EventKind::Discharge, "2011-12-20T12:00:00+09:00", "ICU")),
    }
}

fn condition(id: &str, onset: &str, end: Option<&str>) -> ConditionRecord {
    ConditionRecord {
        problem_id: id.into(),
        action: "AD".into(),
        code: Concept {
            coding: vec![Coding::new(
                "http://medis.or.jp/CodeSystem/master-disease-keyNumber",
                "20054174",
                "胃炎",
            )],
            text: format!("病名{id}"),
        },
        verification: "confirmed",
        clinical_status: Some(if end.is_some() { "resolved" } else { "active" }),
        onset: Some(onset.into()),
        abatement: end.map(Into::into),
        department: Some(Coding::new(crate::uri::DEPARTMENT, "01", "内科")),
        encounter_class: Some(Coding::new(ACT_CODE, "IMP", "inpatient encounter")),
        submission: Some(Submission::Submit),
        ..ConditionRecord::default()
    }
}

fn med(order: &str, authored: &str, days: &str) -> MedicationRecord {
    MedicationRecord {
        order_no: order.into(),
        rp_number: "1".into(),
        order_in_rp: 1,
        authored_on: Some(authored.into()),
        start: Some(authored.into()),
        days: Some(days.into()),
        medication: Concept {
            coding: Vec::new(),
            text: format!("薬{order}"),
        },
        submission: Some(Submission::Withheld("test: no resource")),
        ..MedicationRecord::default()
    }
}

fn obs(order: &str, when: &str) -> ObservationRecord {
    ObservationRecord {
        order_no: order.into(),
        set_id: "1".into(),
        code: Concept::default(),
        kind: crate::record::LabKind::Core,
        value: None,
        range: None,
        interpretation: None,
        specimen: None,
        effective: Some(when.into()),
        issued: None,
        status: "final",
        department: None,
        encounter_class: None,
        orderer: None,
        tags: Vec::new(),
        submission: Some(Submission::Withheld("test: no resource")),
        lineage: Vec::new(),
    }
}

fn sources() -> Sources {
    Sources {
        patient: Some(patient()),
        conditions: vec![
            condition("A", "2011-08-31", None), // active at admission → 342 + 344
            condition("B", "2011-12-01", None), // begun in the stay → 344 only
            condition("C", "2010-01-01", Some("2010-06-01")), // ended before → 372
            condition("D", "2012-01-05", None), // begun after the discharge
        ],
        allergies: Vec::new(),
        observations: vec![
            obs("L1", "2011-12-19T09:00:00+09:00"),
            obs("L2", "2011-07-01"),
        ],
        medications: vec![
            med("M1", "2011-11-10", "28"), // covers the admission day → 432
            med("M2", "2011-12-19", "14"), // ordered in the stay, reaches the discharge → 444
            med("M3", "2011-11-25", "3"),  // inpatient use, ended before the discharge
            med("M4", "2011-07-01", "5"),  // ended before the admission
        ],
        stays: vec![stay(true)],
        discharge_sections: super::super::SectionCodes::default(),
    }
}

fn composition(d: &DocumentBundle) -> &fhir::model::Composition {
    match d.bundle.entry[0].resource.as_ref() {
        Some(Resource::Composition(c)) => c,
        _ => panic!("no Composition first"),
    }
}

fn sub<'a>(c: &'a fhir::model::Composition, code: &str) -> Option<&'a CompositionSection> {
    c.section[0].section.iter().find(|s| {
        s.code
            .as_ref()
            .and_then(|c| c.coding.first())
            .and_then(|c| c.code.as_ref())
            .and_then(|c| c.value.as_deref())
            == Some(code)
    })
}

#[test]
fn sections_follow_the_stay() {
    let req = request(REQUEST);
    let d = build(&req, &site(), &sources(), &[]).unwrap();
    let c = composition(&d);
    // The event is the stay, without a code.
    let ev = &c.event[0];
    assert!(ev.code.is_empty());
    let p = ev.period.as_ref().unwrap();
    assert_eq!(
        p.start.as_ref().unwrap().value.as_deref(),
        Some("2011-11-20T16:00:00+09:00")
    );
    assert_eq!(
        p.end.as_ref().unwrap().value.as_deref(),
        Some("2011-12-20T12:00:00+09:00")
    );
    assert_eq!(c.title.value.as_deref(), Some("退院時サマリー"));
    // Every required section is there, in the profile's order.
    let codes: Vec<&str> = c.section[0]
        .section
        .iter()
        .filter_map(|s| {
            s.code
                .as_ref()?
                .coding
                .first()?
                .code
                .as_ref()?
                .value
                .as_deref()
        })
        .collect();
    assert_eq!(
        codes,
        [
            "322", "342", "352", "312", "362", "372", "333", "324", "344", "444", "424"
        ]
    );
    assert_eq!(sub(c, "342").unwrap().entry.len(), 1);
    assert_eq!(sub(c, "344").unwrap().entry.len(), 2);
    assert_eq!(sub(c, "372").unwrap().entry.len(), 1);
    // No source: emptyReason and a text that says so.
    for code in ["352", "312", "362", "444"] {
        let s = sub(c, code).unwrap();
        assert!(s.empty_reason.is_some() && s.entry.is_empty(), "{code}");
        assert!(s.text.as_ref().unwrap().div.value.contains(NO_SOURCE_TEXT));
    }
    assert!(sub(c, "424").unwrap().empty_reason.is_none());
    // 322 and 324 point at the stay Encounter, as does the Composition.
    let enc = c
        .encounter
        .as_ref()
        .unwrap()
        .reference
        .as_ref()
        .unwrap()
        .value
        .clone();
    for code in ["322", "324"] {
        let r = &sub(c, code).unwrap().entry[0];
        assert_eq!(r.reference.as_ref().unwrap().value, enc);
    }
    // The Encounter: class, period, two beds (the admission bed, then the ICU).
    let e = d
        .bundle
        .entry
        .iter()
        .find_map(|e| match e.resource.as_ref() {
            Some(Resource::Encounter(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(e.class.code.as_ref().unwrap().value.as_deref(), Some("IMP"));
    assert_eq!(e.location.len(), 2);
    assert_eq!(
        e.location[0]
            .period
            .as_ref()
            .unwrap()
            .end
            .as_ref()
            .unwrap()
            .value
            .as_deref(),
        Some("2011-11-21T10:00:00+09:00")
    );
    // Accounting.
    let t: Vec<(&str, &str)> = d
        .tally
        .iter()
        .map(|t| (t.resource, t.outcome.as_str()))
        .collect();
    assert!(t.contains(&("Condition", "included (section 342, 344)")));
    assert!(t.contains(&("Condition", "included (section 344)")));
    assert!(t.contains(&("Condition", "included (section 372)")));
    assert!(t.contains(&("Condition", "left out: begun after the discharge")));
    assert!(t.contains(&("Observation", "left out: collected outside the stay")));
    assert!(t.contains(&(
        "MedicationRequest",
        "left out: ended before the discharge (inpatient use)"
    )));
    assert!(t.contains(&("MedicationRequest", "left out: ended before the admission")));
    // M1 (432) and M2 (444) were chosen: withheld by their (test) mapper, so counted.
    assert_eq!(
        t.iter()
            .filter(|(r, o)| *r == "MedicationRequest" && o.starts_with("withheld"))
            .count(),
        2
    );
    assert_eq!(
        t.iter()
            .filter(|(r, o)| *r == "Observation" && o.starts_with("withheld"))
            .count(),
        1
    );
}

#[test]
fn the_latest_discharged_stay_without_a_named_admission() {
    let text = REQUEST.replace("[discharge]\nadmission = \"2011-11-20\"\n", "");
    let req = request(&text);
    let d = build(&req, &site(), &sources(), &[]).unwrap();
    assert_eq!(d.identifier, "2213456789^2011^DIS-1");
    assert!(d.diagnostics.is_empty());
}

#[test]
fn parts_a_discharge_summary_does_not_use_are_reported() {
    let text = format!("{REQUEST}remarks = \"備考\"\n[encounter]\nclass = \"IMP\"\n");
    let req = request(&text);
    let d = build(&req, &site(), &sources(), &[]).unwrap();
    let got: Vec<(&str, String)> = d
        .diagnostics
        .iter()
        .map(|x| (x.code.id, x.location.element.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        [
            ("M366", "encounter".to_owned()),
            ("M366", "narrative.remarks".to_owned())
        ]
    );
}

fn error_of(text: &str, src: &Sources, stays: &[Stay]) -> Vec<&'static str> {
    let req = request(text);
    let src = Sources {
        stays: stays.to_vec(),
        ..src.clone()
    };
    match build(&req, &site(), &src, &[]) {
        Ok(_) => panic!("a document was built"),
        Err(d) => d.iter().map(|x| x.code.id).collect(),
    }
}

#[test]
fn what_stops_the_document() {
    assert_eq!(error_of(REQUEST, &sources(), &[stay(false)]), ["M361"]);
    assert_eq!(error_of(REQUEST, &sources(), &[]), ["M360"]);
    let mut no_class = stay(true);
    for e in [&mut no_class.admission]
        .into_iter()
        .chain(no_class.transfers.iter_mut())
        .chain(no_class.discharge.iter_mut())
    {
        e.class = None;
    }
    assert_eq!(error_of(REQUEST, &sources(), &[no_class]), ["M363"]);
    let no_course = REQUEST.replace("hospital_course = \"経過良好。\"\n", "");
    assert_eq!(error_of(&no_course, &sources(), &[stay(true)]), ["M364"]);
    let mut src = sources();
    src.conditions.retain(|c| c.problem_id == "D");
    assert_eq!(error_of(REQUEST, &src, &[stay(true)]), ["M365"]);
    let mut src = sources();
    src.patient = None;
    assert_eq!(error_of(REQUEST, &src, &[stay(true)]), ["M303"]);
}

#[test]
fn day_numbers() {
    assert_eq!(day_number("1970-01-01"), Some(0));
    assert_eq!(
        day_number("2011-12-20").unwrap() - day_number("2011-11-20").unwrap(),
        30
    );
    assert_eq!(
        day_number("2012-03-01").unwrap() - day_number("2012-02-28").unwrap(),
        2
    );
    assert_eq!(day_number("x"), None);
}

#[test]
fn prescription_periods() {
    let m = MedicationRecord {
        start: Some("2011-07-01".into()),
        days: Some("5".into()),
        ..MedicationRecord::default()
    };
    assert_eq!(last_day(&m), day_number("2011-07-05"));
    let m = MedicationRecord {
        start: Some("2011-07-01".into()),
        end: Some("2011-07-31".into()),
        ..MedicationRecord::default()
    };
    assert_eq!(last_day(&m), day_number("2011-07-31"));
    assert_eq!(last_day(&MedicationRecord::default()), None);
}

#[test]
fn conditions_active_in_a_stay() {
    let c = |onset: Option<&str>, end: Option<&str>| ConditionRecord {
        onset: onset.map(Into::into),
        abatement: end.map(Into::into),
        ..ConditionRecord::default()
    };
    let (f, t) = ("2011-11-20", "2011-12-20");
    assert!(active_on(&c(Some("2011-08-31"), None), f, t));
    assert!(active_on(&c(Some("2011-12-01"), None), f, t));
    assert!(!active_on(&c(Some("2011-12-01"), None), f, f));
    assert!(!active_on(&c(Some("2011-12-21"), None), f, t));
    assert!(!active_on(&c(Some("2011-01-01"), Some("2011-11-19")), f, t));
    assert!(active_on(
        &c(Some("2011-01-01"), Some("2011-11-20T10:00:00+09:00")),
        f,
        t
    ));
    assert!(!active_on(&c(None, None), f, t));
}

#[test]
fn the_documented_discharge_request_reads() {
    let doc = include_str!("../../../../docs/document-request.md");
    let block = doc
        .split("```toml\n")
        .nth(2)
        .and_then(|rest| rest.split_once("```"))
        .map(|(b, _)| b)
        .unwrap_or_default();
    let (r, d) = DocumentRequest::parse(block, &site());
    assert!(d.is_empty(), "{d:?}");
    let r = r.unwrap();
    assert_eq!(r.kind, Kind::Discharge);
    assert_eq!(
        r.discharge.and_then(|d| d.admission).as_deref(),
        Some("2011-11-20")
    );
    assert!(r.narrative.hospital_course.is_some());
}

/// The section codes come from the pinned package: JP-CLINS 1.10 corrected the
/// four history sections' codes, 1.5.2 states the old ones.
#[test]
fn section_codes_are_read_from_the_package() {
    let read = |f: &str| {
        let p = crate::shared(&format!("fhir-profiles/jp-clins/{f}"));
        let bytes = std::fs::read(&p)
            .unwrap_or_else(|e| panic!("{} (tests need ../shared): {e}", p.display()));
        fhir::package::Package::from_tgz(&bytes).unwrap()
    };
    let profile = super::DOC_TYPE.composition_profile;
    let v110 =
        super::super::SectionCodes::from_package(&read("jp-eCSCLINS.r4-1.10.0-snap.tgz"), profile);
    let v152 =
        super::super::SectionCodes::from_package(&read("jp-clins.r4-1.5.2-snap.tgz"), profile);
    for (slice, old, new) in [
        ("presentIllnessSection", "362", "360"),
        ("pastIllnessSection", "372", "370"),
        ("socialHistorySection", "642", "640"),
        ("familiyHistorySection", "552", "550"),
    ] {
        assert_eq!(v152.code(slice, "x"), old);
        assert_eq!(v110.code(slice, "x"), new);
    }
    assert_eq!(v110.code("hospitalCourseSection", "x"), "333");
    assert_eq!(v110.code("noSuchSection", "fallback"), "fallback");
    // built with the 1.10 codes, the document carries them
    let mut src = sources();
    src.discharge_sections = v110;
    let built = build(&request(REQUEST), &site(), &src, &[]).unwrap();
    let c = composition(&built);
    assert!(sub(c, "360").is_some() && sub(c, "362").is_none());
}
