//! Property tests: the UKE reader never panics and accounts for every record.

use parsers::uke;
use proptest::prelude::*;
use synth::uke::{Layout, Options, generate};

fn valid() -> Vec<u8> {
    generate(
        &Options {
            receipts: 4,
            layout: Layout::Western,
        },
        9,
    )
}

/// Every non-empty line of the body before the 0x1A is one record.
fn expected_records(bytes: &[u8]) -> usize {
    let body = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        rest
    } else {
        bytes
    };
    let body = match body.iter().position(|&b| b == 0x1A) {
        Some(p) => &body[..p],
        None => body,
    };
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && *l != b"\r")
        .count()
}

fn check(bytes: &[u8]) {
    let f = uke::parse(bytes);
    assert_eq!(f.records.len(), expected_records(bytes));
    assert_eq!(f.summary.records as usize, f.records.len());
    let lines: Vec<u32> = f.records.iter().map(|r| r.record.line).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&bytes);
    }

    #[test]
    fn truncations_never_panic(cut in 0usize..2000) {
        let v = valid();
        let cut = cut.min(v.len());
        check(&v[..cut]);
    }

    #[test]
    fn byte_flips_never_panic(flips in proptest::collection::vec((0usize..2000, any::<u8>()), 1..8)) {
        let mut v = valid();
        for (i, b) in flips {
            let n = v.len();
            v[i % n] = b;
        }
        check(&v);
    }

    #[test]
    fn era_files_never_panic(seed in any::<u64>(), n in 0u32..6) {
        let v = generate(&Options { receipts: n, layout: Layout::Era }, seed);
        let f = uke::parse(&v);
        prop_assert!(!f.all_diagnostics().any(|d| d.severity == diagnostics::Severity::Error));
        prop_assert_eq!(f.summary.receipts, n);
    }
}

#[test]
fn valid_synthetic_file_has_no_errors_and_matching_totals() {
    for layout in [Layout::Era, Layout::Western] {
        let v = generate(
            &Options {
                receipts: 50,
                layout,
            },
            3,
        );
        let f = uke::parse(&v);
        let bad: Vec<_> = f
            .all_diagnostics()
            .filter(|d| d.severity > diagnostics::Severity::Info)
            .collect();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(f.summary.receipts, 50);
    }
}
