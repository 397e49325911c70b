//! Benchmark (not a test): load a 50 000-row SSSOM table and translate through it.
//! Prints figures; asserts nothing about time. Run: `cargo bench -p terminologies`.

#![allow(clippy::expect_used)] // a benchmark: failing loudly is the point

use std::hint::black_box;
use std::time::Instant;
use terminologies::lookup::{Index, Options, Query, Terminology};
use terminologies::table::{self, Equivalence, Metadata, Row, SourceKey, Status, Table};

const ROWS: usize = 50_000;
const SYS: &str = "urn:kakehashi:local:bench:99LAB";
const JLAC: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";

/// A deterministic table: local codes with specimens, a JLAC10-shaped target each.
fn build() -> Table {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rows = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rows.push(Row {
            id: format!("r{:05}", i + 1),
            source: SourceKey {
                code: format!("{:06}", i / 2),
                specimen: if i % 2 == 0 { "01".into() } else { "04".into() },
                ..SourceKey::default()
            },
            source_display: format!("検査項目{i}"),
            target_system: JLAC.into(),
            target_code: format!("3A{:03}0000023{:02}101", x % 1000, x % 100),
            target_display: "総蛋白".into(),
            equivalence: Some(Equivalence::Equivalent),
            status: if i % 10 == 0 {
                Status::Unreviewed
            } else {
                Status::Approved
            },
            method: "semapv:ManualMappingCuration".into(),
            author: "bench".into(),
            author_date: "2026-11-23".into(),
            reviewer: "bench".into(),
            review_date: "2026-11-23".into(),
            frequency: Some(x % 1000),
            ..Row::default()
        });
    }
    Table {
        meta: Metadata {
            id: "bench".into(),
            uri: "urn:kakehashi:table:bench".into(),
            version: "1".into(),
            title: "bench".into(),
            source_system: SYS.into(),
            license: "https://creativecommons.org/publicdomain/zero/1.0/".into(),
            ..Metadata::default()
        },
        rows,
        extra_columns: Vec::new(),
    }
}

fn main() {
    let bytes = build().to_sssom().expect("tsv");
    println!("table: {ROWS} rows, {} bytes of SSSOM TSV", bytes.len());
    let mut best_parse = f64::MAX;
    let mut best_index = f64::MAX;
    let mut index = Index::default();
    for _ in 0..5 {
        let t0 = Instant::now();
        let (t, d) = table::parse_sssom(black_box(&bytes));
        let t1 = Instant::now();
        assert!(d.is_empty());
        index = Index::new(std::slice::from_ref(&t));
        let t2 = Instant::now();
        best_parse = best_parse.min((t1 - t0).as_secs_f64() * 1e3);
        best_index = best_index.min((t2 - t1).as_secs_f64() * 1e3);
    }
    println!(
        "load (parse, best of 5): {best_parse:.1} ms; index build: {best_index:.1} ms; total {:.1} ms",
        best_parse + best_index
    );

    // Queries: 1 024 precomputed keys (mostly mapped, some unknown), cycled.
    let codes: Vec<String> = (0..1024)
        .map(|i| format!("{:06}", (i * 7919) % (ROWS / 2 + 500)))
        .collect();
    let n: usize = 20_000_000;
    let mut hits = 0usize;
    let t0 = Instant::now();
    for i in 0..n {
        let q = Query {
            system: SYS,
            code: &codes[i & 1023],
            specimen: if i & 1 == 0 { "01" } else { "04" },
            ..Query::default()
        };
        let r = index.translate(black_box(&q), Options::default());
        if let Some(t) = r.targets().next() {
            hits += t.code.len();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "lookups: {n} in {secs:.2} s = {:.1} M lookups/s on one thread (checksum {hits})",
        n as f64 / secs / 1e6
    );
}
