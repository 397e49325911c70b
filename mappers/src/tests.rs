//! Golden-style tests over the NHO sample storage: each message's intermediate
//! records and diagnostics are compared with `mappers/testdata/nho-sample/*.txt`
//! (regenerate with `UPDATE_EXPECT=1 cargo test -p mappers`, then review), plus
//! targeted assertions on the facts that matter.

use super::*;
use crate::config::SiteConfig;
use crate::record::{LabKind, Submission, Tag, Value};
use diagnostics::RenderOptions;
use parsers::hl7::Hl7File;
use terminologies::lookup::Index;

mod prescriptions;

const ADT00: &str =
    "999/901/9999013/-/ADT-00/9999013_-_ADT-00_999999999999999_20111220224447339_-_1";
const ADT61: &str =
    "999/901/9999013/-/ADT-61/9999013_-_ADT-61_999999999999999_20111014232213000_-_1";
const PPR01: &str =
    "999/901/9999013/-/PPR-01/9999013_-_PPR-01_999999999999999_20111209163030000_01_1";
const OML11: &str = "999/901/9999013/20111220/OML-11/9999013_20111220_OML-11_000000011000354_20111220103059000_01_1";

/// The IG packages beside the repository (tests need `../shared`).
fn shared_profiles() -> std::path::PathBuf {
    crate::shared("fhir-profiles")
}

fn repo() -> std::path::PathBuf {
    testkit::repository()
}

/// The NHO SS-MIX2 sample storage (in `../shared`).
fn sample_root() -> std::path::PathBuf {
    crate::shared("data/ssmix2-nho-sample/sampleData")
}

fn tables(names: &[&str]) -> Index {
    let ts: Vec<_> = names
        .iter()
        .map(|n| {
            let bytes =
                std::fs::read(repo().join("tables").join(format!("{n}.sssom.tsv"))).unwrap();
            let (t, d) = terminologies::table::parse_sssom(&bytes);
            assert!(!d.has_errors(), "{n}: {d:?}");
            t
        })
        .collect();
    Index::new(&ts)
}

fn demo_tables() -> Index {
    tables(&[
        "medis-disease-crosswalk",
        "nho-sample-lab-99X03",
        "nho-sample-specimen-99Z01",
        "nho-sample-allergen-jc10",
        "nho-sample-drug-hot9",
        "table-v2-0001-to-administrativegender",
        "table-v2-0004-to-v3-actcode",
        "table-v2-0482-to-v3-actcode",
        "table-v2-0127-to-allergyintolerancecategory",
        "table-v2-0128-to-reactioneventseverity",
    ])
}

fn config(extra: &str) -> SiteConfig {
    let base = std::fs::read_to_string(repo().join("kakehashi.toml")).unwrap();
    let text = if extra.is_empty() {
        base
    } else {
        base.replace("allow_unreviewed = false", extra)
    };
    SiteConfig::parse(&text).unwrap()
}

/// The JP-CLINS 1.5.2 lab sets (loaded once, from ../shared).
fn lab_sets() -> &'static LabSets {
    static SETS: std::sync::OnceLock<LabSets> = std::sync::OnceLock::new();
    SETS.get_or_init(|| {
        let tgz =
            std::fs::read(shared_profiles().join("jp-clins/jp-clins.r4-1.5.2-snap.tgz")).unwrap();
        let pkg = fhir::package::Package::from_tgz(&tgz).unwrap();
        let (sets, d) = LabSets::from_package(&pkg);
        assert!(d.is_empty(), "{d:?}");
        sets
    })
}

fn parse(rel: &str) -> Hl7File {
    Hl7File::parse(&std::fs::read(sample_root().join(rel)).unwrap())
}

fn folder_id(rel: &str) -> &str {
    rel.split('/').nth(2).unwrap_or("")
}

/// Runs `f` over the message and renders records + diagnostics + worklist.
fn run<T: std::fmt::Debug>(
    rel: &str,
    cfg: &SiteConfig,
    terms: &Index,
    f: impl Fn(&Context<'_>, &Input<'_>, &mut Findings) -> T,
) -> (T, Findings, String) {
    let file = parse(rel);
    let sets = lab_sets();
    let ctx = Context {
        config: cfg,
        terms,
        lab_sets: sets,
        as_of: "20111231",
    };
    let msg = file.messages().next().unwrap();
    let input = Input {
        file: rel,
        folder_patient_id: folder_id(rel),
        message: msg,
    };
    let mut sink = Findings::default();
    let out = f(&ctx, &input, &mut sink);
    let mut text = format!("{out:#?}\n-- diagnostics\n");
    for d in sink.diagnostics.iter() {
        text.push_str(&d.render_human(RenderOptions::default()));
        text.push('\n');
    }
    text.push_str("-- worklist\n");
    for w in sink.worklist.items() {
        text.push_str(&format!(
            "{} {:?} {} x{}\n",
            w.system, w.key, w.display, w.count
        ));
    }
    (out, sink, text)
}

fn expect(name: &str, actual: &str) {
    let path = repo()
        .join("mappers/testdata/nho-sample")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name}: output differs from {} (UPDATE_EXPECT=1 to regenerate)\n{actual}",
        path.display()
    );
}

fn codes_of(sink: &Findings) -> Vec<&'static str> {
    sink.diagnostics.iter().map(|d| d.code.id).collect()
}

#[test]
fn patient_from_adt00() {
    let cfg = config("");
    let t = demo_tables();
    let (p, sink, text) = run(ADT00, &cfg, &t, patient::map);
    expect("patient-adt00", &text);
    let p = p.unwrap();
    assert_eq!(p.local_id, "9999013");
    assert_eq!(p.birth_date.as_deref(), Some("1948-04-05"));
    assert_eq!(p.names.len(), 2);
    assert_eq!(
        (p.names[0].representation, p.names[0].text.as_str()),
        ("IDE", "患者 太郎")
    );
    assert_eq!(
        (p.names[1].representation, p.names[1].text.as_str()),
        ("SYL", "カンジャ タロウ")
    );
    let a = p.address.unwrap();
    assert_eq!(a.postal_code, "422-8033");
    // IN1 67999991 (8 digits), 記号・番号 empty: warning, identifier still formed.
    assert_eq!(p.member_id.unwrap().value, "67999991:::");
    assert!(codes_of(&sink).contains(&"M013"));
    // The reviewed 0001 table maps PID-8 `M`, with its row as lineage.
    assert_eq!(p.gender.as_deref(), Some("male"));
    assert!(!codes_of(&sink).contains(&"M016"));
    assert!(sink.worklist.items().is_empty());
}

#[test]
fn patient_with_unreviewed_tables_gets_gender_as_a_draft() {
    let cfg = config("allow_unreviewed = true");
    // The shipped gender table is reviewed: make an unreviewed copy.
    let bytes =
        std::fs::read(repo().join("tables/table-v2-0001-to-administrativegender.sssom.tsv"))
            .unwrap();
    let text = String::from_utf8(bytes)
        .unwrap()
        .replace("\tapproved\t", "\tunreviewed\t");
    let (table, d) = terminologies::table::parse_sssom(text.as_bytes());
    assert!(!d.has_errors(), "{d:?}");
    let t = Index::new(&[table]);
    let (p, sink, _) = run(ADT00, &cfg, &t, patient::map);
    assert_eq!(p.unwrap().gender.as_deref(), Some("male"));
    assert!(codes_of(&sink).contains(&"M021"));
}

#[test]
fn patient_id_policy_and_mismatch() {
    let t = demo_tables();
    // The sample's ADT-61 PID-3 is 12345678 while the folder is 9999013.
    let cfg = config("");
    let (p, sink, _) = run(ADT61, &cfg, &t, patient::map);
    assert_eq!(p.unwrap().local_id, "9999013");
    assert_eq!(codes_of(&sink).iter().filter(|c| **c == "M010").count(), 1);
    let mut cfg = config("");
    cfg.policy.patient_id = config::PatientIdSource::Pid3;
    let (p, _, _) = run(ADT61, &cfg, &t, patient::map);
    assert_eq!(p.unwrap().local_id, "12345678");
}

fn adt(in1: &str) -> Hl7File {
    Hl7File::parse_str(&format!(
        "MSH|^~\\&|||||||ADT^A08|1|P|2.5\rPID|1||42^^^^PI||山田　^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19650415|F|||^^^^100-0001^JPN^H^東京都千代田区\r{in1}"
    ))
}

/// Runs one mapper over the first message of an inline fixture (file "x",
/// folder patient 42, as of 2011-12-31).
fn map_inline<T>(
    file: &Hl7File,
    cfg: &SiteConfig,
    terms: &Index,
    lab_sets: &LabSets,
    f: impl Fn(&Context<'_>, &Input<'_>, &mut Findings) -> T,
) -> (T, Findings) {
    let ctx = Context {
        config: cfg,
        terms,
        lab_sets,
        as_of: "20111231",
    };
    let input = Input {
        file: "x",
        folder_patient_id: "42",
        message: file.messages().next().unwrap(),
    };
    let mut sink = Findings::default();
    (f(&ctx, &input, &mut sink), sink)
}

fn patient_of(file: &Hl7File, cfg: &SiteConfig) -> (record::PatientRecord, Findings) {
    let (p, sink) = map_inline(
        file,
        cfg,
        &Index::new(&[]),
        &LabSets::default(),
        patient::map,
    );
    (p.unwrap(), sink)
}

#[test]
fn insurance_on_the_as_of_date() {
    let mut cfg = config("");
    // Two IN1: the expired one is ignored; 6-digit 国保 padded to 8.
    let f = adt(
        "IN1|1|01^^JHSD0001|01130012|||||||記号|番号|20000101|20101231\rIN1|2|67^^JHSD0001|138057|||||||１２|３４５|20110101\r",
    );
    let (p, sink) = patient_of(&f, &cfg);
    assert_eq!(p.member_id.unwrap().value, "00138057:１２:３４５:");
    assert_eq!(p.submission, Some(Submission::Submit));
    // R1113: the full-width space in the family name is removed and reported.
    assert_eq!(p.names[0].text, "山田 太郎");
    assert!(codes_of(&sink).contains(&"M015"));

    // A birth time is cut to the date; a bad birth date is reported with its excerpt masked.
    let f = Hl7File::parse_str(&adt("").text().replace("19650415", "196504150830"));
    assert_eq!(
        patient_of(&f, &cfg).0.birth_date.as_deref(),
        Some("1965-04-15")
    );
    let f = Hl7File::parse_str(&adt("").text().replace("19650415", "19651315"));
    let (p, sink) = patient_of(&f, &cfg);
    assert_eq!(p.birth_date, None);
    let d = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M017")
        .unwrap();
    assert!(
        !d.render_human(RenderOptions::default())
            .contains("19651315")
    );

    // None valid.
    let f = adt("IN1|1|01^^JHSD0001|01130012|||||||a|b|20000101|20101231\r");
    let (p, sink) = patient_of(&f, &cfg);
    assert!(p.member_id.is_none());
    assert!(matches!(p.submission, Some(Submission::Withheld(_))));
    assert!(codes_of(&sink).contains(&"M011"));

    // Malformed insurer number.
    let f = adt("IN1|1|01^^JHSD0001|1130012|||||||a|b\r");
    let (p, sink) = patient_of(&f, &cfg);
    assert!(p.member_id.is_none());
    assert!(codes_of(&sink).contains(&"M012"));
    // The insurer number is PHI: masked in the rendering.
    let r = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M012")
        .unwrap()
        .render_human(RenderOptions::default());
    assert!(!r.contains("1130012"), "{r}");

    // 自費 by the site's plan-type list, and by a missing insurer number.
    cfg.policy.self_pay_plan_types = vec!["ZZ".into()];
    for in1 in ["IN1|1|ZZ^自費^JHSD0001|01130012\r", "IN1|1|01^^JHSD0001|\r"] {
        let (p, sink) = patient_of(&adt(in1), &cfg);
        assert!(
            matches!(p.submission, Some(Submission::Withheld(r)) if r.contains("自費")),
            "{in1}"
        );
        assert!(codes_of(&sink).contains(&"M014"));
    }

    // 生活保護: IN1-3 is a 公費負担者番号 of 法別番号 12, not an insurer: never made
    // into a JP_Insurance_memberID (R1012), withheld with the reason.
    let (p, sink) = patient_of(&adt("IN1|1|01^^JHSD0001|12130011|||||||a|b\r"), &cfg);
    assert!(p.member_id.is_none());
    assert!(
        matches!(p.submission, Some(Submission::Withheld(r)) if r.contains("生活保護") && r.contains("R1012"))
    );
    assert!(codes_of(&sink).contains(&"M018"));
    let r = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M018")
        .unwrap()
        .render_human(RenderOptions::default());
    assert!(r.contains("IN1-3") && !r.contains("12130011"), "{r}");
    // an insurer whose number merely starts 12 but has 6 digits is a 国保 insurer
    let (p, _) = patient_of(&adt("IN1|1|01^^JHSD0001|121234|||||||a|b\r"), &cfg);
    assert!(p.member_id.is_some());
}

#[test]
fn patient_from_ppr01_reads_zi1() {
    let cfg = config("");
    let t = demo_tables();
    // ZI1-3 is `1130012` (7 digits) in the sample: reported, no identifier formed.
    let (p, sink, _) = run(PPR01, &cfg, &t, patient::map);
    let p = p.unwrap();
    assert!(p.member_id.is_none());
    assert!(codes_of(&sink).contains(&"M012"));
    // A well-formed ZI1 is read like IN1.
    let f = adt("ZI1|1|01^^JHSD0001|01130012|||||||123456|11010203|20110901|20120831\r");
    let (p, _) = patient_of(&f, &cfg);
    assert_eq!(p.member_id.unwrap().value, "01130012:123456:11010203:");
}

#[test]
fn condition_from_ppr01() {
    let cfg = config("");
    let t = demo_tables();
    let (cs, sink, text) = run(PPR01, &cfg, &t, condition::map);
    expect("condition-ppr01", &text);
    assert_eq!(cs.len(), 1);
    let c = &cs[0];
    let systems: Vec<(&str, &str)> = c
        .code
        .coding
        .iter()
        .map(|x| (x.system.as_str(), x.code.as_str()))
        .collect();
    assert_eq!(
        systems,
        [
            (uri::MEDIS_KEY, "20054174"),
            (uri::MEDIS_EX, "TSQF"),
            (uri::ICD10, "K297")
        ]
    );
    // Table rows are traced.
    assert_eq!(
        c.code.coding_of(uri::ICD10).unwrap().table_row.as_deref(),
        Some("medis-disease-crosswalk@1#r00001")
    );
    assert_eq!(
        c.code.coding_of(uri::ICD10).unwrap().display,
        "胃炎，詳細不明"
    );
    assert_eq!(c.code.text, "胃炎");
    assert_eq!(c.onset.as_deref(), Some("2011-08-31"));
    assert_eq!(c.recorded.as_deref(), Some("2011-08-31"));
    assert_eq!(c.clinical_status, Some("active"));
    assert_eq!(c.abatement, None, "N 回復せず: still active, no abatement");
    assert!(c.principal);
    assert_eq!(c.verification, "confirmed");
    assert_eq!(c.tags, [Tag::Uninformed]);
    assert_eq!(c.submission, Some(Submission::Submit));
    // ORC-17 `01^内科^MML028`: the site's department map is keyed by the code.
    assert_eq!(c.department.as_ref().map(|d| d.code.as_str()), Some("01"));
    assert!(codes_of(&sink).contains(&"M035"));
}

/// A segment from (field number, value) pairs.
fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let n = fields.iter().map(|f| f.0).max().unwrap_or(0);
    let mut v = vec![""; n + 1];
    v[0] = id;
    for (i, x) in fields {
        v[*i] = x;
    }
    v.join("|")
}

fn ppr(prb: impl std::fmt::Display, zpr: impl std::fmt::Display) -> Hl7File {
    Hl7File::parse_str(&format!(
        "MSH|^~\\&|||||||PPR^ZD1|1|P|2.5\rPID|1||42^^^^PI\r{prb}\r{zpr}\rORC|NW|1{}|01^内科^99XY1\r",
        "|".repeat(14)
    ))
}

fn conditions_of(
    file: &Hl7File,
    cfg: &SiteConfig,
    t: &Index,
) -> (Vec<record::ConditionRecord>, Findings) {
    map_inline(file, cfg, t, &LabSets::default(), condition::map)
}

#[test]
fn condition_rules() {
    let cfg = config("");
    let t = demo_tables();
    // 未コード化傷病名 → all-9 keyNumber (the crosswalk adds レセ電 0000999), resolved with abatement.
    let f = ppr(
        "PRB|AD|20110915|20084317^未コード化傷病名^MDCDX2|1|||20110831|||||||F^治癒^HL70241|20111001|20110801|めずらしい病気",
        "ZPR|8002^の疑い^MDCDX2||||||",
    );
    let (cs, sink) = conditions_of(&f, &cfg, &t);
    let c = &cs[0];
    assert_eq!(c.code.coding[0].code, "99999999");
    assert!(
        c.code
            .coding
            .iter()
            .any(|x| x.system == uri::RECEIPT_DISEASE && x.code == "0000999")
    );
    assert_eq!(c.code.text, "めずらしい病気");
    assert_eq!(c.clinical_status, Some("resolved"));
    assert_eq!(c.abatement.as_deref(), Some("2011-10-01"));
    assert!(codes_of(&sink).contains(&"M033"));
    assert_eq!(c.prefix_modifiers.len(), 1);
    assert_eq!(c.prefix_modifiers[0].coding[0].system, uri::MEDIS_MOD_KEY);
    // Department from ORC-17 through the site map.
    assert_eq!(
        c.department.as_ref().map(|d| d.display.as_str()),
        Some("内科")
    );

    // Suspected: PRB-13 set → unconfirmed and withheld.
    let f = ppr(
        seg(
            "PRB",
            &[
                (1, "AD"),
                (3, "20054174^胃炎^MDCDX2"),
                (4, "2"),
                (13, "U^疑い"),
                (16, "20110801"),
            ],
        ),
        "",
    );
    let (cs, sink) = conditions_of(&f, &cfg, &t);
    assert_eq!(cs[0].verification, "unconfirmed");
    assert!(matches!(cs[0].submission, Some(Submission::Withheld(_))));
    assert!(codes_of(&sink).contains(&"M030"));

    // Deleted.
    let f = ppr(
        seg(
            "PRB",
            &[
                (1, "DE"),
                (3, "20054174^胃炎^MDCDX2"),
                (4, "3"),
                (16, "20110801"),
            ],
        ),
        "",
    );
    let (cs, _) = conditions_of(&f, &cfg, &t);
    assert_eq!(cs[0].verification, "entered-in-error");
    assert_eq!(cs[0].clinical_status, None);

    // No onset: withheld (R9013C).
    let f = ppr(
        seg("PRB", &[(1, "AD"), (3, "20054174^胃炎^MDCDX2"), (4, "4")]),
        "",
    );
    let (cs, sink) = conditions_of(&f, &cfg, &t);
    assert!(codes_of(&sink).contains(&"M034"));
    assert!(matches!(cs[0].submission, Some(Submission::Withheld(_))));

    // A local code no table maps: kept, all-9 keyNumber, M020 + worklist.
    let f = ppr(
        seg(
            "PRB",
            &[
                (1, "AD"),
                (3, "99001^謎の病^99XYZ"),
                (4, "5"),
                (16, "20110801"),
            ],
        ),
        "",
    );
    let (cs, sink) = conditions_of(&f, &cfg, &t);
    assert_eq!(cs[0].code.coding[0].code, "99999999");
    assert!(
        cs[0]
            .code
            .coding
            .iter()
            .any(|x| x.code == "99001" && x.system == "urn:kakehashi:local:nho-sample:99XYZ")
    );
    assert!(codes_of(&sink).contains(&"M020"));
    assert_eq!(sink.worklist.len(), 1);

    // Claim-only and declared disclosure rules.
    let mut cfg2 = config("");
    cfg2.policy.claim_only = Some(config::FieldRule {
        segment: "ZPR".into(),
        field: 7,
        component: 0,
        values: vec!["保険病名".into()],
    });
    cfg2.policy.disclosure.uninformed = Some(config::FieldRule {
        segment: "PRB".into(),
        field: 25,
        component: 1,
        values: vec!["V".into()],
    });
    cfg2.policy.lts.resource_types = vec!["Condition".into()];
    let f = ppr(
        seg(
            "PRB",
            &[
                (1, "AD"),
                (3, "20054174^胃炎^MDCDX2"),
                (4, "6"),
                (16, "20110801"),
            ],
        ),
        seg("ZPR", &[(7, "保険病名")]),
    );
    let (cs, sink) = conditions_of(&f, &cfg2, &t);
    assert!(matches!(cs[0].submission, Some(Submission::Withheld(r)) if r.contains("保険病名")));
    assert!(codes_of(&sink).contains(&"M031"));
    assert_eq!(
        cs[0].tags,
        [Tag::Lts],
        "no PRB-25 V: not UNINFORMED once the site declares a source"
    );
    let f = ppr(
        seg(
            "PRB",
            &[
                (1, "AD"),
                (3, "20054174^胃炎^MDCDX2"),
                (4, "7"),
                (16, "20110801"),
                (25, "V^非常に限定^HL70177"),
            ],
        ),
        "",
    );
    let (cs, sink) = conditions_of(&f, &cfg2, &t);
    assert_eq!(cs[0].tags, [Tag::Lts, Tag::Uninformed]);
    assert!(!codes_of(&sink).contains(&"M035"));
}

#[test]
fn several_problems_pair_with_their_zpr() {
    let cfg = config("");
    let t = demo_tables();
    let f = Hl7File::parse_str(&format!(
        "MSH|^~\\&|||||||PPR^ZD1|1|P|2.5\rPID|1||42^^^^PI\r{}\r{}\r{}\r",
        seg(
            "PRB",
            &[
                (1, "AD"),
                (3, "20054174^胃炎^MDCDX2"),
                (4, "A"),
                (16, "20110801")
            ]
        ),
        seg(
            "PRB",
            &[
                (1, "AD"),
                (3, "20054174^胃炎^MDCDX2"),
                (4, "B"),
                (16, "20110802")
            ]
        ),
        seg("ZPR", &[(3, "1234^急性^MDCDX2"), (6, "AB12^急性^MDCDX2")]),
    ));
    let (cs, _) = conditions_of(&f, &cfg, &t);
    assert_eq!(cs.len(), 2);
    assert!(cs[0].postfix_modifiers.is_empty());
    assert_eq!(cs[1].problem_id, "B");
    let m = &cs[1].postfix_modifiers[0];
    assert_eq!(
        m.coding
            .iter()
            .map(|c| (c.system.as_str(), c.code.as_str()))
            .collect::<Vec<_>>(),
        [(uri::MEDIS_MOD_KEY, "1234"), (uri::MEDIS_MOD_EX, "AB12")]
    );
}

#[test]
fn reporting_window_is_five_years() {
    let mut c = record::ConditionRecord {
        clinical_status: Some("resolved"),
        abatement: Some("2006-12-31".into()),
        ..Default::default()
    };
    assert!(condition::in_reporting_window(&c, "20111231"));
    c.abatement = Some("2006-12-30T10:00:00+09:00".into());
    assert!(!condition::in_reporting_window(&c, "20111231"));
    c.clinical_status = Some("active");
    assert!(condition::in_reporting_window(&c, "20111231"));
}

#[test]
fn lab_sets_from_the_vendored_clins_package() {
    let tgz = std::fs::read(shared_profiles().join("jp-clins/jp-clins.r4-1.5.2-snap.tgz")).unwrap();
    let pkg = fhir::package::Package::from_tgz(&tgz).unwrap();
    let (sets, d) = LabSets::from_package(&pkg);
    assert!(d.is_empty(), "{d:?}");
    let (core, infection) = sets.len();
    assert!(core > 100 && infection > 50, "{core} {infection}");
    let (kind, c) = sets.lookup("3A015000002327101").unwrap();
    assert_eq!(
        (kind, c.system.as_str(), c.display.as_str()),
        (LabKind::Core, uri::CORE_LABO, "ALB")
    );
    // An infection item: every JLAC10 code of the set is recognised.
    let hbs = sets
        .infection
        .keys()
        .find(|k| k.starts_with("5F016"))
        .unwrap()
        .clone();
    assert_eq!(sets.lookup(&hbs).unwrap().0, LabKind::Infection);
    assert!(
        sets.lookup("3A016000002327102").is_none(),
        "A/G比 is not a set item"
    );
    assert_eq!(sets.versions.len(), 2);

    // A package without the sets (JP Core): reported, empty.
    let tgz = std::fs::read(shared_profiles().join("jp-core/jp-core.r4-1.1.2-url.tgz")).unwrap();
    let other = fhir::package::Package::from_tgz(&tgz).unwrap();
    let (sets, d) = LabSets::from_package(&other);
    assert_eq!(sets.len(), (0, 0));
    assert_eq!(d.iter().filter(|x| x.code.id == "M061").count(), 2);
}

#[test]
fn allergies_from_adt61() {
    let cfg = config("allow_unreviewed = true");
    let t = demo_tables();
    let (al, sink, text) = run(ADT61, &cfg, &t, allergy::map);
    expect("allergy-adt61-draft", &text);
    assert_eq!(al.len(), 4);
    // Pollen → J-FAGY non-food (suggested row: draft), category environment.
    assert_eq!(al[0].code.coding[0].code, "J9NK13320000");
    assert!(al[0].code.coding[0].draft);
    assert_eq!(
        al[0].category.as_ref().map(|c| c.code.as_str()),
        Some("environment")
    );
    assert_eq!(al[0].onset.as_deref(), Some("1996-01"));
    assert_eq!(al[1].code.coding[0].code, "J9FA19140000");
    assert_eq!(al[1].onset, None);
    assert_eq!(al[1].onset_text.as_deref(), Some("小学校低学年の頃"));
    // Drug: HOT9 has no YJ row → dummy D9M with text, criticality high, the HOT9 kept.
    let d = &al[3];
    assert_eq!(d.code.coding[0].code, "D9M000000000");
    assert_eq!(d.code.text, "アリナミン");
    assert_eq!(
        d.code.coding[1].system,
        "http://medis.or.jp/CodeSystem/master-HOT9"
    );
    assert_eq!(d.criticality, Some("high"));
    assert_eq!(
        d.severity.as_ref().map(|c| c.code.as_str()),
        Some("moderate")
    );
    assert_eq!(d.recorded, None);
    assert!(codes_of(&sink).contains(&"M041"));
    // The HOT9 code is on the worklist (its row is unreviewed with no target).
    assert!(
        sink.worklist
            .items()
            .iter()
            .any(|w| w.key.code == "106824501")
    );
}

#[test]
fn allergies_strict_mode_and_policies() {
    let t = demo_tables();
    let cfg = config("");
    let (al, sink, text) = run(ADT61, &cfg, &t, allergy::map);
    expect("allergy-adt61-strict", &text);
    // No approved allergen rows: every allergen gets its dummy; the category comes
    // from the reviewed 0127 table.
    let dummies: Vec<&str> = al.iter().map(|a| a.code.coding[0].code.as_str()).collect();
    assert_eq!(
        dummies,
        [
            "D9N000000000",
            "D9F000000000",
            "D9N000000000",
            "D9M000000000"
        ]
    );
    let cats: Vec<_> = al
        .iter()
        .map(|a| a.category.as_ref().map(|c| c.code.as_str()))
        .collect();
    assert_eq!(
        cats,
        [
            Some("environment"),
            Some("food"),
            Some("environment"),
            Some("medication")
        ]
    );
    assert_eq!(codes_of(&sink).iter().filter(|c| **c == "M040").count(), 0);

    let mut cfg = config("allow_unreviewed = true");
    cfg.policy.criticality = config::Criticality::FromSeverity;
    let (al, _, _) = run(ADT61, &cfg, &t, allergy::map);
    let crit: Vec<Option<&str>> = al.iter().map(|a| a.criticality).collect();
    assert_eq!(crit, [Some("low"), Some("low"), Some("low"), Some("low")]);

    // IAM-6 D: entered-in-error, withheld. AL1 in ADT-00 maps too.
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||ADT^A60|1|P|2.5\rIAM|1|DA^^HL70127|106824501^アリナミン^HOT9|||D^削除^HL70323\r",
    );
    let (al, _) = map_inline(&f, &cfg, &t, &LabSets::default(), allergy::map);
    assert_eq!(al[0].verification, "entered-in-error");
    assert!(matches!(al[0].submission, Some(Submission::Withheld(_))));
    let (al, _, _) = run(ADT00, &cfg, &t, allergy::map);
    assert_eq!(al.len(), 1);
    assert_eq!(al[0].code.text, "ペニシリン");
    assert_eq!(al[0].code.coding[0].code, "D9M000000000");
}

#[test]
fn observations_from_oml11() {
    let cfg = config("");
    let t = demo_tables();
    let (obs, sink, text) = run(OML11, &cfg, &t, observation::map);
    expect("observation-oml11", &text);
    assert_eq!(obs.len(), 3);
    // A/G比: JLAC10 general, outside the default scope.
    assert_eq!(obs[0].kind, LabKind::General);
    assert!(matches!(obs[0].submission, Some(Submission::Withheld(_))));
    assert_eq!(obs[0].code.coding[0].code, "3A016000002327102_023");
    // 総蛋白: core item TP.
    let tp = &obs[1];
    assert_eq!(tp.kind, LabKind::Core);
    assert_eq!(tp.code.coding[0].system, uri::LAB_LOCAL);
    assert_eq!(
        (
            tp.code.coding[1].system.as_str(),
            tp.code.coding[1].display.as_str()
        ),
        (uri::CORE_LABO, "TP")
    );
    assert_eq!(
        tp.value,
        Some(Value::Quantity {
            value: "7.2".into(),
            comparator: None,
            unit: "g/dl".into()
        })
    );
    let r = tp.range.as_ref().unwrap();
    assert_eq!(
        (r.low.as_deref(), r.high.as_deref()),
        (Some("6.70"), Some("8.3"))
    );
    assert_eq!(tp.effective.as_deref(), Some("2011-12-19T15:00:00+09:00"));
    assert_eq!(tp.issued.as_deref(), Some("2011-12-20T10:30:59+09:00"));
    assert_eq!(tp.specimen.as_ref().map(|s| s.code.as_str()), Some("023"));
    assert_eq!(tp.status, "final");
    assert_eq!(tp.order_no, "000000011000354");
    assert_eq!(tp.department.as_ref().map(|d| d.code.as_str()), Some("01"));
    assert_eq!(tp.submission, Some(Submission::Submit));
    // PV1-2 `O` through the reviewed 0004 table: AMB, with its row.
    assert_eq!(codes_of(&sink), ["M051"]);
    assert_eq!(
        tp.encounter_class
            .as_ref()
            .and_then(|c| c.table_row.as_deref()),
        Some("table-v2-0004-to-v3-actcode@1.0#r00001")
    );
    let (obs, _, _) = run(
        OML11,
        &config("allow_unreviewed = true"),
        &t,
        observation::map,
    );
    assert_eq!(
        obs[1].encounter_class.as_ref().map(|c| c.code.as_str()),
        Some("AMB")
    );

    let mut cfg = config("");
    cfg.policy.lab_scope = config::LabScope::All;
    let (obs, _, _) = run(OML11, &cfg, &t, observation::map);
    assert!(obs.iter().all(|o| o.submission == Some(Submission::Submit)));
}

#[test]
fn order_details_of_oml01_keep_local_codes_and_are_not_results() {
    const OML01: &str = "999/901/9999013/20111220/OML-01/9999013_20111220_OML-01_000000011000354_20111220103059123_15_1";
    let cfg = config("");
    let t = demo_tables();
    let (obs, _, text) = run(OML01, &cfg, &t, observation::map);
    expect("observation-oml01-orders", &text);
    assert_eq!(obs.len(), 7);
    let local: Vec<&str> = obs.iter().map(|o| o.code.coding[0].code.as_str()).collect();
    assert_eq!(
        local,
        [
            "10222_01", "10213_01", "10207_01", "10206_01", "30046_04", "30058_04", "30066_04"
        ]
    );
    // ＰＴ is sent with a 15-character "JLAC10" and its table row is invalid-target: uncoded.
    assert_eq!(obs[4].kind, LabKind::Uncoded);
    assert_eq!(obs[0].kind, LabKind::Core);
    assert!(
        obs.iter()
            .all(|o| o.status == "registered"
                && matches!(o.submission, Some(Submission::Withheld(_))))
    );
}

#[test]
fn every_sample_message_is_mapped_or_skipped_with_a_reason() {
    let cfg = config("");
    let t = demo_tables();
    let mut files = Vec::new();
    let mut stack = vec![sample_root()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut lines = Vec::new();
    for p in &files {
        let rel = p
            .strip_prefix(sample_root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Some(name) = parsers::ssmix2::FileName::parse(
            rel.rsplit('/').next().unwrap(),
            &mut diagnostics::Diagnostics::default(),
        ) else {
            continue;
        };
        let file = Hl7File::parse(&std::fs::read(p).unwrap());
        for msg in file.messages() {
            let input = Input {
                file: &rel,
                folder_patient_id: &name.patient_id,
                message: msg,
            };
            let mut sink = Findings::default();
            let sets = lab_sets();
            let ctx = Context {
                config: &cfg,
                terms: &t,
                lab_sets: sets,
                as_of: "20111231",
            };
            let m = message::map(&ctx, &input, &name.data_type, &mut sink);
            let produced = usize::from(m.patient.is_some())
                + m.conditions.len()
                + m.allergies.len()
                + m.observations.len()
                + m.medications.len();
            assert!(
                produced > 0 || m.skipped.is_some(),
                "{rel}: nothing mapped and no reason"
            );
            lines.push(format!(
                "{rel}: patient {} conditions {} allergies {} observations {} medications {} skipped {:?}",
                u8::from(m.patient.is_some()),
                m.conditions.len(),
                m.allergies.len(),
                m.observations.len(),
                m.medications.len(),
                m.skipped
            ));
        }
    }
    expect("messages", &(lines.join("\n") + "\n"));
}

fn oul(spm: &str, obx: &str) -> Hl7File {
    Hl7File::parse_str(&format!(
        "MSH|^~\\&|||||||OUL^R22|1|P|2.5\rPID|1||42^^^^PI\rPV1|1|O\r{spm}\rOBR|1|0001|0002|E001^^99O03|||20111219\rORC|SC|0001{}01^内科^99XY1\r{obx}\r",
        "|".repeat(15)
    ))
}

fn observations_of(
    file: &Hl7File,
    cfg: &SiteConfig,
    t: &Index,
) -> (Vec<record::ObservationRecord>, Findings) {
    map_inline(file, cfg, t, lab_sets(), observation::map)
}

#[test]
fn observation_rules() {
    let mut cfg = config("");
    cfg.policy.lab_scope = config::LabScope::All;
    let t = demo_tables();
    // Local code + local specimen through the site table → JLAC10 → core set.
    let f = oul(
        "SPM|1|1||023^血清^JC10^01^血清^99Z01|||||||||||||201112191500",
        "OBX|1|SN|10222^ＴＰ^99X03||<^5.0|g/dl^g/dl^99XYZ|<=8.3|L||||F",
    );
    let (obs, sink) = observations_of(&f, &cfg, &t);
    let o = &obs[0];
    assert_eq!(o.code.coding[0].code, "10222_01");
    assert_eq!(o.code.coding[1].system, uri::CORE_LABO);
    assert_eq!(
        o.code.coding[1].table_row.as_deref(),
        Some("nho-sample-lab-99X03@1#r00001")
    );
    assert_eq!(
        o.value,
        Some(Value::Quantity {
            value: "5.0".into(),
            comparator: Some("<".into()),
            unit: "g/dl".into()
        })
    );
    assert_eq!(o.range.as_ref().unwrap().high.as_deref(), Some("8.3"));
    assert_eq!(
        o.interpretation.as_ref().map(|c| c.code.as_str()),
        Some("L")
    );
    assert!(sink.diagnostics.is_empty(), "{:?}", codes_of(&sink));
    assert_eq!(o.submission, Some(record::Submission::Submit));
    assert_eq!(
        o.encounter_class.as_ref().map(|c| c.code.as_str()),
        Some("AMB")
    );

    // No class (no PV1-2, no ORC-29): no Encounter is guessed, the result is withheld (R9013O).
    let no_pv1 = Hl7File::parse_str(&f.text().replace("PV1|1|O\r", ""));
    let (obs, sink) = observations_of(&no_pv1, &cfg, &t);
    assert_eq!(codes_of(&sink), ["M070"]);
    assert_eq!(obs[0].encounter_class, None);
    assert!(matches!(
        obs[0].submission,
        Some(record::Submission::Withheld(_))
    ));
    // No mapped department: withheld (R9014).
    let no_dept = Hl7File::parse_str(&f.text().replace("01^内科^99XY1", "77^謎^99XY1"));
    let (obs, sink) = observations_of(&no_dept, &cfg, &t);
    assert_eq!(codes_of(&sink), ["M071"]);
    assert!(matches!(
        obs[0].submission,
        Some(record::Submission::Withheld(_))
    ));

    // Unknown local code: local kept, uncoded coding, M020 + worklist keyed with the specimen.
    let f = oul(
        "SPM|1|1||023^血清^JC10^01^血清^99Z01|||||||||||||201112191500",
        "OBX|1|ST|77777^謎^99X03||陰性||||||F",
    );
    let (obs, sink) = observations_of(&f, &cfg, &t);
    assert_eq!(obs[0].kind, LabKind::Uncoded);
    assert_eq!(obs[0].code.coding[1].code, observation::UNCODED);
    assert_eq!(obs[0].value, Some(Value::String("陰性".into())));
    assert_eq!(codes_of(&sink), ["M020"]);
    assert_eq!(sink.worklist.items()[0].key.specimen, "01");

    // Bad number, unknown value type, CWE value, no time at all.
    let f = oul(
        "SPM|1|1||023^血清^JC10",
        "OBX|1|NM|3A010000002327101^総蛋白^JC10||7,2\rOBX|2|ZZ|3A010000002327101^総蛋白^JC10||x\rOBX|3|CWE|3A010000002327101^総蛋白^JC10||A^A^JSHR002",
    );
    let f = Hl7File::parse_str(&f.text().replace("|||20111219", "|||"));
    let (obs, sink) = observations_of(&f, &cfg, &t);
    assert_eq!(obs[0].value, Some(Value::String("7,2".into())));
    assert!(matches!(&obs[2].value, Some(Value::Concept(c)) if c.text == "A"));
    let c = codes_of(&sink);
    for code in ["M052", "M050", "M054"] {
        assert!(c.contains(&code), "{code} in {c:?}");
    }
}

#[test]
fn ranges_and_decimals() {
    let r = observation::parse_range("6.70-8.3");
    assert_eq!(
        (r.low.as_deref(), r.high.as_deref()),
        (Some("6.70"), Some("8.3"))
    );
    let r = observation::parse_range("-1.0-1.5");
    assert_eq!(
        (r.low.as_deref(), r.high.as_deref()),
        (Some("-1.0"), Some("1.5"))
    );
    let r = observation::parse_range("3.5～");
    assert_eq!((r.low.as_deref(), r.high), (Some("3.5"), None));
    let r = observation::parse_range(">=60");
    assert_eq!(r.low.as_deref(), Some("60"));
    let r = observation::parse_range("陰性");
    assert_eq!((r.low, r.high, r.text.as_str()), (None, None, "陰性"));
    assert!(
        observation::is_decimal(".5")
            && observation::is_decimal("-3")
            && !observation::is_decimal("1.2.3")
    );
}

proptest::proptest! {
    /// Any bytes as a message: the mappers return records and diagnostics, never panic.
    #[test]
    fn mappers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let mut raw = b"MSH|^~\\&|||||||PPR^ZD1|1|P|2.5\r".to_vec();
        raw.extend(body);
        let f = Hl7File::parse(&raw);
        let cfg = SiteConfig::parse("[site]\ninstitution_number = \"2213456789\"\nname = \"p\"\n").unwrap();
        let t = Index::new(&[]);
        let sets = &LabSets::default();
        let ctx = Context { config: &cfg, terms: &t, lab_sets: sets, as_of: "20111231" };
        for m in f.messages() {
            let input = Input { file: "x", folder_patient_id: "1", message: m };
            let mut sink = Findings::default();
            let _ = patient::map(&ctx, &input, &mut sink);
            let _ = condition::map(&ctx, &input, &mut sink);
            let _ = allergy::map(&ctx, &input, &mut sink);
            let _ = observation::map(&ctx, &input, &mut sink);
            let _ = medication::map(&ctx, &input, &mut sink);
        }
    }

    /// Sample messages with one byte flipped still map without panicking.
    #[test]
    fn sample_byte_flips(pos in 0usize..4000, b in proptest::prelude::any::<u8>(), which in 0usize..5) {
        let rel = [ADT00, ADT61, PPR01, OML11, prescriptions::OMP01][which];
        let mut raw = std::fs::read(sample_root().join(rel)).unwrap();
        if !raw.is_empty() {
            let i = pos % raw.len();
            raw[i] = b;
        }
        let f = Hl7File::parse(&raw);
        let cfg = config("");
        let t = demo_tables();
        let sets = lab_sets();
        let ctx = Context { config: &cfg, terms: &t, lab_sets: sets, as_of: "20111231" };
        for m in f.messages() {
            let input = Input { file: rel, folder_patient_id: "9999013", message: m };
            let mut sink = Findings::default();
            let _ = patient::map(&ctx, &input, &mut sink);
            let _ = condition::map(&ctx, &input, &mut sink);
            let _ = allergy::map(&ctx, &input, &mut sink);
            let _ = observation::map(&ctx, &input, &mut sink);
            let _ = medication::map(&ctx, &input, &mut sink);
        }
    }
}

/// The `clins` package set, loaded once.
fn clins() -> &'static fhir::conformance::Conformance {
    static C: std::sync::OnceLock<fhir::conformance::Conformance> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let read = |p: std::path::PathBuf| {
            fhir::package::Package::from_tgz(&std::fs::read(&p).unwrap()).unwrap()
        };
        // the built-in `clins` set: R4 base, JP Core 1.1.2-url, JP-CLINS 1.5.2
        let pkgs = [
            read(repo().join("vendor/fhir-profiles/r4-core/hl7.fhir.r4.examples-4.0.1-subset.tgz")),
            read(shared_profiles().join("jp-core/jp-core.r4-1.1.2-url.tgz")),
            read(shared_profiles().join("jp-clins/jp-clins.r4-1.5.2-snap.tgz")),
        ];
        let pkgs: Vec<&fhir::package::Package> = pkgs.iter().collect();
        fhir::conformance::Conformance::load(&pkgs)
    })
}

#[test]
fn nho_lab_report_bundle_validates_against_clins() {
    let cfg = config("allow_unreviewed = true");
    let t = demo_tables();
    let (p, _, _) = run(ADT00, &cfg, &t, patient::map);
    let (obs, _, _) = run(OML11, &cfg, &t, observation::map);
    let unit = unit::UnitKey::LabReport {
        patient: "9999013".into(),
        order_no: obs[0].order_no.clone(),
    };
    let b = bundle::lab_report(
        &cfg,
        &unit,
        2026,
        "2011-12-20T10:30:59.000+09:00",
        &p.unwrap(),
        &obs,
    );
    let bytes =
        fhir::model::json::to_vec(&fhir::model::IntoResource::into_resource(b.clone())).unwrap();
    // Deterministic: the same records give the same bytes.
    let again = bundle::lab_report(
        &cfg,
        &unit,
        2026,
        "2011-12-20T10:30:59.000+09:00",
        &run(ADT00, &cfg, &t, patient::map).0.unwrap(),
        &obs,
    );
    assert_eq!(
        bytes,
        fhir::model::json::to_vec(&fhir::model::IntoResource::into_resource(again)).unwrap()
    );
    assert_eq!(
        b.entry.len(),
        3,
        "Patient + TP + ALB (A/G比 is outside the scope)"
    );
    let v = fhir::validate::Validator::new(clins());
    let report = v.validate_json(&bytes, &[]);
    let errors: Vec<String> = report
        .issues
        .iter()
        .filter(|i| i.to_diagnostic().code.severity == diagnostics::Severity::Error)
        .map(|i| {
            i.to_diagnostic()
                .render_human(RenderOptions { show_phi: true })
        })
        .collect();
    expect("bundle-oml11.json", &String::from_utf8(bytes).unwrap());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn clins_errors(bytes: &[u8]) -> Vec<String> {
    let v = fhir::validate::Validator::new(clins());
    v.validate_json(bytes, &[])
        .issues
        .iter()
        .filter(|i| i.to_diagnostic().code.severity == diagnostics::Severity::Error)
        .map(|i| {
            i.to_diagnostic()
                .render_human(RenderOptions { show_phi: true })
        })
        .collect()
}

#[test]
fn nho_condition_bundle_validates_against_clins() {
    let cfg = config("allow_unreviewed = true");
    let t = demo_tables();
    let (p, _, _) = run(ADT00, &cfg, &t, patient::map);
    let (cs, _, _) = run(PPR01, &cfg, &t, condition::map);
    let unit = unit::UnitKey::Conditions {
        patient: "9999013".into(),
    };
    let b = bundle::conditions(
        &cfg,
        &unit,
        2026,
        "2011-12-09T16:30:30.000+09:00",
        "20111231",
        &p.unwrap(),
        &cs,
    );
    assert_eq!(b.entry.len(), 2);
    let bytes = fhir::model::json::to_vec(&fhir::model::IntoResource::into_resource(b)).unwrap();
    expect(
        "bundle-ppr01.json",
        &String::from_utf8(bytes.clone()).unwrap(),
    );
    let errors = clins_errors(&bytes);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn nho_allergy_bundle_validates_against_clins() {
    let cfg = config("allow_unreviewed = true");
    let t = demo_tables();
    let (p, _, _) = run(ADT00, &cfg, &t, patient::map);
    let (mut al, _, _) = run(ADT61, &cfg, &t, allergy::map);
    al.extend(run(ADT00, &cfg, &t, allergy::map).0);
    let unit = unit::UnitKey::Allergies {
        patient: "9999013".into(),
    };
    let b = bundle::allergies(
        &cfg,
        &unit,
        2026,
        "2011-10-14T23:22:13.000+09:00",
        &p.unwrap(),
        &al,
    );
    assert_eq!(b.entry.len(), 6);
    let bytes = fhir::model::json::to_vec(&fhir::model::IntoResource::into_resource(b)).unwrap();
    expect(
        "bundle-adt61.json",
        &String::from_utf8(bytes.clone()).unwrap(),
    );
    let errors = clins_errors(&bytes);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// `[packages]`: sources and pinned sets, every mistake named by its key.
#[test]
fn package_pins_in_the_site_configuration() {
    let site = "[site]\ninstitution_number = \"2213456789\"\nname = \"x\"\n";
    let c = SiteConfig::parse(&format!(
        "{site}[packages]\nsources = [\"../pkgs\"]\n[packages.sets]\nclins = [\"jp-core.r4#1.1.2-clins\", \"jp-eCSCLINS.r4#1.10.0\"]\n"
    ))
    .unwrap();
    assert_eq!(c.packages.sources, ["../pkgs"]);
    let sets = c.packages.effective_sets();
    assert_eq!(sets[0].name, "clins");
    assert_eq!(
        sets[0].describe(),
        "hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCSCLINS.r4#1.10.0"
    );
    // the built-in sets the site does not replace stay
    assert!(sets.iter().any(|s| s.name == "echeckup"));
    assert_eq!(sets.iter().filter(|s| s.name == "clins").count(), 1);
    // none declared: the built-in sets
    let c = SiteConfig::parse(site).unwrap();
    assert_eq!(c.packages, crate::config::Packages::default());
    for (extra, expect) in [
        (
            "[packages]\nsource = []\n",
            "unknown setting `packages.source`",
        ),
        (
            "[packages]\nsources = [\"\"]\n",
            "setting `packages.sources`: must not hold an empty entry",
        ),
        (
            "[packages.sets]\nclins = []\n",
            "setting `packages.sets.clins`: must list at least one",
        ),
        (
            "[packages.sets]\nclins = \"jp-core.r4#1.1.2\"\n",
            "setting `packages.sets.clins`: must be a list of strings",
        ),
        (
            "[packages.sets]\nclins = [\"jp-core.r4\"]\n",
            "is not NAME#VERSION",
        ),
        (
            "[packages.sets]\nclins = [\"jp-core.r4#1.1.2\", \"jp-core.r4#1.1.2-url\"]\n",
            "two versions of jp-core.r4 (1.1.2 and 1.1.2-url)",
        ),
    ] {
        let e = SiteConfig::parse(&format!("{site}{extra}")).unwrap_err();
        assert!(e.message.contains(expect), "{extra}: {}", e.message);
    }
}

/// The ordering doctor becomes the performer; where the pinned package requires
/// one (JP-CLINS 1.10, R9017O) and the order names nobody, the result is withheld
/// (M055), never given a made-up performer.
#[test]
fn ordering_doctor_is_the_performer_and_required_where_the_package_says() {
    let cfg = config("");
    let t = demo_tables();
    let msg = |orc12: &str, obr16: &str| {
        Hl7File::parse_str(&format!(
            "MSH|^~\\&|||||||OUL^R22^OUL_R22|1|P|2.5\rPID|1||42^^^^PI\rPV1|1|O|01^^^^^C\r\
             SPM|1|1||023^血清^JC10|||||||||||||201112191500\r\
             OBR|1|100|1|E001^血液学的検査^99O03|||20111219|||||||||{obr16}||||||20111220103059\r\
             ORC|SC|100|1||CM||||20111220103059|||{orc12}|||||01^内科^99XY1\r\
             OBX|1|NM|3A015000002327101^ALB^JC10||4.1|g/dl|3.8-5.2|N|||F\r"
        ))
    };
    let mut required = lab_sets().clone();
    required.performer_required = true;
    let mut optional = lab_sets().clone();
    optional.performer_required = false;
    // ORC-12 wins over OBR-16
    let f = msg("607^医師^一郎^^^^^^^L^^^^^I", "608^別人^^^^^^^^L");
    let (obs, _) = map_inline(&f, &cfg, &t, &required, observation::map);
    let o = &obs[0];
    assert_eq!(o.submission, Some(Submission::Submit), "{o:?}");
    let who = o.orderer.as_ref().unwrap();
    assert_eq!(
        (who.id.as_str(), who.name.as_str(), who.representation),
        ("607", "医師 一郎", Some("IDE"))
    );
    assert!(
        o.lineage
            .iter()
            .any(|l| l.element == "Observation.performer" && l.field == "ORC-12")
    );
    // OBR-16 when ORC-12 is empty
    let (obs, _) = map_inline(
        &msg("", "608^別人^^^^^^^^L"),
        &cfg,
        &t,
        &required,
        observation::map,
    );
    assert_eq!(obs[0].orderer.as_ref().unwrap().id, "608");
    assert!(obs[0].lineage.iter().any(|l| l.field == "OBR-16"));
    // nobody: withheld where required, located at ORC-12
    let (obs, sink) = map_inline(&msg("", ""), &cfg, &t, &required, observation::map);
    assert!(obs[0].orderer.is_none());
    assert!(
        matches!(obs[0].submission, Some(Submission::Withheld(r)) if r.contains("ordering doctor"))
    );
    let d = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M055")
        .unwrap();
    assert!(
        d.render_human(RenderOptions::default()).contains("ORC-12"),
        "{d:?}"
    );
    // ... and submitted without a performer where the package does not ask for one
    let (obs, sink) = map_inline(&msg("", ""), &cfg, &t, &optional, observation::map);
    assert_eq!(obs[0].submission, Some(Submission::Submit));
    assert!(!codes_of(&sink).contains(&"M055"));
    // a result whose OBX-3 names no code: withheld, located (never an uncodable Observation)
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||OUL^R22^OUL_R22|1|P|2.5\rPID|1||42^^^^PI\rPV1|1|O|01^^^^^C\r\
         SPM|1|1||023^血清^JC10|||||||||||||201112191500\r\
         ORC|SC|100|1||CM||||20111220103059|||607^医師|||||01^内科^99XY1\r\
         OBX|1|NM|||4.1|g/dl|3.8-5.2|N|||F\r",
    );
    let (obs, sink) = map_inline(&f, &cfg, &t, &required, observation::map);
    assert!(matches!(obs[0].submission, Some(Submission::Withheld(r)) if r.contains("no code")));
    let d = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M056")
        .unwrap();
    assert!(
        d.render_human(RenderOptions::default()).contains("OBX-3"),
        "{d:?}"
    );
    // the bundle carries the performer as a contained JP_Practitioner
    let f = msg("607^医師^一郎^^^^^^^L^^^^^I", "");
    let (obs, _) = map_inline(&f, &cfg, &t, &required, observation::map);
    let r =
        bundle::observation(&obs[0], &cfg, "urn:uuid:p", "2011-12-20T10:30:59.000+09:00").unwrap();
    assert_eq!(r.performer.len(), 1);
    assert_eq!(
        r.performer[0]
            .reference
            .as_ref()
            .and_then(|x| x.value.as_deref()),
        Some("#performer")
    );
    assert!(r.contained.iter().any(|c| matches!(c, fhir::model::Resource::Practitioner(p) if p.id.as_ref().and_then(|i| i.value.as_deref()) == Some("performer"))));
}

/// LabSets read the performer rule from the package: JP-CLINS 1.10 has it, 1.5.2 not.
#[test]
fn performer_rule_is_read_from_the_package() {
    let read = |f: &str| {
        fhir::package::Package::from_tgz(&std::fs::read(shared_profiles().join(f)).unwrap())
            .unwrap()
    };
    assert!(
        !LabSets::from_package(&read("jp-clins/jp-clins.r4-1.5.2-snap.tgz"))
            .0
            .performer_required
    );
    assert!(
        LabSets::from_package(&read("jp-clins/jp-eCSCLINS.r4-1.10.0-snap.tgz"))
            .0
            .performer_required
    );
    // R6031 (LTS on infection results only): 1.10 has it, 1.5.2 not
    assert!(
        !LabSets::from_package(&read("jp-clins/jp-clins.r4-1.5.2-snap.tgz"))
            .0
            .lts_infection_only
    );
    assert!(
        LabSets::from_package(&read("jp-clins/jp-eCSCLINS.r4-1.10.0-snap.tgz"))
            .0
            .lts_infection_only
    );
}

/// `policy.lts = ["Observation"]`: every result tagged where the package allows it,
/// only the designated infection results where it does not (R6031).
#[test]
fn lts_on_lab_results_follows_the_package() {
    let base = std::fs::read_to_string(repo().join("kakehashi.toml")).unwrap();
    let cfg = SiteConfig::parse(&base.replace("lts = []", "lts = [\"Observation\"]")).unwrap();
    assert_eq!(cfg.policy.lts.resource_types, ["Observation"]);
    let t = demo_tables();
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||OUL^R22^OUL_R22|1|P|2.5\rPID|1||42^^^^PI\rPV1|1|O|01^^^^^C\r\
         SPM|1|1||023^血清^JC10|||||||||||||201112191500\r\
         ORC|SC|100|1||CM||||20111220103059|||607^医師|||||01^内科^99XY1\r\
         OBX|1|NM|3A015000002327101^ALB^JC10||4.1|g/dl|3.8-5.2|N|||F\r\
         OBX|2|CWE|5F016141002302311^HBs抗原(判定)^JC10||-^陰性^99XYZ||||||F\r",
    );
    let mut only_infection = lab_sets().clone();
    only_infection.lts_infection_only = true;
    let (obs, _) = map_inline(&f, &cfg, &t, &only_infection, observation::map);
    assert_eq!(
        obs.iter()
            .map(|o| (o.kind, o.tags.clone()))
            .collect::<Vec<_>>(),
        [
            (LabKind::Core, vec![]),
            (LabKind::Infection, vec![Tag::Lts])
        ]
    );
    let mut any = lab_sets().clone();
    any.lts_infection_only = false;
    let (obs, _) = map_inline(&f, &cfg, &t, &any, observation::map);
    assert!(obs.iter().all(|o| o.tags == [Tag::Lts]), "{obs:?}");
}

/// A numeric result without a unit (PT-INR has none) is submitted unitless and
/// noted at OBX-6 (M057); its reference range carries no unit either, so the
/// result and range units agree (JP-CLINS 1.10's referenceRange rules).
#[test]
fn numeric_result_without_unit_is_noted_not_withheld() {
    let cfg = config("");
    let t = demo_tables();
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||OUL^R22^OUL_R22|1|P|2.5\rPID|1||42^^^^PI\rPV1|1|O|01^^^^^C\r\
         SPM|1|1||022^血漿^JC10|||||||||||||201112191500\r\
         ORC|SC|100|1||CM||||20111220103059|||607^医師|||||01^内科^99XY1\r\
         OBX|1|NM|2B030000002131157^PT-INR^JC10||1.02||0.85-1.15||||F\r",
    );
    let (obs, sink) = map_inline(&f, &cfg, &t, lab_sets(), observation::map);
    assert_eq!(obs[0].submission, Some(Submission::Submit), "{obs:?}");
    let d = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M057")
        .unwrap();
    assert!(
        d.render_human(RenderOptions::default()).contains("OBX-6"),
        "{d:?}"
    );
    let r =
        bundle::observation(&obs[0], &cfg, "urn:uuid:p", "2011-12-20T10:30:59.000+09:00").unwrap();
    let v = fhir::model::json::to_value(fhir::model::IntoResource::into_resource(r)).unwrap();
    assert_eq!(v["valueQuantity"]["value"], serde_json::json!(1.02));
    assert!(v["valueQuantity"].get("unit").is_none(), "{v}");
    assert!(v["referenceRange"][0]["low"].get("unit").is_none(), "{v}");
}

#[test]
fn jfagy_code_under_a_spelling_variant_maps_like_the_canonical_name() {
    let t = demo_tables();
    let cfg = config("");
    for (name, info) in [("JFAGY", false), ("J-FAGY", true), ("jfagy", true)] {
        let f = Hl7File::parse_str(&format!(
            "MSH|^~\\&|||||||ADT^A60|1|P|2.5\rIAM|1|FA^食物アレルギー^HL70127|J9FA19140000^そば^{name}|MO^中等度^HL70128\r"
        ));
        let (al, sink) = map_inline(&f, &cfg, &t, &LabSets::default(), allergy::map);
        let a = &al[0];
        // The national code is used as sent: no dummy, no M041, submitted.
        assert_eq!(
            (
                a.code.coding[0].system.as_str(),
                a.code.coding[0].code.as_str()
            ),
            (uri::JFAGY_FOOD, "J9FA19140000"),
            "{name}"
        );
        assert!(matches!(a.submission, Some(Submission::Submit)), "{name}");
        let codes = codes_of(&sink);
        assert!(!codes.contains(&"M041"), "{name}: {codes:?}");
        assert!(!codes.contains(&"T002"), "{name}: {codes:?}");
        let variant: Vec<_> = sink
            .diagnostics
            .iter()
            .filter(|d| d.code.id == "T003")
            .collect();
        if info {
            // One info naming the variant, at IAM-3.3.
            assert_eq!(variant.len(), 1, "{name}: {codes:?}");
            assert!(variant[0].message.contains(&format!("'{name}'")));
            assert_eq!(
                variant[0].location.field.as_ref().map(|p| p.path()),
                Some("IAM-3.3".to_owned())
            );
            assert_eq!(variant[0].severity, diagnostics::Severity::Info);
        } else {
            assert!(variant.is_empty(), "{name}: {codes:?}");
        }
    }
    // JLAC: JLAC10 or JLAC11 — stays local, with a warning; the dummy is sent.
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||ADT^A60|1|P|2.5\rIAM|1|FA^食物アレルギー^HL70127|J9FA19140000^そば^JLAC\r",
    );
    let (al, sink) = map_inline(&f, &cfg, &t, &LabSets::default(), allergy::map);
    assert_eq!(al[0].code.coding[0].code, "D9F000000000");
    assert!(codes_of(&sink).contains(&"T004"));
}

#[test]
fn names_with_shifted_type_and_representation_codes_are_not_used() {
    let cfg = config("");
    // Kana repetition written one component late: the kanji name is used, the
    // kana one is not taken by position.
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||ADT^A08|1|P|2.5\rPID|1||42^^^^PI||架空^四郎^^^^^L^I~カクウ^シロウ^^^^^^L^P||19760808|M\r",
    );
    let (p, sink) = patient_of(&f, &cfg);
    assert_eq!(p.names.len(), 1);
    assert_eq!(p.names[0].representation, "IDE");
    let d = sink
        .diagnostics
        .iter()
        .find(|d| d.code.id == "M019")
        .unwrap();
    assert_eq!(
        d.location.field.as_ref().map(|p| p.path()),
        Some("PID-5[2]".to_owned())
    );
    assert!(!d.message.contains("シロウ"));
    // Both one component early: no name at all (never guessed by position).
    let f = Hl7File::parse_str(
        "MSH|^~\\&|||||||ADT^A08|1|P|2.5\rPID|1||42^^^^PI||架空^三郎^^^^L^I~カクウ^サブロウ^^^^L^P||19750707|M\r",
    );
    let (p, sink) = patient_of(&f, &cfg);
    assert!(p.names.is_empty());
    let codes = codes_of(&sink);
    assert_eq!(codes.iter().filter(|c| **c == "M019").count(), 2);
    assert!(codes.contains(&"M016"));
}
