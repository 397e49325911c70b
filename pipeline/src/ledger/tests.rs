use super::*;

const INST: &str = "2213456789";

fn obs(unit_id: &str, member: &str, hash: &str) -> Observed {
    let resource_type = match unit_id.as_bytes().first() {
        Some(b'C') => "Condition",
        Some(b'A') => "AllergyIntolerance",
        _ => "Observation",
    };
    Observed {
        unit_id: unit_id.to_owned(),
        resource_type: resource_type.to_owned(),
        member_id: member.to_owned(),
        hash: Some(hash.to_owned()),
    }
}

fn actions(plan: &[PlanItem]) -> Vec<(String, Action, String)> {
    plan.iter()
        .map(|i| (i.unit_id.clone(), i.action, i.identifier.clone()))
        .collect()
}

/// Plans and commits one run; returns the plan.
fn run(ledger: &mut Ledger, year: u16, observed: &[Observed], label: &str) -> Vec<PlanItem> {
    let plan = ledger.plan(year, observed).unwrap();
    ledger.commit(&plan, observed, &[], label).unwrap();
    plan
}

fn first_run() -> Vec<Observed> {
    vec![
        obs("L-9999013-000000011000354", "06050116:記号:1:00", "h1"),
        obs("C-9999013", "06050116:記号:1:00", "h2"),
        obs("A-9999013", "06050116:記号:1:00", "h3"),
        obs("C-9999014", "39131013::2:", "h4"),
    ]
}

#[test]
fn first_run_creates_everything_with_the_as_of_year() {
    let mut l = Ledger::in_memory(INST).unwrap();
    let plan = run(&mut l, 2026, &first_run(), "2026-04-01");
    assert_eq!(
        actions(&plan),
        vec![
            (
                "A-9999013".into(),
                Action::Create,
                format!("{INST}^2026^A-9999013")
            ),
            (
                "C-9999013".into(),
                Action::Create,
                format!("{INST}^2026^C-9999013")
            ),
            (
                "C-9999014".into(),
                Action::Create,
                format!("{INST}^2026^C-9999014")
            ),
            (
                "L-9999013-000000011000354".into(),
                Action::Create,
                format!("{INST}^2026^L-9999013-000000011000354")
            ),
        ]
    );
    assert_eq!(
        summary(&plan),
        "create 4, replace 0, unchanged 0, delete 0, held 0"
    );
    assert_eq!(l.year_of("C-9999013").unwrap(), Some(2026));
    assert_eq!(l.year_of("C-0000000").unwrap(), None);
    assert_eq!(l.runs().unwrap(), 1);
    // The plan alone does not write.
    let l2 = Ledger::in_memory(INST).unwrap();
    l2.plan(2026, &first_run()).unwrap();
    assert_eq!(l2.year_of("C-9999013").unwrap(), None);
}

#[test]
fn same_hashes_are_unchanged() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let plan = run(&mut l, 2026, &first_run(), "r2");
    assert!(
        plan.iter().all(|i| i.action == Action::Unchanged),
        "{plan:?}"
    );
    assert_eq!(plan.len(), 4);
    assert_eq!(
        summary(&plan),
        "create 0, replace 0, unchanged 4, delete 0, held 0"
    );
}

#[test]
fn changed_hash_replaces_under_the_old_identifier_in_a_later_year() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let mut second = first_run();
    second[1].hash = Some("h2-changed".into());
    let plan = run(&mut l, 2027, &second, "r2");
    let c = plan.iter().find(|i| i.unit_id == "C-9999013").unwrap();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.identifier, format!("{INST}^2026^C-9999013"));
    assert_eq!(c.year, 2026);
    assert_eq!(
        plan.iter()
            .filter(|i| i.action == Action::Unchanged)
            .count(),
        3
    );
    // The new hash was recorded: a third run with it is unchanged.
    let plan = l.plan(2027, &second).unwrap();
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
    // A new unit in 2027 gets 2027.
    second.push(obs("C-9999015", "39131013::3:", "h5"));
    let plan = l.plan(2027, &second).unwrap();
    let new = plan.iter().find(|i| i.unit_id == "C-9999015").unwrap();
    assert_eq!((new.action, new.year), (Action::Create, 2027));
}

#[test]
fn absent_unit_is_deleted_under_the_member_id_it_was_sent_with() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let mut second = first_run();
    second.retain(|o| o.unit_id != "C-9999014");
    let plan = run(&mut l, 2026, &second, "r2");
    let d: Vec<_> = plan.iter().filter(|i| i.action == Action::Delete).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].unit_id, "C-9999014");
    assert_eq!(d[0].member_id, "39131013::2:");
    assert_eq!(d[0].identifier, format!("{INST}^2026^C-9999014"));
    assert_eq!(d[0].resource_type, "Condition");
    // Deleted and still absent: nothing more to do.
    let plan = run(&mut l, 2026, &second, "r3");
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
    assert_eq!(plan.len(), 3);
}

#[test]
fn deleted_unit_coming_back_is_created_with_its_old_year() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let without: Vec<_> = first_run()
        .into_iter()
        .filter(|o| o.unit_id != "C-9999014")
        .collect();
    run(&mut l, 2027, &without, "r2");
    assert_eq!(l.year_of("C-9999014").unwrap(), Some(2026));
    // Back, even with the very same content: it was deleted at the service.
    let plan = run(&mut l, 2028, &first_run(), "r3");
    let c = plan.iter().find(|i| i.unit_id == "C-9999014").unwrap();
    assert_eq!(c.action, Action::Create);
    assert_eq!(c.identifier, format!("{INST}^2026^C-9999014"));
    let plan = l.plan(2028, &first_run()).unwrap();
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
}

#[test]
fn changed_member_id_deletes_under_the_old_and_creates_under_the_new() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let mut second = first_run();
    second[3].member_id = "01130012:新:2:01".into();
    second[3].hash = Some("h4-new-insurance".into());
    let plan = run(&mut l, 2027, &second, "r2");
    let c: Vec<_> = plan.iter().filter(|i| i.unit_id == "C-9999014").collect();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].action, c[0].member_id.as_str()),
        (Action::Delete, "39131013::2:")
    );
    assert_eq!(
        (c[1].action, c[1].member_id.as_str()),
        (Action::Create, "01130012:新:2:01")
    );
    assert!(c.iter().all(|i| i.member_changed && i.year == 2026));
    let diags = plan_diagnostics(&plan);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code.id, "C109");
    assert!(!diags[0].message.contains("39131013"));
    assert!(!diags[0].message.contains("01130012"));
    // Recorded under the new member id.
    let plan = l.plan(2027, &second).unwrap();
    assert!(
        plan.iter().all(|i| i.action == Action::Unchanged),
        "{plan:?}"
    );
}

#[test]
fn quarantined_unit_is_held_not_deleted() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let mut second = first_run();
    second[1].hash = None;
    second.push(Observed {
        hash: None,
        ..obs("C-9999099", "39131013::9:", "")
    });
    let plan = run(&mut l, 2026, &second, "r2");
    let held: Vec<_> = plan
        .iter()
        .filter(|i| i.action == Action::Held)
        .map(|i| i.unit_id.as_str())
        .collect();
    assert_eq!(held, vec!["C-9999013", "C-9999099"]);
    assert!(!plan.iter().any(|i| i.action == Action::Delete));
    // The held unit keeps its entry (next run with it valid again: unchanged);
    // the never-sent one is still unknown.
    assert_eq!(l.year_of("C-9999099").unwrap(), None);
    let plan = l.plan(2026, &first_run()).unwrap();
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
}

#[test]
fn write_plan_is_deterministic_and_sorted() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let mut second = first_run();
    second[0].hash = Some("h1-changed".into());
    second.retain(|o| o.unit_id != "A-9999013");
    second.push(obs("C-0000001", "06050116:\"q\":1:00", "h9"));
    let plan = l.plan(2026, &second).unwrap();
    let mut reversed = second.clone();
    reversed.reverse();
    let plan2 = l.plan(2026, &reversed).unwrap();
    assert_eq!(plan, plan2);
    let mut shuffled = plan.clone();
    shuffled.reverse();
    let text = write_plan(&plan);
    assert_eq!(text, write_plan(&shuffled));
    assert_eq!(
        text,
        format!(
            "{{\"action\":\"delete\",\"identifier\":\"{INST}^2026^A-9999013\",\"member_id\":\"06050116:記号:1:00\",\"resource_type\":\"AllergyIntolerance\",\"unit_id\":\"A-9999013\"}}\n\
             {{\"action\":\"create\",\"identifier\":\"{INST}^2026^C-0000001\",\"member_id\":\"06050116:\\\"q\\\":1:00\",\"resource_type\":\"Condition\",\"unit_id\":\"C-0000001\"}}\n\
             {{\"action\":\"unchanged\",\"identifier\":\"{INST}^2026^C-9999013\",\"member_id\":\"06050116:記号:1:00\",\"resource_type\":\"Condition\",\"unit_id\":\"C-9999013\"}}\n\
             {{\"action\":\"unchanged\",\"identifier\":\"{INST}^2026^C-9999014\",\"member_id\":\"39131013::2:\",\"resource_type\":\"Condition\",\"unit_id\":\"C-9999014\"}}\n\
             {{\"action\":\"replace\",\"identifier\":\"{INST}^2026^L-9999013-000000011000354\",\"member_id\":\"06050116:記号:1:00\",\"resource_type\":\"Observation\",\"unit_id\":\"L-9999013-000000011000354\"}}\n"
        )
    );
    // Every line is JSON with sorted keys.
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
    assert_eq!(
        summary(&plan),
        "create 1, replace 1, unchanged 2, delete 1, held 0"
    );
}

#[test]
fn bad_input_is_an_error() {
    let l = Ledger::in_memory(INST).unwrap();
    let dup = vec![obs("C-1", "m", "a"), obs("C-1", "m", "b")];
    let e = l.plan(2026, &dup).unwrap_err();
    assert_eq!(e.code().id, "C105");
    let e = l.plan(2019, &first_run()).unwrap_err();
    assert_eq!(e.code().id, "C107");
    let e = l.plan(2040, &first_run()).unwrap_err();
    assert_eq!(e.code().id, "C107");
    let mut l = l;
    run(&mut l, 2026, &first_run(), "r1");
    let mut typed = first_run();
    typed[1].resource_type = "Observation".into();
    let e = l.plan(2026, &typed).unwrap_err();
    assert_eq!(e.code().id, "C106");
}

#[test]
fn stale_plan_is_refused_and_writes_nothing() {
    let mut l = Ledger::in_memory(INST).unwrap();
    let plan = l.plan(2026, &first_run()).unwrap();
    l.commit(&plan, &first_run(), &[], "r1").unwrap();
    // The same create plan again: the units are live now.
    let e = l.commit(&plan, &first_run(), &[], "r2").unwrap_err();
    assert_eq!(e.code().id, "C108");
    assert_eq!(
        l.runs().unwrap(),
        1,
        "a refused commit leaves no run behind"
    );
    // Observed units missing for a create.
    let mut l = Ledger::in_memory(INST).unwrap();
    let plan = l.plan(2026, &first_run()).unwrap();
    let e = l.commit(&plan, &[], &[], "r1").unwrap_err();
    assert_eq!(e.code().id, "C108");
    assert_eq!(l.year_of("A-9999013").unwrap(), None);
}

#[test]
fn file_ledger_persists_and_is_one_file() {
    let dir = testkit::scratch_dir("ledger-persist");
    let path = dir.join("ledger.sqlite");
    {
        let mut l = Ledger::open(&path, INST).unwrap();
        run(&mut l, 2026, &first_run(), "2026-04-01T00:00:00+09:00");
    }
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, vec!["ledger.sqlite".to_owned()]);
    let l = Ledger::open(&path, INST).unwrap();
    assert_eq!(l.year_of("C-9999014").unwrap(), Some(2026));
    assert_eq!(l.runs().unwrap(), 1);
    let plan = l.plan(2027, &first_run()).unwrap();
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
    // Held exclusively: a second run on the same file fails at once.
    let e = Ledger::open(&path, INST).unwrap_err();
    assert_eq!(e.code().id, "C104", "{e}");
    drop(l);
    // Another institution: an error naming both numbers.
    let e = Ledger::open(&path, "1318814790").unwrap_err();
    assert_eq!(e.code().id, "C103");
    let msg = e.to_string();
    assert!(msg.contains(INST) && msg.contains("1318814790"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn branches_learnt_are_kept_per_patient_and_a_schema_1_ledger_gains_their_table() {
    let dir = testkit::scratch_dir("ledger-branch");
    let path = dir.join("ledger.sqlite");
    {
        let mut l = Ledger::open(&path, INST).unwrap();
        let plan = l.plan(2026, &first_run()).unwrap();
        let learnt = vec![("0001".to_owned(), "06050116::1:01".to_owned())];
        l.commit(&plan, &first_run(), &learnt, "r1").unwrap();
        assert_eq!(l.branches().unwrap()["0001"], "06050116::1:01");
        // Learnt again with another 枝番: the newest is kept.
        let plan = l.plan(2026, &first_run()).unwrap();
        let learnt = vec![("0001".to_owned(), "06050116::1:02".to_owned())];
        l.commit(&plan, &first_run(), &learnt, "r2").unwrap();
        assert_eq!(l.branches().unwrap()["0001"], "06050116::1:02");
    }
    // Make it a schema-1 file: no branch table, user_version 1.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE branch").unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
    }
    let l = Ledger::open(&path, INST).unwrap();
    assert!(l.branches().unwrap().is_empty());
    assert_eq!(l.runs().unwrap(), 2);
    drop(l);
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn schema_version_mismatch_is_a_clear_error() {
    let dir = testkit::scratch_dir("ledger-version");
    let path = dir.join("ledger.sqlite");
    drop(Ledger::open(&path, INST).unwrap());
    {
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = Ledger::open(&path, INST).unwrap_err();
    assert_eq!(e.code().id, "C102");
    let msg = e.to_string();
    assert!(
        msg.contains("99") && msg.contains(&SCHEMA_VERSION.to_string()),
        "{msg}"
    );
    let d = e.to_diagnostic("out/ledger.sqlite");
    assert_eq!(d.location.file.as_deref(), Some("out/ledger.sqlite"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_or_foreign_files_are_errors_not_panics() {
    let dir = testkit::scratch_dir("ledger-corrupt");
    // Not a database at all.
    let garbage = dir.join("garbage.sqlite");
    std::fs::write(
        &garbage,
        b"this is not an SQLite database, just text\n".repeat(200),
    )
    .unwrap();
    let e = Ledger::open(&garbage, INST).unwrap_err();
    assert_eq!(e.code().id, "C101", "{e}");
    // Another program's database.
    let foreign = dir.join("foreign.sqlite");
    {
        let c = Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
    }
    let e = Ledger::open(&foreign, INST).unwrap_err();
    assert_eq!(e.code().id, "C101", "{e}");
    // A ledger whose pages were damaged: an error at open or at the first query.
    let damaged = dir.join("damaged.sqlite");
    {
        let mut l = Ledger::open(&damaged, INST).unwrap();
        let many: Vec<_> = (0..2000)
            .map(|i| {
                obs(
                    &format!("C-{i:07}"),
                    "06050116:記号:1:00",
                    &format!("{i:040}"),
                )
            })
            .collect();
        run(&mut l, 2026, &many, "r1");
    }
    let mut bytes = std::fs::read(&damaged).unwrap();
    assert!(bytes.len() > 8192);
    for b in bytes.iter_mut().skip(4096).step_by(7) {
        *b ^= 0x5A;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    let r = Ledger::open(&damaged, INST).and_then(|l| l.plan(2026, &first_run()));
    let e = r.unwrap_err();
    assert_eq!(e.code().id, "C101", "{e}");
    // Truncated to half.
    let truncated = dir.join("truncated.sqlite");
    {
        let mut l = Ledger::open(&truncated, INST).unwrap();
        let many: Vec<_> = (0..2000)
            .map(|i| obs(&format!("C-{i:07}"), "m", &format!("{i:040}")))
            .collect();
        run(&mut l, 2026, &many, "r1");
    }
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, bytes.get(..bytes.len() / 2).unwrap()).unwrap();
    let r = Ledger::open(&truncated, INST).and_then(|l| l.plan(2026, &first_run()));
    assert_eq!(r.unwrap_err().code().id, "C101");
    // A directory where the file should be.
    let e = Ledger::open(&dir, INST).unwrap_err();
    assert_eq!(e.code().id, "C100", "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_never_carry_member_ids() {
    let mut l = Ledger::in_memory(INST).unwrap();
    run(&mut l, 2026, &first_run(), "r1");
    let plan = l.plan(2026, &first_run()).unwrap();
    let e = l
        .commit(
            &[PlanItem {
                action: Action::Create,
                ..plan[0].clone()
            }],
            &first_run(),
            &[],
            "r2",
        )
        .unwrap_err();
    assert!(!e.to_string().contains("06050116"), "{e}");
    assert_eq!(codes::ALL.len(), 10);
    assert!(codes::ALL.iter().all(|c| c.id.starts_with("C1")));
}

#[test]
fn a_package_change_replaces_unchanged_units_and_says_why() {
    let mut l = Ledger::in_memory(INST).unwrap();
    let old = "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-url, jp-eCSCLINS.r4#1.5.2";
    let new = "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCSCLINS.r4#1.10.0";
    l.set_packages(old);
    run(&mut l, 2026, &first_run(), "r1");
    // same packages, same bytes: unchanged
    let plan = run(&mut l, 2026, &first_run(), "r2");
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
    // the pins move: every live unit is replaced, with the reason
    l.set_packages(new);
    let plan = l.plan(2026, &first_run()).unwrap();
    assert!(!plan.is_empty());
    for i in &plan {
        assert_eq!(i.action, Action::Replace, "{i:?}");
        assert_eq!(
            i.reason.as_deref(),
            Some(
                "validated under other packages before: jp-core.r4 1.1.2-url → 1.1.2-clins; \
                 jp-eCSCLINS.r4 1.5.2 → 1.10.0"
            )
        );
    }
    assert!(write_plan(&plan).contains("\"reason\":\"validated under other packages before"));
    l.commit(&plan, &first_run(), &[], "r3").unwrap();
    // recorded: the next run under the same pins is unchanged again
    let plan = l.plan(2026, &first_run()).unwrap();
    assert!(
        plan.iter()
            .all(|i| i.action == Action::Unchanged && i.reason.is_none())
    );
    // a run that does not track packages replaces nothing for that reason
    let mut untracked = Ledger::in_memory(INST).unwrap();
    run(&mut untracked, 2026, &first_run(), "r1");
    untracked.set_packages(new);
    let plan = untracked.plan(2026, &first_run()).unwrap();
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
}

#[test]
fn a_schema_2_ledger_gains_the_packages_column() {
    let dir = testkit::scratch_dir("ledger-schema2");
    let path = dir.join("ledger.sqlite");
    {
        let mut l = Ledger::open(&path, INST).unwrap();
        run(&mut l, 2026, &first_run(), "r1");
    }
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("ALTER TABLE unit DROP COLUMN packages")
            .unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
    }
    // its units were validated under the only set earlier releases had
    let mut l = Ledger::open(&path, INST).unwrap();
    l.set_packages("hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-url, jp-eCSCLINS.r4#1.5.2");
    let plan = l.plan(2026, &first_run()).unwrap();
    assert!(plan.iter().all(|i| i.action == Action::Unchanged));
    // so moving to 1.10 replans them
    l.set_packages("hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCSCLINS.r4#1.10.0");
    let plan = l.plan(2026, &first_run()).unwrap();
    assert!(
        plan.iter().all(|i| i.action == Action::Replace
            && i.reason
                .as_deref()
                .is_some_and(|r| r.contains("jp-eCSCLINS.r4 1.5.2 → 1.10.0"))),
        "{plan:?}"
    );
    drop(l);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn deliveries_are_recorded_per_server_and_survive_reopening_and_a_schema_3_ledger_gains_them() {
    let dir = testkit::scratch_dir("ledger-deliveries");
    let path = dir.join("ledger.sqlite");
    {
        let mut l = Ledger::open(&path, INST).unwrap();
        run(&mut l, 2026, &first_run(), "r1");
    }
    {
        // Make it a schema-3 file: no delivery table.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE delivery").unwrap();
        c.pragma_update(None, "user_version", 3).unwrap();
    }
    let d = Delivery {
        state: DeliveryState::InFlight,
        hash: "h2".into(),
        resources: vec!["Condition/c1".into(), "Patient/p1".into()],
        status: None,
        acknowledged: String::new(),
        outcome: String::new(),
        time: "2026-11-23T00:00:00.000Z".into(),
    };
    {
        let mut l = Ledger::open(&path, INST).unwrap();
        assert!(l.deliveries("http://a").unwrap().is_empty());
        l.record_delivery("http://a", "C-9999013", &d).unwrap();
        let done = Delivery {
            state: DeliveryState::Delivered,
            status: Some(200),
            acknowledged: r#"[["200 OK","Condition/c1/_history/1","",""]]"#.into(),
            ..d.clone()
        };
        l.record_delivery("http://a", "C-9999013", &done).unwrap();
        l.record_delivery("http://b", "C-9999013", &d).unwrap();
    }
    let l = Ledger::open(&path, INST).unwrap();
    let a = l.deliveries("http://a").unwrap();
    assert_eq!(a["C-9999013"].state, DeliveryState::Delivered);
    assert_eq!(a["C-9999013"].status, Some(200));
    assert_eq!(a["C-9999013"].resources, d.resources);
    assert_eq!(l.deliveries("http://b").unwrap()["C-9999013"], d);
    drop(l);
    std::fs::remove_dir_all(&dir).unwrap();
}
