use super::*;
use crate::conformance::tests::load_set;
use std::sync::OnceLock;

fn clins() -> &'static Conformance {
    static C: OnceLock<Conformance> = OnceLock::new();
    // the JP-CLINS 1.5.2 examples, under the set they were written for
    C.get_or_init(|| load_set("clins-1.5.2"))
}

fn examples() -> Vec<(String, Value)> {
    let dir = crate::shared(crate::CLINS_EXAMPLES);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

fn errors(r: &Report) -> Vec<String> {
    r.issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| format!("{} {}: {}", i.code.id, i.expression, i.message))
        .collect()
}

#[test]
fn jp_clins_examples_validate() {
    let v = Validator::new(clins());
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, ex) in examples() {
        total += 1;
        let r = v.validate(&ex, &[]);
        let errs = errors(&r);
        if name == "MedicationRequest-ErrorExample-JP-MedReq-ExtEye-Total1.json" {
            assert!(
                r.issues
                    .iter()
                    .any(|i| i.code.id == "V010" && i.message.contains("R3010")),
                "{name}: expected the R3010 invariant to fail: {errs:#?}"
            );
            continue;
        }
        if !errs.is_empty() {
            failures.push(format!("{name}:\n  {}", errs.join("\n  ")));
        }
    }
    assert_eq!(total, 61);
    assert!(
        failures.is_empty(),
        "{} of {total} examples fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn example(name: &str) -> Value {
    examples().into_iter().find(|(n, _)| n == name).unwrap().1
}

fn codes_of(r: &Report) -> Vec<&'static str> {
    r.issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| i.code.id)
        .collect()
}

/// Mutations of the examples, generated here (never stored), must be caught.
#[test]
fn mutations_are_caught() {
    let v = Validator::new(clins());
    let pat = example("Patient-Example-JP-Patient-eCS-MAKINO.json");
    assert!(v.validate(&pat, &[]).is_valid());

    // impossible date
    let mut m = pat.clone();
    m["birthDate"] = json!("2023-02-30");
    let r = v.validate(&m, &[]);
    assert!(codes_of(&r).contains(&"V007"), "{:?}", errors(&r));
    // and the value is in a PHI excerpt, not in the message
    let i = r.issues.iter().find(|i| i.code.id == "V007").unwrap();
    assert!(!i.message.contains("2023-02-30"));

    // unknown element
    let mut m = pat.clone();
    m["nickname"] = json!("x");
    assert!(codes_of(&v.validate(&m, &[])).contains(&"V003"));

    // wrong JSON shape: a repeating element given as a single object
    let mut m = pat.clone();
    m["name"] = m["name"][0].clone();
    assert!(codes_of(&v.validate(&m, &[])).contains(&"V006"));

    // wrong code in a required binding
    let mut m = pat.clone();
    m["gender"] = json!("femail");
    assert!(codes_of(&v.validate(&m, &[])).contains(&"V014"));

    // missing required element (Observation.status is 1..1)
    let obs = example("Observation-Example-JP-Obs-LabResult-eCS-Alb.json");
    assert!(
        v.validate(&obs, &[]).is_valid(),
        "{:?}",
        errors(&v.validate(&obs, &[]))
    );
    let mut m = obs.clone();
    m.as_object_mut().unwrap().remove("status");
    assert!(codes_of(&v.validate(&m, &[])).contains(&"V004"));

    // invariant breach: R3010 — remove the standard medication code systems
    let mr = example("MedicationRequest-Example-JP-MedReq-PO-BID-2d.json");
    assert!(
        v.validate(&mr, &[]).is_valid(),
        "{:?}",
        errors(&v.validate(&mr, &[]))
    );
    let mut m = mr.clone();
    for c in m["medicationCodeableConcept"]["coding"]
        .as_array_mut()
        .unwrap()
    {
        c["system"] = json!("http://example.org/local");
    }
    let r = v.validate(&m, &[]);
    assert!(
        r.issues
            .iter()
            .any(|i| i.code.id == "V010" && i.message.contains("R3010")),
        "{:?}",
        errors(&r)
    );

    // choice type not allowed
    let mut m = obs.clone();
    let vq = m.as_object_mut().unwrap().remove("valueQuantity");
    if let Some(vq) = vq {
        m["valueAddress"] = vq;
        assert!(
            codes_of(&v.validate(&m, &[]))
                .iter()
                .any(|c| *c == "V018" || *c == "V003")
        );
    }
}

#[test]
fn bundle_mutations_are_caught() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Referral-Example-01.json");
    let r = v.validate(&b, &[]);
    assert!(r.is_valid(), "{:#?}", errors(&r));
    assert!(r.resources > 5);

    // broken urn:uuid reference
    let mut m = b.clone();
    let comp = &mut m["entry"][0]["resource"];
    comp["subject"]["reference"] = json!("urn:uuid:00000000-0000-0000-0000-000000000000");
    assert!(codes_of(&v.validate(&m, &[])).contains(&"V016"));

    // wrong fixed / pattern value: the bundle type is fixed to document
    let mut m = b.clone();
    m["type"] = json!("collection");
    let r = v.validate(&m, &[]);
    assert!(
        codes_of(&r)
            .iter()
            .any(|c| matches!(*c, "V008" | "V009" | "V010" | "V014")),
        "{:?}",
        errors(&r)
    );

    // bad slice: drop the Composition (first entry) — the composition slice (min 1) is missing
    let mut m = b.clone();
    m["entry"].as_array_mut().unwrap().remove(0);
    let r = v.validate(&m, &[]);
    assert!(!r.is_valid());

    // impossible date deep inside an entry
    let mut m = b.clone();
    m["entry"][0]["resource"]["date"] = json!("2023-02-30T10:00:00+09:00");
    let r = v.validate(&m, &[]);
    assert!(
        r.issues
            .iter()
            .any(|i| i.code.id == "V007"
                && i.expression.starts_with("Bundle.entry[0].resource.date"))
    );
}

#[test]
fn not_json_and_unknown_types() {
    let v = Validator::new(clins());
    assert_eq!(codes_of(&v.validate_json(b"{", &[])), ["V001"]);
    assert_eq!(
        codes_of(&v.validate_json(br#"{"resourceType":"Nope"}"#, &[])),
        ["V002"]
    );
    let r = v.validate_json(
        br#"{"resourceType":"Patient","meta":{"profile":["http://x/none"]}}"#,
        &[],
    );
    assert!(r.is_valid());
    assert!(r.issues.iter().any(|i| i.code.id == "V013"));
    let oo = r.operation_outcome();
    assert_eq!(oo["resourceType"], "OperationOutcome");
}

/// The example instances shipped inside the eReferral and eCheckupReport packages
/// validate under their own sets.
#[test]
fn package_examples_validate_under_their_sets() {
    use crate::package::Package;
    for (set, file) in [
        ("ereferral", "ereferral/jp-eReferral.r4.tgz"),
        ("echeckup-1.1.3", "echeckup/jp-eCheckupReport.r4.tgz"),
        ("echeckup", "echeckup/jp-eCheckupReport.r4-1.5.0-snap.tgz"),
    ] {
        let conf = load_set(set);
        let v = Validator::new(&conf);
        let bytes = std::fs::read(crate::conformance::tests::shared_profiles().join(file)).unwrap();
        let pkg = Package::from_tgz(&bytes).unwrap();
        let mut n = 0;
        for (path, data) in pkg.json_resources() {
            let value: Value = serde_json::from_slice(data).unwrap();
            let rt = value["resourceType"].as_str().unwrap_or("");
            if matches!(
                rt,
                "StructureDefinition"
                    | "ValueSet"
                    | "CodeSystem"
                    | "ImplementationGuide"
                    | "SearchParameter"
                    | "CapabilityStatement"
                    | "OperationDefinition"
                    | "NamingSystem"
                    | "ConceptMap"
            ) || rt.is_empty()
            {
                continue;
            }
            n += 1;
            let r = v.validate(&value, &[]);
            assert!(r.is_valid(), "{set} {path}: {:#?}", errors(&r));
        }
        assert!(n >= 10, "{set}: only {n} examples");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Truncated or byte-flipped resources never panic: they are reported.
        #[test]
        fn damaged_input_never_panics(cut in 0usize..4000, flip in 0usize..4000, byte in any::<u8>()) {
            let v = Validator::new(clins());
            let mut bytes = std::fs::read(
                crate::shared(crate::CLINS_EXAMPLES).join("Patient-Example-JP-Patient-eCS-MAKINO.json"),
            ).unwrap();
            if flip < bytes.len() {
                bytes[flip] = byte;
            }
            bytes.truncate(cut.min(bytes.len()));
            let r = v.validate_json(&bytes, &[]);
            // a truncated document is never silently valid
            if cut < 100 {
                prop_assert!(!r.is_valid());
            }
        }
    }
}

#[test]
fn reference_to_a_wrong_resource_type_is_caught() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Referral-Example-01.json");
    // point the Composition's subject at the Composition itself
    let mut m = b.clone();
    let own = m["entry"][0]["fullUrl"].clone();
    m["entry"][0]["resource"]["subject"]["reference"] = own;
    let r = v.validate(&m, &[]);
    assert!(codes_of(&r).contains(&"V023"), "{:?}", errors(&r));
}

#[test]
fn r4_types_outside_the_vendored_subset_are_warnings() {
    let v = Validator::new(clins());
    let r = v.validate_json(br#"{"resourceType":"Basic","code":{"text":"x"}}"#, &[]);
    assert!(r.is_valid());
    assert!(r.issues.iter().any(|i| i.code.id == "V024"));
    assert!(codes::R4_RESOURCE_TYPES.contains(&"Patient"));
    assert_eq!(codes::R4_RESOURCE_TYPES.len(), 146);
}

#[test]
fn native_ele_1_agrees_with_the_evaluator() {
    let e = Expression::compile(ELE_1);
    for v in [
        json!("x"),
        json!(1),
        json!({"id": "a"}),
        json!({"id": "a", "extension": [{"url": "u", "valueString": "v"}]}),
        json!({"text": "t"}),
        json!({}),
    ] {
        let n = Node {
            value: &v,
            ext: None,
            ty: None,
        };
        let fp = e.check_node(n, Env::default()) == Verdict::Pass;
        assert_eq!(ele_1_holds(n), fp, "{v}");
    }
}

fn builtin_errata() -> crate::errata::Errata {
    crate::errata::Errata::builtin().unwrap()
}

/// JP-E001: the discharge summary's section value set in JP-CLINS 1.5.2 leaves out
/// the DIS codes; with the errata they are information naming the erratum, without
/// it an error, and codes outside the code system stay errors either way.
#[test]
fn erratum_allows_dis_section_codes() {
    let composition = |code: &str| {
        json!({
            "resourceType": "Composition",
            "meta": {"profile": ["http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Composition_eDischargeSummary"]},
            "section": [{"title": "t", "code": {"coding": [{"system": "http://jpfhir.jp/fhir/clins/CodeSystem/document-section", "code": code}]}}]
        })
    };
    let section_findings = |r: &Report| -> Vec<(Severity, Option<String>)> {
        r.issues
            .iter()
            .filter(|i| i.code.id == "V014" && i.expression.contains("section"))
            .map(|i| (i.severity, i.errata.clone()))
            .collect()
    };
    let plain = Validator::new(clins());
    let r = plain.validate(&composition("312"), &[]);
    let f = section_findings(&r);
    assert!(
        !f.is_empty() && f.iter().all(|(s, e)| *s == Severity::Error && e.is_none()),
        "{f:?}"
    );
    assert!(r.errata_applied.is_empty());

    let with = Validator::new(clins()).with_errata(&builtin_errata());
    let r = with.validate(&composition("312"), &[]);
    let f = section_findings(&r);
    assert!(!f.is_empty(), "{:?}", r.issues);
    assert!(
        f.iter()
            .all(|(s, e)| *s == Severity::Info && e.as_deref() == Some("JP-E001")),
        "{f:?}"
    );
    assert!(r.errata_applied.contains("JP-E001"));
    assert!(r.provenance.contains("JP-E001"), "{}", r.provenance);
    assert!(r.operation_outcome().to_string().contains("JP-E001"));
    // a REF code is in the value set: no finding at all
    assert!(section_findings(&with.validate(&composition("330"), &[])).is_empty());
    // not a code of the system: still an error
    let f = section_findings(&with.validate(&composition("999"), &[]));
    assert!(
        f.iter().any(|(s, e)| *s == Severity::Error && e.is_none()),
        "{f:?}"
    );
}

/// JP-E002/E003: eCheckup's JP_Patient_eCS demands a misspelled identifier system;
/// the correct CLINS system is accepted (information) only through the errata.
#[test]
fn erratum_accepts_the_correct_insurance_system_under_echeckup() {
    let conf = crate::conformance::tests::load_set("echeckup-1.1.3");
    let patient = |system: &str| {
        json!({
            "resourceType": "Patient",
            "meta": {"profile": ["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Patient_eCS"]},
            "identifier": [{"system": system, "value": "00012345:あいう:１８７:05"}],
            "gender": "female",
            "birthDate": "1970-01-01"
        })
    };
    let r1012 = |r: &Report| -> Vec<(Severity, Option<String>)> {
        r.issues
            .iter()
            .filter(|i| i.message.contains("insurance-patientIdentifier"))
            .map(|i| (i.severity, i.errata.clone()))
            .collect()
    };
    let clins_system = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID";
    let plain = Validator::new(&conf);
    let f = r1012(&plain.validate(&patient(clins_system), &[]));
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|(s, _)| *s == Severity::Error));

    let with = Validator::new(&conf).with_errata(&builtin_errata());
    let r = with.validate(&patient(clins_system), &[]);
    let f = r1012(&r);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f.iter().all(|(s, e)| *s == Severity::Info && e.is_some()),
        "{f:?}"
    );
    assert_eq!(
        r.errata_applied.iter().cloned().collect::<Vec<_>>(),
        ["JP-E002", "JP-E003"]
    );
    // some other system: the rule still fails
    let f = r1012(&with.validate(&patient("urn:oid:1.2.3"), &[]));
    assert!(
        f.iter().all(|(s, e)| *s == Severity::Error && e.is_none()) && f.len() == 2,
        "{f:?}"
    );
    // the misspelled system the package asks for passes as shipped
    assert!(
        r1012(&with.validate(
            &patient("http://jpfhir.jp/fhir/eCS/Idsysmem/JP_Insurance_memberID"),
            &[]
        ))
        .is_empty()
    );
}

/// The strict pack: off by default; with it, the CLINS examples that break
/// rules the package defines but does not attach get V025 warnings, never errors.
#[test]
fn strict_pack_adds_warnings_only() {
    let pack = crate::errata::StrictPack::builtin().unwrap();
    let strict = Validator::new(clins()).with_strict(&pack);
    let plain = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Observations-Example-01.json");
    let r0 = plain.validate(&b, &[]);
    assert!(!r0.issues.iter().any(|i| i.code.id == "V025"));
    let r = strict.validate(&b, &[]);
    assert_eq!(errors(&r), errors(&r0));
    // break R9017O and R6021 in the first Observation
    let mut m = b.clone();
    let entries = m["entry"].as_array_mut().unwrap();
    let obs = entries
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == "Observation")
        .unwrap();
    obs["resource"].as_object_mut().unwrap().remove("performer");
    obs["resource"]["code"]["coding"]
        .as_array_mut()
        .unwrap()
        .retain(|c| {
            c["system"]
                != "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS"
        });
    let r = strict.validate(&m, &[]);
    let strict_ids: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.code.id == "V025")
        .map(|i| {
            assert_eq!(i.severity, Severity::Warning);
            i.message.split_whitespace().nth(2).unwrap_or("")
        })
        .collect();
    assert!(strict_ids.contains(&"R9017O"), "{strict_ids:?}");
    assert!(strict_ids.contains(&"R6021"), "{strict_ids:?}");
    assert!(r.provenance.contains("strict"));
}

#[test]
fn native_dom_3_agrees_with_the_evaluator() {
    let e = Expression::compile(DOM_3);
    assert!(e.not_evaluable().is_none());
    let (mut checked, mut failing) = (0, 0);
    let mut resources: Vec<Value> = Vec::new();
    for (_, ex) in examples() {
        if ex["resourceType"] == "Bundle" {
            for en in ex["entry"].as_array().into_iter().flatten() {
                resources.push(en["resource"].clone());
            }
        }
        resources.push(ex);
    }
    for r in resources {
        if r.get("contained").is_none() {
            continue;
        }
        // as shipped, then with the contained ids unreferenced
        let mut broken = r.clone();
        for c in broken["contained"].as_array_mut().unwrap() {
            if let Some(id) = c.get("id").and_then(Value::as_str) {
                c["id"] = json!(format!("{id}-unreferenced"));
            }
        }
        for v in [r, broken] {
            let n = Node {
                value: &v,
                ext: None,
                ty: None,
            };
            let env = Env {
                resource: Some(&v),
                root_resource: Some(&v),
                resolver: None,
                terminology: None,
                types: None,
            };
            let fp = e.check_node(n, env) == Verdict::Pass;
            assert_eq!(dom_3_holds(&v, &v), fp, "{v}");
            checked += 1;
            failing += usize::from(!fp);
        }
    }
    assert!(checked >= 20, "{checked}");
    assert!(failing >= 10, "{failing}");
}

/// A document's Composition must resolve its references inside the Bundle: a
/// relative reference to no entry is an error (V026) there, information elsewhere.
#[test]
fn document_composition_references_must_resolve() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Referral-Example-01.json");
    assert_eq!(b["type"], "document");
    assert!(v.validate(&b, &[]).is_valid());
    let mut m = b.clone();
    m["entry"][0]["resource"]["subject"]["reference"] = json!("Patient/not-in-this-bundle");
    let r = v.validate(&m, &[]);
    assert!(codes_of(&r).contains(&"V026"), "{:?}", errors(&r));
    // the same reference from another entry is not a document rule
    let mut m = b.clone();
    let i = m["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| {
            e["resource"]["subject"].is_object() && e["resource"]["resourceType"] != "Composition"
        })
        .unwrap();
    m["entry"][i]["resource"]["subject"]["reference"] = json!("Patient/not-in-this-bundle");
    let r = v.validate(&m, &[]);
    assert!(!codes_of(&r).contains(&"V026"), "{:?}", errors(&r));
}

/// The document and collection rules of the R4 base Bundle (bdl-7 fullUrl
/// uniqueness, bdl-9 identifier, bdl-10 timestamp, bdl-11 Composition first) are
/// base invariants the evaluator runs: each breach is reported once, by its key,
/// also with the JP profile stripped (no second, native rule duplicates them).
#[test]
fn document_bundle_rules_are_reported_once() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Referral-Example-01.json");
    let failed = |r: &Report, key: &str| {
        r.issues
            .iter()
            .filter(|i| i.code.id == "V010" && i.message.contains(&format!("invariant {key} ")))
            .count()
    };
    for strip_profile in [false, true] {
        let mut base = b.clone();
        if strip_profile {
            base.as_object_mut().unwrap().remove("meta");
        }
        assert!(
            v.validate(&base, &[]).is_valid(),
            "{:?}",
            errors(&v.validate(&base, &[]))
        );

        let mut m = base.clone();
        m.as_object_mut().unwrap().remove("identifier");
        let r = v.validate(&m, &[]);
        assert_eq!(failed(&r, "bdl-9"), 1, "{:?}", errors(&r));

        let mut m = base.clone();
        m.as_object_mut().unwrap().remove("timestamp");
        let r = v.validate(&m, &[]);
        assert_eq!(failed(&r, "bdl-10"), 1, "{:?}", errors(&r));

        // the Composition moved to the end
        let mut m = base.clone();
        let entries = m["entry"].as_array_mut().unwrap();
        let comp = entries.remove(0);
        entries.push(comp);
        let r = v.validate(&m, &[]);
        assert_eq!(failed(&r, "bdl-11"), 1, "{:?}", errors(&r));

        // two entries with one fullUrl
        let mut m = base.clone();
        let url = m["entry"][1]["fullUrl"].clone();
        m["entry"][2]["fullUrl"] = url;
        let r = v.validate(&m, &[]);
        assert_eq!(failed(&r, "bdl-7"), 1, "{:?}", errors(&r));
    }

    // a collection Bundle: fullUrls must be unique too; no document rule applies
    let mut c = b.clone();
    c.as_object_mut().unwrap().remove("meta");
    c["type"] = json!("collection");
    c.as_object_mut().unwrap().remove("identifier");
    let r = v.validate(&c, &[]);
    assert!(r.is_valid(), "{:?}", errors(&r));
    let url = c["entry"][1]["fullUrl"].clone();
    c["entry"][2]["fullUrl"] = url;
    let r = v.validate(&c, &[]);
    assert_eq!(failed(&r, "bdl-7"), 1, "{:?}", errors(&r));
}

/// Composition.section.entry references of a document resolve in the Bundle.
#[test]
fn document_section_entries_must_resolve() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Referral-Example-01.json");
    let sections = b["entry"][0]["resource"]["section"].as_array().unwrap();
    let (si, ei) = sections
        .iter()
        .enumerate()
        .find_map(|(si, s)| {
            s["entry"]
                .as_array()
                .filter(|e| !e.is_empty())
                .map(|_| (si, 0))
        })
        .unwrap();
    let mut m = b.clone();
    m["entry"][0]["resource"]["section"][si]["entry"][ei]["reference"] =
        json!("AllergyIntolerance/absent");
    let r = v.validate(&m, &[]);
    let want = format!("Bundle.entry[0].resource.section[{si}].entry[{ei}].reference");
    assert!(
        r.issues
            .iter()
            .any(|i| i.code.id == "V026" && i.expression == want),
        "{:?}",
        errors(&r)
    );
    let mut m = b.clone();
    m["entry"][0]["resource"]["section"][si]["entry"][ei]["reference"] =
        json!("urn:uuid:00000000-0000-4000-8000-000000000000");
    let r = v.validate(&m, &[]);
    assert!(
        r.issues
            .iter()
            .any(|i| i.code.id == "V016" && i.expression == want),
        "{:?}",
        errors(&r)
    );
}

/// JP_Bundle_CLINS slices Bundle.entry with `ordered = true` (patient, then
/// allergies, conditions, prescriptions, lab results): an entry of an earlier
/// slice after one of a later slice is V027, at the entry that comes too late.
#[test]
fn ordered_slices_out_of_order_are_caught() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Observations-Example-01.json");
    let r = v.validate(&b, &[]);
    assert!(r.is_valid(), "{:?}", errors(&r));
    assert!(!codes_of(&r).contains(&"V027"));
    // the Patient moved after the observations
    let mut m = b.clone();
    let entries = m["entry"].as_array_mut().unwrap();
    let patient = entries.remove(0);
    let n = entries.len();
    entries.push(patient);
    let r = v.validate(&m, &[]);
    let v027: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.code.id == "V027")
        .map(|i| i.expression.as_str())
        .collect();
    assert_eq!(
        v027,
        [format!("Bundle.entry[{n}]").as_str()],
        "{:?}",
        errors(&r)
    );
    // the order within one slice is free
    let mut m = b.clone();
    m["entry"].as_array_mut().unwrap()[1..].reverse();
    let r = v.validate(&m, &[]);
    assert!(!codes_of(&r).contains(&"V027"), "{:?}", errors(&r));
}

/// An extension whose definition's context does not include the element that
/// holds it is V028; the same extension where its context allows it is not.
#[test]
fn extensions_outside_their_context_are_caught() {
    let v = Validator::new(clins());
    let b = example("Bundle-Bundle-CLINS-Observations-Example-01.json");
    let diagnosis_type = json!({
        "url": "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_DiagnosisType",
        "valueCodeableConcept": {"coding": [{"system": "http://jpfhir.jp/fhir/core/CodeSystem/JP_ConditionDiagnosisType_CS", "code": "1"}]}
    });
    // on an Observation: its context is Condition only
    let mut m = b.clone();
    let obs = &mut m["entry"][1]["resource"];
    let n = obs["extension"].as_array().map_or(0, Vec::len);
    match obs["extension"].as_array_mut() {
        Some(a) => a.push(diagnosis_type.clone()),
        None => obs["extension"] = json!([diagnosis_type.clone()]),
    }
    let r = v.validate(&m, &[]);
    let at: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.code.id == "V028")
        .map(|i| i.expression.as_str())
        .collect();
    assert_eq!(
        at,
        [format!("Bundle.entry[1].resource.extension[{n}]").as_str()],
        "{:?}",
        errors(&r)
    );
    // the examples' own extensions (department, institution number) are where they may be
    assert!(!codes_of(&v.validate(&b, &[])).contains(&"V028"));
    // on a primitive's `_x` part: the context names resources, not strings
    let mut m = b.clone();
    m["entry"][1]["resource"]["_status"] = json!({"extension": [diagnosis_type]});
    let r = v.validate(&m, &[]);
    assert!(
        r.issues.iter().any(|i| i.code.id == "V028"
            && i.expression == "Bundle.entry[1].resource.status.extension[0]"),
        "{:?}",
        errors(&r)
    );
}

/// A registry that knows every system and accepts all codes or none.
struct TestRegistry {
    accept: bool,
}

impl CodeSystemOracle for TestRegistry {
    fn knows(&self, _system: &str) -> bool {
        true
    }
    fn check(&self, _system: &str, _code: &str) -> Validity {
        if self.accept {
            Validity::Valid
        } else {
            Validity::Invalid("not in the test registry".into())
        }
    }
    fn describe(&self) -> String {
        "test registry".into()
    }
}

/// Codings under bindings the packages cannot expand go to the attached
/// code-system registry: a code it rejects is V029 (error when the binding is
/// required, warning when extensible); a registry that accepts changes nothing.
#[test]
fn code_system_registry_checks_unexpandable_bindings() {
    let b = example("Bundle-Bundle-CLINS-Observations-Example-01.json");
    let plain = Validator::new(clins()).validate(&b, &[]);
    let accepting = TestRegistry { accept: true };
    let r = Validator::new(clins())
        .with_code_systems(&accepting)
        .validate(&b, &[]);
    assert_eq!(r.issues, plain.issues);
    assert!(r.provenance.contains("code systems: test registry"));
    assert!(!plain.provenance.contains("code systems"));

    let rejecting = TestRegistry { accept: false };
    let r = Validator::new(clins())
        .with_code_systems(&rejecting)
        .validate(&b, &[]);
    let v029: Vec<&Issue> = r.issues.iter().filter(|i| i.code.id == "V029").collect();
    assert!(!v029.is_empty(), "{:#?}", r.issues);
    for i in &v029 {
        let required = i.message.contains("required binding");
        assert_eq!(i.severity == Severity::Error, required, "{i:?}");
        assert!(i.excerpt.is_some());
    }
    // Encounter.class (extensible, v3 ActCode is not in the packages): a warning
    assert!(
        v029.iter().any(|i| i.severity == Severity::Warning
            && i.expression == "Bundle.entry[1].resource.contained[0].class"),
        "{v029:#?}"
    );
}

/// Extension contexts of type `fhirpath` are evaluated on the enclosing resource:
/// the holding element must be among the nodes selected (V028 otherwise); an
/// expression the evaluator cannot run allows the use with a warning (V030).
#[test]
fn fhirpath_extension_contexts_are_evaluated() {
    use crate::package::Package;
    let set = crate::conformance::resolve_set(&crate::conformance::default_sets(), "clins-1.5.2")
        .unwrap();
    let owned = crate::conformance::tests::packages(&set);
    let mut pkgs: Vec<&Package> = owned.iter().collect();
    // the eCS diagnosis-type extension, republished under two new URLs whose
    // contexts are FHIRPath expressions
    let old = "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_DiagnosisType";
    let text = pkgs
        .iter()
        .flat_map(|p| p.json_resources())
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .find(|t| {
            t.contains("\"StructureDefinition\"")
                && (t.contains(&format!("\"url\": \"{old}\""))
                    || t.contains(&format!("\"url\":\"{old}\"")))
        })
        .unwrap();
    let variant = |url: &str, expr: &str| -> Vec<u8> {
        let mut sd: Value = serde_json::from_str(&text.replace(old, url)).unwrap();
        sd["context"] = json!([{"type": "fhirpath", "expression": expr}]);
        serde_json::to_vec(&sd).unwrap()
    };
    let on_code = "http://example.org/StructureDefinition/on-observation-code";
    let broken = "http://example.org/StructureDefinition/broken-context";
    let extra = Package {
        name: "test.fhirpath.contexts".into(),
        version: "0.0.1".into(),
        files: [
            (
                "package/StructureDefinition-a.json".to_owned(),
                variant(on_code, "Observation.code"),
            ),
            (
                "package/StructureDefinition-b.json".to_owned(),
                variant(broken, "Observation.frobnicate()"),
            ),
        ]
        .into_iter()
        .collect(),
    };
    pkgs.push(&extra);
    let conf = Conformance::load(&pkgs);
    let v = Validator::new(&conf);
    let b = example("Bundle-Bundle-CLINS-Observations-Example-01.json");
    let ext = |url: &str| {
        json!({
            "url": url,
            "valueCodeableConcept": {"coding": [{"system": "http://jpfhir.jp/fhir/core/CodeSystem/JP_ConditionDiagnosisType_CS", "code": "1"}]}
        })
    };
    let with = |at: &[&str], url: &str| {
        let mut m = b.clone();
        let mut node = &mut m["entry"][1]["resource"];
        for k in at {
            node = &mut node[*k];
        }
        node["extension"] = json!([ext(url)]);
        v.validate(&m, &[])
    };
    let codes_at = |r: &Report, code: &str| -> Vec<String> {
        r.issues
            .iter()
            .filter(|i| i.code.id == code)
            .map(|i| i.expression.clone())
            .collect()
    };
    // where the expression selects: allowed
    let r = with(&["code"], on_code);
    assert!(codes_at(&r, "V028").is_empty(), "{:?}", errors(&r));
    // elsewhere (the Observation itself, its category): V028
    let r = with(&[], on_code);
    assert_eq!(
        codes_at(&r, "V028"),
        ["Bundle.entry[1].resource.extension[0]"],
        "{:?}",
        errors(&r)
    );
    let mut m = b.clone();
    m["entry"][1]["resource"]["category"][0]["extension"] = json!([ext(on_code)]);
    let r = v.validate(&m, &[]);
    assert_eq!(
        codes_at(&r, "V028"),
        ["Bundle.entry[1].resource.category[0].extension[0]"],
        "{:?}",
        errors(&r)
    );
    // an expression that cannot be evaluated: allowed, with a warning
    let r = with(&[], broken);
    assert!(codes_at(&r, "V028").is_empty(), "{:?}", errors(&r));
    assert_eq!(
        codes_at(&r, "V030"),
        ["Bundle.entry[1].resource.extension[0]"]
    );
}
