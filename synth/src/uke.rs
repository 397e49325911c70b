//! Synthetic レセ電 UKE (医科) files: real format (CP932, CR LF, final 0x1A), both date layouts,
//! N receipts, deterministic for a seed. Every person is fictitious.

use crate::rng::Rng;
use encoding_rs::SHIFT_JIS;

/// How dates are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Older layout: `GYYMMDD` / `GYYMM` (年号区分 + era year).
    Era,
    /// Current layout: `YYYYMMDD` / `YYYYMM`.
    Western,
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Number of receipts.
    pub receipts: u32,
    /// Date layout.
    pub layout: Layout,
}

const FAMILY: &[(&str, &str)] = &[
    ("架空", "カクウ"),
    ("試験", "シケン"),
    ("見本", "ミホン"),
    ("仮名", "カメイ"),
    ("例示", "レイジ"),
];
const GIVEN: &[(&str, &str)] = &[
    ("一郎", "イチロウ"),
    ("花子", "ハナコ"),
    ("次郎", "ジロウ"),
    ("桜", "サクラ"),
    ("太郎", "タロウ"),
];
const DISEASES: &[&str] = &["3721002", "2749004", "4019004", "2500013", "4660007"];
const MODIFIERS: &[&str] = &["", "", "8002", "1052", "80022056"];
const PROCEDURES: &[(&str, u32)] = &[
    ("111000110", 288),
    ("112007410", 73),
    ("120002910", 60),
    ("160000310", 25),
];
const DRUGS: &[(&str, &str)] = &[("620098401", "3"), ("610406047", "1"), ("620004855", "2.5")];
const INSURERS: &[&str] = &["06139999", "  133066", "01130012", "39131008"];

fn era_ym(y: u32, m: u32) -> String {
    // 令和 from 2019-05, 平成 before.
    if (y, m) >= (2019, 5) {
        format!("5{:02}{m:02}", y - 2018)
    } else {
        format!("4{:02}{m:02}", y - 1988)
    }
}

fn era_ymd(y: u32, m: u32, d: u32) -> String {
    let g = if (y, m, d) >= (2019, 5, 1) {
        (5, y - 2018)
    } else if (y, m, d) >= (1989, 1, 8) {
        (4, y - 1988)
    } else {
        (3, y - 1925)
    };
    format!("{}{:02}{m:02}{d:02}", g.0, g.1)
}

struct Dates(Layout);

impl Dates {
    fn ym(&self, y: u32, m: u32) -> String {
        match self.0 {
            Layout::Era => era_ym(y, m),
            Layout::Western => format!("{y:04}{m:02}"),
        }
    }
    fn ymd(&self, y: u32, m: u32, d: u32) -> String {
        match self.0 {
            Layout::Era => era_ymd(y, m, d),
            Layout::Western => format!("{y:04}{m:02}{d:02}"),
        }
    }
}

fn days(rng: &mut Rng, count: u32) -> String {
    let mut v = vec![String::new(); 31];
    for _ in 0..count.max(1) {
        let d = rng.below(28) as usize;
        let n: u32 = v[d].parse().unwrap_or(0);
        v[d] = (n + 1).to_string();
    }
    v.join(",")
}

/// The lines (without line ends) of a file, as text.
pub fn lines(opts: &Options, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let dt = Dates(opts.layout);
    let (y, m) = (2024u32, 4u32);
    let mut out = Vec::new();
    out.push(format!(
        "IR,1,13,1,1234567,,架空総合病院,{},00,03-0000-0000",
        dt.ym(y, m)
    ));
    let mut ho_ko = 0u64;
    let mut total = 0u64;
    for r in 1..=opts.receipts {
        let (fam, fam_k) = *rng.pick(FAMILY);
        let (giv, giv_k) = *rng.pick(GIVEN);
        let sex = 1 + rng.below(2);
        let by = 1940 + rng.below(70) as u32;
        let bm = 1 + rng.below(12) as u32;
        let bd = 1 + rng.below(28) as u32;
        let karte = format!("{:08}", 1 + rng.below(99_999));
        let mut re = vec![
            "RE".to_owned(),
            r.to_string(),
            "1112".into(),
            dt.ym(y, m),
            format!("{fam}　{giv}"),
            sex.to_string(),
            dt.ymd(by, bm, bd),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            karte,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ];
        re.extend(std::iter::repeat_n(String::new(), 15));
        re.push(format!("{fam_k}　{giv_k}"));
        re.push(String::new());
        out.push(re.join(","));
        // Acts first, to know the total.
        let mut body = Vec::new();
        let mut points = 0u64;
        for i in 0..1 + rng.below(3) {
            let modifier = *rng.pick(MODIFIERS);
            let main = if i == 0 { "01" } else { "" };
            body.push(format!(
                "SY,{},{},1,{modifier},,{main},",
                rng.pick(DISEASES),
                dt.ymd(y, m, 1 + i as u32)
            ));
        }
        for _ in 0..1 + rng.below(3) {
            let (code, p) = *rng.pick(PROCEDURES);
            let n = 1 + rng.below(2) as u32;
            points += u64::from(p * n);
            body.push(format!(
                "SI,11,1,{code},,{p},{n},,,,,,,{}",
                days(&mut rng, n)
            ));
        }
        for _ in 0..rng.below(3) {
            let (code, qty) = *rng.pick(DRUGS);
            let n = 1 + rng.below(14) as u32;
            let p = 1 + rng.below(20) as u32;
            points += u64::from(p * n);
            body.push(format!(
                "IY,21,1,{code},{qty},{p},{n},,,,,,,{}",
                days(&mut rng, n)
            ));
        }
        if rng.below(4) == 0 {
            body.push("CO,11,1,810000001,全角の自由記載コメント".to_owned());
        }
        let insurer = *rng.pick(INSURERS);
        out.push(format!(
            "HO,{insurer},{:04},{},1,{points},,,,,,{},,,",
            r % 10000,
            1000 + rng.below(9000),
            points * 3
        ));
        ho_ko += 1;
        total += points;
        if rng.below(5) == 0 {
            out.push(format!(
                "KO,54136015,{:07},,1,{points},0,,,,,",
                rng.below(9_999_999)
            ));
            ho_ko += 1;
        }
        if opts.layout == Layout::Western {
            out.push(format!("SN,1,01,{insurer},,,{:02},,", rng.below(3)));
            let mut jd = vec!["JD".to_owned(), "1".into()];
            jd.extend((1..=31).map(|d| {
                if d % 7 == 1 {
                    "1".to_owned()
                } else {
                    String::new()
                }
            }));
            out.push(jd.join(","));
            let mut mf = vec!["MF".to_owned(), "01".into()];
            mf.extend(std::iter::repeat_n(String::new(), 31));
            out.push(mf.join(","));
        }
        out.extend(body);
    }
    out.push(format!("GO,{ho_ko},{total},99"));
    out
}

/// A whole file: CP932 bytes, CR LF after every record, then 0x1A.
pub fn generate(opts: &Options, seed: u64) -> Vec<u8> {
    let mut text = lines(opts, seed).join("\r\n");
    text.push_str("\r\n");
    let (bytes, _, _) = SHIFT_JIS.encode(&text);
    let mut v = bytes.into_owned();
    v.push(0x1A);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_well_formed() {
        let o = Options {
            receipts: 5,
            layout: Layout::Western,
        };
        let a = generate(&o, 42);
        assert_eq!(a, generate(&o, 42));
        assert_ne!(a, generate(&o, 43));
        assert_eq!(a.last(), Some(&0x1A));
        assert!(a.ends_with(b"\r\n\x1a"));
        assert!(a.starts_with(b"IR,1,13,1,1234567,,"));
        let e = generate(
            &Options {
                receipts: 2,
                layout: Layout::Era,
            },
            1,
        );
        assert!(e.ends_with(b"\r\n\x1a"));
        assert!(
            lines(
                &Options {
                    receipts: 2,
                    layout: Layout::Era
                },
                1
            )[0]
            .ends_with(",50604,00,03-0000-0000")
        );
    }
}
