//! HTTP SD against a real HTTP server on 127.0.0.1: what a user's SD endpoint can answer
//! (200, unchanged bodies and ETags, errors, wrong content type, huge bodies, slow answers) and
//! what promsd sends it (auth, refresh header). Waits are bounded by deadlines and by counting
//! the server's requests, never by wall-clock assertions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures::StreamExt;
use promsd::discovery::http::HttpSdConfig;
use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, RefreshMetrics, Update};

const DEADLINE: Duration = Duration::from_secs(30);

/// What the fixture answers, changeable by the test.
#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: String,
    body: String,
    etag: Option<String>,
    delay: Duration,
}

#[derive(Default)]
struct Seen {
    requests: Vec<Vec<(String, String)>>,
    not_modified: usize,
}

#[derive(Clone)]
struct Fixture {
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Seen>>,
    url: String,
}

impl Fixture {
    fn start(body: &str) -> Fixture {
        let answer = Arc::new(Mutex::new(Answer {
            status: 200,
            content_type: "application/json".into(),
            body: body.into(),
            etag: None,
            delay: Duration::ZERO,
        }));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (a, s) = (answer.clone(), seen.clone());
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new((a.clone(), s.clone())))
                        .route("/sd", web::get().to(serve))
                })
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            })
        });
        let addr = rx.recv_timeout(DEADLINE).expect("fixture started");
        Fixture {
            answer,
            seen,
            url: format!("http://{addr}/sd"),
        }
    }

    fn set(&self, f: impl FnOnce(&mut Answer)) {
        f(&mut self.answer.lock().unwrap());
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().requests.len()
    }

    fn last_header(&self, name: &str) -> Option<String> {
        let seen = self.seen.lock().unwrap();
        seen.requests
            .last()?
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    /// Waits until the server has answered `n` more requests.
    async fn wait_requests(&self, n: usize) {
        let target = self.requests() + n;
        tokio::time::timeout(DEADLINE, async {
            while self.requests() < target {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("server saw the requests");
    }
}

type Shared = (Arc<Mutex<Answer>>, Arc<Mutex<Seen>>);

async fn serve(req: HttpRequest, data: web::Data<Shared>) -> HttpResponse {
    let answer = data.0.lock().unwrap().clone();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let if_none_match = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    tokio::time::sleep(answer.delay).await;
    let mut seen = data.1.lock().unwrap();
    seen.requests.push(headers);
    if let (Some(etag), Some(asked)) = (&answer.etag, &if_none_match) {
        if etag == asked {
            seen.not_modified += 1;
            return HttpResponse::NotModified().finish();
        }
    }
    let mut response =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(answer.status).unwrap());
    response.insert_header(("Content-Type", answer.content_type.clone()));
    if let Some(etag) = &answer.etag {
        response.insert_header(("ETag", etag.clone()));
    }
    response.body(answer.body)
}

/// A running discoverer, polled in the background as the engine's provider does.
struct Running {
    items: tokio::sync::mpsc::UnboundedReceiver<Result<Update, String>>,
}

impl Running {
    fn nothing_pending(&mut self) -> bool {
        self.items.try_recv().is_err()
    }
}

fn discoverer(yaml: &str, metrics: &RefreshMetrics) -> Running {
    let config: HttpSdConfig = serde_yaml::from_str(yaml).expect("valid http_sd config");
    let mut stream: Discoverer = config
        .build(&BuildContext {
            provider: "http/0".into(),
            config_name: "job".into(),
            refresh_metrics: metrics.clone(),
        })
        .expect("discoverer builds");
    let (tx, items) = tokio::sync::mpsc::unbounded_channel();
    actix_rt::spawn(async move {
        while let Some(item) = stream.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    Running { items }
}

async fn next(d: &mut Running) -> Result<Update, String> {
    tokio::time::timeout(DEADLINE, d.items.recv())
        .await
        .expect("an item within the deadline")
        .expect("stream goes on")
}

fn addresses(update: &Update) -> Vec<(String, Vec<String>)> {
    update
        .groups()
        .iter()
        .map(|g| {
            (
                g.source.to_string(),
                g.targets
                    .iter()
                    .map(|t| t.get("__address__").unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

const TWO_GROUPS: &str =
    r#"[{"targets":["a:1","b:2"],"labels":{"env":"prod"}},{"targets":["c:3"]}]"#;

#[actix_rt::test]
async fn reads_groups_with_sources_labels_and_sends_prometheus_headers() {
    let fixture = Fixture::start(TWO_GROUPS);
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        &format!(
            "url: {}\nrefresh_interval: 100ms\nbasic_auth: {{username: user, password: pass}}\n",
            fixture.url
        ),
        &metrics,
    );
    let first = next(&mut d).await.unwrap();
    assert!(first.is_full());
    assert_eq!(
        addresses(&first),
        vec![
            (
                format!("{}:0", fixture.url),
                vec!["a:1".to_owned(), "b:2".to_owned()]
            ),
            (format!("{}:1", fixture.url), vec!["c:3".to_owned()]),
        ]
    );
    let g0 = &first.groups()[0];
    assert_eq!(g0.labels.get("env"), Some("prod"));
    assert_eq!(g0.labels.get("__meta_url"), Some(fixture.url.as_str()));
    assert_eq!(
        fixture.last_header("accept").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        fixture
            .last_header("x-prometheus-refresh-interval-seconds")
            .as_deref(),
        Some("0.1")
    );
    assert_eq!(
        fixture.last_header("authorization").as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );
    assert!(fixture
        .last_header("user-agent")
        .unwrap()
        .starts_with("promsd/"));

    // One group less: its source is removed.
    fixture.set(|a| a.body = r#"[{"targets":["a:1","b:2"],"labels":{"env":"prod"}}]"#.into());
    let change = next(&mut d).await.unwrap();
    assert_eq!(
        addresses(&change),
        vec![(format!("{}:1", fixture.url), vec![])]
    );
}

#[actix_rt::test]
async fn an_unchanged_body_or_etag_sends_nothing() {
    let fixture = Fixture::start(TWO_GROUPS);
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        &format!("url: {}\nrefresh_interval: 50ms\n", fixture.url),
        &metrics,
    );
    next(&mut d).await.unwrap();
    fixture.wait_requests(3).await;
    assert!(d.nothing_pending(), "same body: no update");

    fixture.set(|a| a.etag = Some("\"v1\"".into()));
    fixture.wait_requests(4).await;
    assert!(
        fixture.seen.lock().unwrap().not_modified >= 2,
        "If-None-Match sent once an ETag was seen"
    );
    assert_eq!(
        fixture.last_header("if-none-match").as_deref(),
        Some("\"v1\"")
    );
    assert!(d.nothing_pending(), "304: no update");

    fixture.set(|a| {
        a.etag = Some("\"v2\"".into());
        a.body = r#"[{"targets":["z:9"]}]"#.into();
    });
    let change = next(&mut d).await.unwrap();
    assert_eq!(
        addresses(&change),
        vec![
            (format!("{}:0", fixture.url), vec!["z:9".to_owned()]),
            (format!("{}:1", fixture.url), vec![]),
        ]
    );
}

#[actix_rt::test]
async fn failures_keep_state_are_counted_and_recover() {
    let fixture = Fixture::start(TWO_GROUPS);
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        // Each request may take the refresh interval: ample on a loaded machine.
        &format!("url: {}\nrefresh_interval: 500ms\n", fixture.url),
        &metrics,
    );
    next(&mut d).await.unwrap();

    fixture.set(|a| a.status = 500);
    assert_eq!(
        next(&mut d).await.unwrap_err(),
        "server returned HTTP status 500 Internal Server Error"
    );
    fixture.set(|a| {
        a.status = 200;
        a.content_type = "text/plain".into();
    });
    // Retries after a failure are spaced by the refresh helper's backoff.
    let err = loop {
        let e = next(&mut d).await.unwrap_err();
        if e.contains("content type") {
            break e;
        }
    };
    assert_eq!(err, "unsupported content type \"text/plain\"");
    fixture.set(|a| a.content_type = "application/json; charset=utf-8".into());
    // Recovery: the body is the one already sent, so nothing changed and nothing is sent. The
    // discoverer asks again only after it has handled an answer, so once the server has seen
    // three more requests (the first may have started before the fix), the second one's
    // answer, the good body, has been handled: whatever it sent is in the channel by then.
    fixture.wait_requests(3).await;
    while let Ok(item) = d.items.try_recv() {
        let err = item.expect_err("the body already sent: nothing is sent");
        assert!(err.contains("content type"), "{err}");
    }
    // A new body comes through.
    fixture.set(|a| a.body = r#"[{"targets":["new:1"]}]"#.into());
    let recovered = next(&mut d).await.unwrap();
    assert_eq!(addresses(&recovered)[0].1, vec!["new:1".to_owned()]);
    assert!(metrics.failures("http", "job") >= 2);
}

#[actix_rt::test]
async fn a_body_over_the_limit_is_rejected_with_a_clear_error() {
    let big: String = format!(
        "[{}]",
        (0..2000)
            .map(|i| format!(r#"{{"targets":["host-{i}:9100"]}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let fixture = Fixture::start(&big);
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        &format!(
            "url: {}\nrefresh_interval: 50ms\nbody_size_limit: 1KiB\n",
            fixture.url
        ),
        &metrics,
    );
    let err = next(&mut d).await.unwrap_err();
    assert!(err.contains("exceeds the limit of 1024 bytes"), "{err}");
}

#[actix_rt::test]
async fn a_server_slower_than_the_interval_times_out() {
    let fixture = Fixture::start(TWO_GROUPS);
    fixture.set(|a| a.delay = Duration::from_secs(5));
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        &format!("url: {}\nrefresh_interval: 200ms\n", fixture.url),
        &metrics,
    );
    let err = next(&mut d).await.unwrap_err();
    assert!(
        err.contains("timed out") || err.contains("timeout"),
        "{err}"
    );
}

#[actix_rt::test]
async fn a_bad_body_is_an_error_and_the_bearer_token_is_sent() {
    let fixture = Fixture::start("[{\"targets\": [\"a:1\"]");
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        &format!(
            // The first request is made at once; it may take the whole interval.
            "url: {}\nrefresh_interval: 30s\nauthorization: {{credentials: s3cr3t}}\n",
            fixture.url
        ),
        &metrics,
    );
    let err = next(&mut d).await.unwrap_err();
    assert!(err.contains("EOF"), "{err}");
    assert_eq!(
        fixture.last_header("authorization").as_deref(),
        Some("Bearer s3cr3t")
    );
}

#[actix_rt::test]
async fn a_bad_body_with_an_etag_keeps_failing_and_counting_while_the_source_is_broken() {
    let fixture = Fixture::start(TWO_GROUPS);
    fixture.set(|a| a.etag = Some("\"good\"".into()));
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        // Each request may take the refresh interval: ample on a loaded machine.
        &format!("url: {}\nrefresh_interval: 500ms\n", fixture.url),
        &metrics,
    );
    next(&mut d).await.unwrap();
    // The server now serves a broken body under a new ETag and answers 304 to it: that 304
    // must not read as "unchanged", so every refresh fails and counts.
    fixture.set(|a| {
        a.etag = Some("\"bad\"".into());
        a.body = "[{\"targets\": [".into();
    });
    for _ in 0..3 {
        let err = next(&mut d).await.unwrap_err();
        assert!(err.contains("EOF"), "{err}");
    }
    assert!(metrics.failures("http", "job") >= 3);
    assert_ne!(
        fixture.last_header("if-none-match").as_deref(),
        Some("\"bad\""),
        "the ETag of a body that did not parse is never sent back"
    );
    // Fixed: the good body comes through again.
    fixture.set(|a| {
        a.etag = Some("\"fixed\"".into());
        a.body = r#"[{"targets":["fixed:1"]}]"#.into();
    });
    let recovered = loop {
        match next(&mut d).await {
            Ok(update) => break update,
            Err(_) => continue,
        }
    };
    assert_eq!(addresses(&recovered)[0].1, vec!["fixed:1".to_owned()]);
}

#[actix_rt::test]
async fn a_streamed_body_over_the_limit_is_rejected_as_it_passes_the_limit() {
    // No Content-Length: the body is streamed in chunks and cut off once past the limit.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new().route(
                    "/sd",
                    web::get().to(|| async {
                        let chunk = web::Bytes::from(vec![b' '; 1024]);
                        let body = futures::stream::iter(
                            std::iter::repeat_n(chunk, 64).map(Ok::<_, std::convert::Infallible>),
                        );
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .streaming(body)
                    }),
                )
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        })
    });
    let addr = rx.recv_timeout(DEADLINE).unwrap();
    let metrics = RefreshMetrics::default();
    let mut d = discoverer(
        &format!("url: http://{addr}/sd\nrefresh_interval: 50ms\nbody_size_limit: 4KiB\n"),
        &metrics,
    );
    let err = next(&mut d).await.unwrap_err();
    assert!(err.contains("exceeds the limit of 4096 bytes"), "{err}");
}
