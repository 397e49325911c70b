use super::*;

const MIN: &str = "[site]\ninstitution_number = \"2213456789\"\nname = \"demo\"\n";

fn err(text: &str) -> Diagnostic {
    match SiteConfig::parse(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(d) => *d,
    }
}

#[test]
fn minimal_config_takes_the_documented_defaults() {
    let c = SiteConfig::parse(MIN).unwrap();
    assert_eq!(c.timezone, "+09:00");
    assert_eq!(c.policy, Policy::default());
    assert_eq!(c.policy.patient_id, PatientIdSource::Folder);
    assert_eq!(c.policy.criticality, Criticality::DrugHigh);
    assert_eq!(c.policy.lab_scope, LabScope::ClinsSets);
    assert_eq!(c.policy.karte_zeros, KarteZeros::Strip);
    assert!(c.policy.disclosure.is_default());
    assert!(!c.allow_unreviewed);
    // The run report says first that UNINFORMED is the default.
    let notes = c.report_notes();
    assert!(notes[0].contains("UNINFORMED"), "{notes:?}");
}

#[test]
fn the_shipped_example_parses() {
    let text = include_str!("../../../kakehashi.toml");
    let c = SiteConfig::parse(text).unwrap();
    assert_eq!(c.institution_number, "2213456789");
    assert_eq!(c.site, "nho-sample");
    assert_eq!(c.policy.as_of.as_deref(), Some("20261123"));
    assert_eq!(c.department("01").map(|d| d.code.as_str()), Some("01"));
    assert_eq!(c.tables.len(), 10);
}

#[test]
fn institution_number_follows_r1021() {
    for ok in ["2213456789", "0112345678", "4931234567"] {
        assert!(check_institution_number(ok).is_ok(), "{ok}");
    }
    for (bad, why) in [
        ("221345678", InstitutionNumberError::NotTenDigits),
        ("22134567890", InstitutionNumberError::NotTenDigits),
        ("2243456789", InstitutionNumberError::FeeSchedule),
        ("5213456789", InstitutionNumberError::Prefecture),
        ("22034567a9", InstitutionNumberError::NotTenDigits),
        ("２２１３４５６７８９", InstitutionNumberError::NotTenDigits),
    ] {
        assert_eq!(check_institution_number(bad), Err(why), "{bad}");
    }
    let d = err("[site]\ninstitution_number = \"2203456789\"\nname = \"x\"\n");
    assert_eq!(d.code.id, "M003");
    assert!(
        d.message.contains("site.institution_number"),
        "{}",
        d.message
    );
    assert!(d.message.contains("点数表"), "{}", d.message);
}

#[test]
fn missing_settings_name_their_key() {
    let d = err("[site]\nname = \"x\"\n");
    assert_eq!(d.code.id, "M002");
    assert!(
        d.message.contains("`site.institution_number`"),
        "{}",
        d.message
    );
    let d = err("");
    assert!(d.message.contains("`site`"), "{}", d.message);
    let d = err(&format!("{MIN}[policy.claim_only]\nvalues = [\"x\"]\n"));
    assert!(
        d.message.contains("`policy.claim_only.field`"),
        "{}",
        d.message
    );
    let d = err(&format!(
        "{MIN}[departments]\n\"01\" = {{ code = \"01\" }}\n"
    ));
    assert!(
        d.message.contains("`departments.01.display`"),
        "{}",
        d.message
    );
}

#[test]
fn malformed_settings_name_their_key() {
    let cases = [
        ("[policy]\npatient_id = \"pid\"\n", "policy.patient_id"),
        ("[policy]\nas_of = \"2011-02-30\"\n", "policy.as_of"),
        ("[policy]\nlab_scope = 3\n", "policy.lab_scope"),
        ("[policy]\nkarte_zeros = \"pad\"\n", "policy.karte_zeros"),
        (
            "[policy]\nallergy_criticality = \"high\"\n",
            "policy.allergy_criticality",
        ),
        ("[policy]\nlts = [\"Patient\"]\n", "policy.lts"),
        (
            "[policy]\nclaim_only = { field = \"PRB25\", values = [\"x\"] }\n",
            "policy.claim_only.field",
        ),
        (
            "[policy.disclosure]\nuninformed = { field = \"PRB-25.1\", values = [] }\n",
            "policy.disclosure.uninformed.values",
        ),
        (
            "[departments]\n\"01\" = { code = \"1\", display = \"内科\" }\n",
            "departments.01.code",
        ),
        ("[tables]\nfiles = \"a.tsv\"\n", "tables.files"),
        (
            "[tables]\nallow_unreviewed = \"yes\"\n",
            "tables.allow_unreviewed",
        ),
    ];
    for (extra, key) in cases {
        let d = err(&format!("{MIN}{extra}"));
        assert_eq!(d.code.id, "M003", "{extra}: {}", d.message);
        assert!(
            d.message.contains(&format!("`{key}`")),
            "{extra}: {}",
            d.message
        );
    }
    let d = err("[site]\ninstitution_number = \"2213456789\"\nname = \"bad name\"\n");
    assert!(d.message.contains("`site.name`"));
    let d = err(&MIN.replace("name = \"demo\"", "name = \"demo\"\ntimezone = \"JST\""));
    assert!(d.message.contains("`site.timezone`"));
}

#[test]
fn unknown_keys_are_errors() {
    let d = err(&format!("{MIN}[policy]\nlab_scop = \"all\"\n"));
    assert_eq!(d.code.id, "M004");
    assert!(d.message.contains("`policy.lab_scop`"), "{}", d.message);
    let d = err(&format!("{MIN}[polcy]\n"));
    assert!(d.message.contains("`polcy`"), "{}", d.message);
}

#[test]
fn syntax_errors_carry_a_line() {
    let d = err("[site]\ninstitution_number = \n");
    assert_eq!(d.code.id, "M001");
    assert_eq!(d.location.line, Some(2));
}

#[test]
fn declared_policies_are_read() {
    let c = SiteConfig::parse(&format!(
        "{MIN}[policy]\npatient_id = \"pid3\"\nlab_scope = \"all\"\nkarte_zeros = \"keep\"\nallergy_criticality = \"from-severity\"\n\
         lts = [\"Condition\"]\nself_pay_plan_types = [\"00\"]\n\
         claim_only = {{ field = \"ZPR-7\", values = [\"保険病名\"] }}\n\
         [policy.disclosure]\nuninformed = {{ field = \"PRB-25.1\", values = [\"V\"] }}\nundelivered_ids = [\"1\"]\n"
    ))
    .unwrap();
    let p = &c.policy;
    assert_eq!(p.patient_id, PatientIdSource::Pid3);
    assert_eq!(p.lab_scope, LabScope::All);
    assert_eq!(p.karte_zeros, KarteZeros::Keep);
    assert_eq!(p.criticality, Criticality::FromSeverity);
    assert_eq!(p.lts.resource_types, ["Condition"]);
    assert_eq!(
        p.claim_only.as_ref().map(FieldRule::path).as_deref(),
        Some("ZPR-7")
    );
    let u = p.disclosure.uninformed.as_ref().unwrap();
    assert_eq!(
        (u.path(), u.values.clone()),
        ("PRB-25.1".to_owned(), vec!["V".to_owned()])
    );
    assert!(!p.disclosure.is_default());
    assert!(c.report_notes().iter().all(|n| !n.contains("UNINFORMED")));
}

proptest::proptest! {
    #[test]
    fn any_text_is_a_value_or_a_diagnostic(s in "\\PC{0,200}") {
        let _ = SiteConfig::parse(&s);
    }

    #[test]
    fn any_institution_number_is_judged(s in "[0-9]{10}") {
        let b = s.as_bytes();
        let ok = b[0] <= b'4' && (b'1'..=b'3').contains(&b[2]);
        proptest::prop_assert_eq!(check_institution_number(&s).is_ok(), ok);
    }
}
