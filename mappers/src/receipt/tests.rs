use super::*;

/// One receipt: カルテ番号, sex, birth (YYYYMMDD), HO (insurer, 記号, 番号) or none,
/// SN 枝番 values, KO (公費負担者番号, 受給者番号), 診療年月.
struct R<'a> {
    karte: &'a str,
    sex: &'a str,
    birth: &'a str,
    ho: Option<(&'a str, &'a str, &'a str)>,
    sn: &'a [&'a str],
    ko: Option<(&'a str, &'a str)>,
    month: &'a str,
}

fn r<'a>(karte: &'a str, ho: Option<(&'a str, &'a str, &'a str)>, sn: &'a [&'a str]) -> R<'a> {
    R {
        karte,
        sex: "1",
        birth: "19700102",
        ho,
        sn,
        ko: None,
        month: "202404",
    }
}

fn file(receipts: &[R<'_>]) -> UkeFile {
    let mut lines = vec!["IR,1,13,1,1234567,,架空病院,202404,00,03-0000-0000".to_owned()];
    for (i, x) in receipts.iter().enumerate() {
        let mut re = vec![String::new(); 38];
        re[0] = "RE".into();
        re[1] = (i + 1).to_string();
        re[2] = "1112".into();
        re[3] = x.month.into();
        re[4] = "架空　一郎".into();
        re[5] = x.sex.into();
        re[6] = x.birth.into();
        re[13] = x.karte.into();
        re[36] = "カクウ　イチロウ".into();
        lines.push(re.join(","));
        if let Some((i, s, n)) = x.ho {
            lines.push(format!("HO,{i},{s},{n},1,100,,,,,,300,,,"));
        }
        if let Some((p, q)) = x.ko {
            lines.push(format!("KO,{p},{q},,1,100,0,,,,,"));
        }
        for b in x.sn {
            lines.push(format!("SN,1,01,,,,{b},,"));
        }
        lines.push("SY,3721002,20240401,1,,,01,".into());
        lines.push("SI,11,1,111000110,,288,1,,,,,,,1".into());
    }
    lines.push("GO,1,100,99".into());
    let text = lines.join("\r\n") + "\r\n\u{1a}";
    parsers::uke::parse(text.as_bytes())
}

fn patient(id: &str, member: Option<&str>) -> KnownPatient {
    KnownPatient {
        local_id: id.into(),
        member_id: member.map(|v| MemberId {
            system: uri::INSURANCE_MEMBER_ID.into(),
            value: v.into(),
        }),
        birth_date: Some("1970-01-02".into()),
        gender: Some("male".into()),
        withheld: false,
    }
}

fn run(receipts: &[R<'_>], patients: &[KnownPatient]) -> Linked {
    let f = file(receipts);
    link(
        &[ReceiptFile {
            file: "RECEIPTC.UKE",
            uke: &f,
        }],
        patients,
        KarteZeros::Strip,
    )
}

fn re_outcomes(l: &Linked) -> Vec<&'static str> {
    l.fates[0]
        .iter()
        .filter(|f| f.record == "RE")
        .map(|f| f.outcome)
        .collect()
}

fn codes_of(l: &Linked) -> Vec<&'static str> {
    l.diagnostics.iter().map(|d| d.code.id).collect()
}

const INS: Option<(&str, &str, &str)> = Some(("06139999", "", "12"));

#[test]
fn links_by_karte_number_ignoring_leading_zeros_and_fills_the_branch() {
    let l = run(
        &[r("1234", INS, &["01"])],
        &[patient("0000001234", Some("06139999::12:"))],
    );
    assert_eq!(re_outcomes(&l), vec![RE_KARTE]);
    assert_eq!(codes_of(&l), vec!["M404"]);
    let Some(Patch::Identifier { member_id, .. }) = l.patches.get("0000001234") else {
        panic!("no patch: {:?}", l.patches)
    };
    assert_eq!(member_id.value, "06139999::12:01");
    // Applied to the mapped patient; lineage names the SN record.
    let mut p = PatientRecord {
        local_id: "0000001234".into(),
        member_id: patient("x", Some("06139999::12:")).member_id,
        submission: Some(Submission::Submit),
        ..PatientRecord::default()
    };
    assert!(apply(&l.patches["0000001234"], &mut p));
    assert_eq!(p.member_id.unwrap().value, "06139999::12:01");
    assert_eq!(p.lineage[0].field, "SN-7");
}

#[test]
fn a_site_whose_leading_zeros_count_links_only_the_exact_number() {
    let other = Some(("01130012", "", "9"));
    let f = file(&[r("1234", other, &["01"]), r("0012", other, &["02"])]);
    let files = [ReceiptFile {
        file: "RECEIPTC.UKE",
        uke: &f,
    }];
    let patients = [
        patient("0000001234", Some("06139999::12:")),
        patient("12", Some("06139999::34:")),
    ];
    let l = link(&files, &patients, KarteZeros::Keep);
    // "1234" is not "0000001234", and "0012" is not "12": neither is linked by カルテ番号
    // (and the fallback by insurance finds no patient with their 記号・番号).
    assert!(
        !re_outcomes(&l).contains(&RE_KARTE),
        "{:?}",
        re_outcomes(&l)
    );
    assert!(l.patients.is_empty(), "{:?}", l.patients);
    // The default strips the zeros on both sides: both linked.
    let l = link(&files, &patients, KarteZeros::Strip);
    assert_eq!(re_outcomes(&l), vec![RE_KARTE, RE_KARTE]);
}

#[test]
fn a_patch_is_not_applied_to_a_patient_whose_identifier_changed() {
    let l = run(
        &[r("7", INS, &["01"])],
        &[patient("7", Some("06139999::12:"))],
    );
    let mut p = PatientRecord {
        member_id: patient("x", Some("01130012::9:")).member_id,
        ..PatientRecord::default()
    };
    assert!(!apply(&l.patches["7"], &mut p));
    assert_eq!(p.member_id.unwrap().value, "01130012::9:");
}

#[test]
fn a_branch_learnt_from_receipts_is_remembered_for_the_same_insurance_only() {
    let mut p = PatientRecord {
        local_id: "7".into(),
        member_id: patient("x", Some("06139999::12:")).member_id,
        submission: Some(Submission::Submit),
        ..PatientRecord::default()
    };
    // Nothing learnt while the identifier is the storage's.
    assert_eq!(learnt_branch(Some("06139999::12:"), &p), None);
    // A receipt completed it: that is what the ledger keeps.
    let l = run(
        &[r("7", INS, &["01"])],
        &[patient("7", Some("06139999::12:"))],
    );
    assert!(apply(&l.patches["7"], &mut p));
    assert_eq!(
        learnt_branch(Some("06139999::12:"), &p).as_deref(),
        Some("06139999::12:01")
    );
    // A storage that gives its own 枝番 teaches the ledger nothing.
    let own = PatientRecord {
        member_id: patient("x", Some("06139999::12:02")).member_id,
        ..PatientRecord::default()
    };
    assert_eq!(learnt_branch(Some("06139999::12:02"), &own), None);

    // A later run without receipts: the same insurance gets its 枝番 back.
    let mut later = PatientRecord {
        local_id: "7".into(),
        member_id: patient("x", Some("06139999::12:")).member_id,
        submission: Some(Submission::Submit),
        ..PatientRecord::default()
    };
    let d = remember_branch(&mut later, "06139999::12:01").unwrap();
    assert_eq!(d.code.id, "M410");
    assert_eq!(later.member_id.as_ref().unwrap().value, "06139999::12:01");
    assert_eq!(later.lineage.last().unwrap().file, "ledger");
    // Already complete: untouched, nothing said.
    assert!(remember_branch(&mut later, "06139999::12:03").is_none());
    assert_eq!(later.member_id.as_ref().unwrap().value, "06139999::12:01");
    // Another insurance (the number changed): not used, and said so.
    let mut moved = PatientRecord {
        member_id: patient("x", Some("06139999::13:")).member_id,
        submission: Some(Submission::Submit),
        ..PatientRecord::default()
    };
    let d = remember_branch(&mut moved, "06139999::12:01").unwrap();
    assert_eq!(d.code.id, "M411");
    assert_eq!(moved.member_id.unwrap().value, "06139999::13:");
    // A withheld patient stays as it is.
    let mut withheld = PatientRecord {
        member_id: patient("x", Some("06139999::12:")).member_id,
        submission: Some(Submission::Withheld(CONFLICT_REASON)),
        ..PatientRecord::default()
    };
    assert!(remember_branch(&mut withheld, "06139999::12:01").is_none());
    assert_eq!(withheld.member_id.unwrap().value, "06139999::12:");
}

#[test]
fn karte_match_with_other_birth_date_is_a_conflict_not_a_link() {
    let mut x = r("7", INS, &["01"]);
    x.birth = "19800101";
    let l = run(&[x], &[patient("7", Some("06139999::12:"))]);
    assert_eq!(re_outcomes(&l), vec![RE_CONFLICT]);
    assert_eq!(codes_of(&l), vec!["M402"]);
    assert!(l.patches.is_empty());
    // Every record of the receipt is counted as unlinked; SY is never a Condition.
    let t = tally(&l);
    assert_eq!(t["SY"][SY_UNLINKED], 1);
    assert_eq!(t["HO"][UNLINKED], 1);
}

#[test]
fn ambiguous_karte_numbers_are_not_guessed() {
    let l = run(
        &[r("12", INS, &["01"])],
        &[
            patient("0012", Some("06139999::12:")),
            patient("12", Some("06139999::12:")),
        ],
    );
    assert_eq!(re_outcomes(&l), vec![RE_AMBIGUOUS]);
    assert_eq!(codes_of(&l), vec!["M401"]);
    assert!(l.patches.is_empty());
}

#[test]
fn fallback_links_by_insurance_birth_and_sex_only_when_unique() {
    let ins = Some(("  133066", "あ", "１２"));
    // 6-digit 国保 number zero-padded; full-width digits fold.
    let one = run(
        &[r("999", ins, &[])],
        &[patient("1", Some("00133066:あ:12:")), patient("2", None)],
    );
    assert_eq!(re_outcomes(&one), vec![RE_INSURANCE]);
    assert_eq!(codes_of(&one), vec!["M403"]);
    let two = run(
        &[r("999", ins, &[])],
        &[
            patient("1", Some("00133066:あ:12:")),
            patient("2", Some("00133066:あ:12:")),
        ],
    );
    assert_eq!(re_outcomes(&two), vec![RE_AMBIGUOUS]);
    // Sex differs: no link.
    let mut x = r("999", ins, &[]);
    x.sex = "2";
    let none = run(&[x], &[patient("1", Some("00133066:あ:12:"))]);
    assert_eq!(re_outcomes(&none), vec![RE_NONE]);
    assert_eq!(codes_of(&none), vec!["M400"]);
}

#[test]
fn fallback_needs_a_number() {
    // Insurer alone (no 番号) never links, even when unique.
    let l = run(
        &[r("", Some(("06139999", "", "")), &[])],
        &[patient("1", Some("06139999:::"))],
    );
    assert_eq!(re_outcomes(&l), vec![RE_NO_KEY]);
    assert_eq!(codes_of(&l), vec!["M408"]);
}

#[test]
fn receipts_disagreeing_on_the_branch_withhold_the_patient() {
    let l = run(
        &[r("7", INS, &["01"]), r("7", INS, &["02"])],
        &[patient("7", Some("06139999::12:"))],
    );
    assert_eq!(re_outcomes(&l), vec![RE_KARTE, RE_KARTE]);
    assert_eq!(codes_of(&l), vec!["M405"]);
    let d = &l.diagnostics.iter().next().unwrap();
    // Both sources named; the values (PHI) only in the excerpt.
    assert!(
        d.message.contains("line 4") && d.message.contains("line 9"),
        "{}",
        d.message
    );
    assert!(!d.message.contains("02"));
    assert_eq!(
        l.patches["7"],
        Patch::Withhold {
            expected: Some("06139999::12:".into()),
            reason: CONFLICT_REASON
        }
    );
    assert_eq!(l.patients["7"], P_CONFLICT);
    assert_eq!(tally(&l)["SN"][PAYER_CONFLICT], 2);
}

#[test]
fn storage_branch_wins_nothing_a_conflict_withholds() {
    let agree = run(
        &[r("7", INS, &["01"])],
        &[patient("7", Some("06139999::12:01"))],
    );
    assert!(agree.patches.is_empty());
    assert_eq!(agree.patients["7"], P_CONFIRMED);
    let differ = run(
        &[r("7", INS, &["02"])],
        &[patient("7", Some("06139999::12:01"))],
    );
    assert!(matches!(differ.patches["7"], Patch::Withhold { .. }));
    assert!(
        differ
            .diagnostics
            .iter()
            .next()
            .unwrap()
            .message
            .contains("the storage (IN1/ZI1)")
    );
}

#[test]
fn a_receipt_of_another_insurance_adds_nothing() {
    let l = run(
        &[r("7", Some(("01130012", "", "5")), &["03"])],
        &[patient("7", Some("06139999::12:"))],
    );
    assert_eq!(codes_of(&l), vec!["M406"]);
    assert!(l.patches.is_empty());
    assert_eq!(tally(&l)["SN"][PAYER_OTHER], 1);
}

#[test]
fn malformed_branch_is_reported_and_not_used() {
    let l = run(
        &[r("7", INS, &["1"])],
        &[patient("7", Some("06139999::12:"))],
    );
    assert_eq!(codes_of(&l), vec!["M409"]);
    assert!(l.patches.is_empty());
}

#[test]
fn public_payer_identifier_when_the_storage_has_no_insurance() {
    let mut x = r("7", None, &[]);
    x.ko = Some(("12136014", "1234567"));
    let l = run(&[x], &[patient("7", None)]);
    assert_eq!(codes_of(&l), vec!["M407"]);
    let Some(Patch::Identifier { member_id, .. }) = l.patches.get("7") else {
        panic!("{:?}", l.patches)
    };
    assert_eq!(member_id.system, PUBLIC_PAYER_MEMBER_ID);
    assert_eq!(member_id.value, "12136014::1234567:");
    assert_eq!(tally(&l)["KO"][PAYER_GIVES], 1);
}

#[test]
fn latest_month_gives_the_identifier_and_disagreement_withholds() {
    let mut old = r("7", Some(("01130012", "", "5")), &["03"]);
    old.month = "202403";
    let new = r("7", INS, &["01"]);
    let l = run(&[old, new], &[patient("7", None)]);
    let Some(Patch::Identifier { member_id, .. }) = l.patches.get("7") else {
        panic!("{:?}", l.patches)
    };
    assert_eq!(member_id.value, "06139999::12:01");
    let l = run(
        &[r("7", Some(("01130012", "", "5")), &[]), r("7", INS, &[])],
        &[patient("7", None)],
    );
    assert!(matches!(
        l.patches["7"],
        Patch::Withhold { expected: None, .. }
    ));
}

#[test]
fn a_withheld_patient_stays_withheld_and_unchanged() {
    let mut p = patient("7", None);
    p.withheld = true;
    let l = run(&[r("7", INS, &["01"])], &[p]);
    assert!(l.patches.is_empty());
    assert_eq!(l.patients["7"], P_WITHHELD);
}

#[test]
fn every_record_is_accounted_for() {
    let f = file(&[
        r("7", INS, &["01"]),
        r("8", Some(("06139999", "", "99")), &[]),
    ]);
    let l = link(
        &[ReceiptFile { file: "a", uke: &f }],
        &[patient("7", Some("06139999::12:"))],
        KarteZeros::Strip,
    );
    let counted: usize = tally(&l).values().flat_map(|m| m.values()).sum();
    assert_eq!(counted, f.records.len());
    assert_eq!(counted as u64, f.summary.records);
    let t = tally(&l);
    assert_eq!(t["IR"][IR], 1);
    assert_eq!(t["GO"][GO], 1);
    assert_eq!(t["SY"][SY_LINKED], 1);
    assert_eq!(t["SY"][SY_UNLINKED], 1);
    assert_eq!(t["SI"][DETAIL], 1);
}

fn bytes(receipts: &[R<'_>]) -> Vec<u8> {
    let f = file(receipts);
    let mut text: Vec<String> = f
        .records
        .iter()
        .map(|r| r.record.text().to_owned())
        .collect();
    text.push(String::new());
    let mut b = text.join("\r\n").into_bytes();
    b.push(0x1a);
    b
}

proptest::proptest! {
    /// Damaged files (a byte changed, the end cut off) never panic the linker, and every
    /// record the parser read gets exactly one fate.
    #[test]
    fn damaged_files_are_still_accounted_for(
        pos in 0usize..2000,
        byte in proptest::prelude::any::<u8>(),
        cut in 0usize..2000,
    ) {
        let mut b = bytes(&[
            r("7", INS, &["01"]),
            r("7", INS, &["02"]),
            r("", Some(("  133066", "あ", "１２")), &["03"]),
        ]);
        if !b.is_empty() {
            let i = pos % b.len();
            b[i] = byte;
            b.truncate(b.len() - cut % b.len());
        }
        let f = parsers::uke::parse(&b);
        let l = link(
            &[ReceiptFile { file: "x", uke: &f }],
            &[patient("7", Some("06139999::12:")), patient("8", Some("00133066:あ:12:"))],
            KarteZeros::Strip,
        );
        let counted: usize = tally(&l).values().flat_map(|m| m.values()).sum();
        proptest::prop_assert_eq!(counted, f.records.len());
    }
}
