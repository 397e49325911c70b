use super::*;
use crate::LabSets;
use crate::config::SiteConfig;
use diagnostics::RenderOptions;
use parsers::hl7::Hl7File;
use terminologies::lookup::Index;

fn repo() -> std::path::PathBuf {
    testkit::repository()
}

fn terms() -> Index {
    let bytes = std::fs::read(repo().join("tables/table-v2-0004-to-v3-actcode.sssom.tsv")).unwrap();
    let (t, d) = terminologies::table::parse_sssom(&bytes);
    assert!(!d.has_errors(), "{d:?}");
    Index::new(&[t])
}

fn config() -> SiteConfig {
    SiteConfig::parse(
        "[site]\ninstitution_number = \"2213456789\"\nname = \"t\"\n[departments]\n\"01\" = { code = \"01\", display = \"内科\" }\n",
    )
    .unwrap()
}

/// Maps one message text (segments separated by `\r`) of `data_type`.
fn map_text(file: &str, data_type: &str, text: &str, sink: &mut Findings) -> Option<AdtEvent> {
    let cfg = config();
    let index = terms();
    let sets = LabSets::default();
    let ctx = Context {
        config: &cfg,
        terms: &index,
        lab_sets: &sets,
        as_of: "20261123",
    };
    let f = Hl7File::parse_str(text);
    let msg = f.messages().next().unwrap();
    let input = Input {
        file,
        folder_patient_id: "42",
        message: msg,
    };
    event(&ctx, &input, data_type, sink)
}

const MSH: &str = "MSH|^~\\&|HIS|S|GW|R|20111220224447||";

fn adt(trigger: &str, evn6: &str, pv1_3: &str, dept: &str, pv1_44: &str, pv1_45: &str) -> String {
    let mut pv1: Vec<String> = vec!["PV1".into(), "0001".into(), "I".into(), pv1_3.into()];
    pv1.resize(46, String::new());
    pv1[7] = "D1^医師^一郎^^^^^^^L^^^^^I".into();
    pv1[10] = dept.into();
    pv1[44] = pv1_44.into();
    pv1[45] = pv1_45.into();
    if !pv1_45.is_empty() {
        pv1[36] = "01".into();
    }
    format!(
        "{MSH}ADT^{trigger}^ADT_A01|1|P|2.5\rEVN||201112202100||||{evn6}\rPID|1||42^^^^PI\r{}",
        pv1.join("|")
    )
}

struct Case {
    msgs: Vec<AdtMessage>,
    sink: Findings,
}

impl Case {
    fn new() -> Case {
        Case {
            msgs: Vec::new(),
            sink: Findings::default(),
        }
    }

    fn add(&mut self, name: &str, dt: &str, flag: ConditionFlag, text: String) -> &mut Case {
        let written = format!("2011122{}000000000", self.msgs.len());
        let event = map_text(name, dt, &text, &mut self.sink);
        self.msgs.push(AdtMessage {
            file: name.into(),
            data_type: dt.into(),
            written_at: written,
            condition: flag,
            event,
        });
        self
    }

    fn admit(&mut self, name: &str, at: &str) -> &mut Case {
        self.add(
            name,
            "ADT-22",
            ConditionFlag::Current,
            adt("A01", "", "32^302^1", "01", at, ""),
        )
    }

    fn transfer(&mut self, name: &str, at: &str) -> &mut Case {
        self.add(
            name,
            "ADT-42",
            ConditionFlag::Current,
            adt("A02", at, "41^410^2", "01", "", ""),
        )
    }

    fn discharge(&mut self, name: &str, admitted: &str, at: &str) -> &mut Case {
        self.add(
            name,
            "ADT-52",
            ConditionFlag::Current,
            adt("A03", "", "41^410^2", "01", admitted, at),
        )
    }

    fn run(&mut self) -> (Stays, Vec<&'static str>) {
        let msgs = std::mem::take(&mut self.msgs);
        let s = stays(msgs, &mut self.sink);
        let codes = self.sink.diagnostics.iter().map(|d| d.code.id).collect();
        (s, codes)
    }
}

#[test]
fn nho_sample_stay_with_a_transfer_after_the_discharge() {
    let root = crate::shared("data/ssmix2-nho-sample/sampleData/999/901/9999013");
    let files = [
        (
            "20111120/ADT-22/9999013_20111120_ADT-22_999999999999999_20111220224447339_01_1",
            "ADT-22",
        ),
        (
            "20111220/ADT-42/9999013_20111220_ADT-42_999999999999999_20111220224447339_10_1",
            "ADT-42",
        ),
        (
            "20111220/ADT-52/9999013_20111220_ADT-52_999999999999999_20111220224447339_08_1",
            "ADT-52",
        ),
    ];
    let cfg = config();
    let index = terms();
    let sets = LabSets::default();
    let ctx = Context {
        config: &cfg,
        terms: &index,
        lab_sets: &sets,
        as_of: "20261123",
    };
    let mut sink = Findings::default();
    let mut msgs = Vec::new();
    for (rel, dt) in files {
        let bytes = std::fs::read(root.join(rel)).unwrap();
        let f = Hl7File::parse(&bytes);
        let msg = f.messages().next().unwrap();
        let input = Input {
            file: rel,
            folder_patient_id: "9999013",
            message: msg,
        };
        let ev = event(&ctx, &input, dt, &mut sink);
        msgs.push(AdtMessage {
            file: rel.into(),
            data_type: dt.into(),
            written_at: "20111220224447339".into(),
            condition: ConditionFlag::Current,
            event: ev,
        });
    }
    let s = stays(msgs, &mut sink);
    let rendered: Vec<String> = sink
        .diagnostics
        .iter()
        .map(|d| d.render_human(RenderOptions::default()))
        .collect();
    assert_eq!(s.stays.len(), 1, "{rendered:#?}");
    let stay = &s.stays[0];
    assert_eq!(stay.admitted(), "2011-11-20T16:00:00+09:00");
    assert_eq!(stay.discharged(), Some("2011-12-20T12:00:00+09:00"));
    assert!(stay.transfers.is_empty());
    assert_eq!(
        stay.admission.bed.as_ref().unwrap().text(),
        "病棟 32 病室 302 病床 1"
    );
    assert_eq!(stay.last_bed().unwrap().ward, "41");
    assert_eq!(stay.admission.department.as_ref().unwrap().code, "01");
    assert_eq!(stay.last_department().unwrap().display, "内科");
    assert_eq!(stay.last_attending().unwrap().id, "607");
    assert_eq!(stay.class().unwrap().code, "IMP");
    let d = stay.discharge.as_ref().unwrap();
    assert_eq!(d.disposition.as_deref(), Some("01"));
    // The sample's transfer (EVN-6 20:00) is after its discharge (12:00); its
    // departments 10 and 08 are not mapped by this site.
    let codes: Vec<&str> = sink.diagnostics.iter().map(|d| d.code.id).collect();
    assert_eq!(codes, ["M359", "M359", "M355"], "{rendered:#?}");
    let transfer = &rendered[2];
    assert!(
        transfer.contains("ADT-42") && transfer.contains("EVN-6"),
        "{transfer}"
    );
    assert!(rendered[0].contains("PV1-10"), "{}", rendered[0]);
    assert_eq!(s.fates, [Fate::Current; 3]);
}

#[test]
fn admission_transfer_discharge_make_one_stay() {
    let mut c = Case::new();
    c.discharge("d", "201104011000", "201104101100")
        .transfer("t", "201104051200")
        .admit("a", "201104011000");
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(s.stays.len(), 1);
    let stay = &s.stays[0];
    assert_eq!(stay.transfers.len(), 1);
    assert_eq!(stay.files(), ["a", "d", "t"]);
    assert!(stay.contains("20110405000000"));
    assert!(!stay.contains("20110411000000"));
    assert!(!stay.contains("20110331000000"));
    assert_eq!(
        select(&s.stays, None).unwrap().admitted(),
        "2011-04-01T10:00:00+09:00"
    );
    assert!(select(&s.stays, Some("2011-04-01")).is_ok());
    assert!(select(&s.stays, Some("2011-04-01T10:00")).is_ok());
}

#[test]
fn a_date_only_admission_matches_the_discharge_that_names_its_day() {
    let mut c = Case::new();
    c.admit("a", "20110401")
        .discharge("d", "201104011000", "201104101100");
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(s.stays.len(), 1);
}

#[test]
fn discharge_naming_another_admission_time_is_warned() {
    let mut c = Case::new();
    c.admit("a", "201104011000")
        .discharge("d", "201104021000", "201104101100");
    let (s, codes) = c.run();
    assert_eq!(codes, ["M357"]);
    assert_eq!(s.stays.len(), 1);
    let d = &c.sink.diagnostics.iter().next().unwrap();
    assert!(d.render_human(RenderOptions::default()).contains("PV1-44"));
}

#[test]
fn discharge_without_admission() {
    let mut c = Case::new();
    c.discharge("d", "", "201104101100");
    let (s, codes) = c.run();
    assert_eq!(codes, ["M352"]);
    assert!(s.stays.is_empty());
    let d = c.sink.diagnostics.iter().next().unwrap();
    let text = d.render_human(RenderOptions::default());
    assert!(text.contains("PV1-45") && text.contains("d"), "{text}");
    assert_eq!(select(&s.stays, None).unwrap_err().code.id, "M360");
}

#[test]
fn discharge_before_its_admission() {
    // The discharge names the admission at 04-10, but is dated 04-05.
    let mut c = Case::new();
    c.admit("a", "201104101000")
        .discharge("d", "201104101000", "201104051100");
    let (s, codes) = c.run();
    assert_eq!(codes, ["M353"]);
    // The admission stays open (in progress): no summary for it.
    assert_eq!(s.stays.len(), 1);
    assert!(s.stays[0].discharge.is_none());
    assert_eq!(
        select(&s.stays, Some("2011-04-10")).unwrap_err().code.id,
        "M361"
    );
    // Its own PV1-44 after PV1-45, no admission at all.
    let mut c = Case::new();
    c.discharge("d", "201104101000", "201104051100");
    let (_, codes) = c.run();
    assert_eq!(codes, ["M353"]);
}

#[test]
fn overlapping_stays() {
    let mut c = Case::new();
    c.admit("a1", "201104011000")
        .admit("a2", "201104031000")
        .discharge("d", "201104031000", "201104101100");
    let (s, codes) = c.run();
    assert_eq!(codes, ["M354"]);
    // The earlier admission is kept, without a discharge: no summary for it.
    assert_eq!(s.stays.len(), 2);
    assert_eq!(s.stays[0].admission.file, "a1");
    assert!(s.stays[0].discharge.is_none());
    assert_eq!(s.stays[1].admission.file, "a2");
    assert_eq!(
        select(&s.stays, Some("2011-04-01")).unwrap_err().code.id,
        "M361"
    );
    assert_eq!(select(&s.stays, None).unwrap().admission.file, "a2");
    let text = c
        .sink
        .diagnostics
        .iter()
        .next()
        .unwrap()
        .render_human(RenderOptions::default());
    assert!(text.contains("a2") && text.contains("PV1-44"), "{text}");
}

#[test]
fn two_stays_and_selection() {
    let mut c = Case::new();
    c.admit("a1", "201104011000")
        .discharge("d1", "201104011000", "201104101100")
        .admit("a2", "201105011000")
        .discharge("d2", "201105011000", "201105101100")
        .admit("a3", "201106011000");
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(s.stays.len(), 3);
    // Latest discharged, not the open one.
    assert_eq!(select(&s.stays, None).unwrap().admission.file, "a2");
    assert_eq!(
        select(&s.stays, Some("2011-04")).unwrap().admission.file,
        "a1"
    );
    assert_eq!(
        select(&s.stays, Some("2011-0")).unwrap_err().code.id,
        "M362"
    );
    assert_eq!(
        select(&s.stays, Some("2012-01-01")).unwrap_err().code.id,
        "M360"
    );
    assert_eq!(
        select(&s.stays, Some("2011-06-01")).unwrap_err().code.id,
        "M361"
    );
}

#[test]
fn transfer_outside_a_stay() {
    let mut c = Case::new();
    c.transfer("t", "201104051200");
    let (s, codes) = c.run();
    assert_eq!(codes, ["M355"]);
    assert!(s.stays.is_empty());
}

#[test]
fn cancellations_remove_their_event() {
    let mut c = Case::new();
    c.admit("a", "201104011000").add(
        "x",
        "ADT-22",
        ConditionFlag::Current,
        adt("A11", "", "32^302^1", "01", "201104011000", ""),
    );
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert!(s.stays.is_empty());
    assert_eq!(s.fates, [Fate::Deleted, Fate::Current]);

    // A cancelled discharge: the stay is open again.
    let mut c = Case::new();
    c.admit("a", "201104011000")
        .discharge("d", "201104011000", "201104101100")
        .add(
            "x",
            "ADT-52",
            ConditionFlag::Current,
            adt("A13", "", "", "", "", "201104101100"),
        );
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(s.stays.len(), 1);
    assert!(s.stays[0].discharge.is_none());

    // A cancelled transfer.
    let mut c = Case::new();
    c.admit("a", "201104011000")
        .transfer("t", "201104051200")
        .add(
            "x",
            "ADT-42",
            ConditionFlag::Current,
            adt("A12", "201104051200", "", "", "", ""),
        )
        .discharge("d", "201104011000", "201104101100");
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert!(s.stays[0].transfers.is_empty());

    // Nothing to cancel.
    let mut c = Case::new();
    c.add(
        "x",
        "ADT-22",
        ConditionFlag::Current,
        adt("A11", "", "", "", "201104011000", ""),
    );
    let (_, codes) = c.run();
    assert_eq!(codes, ["M356"]);
}

#[test]
fn versions_follow_the_condition_flags() {
    let mut c = Case::new();
    c.add(
        "old",
        "ADT-22",
        ConditionFlag::Superseded,
        adt("A01", "", "32^302^1", "01", "201103311000", ""),
    )
    .admit("a", "201104011000")
    .add(
        "gone",
        "ADT-52",
        ConditionFlag::Deleted,
        adt("A03", "", "", "01", "", "201104051000"),
    )
    .discharge("d", "201104011000", "201104101100");
    let (s, codes) = c.run();
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(s.stays.len(), 1);
    assert_eq!(s.stays[0].discharged(), Some("2011-04-10T11:00:00+09:00"));
    assert_eq!(
        s.fates,
        [
            Fate::Superseded,
            Fate::Current,
            Fate::Deleted,
            Fate::Current
        ]
    );
}

#[test]
fn duplicate_events_keep_the_newer_file() {
    let mut c = Case::new();
    c.admit("a1", "201104011000")
        .admit("a2", "201104011000")
        .discharge("d", "201104011000", "201104101100");
    let (s, codes) = c.run();
    assert_eq!(codes, ["M358"]);
    assert_eq!(s.stays.len(), 1);
    assert_eq!(s.stays[0].admission.file, "a2");
    assert_eq!(s.fates[0], Fate::Superseded);
}

#[test]
fn unusable_messages_are_reported_where_they_fail() {
    let mut sink = Findings::default();
    // ADT-22 holding a discharge message.
    let e = map_text(
        "w",
        "ADT-22",
        &adt("A03", "", "", "01", "", "201104101100"),
        &mut sink,
    );
    assert!(e.is_none());
    // No admission time.
    let e = map_text("n", "ADT-22", &adt("A01", "", "", "01", "", ""), &mut sink);
    assert!(e.is_none());
    // A malformed one.
    let e = map_text(
        "m",
        "ADT-22",
        &adt("A01", "", "", "01", "2011-04-01", ""),
        &mut sink,
    );
    assert!(e.is_none());
    // No PV1 at all for a discharge.
    let e = map_text(
        "p",
        "ADT-52",
        &format!("{MSH}ADT^A03^ADT_A03|1|P|2.5\rEVN||201112202100\rPID|1||42^^^^PI"),
        &mut sink,
    );
    assert!(e.is_none());
    // A data type that is not a stay event.
    assert!(map_text("z", "ADT-21", &adt("A14", "", "", "01", "", ""), &mut sink).is_none());
    let codes: Vec<&str> = sink.diagnostics.iter().map(|d| d.code.id).collect();
    assert_eq!(codes, ["M351", "M350", "M017", "M350", "M350"]);
    let rendered: Vec<String> = sink
        .diagnostics
        .iter()
        .map(|d| d.render_human(RenderOptions::default()))
        .collect();
    assert!(rendered[0].contains("MSH-9"), "{}", rendered[0]);
    assert!(rendered[1].contains("PV1-44"), "{}", rendered[1]);
}

#[test]
fn sort_keys_and_precision() {
    assert_eq!(sort_key("20111120"), Some(("20111120000000".into(), 8)));
    assert_eq!(
        sort_key("201111201600"),
        Some(("20111120160000".into(), 12))
    );
    assert_eq!(
        sort_key("20111120160012.5+0900"),
        Some(("20111120160012".into(), 14))
    );
    assert_eq!(sort_key("2011"), None);
    assert_eq!(sort_key("2011x120"), None);
    assert!(same_time(("20111120000000", 8), ("20111120160000", 12)));
    assert!(!same_time(("20111120160000", 12), ("20111120163000", 12)));
    assert!(same_time(("20111120160000", 10), ("20111120163000", 12)));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn kind_strategy() -> impl Strategy<Value = (u8, u8, bool, u8)> {
        // (kind 0..3, day 1..28, cancel, flag 0..3)
        (0u8..3, 1u8..28, proptest::bool::weighted(0.15), 0u8..10)
    }

    proptest! {
        /// Any set of events: no panic, and every current event is accounted for —
        /// in a stay, withdrawn or superseded (its fate), or named by a diagnostic.
        #[test]
        fn every_event_is_in_a_stay_or_reported(events in proptest::collection::vec(kind_strategy(), 0..12)) {
            let mut c = Case::new();
            for (i, (k, day, cancel, flag)) in events.iter().enumerate() {
                let at = format!("201104{day:02}1000");
                let flag = match flag {
                    0 => ConditionFlag::Deleted,
                    1 => ConditionFlag::Superseded,
                    _ => ConditionFlag::Current,
                };
                let name = format!("f{i}");
                let text = match (k, cancel) {
                    (0, false) => adt("A01", "", "32^1^1", "01", &at, ""),
                    (0, true) => adt("A11", "", "", "", &at, ""),
                    (1, false) => adt("A02", &at, "41^1^1", "01", "", ""),
                    (1, true) => adt("A12", &at, "", "", "", ""),
                    (_, false) => adt("A03", "", "41^1^1", "01", "", &at),
                    (_, true) => adt("A13", "", "", "", "", &at),
                };
                let dt = ["ADT-22", "ADT-42", "ADT-52"][usize::from(*k)];
                c.add(&name, dt, flag, text);
            }
            let msgs = c.msgs.clone();
            let (s, _) = c.run();
            prop_assert_eq!(s.fates.len(), msgs.len());
            for (i, m) in msgs.iter().enumerate() {
                let Some(ev) = &m.event else { continue };
                if ev.cancel || s.fates[i] != Fate::Current {
                    continue;
                }
                let in_stay = s.stays.iter().any(|st| st.events().any(|e| e.file == m.file));
                let reported = c.sink.diagnostics.iter().any(|d| {
                    d.location.file.as_deref() == Some(m.file.as_str())
                        || d.message.contains(&format!("({})", m.file))
                });
                prop_assert!(in_stay || reported, "{} unaccounted", m.file);
            }
            // Each stay is in time order; a discharged stay ends before the next begins.
            for st in &s.stays {
                let keys: Vec<&str> = st.events().map(|e| e.key.as_str()).collect();
                prop_assert!(keys.windows(2).all(|w| w[0] <= w[1]));
            }
            for w in s.stays.windows(2) {
                prop_assert!(w[0].admission.key <= w[1].admission.key);
                if let Some(d) = &w[0].discharge {
                    prop_assert!(d.key <= w[1].admission.key);
                }
            }
        }

        /// Byte flips in a message never make the event mapper panic.
        #[test]
        fn flipped_messages_never_panic(at in 0usize..200, byte in any::<u8>(), dt in 0usize..3) {
            let text = adt("A03", "201104101100", "41^410^2", "01", "201104011000", "201104101100");
            let mut bytes = text.into_bytes();
            if at < bytes.len() {
                bytes[at] = byte;
            }
            let mut sink = Findings::default();
            let f = Hl7File::parse(&bytes);
            if let Some(msg) = f.messages().next() {
                let cfg = config();
                let index = terms();
                let sets = LabSets::default();
                let ctx = Context { config: &cfg, terms: &index, lab_sets: &sets, as_of: "20261123" };
                let input = Input { file: "x", folder_patient_id: "42", message: msg };
                let _ = event(&ctx, &input, ["ADT-22", "ADT-42", "ADT-52"][dt], &mut sink);
            }
        }
    }
}
