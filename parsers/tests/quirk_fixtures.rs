//! The input files of the golden cases for the quirks of real SS-MIX2 traffic
//! (`golden/ssmix2/quirk-*`), written from text here so that their bytes are
//! reproducible and reviewable: every person in them is fictitious. The test fails
//! when a file differs from what is written here; `UPDATE_EXPECT=1` rewrites them.
//! Each file is also parsed, to check that it shows the quirk it is for.

use parsers::hl7::Hl7File;
use std::path::{Path, PathBuf};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../golden/ssmix2")
}

/// ISO-2022-JP bytes of `text` (JIS X 0208 runs between `ESC $ B` and `ESC ( B`).
fn jis(text: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::ISO_2022_JP.encode(text);
    assert!(!bad, "not encodable in ISO-2022-JP: {text}");
    b.into_owned()
}

/// Segments joined by CR, as SS-MIX2 writes them.
fn segments(lines: &[&str]) -> String {
    let mut s = lines.join("\r");
    s.push('\r');
    s
}

const MSH_A08: &str = "MSH|^~\\&|HIS|KAKEHASHI|GW|RCV|20240401120000||ADT^A08^ADT_A01|Q0001|P|2.5||||||~ISO IR87||ISO 2022-1994";

/// (case, file, bytes) of every fixture.
fn fixtures() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut out = Vec::new();

    // 1. A yen sign as the escape character: U+00A5 in a UTF-8 file, the
    //    full-width ￥ (JIS X 0208 0x216F) in an ISO-2022-JP file. OBX-5 holds an
    //    escaped field separator written with the yen sign.
    let yen = |y: char| {
        segments(&[
            &format!(
                "MSH|^~{y}&|HIS|KAKEHASHI|GW|RCV|20240401120000||ADT^A08^ADT_A01|Q0101|P|2.5||||||~ISO IR87||ISO 2022-1994"
            ),
            "EVN||20240401120000",
            "PID|1||0000101^^^^PI||架空^花子^^^^^L^I~カクウ^ハナコ^^^^^L^P||19800101|F",
            "PV1|1|O",
            &format!("OBX|1|ST|MEMO^メモ^99XYZ||A{y}F{y}B||||||F"),
        ])
    };
    out.push((
        "quirk-yen-escape",
        "utf8-yen.hl7",
        yen('\u{A5}').into_bytes(),
    ));
    out.push(("quirk-yen-escape", "jis-yen.hl7", jis(&yen('\u{FFE5}'))));

    // 2. Segments broken across lines: an MSH split after MSH-8 (its MSH-9 on the
    //    next line), and a PID split inside the kanji name.
    out.push((
        "quirk-broken-segment",
        "msh-split.hl7",
        jis(&segments(&[
            "MSH|^~\\&|HIS|KAKEHASHI|GW|RCV|20240401120000||",
            "ADT^A08^ADT_A01|Q0201|P|2.5||||||~ISO IR87||ISO 2022-1994",
            "EVN||20240401120000",
            "PID|1||0000201^^^^PI||架空^一郎^^^^^L^I~カクウ^イチロウ^^^^^L^P||19700505|M",
            "PV1|1|O",
        ])),
    ));
    out.push((
        "quirk-broken-segment",
        "pid-split.hl7",
        jis(&segments(&[
            MSH_A08,
            "EVN||20240401120000",
            "PID|1||0000202^^^^PI||架空^",
            "次郎^^^^^L^I~カクウ^ジロウ^^^^^L^P||19720606|M",
            "PV1|1|O",
        ])),
    ));

    // 3. Name type and representation codes one component off: early (XPN-6/7)
    //    in both repetitions; late (XPN-8/9) in the kana repetition only.
    out.push((
        "quirk-xpn-shifted",
        "names-early.hl7",
        jis(&segments(&[
            MSH_A08,
            "EVN||20240401120000",
            "PID|1||0000301^^^^PI||架空^三郎^^^^L^I~カクウ^サブロウ^^^^L^P||19750707|M",
            "PV1|1|O",
        ])),
    ));
    out.push((
        "quirk-xpn-shifted",
        "names-late.hl7",
        jis(&segments(&[
            MSH_A08,
            "EVN||20240401120000",
            "PID|1||0000302^^^^PI||架空^四郎^^^^^L^I~カクウ^シロウ^^^^^^L^P||19760808|M",
            "PV1|1|O",
        ])),
    ));

    // 5. A storage file written in UTF-8 (one warning with the count, not one per
    //    field) next to a well-formed ISO-2022-JP one.
    let adt00 = |id: &str, name: &str, kana: &str| {
        segments(&[
            &format!(
                "MSH|^~\\&|HIS|KAKEHASHI|GW|RCV|20240401120000||ADT^A08^ADT_A01|Q{id}|P|2.5||||||~ISO IR87||ISO 2022-1994"
            ),
            "EVN||20240401120000",
            &format!(
                "PID|1||{id}^^^^PI||架空^{name}^^^^^L^I~カクウ^{kana}^^^^^L^P||19900909|F|||^^^^100-0001^JPN^H^東京都千代田区架空町一丁目||^PRN^PH^^^^^^^^^03-0000-0000"
            ),
            "PV1|1|O|内科病棟^101^1|||||||01^内科",
            "OBX|1|NM|9N001000000000001^身長^JC10||158.0|cm^cm^ISO+|||||F",
            "OBX|2|NM|9N006000000000001^体重^JC10||50.5|kg^kg^ISO+|||||F",
            "AL1|1|FA^食物アレルギー^HL70127|J9FA19140000^そば^JFAGY|MO^中等度^HL70128|じんましん",
        ])
    };
    out.push((
        "quirk-utf8-storage",
        "storage/000/050/0000501/-/ADT-00/0000501_-_ADT-00_999999999999999_20240401120000000_-_1",
        adt00("0000501", "五子", "イツコ").into_bytes(),
    ));
    out.push((
        "quirk-utf8-storage",
        "storage/000/050/0000502/-/ADT-00/0000502_-_ADT-00_999999999999999_20240401120000000_-_1",
        jis(&adt00("0000502", "六子", "ムツコ")),
    ));

    // 6. A prescription order whose RXE has no TQ1 (RDE^O11 requires one before
    //    RXR), then a well-formed one.
    out.push((
        "quirk-grammar-missing-tq1",
        "rde-no-tq1.hl7",
        jis(&segments(&[
            "MSH|^~\\&|HIS|KAKEHASHI|GW|RCV|20240401120000||RDE^O11^RDE_O11|Q0601|P|2.5||||||~ISO IR87||ISO 2022-1994",
            "PID|1||0000601^^^^PI||架空^七子^^^^^L^I~カクウ^ナナコ^^^^^L^P||19850101|F",
            "PV1|1|O",
            "ORC|NW|000000000000001|||||||20240401|||0001^架空^医師^^^^^^^L^^^^^I",
            "RXE||108665201^ダーゼン錠（５ｍｇ）^HOT9|1||TAB^錠^MR9P",
            "RXR|PO^口^HL70162",
            "ORC|NW|000000000000002|||||||20240401|||0001^架空^医師^^^^^^^L^^^^^I",
            "RXE||108665201^ダーゼン錠（５ｍｇ）^HOT9|1||TAB^錠^MR9P",
            "TQ1|||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||7^D|20240401",
            "RXR|PO^口^HL70162",
        ])),
    ));
    out
}

#[test]
fn quirk_fixtures_are_written_from_this_file() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut stale = Vec::new();
    for (case, file, bytes) in fixtures() {
        let path = golden().join(case).join(file);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "fixtures differ (UPDATE_EXPECT=1 rewrites them): {stale:?}"
    );
}

fn codes(bytes: &[u8]) -> Vec<&'static str> {
    Hl7File::parse(bytes)
        .diagnostics
        .iter()
        .map(|d| d.code.id)
        .collect()
}

#[test]
fn each_fixture_shows_its_quirk() {
    let all = fixtures();
    let get = |file: &str| {
        all.iter()
            .find(|(_, f, _)| f.ends_with(file))
            .map(|(_, _, b)| b.clone())
            .unwrap()
    };
    // The JIS file carries ￥ as JIS X 0208 0x216F.
    assert!(get("jis-yen.hl7").windows(5).any(|w| w == b"\x1b$B!o"));
    for f in ["utf8-yen.hl7", "jis-yen.hl7"] {
        let parsed = Hl7File::parse(&get(f));
        let obx = parsed.messages().next().unwrap().segment("OBX").unwrap();
        assert_eq!(obx.value(5, 1), "A|B", "{f}");
        assert!(codes(&get(f)).contains(&"H012"), "{f}");
        assert!(!codes(&get(f)).contains(&"H003"), "{f}");
    }
    assert!(codes(&get("msh-split.hl7")).contains(&"H013"));
    assert!(codes(&get("pid-split.hl7")).contains(&"H013"));
    let utf8 = codes(&get(
        "0000501_-_ADT-00_999999999999999_20240401120000000_-_1",
    ));
    assert_eq!(utf8.iter().filter(|c| **c == "E006").count(), 1, "{utf8:?}");
}
