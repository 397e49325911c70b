//! `kakehashi validate [--ig SET] [--profile URL] FILE_OR_DIR... [--json]`: validates
//! FHIR JSON resources and Bundles against a pinned package set from the package cache.
//!
//! Human output: the findings of each file (errors and warnings; `--verbose` adds
//! information), then one summary line per file (`OK path` / `INVALID path (…)`).
//! `--json`: one JSON object per file with its OperationOutcome.

use crate::{CmdResult, Context, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, Failure};
use clap::Args as ClapArgs;
use diagnostics::{RenderOptions, Severity};
use fhir::conformance::{Conformance, PackageSet};
use fhir::errata::{Errata, StrictPack};
use fhir::package::Package;
use fhir::validate::{CodeSystemOracle, Report, Validator, Validity};
use serde_json::json;
use std::path::{Path, PathBuf};
use terminologies::check::Master;
use terminologies::system::{SYSTEMS, Shape, by_uri};

/// Arguments of `validate`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Package set: a set name (clins (default), clins-1.5.2, jpcore, ereferral,
    /// edischarge, echeckup, echeckup-1.1.3, base, or one the site configuration
    /// pins), or the packages
    /// themselves as NAME#VERSION,… (the R4 base is added when not named).
    #[arg(long, default_value = "clins")]
    pub ig: String,
    /// Site configuration whose `[packages]` pins and sources to use (default: the
    /// built-in sets, packages from the cache only).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also validate every top-level resource against this profile (repeatable).
    #[arg(long)]
    pub profile: Vec<String>,
    /// One JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show information-level findings too.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print how many invariants were evaluated and how many could not be.
    #[arg(long)]
    pub stats: bool,
    /// Also evaluate the strict pack (rules defined but not attached in JP-CLINS
    /// 1.5.2) as warnings (V025).
    #[arg(long)]
    pub strict: bool,
    /// Do not apply the errata file (report package defects as the packages state them).
    #[arg(long)]
    pub no_errata: bool,
    /// A master whose codes confirm or reject codings of its system where a
    /// binding cannot be expanded from the packages (CodeSystem JSON, a FHIR
    /// package `.tgz`, a J-FAGY `.csv`; repeatable).
    #[arg(long)]
    pub master: Vec<PathBuf>,
    /// A master read through an import profile: PROFILE.toml=FILE (repeatable).
    #[arg(long)]
    pub master_profile: Vec<String>,
    /// Show protected health information in excerpts.
    #[arg(long)]
    pub show_phi: bool,
    /// Files or folders (searched recursively for `*.json`, `package.json` excluded).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// The findings as an OperationOutcome file: keys sorted, pretty, final newline.
pub(crate) fn outcome_bytes(report: &Report) -> Vec<u8> {
    let mut v = report.operation_outcome();
    v.sort_all_objects();
    // A serde_json::Value always serialises.
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Loads a package set (a set name, or `NAME#VERSION,…`) as the site
/// configuration pins it (`None`: the built-in sets), from the package cache.
pub(crate) fn load(
    ctx: &mut Context<'_>,
    config: Option<(&mappers::config::SiteConfig, &Path)>,
    set_name: &str,
) -> Result<(PackageSet, Conformance), Failure> {
    let (set, pkgs) = crate::packages::load_named_set(ctx, config, set_name)?;
    let refs: Vec<&Package> = pkgs.iter().collect();
    Ok((set, Conformance::load(&refs)))
}

/// [`load`] of a built-in set from the test package cache (tests only).
#[cfg(test)]
pub(crate) fn load_for_test(set_name: &str) -> Conformance {
    let (mut o, mut e) = (Vec::new(), Vec::new());
    let mut ctx = Context {
        cwd: PathBuf::from("."),
        stdout: &mut o,
        stderr: &mut e,
        package_cache: crate::packages::test_cache(),
        warned: Default::default(),
    };
    load(&mut ctx, None, set_name)
        .unwrap_or_else(|e| panic!("{}", e.0))
        .1
}

/// The code-system registry of `terminologies` as the validator's oracle for
/// bindings the packages cannot expand: a system with a published code shape
/// (JLAC10, YJ, ICD-10, JFAGY …) rejects a code of the wrong shape; a code of the
/// right shape is not confirmed (no master is consulted), so it stays unchecked.
pub(crate) struct Registry;

pub(crate) static REGISTRY: Registry = Registry;

impl CodeSystemOracle for Registry {
    fn knows(&self, system: &str) -> bool {
        by_uri(system).is_some_and(|cs| cs.shape != Shape::Any)
    }

    fn check(&self, system: &str, code: &str) -> Validity {
        match by_uri(system).map(|cs| cs.shape.check(code)) {
            Some(Err(why)) => Validity::Invalid(why.to_string()),
            _ => Validity::Unknown,
        }
    }

    fn describe(&self) -> String {
        let shaped = SYSTEMS.iter().filter(|s| s.shape != Shape::Any).count();
        format!("kakehashi registry, code shapes of {shaped} systems")
    }
}

/// The registry plus loaded masters: a system with a master answers membership
/// (present → valid; listed as retired → invalid, naming the replacement; absent →
/// invalid); other systems fall back to the registry's code shapes.
pub(crate) struct MasterOracle {
    /// Canonical system URI → master (the last loaded wins for a system).
    masters: std::collections::BTreeMap<String, Master>,
}

impl MasterOracle {
    pub(crate) fn new(masters: Vec<Master>) -> MasterOracle {
        let masters = masters
            .into_iter()
            .map(|m| (canonical(&m.system).to_owned(), m))
            .collect();
        MasterOracle { masters }
    }

    fn master(&self, system: &str) -> Option<&Master> {
        self.masters.get(canonical(system))
    }
}

/// The registry's URI for a system named by URI, OID or alias; else as given.
fn canonical(system: &str) -> &str {
    by_uri(system).map(|cs| cs.uri).unwrap_or(system)
}

impl CodeSystemOracle for MasterOracle {
    fn knows(&self, system: &str) -> bool {
        self.master(system).is_some() || REGISTRY.knows(system)
    }

    fn check(&self, system: &str, code: &str) -> Validity {
        if let Validity::Invalid(why) = REGISTRY.check(system, code) {
            return Validity::Invalid(why);
        }
        let Some(m) = self.master(system) else {
            return Validity::Unknown;
        };
        if m.contains(code) {
            return Validity::Valid;
        }
        let version = if m.version.is_empty() {
            String::new()
        } else {
            format!(" version {}", m.version)
        };
        match m.retired.get(code) {
            Some(by) if !by.is_empty() => Validity::Invalid(format!(
                "retired in the loaded master{version}; replaced by {by}"
            )),
            Some(_) => Validity::Invalid(format!("retired in the loaded master{version}")),
            None => Validity::Invalid(format!("not in the loaded master{version}")),
        }
    }

    fn describe(&self) -> String {
        let mut s = REGISTRY.describe();
        for (system, m) in &self.masters {
            s.push_str(&format!(
                "; master {system}{} ({} codes)",
                if m.version.is_empty() {
                    String::new()
                } else {
                    format!("|{}", m.version)
                },
                m.codes.len()
            ));
        }
        s
    }
}

/// Runs `validate`.
pub fn run(args: Args, ctx: &mut Context<'_>) -> CmdResult {
    let site = match &args.config {
        Some(c) => Some(crate::convert::read_config(ctx, c)?),
        None => None,
    };
    let (set, conf) = load(ctx, site.as_ref().map(|(c, b)| (c, b.as_path())), &args.ig)?;
    let mut files = Vec::new();
    for p in &args.paths {
        crate::walk::collect_files(
            ctx,
            p,
            &|name| name.ends_with(".json") && name != "package.json",
            &mut files,
        )?;
    }
    if files.is_empty() {
        writeln!(ctx.stderr, "kakehashi: no .json files found")?;
        return Ok(EXIT_USAGE);
    }
    let opts = RenderOptions {
        show_phi: args.show_phi,
    };
    let mut validator = Validator::new(&conf);
    if !args.no_errata {
        let errata = Errata::builtin().map_err(|e| Failure(format!("errata file: {e}")))?;
        validator = validator.with_errata(&errata);
    }
    let mut master_diags = diagnostics::Diagnostics::default();
    let mut masters = crate::tables::load_masters(ctx, &args.master, &mut master_diags)?;
    masters.extend(crate::tables_governance::load_profiled_masters(
        ctx,
        &args.master_profile,
        &mut master_diags,
    )?);
    if master_diags.has_errors() {
        for d in master_diags.iter() {
            writeln!(ctx.stderr, "{}", d.render_human(opts))?;
        }
        return Ok(EXIT_USAGE);
    }
    let oracle = MasterOracle::new(masters);
    validator = validator.with_code_systems(&oracle);
    if args.strict {
        let pack = StrictPack::builtin().map_err(|e| Failure(format!("strict pack: {e}")))?;
        validator = validator.with_strict(&pack);
    }
    let packages = conf.package_list();
    let provenance = validator.provenance();
    if !args.json {
        writeln!(ctx.stdout, "set {}: {provenance}", set.name)?;
    }
    let mut any_error = false;
    let mut summaries = Vec::new();
    let (mut evaluated, mut not_evaluable) = (0usize, 0usize);
    for (shown, path) in &files {
        let bytes = std::fs::read(path).map_err(|e| Failure::read(Path::new(shown), e))?;
        let report = validator.validate_json(&bytes, &args.profile);
        evaluated += report.invariants_evaluated;
        not_evaluable += report.invariants_not_evaluable;
        let (errors, warnings) = counts(&report);
        any_error |= errors > 0;
        if args.json {
            let mut line = json!({
                "file": shown,
                "valid": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "packages": packages,
                "provenance": provenance,
                "errata_applied": report.errata_applied.iter().collect::<Vec<_>>(),
                "set": set.name,
                "invariants": {"evaluated": report.invariants_evaluated, "not_evaluable": report.invariants_not_evaluable},
                "diagnostics": report.issues.iter().map(|i| {
                    let mut d = i.to_diagnostic();
                    d.location.file = Some(shown.clone());
                    d.to_json(opts)
                }).collect::<Vec<_>>(),
                "operationOutcome": report.operation_outcome(),
            });
            // Sorted keys whatever serde_json's `preserve_order` (fhirbolt turns it on).
            line.sort_all_objects();
            writeln!(ctx.stdout, "{line}")?;
            continue;
        }
        for i in &report.issues {
            if i.severity == Severity::Info && !args.verbose {
                continue;
            }
            let mut d = i.to_diagnostic();
            d.location.file = Some(shown.clone());
            writeln!(ctx.stdout, "{}", d.render_human(opts))?;
        }
        let errata = if report.errata_applied.is_empty() {
            String::new()
        } else {
            format!(", errata applied: {}", report.errata_list())
        };
        summaries.push(if errors == 0 {
            format!(
                "OK {shown} ({warnings} warnings, {} resources{errata})",
                report.resources
            )
        } else {
            format!(
                "INVALID {shown} ({errors} errors, {warnings} warnings, {} resources{errata})",
                report.resources
            )
        });
    }
    for s in &summaries {
        writeln!(ctx.stdout, "{s}")?;
    }
    if args.stats && !args.json {
        writeln!(
            ctx.stdout,
            "invariants: {evaluated} evaluated, {not_evaluable} not evaluable"
        )?;
    }
    Ok(if any_error {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}

fn counts(r: &Report) -> (usize, usize) {
    let e = r
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    let w = r
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Warning)
        .count();
    (e, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_rejects_codes_of_the_wrong_shape_only() {
        let jlac10 = terminologies::system::by_key("JLAC10").unwrap().uri;
        assert!(REGISTRY.knows(jlac10));
        assert!(matches!(
            REGISTRY.check(jlac10, "3A0"),
            Validity::Invalid(_)
        ));
        assert_eq!(
            REGISTRY.check(jlac10, "3A015000002327101"),
            Validity::Unknown
        );
        assert!(!REGISTRY.knows("http://example.org/unknown"));
        assert!(REGISTRY.describe().contains("code shapes"));
    }

    #[test]
    fn a_loaded_master_answers_membership_for_its_system_and_its_aliases() {
        let food = terminologies::system::by_key("JFAGY-FOOD").unwrap();
        let mut m = Master {
            system: food.uri.into(),
            version: "20250401".into(),
            ..Default::default()
        };
        m.codes.insert("J9FC11310000".into(), "さば".into());
        m.retired
            .insert("J9FC11320000".into(), "J9FC11310000".into());
        let oracle = MasterOracle::new(vec![m]);
        assert_eq!(oracle.check(food.uri, "J9FC11310000"), Validity::Valid);
        let Validity::Invalid(why) = oracle.check(food.uri, "J9FC11320000") else {
            panic!("a retired code must be invalid");
        };
        assert!(why.contains("replaced by J9FC11310000"), "{why}");
        let Validity::Invalid(why) = oracle.check(food.uri, "J9FC99990000") else {
            panic!("an absent code must be invalid");
        };
        assert!(
            why.contains("not in the loaded master version 20250401"),
            "{why}"
        );
        for alias in food.aliases {
            assert_eq!(
                oracle.check(alias, "J9FC11310000"),
                Validity::Valid,
                "{alias}"
            );
        }
        // A wrong shape is still the registry's verdict; other systems stay shape-only.
        assert!(matches!(oracle.check(food.uri, "J9"), Validity::Invalid(_)));
        let jlac10 = terminologies::system::by_key("JLAC10").unwrap().uri;
        assert_eq!(oracle.check(jlac10, "3A015000002327101"), Validity::Unknown);
        assert!(oracle.describe().contains("|20250401 (1 codes)"));
    }

    /// `validate --master` turns an unknown allergen code of the right shape
    /// into an error; without the master the same file passes (mutated in the
    /// test: the package examples are shipped unmodified).
    #[test]
    fn validate_with_a_master_rejects_a_code_the_master_lacks() {
        let example = crate::shared(
            "fhir-profiles/jp-clins/examples/AllergyIntolerance-Example-JP-Allergy-eCS-01.json",
        );
        let text = std::fs::read_to_string(example).unwrap();
        assert!(text.contains("J9FC11310000"));
        let dir = crate::scratch_dir("master");
        let (good, bad) = (dir.join("good.json"), dir.join("bad.json"));
        std::fs::write(&good, &text).unwrap();
        std::fs::write(&bad, text.replace("J9FC11310000", "J9FC99990000")).unwrap();
        let master = crate::shared("data/jfagy/utf8/JFAGY_J9FN_20250401_R01.csv");
        let run = |extra: &[&std::path::Path]| {
            let paths: Vec<String> = extra.iter().map(|p| p.display().to_string()).collect();
            // the JP-CLINS 1.5.2 example, under the set it was written for
            let mut args = vec!["kakehashi", "validate", "--ig", "clins-1.5.2"];
            args.extend(paths.iter().map(String::as_str));
            crate::run_cli(&args, &dir)
        };
        let m = std::path::PathBuf::from("--master");
        let (code, out) = run(&[&m, &master, &good]);
        assert_eq!(code, 0, "{out}");
        let (code, out) = run(&[&m, &master, &bad]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("V029") && out.contains("not in the loaded master"),
            "{out}"
        );
        let (code, out) = run(&[&bad]);
        assert_eq!(code, 0, "{out}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
