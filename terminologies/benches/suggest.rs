//! Benchmark and evaluation (not a test): `cargo bench -p terminologies --bench suggest`.
//!
//! 1. Precision@1 and @5 of `tables suggest`'s matcher against the naive
//!    character-bigram baseline, in the same run, on two labelled sets whose
//!    variants do not come from the normaliser:
//!    - `data/suggest-eval/jfagy-house-variants.tsv`: house-style variants of
//!      J-FAGY terms written by hand before the matcher existed (dev / test split;
//!      the test split was never used for tuning);
//!    - J-FAGY's own JPKANA readings as queries against a master indexed with
//!      JPTERM and ENTERM only (readings removed), split by DISPLAYSEQ parity.
//! 2. Time to suggest for 10 000 source names against a 30 000-name master.
//!
//! Prints figures; asserts nothing about time. Reads J-FAGY from `../shared` beside
//! the repository.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: failing loudly is the point

use std::time::Instant;
use terminologies::check::Master;
use terminologies::suggest::{Bigram, Candidate, Matcher, precision};

fn codes(c: Vec<Candidate>) -> Vec<String> {
    c.into_iter().map(|c| c.code).collect()
}

fn report(name: &str, m: &Matcher, b: &Bigram, cases: &[(String, String)]) {
    let mine: Vec<(Vec<String>, &str)> = cases
        .iter()
        .map(|(q, want)| (codes(m.suggest(&[q], 5)), want.as_str()))
        .collect();
    let base: Vec<(Vec<String>, &str)> = cases
        .iter()
        .map(|(q, want)| (codes(b.suggest(q, 5)), want.as_str()))
        .collect();
    let (p1, p5) = precision(&mine);
    let (b1, b5) = precision(&base);
    println!(
        "{name:<34} n={:>4}  matcher P@1 {:.3} P@5 {:.3}   baseline P@1 {:.3} P@5 {:.3}",
        cases.len(),
        p1,
        p5,
        b1,
        b5
    );
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn main() {
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/jfagy/utf8/JFAGY_J9FN_20250401_R01.csv");
    let bytes = std::fs::read(&csv).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (J-FAGY is read from ../shared beside the repository)",
            csv.display()
        )
    });
    let (ms, _) = terminologies::master::from_jfagy_csv(&bytes, "20250401");
    let refs: Vec<&Master> = ms.iter().collect();
    let (m, b) = (Matcher::new(&refs), Bigram::new(&refs));

    // 1a. Hand-written house-style variants.
    let set = include_str!("../data/suggest-eval/jfagy-house-variants.tsv");
    for split in ["dev", "test"] {
        let cases: Vec<(String, String)> = set
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|f| f[0] == split)
            .map(|f| (f[1].to_owned(), f[2].to_owned()))
            .collect();
        report(&format!("house variants ({split})"), &m, &b, &cases);
    }

    // 1b. JPKANA readings against JPTERM + ENTERM.
    let text = std::str::from_utf8(&bytes).unwrap();
    let (recs, _) = terminologies::delimited::records(text, ',', Some('"'));
    let header = &recs[0].fields;
    let col = |n: &str| header.iter().position(|f| f == n).unwrap();
    let (seq, code, kana, en) = (
        col("DISPLAYSEQ"),
        col("JFAGYCODE"),
        col("JPKANA"),
        col("ENTERM"),
    );
    let mut no_kana = ms.clone();
    for mm in &mut no_kana {
        for (c, names) in mm.names.iter_mut() {
            let english = recs
                .iter()
                .find(|r| &r.fields[code] == c)
                .map(|r| r.fields[en].clone());
            *names = english.into_iter().collect();
        }
    }
    let refs2: Vec<&Master> = no_kana.iter().collect();
    let (m2, b2) = (Matcher::new(&refs2), Bigram::new(&refs2));
    for (split, parity) in [("dev", 0), ("test", 1)] {
        let cases: Vec<(String, String)> = recs[1..]
            .iter()
            .filter(|r| no_kana.iter().any(|mm| mm.contains(&r.fields[code])))
            .filter(|r| r.fields[seq].parse::<u64>().unwrap_or(0) % 2 == parity)
            .map(|r| (r.fields[kana].clone(), r.fields[code].clone()))
            .collect();
        report(
            &format!("JPKANA → JPTERM/ENTERM ({split})"),
            &m2,
            &b2,
            &cases,
        );
    }

    // 2. 10 000 queries against a 30 000-name master built from J-FAGY terms.
    let terms: Vec<&String> = ms.iter().flat_map(|mm| mm.codes.values()).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let joins = ["", "の", "性", "・", "による", "後"];
    let mut big = Master {
        system: "urn:bench".into(),
        ..Master::default()
    };
    while big.codes.len() < 30_000 {
        let a = terms[(xorshift(&mut x) % terms.len() as u64) as usize];
        let c = terms[(xorshift(&mut x) % terms.len() as u64) as usize];
        let j = joins[(xorshift(&mut x) % joins.len() as u64) as usize];
        let name = format!("{a}{j}{c}");
        let id = format!("B{:06}", big.codes.len());
        big.codes.insert(id, name);
    }
    let names: Vec<String> = {
        let mut v: Vec<(&String, &String)> = big.codes.iter().collect();
        v.sort();
        v.into_iter().map(|(_, n)| n.clone()).collect()
    };
    let queries: Vec<String> = (0..10_000)
        .map(|i| {
            let n = &names[(xorshift(&mut x) % names.len() as u64) as usize];
            let cs: Vec<char> = n.chars().collect();
            match i % 3 {
                0 => cs[..cs.len() - 1].iter().collect(),
                1 => format!("{n}（疑い）"),
                _ => n
                    .chars()
                    .map(|c| match c as u32 {
                        0x3041..=0x3096 => char::from_u32(c as u32 + 0x60).unwrap(),
                        _ => c,
                    })
                    .collect(),
            }
        })
        .collect();
    let t0 = Instant::now();
    let big_m = Matcher::new(&[&big]);
    let build = t0.elapsed();
    let t1 = Instant::now();
    let mut found = 0usize;
    for q in &queries {
        let c = big_m.suggest(&[q], 5);
        found += usize::from(!c.is_empty());
    }
    let run = t1.elapsed();
    println!(
        "suggest: index 30 000 names in {:.2} s; 10 000 queries (top 5) in {:.2} s ({:.0} queries/s, {} with candidates), one core",
        build.as_secs_f64(),
        run.as_secs_f64(),
        queries.len() as f64 / run.as_secs_f64(),
        found
    );
}
