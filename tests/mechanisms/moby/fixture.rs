//! A Docker Engine API fixture: a real HTTP server, over TCP and over a unix socket at once,
//! answering with Prometheus' `discovery/moby/testdata` as its `mock_test.go` does:
//! - `/_ping` (HEAD or GET) and every path under `/v<Api-Version>/`, where `Api-Version` comes
//!   from the directory's `headers.yml` (whose headers go on every answer);
//! - `networks/…`, `containers/…` (subtrees): the file named by the path's last segment,
//!   sanitized (`containers/json` → `containers/json.json`); `/networks` without the slash is
//!   what Go's mux redirects to `networks/`, so it is served the same;
//! - `services`, `nodes`, `tasks`: `<name>.json`, or with a query `<name>.json__<first 10
//!   characters of the URL-safe base64 of the SHA-1 of the query>`, so a filter the client
//!   encodes differently from the Go client finds no file (500): filters are asserted by the
//!   server;
//! - each request URI answered once (429 after), as upstream's mock, unless `repeat` is set.
//!
//! Every request is recorded (method, URI, Host, User-Agent). The daemon can be made to fail
//! (500 on everything) and an [`Unresponsive`] daemon accepts connections and never answers.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;

/// Where the ported upstream testdata lives.
pub fn testdata(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/moby/testdata")
        .join(dir)
}

/// One request the fixture answered.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub host: String,
    pub user_agent: String,
    pub authorization: String,
}

#[derive(Default)]
struct State {
    dir: PathBuf,
    headers: Vec<(String, String)>,
    calls: HashMap<String, u32>,
    seen: Vec<Seen>,
    fail: bool,
    repeat: bool,
    bearer: Option<String>,
    go_mux: bool,
}

/// A running fixture daemon.
pub struct Engine {
    state: Arc<Mutex<State>>,
    pub port: u16,
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `headers.yml`: `Key: value` lines, values possibly quoted.
fn read_headers(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("headers.yml")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// Prometheus' `strutil.SanitizeLabelName`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Engine {
    /// Serves `testdata/<dir>`, each request URI once.
    pub fn start(dir: &str) -> Engine {
        Self::start_with(dir, |_| {})
    }

    /// Serves `testdata/<dir>` with `headers` changed first (e.g. another `Api-Version`).
    pub fn start_with(dir: &str, change: impl FnOnce(&mut Vec<(String, String)>)) -> Engine {
        let data = testdata(dir);
        let mut headers = read_headers(&data);
        change(&mut headers);
        let state = Arc::new(Mutex::new(State {
            dir: data,
            headers,
            ..State::default()
        }));
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("d.sock");
        let (tx, rx) = std::sync::mpsc::channel();
        let (shared, uds) = (state.clone(), socket.clone());
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let data = web::Data::from(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(handle))
                })
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .unwrap()
                .bind_uds(&uds)
                .unwrap();
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).unwrap();
                let _ = server.await;
            });
        });
        let (port, handle) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Engine {
            state,
            port,
            socket,
            _dir: tmp,
            handle,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_host(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `unix://<socket>`.
    pub fn unix_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The request URIs so far, in order.
    pub fn uris(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.uri).collect()
    }

    /// Answer 500 to everything (or stop doing so).
    pub fn fail(&self, fail: bool) {
        self.state.lock().unwrap().fail = fail;
    }

    /// Answer a request URI more than once.
    pub fn repeat(&self) {
        self.state.lock().unwrap().repeat = true;
    }

    /// Redirect `/v<version>/networks` to `/v<version>/networks/` (301) as Go's `ServeMux`
    /// does in upstream's mock, where only the subtree is registered.
    pub fn go_mux(&self) {
        self.state.lock().unwrap().go_mux = true;
    }

    /// Require `Authorization: Bearer <token>` (401 otherwise).
    pub fn require_bearer(&self, token: &str) {
        self.state.lock().unwrap().bearer = Some(token.to_owned());
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        futures::executor::block_on(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(req: HttpRequest, state: web::Data<Mutex<State>>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let uri = req.uri().to_string();
    state.seen.push(Seen {
        method: req.method().to_string(),
        uri: uri.clone(),
        host: header("host"),
        user_agent: header("user-agent"),
        authorization: header("authorization"),
    });
    let headers = state.headers.clone();
    let answer = |status: actix_web::http::StatusCode| {
        let mut b = HttpResponse::build(status);
        for (k, v) in &headers {
            b.append_header((k.as_str(), v.as_str()));
        }
        b
    };
    if let Some(token) = &state.bearer {
        if header("authorization") != format!("Bearer {token}") {
            return answer(actix_web::http::StatusCode::UNAUTHORIZED).finish();
        }
    }
    if state.fail {
        return answer(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
            .content_type("application/json")
            .body(r#"{"message":"the fixture fails on purpose"}"#);
    }
    let calls = state.calls.entry(uri.clone()).or_default();
    *calls += 1;
    if *calls != 1 && !state.repeat {
        return answer(actix_web::http::StatusCode::TOO_MANY_REQUESTS).finish();
    }
    let version = state
        .headers
        .iter()
        .find(|(k, _)| k == "Api-Version")
        .map(|(_, v)| v.clone());
    let prefix = match &version {
        Some(v) => format!("/v{v}/"),
        None => "/".to_owned(),
    };
    let path = req.path();
    if state.go_mux && path.ends_with("/networks") && path.starts_with(&prefix) {
        return HttpResponse::MovedPermanently()
            .append_header(("Location", format!("{path}/")))
            .finish();
    }
    let file = if path == "/_ping" {
        Some("_ping".to_owned())
    } else if let Some(rest) = path.strip_prefix(&prefix) {
        let last = uri.rsplit('/').next().unwrap_or("");
        let subtree = ["networks/", "services/", "nodes/", "containers/"]
            .into_iter()
            .find(|p| rest.starts_with(p) || (rest == "networks" && *p == "networks/"));
        match subtree {
            Some(p) => {
                // After Go's redirect of `/networks` to `/networks/`, the last segment is empty.
                let last = if rest == "networks" { "" } else { last };
                let sanitized = sanitize(last);
                Some(if sanitized.is_empty() {
                    p.trim_end_matches('/').to_owned()
                } else {
                    format!("{}/{sanitized}", p.trim_end_matches('/'))
                })
            }
            None if ["nodes", "services", "tasks"].contains(&rest) => {
                let mut f = format!("{rest}.json");
                if let Some(query) = req.uri().query() {
                    let digest = sha1(query.as_bytes());
                    let encoded = base64::engine::general_purpose::URL_SAFE.encode(digest);
                    f.push_str("__");
                    f.push_str(&encoded[..10]);
                }
                Some(f)
            }
            None => None,
        }
    } else {
        None
    };
    let Some(file) = file else {
        return answer(actix_web::http::StatusCode::NOT_FOUND).finish();
    };
    let base = state.dir.join(&file);
    let with_json = PathBuf::from(format!("{}.json", base.display()));
    if let Ok(body) = std::fs::read(&with_json) {
        return answer(actix_web::http::StatusCode::OK)
            .content_type("application/json")
            .body(body);
    }
    if let Ok(body) = std::fs::read(&base) {
        return answer(actix_web::http::StatusCode::OK).body(body);
    }
    answer(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR).finish()
}

/// SHA-1 (FIPS 180-4), for the fixture's file names only.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[test]
fn sha1_test_vectors() {
    let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        hex(sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    // The file name of upstream's filtered services answer.
    let digest = sha1(b"filters=%7B%22name%22%3A%7B%22mon_grafana%22%3Atrue%2C%22mon_node-exporter%22%3Atrue%7D%7D");
    assert_eq!(
        &base64::engine::general_purpose::URL_SAFE.encode(digest)[..10],
        "wvKVCQ4HhD"
    );
}

/// A daemon that accepts connections (TCP and unix) and never answers, holding them open.
pub struct Unresponsive {
    pub port: u16,
    pub socket: PathBuf,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Unresponsive {
    pub fn start() -> Unresponsive {
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("d.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        tcp.set_nonblocking(true).unwrap();
        let unix = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        unix.set_nonblocking(true).unwrap();
        let mut threads = Vec::new();
        let s = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut held: Vec<Box<dyn Read + Send>> = Vec::new();
            while !s.load(Ordering::Relaxed) {
                if let Ok((c, _)) = tcp.accept() {
                    held.push(Box::new(c));
                }
                if let Ok((c, _)) = unix.accept() {
                    held.push(Box::new(c));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }));
        Unresponsive {
            port,
            socket,
            stop,
            threads,
            _dir: tmp,
        }
    }
}

impl Drop for Unresponsive {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
