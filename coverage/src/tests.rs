#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

use super::*;
use crate::extract::{Recorder, Setting, count_message, count_receipts};
use crate::frame::{analyse, csv, parquet, render};
use diagnostics::Diagnostics;
use terminologies::{Equivalence, Row as TRow, SourceKey, Status as TStatus};

const LAB: &str = "urn:kakehashi:local:demo:99X03";
const GENDER: &str = "http://terminology.hl7.org/CodeSystem/v2-0001";

fn row(id: &str, key: SourceKey, target: &str, eq: Equivalence, status: TStatus) -> TRow {
    TRow {
        id: id.into(),
        source: key,
        target_system: if target.is_empty() {
            String::new()
        } else {
            "http://medis.or.jp/CodeSystem/master-JLAC10-17digits".into()
        },
        target_code: target.into(),
        equivalence: Some(eq),
        status,
        ..TRow::default()
    }
}

fn table(id: &str, system: &str, rows: Vec<TRow>) -> Table {
    let mut t = Table::default();
    t.meta.id = id.into();
    t.meta.version = "1".into();
    t.meta.source_system = system.into();
    t.rows = rows;
    t
}

fn spec(code: &str, specimen: &str) -> SourceKey {
    SourceKey {
        specimen: specimen.into(),
        ..SourceKey::code(code)
    }
}

/// A lab table with one approved, one unreviewed, one reviewed no-match row; an
/// empty gender table.
fn tables() -> Vec<Table> {
    use Equivalence::*;
    vec![
        table(
            "lab",
            LAB,
            vec![
                row(
                    "r1",
                    spec("100", "01"),
                    "3A010000002327101",
                    Equivalent,
                    TStatus::Approved,
                ),
                row(
                    "r2",
                    spec("200", "01"),
                    "3J010000002327101",
                    Equivalent,
                    TStatus::Unreviewed,
                ),
                row(
                    "r3",
                    SourceKey::code("300"),
                    "",
                    Unmatched,
                    TStatus::Approved,
                ),
            ],
        ),
        table("gender", GENDER, vec![]),
    ]
}

fn q<'a>(system: &'a str, code: &'a str, specimen: &'a str) -> Query<'a> {
    Query {
        system,
        code,
        specimen,
        ..Query::default()
    }
}

/// Counts with a known answer: 100/01 ×5 (mapped), 200/01 ×3 (draft), 300 ×2
/// (no match by review), 400/01 ×3 and 500 ×3 (unmapped, tied), gender F ×7
/// (unmapped, table without rows), and a system no table covers ×1.
fn counted() -> Counter {
    let mut c = Counter::default();
    let adds: &[(&str, &str, &str, u64, Source)] = &[
        (LAB, "100", "01", 4, Source::Ssmix2),
        (LAB, "100", "01", 1, Source::Receipt),
        (LAB, "500", "", 3, Source::Ssmix2),
        (LAB, "200", "01", 3, Source::Ssmix2),
        (LAB, "300", "", 2, Source::Ssmix2),
        (LAB, "400", "01", 3, Source::Ssmix2),
        (GENDER, "F", "", 7, Source::Ssmix2),
        ("urn:x", "9", "", 1, Source::Receipt),
    ];
    for &(s, code, sp, n, src) in adds {
        for i in 0..n {
            let ctx = if src == Source::Receipt {
                "UKE SY"
            } else {
                "OML-11"
            };
            let display = if i == 1 { "second" } else { "" };
            c.add(&q(s, code, sp), src, ctx, display);
        }
    }
    c
}

#[test]
fn counter_counts_each_key_once_with_sources_contexts_and_first_display() {
    let c = counted();
    assert_eq!(c.len(), 7);
    assert_eq!(c.occurrences(), 24);
    let e = &c.entries()[0];
    assert_eq!((e.code.as_str(), e.ssmix2, e.receipts), ("100", 4, 1));
    assert_eq!(c.seen_in(e), "OML-11+UKE SY");
    // The first non-empty display wins; an empty one never overwrites it.
    assert_eq!(e.display, "second");
    let mut c2 = c.clone();
    c2.set_display(&q(LAB, "100", "01"), "later");
    assert_eq!(c2.entries()[0].display, "second");
    c2.set_display(&q("urn:x", "9", ""), "named");
    assert_eq!(c2.entries()[6].display, "named");
    // Specimen is a key part: the same code with another specimen is another key.
    c2.add(&q(LAB, "100", "02"), Source::Ssmix2, "OML-11", "");
    assert_eq!(c2.len(), 8);
}

#[test]
fn classify_tells_mapped_draft_reviewed_no_match_and_unmapped_apart() {
    let t = tables();
    let rows = classify(&counted(), &Index::new(&t), &t);
    let status: Vec<(&str, Status, &str)> = rows
        .iter()
        .map(|r| (r.key.code.as_str(), r.status, r.table.as_str()))
        .collect();
    assert_eq!(
        status,
        vec![
            ("100", Status::Mapped, "lab"),
            ("500", Status::Unmapped, "lab"),
            ("200", Status::Draft, "lab"),
            ("300", Status::UnmatchedByReview, "lab"),
            ("400", Status::Unmapped, "lab"),
            ("F", Status::Unmapped, "gender"),
            ("9", Status::Unmapped, ""),
        ]
    );
    assert_eq!(rows[0].lineage, "lab@1#r1");
    assert_eq!(rows[0].target_code, "3A010000002327101");
    // A draft row names its (unreviewed) target too.
    assert_eq!(rows[2].lineage, "lab@1#r2");
}

#[test]
fn summary_is_per_table_and_frequency_weighted() {
    let t = tables();
    let a = analyse(&classify(&counted(), &Index::new(&t), &t)).unwrap();
    let lines: Vec<(&str, &str, u64, u64)> = a
        .summary
        .iter()
        .map(|s| (s.table.as_str(), s.system.as_str(), s.codes, s.occurrences))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("", "urn:x", 1, 1),
            ("gender", GENDER, 1, 7),
            ("lab", LAB, 5, 16),
        ]
    );
    let lab = &a.summary[2];
    // (codes, occurrences): mapped, draft, no-match, unmapped.
    assert_eq!(lab.by_status, [(1, 5), (1, 3), (1, 2), (2, 6)]);
    // 5 of 16 occurrences mapped: 31.2 %.
    assert_eq!(lab.per_mille(Status::Mapped), 312);
    assert_eq!(a.summary[1].per_mille(Status::Unmapped), 1000);
}

#[test]
fn worklist_is_unmapped_only_most_frequent_first_ties_by_key() {
    let t = tables();
    let a = analyse(&classify(&counted(), &Index::new(&t), &t)).unwrap();
    let text = String::from_utf8(csv(&a.worklist).unwrap()).unwrap();
    // Empty strings are quoted (`""`): polars keeps them apart from nulls.
    let want = "occurrences,system,code,specimen,unit,text,display,table,seen_in\n\
                7,http://terminology.hl7.org/CodeSystem/v2-0001,F,\"\",\"\",\"\",second,gender,OML-11\n\
                3,urn:kakehashi:local:demo:99X03,400,01,\"\",\"\",second,lab,OML-11\n\
                3,urn:kakehashi:local:demo:99X03,500,\"\",\"\",\"\",second,lab,OML-11\n\
                1,urn:x,9,\"\",\"\",\"\",\"\",\"\",UKE SY\n";
    assert_eq!(text, want);
}

#[test]
fn coverage_frame_is_sorted_by_table_then_frequency_and_written_deterministically() {
    let t = tables();
    let rows = classify(&counted(), &Index::new(&t), &t);
    let a = analyse(&rows).unwrap();
    let text = String::from_utf8(csv(&a.coverage).unwrap()).unwrap();
    let codes: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    // No table first; then by table; within a table most frequent first, ties by code.
    assert_eq!(codes, ["9", "F", "100", "200", "400", "500", "300"]);
    // Same rows in another order: same bytes, CSV and Parquet.
    let mut reversed = rows.clone();
    reversed.reverse();
    let b = analyse(&reversed).unwrap();
    assert_eq!(csv(&b.coverage).unwrap(), csv(&a.coverage).unwrap());
    let (p1, p2) = (parquet(&a.coverage).unwrap(), parquet(&b.coverage).unwrap());
    assert_eq!(p1, p2);
    assert!(p1.starts_with(b"PAR1") && p1.ends_with(b"PAR1"));
}

#[test]
fn render_shows_tables_total_and_top_unmapped() {
    let t = tables();
    let a = analyse(&classify(&counted(), &Index::new(&t), &t)).unwrap();
    let s = render(&a, 2);
    assert!(s.contains("(no table) urn:x"), "{s}");
    let total = s.lines().find(|l| l.starts_with("total")).unwrap();
    assert!(total.contains(" 24 ") && total.contains("20.8%"), "{total}");
    assert!(s.contains("unmapped worklist: 4 codes, the 2 most frequent:"));
    assert!(s.contains("400 specimen=01"));
    assert!(!s.contains("  500  "), "{s}");
}

#[test]
fn empty_input_gives_empty_outputs_not_errors() {
    let a = analyse(&[]).unwrap();
    assert!(a.summary.is_empty());
    assert_eq!(
        String::from_utf8(csv(&a.worklist).unwrap()).unwrap(),
        "occurrences,system,code,specimen,unit,text,display,table,seen_in\n"
    );
    assert!(parquet(&a.coverage).unwrap().starts_with(b"PAR1"));
}

fn setting_config() -> mappers::config::SiteConfig {
    mappers::config::SiteConfig::parse(
        "[site]\ninstitution_number = \"2213456789\"\nname = \"demo\"\n",
    )
    .unwrap()
}

#[test]
fn ssmix2_counts_what_the_mappers_look_up_and_prescribed_drugs() {
    let cfg = setting_config();
    let sets = mappers::LabSets::default();
    let set = Setting {
        config: &cfg,
        lab_sets: &sets,
        as_of: "20111231",
    };
    let t = tables();
    let index = Index::new(&t);
    let rec = Recorder::new(&index);
    let adt = parsers::hl7::Hl7File::parse_str(
        "MSH|^~\\&|||||||ADT^A08|1|P|2.5\rPID|1||42^^^^PI||山田^太郎^^^^^L^I||19650415|F\r",
    );
    let tally = count_message(
        &rec,
        set,
        "a",
        "42",
        "ADT-00",
        adt.messages().next().unwrap(),
    );
    assert!(!tally.skipped);
    let omp = parsers::hl7::Hl7File::parse_str(
        "MSH|^~\\&|||||||RDE^O11|2|P|2.5\rPID|1||42\rORC|NW\rRXE||103835401^ノルバスク錠５ｍｇ^HOT9\r",
    );
    let tally = count_message(
        &rec,
        set,
        "b",
        "42",
        "OMP-01",
        omp.messages().next().unwrap(),
    );
    assert_eq!(tally.keys, 1);
    let other = parsers::hl7::Hl7File::parse_str("MSH|^~\\&|||||||ADT^A04|3|P|2.5\rPID|1||42\r");
    let tally = count_message(
        &rec,
        set,
        "c",
        "42",
        "ADT-12",
        other.messages().next().unwrap(),
    );
    assert!(tally.skipped);
    let c = rec.into_counter();
    let keys: Vec<(&str, &str, &str)> = c
        .entries()
        .iter()
        .map(|e| (e.system.as_str(), e.code.as_str(), e.display.as_str()))
        .collect();
    assert!(keys.contains(&(GENDER, "F", "")), "{keys:?}");
    assert!(
        keys.contains(&(
            "http://medis.or.jp/CodeSystem/master-HOT9",
            "103835401",
            "ノルバスク錠５ｍｇ"
        )),
        "{keys:?}"
    );
}

#[test]
fn receipts_count_disease_modifier_procedure_drug_and_uncoded_names() {
    let ir = "IR,1,13,1,1234567,,テスト医院,202504,00,\r\n";
    let body = "RE,1,1112,202504,テスト　太郎,1,19700101,,,,,,,,,,,,,,,,,,\r\n\
                HO,06139999,１,２,,,,,,,,\r\n\
                SY,3721002,20250401,1,8002,,01,\r\n\
                SY,0000999,20250401,1,,謎の病気,,\r\n\
                SY,,20250401,1,,,,\r\n\
                SI,11,1,111000110,,288,1,,,,,,,\r\n\
                IY,21,1,620098401,1,10,1,,,,,,,\r\n\
                IY,21,1,620098401,1,10,1,,,,,,,\r\n\
                GO,1,288,99\r\n\u{1a}";
    let text = format!("{ir}{body}");
    let bytes = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    let mut c = Counter::default();
    let mut diags = Diagnostics::default();
    let tally = count_receipts(&bytes, &mut c, &mut diags);
    assert_eq!(tally.records, 10);
    let got: Vec<(&str, &str, &str, u64)> = c
        .entries()
        .iter()
        .map(|e| {
            (
                e.system.as_str(),
                e.code.as_str(),
                e.text.as_str(),
                e.receipts,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (extract::RECEIPT_DISEASE, "3721002", "", 1),
            (extract::RECEIPT_MODIFIER, "8002", "", 1),
            (extract::RECEIPT_DISEASE, "", "謎の病気", 1),
            (extract::RECEIPT_PROCEDURE, "111000110", "", 1),
            (extract::RECEIPT_DRUG, "620098401", "", 2),
        ]
    );
    let ids: Vec<&str> = diags
        .iter()
        .map(|d| d.code.id)
        .filter(|id| id.starts_with('A'))
        .collect();
    assert_eq!(ids, ["A002", "A001"]);
}
