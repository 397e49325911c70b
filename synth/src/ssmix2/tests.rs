// Test data here is ASCII (ids, dates, codes), so byte slicing is safe.
#![allow(clippy::string_slice)]

use super::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A small stand-in for the JP-CLINS lab code systems: 14 core groups (serum and
/// blood) and two infection result groups.
fn lab_codes() -> Vec<LabCode> {
    let core = [
        ("3A015000002327101", "アルブミン", "ALB"),
        ("3A010000002327101", "総蛋白", "TP"),
        ("3B035000002327201", "AST", "AST"),
        ("3B045000002327201", "ALT", "ALT"),
        ("3B050000002327201", "LD", "LD"),
        ("3C015000002327101", "クレアチニン", "Cre"),
        ("3C025000002327101", "尿素窒素", "BUN"),
        ("3H010000002326101", "ナトリウム", "Na"),
        ("3H015000002326101", "カリウム", "K"),
        ("3D010000002327101", "グルコース", "BG"),
        ("5C070000002306001", "ＣＲＰ", "CRP"),
        ("2A990000001930952", "血算-白血球数", "WBC"),
        ("2A030000001930101", "血色素量", "Hb"),
        ("1A990000000191154", "尿糖", "U-Glu"),
    ];
    let infection = [
        ("5F016141002302311", "HBs抗原(判定)", "HBs-AG-RESULT"),
        ("5E071000002399811", "梅毒反応", "STS-RESULT"),
    ];
    core.iter()
        .map(|c| (c, LabSet::Core))
        .chain(infection.iter().map(|c| (c, LabSet::Infection)))
        .map(|(&(code, name, group), set)| LabCode {
            code: code.into(),
            name: name.into(),
            group: group.into(),
            set,
        })
        .collect()
}

fn storage(patients: u64, seed: u64, fault_rate: f64) -> Vec<(PathBuf, Vec<u8>)> {
    generate(
        &Options {
            patients,
            fault_rate,
        },
        seed,
        &lab_codes(),
    )
    .collect()
}

fn decode(bytes: &[u8]) -> Option<String> {
    encoding_rs::ISO_2022_JP
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
}

fn parts(path: &Path) -> Vec<String> {
    path.iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect()
}

/// The segments of a decoded message, fields split (no escapes are generated).
fn segments(text: &str) -> Vec<Vec<&str>> {
    text.split('\r')
        .filter(|s| !s.is_empty())
        .map(|s| s.split('|').collect())
        .collect()
}

fn field<'a>(segs: &[Vec<&'a str>], name: &str, n: usize) -> Option<&'a str> {
    segs.iter()
        .find(|s| s[0] == name)
        .and_then(|s| s.get(n).copied())
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let a = storage(40, 7, 0.2);
    let b = storage(40, 7, 0.2);
    assert_eq!(a, b);
    let c = storage(40, 8, 0.2);
    assert_ne!(a, c);
}

#[test]
fn a_patient_does_not_depend_on_the_number_of_patients() {
    let small = storage(5, 3, 0.0);
    let big = storage(50, 3, 0.0);
    assert_eq!(small[..], big[..small.len()]);
    assert!(big.len() > small.len());
}

#[test]
fn every_file_name_agrees_with_its_folders() {
    let files = storage(200, 11, 0.0);
    assert!(files.len() > 1000, "{} files", files.len());
    for (path, _) in &files {
        let p = parts(path);
        assert_eq!(p.len(), 6, "{path:?}");
        let name: Vec<&str> = p[5].split('_').collect();
        assert_eq!(name.len(), 7, "{path:?}");
        let id = name[0];
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(p[0], id[..3]);
        assert_eq!(p[1], id[3..6]);
        assert_eq!(p[2], id);
        assert_eq!(p[3], name[1], "care date");
        assert_eq!(p[4], name[2], "data type");
        assert_eq!(name[3].len(), 15, "order number {path:?}");
        assert_eq!(name[4].len(), 17, "発生日時 {path:?}");
        assert!(["0", "1", "2"].contains(&name[6]));
        let dated = !matches!(name[2], "ADT-00" | "ADT-61" | "PPR-01");
        assert_eq!(name[1] != "-", dated, "{path:?}");
        assert_eq!(name[3] == NO_ORDER, !matches!(name[2], "OMP-01" | "OML-11"));
    }
}

#[test]
fn messages_are_valid_iso_2022_jp_and_match_their_file_names() {
    let files = storage(150, 5, 0.0);
    let mut types = BTreeMap::new();
    let mut obx_counts = Vec::new();
    for (path, bytes) in &files {
        assert!(bytes.iter().all(|b| *b < 0x80), "7-bit: {path:?}");
        let text = decode(bytes).unwrap_or_else(|| panic!("undecodable: {path:?}"));
        // Decode → encode gives the same bytes: nothing was unmappable.
        assert_eq!(&encoding_rs::ISO_2022_JP.encode(&text).0[..], &bytes[..]);
        assert!(text.ends_with('\r'));
        assert!(
            !text.contains("&#"),
            "numeric character reference: {path:?}"
        );
        assert!(!text.contains('\n'));
        let p = parts(path);
        let segs = segments(&text);
        assert_eq!(segs[0][0], "MSH");
        assert_eq!(segs[0][1], "^~\\&");
        let msh9 = segs[0][8];
        let expected = match p[4].as_str() {
            "ADT-00" => "ADT^A08^ADT_A01",
            "ADT-22" => "ADT^A01^ADT_A01",
            "ADT-42" => "ADT^A02^ADT_A02",
            "ADT-52" => "ADT^A03^ADT_A03",
            "ADT-61" => "ADT^A60^ADT_A60",
            "PPR-01" => "PPR^ZD1^PPR_ZD1",
            "OMP-01" => "RDE^O11^RDE_O11",
            "OML-11" => "OUL^R22^OUL_R22",
            other => panic!("unexpected data type {other}"),
        };
        assert_eq!(msh9, expected);
        *types.entry(p[4].clone()).or_insert(0) += 1;
        let pid3 = field(&segs, "PID", 3).unwrap_or("");
        assert_eq!(pid3, format!("{}^^^^PI", p[2]));
        // The care date in the message agrees with the folder.
        let care = match p[4].as_str() {
            "OMP-01" => field(&segs, "ORC", 9),
            "OML-11" => field(&segs, "SPM", 17),
            "ADT-22" => field(&segs, "PV1", 44),
            "ADT-42" => field(&segs, "EVN", 6),
            "ADT-52" => field(&segs, "PV1", 45),
            _ => None,
        };
        if let Some(care) = care {
            assert_eq!(&care[..8], p[3], "{path:?}");
        }
        if p[4] == "OML-11" {
            obx_counts.push(segs.iter().filter(|s| s[0] == "OBX").count());
        }
        if p[4] == "ADT-00" {
            let name = field(&segs, "PID", 5).unwrap_or("");
            assert!(
                name.ends_with("^^^^^L^P") && name.contains("^^^^^L^I~"),
                "{name}"
            );
            assert!(field(&segs, "IN1", 3).is_some());
        }
    }
    for t in [
        "ADT-00", "ADT-22", "ADT-42", "ADT-52", "ADT-61", "PPR-01", "OMP-01", "OML-11",
    ] {
        assert!(
            types.get(t).copied().unwrap_or(0) > 0,
            "{t} missing: {types:?}"
        );
    }
    let mean = obx_counts.iter().sum::<usize>() as f64 / obx_counts.len() as f64;
    assert!((8.0..=13.0).contains(&mean), "mean OBX per OML-11: {mean}");
}

#[test]
fn condition_flags_include_superseded_and_deleted_files() {
    let files = storage(300, 2, 0.0);
    let mut by_order: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    let mut flags = BTreeMap::new();
    for (path, _) in &files {
        let p = parts(path);
        let name: Vec<&str> = p[5].split('_').collect();
        *flags.entry(name[6].to_owned()).or_insert(0) += 1;
        by_order
            .entry((p[2].clone(), format!("{}_{}", name[2], name[3])))
            .or_default()
            .push((name[4].to_owned(), name[6].to_owned()));
    }
    assert!(
        flags["0"] > 0 && flags["2"] > 0 && flags["1"] > flags["2"],
        "{flags:?}"
    );
    // Every superseded file has a newer current one for the same order.
    let mut corrected = 0;
    for versions in by_order.values() {
        for (ts, flag) in versions {
            if flag == "2" {
                corrected += 1;
                assert!(
                    versions.iter().any(|(t, f)| f == "1" && t > ts),
                    "{versions:?}"
                );
            }
        }
    }
    assert!(corrected > 0);
}

/// Whether any JIS X 0208 run contains `delim` as one of its bytes.
fn jis_bytes_contain(bytes: &[u8], delim: u8) -> bool {
    let mut jis = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1B && i + 2 < bytes.len() {
            jis = bytes[i + 1] == b'$';
            i += 3;
            continue;
        }
        if jis && bytes[i] == delim {
            return true;
        }
        i += 1;
    }
    false
}

#[test]
fn characters_whose_jis_bytes_are_delimiters_really_occur() {
    let files = storage(100, 1, 0.0);
    for delim in [b'|', b'^', b'~', b'\\', b'&'] {
        let n = files
            .iter()
            .filter(|(_, b)| jis_bytes_contain(b, delim))
            .count();
        assert!(
            n * 10 > files.len(),
            "{} in {n} of {} files",
            delim as char,
            files.len()
        );
    }
}

/// Does a CR arrive while the JIS X 0208 escape is open?
fn cr_in_jis_mode(bytes: &[u8]) -> bool {
    let mut jis = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x1B if i + 2 < bytes.len() => {
                jis = bytes[i + 1] == b'$';
                i += 3;
                continue;
            }
            b'\r' if jis => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

#[test]
fn every_fault_in_the_manifest_is_in_its_file() {
    let files = storage(400, 9, 0.3);
    let (manifest_path, manifest) = files.last().unwrap();
    assert_eq!(manifest_path, Path::new(FAULT_MANIFEST));
    let manifest = String::from_utf8(manifest.clone()).unwrap();
    let mut lines = manifest.lines();
    assert_eq!(lines.next(), Some("path\tfault\tdetail"));
    let by_path: BTreeMap<String, &Vec<u8>> = files
        .iter()
        .map(|(p, b)| (p.to_string_lossy().replace('\\', "/"), b))
        .collect();
    let mut seen = BTreeMap::new();
    let mut faulty = std::collections::BTreeSet::new();
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{line}");
        let kind = FaultKind::from_token(cols[1]).unwrap_or_else(|| panic!("{line}"));
        assert!(!cols[2].is_empty(), "detail: {line}");
        let bytes = by_path
            .get(cols[0])
            .unwrap_or_else(|| panic!("no file {line}"));
        assert!(
            faulty.insert(cols[0].to_owned()),
            "one fault per file: {line}"
        );
        *seen.entry(cols[1]).or_insert(0) += 1;
        let p: Vec<&str> = cols[0].split('/').collect();
        let name: Vec<&str> = p[5].split('_').collect();
        let text = decode(bytes);
        match kind {
            FaultKind::PidMismatch => {
                let segs_text = text.unwrap();
                let segs = segments(&segs_text);
                assert_ne!(field(&segs, "PID", 3), Some(&*format!("{}^^^^PI", p[2])));
            }
            FaultKind::CareDateMismatch => {
                let (seg, n) = match p[4] {
                    "OMP-01" => ("ORC", 9),
                    "OML-11" => ("SPM", 17),
                    "ADT-22" => ("PV1", 44),
                    "ADT-42" => ("EVN", 6),
                    _ => ("PV1", 45),
                };
                let t = text.unwrap();
                let segs = segments(&t);
                assert_ne!(&field(&segs, seg, n).unwrap()[..8], p[3], "{line}");
            }
            FaultKind::UnterminatedEscape => assert!(cr_in_jis_mode(bytes), "{line}"),
            FaultKind::Cp932Leak => {
                assert!(bytes.iter().any(|b| *b >= 0x80), "{line}");
                assert!(text.is_none(), "{line}");
            }
            FaultKind::StrayFs => assert!(bytes.contains(&0x1C), "{line}"),
            FaultKind::Bom => assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "{line}"),
            FaultKind::MissingSegment => {
                let missing = cols[2].split(' ').next().unwrap();
                let t = text.unwrap();
                assert!(segments(&t).iter().all(|s| s[0] != missing), "{line}");
            }
            FaultKind::ShortOrderNumber => {
                assert_eq!(name[3].len(), 13, "{line}");
                let t = text.unwrap();
                assert_eq!(field(&segments(&t), "ORC", 2), Some(name[3]));
            }
            FaultKind::BadDateInName => assert_eq!(&name[4][4..6], "13", "{line}"),
            FaultKind::BadDateInField => {
                let t = text.unwrap();
                assert!(field(&segments(&t), "PID", 7).unwrap().ends_with("0230"));
            }
        }
    }
    for k in FaultKind::ALL {
        assert!(
            seen.get(k.as_str()).copied().unwrap_or(0) > 0,
            "{} never injected: {seen:?}",
            k.as_str()
        );
    }
    // Files not in the manifest are clean.
    for (path, bytes) in &by_path {
        if path != FAULT_MANIFEST && !faulty.contains(path) {
            assert!(decode(bytes).is_some(), "{path}");
            assert!(!cr_in_jis_mode(bytes) && !bytes.contains(&0x1C), "{path}");
        }
    }
}

#[test]
fn no_manifest_without_faults() {
    assert!(
        storage(30, 4, 0.0)
            .iter()
            .all(|(p, _)| p != Path::new(FAULT_MANIFEST))
    );
}

#[test]
fn lab_results_use_the_given_codes_and_fall_back_to_the_sample() {
    let codes = lab_codes();
    let files = storage(60, 6, 0.0);
    let mut used = 0;
    for (path, bytes) in &files {
        if parts(path)[4] != "OML-11" {
            continue;
        }
        let text = decode(bytes).unwrap();
        for s in segments(&text).iter().filter(|s| s[0] == "OBX") {
            let code = s[3].split('^').next().unwrap();
            assert!(codes.iter().any(|c| c.code == code), "{code}");
            assert!(s[3].ends_with("^JC10"));
            used += 1;
        }
    }
    assert!(used > 100);
    let fallback: Vec<_> = generate(&Options::default(), 1, &[]).collect();
    assert!(fallback.iter().any(|(p, b)| parts(p)[4] == "OML-11"
        && decode(b).unwrap().contains("3A010000002327101^総蛋白^JC10")));
}

#[test]
fn insurer_numbers_carry_a_valid_check_digit() {
    // 全国健康保険協会 東京支部 is 01130012 (the NHO sample's ZI1-3 without its
    // leading zero): 0113001 checks to 2.
    assert_eq!(insurer_check_digit("0113001"), 2);
    assert_eq!(insurer_check_digit("0613999"), 2);
    for (path, bytes) in storage(40, 12, 0.0) {
        if parts(&path)[4] == "ADT-00" {
            let text = decode(&bytes).unwrap();
            let n = field(&segments(&text), "IN1", 3).unwrap().to_owned();
            assert_eq!(n.len(), 8);
            let check = u32::from(n.as_bytes()[7] - b'0');
            assert_eq!(insurer_check_digit(&n[..7]), check);
        }
    }
}

#[test]
fn names_outside_jis_x_0208_are_made_encodable() {
    assert_eq!(jis_text("\u{2F8E}液型-ABO"), "血液型-ABO");
    assert_eq!(jis_text("尿蛋\u{2F69}"), "尿蛋白");
    assert_eq!(jis_text("𠮷野家－１"), "■野家－１");
    let mut codes = lab_codes();
    codes[0].name = "\u{2F8E}清アルブミン𠮷".into();
    let files: Vec<_> = generate(
        &Options {
            patients: 80,
            fault_rate: 0.0,
        },
        1,
        &codes,
    )
    .collect();
    let mut seen = false;
    for (_, bytes) in &files {
        let text = decode(bytes).unwrap();
        assert!(!text.contains("&#"), "numeric character reference");
        seen |= text.contains("血清アルブミン■");
    }
    assert!(seen);
}

#[test]
fn transfers_lie_inside_their_stay_and_return_to_the_bed() {
    let files = storage(300, 7, 0.0);
    // patient → (admission PV1-44, discharge PV1-45, PV1-3 at admission, transfers)
    type StayInfo = (String, String, String, Vec<(String, String, String)>);
    let mut stays: BTreeMap<String, StayInfo> = BTreeMap::new();
    for (path, bytes) in &files {
        let p = parts(path);
        if !matches!(p[4].as_str(), "ADT-22" | "ADT-42" | "ADT-52") {
            continue;
        }
        let text = decode(bytes).unwrap();
        let segs = segments(&text);
        let e = stays.entry(p[2].clone()).or_default();
        let f = |s: &str, n: usize| field(&segs, s, n).unwrap_or("").to_owned();
        match p[4].as_str() {
            "ADT-22" => {
                e.0 = f("PV1", 44);
                e.2 = f("PV1", 3);
            }
            "ADT-52" => e.1 = f("PV1", 45),
            _ => {
                assert_eq!(segs[0][8], "ADT^A02^ADT_A02");
                assert_eq!(&f("EVN", 6)[..8], p[3].as_str(), "{path:?}");
                e.3.push((f("EVN", 6), f("PV1", 3), f("PV1", 6)));
            }
        }
    }
    let with_transfers: Vec<_> = stays.values().filter(|s| !s.3.is_empty()).collect();
    assert!(!with_transfers.is_empty());
    for (admit, discharge, bed, transfers) in with_transfers {
        let mut t = transfers.clone();
        t.sort();
        assert_eq!(t.len(), 2);
        assert!(admit.as_str() < t[0].0.as_str() && t[1].0.as_str() < discharge.as_str());
        // Out of the admission bed to the ICU, then back.
        assert_eq!(&t[0].2, bed);
        assert!(t[0].1.starts_with("ICU^"));
        assert_eq!(t[1].2, t[0].1);
        assert_eq!(&t[1].1, bed);
    }
}
