//! `kakehashi push` and `convert --server` against a real FHIR server: Helios
//! FHIR Server (`hfs`, crates.io `helios-hfs` 0.2.7, R4 + SQLite), installed by
//! `.ci/install-helios` and found through `$KAKEHASHI_HELIOS` (else the
//! install script's cache folder). Each test starts its own servers on
//! 127.0.0.1 on free ports, waits for `GET /metadata`, and stops them.
//!
//! Without the server binary the tests fail, saying how to install it: they
//! never skip.
//!
//! Every fault test ends by comparing the server with an undisturbed delivery
//! of the same output: per resource type the `_summary=count` total, and every
//! resource's id with a digest of its content (meta left out), and prints what
//! it compared.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is the test's report

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Fault tests are timing-sensitive and the machine has two cores: one test of
/// this file at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------- the server

fn helios() -> PathBuf {
    let p = match std::env::var_os("KAKEHASHI_HELIOS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/kakehashi/tools/helios-hfs-0.2.7/bin/hfs"),
    };
    assert!(
        p.is_file(),
        "the Helios FHIR Server binary is missing ({}): run `.ci/install-helios` (it prints the \
         path) and set KAKEHASHI_HELIOS to it; these tests never skip",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Helios server on 127.0.0.1 with its SQLite file in `dir`.
struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        std::fs::create_dir_all(dir).unwrap();
        let mut s = Server {
            child: None,
            port: free_port(),
            dir: dir.to_path_buf(),
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("hfs.log"))
            .unwrap();
        let child = Command::new(helios())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--database-url")
            .arg(self.dir.join("fhir.db"))
            .arg("--log-level")
            .arg("warn")
            .current_dir(&self.dir)
            .env("HFS_BASE_URL", self.url())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", helios().display()));
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = get(&format!("{}/metadata", self.url())) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "hfs exited ({status}) before it was ready: {}",
                    std::fs::read_to_string(self.dir.join("hfs.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "hfs not ready on port {} after 90 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, then wait.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One GET: status and body.
fn get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut r = agent
        .get(url)
        .header("Accept", "application/fhir+json")
        .call()
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

fn get_json(url: &str) -> serde_json::Value {
    let (s, b) = get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(s, 200, "GET {url}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).unwrap()
}

/// What a server holds of some types: per type the `_summary=count` total and
/// each resource's id with its content digest (meta removed, keys sorted).
#[derive(Debug, PartialEq, Eq, Clone)]
struct Snapshot {
    counts: BTreeMap<String, u64>,
    resources: BTreeMap<String, String>,
}

impl Snapshot {
    fn of(base: &str, types: &BTreeSet<String>) -> Snapshot {
        let mut counts = BTreeMap::new();
        let mut resources = BTreeMap::new();
        for t in types {
            let v = get_json(&format!("{base}/{t}?_summary=count"));
            counts.insert(t.clone(), v["total"].as_u64().unwrap_or(u64::MAX));
            let mut url = format!("{base}/{t}?_count=200");
            let mut pages = 0;
            loop {
                let page = get_json(&url);
                for e in page["entry"].as_array().into_iter().flatten() {
                    let mut r = e["resource"].clone();
                    if let Some(o) = r.as_object_mut() {
                        o.remove("meta");
                    }
                    r.sort_all_objects();
                    let id = format!("{t}/{}", r["id"].as_str().unwrap_or("?"));
                    let digest = fhir::model::id::sha1_hex(r.to_string().as_bytes());
                    assert!(resources.insert(id.clone(), digest).is_none(), "{id} twice");
                }
                let next = page["link"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|l| l["relation"] == "next")
                    .and_then(|l| l["url"].as_str())
                    .map(str::to_owned);
                pages += 1;
                match next {
                    Some(n) if pages < 500 => url = n,
                    _ => break,
                }
            }
        }
        Snapshot { counts, resources }
    }

    fn line(&self) -> String {
        let c: Vec<String> = self
            .counts
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        format!(
            "{} ({} resources by id)",
            c.join(", "),
            self.resources.len()
        )
    }
}

// ------------------------------------------------------------------ kakehashi

fn kakehashi(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kakehashi"));
    c.args(args)
        .current_dir(cwd)
        .env("KAKEHASHI_PACKAGE_CACHE", cli::packages::test_cache())
        .env_remove("KAKEHASHI_TOKEN")
        .stdin(Stdio::null());
    c
}

fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = kakehashi(cwd, args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn config() -> String {
    testkit::repository()
        .join("demo/synth.kakehashi.toml")
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    testkit::scratch_dir(&format!("deliver-{name}"))
}

/// A generated storage `st` converted into `out` (with its ledger) in `dir`.
fn converted(dir: &Path, patients: u32, seed: u32) {
    let (code, text) = run(
        dir,
        &[
            "synth",
            "ssmix2",
            "--patients",
            &patients.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            "st",
        ],
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(
        dir,
        &[
            "convert",
            "st",
            "--config",
            &config(),
            "--out",
            "out",
            "--as-of",
            "2026-11-23",
        ],
    );
    assert!(code < 2, "{text}");
}

/// The resources (`Type/id`) of every bundle in `out/bundles`, by type.
fn expected(out: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in std::fs::read_dir(out.join("bundles")).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        for r in pipeline::deliver::transaction::resources(&v) {
            let t = r.split('/').next().unwrap().to_owned();
            m.entry(t).or_default().insert(r);
        }
    }
    m
}

fn types(e: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    e.keys().cloned().collect()
}

/// Checks that `snap` holds exactly the expected resources.
fn holds_exactly(snap: &Snapshot, e: &BTreeMap<String, BTreeSet<String>>) {
    for (t, ids) in e {
        assert_eq!(snap.counts.get(t), Some(&(ids.len() as u64)), "{t} count");
    }
    let want: BTreeSet<&String> = e.values().flatten().collect();
    let have: BTreeSet<&String> = snap.resources.keys().collect();
    assert_eq!(have, want, "resources by id");
}

/// The storage all fault tests deliver (same seed, same bytes, same ids), and
/// the snapshot of its undisturbed delivery, made once.
const PATIENTS: u32 = 24;
const SEED: u32 = 11;

fn reference() -> &'static (Snapshot, BTreeMap<String, BTreeSet<String>>, f64) {
    static REF: OnceLock<(Snapshot, BTreeMap<String, BTreeSet<String>>, f64)> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = scratch("reference");
        converted(&dir, PATIENTS, SEED);
        let server = Server::start(&dir.join("server"));
        let started = Instant::now();
        let (code, text) = run(&dir, &["push", "out", "--server", &server.url()]);
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(code, 0, "{text}");
        let e = expected(&dir.join("out"));
        let snap = Snapshot::of(&server.url(), &types(&e));
        holds_exactly(&snap, &e);
        println!(
            "undisturbed delivery of {PATIENTS} generated patients in {secs:.1} s: {}",
            snap.line()
        );
        (snap, e, secs)
    })
}

fn ledger_states(ledger: &Path) -> BTreeMap<String, usize> {
    let c = rusqlite::Connection::open(ledger).unwrap();
    let mut st = c
        .prepare("SELECT state, count(*) FROM delivery GROUP BY state")
        .unwrap();
    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .map(|r| {
            let (s, n) = r.unwrap();
            (s, n as usize)
        })
        .collect()
}

fn count(base: &str, t: &str) -> u64 {
    get(&format!("{base}/{t}?_summary=count"))
        .ok()
        .filter(|(s, _)| *s == 200)
        .and_then(|(_, b)| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["total"].as_u64())
        .unwrap_or(0)
}

// -------------------------------------------------------------------- a proxy

/// What the proxy does to the n-th POST (n from 0).
#[derive(Clone, Copy)]
enum Fault {
    /// Forward and relay.
    Pass,
    /// Answer 503 without forwarding.
    Unavailable,
    /// Answer 429 with `Retry-After: 1` without forwarding.
    TooMany,
    /// Forward (the server commits), then answer 500: the answer is lost.
    LostAnswer,
}

/// A small HTTP/1.1 proxy on 127.0.0.1: one request per connection
/// (`Connection: close` both ways), faults on POSTs by `rule`, and a refusal
/// (422 with an OperationOutcome) of every POST whose body holds `refuse`; with
/// a TLS configuration it takes HTTPS and forwards plain HTTP (a site's
/// TLS-terminating front of its FHIR server).
struct Proxy {
    port: u16,
    tls: bool,
    posts: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    refuse: Arc<Mutex<Option<String>>>,
    done: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: u16, rule: fn(usize) -> Fault) -> Proxy {
        Proxy::start_with(upstream, rule, None)
    }

    fn start_tls(upstream: u16, tls: Arc<rustls::ServerConfig>) -> Proxy {
        Proxy::start_with(upstream, |_| Fault::Pass, Some(tls))
    }

    fn start_with(
        upstream: u16,
        rule: fn(usize) -> Fault,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Proxy {
        let secure = tls.is_some();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let posts = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let refuse: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let (p, r, rf, d) = (posts.clone(), refused.clone(), refuse.clone(), done.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if d.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (p, r, rf, tls) = (p.clone(), r.clone(), rf.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => {
                        let _ = serve(conn, upstream, rule, &p, &r, &rf);
                    }
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        let mut stream = rustls::StreamOwned::new(session, conn);
                        let _ = serve(&mut stream, upstream, rule, &p, &r, &rf);
                        stream.conn.send_close_notify();
                        let _ = stream.flush();
                    }
                });
            }
        });
        Proxy {
            port,
            tls: secure,
            posts,
            refused,
            refuse,
            done,
        }
    }

    fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

/// A site's private CA (PEM, what `--ca` is given) and a server configuration
/// with a certificate for 127.0.0.1 that CA signed.
fn site_tls() -> (String, Arc<rustls::ServerConfig>) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "kakehashi test site CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    // The provider of the crate's features (ring, as for ureq).
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (ca.pem(), Arc::new(config))
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn answer(conn: &mut impl Write, status: &str, extra: &str, body: &str) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

fn serve(
    mut conn: impl Read + Write,
    upstream: u16,
    rule: fn(usize) -> Fault,
    posts: &AtomicUsize,
    refused: &AtomicUsize,
    refuse: &Mutex<Option<String>>,
) -> std::io::Result<()> {
    // One request per connection: nothing follows its body, so the reader's
    // buffer holds nothing more when it is dropped.
    let mut reader = BufReader::new(&mut conn);
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") {
            continue;
        }
        head.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    drop(reader);
    let post = head.first().is_some_and(|l| l.starts_with("POST"));
    let fault = if post {
        let n = posts.fetch_add(1, Ordering::Relaxed);
        let marker = refuse.lock().unwrap().clone();
        if marker.is_some_and(|m| String::from_utf8_lossy(&body).contains(&m)) {
            refused.fetch_add(1, Ordering::Relaxed);
            return answer(
                &mut conn,
                "422 Unprocessable Entity",
                "",
                r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"refused on purpose by the test proxy"}]}"#,
            );
        }
        rule(n)
    } else {
        Fault::Pass
    };
    match fault {
        Fault::Unavailable => return answer(&mut conn, "503 Service Unavailable", "", "{}"),
        Fault::TooMany => {
            return answer(
                &mut conn,
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                "{}",
            );
        }
        Fault::Pass | Fault::LostAnswer => {}
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    for l in &head {
        up.write_all(l.as_bytes())?;
    }
    up.write_all(b"Connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    if matches!(fault, Fault::LostAnswer) {
        return answer(&mut conn, "500 Internal Server Error", "", "{}");
    }
    conn.write_all(&response)
}

// ---------------------------------------------------------------------- tests

#[test]
fn push_then_convert_server_deliver_creates_replacements_and_deletions() {
    let _one = serial();
    let dir = scratch("lifecycle");
    converted(&dir, 6, 3);
    let server = Server::start(&dir.join("server"));
    let url = server.url();
    let (code, text) = run(&dir, &["push", "out", "--server", &url]);
    assert_eq!(code, 0, "{text}");
    let e1 = expected(&dir.join("out"));
    let s1 = Snapshot::of(&url, &types(&e1));
    holds_exactly(&s1, &e1);
    println!("push: {}", text.trim());
    println!("server after the first push: {}", s1.line());

    // Again: nothing to send.
    let (code, text) = run(&dir, &["push", "out", "--server", &url]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("nothing to send"), "{text}");

    // A lab order withdrawn (`_1` → `_0`), converted and delivered in one go:
    // its unit's resources leave the server, nothing else changes.
    let lab = find_file(&dir.join("st"), "_OML-11_", "_1").expect("a lab file");
    let deleted = lab.with_file_name(
        lab.file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches("_1")
            .to_owned()
            + "_0",
    );
    std::fs::rename(&lab, &deleted).unwrap();
    let (code, text) = run(
        &dir,
        &[
            "convert",
            "st",
            "--config",
            &config(),
            "--out",
            "out",
            "--as-of",
            "2026-11-23",
            "--server",
            &url,
        ],
    );
    assert!(code < 2, "{text}");
    assert!(text.contains("delete 1"), "{text}");
    let e2 = expected(&dir.join("out"));
    let gone: BTreeSet<&String> = e1
        .values()
        .flatten()
        .filter(|r| !e2.values().flatten().any(|x| x == *r))
        .collect();
    assert!(!gone.is_empty());
    let s2 = Snapshot::of(&url, &types(&e1));
    let mut e2_all = e2.clone();
    for t in types(&e1) {
        e2_all.entry(t).or_default();
    }
    holds_exactly(&s2, &e2_all);
    for r in &gone {
        let (status, _) = get(&format!("{url}/{r}")).unwrap();
        assert!(status == 404 || status == 410, "{r}: HTTP {status}");
    }
    let states = ledger_states(&dir.join("out/ledger.sqlite"));
    assert_eq!(states.get("deleted"), Some(&1), "{states:?}");
    println!(
        "convert --server after a withdrawn lab order: {} resources deleted ({}), server: {}",
        gone.len(),
        text.lines()
            .find(|l| l.starts_with("push:"))
            .unwrap_or_default(),
        s2.line()
    );
}

fn find_file(dir: &Path, contains: &str, ends: &str) -> Option<PathBuf> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                all.push(p);
            }
        }
    }
    all.sort();
    all.into_iter().find(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        n.contains(contains) && n.ends_with(ends)
    })
}

/// Polls until the server holds at least `n` Patients (delivery under way).
fn wait_for_patients(url: &str, n: u64, limit: Duration) -> u64 {
    let started = Instant::now();
    loop {
        let c = count(url, "Patient");
        if c >= n || started.elapsed() > limit {
            return c;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fault_server_stopped_mid_delivery_and_restarted() {
    let _one = serial();
    let (reference, e, _) = reference();
    let total = e["Patient"].len() as u64;
    let dir = scratch("restart");
    converted(&dir, PATIENTS, SEED);
    let mut server = Server::start(&dir.join("server"));
    let url = server.url();
    let push = kakehashi(
        &dir,
        &[
            "push",
            "out",
            "--server",
            &url,
            "--concurrency",
            "4",
            "--retries",
            "40",
            "--backoff-ms",
            "100",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let seen = wait_for_patients(&url, 3, Duration::from_secs(120));
    server.kill();
    println!("server killed with {seen} of {total} Patients delivered");
    assert!(
        seen < total,
        "delivery finished before the server was stopped"
    );
    std::thread::sleep(Duration::from_millis(1500));
    server.launch();
    println!("server restarted on the same port and database");
    let out = push.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let snap = Snapshot::of(&url, &types(e));
    holds_exactly(&snap, e);
    assert_eq!(
        &snap, reference,
        "the server differs from an undisturbed delivery"
    );
    println!("{}", text.trim());
    println!(
        "checked: per-type counts and every resource id and content equal an undisturbed delivery: {}",
        snap.line()
    );
}

#[test]
fn fault_requests_answered_500_and_429_by_a_proxy() {
    let _one = serial();
    let (reference, e, _) = reference();
    let dir = scratch("proxy");
    converted(&dir, PATIENTS, SEED);
    let server = Server::start(&dir.join("server"));
    let proxy = Proxy::start(server.port, |n| match n % 6 {
        1 => Fault::Unavailable,
        3 => Fault::TooMany,
        4 => Fault::LostAnswer,
        _ => Fault::Pass,
    });
    let (code, text) = run(
        &dir,
        &[
            "push",
            "out",
            "--server",
            &proxy.url(),
            "--concurrency",
            "4",
            "--retries",
            "12",
            "--backoff-ms",
            "50",
        ],
    );
    assert_eq!(code, 0, "{text}");
    let posts = proxy.posts.load(Ordering::Relaxed);
    let snap = Snapshot::of(&server.url(), &types(e));
    holds_exactly(&snap, e);
    assert_eq!(
        &snap, reference,
        "the server differs from an undisturbed delivery"
    );
    println!("{}", text.trim());
    println!(
        "{posts} transactions posted through the proxy: one in six answered 503, one in six 429 \
         (Retry-After: 1), one in six committed by the server and answered 500"
    );
    println!(
        "checked: per-type counts and every resource id and content equal an undisturbed delivery: {}",
        snap.line()
    );
}

#[test]
fn fault_kakehashi_killed_mid_delivery_then_rerun() {
    let _one = serial();
    let (reference, e, _) = reference();
    let total = e["Patient"].len() as u64;
    let dir = scratch("kill");
    converted(&dir, PATIENTS, SEED);
    let server = Server::start(&dir.join("server"));
    let url = server.url();
    // Killed twice at different points, then run to the end.
    for (round, at) in [(1, 2u64), (2, total / 2)] {
        let mut push = kakehashi(
            &dir,
            &["push", "out", "--server", &url, "--concurrency", "4"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let seen = wait_for_patients(&url, at, Duration::from_secs(120));
        push.kill().unwrap(); // SIGKILL
        push.wait().unwrap();
        let states = ledger_states(&dir.join("out/ledger.sqlite"));
        println!("kill -9 #{round}: server held {seen} of {total} Patients; ledger: {states:?}");
        assert!(
            count(&url, "Patient") < total || round == 2,
            "delivery finished before the kill"
        );
    }
    let (code, text) = run(
        &dir,
        &["push", "out", "--server", &url, "--concurrency", "4"],
    );
    assert_eq!(code, 0, "{text}");
    let snap = Snapshot::of(&url, &types(e));
    holds_exactly(&snap, e);
    assert_eq!(
        &snap, reference,
        "the server differs from an undisturbed delivery"
    );
    let states = ledger_states(&dir.join("out/ledger.sqlite"));
    assert_eq!(
        states.keys().collect::<Vec<_>>(),
        ["delivered"],
        "{states:?}"
    );
    println!("rerun: {}", text.trim());
    println!(
        "checked: per-type counts and every resource id and content equal an undisturbed delivery: {}; \
         ledger: {states:?}",
        snap.line()
    );
}

#[test]
fn bad_input_is_a_clear_error_and_nothing_is_marked_delivered() {
    let _one = serial();
    let dir = scratch("bad");
    converted(&dir, 4, 5);
    let e = expected(&dir.join("out"));
    let ledger = dir.join("out/ledger.sqlite");
    let server = Server::start(&dir.join("server"));
    let url = server.url();

    // An unreachable server.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (code, text) = run(
        &dir,
        &[
            "push",
            "out",
            "--server",
            &closed,
            "--retries",
            "2",
            "--backoff-ms",
            "10",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("server unreachable"), "{text}");
    assert!(ledger_states(&ledger).is_empty());
    println!("unreachable server: {}", text.trim());

    // TLS failure: HTTPS to a plain HTTP port; a CA file with no certificate.
    let https = url.replace("http://", "https://");
    let (code, text) = run(&dir, &["push", "out", "--server", &https, "--retries", "1"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("TLS failure"), "{text}");
    std::fs::write(dir.join("ca.pem"), "not a certificate\n").unwrap();
    let (code, text2) = run(&dir, &["push", "out", "--server", &https, "--ca", "ca.pem"]);
    assert_eq!(code, 2, "{text2}");
    assert!(text2.contains("CA file"), "{text2}");
    assert!(ledger_states(&ledger).is_empty());
    println!("TLS: {} / {}", text.trim(), text2.trim());

    // A half-written output folder: no report, a plan cut mid-line, a bundle missing.
    for (what, damage) in [
        ("report.json missing", 0),
        ("plan.jsonl cut mid-line", 1),
        ("a planned bundle missing", 2),
    ] {
        let half = dir.join(format!("half-{damage}"));
        copy_dir(&dir.join("out"), &half);
        match damage {
            0 => std::fs::remove_file(half.join("report.json")).unwrap(),
            1 => {
                let p = std::fs::read(half.join("plan.jsonl")).unwrap();
                std::fs::write(half.join("plan.jsonl"), &p[..p.len() - 20]).unwrap();
            }
            _ => {
                let b = std::fs::read_dir(half.join("bundles"))
                    .unwrap()
                    .next()
                    .unwrap();
                std::fs::remove_file(b.unwrap().path()).unwrap();
            }
        }
        let (code, text) = run(&dir, &["push", half.to_str().unwrap(), "--server", &url]);
        assert_eq!(code, 2, "{what}: {text}");
        assert!(text.contains("C404"), "{what}: {text}");
        assert_eq!(count(&url, "Patient"), 0, "{what}: something was sent");
        println!("{what}: {}", text.trim());
    }

    // A ledger from another storage.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    converted(&other, 3, 99);
    let (code, text) = run(
        &dir,
        &[
            "push",
            "out",
            "--server",
            &url,
            "--ledger",
            other.join("out/ledger.sqlite").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("C405"), "{text}");
    assert_eq!(count(&url, "Patient"), 0, "something was sent");
    assert!(ledger_states(&other.join("out/ledger.sqlite")).is_empty());
    println!("ledger of another storage: {}", text.trim());

    // A server that refuses one unit's bundle: reported with its
    // OperationOutcome, recorded as refused, the others delivered; not sent
    // again unless asked.
    let proxy = Proxy::start(server.port, |_| Fault::Pass);
    let victim = std::fs::read_dir(dir.join("out/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let unit = victim.file_stem().unwrap().to_string_lossy().into_owned();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&victim).unwrap()).unwrap();
    let marker = pipeline::deliver::transaction::resources(&v)[0].clone();
    *proxy.refuse.lock().unwrap() = Some(marker.clone());
    let (code, text) = run(&dir, &["push", "out", "--server", &proxy.url()]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("C400") && text.contains(&unit), "{text}");
    assert!(
        !text.contains("refused on purpose"),
        "server text shown without --show-phi: {text}"
    );
    assert!(
        dir.join(format!("out/refused/{unit}.outcome.json"))
            .is_file()
    );
    let states = ledger_states(&ledger);
    assert_eq!(states.get("refused"), Some(&1), "{states:?}");
    let (status, _) = get(&format!("{url}/{marker}")).unwrap();
    assert_eq!(status, 404, "{marker} of the refused unit is on the server");
    println!("refused unit: {}", text.trim());
    let (code, text) = run(&dir, &["push", "out", "--server", &proxy.url()]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("C401"), "{text}");
    assert_eq!(
        proxy.refused.load(Ordering::Relaxed),
        1,
        "sent again unasked"
    );
    *proxy.refuse.lock().unwrap() = None;
    let (code, text) = run(
        &dir,
        &["push", "out", "--server", &proxy.url(), "--resend-refused"],
    );
    assert_eq!(code, 0, "{text}");
    let snap = Snapshot::of(&url, &types(&e));
    holds_exactly(&snap, &e);
    assert!(
        !dir.join(format!("out/refused/{unit}.outcome.json"))
            .exists()
    );
    println!(
        "--resend-refused once the server accepts it: {}",
        text.trim()
    );
    println!(
        "checked: server holds exactly the bundles' resources: {}",
        snap.line()
    );
}

#[test]
fn push_over_https_trusts_the_sites_ca_given_with_ca() {
    let _one = serial();
    let dir = scratch("https");
    converted(&dir, 3, 11);
    let e = expected(&dir.join("out"));
    let ledger = dir.join("out/ledger.sqlite");
    let server = Server::start(&dir.join("server"));
    let (ca, tls) = site_tls();
    std::fs::write(dir.join("site-ca.pem"), ca).unwrap();
    let front = Proxy::start_tls(server.port, tls);
    let url = front.url();
    assert!(url.starts_with("https://"), "{url}");

    // The system's roots do not know the site's CA: a TLS failure, nothing sent.
    let (code, text) = run(&dir, &["push", "out", "--server", &url, "--retries", "1"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("TLS failure"), "{text}");
    assert!(ledger_states(&ledger).is_empty());
    assert_eq!(count(&server.url(), "Patient"), 0, "something was sent");
    println!("HTTPS without --ca: {}", text.trim());

    // With it: every unit delivered over HTTPS.
    let (code, text) = run(
        &dir,
        &["push", "out", "--server", &url, "--ca", "site-ca.pem"],
    );
    assert_eq!(code, 0, "{text}");
    let snap = Snapshot::of(&server.url(), &types(&e));
    holds_exactly(&snap, &e);
    let states = ledger_states(&ledger);
    assert!(
        states.keys().all(|s| s == "delivered" || s == "deleted"),
        "{states:?}"
    );
    assert!(front.posts.load(Ordering::Relaxed) > 0);
    println!("HTTPS with --ca site-ca.pem: {}", text.trim());
    println!(
        "checked: server holds exactly the bundles' resources: {}",
        snap.line()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let t = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}
