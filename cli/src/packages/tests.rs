//! The package cache and `kakehashi packages`, against the IG packages beside the
//! repository (`../shared/fhir-profiles`) and a package server started here on
//! 127.0.0.1.

use super::*;
use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener;

fn shared(rel: &str) -> PathBuf {
    crate::shared(&format!("fhir-profiles/{rel}"))
}

/// Runs a command line against the cache at `cache`.
fn run_in(args: &[&str], cwd: &Path, cache: &Path) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = {
        let mut ctx = Context {
            cwd: cwd.to_path_buf(),
            stdout: &mut out,
            stderr: &mut err,
            package_cache: cache.to_path_buf(),
            warned: Default::default(),
        };
        crate::run(args.iter().copied(), &mut ctx)
    };
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn add_names_lists_and_removes_packages() {
    let dir = crate::scratch_dir("packages-add");
    let cache = dir.join("cache");
    let clins = shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz")
        .display()
        .to_string();
    // a placeholder package known by its file: named 1.5.2
    let (code, out, err) = run_in(&["kakehashi", "packages", "add", &clins], &dir, &cache);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "installed jp-eCSCLINS.r4#1.5.2 (package.json says 1.x.x-temp; named by known package file)"
        ),
        "{out}"
    );
    assert!(
        cache
            .join("jp-eCSCLINS.r4#1.5.2/package/package.json")
            .is_file()
    );
    // unmodified: the package.json in the cache is the file's
    let pj =
        std::fs::read_to_string(cache.join("jp-eCSCLINS.r4#1.5.2/package/package.json")).unwrap();
    assert!(pj.contains("1.x.x-temp"));
    // the same file again: nothing to do
    let (code, out, _) = run_in(&["kakehashi", "packages", "add", &clins], &dir, &cache);
    assert_eq!(code, 0);
    assert!(
        out.contains("already installed jp-eCSCLINS.r4#1.5.2"),
        "{out}"
    );
    // eReferral: a placeholder nothing names better, kept with a warning
    let eref = shared("ereferral/jp-eReferral.r4.tgz")
        .display()
        .to_string();
    let (code, out, err) = run_in(&["kakehashi", "packages", "add", &eref], &dir, &cache);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("installed jp-eReferral.r4#1.0.0-temp"),
        "{out}"
    );
    assert!(err.contains("placeholder version"), "{err}");
    // --as names it
    let (code, out, _) = run_in(
        &[
            "kakehashi",
            "packages",
            "add",
            "--as",
            "1.0.0-2024-02",
            &eref,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("installed jp-eReferral.r4#1.0.0-2024-02"),
        "{out}"
    );
    // list: the cache, the built-in base, the sets and what they miss
    let (code, out, _) = run_in(&["kakehashi", "packages", "list"], &dir, &cache);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hl7.fhir.r4.core#4.0.1  built in"), "{out}");
    assert!(
        out.contains("jp-eCSCLINS.r4#1.5.2  sha256 aa16b398eac4, package.json says 1.x.x-temp"),
        "{out}"
    );
    assert!(out.contains("clins-1.5.2: hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-url, jp-eCSCLINS.r4#1.5.2 — missing jp-core.r4#1.1.2-url"), "{out}");
    assert!(out.contains("clins: hl7.fhir.r4.core#4.0.1, jp-core.r4#1.1.2-clins, jp-eCSCLINS.r4#1.10.0 — missing jp-core.r4#1.1.2-clins, jp-eCSCLINS.r4#1.10.0"), "{out}");
    assert!(
        out.contains("base: hl7.fhir.r4.core#4.0.1 — ready"),
        "{out}"
    );
    // remove
    let (code, out, _) = run_in(
        &[
            "kakehashi",
            "packages",
            "remove",
            "jp-eReferral.r4#1.0.0-2024-02",
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0);
    assert!(out.contains("removed jp-eReferral.r4#1.0.0-2024-02"));
    assert!(!cache.join("jp-eReferral.r4#1.0.0-2024-02").exists());
    let (code, _, err) = run_in(
        &[
            "kakehashi",
            "packages",
            "remove",
            "jp-eReferral.r4#1.0.0-2024-02",
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 1);
    assert!(err.contains("is not installed"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_packages_are_clear_errors_and_install_nothing() {
    let dir = crate::scratch_dir("packages-bad");
    let cache = dir.join("cache");
    let good = std::fs::read(shared("jp-core/jp-core.r4-1.1.2-url.tgz")).unwrap();
    // truncated, corrupt, not a package at all
    std::fs::write(dir.join("truncated.tgz"), &good[..good.len() / 2]).unwrap();
    let mut flipped = good.clone();
    for b in flipped.iter_mut().skip(2000).take(64) {
        *b ^= 0x5a;
    }
    std::fs::write(dir.join("corrupt.tgz"), &flipped).unwrap();
    std::fs::write(dir.join("text.tgz"), b"not a package").unwrap();
    for f in ["truncated.tgz", "corrupt.tgz", "text.tgz"] {
        let (code, out, err) = run_in(&["kakehashi", "packages", "add", f], &dir, &cache);
        assert_eq!(code, 1, "{f}: {out}{err}");
        assert!(
            err.contains(&format!("{f}: not a usable FHIR package")),
            "{f}: {err}"
        );
    }
    // a differential-only package
    let diff_only = shared("jp-clins/jp-eCSCLINS.r4-1.10.0.tgz")
        .display()
        .to_string();
    let (code, _, err) = run_in(&["kakehashi", "packages", "add", &diff_only], &dir, &cache);
    assert_eq!(code, 1);
    assert!(
        err.contains("jp-eCSCLINS.r4#1.10.0 has 51 StructureDefinition(s) without a snapshot"),
        "{err}"
    );
    // nothing half-installed, no temporary folder left
    let left: Vec<_> = std::fs::read_dir(&cache)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // another file under a name already taken
    let snap = shared("jp-clins/jp-eCSCLINS.r4-1.10.0-snap.tgz")
        .display()
        .to_string();
    let old = shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz")
        .display()
        .to_string();
    assert_eq!(
        run_in(&["kakehashi", "packages", "add", &old], &dir, &cache).0,
        0
    );
    let (code, _, err) = run_in(
        &["kakehashi", "packages", "add", "--as", "1.5.2", &snap],
        &dir,
        &cache,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("jp-eCSCLINS.r4#1.5.2 is already installed from another file"),
        "{err}"
    );
    // a cache entry whose package is another: refused when loaded
    let c = Cache::new(cache.clone());
    let fake = dir.join("cache/jp-core.r4#1.1.2/package");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(
        fake.join("package.json"),
        br#"{"name":"other","version":"1.1.2"}"#,
    )
    .unwrap();
    let e = c
        .load(&PackageRef::parse("jp-core.r4#1.1.2").unwrap())
        .unwrap_err();
    assert!(matches!(e, CacheError::Damaged { .. }), "{e}");
    assert!(
        e.to_string().contains("its package.json names other"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A package server on 127.0.0.1: `/NAME/VERSION` answers with the package file
/// (packages.fhir.org style) or npm-style metadata pointing at `/files/NAME`.
/// Returns its base URL.
fn package_server(routes: Vec<(String, Vec<u8>, &'static str)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // skip the headers
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let found = routes.iter().find(|(p, ..)| *p == path);
            let (status, body, ctype) = match found {
                Some((_, b, t)) => ("200 OK", b.clone(), *t),
                None => ("404 Not Found", b"not found".to_vec(), "text/plain"),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn install_from_a_package_server() {
    let dir = crate::scratch_dir("packages-install");
    let cache = dir.join("cache");
    let core = std::fs::read(shared("jp-core/jp-core.r4-1.1.2-url.tgz")).unwrap();
    let checkup = std::fs::read(shared("echeckup/jp-eCheckupReport.r4-1.5.0-snap.tgz")).unwrap();
    let clins = std::fs::read(shared("jp-clins/jp-eCSCLINS.r4-1.10.0-snap.tgz")).unwrap();
    // the port is known only once bound: metadata is served from a second server
    let files = package_server(vec![(
        "/files/checkup.tgz".into(),
        checkup,
        "application/gzip",
    )]);
    let meta = format!(
        r#"{{"name":"jp-eCheckupReport.r4","version":"1.5.0","dist":{{"tarball":"{files}/files/checkup.tgz"}}}}"#
    );
    let registry = package_server(vec![
        ("/jp-core.r4/1.1.2-url".into(), core, "application/tar+gzip"),
        (
            "/jp-eCheckupReport.r4/1.5.0".into(),
            meta.into_bytes(),
            "application/json",
        ),
        // a server that answers with another package than the one asked for
        ("/jp-core.r4/1.1.2".into(), clins, "application/tar+gzip"),
        (
            "/broken/1.0.0".into(),
            b"\x1f\x8b\x08garbage".to_vec(),
            "application/gzip",
        ),
    ]);
    let (code, out, err) = run_in(
        &[
            "kakehashi",
            "packages",
            "install",
            "--from",
            &registry,
            "jp-core.r4#1.1.2-url",
            "jp-eCheckupReport.r4#1.5.0",
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "installed jp-core.r4#1.1.2-url from {registry}/jp-core.r4/1.1.2-url"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "installed jp-eCheckupReport.r4#1.5.0 from {files}/files/checkup.tgz"
        )),
        "{out}"
    );
    let c = Cache::new(cache.clone());
    let p = c
        .load(&PackageRef::parse("jp-core.r4#1.1.2-url").unwrap())
        .unwrap();
    assert_eq!(
        (p.name.as_str(), p.version.as_str()),
        ("jp-core.r4", "1.1.2-url")
    );
    assert_eq!(
        c.origin(&PackageRef::parse("jp-core.r4#1.1.2-url").unwrap())
            .unwrap()
            .sha256,
        sha256_hex(&std::fs::read(shared("jp-core/jp-core.r4-1.1.2-url.tgz")).unwrap())
    );
    // installed already: not fetched again
    let (code, out, _) = run_in(
        &[
            "kakehashi",
            "packages",
            "install",
            "--from",
            &registry,
            "jp-core.r4#1.1.2-url",
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("already installed jp-core.r4#1.1.2-url"),
        "{out}"
    );
    // not on the server; another package than asked; a corrupt file
    for (pin, expect) in [
        ("nope.r4#1.0.0", "HTTP 404"),
        (
            "jp-core.r4#1.1.2",
            "asked for jp-core.r4#1.1.2, but the package is jp-eCSCLINS.r4#1.10.0",
        ),
        ("broken#1.0.0", "not a usable FHIR package"),
    ] {
        let (code, out, err) = run_in(
            &["kakehashi", "packages", "install", "--from", &registry, pin],
            &dir,
            &cache,
        );
        assert_eq!(code, 1, "{pin}: {out}{err}");
        assert!(
            err.contains(&format!("package {pin} could not be installed")),
            "{err}"
        );
        assert!(err.contains(expect), "{pin}: {err}");
        assert!(!cache.join(pin).exists());
    }
    // a malformed reference is a usage error
    let (code, _, err) = run_in(
        &[
            "kakehashi",
            "packages",
            "install",
            "--from",
            &registry,
            "jp-core.r4",
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 2);
    assert!(err.contains("is not NAME#VERSION"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The verdict follows the pin: a bundle JP-CLINS 1.5.2 accepts and 1.10.0
/// refuses (the clinicalStatus coding has no `display`, 1..1 since 1.10).
#[test]
fn validate_selects_exactly_the_pinned_packages() {
    let dir = crate::scratch_dir("packages-pins");
    let cache = test_cache();
    // a Condition bundle as kakehashi writes it, with the status displays that
    // 1.10 made 1..1 taken out (1.5.2 allows their absence)
    let golden = crate::walk::repository_root()
        .join("golden/convert/nho-sample/expected/bundles/C-9999013.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
    let mut removed = 0;
    for e in v["entry"].as_array_mut().unwrap() {
        for status in ["clinicalStatus", "verificationStatus"] {
            if let Some(codings) = e
                .pointer_mut(&format!("/resource/{status}/coding"))
                .and_then(|c| c.as_array_mut())
            {
                for c in codings {
                    removed += usize::from(c.as_object_mut().unwrap().remove("display").is_some());
                }
            }
        }
    }
    assert!(removed >= 2, "{removed}");
    std::fs::write(dir.join("C.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let bundle = "C.json".to_owned();
    let (code, out, _) = run_in(
        &["kakehashi", "validate", "--ig", "clins-1.5.2", &bundle],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("jp-eCSCLINS.r4@1.5.2"), "{out}");
    // the default set is the IG in force
    let (code, out, _) = run_in(&["kakehashi", "validate", &bundle], &dir, &cache);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("set clins:") && out.contains("jp-eCSCLINS.r4@1.10.0"),
        "{out}"
    );
    // the same set named by its pins
    let (code, out, _) = run_in(
        &[
            "kakehashi",
            "validate",
            "--ig",
            "jp-core.r4#1.1.2-url,jp-eCSCLINS.r4#1.5.2",
            &bundle,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}");
    let v110 = "jp-core.r4#1.1.2-clins,jp-eCSCLINS.r4#1.10.0";
    let (code, out, _) = run_in(
        &["kakehashi", "validate", "--ig", v110, &bundle],
        &dir,
        &cache,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("jp-eCSCLINS.r4@1.10.0") && out.contains("INVALID"),
        "{out}"
    );
    assert!(!out.contains("jp-eCSCLINS.r4@1.5.2"), "{out}");
    // what the packages depend on and the set does not hold is said
    let (_, _, err) = run_in(
        &[
            "kakehashi",
            "validate",
            "--ig",
            "jp-core.r4#1.1.2-url,jp-eCSCLINS.r4#1.10.0",
            &bundle,
        ],
        &dir,
        &cache,
    );
    assert!(
        err.contains("jp-eCSCLINS.r4#1.10.0 depends on jp-core.r4#1.1.2-clins, the set pins jp-core.r4#1.1.2-url"),
        "{err}"
    );
    assert!(
        err.contains("jpfhir-terminology.r4 is not in the set (jp-core.r4 names 1.2.3-url, jp-eCSCLINS.r4 names 1.3.0)"),
        "{err}"
    );
    // a site configuration pinning clins to 1.5.2 flips the default set back
    let config = std::fs::read_to_string(crate::walk::repository_root().join("kakehashi.toml"))
        .unwrap()
        + "\n[packages.sets]\nclins = [\"jp-core.r4#1.1.2-url\", \"jp-eCSCLINS.r4#1.5.2\"]\n";
    std::fs::write(dir.join("site.toml"), config).unwrap();
    let (code, out, _) = run_in(
        &["kakehashi", "validate", "--config", "site.toml", &bundle],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("set clins:") && out.contains("jp-eCSCLINS.r4@1.5.2"),
        "{out}"
    );
    // a pin not installed: named, with the command that installs it; nothing validated
    let (code, out, err) = run_in(
        &[
            "kakehashi",
            "validate",
            "--ig",
            "jp-eCSCLINS.r4#9.9.9",
            &bundle,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("package jp-eCSCLINS.r4#9.9.9 is not installed")
            && err.contains("kakehashi packages install jp-eCSCLINS.r4#9.9.9"),
        "{err}"
    );
    assert!(!out.contains("OK") && !out.contains("INVALID"), "{out}");
    // two versions of one package in one set
    let (code, _, err) = run_in(
        &[
            "kakehashi",
            "validate",
            "--ig",
            "jp-core.r4#1.1.2,jp-core.r4#1.1.2-url",
            &bundle,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 2);
    assert!(err.contains("two versions of jp-core.r4"), "{err}");
    std::fs::write(
        dir.join("two.toml"),
        std::fs::read_to_string(crate::walk::repository_root().join("kakehashi.toml")).unwrap()
            + "\n[packages.sets]\nclins = [\"jp-core.r4#1.1.2\", \"jp-core.r4#1.1.2-url\"]\n",
    )
    .unwrap();
    let (code, _, err) = run_in(
        &["kakehashi", "validate", "--config", "two.toml", &bundle],
        &dir,
        &cache,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("packages.sets.clins") && err.contains("two versions of jp-core.r4"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A site's sources install what its pins need on first use, from a folder of
/// package files; a second run installs nothing.
#[test]
fn configured_sources_install_missing_pins() {
    let dir = crate::scratch_dir("packages-sources");
    let cache = dir.join("cache");
    let shared_dir = crate::shared("fhir-profiles");
    let site =
        std::fs::read_to_string(crate::walk::repository_root().join("kakehashi.toml")).unwrap();
    // the repository's own sources are relative to its folder: name the folder here
    let site = site
        .split("\n[packages]")
        .next()
        .unwrap_or(&site)
        .to_owned();
    let config = site
        + &format!(
            "\n[packages]\nsources = [{:?}]\n",
            shared_dir.display().to_string()
        );
    std::fs::write(dir.join("site.toml"), config).unwrap();
    let bundle = crate::walk::repository_root()
        .join("golden/convert/nho-sample/expected/bundles/C-9999013.json")
        .display()
        .to_string();
    let (code, out, err) = run_in(
        &["kakehashi", "validate", "--config", "site.toml", &bundle],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("installed jp-core.r4#1.1.2-clins from"),
        "{err}"
    );
    assert!(
        err.contains("installed jp-eCSCLINS.r4#1.10.0 from"),
        "{err}"
    );
    // a placeholder package is named as it installs
    let (code, out, err) = run_in(
        &[
            "kakehashi",
            "validate",
            "--config",
            "site.toml",
            "--ig",
            "clins-1.5.2",
            &bundle,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("installed jp-eCSCLINS.r4#1.5.2 from")
            && err.contains("(package.json says 1.x.x-temp; named by known package file)"),
        "{err}"
    );
    let (code, out, err) = run_in(
        &["kakehashi", "validate", "--config", "site.toml", &bundle],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("installed"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Moving a pin replans every live unit as a replace, with the reason, although
/// the bundles' bytes are the same: here the JP-CLINS 1.5.2 file is installed a
/// second time under another name and the site pins that name.
#[test]
fn a_pin_change_replaces_every_unit_with_the_reason() {
    let dir = crate::scratch_dir("packages-replan");
    let cache = dir.join("cache");
    let shared_dir = crate::shared("fhir-profiles");
    let site =
        std::fs::read_to_string(crate::walk::repository_root().join("demo/synth.kakehashi.toml"))
            .unwrap();
    let site = site
        .split("\n[packages]")
        .next()
        .unwrap_or(&site)
        .to_owned();
    // tables are named relative to the configuration: point at the repository's
    let site = site.replace(
        "\"../tables/",
        &format!("\"{}/tables/", crate::walk::repository_root().display()),
    );
    let sources = format!(
        "\n[packages]\nsources = [{:?}]\n",
        shared_dir.display().to_string()
    );
    std::fs::write(
        dir.join("old.toml"),
        format!(
            "{site}{sources}[packages.sets]\nclins = [\"jp-core.r4#1.1.2-url\", \"jp-eCSCLINS.r4#1.5.2\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("new.toml"),
        format!(
            "{site}{sources}[packages.sets]\nclins = [\"jp-core.r4#1.1.2-url\", \"jp-eCSCLINS.r4#1.5.2-rebuilt\"]\n"
        ),
    )
    .unwrap();
    let clins = shared("jp-clins/jp-clins.r4-1.5.2-snap.tgz")
        .display()
        .to_string();
    let (code, out, err) = run_in(
        &[
            "kakehashi",
            "packages",
            "add",
            "--as",
            "1.5.2-rebuilt",
            &clins,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_in(
        &[
            "kakehashi",
            "synth",
            "ssmix2",
            "--patients",
            "3",
            "--seed",
            "5",
            "--out",
            "st",
            "--package",
            &clins,
        ],
        &dir,
        &cache,
    );
    assert_eq!(code, 0, "{out}{err}");
    let convert = |config: &str| {
        run_in(
            &[
                "kakehashi",
                "convert",
                "st",
                "--config",
                config,
                "--out",
                "out",
            ],
            &dir,
            &cache,
        )
    };
    let (code, out, err) = convert("old.toml");
    assert!(code < 2, "{out}{err}");
    let created = out
        .lines()
        .find(|l| l.starts_with("plan:"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        created.starts_with("plan: create ") && !created.starts_with("plan: create 0,"),
        "{out}"
    );
    let (_, out, _) = convert("old.toml");
    assert!(
        out.contains("plan: create 0, replace 0, unchanged"),
        "{out}"
    );
    // the pin moves: the same bytes, every unit replaced, the reason said
    let (code, out, err) = convert("new.toml");
    assert!(code < 2, "{out}{err}");
    assert!(out.contains("plan: create 0, replace "), "{out}");
    assert!(out.contains("units replaced: validated under other packages before: jp-eCSCLINS.r4 1.5.2 → 1.5.2-rebuilt"), "{out}");
    let plan = std::fs::read_to_string(dir.join("out/plan.jsonl")).unwrap();
    for line in plan.lines() {
        assert!(
            line.contains("\"action\":\"replace\"")
                && line.contains("\"reason\":\"validated under other packages before: jp-eCSCLINS.r4 1.5.2 → 1.5.2-rebuilt\""),
            "{line}"
        );
    }
    // recorded: the next run under the new pins changes nothing
    let (_, out, _) = convert("new.toml");
    assert!(
        out.contains("plan: create 0, replace 0, unchanged"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn urls_are_shown_without_credentials() {
    for (url, shown) in [
        (
            "https://user:tok3n@registry.example/fhir/a/1.0?key=s3cret",
            "https://registry.example/fhir/a/1.0",
        ),
        (
            "http://127.0.0.1:8080/x.tgz#frag",
            "http://127.0.0.1:8080/x.tgz",
        ),
        ("https://t0ken@host", "https://host"),
        ("https://packages.fhir.org", "https://packages.fhir.org"),
    ] {
        assert_eq!(redact_url(url), shown);
        assert!(!redact_url(url).contains("tok") && !redact_url(url).contains("s3cret"));
    }
}
