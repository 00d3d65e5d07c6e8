//! What the registry mechanisms' tests share (Eureka, Marathon, Nomad, PuppetDB, Triton,
//! Uyuni): a fixture HTTP(S) server on 127.0.0.1 that records every request and answers with a
//! replaceable handler, and drivers for `promsd check service-discovery` and `promsd run`.
//!
//! The fixture is plain HTTP/1.1 over std threads (one connection per request, closed after
//! the answer), optionally inside TLS that requires a client certificate.

#![allow(dead_code)] // each mechanism uses a part

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::support;

/// One request as the fixture received it.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub method: String,
    /// The path, percent-encoding kept.
    pub path: String,
    /// The raw query (after `?`), empty without one.
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
        }
    }

    pub fn json(body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(200, "application/json", body)
    }
}

type Handler = Box<dyn FnMut(&Recorded) -> Reply + Send>;

/// A fixture server; stops accepting when dropped.
pub struct Fixture {
    pub port: u16,
    tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Mutex<Handler>>,
    stop: Arc<AtomicBool>,
}

impl Fixture {
    /// A plain HTTP fixture.
    pub fn start(handler: impl FnMut(&Recorded) -> Reply + Send + 'static) -> Fixture {
        Self::spawn(None, Box::new(handler))
    }

    /// An HTTPS fixture with `config`'s certificate and client verification.
    pub fn start_tls(
        config: rustls::ServerConfig,
        handler: impl FnMut(&Recorded) -> Reply + Send + 'static,
    ) -> Fixture {
        Self::spawn(Some(Arc::new(config)), Box::new(handler))
    }

    fn spawn(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fixture = Fixture {
            port,
            tls: tls.is_some(),
            requests: Arc::default(),
            handler: Arc::new(Mutex::new(handler)),
            stop: Arc::default(),
        };
        let (requests, handler, stop) = (
            fixture.requests.clone(),
            fixture.handler.clone(),
            fixture.stop.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (requests, handler, tls) = (requests.clone(), handler.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    match tls {
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut tls = rustls::StreamOwned::new(conn, stream);
                            serve(&mut tls, &requests, &handler);
                        }
                        None => {
                            let mut stream = stream;
                            serve(&mut stream, &requests, &handler);
                        }
                    }
                });
            }
        });
        fixture
    }

    /// `http://127.0.0.1:<port>` (or https).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Replaces the handler.
    pub fn set_handler(&self, handler: impl FnMut(&Recorded) -> Reply + Send + 'static) {
        *self.handler.lock().unwrap() = Box::new(handler);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve<S: Read + Write>(
    stream: &mut S,
    requests: &Mutex<Vec<Recorded>>,
    handler: &Mutex<Handler>,
) {
    let Some(request) = read_request(stream) else {
        return;
    };
    requests.lock().unwrap().push(request.clone());
    let reply = (handler.lock().unwrap())(&request);
    let head = format!(
        "HTTP/1.1 {} Fixture\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}

fn read_request<S: Read>(stream: &mut S) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// A TLS server config with `cert`/`key` that requires a client certificate issued by `ca`.
pub fn tls_server_config(cert: &Path, key: &Path, client_ca: &Path) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(client_ca).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, PrivateKeyDer::from_pem_file(key).unwrap())
        .unwrap()
}

/// Writes `yaml` as `prometheus.yml` in `dir`.
pub fn write_config(dir: &Path, yaml: &str) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// What `promsd check service-discovery CONFIG JOB` prints: (exit code, stdout JSON or
/// `Null`, stderr).
pub fn check_sd(config: &Path, job: &str) -> (Option<i32>, serde_json::Value, String) {
    check_sd_within(config, job, "60s")
}

/// [`check_sd`] giving up on providers that have not answered after `timeout`.
pub fn check_sd_within(
    config: &Path,
    job: &str,
    timeout: &str,
) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(support::promsd_bin())
        .args(["check", "service-discovery", "--timeout", timeout])
        .arg(config)
        .arg(job)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The discovered label sets of `check_sd`'s output, each as a map of the mechanism's own
/// labels (`__address__`, `instance`, `__meta_*`), sorted.
pub fn discovered(json: &serde_json::Value) -> Vec<BTreeMap<String, String>> {
    let mut all: Vec<BTreeMap<String, String>> = json
        .as_array()
        .map(|targets| {
            targets
                .iter()
                .map(|t| {
                    let full: BTreeMap<String, String> =
                        serde_json::from_value(t["discoveredLabels"].clone()).unwrap();
                    full.into_iter()
                        .filter(|(k, _)| {
                            k.starts_with("__meta_") || k == "__address__" || k == "instance"
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    all
}

/// Label maps from string pairs; empty values are left out, as target labels never hold
/// them.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The targets `promsd run` serves for `job` over HTTP SD, as `(address, labels)` pairs.
pub fn served(port: u16, job: &str) -> Option<Vec<serde_json::Value>> {
    let body = support::get_ok(port, &format!("/api/v1/sd/{job}"))?;
    serde_json::from_str(&body).ok()
}

/// Runs the daemon on `config`, waits for `job` to serve `want` targets, makes the fixture
/// fail with `failure`, waits for it to be asked again, and checks that the last good targets
/// are still served.
pub fn last_good_state_is_kept(
    dir: &Path,
    config: &Path,
    job: &str,
    fixture: &Fixture,
    want: usize,
    failure: impl FnMut(&Recorded) -> Reply + Send + 'static,
) {
    let (_daemon, port) = support::start_promsd(dir, config, &[]);
    let count = |groups: &[serde_json::Value]| -> usize {
        groups
            .iter()
            .map(|g| g["targets"].as_array().map_or(0, Vec::len))
            .sum()
    };
    let good = support::wait_for("the first targets", || {
        served(port, job).filter(|g| count(g) == want)
    });
    fixture.set_handler(failure);
    let asked = fixture.requests().len();
    support::wait_for("two refreshes to fail", || {
        (fixture.requests().len() >= asked + 2).then_some(())
    });
    let now = served(port, job).expect("targets served");
    assert_eq!(now, good, "the last good state stands while refreshes fail");
}

/// The last errors of every provider, from the daemon's `GET /api/v1/status/sd`.
pub fn last_errors(port: u16) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("lastError", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(body) = support::get_ok(port, "/api/v1/status/sd") {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) {
            walk(&json, &mut out);
        }
    }
    out
}
