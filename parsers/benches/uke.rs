//! UKE reader throughput (not a test): MB/s and records/s on a synthetic 医科 file of ≥ 1M records,
//! one core, streaming with one reused record buffer. Run: `cargo bench -p parsers --bench uke`.

use diagnostics::Diagnostics;
use parsers::uke::{Parser, Record};
use std::time::Instant;
use synth::uke::{Layout, Options, generate};

fn main() {
    for layout in [Layout::Western, Layout::Era] {
        let bytes = generate(
            &Options {
                receipts: if layout == Layout::Era {
                    170_000
                } else {
                    120_000
                },
                layout,
            },
            1,
        );
        let mut best = f64::MAX;
        let mut records = 0u64;
        let mut n_diags = 0usize;
        for _ in 0..3 {
            let t = Instant::now();
            let mut diags = Diagnostics::default();
            let mut p = Parser::new(&bytes, &mut diags);
            let mut rec = Record::default();
            let mut n = 0u64;
            while p.next(&mut rec, &mut diags) {
                n += 1;
            }
            let _ = p.finish(&mut diags);
            best = best.min(t.elapsed().as_secs_f64());
            records = n;
            n_diags = diags.len();
        }
        let mb = bytes.len() as f64 / 1e6;
        println!(
            "{layout:?}: {records} records, {mb:.1} MB, {n_diags} diagnostics: best of 3 {best:.3} s = {:.1} MB/s, {:.0} records/s",
            mb / best,
            records as f64 / best
        );
    }
}
