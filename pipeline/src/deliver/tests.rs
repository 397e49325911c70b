use super::*;
use crate::ledger::{Ledger, Observed};

const INST: &str = "2213456789";

fn bundle(ids: &[(&str, &str)]) -> Vec<u8> {
    let entries: Vec<Value> = ids
        .iter()
        .map(|(t, id)| serde_json::json!({"fullUrl": format!("urn:uuid:{id}"), "resource": {"resourceType": t}}))
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries}),
    )
    .unwrap()
}

/// Writes an output folder with `units` (id, bundle bytes or None for a
/// deletion) and commits the same run to `ledger`.
fn run(dir: &Path, ledger: &mut Ledger, units: &[(&str, Option<Vec<u8>>)]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("bundles")).unwrap();
    std::fs::write(
        dir.join("report.json"),
        format!("{{\"institution_number\": \"{INST}\"}}"),
    )
    .unwrap();
    let observed: Vec<Observed> = units
        .iter()
        .filter_map(|(id, b)| {
            let b = b.as_ref()?;
            std::fs::write(dir.join("bundles").join(format!("{id}.json")), b).unwrap();
            Some(Observed {
                unit_id: (*id).to_owned(),
                resource_type: "Condition".into(),
                member_id: "m".into(),
                hash: Some(fhir::model::id::sha1_hex(b)),
            })
        })
        .collect();
    let plan = ledger.plan(2026, &observed).unwrap();
    ledger.commit(&plan, &observed, &[], "r").unwrap();
    std::fs::write(dir.join("plan.jsonl"), crate::ledger::write_plan(&plan)).unwrap();
}

fn delivered(l: &mut Ledger, unit: &str, state: DeliveryState, hash: &str, res: &[&str]) {
    let d = Delivery {
        state,
        hash: hash.to_owned(),
        resources: res.iter().map(|s| (*s).to_owned()).collect(),
        status: Some(200),
        acknowledged: String::new(),
        outcome: String::new(),
        time: String::new(),
    };
    l.record_delivery("http://s", unit, &d).unwrap();
}

#[test]
fn a_push_sends_what_the_server_lacks_and_deletes_exactly_what_a_unit_delivered() {
    let dir = testkit::scratch_dir("deliver-plan");
    let mut l = Ledger::in_memory(INST).unwrap();
    let b1 = bundle(&[("Patient", "p1"), ("Condition", "c1")]);
    let b2 = bundle(&[("Patient", "p2"), ("Condition", "c2"), ("Condition", "c3")]);
    run(
        &dir,
        &mut l,
        &[("C-1", Some(b1.clone())), ("C-2", Some(b2.clone()))],
    );
    let out = read_output(&dir).unwrap();
    let w = plan(&l, &out, "http://s", false).unwrap();
    assert_eq!(w.jobs.len(), 2);
    assert!(w.jobs.iter().all(|j| j.kind == JobKind::Create));
    assert_eq!(
        w.jobs[1].put,
        ["Condition/c2", "Condition/c3", "Patient/p2"]
    );

    // C-1 acknowledged; C-2 in flight when the push died: C-2 again, a replace.
    let h1 = fhir::model::id::sha1_hex(&b1);
    let h2 = fhir::model::id::sha1_hex(&b2);
    delivered(
        &mut l,
        "C-1",
        DeliveryState::Delivered,
        &h1,
        &["Condition/c1", "Patient/p1"],
    );
    delivered(
        &mut l,
        "C-2",
        DeliveryState::InFlight,
        &h2,
        &["Condition/c2", "Condition/c3", "Patient/p2"],
    );
    let w = plan(&l, &out, "http://s", false).unwrap();
    assert_eq!(w.unchanged, 1);
    assert_eq!(w.jobs.len(), 1);
    assert_eq!(
        (w.jobs[0].unit_id.as_str(), w.jobs[0].kind),
        ("C-2", JobKind::Replace)
    );
    assert!(w.jobs[0].delete.is_empty());
    // Another server has nothing yet.
    assert_eq!(plan(&l, &out, "http://other", false).unwrap().jobs.len(), 2);

    // Next run: C-2 lost c3 (a replace deleting it), C-1 withdrawn (a delete).
    delivered(
        &mut l,
        "C-2",
        DeliveryState::Delivered,
        &h2,
        &["Condition/c2", "Condition/c3", "Patient/p2"],
    );
    let b2b = bundle(&[("Patient", "p2"), ("Condition", "c2")]);
    run(&dir, &mut l, &[("C-2", Some(b2b))]);
    let out = read_output(&dir).unwrap();
    let w = plan(&l, &out, "http://s", false).unwrap();
    let jobs: Vec<(&str, JobKind, &[String], &[String])> = w
        .jobs
        .iter()
        .map(|j| {
            (
                j.unit_id.as_str(),
                j.kind,
                j.put.as_slice(),
                j.delete.as_slice(),
            )
        })
        .collect();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(jobs[0].0, "C-1");
    assert_eq!(jobs[0].1, JobKind::Delete);
    assert_eq!(jobs[0].3, ["Condition/c1", "Patient/p1"]);
    assert_eq!(jobs[1].1, JobKind::Replace);
    assert_eq!(jobs[1].3, ["Condition/c3"]);

    // Refused with the same bundle: not again unless asked.
    let h2b = fhir::model::id::sha1_hex(&std::fs::read(dir.join("bundles/C-2.json")).unwrap());
    delivered(
        &mut l,
        "C-2",
        DeliveryState::Refused,
        &h2b,
        &["Condition/c2", "Condition/c3", "Patient/p2"],
    );
    let w = plan(&l, &out, "http://s", false).unwrap();
    assert_eq!(w.refused_before, 1);
    assert!(w.jobs.iter().all(|j| j.unit_id != "C-2"));
    assert!(w.diagnostics.iter().any(|d| d.code.id == "C401"));
    let w = plan(&l, &out, "http://s", true).unwrap();
    assert!(w.jobs.iter().any(|j| j.unit_id == "C-2"));

    // A changed bundle, or a ledger of another run, is refused before anything is sent.
    std::fs::write(dir.join("bundles/C-2.json"), b"{}").unwrap();
    let e = plan(&l, &out, "http://s", false).unwrap_err();
    assert!(e.to_string().contains("C405"), "{e}");
    let other = Ledger::in_memory(INST).unwrap();
    assert!(
        plan(&other, &out, "http://s", false)
            .unwrap_err()
            .to_string()
            .contains("C405")
    );
    std::fs::remove_file(dir.join("report.json")).unwrap();
    assert!(read_output(&dir).unwrap_err().to_string().contains("C404"));
    let _ = std::fs::remove_dir_all(&dir);
}
