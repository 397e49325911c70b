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

/// Receipts for the patients of a storage that [`crate::ssmix2::generate`] made: the same
/// hospital's claims, so they carry the patients' ids (カルテ番号), names, birth dates, sex
/// and insurers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Storage {
    /// The storage's seed.
    pub seed: u64,
    /// How many of its patients (the first ones) get a receipt.
    pub patients: u64,
    /// Give the last of them a second receipt whose SN 枝番 differs from the first's
    /// (a conflict a linker must report, not resolve).
    pub conflicting_branch: bool,
}

/// Who a receipt is for.
struct Who {
    karte: String,
    name: String,
    kana: String,
    sex: u64,
    birth: (u32, u32, u32),
    insurer: String,
    symbol: String,
    number: String,
    branch: String,
}

fn random_who(rng: &mut Rng, r: u32) -> Who {
    let (fam, fam_k) = *rng.pick(FAMILY);
    let (giv, giv_k) = *rng.pick(GIVEN);
    let sex = 1 + rng.below(2);
    let by = 1940 + rng.below(70) as u32;
    let bm = 1 + rng.below(12) as u32;
    let bd = 1 + rng.below(28) as u32;
    let karte = format!("{:08}", 1 + rng.below(99_999));
    Who {
        karte,
        name: format!("{fam}　{giv}"),
        kana: format!("{fam_k}　{giv_k}"),
        sex,
        birth: (by, bm, bd),
        insurer: String::new(),
        symbol: format!("{:04}", r % 10000),
        number: String::new(),
        branch: String::new(),
    }
}

fn storage_who(p: &crate::ssmix2::Person, branch: u64) -> Who {
    Who {
        karte: p.id.clone(),
        name: format!("{}　{}", p.family.0, p.given.0),
        kana: format!("{}　{}", p.family.1, p.given.1),
        sex: if p.female { 2 } else { 1 },
        birth: (p.birth.0 as u32, p.birth.1, p.birth.2),
        insurer: p.insurer.clone(),
        // The generated storage's IN1 carries no 記号・番号: neither do its receipts, so
        // both sources describe the same insurance.
        symbol: String::new(),
        number: String::new(),
        branch: format!("{branch:02}"),
    }
}

/// The lines (without line ends) of a file, as text.
pub fn lines(opts: &Options, seed: u64) -> Vec<String> {
    lines_for(opts, None, seed)
}

/// The lines of a file with receipts for a generated storage's patients first (see
/// [`Storage`]), then `opts.receipts` receipts for fictitious people the storage does
/// not know.
pub fn lines_for(opts: &Options, storage: Option<&Storage>, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut known: Vec<Who> = Vec::new();
    if let Some(st) = storage {
        for i in 0..st.patients {
            let p = crate::ssmix2::person(st.seed, i);
            known.push(storage_who(&p, rng.below(3)));
        }
        if st.conflicting_branch
            && let Some(last) = known.last()
        {
            let p = crate::ssmix2::person(st.seed, st.patients - 1);
            let other: u64 = last.branch.parse::<u64>().unwrap_or(0) + 1;
            known.push(storage_who(&p, other));
        }
    }
    let count = known.len() as u32 + opts.receipts;
    let mut known = known.into_iter();
    let dt = Dates(opts.layout);
    let (y, m) = (2024u32, 4u32);
    let mut out = Vec::new();
    out.push(format!(
        "IR,1,13,1,1234567,,架空総合病院,{},00,03-0000-0000",
        dt.ym(y, m)
    ));
    let mut ho_ko = 0u64;
    let mut total = 0u64;
    for r in 1..=count {
        let stored = known.next();
        let from_storage = stored.is_some();
        let who = match stored {
            Some(w) => w,
            None => random_who(&mut rng, r),
        };
        let (by, bm, bd) = who.birth;
        let karte = who.karte.clone();
        let mut re = vec![
            "RE".to_owned(),
            r.to_string(),
            "1112".into(),
            dt.ym(y, m),
            who.name.clone(),
            who.sex.to_string(),
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
        re.push(who.kana.clone());
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
        let (insurer, symbol, number) = if from_storage {
            (who.insurer.clone(), who.symbol.clone(), who.number.clone())
        } else {
            let insurer = (*rng.pick(INSURERS)).to_owned();
            let number = (1000 + rng.below(9000)).to_string();
            (insurer, who.symbol.clone(), number)
        };
        out.push(format!(
            "HO,{insurer},{symbol},{number},1,{points},,,,,,{},,,",
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
            if from_storage {
                out.push(format!(
                    "SN,1,01,{insurer},{symbol},{number},{},,",
                    who.branch
                ));
            } else {
                out.push(format!("SN,1,01,{insurer},,,{:02},,", rng.below(3)));
            }
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
    generate_for(opts, None, seed)
}

/// A whole file with receipts for a generated storage's patients first ([`lines_for`]).
pub fn generate_for(opts: &Options, storage: Option<&Storage>, seed: u64) -> Vec<u8> {
    let mut text = lines_for(opts, storage, seed).join("\r\n");
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

#[cfg(test)]
mod storage_tests {
    use super::*;

    #[test]
    fn receipts_for_a_storage_carry_its_patients_ids_and_insurers() {
        let o = Options {
            receipts: 1,
            layout: Layout::Western,
        };
        let st = Storage {
            seed: 3,
            patients: 2,
            conflicting_branch: true,
        };
        let l = lines_for(&o, Some(&st), 9);
        assert_eq!(l, lines_for(&o, Some(&st), 9));
        let re: Vec<&String> = l.iter().filter(|x| x.starts_with("RE,")).collect();
        assert_eq!(re.len(), 4);
        let p0 = crate::ssmix2::person(3, 0);
        let p1 = crate::ssmix2::person(3, 1);
        assert_eq!(re[0].split(',').nth(13), Some(p0.id.as_str()));
        assert_eq!(re[1].split(',').nth(13), Some(p1.id.as_str()));
        assert_eq!(re[2].split(',').nth(13), Some(p1.id.as_str()));
        let sn: Vec<&str> = l
            .iter()
            .filter(|x| x.starts_with("SN,"))
            .filter_map(|x| x.split(',').nth(6))
            .collect();
        assert_eq!(sn.len(), 4);
        assert_ne!(sn[1], sn[2], "the conflicting pair differs");
        let ho: Vec<&str> = l
            .iter()
            .filter(|x| x.starts_with("HO,"))
            .filter_map(|x| x.split(',').nth(1))
            .collect();
        assert_eq!(ho[0], p0.insurer);
        // Without a storage, the file is what it always was.
        assert_eq!(lines_for(&o, None, 9), lines(&o, 9));
    }
}
