//! Prints what changed between two versions of a FHIR package, as Markdown (or
//! as JSON with `--json`).
//!
//! `cargo run -p fhir --example package_diff -- OLD.tgz NEW.tgz [--json]`

use fhir::package::Package;

fn read(path: &str) -> Result<Package, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Package::from_tgz(&bytes).map_err(|e| format!("{path}: {e}"))?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [old, new] = paths.as_slice() else {
        return Err("usage: package_diff OLD.tgz NEW.tgz [--json]".into());
    };
    let d = fhir::diff::diff(&read(old)?, &read(new)?);
    if json {
        println!("{}", serde_json::to_string_pretty(&d.to_json())?);
    } else {
        print!("{}", d.render_markdown());
    }
    Ok(())
}
