//! Walks `golden/` and checks every case (see the `tests` crate docs for the format).

#[test]
fn golden_cases() {
    if let Err(e) = tests::require_shared() {
        panic!("{e}");
    }
    let root = tests::golden_root();
    let cases = tests::cases(&root);
    assert!(
        !cases.is_empty(),
        "no golden cases under {}",
        root.display()
    );
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failed = Vec::new();
    for case in &cases {
        let problems = tests::check(case, update);
        if !problems.is_empty() {
            failed.push(format!(
                "{}:\n{}",
                case.strip_prefix(&root).unwrap_or(case).display(),
                problems.join("\n")
            ));
        }
    }
    println!("golden: {} cases, {} failed", cases.len(), failed.len());
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
