//! A fixture AWS endpoint: a real HTTP server on 127.0.0.1:0 that VERIFIES each request's SigV4
//! signature with botocore (a Python process, independent of the `aws-sigv4` crate promsd
//! signs with), then answers what the test's responder says in the service's wire format.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;

/// One verified request as the fixture saw it.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// The path as sent.
    pub raw_path: String,
    /// Query string parameters (REST) or form parameters (Query protocol), decoded.
    pub params: Vec<(String, String)>,
    /// `X-Amz-Target` of a JSON 1.1 call.
    pub target: String,
    /// The JSON body of a JSON call.
    pub json: serde_json::Value,
    pub headers: Vec<(String, String)>,
    /// From the signature's credential scope.
    pub region: String,
    pub service: String,
    pub access_key: String,
    pub session_token: Option<String>,
}

impl Call {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn action(&self) -> &str {
        self.param("Action").unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, content type, body.
pub type Reply = (u16, &'static str, String);

pub type Responder = Arc<dyn Fn(&Call) -> Reply + Send + Sync>;

struct Verifier {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Verifier {
    fn start(secrets: &BTreeMap<String, String>) -> Verifier {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mechanisms/aws/sigv4_verify.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(serde_json::to_string(secrets).unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with botocore");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Verifier {
            child,
            stdin,
            stdout,
        }
    }

    fn verify(&mut self, request: &serde_json::Value) -> serde_json::Value {
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

struct Shared {
    verifier: Mutex<Verifier>,
    responder: Mutex<Responder>,
    calls: Mutex<Vec<Call>>,
    rejected: Mutex<Vec<String>>,
}

/// The running fixture; stopped when dropped.
pub struct Fixture {
    pub url: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Ok(mut v) = self.shared.verifier.lock() {
            let _ = v.child.kill();
            let _ = v.child.wait();
        }
        let stop = self.handle.stop(false);
        futures::executor::block_on(stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn decode_form(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Shared>>,
) -> HttpResponse {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let request = serde_json::json!({
        "method": req.method().as_str(),
        "url": format!("http://{host}{path_and_query}"),
        "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&body),
    });
    // The instance metadata service is not signed (IMDSv2 uses its own session token).
    if req.path().starts_with("/latest/") {
        let call = Call {
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            headers,
            ..Call::default()
        };
        shared.calls.lock().unwrap().push(call.clone());
        let responder = shared.responder.lock().unwrap().clone();
        let (status, content_type, body) = responder(&call);
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .content_type(content_type)
            .body(body);
    }
    let shared2 = shared.get_ref().clone();
    let verdict = web::block(move || shared2.verifier.lock().unwrap().verify(&request))
        .await
        .unwrap();
    let is_json = req
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").contains("json"))
        || req.method() == actix_web::http::Method::GET;
    if verdict["ok"] != serde_json::Value::Bool(true) {
        let why = verdict.to_string();
        shared.rejected.lock().unwrap().push(why.clone());
        return if is_json {
            HttpResponse::Forbidden()
                .content_type("application/x-amz-json-1.1")
                .body(
                    serde_json::json!({"__type": "InvalidSignatureException", "message": why})
                        .to_string(),
                )
        } else {
            HttpResponse::Forbidden().content_type("text/xml").body(format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>{}</Message></Error></ErrorResponse>",
                why.replace('<', "&lt;").replace('&', "&amp;")
            ))
        };
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let form = req.headers().get("content-type").is_some_and(|v| {
        v.to_str()
            .unwrap_or("")
            .starts_with("application/x-www-form-urlencoded")
    });
    let mut params = decode_form(req.uri().query().unwrap_or(""));
    if form {
        params.extend(decode_form(&text));
    }
    let call = Call {
        method: req.method().as_str().to_owned(),
        path: url::form_urlencoded::parse(
            format!("p={}", req.path().replace('+', "%2B")).as_bytes(),
        )
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default(),
        raw_path: req.path().to_owned(),
        params,
        target: req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        json: if form || text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        },
        headers,
        region: verdict["region"].as_str().unwrap_or("").to_owned(),
        service: verdict["service"].as_str().unwrap_or("").to_owned(),
        access_key: verdict["access_key"].as_str().unwrap_or("").to_owned(),
        session_token: verdict["session_token"].as_str().map(str::to_owned),
    };
    shared.calls.lock().unwrap().push(call.clone());
    let responder = shared.responder.lock().unwrap().clone();
    let (status, content_type, body) = responder(&call);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type(content_type)
        .body(body)
}

impl Fixture {
    /// Starts the fixture; `secrets` are the credentials it accepts (access key -> secret).
    pub fn start(secrets: &[(&str, &str)], responder: Responder) -> Fixture {
        let secrets: BTreeMap<String, String> = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let shared = Arc::new(Shared {
            verifier: Mutex::new(Verifier::start(&secrets)),
            responder: Mutex::new(responder),
            calls: Mutex::new(Vec::new()),
            rejected: Mutex::new(Vec::new()),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let data = shared.clone();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let data = web::Data::new(data);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(1 << 24))
                        .default_service(web::to(handle))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).unwrap();
                let _ = server.await;
            })
        });
        let (port, handle) = rx.recv().unwrap();
        Fixture {
            url: format!("http://127.0.0.1:{port}"),
            shared,
            handle,
            thread: Some(thread),
        }
    }

    pub fn set_responder(&self, responder: Responder) {
        *self.shared.responder.lock().unwrap() = responder;
    }

    /// The verified calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Why requests were refused (bad signatures).
    pub fn rejected(&self) -> Vec<String> {
        self.shared.rejected.lock().unwrap().clone()
    }
}

/// A directory with a prometheus.yml, for the CLI and the daemon.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(yaml: &str) -> ConfigDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prometheus.yml"), yaml).unwrap();
        ConfigDir { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("prometheus.yml")
    }
}

pub type Labels = BTreeMap<String, String>;

/// A clean environment for promsd: no AWS variables from the machine, `HOME` in a temporary
/// directory, then `env`.
pub fn clean_command(program: &str, home: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.ends_with("_PROXY") || k.ends_with("_proxy") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home);
    // Never the real instance metadata service.
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `promsd check service-discovery CONFIG JOB`: the `__address__` and `__meta_*` labels of each
/// target, or the error output when it fails.
pub fn check_sd(yaml: &str, job: &str, env: &[(&str, &str)]) -> Result<Vec<Labels>, String> {
    let dir = ConfigDir::new(yaml);
    let out = clean_command(env!("CARGO_BIN_EXE_promsd"), dir.dir.path(), env)
        .args(["check", "service-discovery", "--timeout=10s"])
        .arg(dir.config())
        .arg(job)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))?;
    let mut targets: Vec<Labels> = entries
        .iter()
        .map(|e| {
            serde_json::from_value::<Labels>(e["discoveredLabels"].clone())
                .unwrap()
                .into_iter()
                .filter(|(k, _)| k == "__address__" || k.starts_with("__meta_"))
                .collect()
        })
        .collect();
    targets.sort();
    Ok(targets)
}

/// Label sets from literal pairs, sorted as [`check_sd`] returns them. Empty values are left
/// out: Prometheus 3's label builder drops them before `discoveredLabels` too (upstream tables
/// list `"__meta_ec2_owner_id": ""` as the discoverer makes it).
pub fn label_sets(sets: &[&[(&str, &str)]]) -> Vec<Labels> {
    let mut out: Vec<Labels> = sets
        .iter()
        .map(|s| {
            s.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect();
    out.sort();
    out
}

/// An XML answer of the Query protocol.
pub fn xml(body: String) -> Reply {
    (200, "text/xml;charset=UTF-8", body)
}

/// A JSON answer.
pub fn json(body: serde_json::Value) -> Reply {
    (200, "application/x-amz-json-1.1", body.to_string())
}
