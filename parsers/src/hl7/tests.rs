use super::*;
use proptest::prelude::*;

fn jis(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::ISO_2022_JP.encode(s);
    assert!(!bad, "not encodable: {s}");
    b.into_owned()
}

fn codes_of(f: &Hl7File) -> Vec<&'static str> {
    f.diagnostics.iter().map(|d| d.code.id).collect()
}

#[test]
fn structure_and_accessors() {
    let f = Hl7File::parse_str(
        "MSH|^~\\&|HIS||GW||20111220||ADT^A08^ADT_A01|1|P|2.5\rPID|0001||9999013^^^^PI||患者^太郎^^^^^L^I~カンジャ^タロウ^^^^^L^P||19480405|M\r",
    );
    assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    let m = f.messages().next().unwrap();
    assert_eq!(m.message_type().as_deref(), Some("ADT^A08"));
    let msh = m.segment("MSH").unwrap();
    assert_eq!(msh.get(1, 0), "|");
    assert_eq!(msh.get(2, 0), "^~\\&");
    assert_eq!(msh.get(3, 0), "HIS");
    assert_eq!(msh.get(9, 3), "ADT_A01");
    let pid = m.segment("PID").unwrap();
    assert_eq!(pid.number(), 2);
    assert_eq!(pid.line(), 2);
    assert_eq!(pid.field_count(), 8);
    let name = pid.field(5).unwrap();
    assert_eq!(name.reps().len(), 2);
    assert_eq!(name.rep(2).unwrap().comp(2).unwrap().raw(), "タロウ");
    assert_eq!(name.rep(1).unwrap().comp(8).unwrap().raw(), "I");
    assert!(pid.field(9).is_none());
    assert_eq!(pid.get(9, 1), "");
    assert_eq!(pid.get(3, 1), "9999013");
}

#[test]
fn kanji_whose_bytes_are_delimiters_do_not_split_fields() {
    // う 24 26 ('&'), ウ 25 26 ('&'), 京 35 7E ('~'): all in one component.
    let raw = jis("MSH|^~\\&|A||||||ADT^A08\rPID|1||1||東京^うウ\r");
    let f = Hl7File::parse(&raw);
    assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    let pid = f.messages().next().unwrap().segment("PID").unwrap();
    let name = pid.field(5).unwrap();
    assert_eq!(name.reps().len(), 1);
    assert_eq!(name.rep(1).unwrap().comps().len(), 2);
    assert_eq!(pid.get(5, 1), "東京");
    assert_eq!(pid.get(5, 2), "うウ");
    assert_eq!(name.rep(1).unwrap().comp(2).unwrap().subs().len(), 1);
}

#[test]
fn terminators_framing_blank_lines_and_bom() {
    for (input, expect) in [
        ("MSH|^~\\&|A\rPID|1\r\x1c", vec![]),
        ("\x0bMSH|^~\\&|A\rPID|1\r\x1c\r", vec![]),
        ("MSH|^~\\&|A\nPID|1\n", vec!["H008"]),
        ("MSH|^~\\&|A\r\nPID|1\r\n", vec!["H008"]),
        ("MSH|^~\\&|A\r\r\rPID|1", vec!["H009"]),
        ("\u{feff}MSH|^~\\&|A\rPID|1\r", vec![]),
    ] {
        let f = Hl7File::parse_str(input);
        assert_eq!(f.segment_count(), 2, "{input:?}");
        assert_eq!(codes_of(&f), expect, "{input:?}");
    }
    // A BOM in raw bytes is reported by the decoder.
    let f = Hl7File::parse(b"\xef\xbb\xbfMSH|^~\\&|A\rPID|1\r");
    assert_eq!(codes_of(&f), vec!["E010"]);
    assert_eq!(f.segment_count(), 2);
}

#[test]
fn several_messages_and_segments_outside() {
    let f = Hl7File::parse_str("PID|x\rMSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\rPID|2\r");
    assert_eq!(f.messages().len(), 2);
    assert_eq!(codes_of(&f), vec!["H002"]);
    let d = f.diagnostics.iter().next().unwrap();
    assert_eq!(d.location.line, Some(1));
    let second = f.messages().nth(1).unwrap();
    assert_eq!(second.segment("PID").unwrap().get(1, 0), "2");
    assert_eq!(second.segment("PID").unwrap().line(), 5);
}

#[test]
fn empty_and_non_hl7_inputs() {
    assert_eq!(codes_of(&Hl7File::parse(b"")), vec!["H001"]);
    assert_eq!(codes_of(&Hl7File::parse(b"\x1c\r\n")), vec!["H001"]);
    // The NHO sample's non-JIS file: decoded as CP932 with a warning, and it is
    // not a message.
    let f = Hl7File::parse(&[0xFB, 0xFC]);
    assert_eq!(codes_of(&f), vec!["E005", "H002"]);
}

#[test]
fn delimiters_from_msh() {
    let f = Hl7File::parse_str("MSH#@*!$#A#x@y*z$w\r");
    let m = f.messages().next().unwrap();
    let d = m.delimiters();
    assert_eq!(
        (d.field, d.component, d.repetition, d.escape, d.subcomponent),
        (b'#', b'@', b'*', '!', b'$')
    );
    assert_eq!(codes_of(&f), vec!["H004"]);
    let msh = m.segment("MSH").unwrap();
    assert_eq!(msh.field(4).unwrap().reps().len(), 2);
    assert_eq!(msh.get(4, 2), "y");
    // Unusable MSH-2: defaults assumed, error reported.
    let f = Hl7File::parse_str("MSH|^^|A\r");
    assert_eq!(codes_of(&f), vec!["H003"]);
    let f = Hl7File::parse_str("MSH\r");
    assert_eq!(codes_of(&f), vec!["H003"]);
}

#[test]
fn escapes_are_checked_with_locations() {
    let f = Hl7File::parse_str("MSH|^~\\&|A\rPID|1||x\\F\\y^a\\Zq\\~open\\end\r");
    assert_eq!(codes_of(&f), vec!["H007", "H006"]);
    let ds: Vec<_> = f.diagnostics.iter().collect();
    assert_eq!(ds[0].location.field.as_ref().unwrap().path(), "PID-3.2");
    assert_eq!(ds[1].location.field.as_ref().unwrap().path(), "PID-3.1[2]");
    let pid = f.messages().next().unwrap().segment("PID").unwrap();
    assert_eq!(pid.value(3, 1), "x|y");
}

#[test]
fn decode_issues_get_field_paths_and_phi() {
    // An undecodable byte inside PID-5 (a name) → E001 at PID-5.1[2], masked.
    let mut raw = b"MSH|^~\\&|A\rPID|1||1||A^B~C".to_vec();
    raw.push(0x80);
    raw.extend(b"D^E\r");
    let f = Hl7File::parse(&raw);
    let d = f.diagnostics.iter().find(|d| d.code.id == "E001").unwrap();
    assert_eq!(d.location.field.as_ref().unwrap().path(), "PID-5.1[2]");
    assert_eq!(d.location.byte, Some(26));
    assert_eq!(d.location.line, Some(2));
    assert_eq!(d.excerpt.as_ref().unwrap().phi(), Some(Phi::Name));
    let shown = d.render_human(Default::default());
    assert!(!shown.contains("80"), "{shown}");
}

#[test]
fn escape_left_open_at_cr_is_reported_and_parsing_continues() {
    let mut raw = jis("MSH|^~\\&|A\rPID|1||1||");
    raw.extend(b"\x1b$B4\x35"); // 患 without ESC ( B
    raw.extend(b"\rPV1|1|O\r");
    let f = Hl7File::parse(&raw);
    assert_eq!(codes_of(&f), vec!["E002"]);
    let m = f.messages().next().unwrap();
    assert_eq!(m.segment("PV1").unwrap().get(2, 0), "O");
    assert_eq!(m.segment("PID").unwrap().get(5, 0), "患");
}

#[test]
fn field_locations_point_at_raw_bytes() {
    let raw = jis("MSH|^~\\&|A\rPID|1||患者^x|y\r");
    let f = Hl7File::parse(&raw);
    let pid = f.messages().next().unwrap().segment("PID").unwrap();
    let loc = pid.field_location(4, 0);
    let b = loc.byte.unwrap() as usize;
    assert_eq!(raw[b], b'y');
    assert_eq!(loc.field.unwrap().path(), "PID-4");
}

fn sample_files() -> Vec<(String, Vec<u8>)> {
    let root = crate::shared("data/ssmix2-nho-sample/sampleData");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    assert_eq!(out.len(), 22);
    out
}

#[test]
fn nho_samples_parse_and_round_trip() {
    let mut with_colliding_bytes = 0;
    for (name, raw) in sample_files() {
        let f = Hl7File::parse(&raw);
        if raw.len() < 10 {
            continue; // the non-HL7 file, covered above
        }
        // The guideline examples are well-formed HL7; the checker's fixtures under
        // 000/000/0000001 hold bare MSH segments (no delimiters) on purpose.
        if name.contains("/999/901/") {
            assert!(!f.diagnostics.has_errors(), "{name}: {:?}", f.diagnostics);
        }
        // Count files whose JIS runs contain delimiter bytes.
        let mut in_jis = false;
        let mut i = 0;
        let mut hit = false;
        while i < raw.len() {
            if raw[i..].starts_with(b"\x1b$B") {
                in_jis = true;
                i += 3;
            } else if raw[i..].starts_with(b"\x1b(B") {
                in_jis = false;
                i += 3;
            } else {
                hit |= in_jis && b"|^~\\&".contains(&raw[i]);
                i += 1;
            }
        }
        with_colliding_bytes += usize::from(hit);
        for m in f.messages() {
            let tree = m.to_tree();
            let again = Hl7File::parse_str(&tree.write());
            let m2 = again.messages().next().unwrap();
            assert_eq!(m2.to_tree(), tree, "{name}");
        }
    }
    assert_eq!(with_colliding_bytes, 21);
}

fn value_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range(' ', '~'),
            Just('ウ'),
            Just('京'),
            Just('患'),
            Just('－'),
            Just('～'),
            Just('\r'),
            Just('\u{1c}'),
        ],
        0..6,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn segment_strategy() -> impl Strategy<Value = SegmentTree> {
    let id = "[A-Z][A-Z0-9]{2}".prop_filter("not MSH", |s| s != "MSH");
    let sub = value_strategy();
    let comp = proptest::collection::vec(sub, 1..3);
    let rep = proptest::collection::vec(comp, 1..3);
    let field = proptest::collection::vec(rep, 1..3);
    (id, proptest::collection::vec(field, 0..5)).prop_map(|(id, fields)| SegmentTree { id, fields })
}

fn message_strategy() -> impl Strategy<Value = MessageTree> {
    proptest::collection::vec(segment_strategy(), 0..4).prop_map(|mut segs| {
        let msh = SegmentTree {
            id: "MSH".into(),
            fields: vec![
                vec![vec![vec!["|".into()]]],
                vec![vec![vec!["^~\\&".into()]]],
                vec![vec![vec!["HIS".into()]]],
            ],
        };
        segs.insert(0, msh);
        MessageTree {
            delimiters: Delimiters::default(),
            segments: segs,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_parse_is_identity(tree in message_strategy()) {
        let text = tree.write();
        let f = Hl7File::parse_str(&text);
        let parsed = f.messages().next().unwrap().to_tree();
        prop_assert_eq!(&parsed, &tree);
        // Same through ISO-2022-JP bytes.
        let f = Hl7File::parse(&jis(&text));
        prop_assert!(!f.diagnostics.has_errors(), "{:?}", f.diagnostics);
        prop_assert_eq!(f.messages().next().unwrap().to_tree(), tree);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let f = Hl7File::parse(&bytes);
        for m in f.messages() {
            for s in m.segments() {
                let _ = s.location();
                for n in 0..=s.field_count() + 1 {
                    let _ = s.field_location(n, 1);
                    let _ = s.value(n, 2);
                }
            }
            let _ = m.to_tree().write();
        }
    }

    #[test]
    fn flips_of_sample_files_never_panic(
        which in 0usize..22,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let files = sample_files();
        let mut raw = files[which].1.clone();
        for (at, b) in flips {
            let i = at.index(raw.len());
            raw[i] = b;
        }
        let f = Hl7File::parse(&raw);
        for m in f.messages() {
            let _ = m.to_tree().write();
            let _ = m.message_type();
        }
    }
}

fn stray_line_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('A'),
            Just('Z'),
            Just('a'),
            Just('1'),
            Just('|'),
            Just('^'),
            Just('~'),
            Just('&'),
            Just('\\'),
            Just('\u{A5}'),
            Just('\u{FFE5}'),
            Just('F'),
            Just('漢'),
            Just(' '),
        ],
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// Every accessor and check over a parsed file (nothing may panic).
fn touch_everything(f: &Hl7File) {
    for m in f.messages() {
        for s in m.segments() {
            let _ = s.location();
            for n in 0..=s.field_count() + 1 {
                let _ = s.field_location(n, 1);
                let _ = s.rep_location(n, 2);
                let _ = s.value(n, 2);
                if let Some(field) = s.field(n) {
                    for r in field.reps() {
                        let _ = crate::ssmix2::xpn_shift(&r);
                    }
                }
            }
        }
        let _ = m.to_tree().write();
    }
    let _ = crate::ssmix2::check_message(f, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_parse_with_a_yen_escape_is_identity(
        tree in message_strategy(),
        yen in prop_oneof![Just('\u{A5}'), Just('\u{FFE5}')],
    ) {
        let mut tree = tree;
        tree.delimiters.escape = yen;
        tree.segments[0].fields[1] = vec![vec![vec![format!("^~{yen}&")]]];
        let text = tree.write();
        let f = Hl7File::parse_str(&text);
        prop_assert!(codes_of(&f).contains(&"H012"), "{:?}", f.diagnostics);
        prop_assert!(!f.diagnostics.has_errors(), "{:?}", f.diagnostics);
        prop_assert_eq!(f.messages().next().unwrap().to_tree(), tree.clone());
        if yen == '\u{FFE5}' {
            // ￥ is JIS X 0208 0x216F: the same through ISO-2022-JP bytes.
            let f = Hl7File::parse(&jis(&text));
            prop_assert!(!f.diagnostics.has_errors(), "{:?}", f.diagnostics);
            prop_assert_eq!(f.messages().next().unwrap().to_tree(), tree);
        }
    }

    #[test]
    fn yen_escapes_and_stray_lines_never_panic(
        enc in prop_oneof![
            Just("^~\u{A5}&".to_owned()),
            Just("^~\u{FFE5}&".to_owned()),
            Just("^~\\&".to_owned()),
            Just("^\u{A5}~&".to_owned()),
            Just("^~\u{A5}".to_owned()),
        ],
        lines in proptest::collection::vec(stray_line_strategy(), 0..8),
        terminator in prop_oneof![Just("\r"), Just("\n"), Just("\r\n")],
    ) {
        let mut text = format!("MSH|{enc}|A||||||ADT^A08{terminator}");
        for l in &lines {
            text.push_str(l);
            text.push_str(terminator);
        }
        let f = Hl7File::parse(text.as_bytes());
        touch_everything(&f);
        // A line kept out of the message is never silent.
        let read = f.messages().map(|m| m.segments().len()).sum::<usize>();
        let non_blank = text.split(['\r', '\n']).filter(|l| !l.trim().is_empty()).count();
        if read < non_blank {
            prop_assert!(codes_of(&f).contains(&"H013"), "{:?}", f.diagnostics);
        }
        let (b, _, bad) = encoding_rs::ISO_2022_JP.encode(&text);
        if !bad {
            touch_everything(&Hl7File::parse(&b));
        }
    }

    #[test]
    fn grammar_diagnosis_never_panics(
        ids in proptest::collection::vec(
            prop_oneof![
                Just("MSH"), Just("PID"), Just("PV1"), Just("ORC"), Just("RXE"), Just("TQ1"),
                Just("RXR"), Just("OBX"), Just("NTE"), Just("EVN"), Just("IAM"), Just("XYZ"),
            ],
            0..10,
        ),
        at in 0usize..12,
    ) {
        for t in crate::ssmix2::grammar::message_types() {
            let g = crate::ssmix2::grammar::for_message_type(t).unwrap();
            let _ = g.check(ids.iter().copied());
            let _ = g.missing_before(&ids, at);
        }
    }
}

#[test]
fn yen_escape_character_in_msh2() {
    for yen in ['\u{A5}', '\u{FFE5}'] {
        let f = Hl7File::parse_str(&format!(
            "MSH|^~{yen}&|A||||||ADT^A08\rOBX|1|ST|x||a{yen}F{yen}b{yen}E{yen}c{yen}Zq{yen}|y\\z\r"
        ));
        let m = f.messages().next().unwrap();
        assert_eq!(m.delimiters().escape, yen);
        let obx = m.segment("OBX").unwrap();
        // The yen escapes; a backslash is an ordinary character now.
        assert_eq!(obx.value(5, 1), format!("a|b{yen}c{yen}Zq{yen}"));
        assert_eq!(obx.value(6, 1), "y\\z");
        assert_eq!(codes_of(&f), vec!["H012", "H007"]);
        let d = f.diagnostics.iter().next().unwrap();
        assert_eq!(d.location.field.as_ref().unwrap().path(), "MSH-2");
    }
    // A yen elsewhere in MSH-2 is still unusable.
    let f = Hl7File::parse_str("MSH|^\u{A5}~&|A\r");
    assert_eq!(codes_of(&f), vec!["H003"]);
}

#[test]
fn a_line_that_is_no_segment_is_reported_not_read() {
    let f = Hl7File::parse_str(
        "MSH|^~\\&|A||||||\rADT^A08|1|P|2.5\rPID|1||1||Yama\rda^Taro\rpid|x\rPV1|1|O\rZZ1\r",
    );
    let m = f.messages().next().unwrap();
    let ids: Vec<&str> = m.segments().map(|s| s.id()).collect();
    assert_eq!(ids, ["MSH", "PID", "PV1", "ZZ1"]);
    let stray: Vec<_> = f
        .diagnostics
        .iter()
        .filter(|d| d.code.id == "H013")
        .collect();
    assert_eq!(stray.len(), 3);
    assert_eq!(stray[0].location.line, Some(2));
    assert_eq!(stray[0].location.byte, Some(17));
    assert!(
        stray[0].message.contains("follows MSH (segment 1)"),
        "{}",
        stray[0].message
    );
    assert!(
        stray[1].message.contains("follows PID (segment 2)"),
        "{}",
        stray[1].message
    );
    // The stray text is masked, and names no segment.
    for d in &stray {
        assert_eq!(d.excerpt.as_ref().unwrap().phi(), Some(Phi::Other));
        assert!(d.location.segment.is_none());
        let shown = d.render_human(Default::default());
        assert!(!shown.contains("Taro") && !shown.contains("ADT"), "{shown}");
    }
}

#[test]
fn tolerated_encoding_departures_are_counted_once_per_file() {
    // A file written in UTF-8: one E006 at the first place, with the count.
    let text = "MSH|^~\\&|A\rPID|1||1||山田^太郎~ヤマダ^タロウ||19800101|F|||^^^^^^^東京都\r";
    let f = Hl7File::parse(text.as_bytes());
    let e006: Vec<_> = f
        .diagnostics
        .iter()
        .filter(|d| d.code.id == "E006")
        .collect();
    assert_eq!(e006.len(), 1, "{:?}", f.diagnostics);
    assert!(e006[0].message.contains("first of "), "{}", e006[0].message);
    assert_eq!(e006[0].location.field.as_ref().unwrap().path(), "PID-5.1");
    // Errors stay one per place.
    let f = Hl7File::parse(b"MSH|^~\\&|A\rPID|1||\x80|\x80\r");
    assert_eq!(codes_of(&f), vec!["E001", "E001"]);
}

#[test]
fn every_truncation_of_every_sample_is_handled() {
    for (name, raw) in sample_files() {
        let full = Hl7File::parse(&raw).segment_count();
        for cut in 0..raw.len() {
            let f = Hl7File::parse(&raw[..cut]);
            assert!(f.segment_count() <= full, "{name} cut at {cut}");
            // Nothing vanishes silently: an input that lost all its segments says so.
            if f.segment_count() == 0 {
                assert!(!f.diagnostics.is_empty(), "{name} cut at {cut}");
            }
        }
    }
}
