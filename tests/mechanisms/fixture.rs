//! A fixture HTTP server for API mechanisms: actix-web on 127.0.0.1:0 in its own thread (so
//! that blocking tests can run `promsd` meanwhile), one handler, stopped when dropped. And the
//! runs of `promsd check service-discovery` the tests compare.

#![allow(dead_code)] // each mechanism module uses a part

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// One request as a handler sees it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

type Handler = dyn Fn(Request) -> HttpResponse + Send + Sync;

/// A running fixture server.
pub struct Server {
    pub port: u16,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves every request with `handler`.
    pub fn start(handler: impl Fn(Request) -> HttpResponse + Send + Sync + 'static) -> Server {
        let handler: Arc<Handler> = Arc::new(handler);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let handler = handler.clone();
                    App::new().default_service(web::to(
                        move |req: HttpRequest, body: web::Bytes| -> Pin<Box<dyn Future<Output = HttpResponse>>> {
                            let handler = handler.clone();
                            Box::pin(async move { handler(request_of(&req, &body)) })
                        },
                    ))
                })
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .unwrap();
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).unwrap();
                let _ = server.await;
            })
        });
        let (port, handle) = rx.recv().unwrap();
        Server {
            port,
            handle,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        futures::executor::block_on(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn request_of(req: &HttpRequest, body: &web::Bytes) -> Request {
    let query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Request {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        query,
        headers,
        body: body.to_vec(),
    }
}

/// A JSON answer.
pub fn json(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(body.to_string())
}

/// A target's labels.
pub type Labels = BTreeMap<String, String>;

/// `promsd check service-discovery CONFIG JOB`: the discovered labels of each target, only
/// those starting with one of `prefixes`.
pub fn check_service_discovery(config: &Path, job: &str, prefixes: &[&str]) -> Vec<Labels> {
    check_service_discovery_env(config, job, prefixes, &[])
}

/// [`check_service_discovery`] with extra environment variables.
pub fn check_service_discovery_env(
    config: &Path,
    job: &str,
    prefixes: &[&str],
    env: &[(&str, &str)],
) -> Vec<Labels> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args([
            "check",
            "service-discovery",
            "--timeout=60s",
            config.to_str().unwrap(),
            job,
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promsd check service-discovery failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    entries
        .iter()
        .map(|e| {
            serde_json::from_value::<Labels>(e["discoveredLabels"].clone())
                .unwrap()
                .into_iter()
                .filter(|(n, _)| prefixes.iter().any(|p| n.starts_with(p)))
                .collect()
        })
        .collect()
}

/// Writes `yaml` as `prometheus.yml` in a new directory.
pub fn config_dir(yaml: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, yaml).unwrap();
    (dir, path)
}
