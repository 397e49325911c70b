//! `kakehashi-bench`: the Rust side of `bench/parse.sh`.
//!
//! ```text
//! kakehashi-bench corpus STORAGE CORPUS      decode every file once → CORPUS (UTF-8, one message per line)
//! kakehashi-bench utf8 CORPUS [RUNS]         time Hl7File::parse_str over the corpus
//! kakehashi-bench iso STORAGE [RUNS]         time Hl7File::parse (ISO-2022-JP decoding + parsing)
//! ```
//!
//! Timings print as one JSON object on stdout. Files are read into memory before
//! the clock starts.

use bench::{Counts, corpus_line, count, parse_ours, parse_ours_raw, time};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in rd {
            let e = e.map_err(|e| format!("{}: {e}", dir.display()))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()) != Some("faults.tsv") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_all(root: &Path) -> Result<Vec<Vec<u8>>, String> {
    files(root)?
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}

fn report(name: &str, bytes: usize, secs: f64, c: Counts) {
    println!(
        "{{\"parser\":\"{name}\",\"bytes\":{bytes},\"seconds\":{secs:.6},\"mb_s\":{:.3},\"msg_s\":{:.1},\"messages\":{},\"segments\":{},\"fields\":{},\"components\":{}}}",
        bytes as f64 / 1e6 / secs,
        c.messages as f64 / secs,
        c.messages,
        c.segments,
        c.fields,
        c.components
    );
}

fn run(args: &[String]) -> Result<(), String> {
    let runs = |i: usize| -> Result<u32, String> {
        args.get(i)
            .map_or(Ok(5), |s| s.parse().map_err(|e| format!("RUNS: {e}")))
    };
    match args.first().map(String::as_str) {
        Some("corpus") if args.len() == 3 => {
            let raws = read_all(Path::new(&args[1]))?;
            let mut out = String::new();
            let mut skipped = 0;
            for raw in &raws {
                match corpus_line(raw) {
                    Some(line) => {
                        out.push_str(&line);
                        out.push('\n');
                    }
                    None => skipped += 1,
                }
            }
            std::fs::write(&args[2], &out).map_err(|e| format!("{}: {e}", args[2]))?;
            eprintln!(
                "corpus: {} messages, {} bytes UTF-8 (from {} bytes ISO-2022-JP), {skipped} skipped",
                raws.len() - skipped,
                out.len(),
                raws.iter().map(Vec::len).sum::<usize>()
            );
            Ok(())
        }
        Some("utf8") if args.len() >= 2 => {
            let text = std::fs::read_to_string(&args[1]).map_err(|e| format!("{}: {e}", args[1]))?;
            let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
            let bytes = lines.iter().map(|l| l.len()).sum();
            let (secs, c) = time(&lines, runs(2)?, parse_ours, count);
            report("kakehashi", bytes, secs, c);
            Ok(())
        }
        Some("iso") if args.len() >= 2 => {
            let raws = read_all(Path::new(&args[1]))?;
            let bytes = raws.iter().map(Vec::len).sum();
            let refs: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
            let (secs, c) = time(&refs, runs(2)?, parse_ours_raw, count);
            report("kakehashi+iso2022jp", bytes, secs, c);
            Ok(())
        }
        _ => Err("usage: kakehashi-bench corpus STORAGE CORPUS | utf8 CORPUS [RUNS] | iso STORAGE [RUNS]".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kakehashi-bench: {e}");
            ExitCode::from(2)
        }
    }
}
