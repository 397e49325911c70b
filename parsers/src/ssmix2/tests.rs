use super::*;
use std::path::PathBuf;

fn storage_root() -> PathBuf {
    crate::shared("data/ssmix2-nho-sample/sampleData")
}

/// Every file of the NHO sample with its path components relative to the root.
fn sample() -> Vec<(Vec<String>, Vec<u8>)> {
    let root = storage_root();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&root).unwrap();
                let comps = rel
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                out.push((comps, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn read(comps: &[String], bytes: &[u8]) -> MessageFile {
    let c: Vec<&str> = comps.iter().map(String::as_str).collect();
    read_file(&c, bytes)
}

fn ids(f: &MessageFile) -> Vec<&'static str> {
    f.diagnostics.iter().map(|d| d.code.id).collect()
}

#[test]
fn guideline_examples_have_no_errors_and_their_known_oddities_are_warnings() {
    let mut pid_mismatch = 0;
    let mut date_mismatch = 0;
    let mut short_order = 0;
    for (comps, bytes) in sample().iter().filter(|(c, _)| c[0] == "999") {
        let f = read(comps, bytes);
        assert!(
            !f.diagnostics.has_errors(),
            "{comps:?}: {:#?}",
            f.diagnostics
        );
        let codes = ids(&f);
        pid_mismatch += usize::from(codes.contains(&"S014"));
        date_mismatch += usize::from(codes.contains(&"S015"));
        short_order += usize::from(codes.contains(&"S004"));
        assert_eq!(f.name.as_ref().unwrap().condition, ConditionFlag::Current);
    }
    // SOURCE.md: PID-3 differs in 10 files; care date in 4; one 13-digit order no.
    assert_eq!(pid_mismatch, 10);
    assert_eq!(date_mismatch, 4);
    assert_eq!(short_order, 1);
}

#[test]
fn intentionally_broken_files_yield_their_errors() {
    let files = sample();
    let broken: Vec<_> = files.iter().filter(|(c, _)| c[0] == "000").collect();
    assert_eq!(broken.len(), 3);
    for (comps, bytes) in broken {
        let f = read(comps, bytes);
        let codes = ids(&f);
        assert!(f.diagnostics.has_errors(), "{comps:?}: {codes:?}");
        if comps[4] == "ADT-31" {
            // Not JIS, not HL7, name disagrees with every folder.
            assert!(
                codes.contains(&"E005") && codes.contains(&"H002"),
                "{codes:?}"
            );
            assert_eq!(
                codes.iter().filter(|c| **c == "S005").count(),
                4,
                "{codes:?}"
            );
        } else {
            // 36 or 35 segments, several MSH, bad NM/TS values, grammar deviation.
            assert!(codes.contains(&"S008"), "{codes:?}");
            assert!(codes.contains(&"S017"), "{codes:?}");
            assert!(codes.contains(&"S016"), "{codes:?}");
            assert!(codes.contains(&"S014"), "{codes:?}");
        }
    }
    let deleted = files
        .iter()
        .filter(|(c, _)| c[5].ends_with("_0"))
        .map(|(c, b)| read(c, b))
        .next()
        .unwrap();
    assert_eq!(deleted.name.unwrap().condition, ConditionFlag::Deleted);
}

#[test]
fn file_names_and_paths() {
    let mut d = Diagnostics::default();
    let n = FileName::parse(
        "9999013_-_ADT-00_999999999999999_20111220224447339_-_1",
        &mut d,
    )
    .unwrap();
    assert!(d.is_empty());
    assert_eq!(n.care_date, None);
    assert_eq!(n.department, None);
    let mut d = Diagnostics::default();
    assert!(FileName::parse("a_b_c", &mut d).is_none());
    assert_eq!(d.iter().next().unwrap().code.id, "S001");
    let mut d = Diagnostics::default();
    assert!(FileName::parse("1_20110230_XYZ_12_2011_-_7", &mut d).is_none());
    assert_eq!(
        classify_path(&["999", "901", "9999013", "-", "ADT-00", "f"]),
        PathKind::Message
    );
    assert_eq!(
        classify_path(&[
            "999",
            "901",
            "9999013",
            "20111220",
            "^退院時サマリー^^18842-5^退院時サマリー^LN",
            "c",
            "main.xml"
        ]),
        PathKind::Extended
    );
    assert_eq!(classify_path(&["README"]), PathKind::Other);
}

#[test]
fn versions_are_ordered_by_written_at() {
    let mut d = Diagnostics::default();
    let mut names: Vec<FileName> = [
        "1_20240101_OMP-01_000000000000001_20240102000000000_01_1",
        "1_20240101_OMP-01_000000000000001_20240101000000000_01_2",
    ]
    .iter()
    .map(|n| FileName::parse(n, &mut d).unwrap())
    .collect();
    order_versions(&mut names);
    assert_eq!(names[0].condition, ConditionFlag::Superseded);
    assert_eq!(names[1].condition, ConditionFlag::Current);
}
