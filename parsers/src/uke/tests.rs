//! Unit tests of the UKE reader over small hand-made files.

use super::*;
use encoding_rs::SHIFT_JIS;

fn sjis(lines: &[&str]) -> Vec<u8> {
    let text = lines.join("\r\n") + "\r\n";
    let (b, _, bad) = SHIFT_JIS.encode(&text);
    assert!(!bad);
    let mut v = b.into_owned();
    v.push(0x1A);
    v
}

fn codes_of(f: &UkeFile) -> Vec<&'static str> {
    f.all_diagnostics().map(|d| d.code.id).collect()
}

fn re(ym: &str, birth: &str, karte: &str) -> String {
    let mut f = vec!["RE", "1", "1112", ym, "架空　一郎", "1", birth];
    f.extend(["", "", "", "", "", "", karte]);
    f.extend([""; 22]);
    f.extend(["カクウ　イチロウ", ""]);
    f.join(",")
}

fn minimal(ym: &str, birth: &str, start: &str) -> Vec<String> {
    vec![
        format!("IR,1,13,1,1234567,,架空病院,{ym},00,03"),
        re(ym, birth, "123"),
        "HO,06139999,１,２,1,10,,,,,,30,,,".to_owned(),
        format!("SY,3721002,{start},1,8002,,01,"),
        "GO,1,10,99".to_owned(),
    ]
}

fn parse_lines(lines: &[String]) -> UkeFile {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    parse(&sjis(&refs))
}

#[test]
fn clean_western_file_has_only_the_layout_note() {
    let f = parse_lines(&minimal("202404", "19800115", "20240401"));
    assert_eq!(codes_of(&f), vec!["U025"]);
    assert_eq!(f.summary.form, Some(DateForm::Western));
    assert_eq!(f.summary.kind, Some(Kind::Ika));
    assert_eq!(f.summary.receipts, 1);
    let receipts: Vec<_> = f.records.iter().map(|r| r.record.receipt).collect();
    assert_eq!(receipts, vec![None, Some(1), Some(1), Some(1), None]);
}

#[test]
fn clean_era_file_reads_dates_as_iso() {
    let f = parse_lines(&minimal("43101", "4070208", "4310109"));
    assert_eq!(codes_of(&f), vec!["U025"]);
    assert_eq!(f.summary.form, Some(DateForm::Era));
    let sy = &f.records[3].record;
    let fields = named_fields(sy, spec_for(f.summary.kind, "SY"));
    assert_eq!(fields[2].name, Some("診療開始日"));
    assert_eq!(fields[2].iso.as_deref(), Some("2019-01-09"));
    assert_eq!(fields[4].items, Some(vec!["8002"]));
}

#[test]
fn missing_end_mark_lf_and_no_final_newline_are_reported() {
    let f = parse(b"IR,1,13,1,1234567,,,202404,00,03\nGO,0,0,99");
    let c = codes_of(&f);
    for code in ["U004", "U005", "U006"] {
        assert!(c.contains(&code), "{code} missing in {c:?}");
    }
    assert_eq!(f.records.len(), 2);
}

#[test]
fn vendor_extension_and_bad_bytes_are_reported_as_hex() {
    let mut v = b"IR,1,13,1,1234567,,\x87\x40\xFF,202404,00,03\r\nGO,0,0,99\r\n".to_vec();
    v.push(0x1A);
    let f = parse(&v);
    let c = codes_of(&f);
    assert!(c.contains(&"U003") && c.contains(&"U002"), "{c:?}");
    let d = f
        .all_diagnostics()
        .find(|d| d.code.id == "U003")
        .map(|d| d.excerpt.clone());
    assert_eq!(d, Some(Some(diagnostics::Excerpt::bytes(vec![0x87, 0x40]))));
    // The decoded text keeps the character and marks the bad byte.
    assert_eq!(f.records[0].record.field(7), Some("①\u{FFFD}"));
}

#[test]
fn utf8_export_is_read_with_a_warning() {
    let text = minimal("202404", "19800115", "20240401").join("\r\n") + "\r\n\u{1A}";
    let f = parse(text.as_bytes());
    assert_eq!(f.summary.encoding, Some(Encoding::Utf8));
    assert!(codes_of(&f).contains(&"U001"));
    assert_eq!(f.records[0].record.field(7), Some("架空病院"));
}

#[test]
fn modes_lengths_and_counts() {
    let mut l = minimal("202404", "19800115", "20240401");
    l[3] = "SY,372100A,20240401,1,800,ｱｲｳ,01,".to_owned();
    l.insert(4, "SI,11,1,111000110".to_owned());
    l.insert(5, "SJ,01,これは症状,EXTRA".to_owned());
    let f = parse_lines(&l);
    let c = codes_of(&f);
    for code in ["U015", "U020", "U017", "U011", "U012"] {
        assert!(c.contains(&code), "{code} missing in {c:?}");
    }
    let d = f
        .all_diagnostics()
        .find(|d| d.code.id == "U017")
        .and_then(|d| d.location.field.clone())
        .map(|f| f.to_string());
    assert_eq!(d.as_deref(), Some("SY-6 (傷病名称)"));
}

#[test]
fn sjis_byte_lengths_decide_overlong_fields() {
    let mut l = minimal("202404", "19800115", "20240401");
    // 20 full-width characters = 40 bytes: fits; 21 = 42: too long.
    l[3] = format!("SY,0000999,20240401,1,,{},01,", "あ".repeat(20));
    assert!(!codes_of(&parse_lines(&l)).contains(&"U013"));
    l[3] = format!("SY,0000999,20240401,1,,{},01,", "あ".repeat(21));
    assert!(codes_of(&parse_lines(&l)).contains(&"U013"));
}

#[test]
fn structure_checks() {
    let l = vec![
        "RE,1".to_owned(),
        "IR,1,13,1,1234567,,架空病院,202404,00,03".to_owned(),
        "SY,3721002,20240401,1,,,01,".to_owned(),
        "HO,06139999,１,２,1,10,,,,,,30,,,".to_owned(),
        "IR,1,13,1,1234567,,架空病院,202404,00,03".to_owned(),
        "GO,2,5,99".to_owned(),
        "HO,06139999,１,２,1,10,,,,,,30,,,".to_owned(),
    ];
    let c = codes_of(&parse_lines(&l));
    for code in ["U028", "U029", "U031", "U034", "U036", "U038"] {
        assert!(c.contains(&code), "{code} missing in {c:?}");
    }
}

#[test]
fn impossible_and_outside_era_dates_are_distinguished() {
    let mut l = minimal("202404", "20230230", "20240401");
    l[3] = "SY,3721002,4310501,1,,,01,".to_owned();
    let f = parse_lines(&l);
    let c = codes_of(&f);
    assert!(
        c.contains(&"U022") && c.contains(&"U023") && c.contains(&"U024"),
        "{c:?}"
    );
    // The birth date never appears in a message.
    assert!(f.all_diagnostics().all(|d| !d.message.contains("2023")));
}

#[test]
fn dental_and_dpc_files_are_recognised_not_misread() {
    let f = parse(&sjis(&[
        "UK,1,13,3,1234567,,架空歯科,202404,00",
        "HS,1",
        "GO,0,0,99",
    ]));
    assert_eq!(f.summary.kind, Some(Kind::Dental));
    assert_eq!(codes_of(&f), vec!["U026"]);
    let mut l = minimal("202404", "19800115", "20240401");
    l.insert(4, "BU,1,2,3".to_owned());
    let f = parse_lines(&l);
    assert_eq!(f.summary.kind, Some(Kind::Dpc));
    assert!(codes_of(&f).contains(&"U026"));
    assert!(!codes_of(&f).contains(&"U010"));
}

#[test]
fn receipt_keys_and_insurer_padding() {
    let mut l = minimal("202404", "19800115", "20240401");
    l[2] = "HO,  133066,１,２,1,10,,,,,,30,,,".to_owned();
    let f = parse_lines(&l);
    let k = keys::receipt_keys(
        &f,
        &keys::KarteOptions {
            trim: true,
            zeros: keys::Zeros::PadTo(8),
        },
    );
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].karte.as_deref(), Some("00000123"));
    assert_eq!(k[0].insurer.as_deref(), Some("00133066"));
    let fb = k[0].fallback.clone().map(|f| (f.kana, f.birth, f.sex));
    assert_eq!(
        fb,
        Some((
            "カクウイチロウ".to_owned(),
            "1980-01-15".to_owned(),
            "1".to_owned()
        ))
    );
}

#[test]
fn content_sniffing() {
    assert!(looks_like_uke(b"IR,1,13,1,1234567"));
    assert!(looks_like_uke(b"\xEF\xBB\xBFUK,1"));
    assert!(!looks_like_uke(b"MSH|^~\\&|"));
    assert!(!looks_like_uke(b"IRX"));
    assert!(!looks_like_uke(b""));
}

#[test]
fn undecodable_bytes_in_a_name_are_masked() {
    let mut v = b"IR,1,13,1,1234567,,,202404,00,03\r\n".to_vec();
    let mut re_line = re("202404", "19800115", "1").into_bytes();
    // Replace the name (column 5) by an invalid byte pair.
    let name = "架空　一郎".as_bytes().to_vec();
    let pos = re_line
        .windows(name.len())
        .position(|w| w == name.as_slice())
        .unwrap_or(0);
    re_line.splice(pos..pos + name.len(), [0x81u8, 0x20]);
    v.extend(re_line);
    v.extend(b"\r\n\x1a");
    let f = parse(&v);
    let d = f.all_diagnostics().find(|d| d.code.id == "U002");
    assert_eq!(
        d.and_then(|d| d.excerpt.as_ref()).and_then(|e| e.phi()),
        Some(diagnostics::Phi::Name)
    );
}
