//! The web page in a real browser: headless Chromium loads the page from a real promsd HTTP
//! server (real engine and pipeline behind it), runs its JavaScript, and we read the DOM it
//! built: the jobs and providers, a dropped target with the rule that dropped it, and the relabel
//! trace of that target; and the "preview a config" view against the real daemon (the
//! binary, real files), which shows a candidate's effect as `promsd diff` prints it.
//! Screenshots land in `<target dir>/web_page/` for a human to look at.
//!
//! Needs Debian's `chromium`; the test fails (never skips) without it.

mod support;
mod targets_api_fixture;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use targets_api_fixture::{group, Fixture, DROP_REASON};

/// Kills the browser by its PID if the test ends before it does.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .expect("chromium is not installed (Debian: apt-get install chromium chromium-driver)")
}

/// Where screenshots go: `<target dir>/web_page/`, beside the test binary's `debug/deps`.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf();
    let dir = target.join("web_page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url` with `extra` flags; returns its stdout. Bounded by 90 s;
/// fails if the page's JavaScript threw.
fn run_chromium(url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let stdout_file = profile.path().join("stdout");
    let stderr_file = profile.path().join("stderr");
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_file).unwrap())
        .stderr(std::fs::File::create(&stderr_file).unwrap());
    let mut child = ChildGuard(command.spawn().expect("starting chromium"));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not finish within 90 s; stderr:\n{}",
            std::fs::read_to_string(&stderr_file).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}); stderr:\n{stderr}"
    );
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        !console.iter().any(|l| l.contains("Uncaught")),
        "the page's JavaScript threw; its console:\n{}",
        console.join("\n")
    );
    std::fs::read_to_string(&stdout_file).unwrap()
}

async fn browse(url: String, extra: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || run_chromium(&url, &extra))
        .await
        .unwrap()
}

async fn screenshot(url: &str, path: &Path, height: u32) {
    let _ = std::fs::remove_file(path);
    browse(
        url.to_owned(),
        vec![
            format!("--screenshot={}", path.display()),
            format!("--window-size=1280,{height}"),
        ],
    )
    .await;
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {path:?}: {e}"));
    assert!(png.starts_with(b"\x89PNG"), "{path:?} is not a PNG");
    println!("screenshot: {}", path.display());
}

#[actix_web::test]
async fn the_page_explains_a_dropped_target() {
    let fixture = Fixture::start(&["api", "node"]).await;
    fixture.feed("node").full(vec![
        group(
            "file:nodes.json:0",
            &[
                ("10.0.0.1:9100", &[("__meta_rack", "r1")]),
                (
                    "10.0.0.2:9100",
                    &[("__meta_drop", "true"), ("__meta_rack", "r2")],
                ),
                ("10.0.0.3:9100", &[("__meta_rack", "r1")]),
            ],
            &[("__meta_env", "prod")],
        ),
        group(
            "file:nodes.json:1",
            &[("10.0.1.7:9100", &[])],
            &[("__meta_env", "dev")],
        ),
    ]);
    fixture.feed("api").full(vec![group(
        "file:api.json:0",
        &[
            ("api-1:8080", &[]),
            ("api-2:8080", &[("__param_module", "http_2xx")]),
        ],
        &[("__meta_env", "staging")],
    )]);
    fixture.wait_for_job("node", 3, 1).await;
    fixture.wait_for_job("api", 2, 0).await;
    fixture
        .feed("api")
        .fail("GET http://sd.example/api: 503 Service Unavailable");
    fixture
        .wait_for_providers("the error to be recorded", |p| {
            p.iter().any(|p| p.errors > 0)
        })
        .await;
    fixture.load_config(&["api", "node"]);

    let state = fixture.state();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(promsd::server::routes)
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    let base = format!("http://{address}/");
    let shots = screenshot_dir();

    // The overview and the targets list.
    let dom = browse(base.clone(), vec!["--dump-dom".to_owned()]).await;
    assert!(
        dom.contains("<td><strong>node</strong></td>"),
        "jobs table lists node:\n{dom}"
    );
    assert!(
        dom.contains("channel/1"),
        "providers table lists the node provider:\n{dom}"
    );
    assert!(
        dom.contains("GET http://sd.example/api: 503 Service Unavailable"),
        "the provider's last error is shown:\n{dom}"
    );
    assert!(
        dom.contains(r#"id="sum-dropped">1<"#),
        "one dropped target in the summary:\n{dom}"
    );
    let dropped_card = dom
        .split(r#"<div class="target dropped""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no dropped target card:\n{dom}"));
    assert!(dropped_card.contains("10.0.0.2:9100"), "{dropped_card}");
    assert!(
        dropped_card.contains(DROP_REASON),
        "the dropping rule is shown: {dropped_card}"
    );
    assert!(
        dom.contains("http://api-2:8080/metrics?module=http_2xx"),
        "active targets show their scrape URL:\n{dom}"
    );
    screenshot(&base, &shots.join("overview.png"), 900).await;

    // The relabel trace of the dropped target, opened from the URL.
    let traced = format!("{base}#state=dropped&trace=0");
    let dom = browse(traced.clone(), vec!["--dump-dom".to_owned()]).await;
    let trace = dom
        .split(r#"id="trace-panel""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no trace panel:\n{dom}"));
    assert!(
        !trace.starts_with(" hidden"),
        "the trace panel is open:\n{dom}"
    );
    assert!(trace.contains("10.0.0.2:9100 in node"), "{trace}");
    assert!(trace.contains("dropped by rule 2 (drop)"), "{trace}");
    assert!(
        trace.contains(r#"<span class="n">env=</span>"prod""#),
        "rule 1 adds env: {trace}"
    );
    screenshot(&traced, &shots.join("trace.png"), 1300).await;

    // A selector in the search box (through the URL): only api targets remain.
    let selected = format!("{base}#q={}", urlencode(r#"{job="api"}"#));
    let dom = browse(selected, vec!["--dump-dom".to_owned()]).await;
    assert!(dom.contains("1–2 of 2 targets"), "{dom}");
    assert!(
        !dom.contains(r#"<span class="address">10.0.0.1:9100</span>"#),
        "{dom}"
    );

    handle.stop(false).await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

use support::diff_example::{
    NEW as PREVIEW_CANDIDATE, OLD as PREVIEW_RUNNING, TARGETS as PREVIEW_TARGETS,
};

/// Text as Chromium serializes it inside an element.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn the_page_previews_a_candidate_config_as_promsd_diff_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("targets.json"), PREVIEW_TARGETS).unwrap();
    let running = dir.path().join("prometheus.yml");
    std::fs::write(&running, PREVIEW_RUNNING).unwrap();
    let candidate = dir.path().join("candidate.yml");
    std::fs::write(&candidate, PREVIEW_CANDIDATE).unwrap();
    let cli = Command::new(support::promsd_bin())
        .arg("diff")
        .args([&running, &candidate])
        .output()
        .unwrap();
    let expected = String::from_utf8(cli.stdout).unwrap();
    assert!(expected.contains("+team="), "{expected}");

    let (promsd, port) = support::start_promsd(dir.path(), &running, &["--web.enable-admin-api"]);
    let url = format!(
        "http://127.0.0.1:{port}/#preview={}",
        urlencode(PREVIEW_CANDIDATE)
    );
    let dom = run_chromium(&url, &["--dump-dom".to_owned()]);
    let preview = dom
        .split(r#"id="preview-out""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no preview output:\n{dom}"));
    // Every line of `promsd diff`'s report, one element each, in order.
    let mut rest = preview;
    for line in expected.lines() {
        let element = format!(">{}</div>", html_text(line));
        let at = rest
            .find(&element)
            .unwrap_or_else(|| panic!("line {line:?} not shown (in order):\n{preview}"));
        rest = &rest[at + element.len()..];
    }
    assert!(
        preview.contains(r#"<div class="add">      +team="x"</div>"#),
        "label changes are coloured:\n{preview}"
    );
    assert!(
        dom.contains(r#"id="preview-status" class="muted">3 of 3 jobs change<"#),
        "{dom}"
    );
    let shot = screenshot_dir().join("preview.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2200".to_owned(),
        ],
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    println!("screenshot: {}", shot.display());
    drop(promsd);

    // Without --web.enable-admin-api the view says how to turn previews on.
    let (_promsd, port) = support::start_promsd(dir.path(), &running, &[]);
    let url = format!(
        "http://127.0.0.1:{port}/#preview={}",
        urlencode(PREVIEW_CANDIDATE)
    );
    let dom = run_chromium(&url, &["--dump-dom".to_owned()]);
    assert!(
        dom.contains("Previews are off: start promsd with --web.enable-admin-api"),
        "{dom}"
    );
}
