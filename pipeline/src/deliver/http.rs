//! The HTTP side of delivery: a blocking client (ureq with rustls, no async
//! runtime) that sends a request again on connection errors, timeouts, 408, 409,
//! 429 and 5xx with exponential backoff and jitter, honouring `Retry-After`, and
//! tells a refusal (another 4xx) from a failure.
//!
//! The bearer token is held here only: it is sent in `Authorization` and never
//! formatted (`Debug` shows `<token>`), and no message of this module contains a
//! request or response body.

use fhir::calendar::{civil_from_days, days_from_civil};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often and how long to try again.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Tries after the first (0: never again).
    pub retries: u32,
    /// The first wait; each next one doubles (with jitter), up to `max`.
    pub initial: Duration,
    /// The longest wait between two tries (also caps `Retry-After`).
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            retries: 8,
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// How a request ended.
#[derive(Debug)]
pub enum Answer {
    /// 2xx: the status and the body.
    Ok(u16, Vec<u8>),
    /// The server refused the request (a 4xx other than 401, 403, 408, 409,
    /// 429): the status and the body (an OperationOutcome, usually).
    Refused(u16, Vec<u8>),
    /// No answer the request can be judged by.
    Failed(Failure),
}

/// Why a request has no answer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The server could not be reached, or kept answering with temporary
    /// failures, through every retry (the last reason).
    Unreachable(String),
    /// TLS failed (certificate, handshake): not retried.
    Tls(String),
    /// 401 / 403: the token is missing, wrong or not allowed.
    Auth(u16),
    /// Anything else that trying again will not mend.
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unreachable(e) => write!(f, "server unreachable: {e}"),
            Failure::Tls(e) => write!(
                f,
                "TLS failure: {e} (a server certificate of a private CA needs --ca FILE)"
            ),
            Failure::Auth(s) => write!(
                f,
                "HTTP {s}: the server refused the credentials (token from --token-file or KAKEHASHI_TOKEN)"
            ),
            Failure::Other(e) => write!(f, "{e}"),
        }
    }
}

/// Why a client cannot be made.
#[derive(Debug)]
pub enum ClientError {
    /// The server URL is neither `http://` nor `https://`.
    Scheme(String),
    /// The CA file (`--ca`) holds no usable PEM certificate.
    Ca(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Scheme(url) => {
                write!(f, "server URL {url} must start with http:// or https://")
            }
            ClientError::Ca(e) => write!(f, "the CA file has no usable certificate: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// A FHIR server's base URL with the agent that talks to it.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    retry: Retry,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<token>"))
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// The trust anchors for HTTPS.
#[derive(Clone, Debug)]
pub enum Roots {
    /// The system's: `$SSL_CERT_FILE`, else the distribution's bundle
    /// (`/etc/ssl/certs/ca-certificates.crt` and the like), else Mozilla's
    /// roots built into the binary.
    System,
    /// These PEM certificates only (`--ca FILE`).
    Pem(Vec<u8>),
}

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn certificates(pem: &[u8]) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => out.push(c),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if out.is_empty() {
        return Err("no PEM certificate in it".to_owned());
    }
    Ok(out)
}

impl Client {
    /// A client for the server at `base` (`http://` or `https://`); `token` is
    /// sent as a bearer token; `timeout` bounds each request (connect, send,
    /// answer).
    pub fn new(
        base: &str,
        token: Option<String>,
        roots: &Roots,
        timeout: Duration,
        retry: Retry,
    ) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Scheme(base));
        }
        let root_certs = match roots {
            Roots::Pem(pem) => {
                ureq::tls::RootCerts::new_with_certs(&certificates(pem).map_err(ClientError::Ca)?)
            }
            Roots::System => {
                let from_env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
                let bundle = from_env
                    .into_iter()
                    .chain(SYSTEM_BUNDLES.iter().map(std::path::PathBuf::from))
                    .find_map(|p| std::fs::read(p).ok())
                    .and_then(|pem| certificates(&pem).ok());
                match bundle {
                    Some(certs) => ureq::tls::RootCerts::new_with_certs(&certs),
                    None => ureq::tls::RootCerts::WebPki,
                }
            }
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(root_certs)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(concat!("kakehashi/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            agent,
            base,
            token,
            retry,
        })
    }

    /// The base URL (no trailing slash): the server's key in the ledger.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET base/metadata`, with retries.
    pub fn metadata(&self) -> Answer {
        self.with_retries(|| self.once("GET", &format!("{}/metadata", self.base), None))
    }

    /// `POST base` with a transaction bundle, with retries.
    pub fn transaction(&self, body: &[u8]) -> Answer {
        self.with_retries(|| self.once("POST", &self.base, Some(body)))
    }

    /// `GET base/<path>` once, no retries (tests and checks).
    pub fn get(&self, path: &str) -> Answer {
        match self.once("GET", &format!("{}/{path}", self.base), None) {
            Ok((s, _, body)) if (200..300).contains(&s) => Answer::Ok(s, body),
            Ok((s, _, body)) => Answer::Refused(s, body),
            Err(Attempt::Permanent(f)) => Answer::Failed(f),
            Err(Attempt::Transient(e)) => Answer::Failed(Failure::Unreachable(e)),
        }
    }

    fn with_retries(
        &self,
        mut send: impl FnMut() -> Result<(u16, Option<Duration>, Vec<u8>), Attempt>,
    ) -> Answer {
        let mut rng = Jitter::new();
        let mut wait = self.retry.initial;
        let mut tries = 0;
        loop {
            let (why, retry_after) = match send() {
                Ok((s, _, body)) if (200..300).contains(&s) => return Answer::Ok(s, body),
                Ok((s @ (401 | 403), _, _)) => return Answer::Failed(Failure::Auth(s)),
                Ok((s, retry_after, _)) if matches!(s, 408 | 409 | 429) || s >= 500 => {
                    (format!("HTTP {s}"), retry_after)
                }
                Ok((s, _, body)) => return Answer::Refused(s, body),
                Err(Attempt::Permanent(f)) => return Answer::Failed(f),
                Err(Attempt::Transient(e)) => (e, None),
            };
            if tries >= self.retry.retries {
                return Answer::Failed(Failure::Unreachable(format!(
                    "{why} (after {} tries)",
                    tries + 1
                )));
            }
            tries += 1;
            // Equal jitter: half the backoff for sure, the other half at random;
            // a Retry-After the server gave is waited for at least (capped).
            let jittered = wait / 2 + wait.mul_f64(rng.next() / 2.0);
            let pause = match retry_after {
                Some(ra) => ra.min(self.retry.max).max(jittered),
                None => jittered,
            };
            std::thread::sleep(pause);
            wait = (wait * 2).min(self.retry.max);
        }
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), Attempt> {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("POST", Some(b)) => {
                let mut req = self
                    .agent
                    .post(url)
                    .header("Content-Type", "application/fhir+json")
                    .header("Accept", "application/fhir+json")
                    .header("Prefer", "return=minimal");
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.send(b)
            }
            _ => {
                let mut req = self
                    .agent
                    .get(url)
                    .header("Accept", "application/fhir+json");
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.call()
            }
        };
        let mut resp = result.map_err(|e| classify(e, url.starts_with("https://")))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| classify(e, false))?;
        Ok((status, retry_after, body))
    }
}

/// One try's failure: worth another try, or not.
enum Attempt {
    Transient(String),
    Permanent(Failure),
}

fn classify(e: ureq::Error, https: bool) -> Attempt {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Io(io) => match io.kind() {
            K::InvalidData if https => Attempt::Permanent(Failure::Tls(io.to_string())),
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::TimedOut
            | K::Interrupted
            | K::WouldBlock
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown => Attempt::Transient(io.to_string()),
            _ => {
                let text = io.to_string();
                if https && (text.contains("certificate") || text.contains("TLS")) {
                    Attempt::Permanent(Failure::Tls(text))
                } else {
                    Attempt::Transient(text)
                }
            }
        },
        ureq::Error::Tls(t) => Attempt::Permanent(Failure::Tls(t.to_owned())),
        ureq::Error::Timeout(t) => Attempt::Transient(format!("timeout ({t})")),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            Attempt::Transient(e.to_string())
        }
        ureq::Error::Protocol(_) => Attempt::Transient(e.to_string()),
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            Attempt::Permanent(Failure::Other(e.to_string()))
        }
        other => {
            let text = other.to_string();
            if https && (text.contains("certificate") || text.contains("TLS")) {
                Attempt::Permanent(Failure::Tls(text))
            } else {
                Attempt::Transient(text)
            }
        }
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (IMF-fixdate).
pub fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = http_date(v)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → seconds since the epoch.
fn http_date(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == month)? as i64 + 1;
    let d: i64 = day.parse().ok()?;
    let y: i64 = year.parse().ok()?;
    let t: Vec<u64> = time.split(':').filter_map(|x| x.parse().ok()).collect();
    let [h, mi, s] = t.as_slice() else {
        return None;
    };
    let days = days_from_civil(y, m, d);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + mi * 60 + s)
}

/// Now, UTC, RFC 3339 with milliseconds: what the ledger records as a delivery's time.
pub fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        now.subsec_millis()
    )
}

/// A small xorshift generator for jitter, seeded from the clock and the thread.
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let id = format!("{:?}", std::thread::current().id());
        let h = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Jitter((t ^ h) | 1)
    }
    /// A number in [0, 1).
    fn next(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn now_is_rfc3339_with_milliseconds() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 24);
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }

    #[test]
    fn the_token_is_never_formatted() {
        let c = Client::new(
            "http://127.0.0.1:9",
            Some("s3cret".into()),
            &Roots::System,
            Duration::from_secs(1),
            Retry::default(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn an_unreachable_server_fails_after_the_retries() {
        // A port nobody listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Client::new(
            &format!("http://127.0.0.1:{port}"),
            None,
            &Roots::System,
            Duration::from_secs(2),
            Retry {
                retries: 2,
                initial: Duration::from_millis(10),
                max: Duration::from_millis(20),
            },
        )
        .unwrap();
        match c.metadata() {
            Answer::Failed(Failure::Unreachable(e)) => assert!(e.contains("3 tries"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
