//! Benchmark (not a test): how the analytics phase scales with the number of
//! distinct source keys, independent of parsing. Counts N distinct keys with
//! Zipf-like frequencies (seeded, no randomness), then times classification, the
//! polars analytics and CSV/Parquet writing. Prints figures, asserts nothing.
//!
//!   CARGO_PROFILE_DEV_OPT_LEVEL=2 cargo run -p coverage --example analytics_scale -- 1000000

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark driver

use coverage::{Counter, Source, classify, frame};
use std::time::Instant;
use terminologies::lookup::{Index, Query};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let systems = [
        "urn:kakehashi:local:bench:99X03",
        "urn:kakehashi:local:bench:99XYZ",
        "http://medis.or.jp/CodeSystem/master-HOT9",
    ];
    let t = Instant::now();
    let mut c = Counter::default();
    let mut occurrences = 0u64;
    for i in 0..n {
        let code = format!("{:08}", i);
        let q = Query::code(systems[i % 3], &code);
        // Zipf-like: key i occurs about n / (i + 1) times, at least once (capped).
        let times = (n / (i + 1)).clamp(1, 50);
        for _ in 0..times {
            c.add(&q, Source::Ssmix2, "OML-11", "名称");
            occurrences += 1;
        }
    }
    let count = t.elapsed();
    let t = Instant::now();
    let rows = classify(&c, &Index::new(&[]), &[]);
    let classify_t = t.elapsed();
    let t = Instant::now();
    let a = frame::analyse(&rows).unwrap();
    let analyse_t = t.elapsed();
    let t = Instant::now();
    let csv = frame::csv(&a.coverage).unwrap();
    let wl = frame::csv(&a.worklist).unwrap();
    let pq = frame::parquet(&a.coverage).unwrap();
    let write_t = t.elapsed();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{n} distinct keys, {occurrences} occurrences: count {:.1} ms, classify {:.1} ms, \
         analytics (polars) {:.1} ms, CSV+Parquet {:.1} ms ({} + {} + {} bytes)",
        ms(count),
        ms(classify_t),
        ms(analyse_t),
        ms(write_t),
        csv.len(),
        wl.len(),
        pq.len()
    );
}
