//! The targets and status APIs against the real engine and pipeline: Prometheus' response
//! shapes, every filter (`scrapePool`, `state`, `match[]`, `search`), pagination that covers
//! each target exactly once, relabel traces and the config through their adapters, and the
//! providers' health from the engine.

mod targets_api_fixture;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use serde_json::{json, Value};
use targets_api_fixture::{group, Fixture, DROP_REASON, NO_ADDRESS_REASON};

async fn app(
    fixture: &Fixture,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    test::init_service(
        App::new()
            .app_data(fixture.state())
            .configure(promsd::server::routes),
    )
    .await
}

async fn get(
    app: &impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    uri: &str,
) -> (u16, Value) {
    let response = test::call_service(app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// `(pool, address)` of every target of a targets response, active first.
fn listed(body: &Value) -> Vec<(String, String)> {
    let data = &body["data"];
    ["activeTargets", "droppedTargets"]
        .iter()
        .flat_map(|list| data[list].as_array().unwrap().iter())
        .map(|t| {
            (
                t["scrapePool"].as_str().unwrap().to_owned(),
                t["discoveredLabels"]["__address__"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

fn addresses(body: &Value, list: &str) -> Vec<String> {
    body["data"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["discoveredLabels"]["__address__"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// node: 3 active (one with `__param_module`), 2 dropped (one by a rule, one without address);
/// api: 2 active.
async fn two_jobs() -> Fixture {
    let fixture = Fixture::start(&["api", "node"]).await;
    fixture.feed("node").full(vec![
        group(
            "g1",
            &[
                ("10.0.0.1:9100", &[]),
                ("10.0.0.2:9100", &[("__meta_drop", "true")]),
                (
                    "10.0.0.3:9100",
                    &[("__meta_team", "db"), ("__param_module", "if mib")],
                ),
            ],
            &[("__meta_env", "prod")],
        ),
        group("g2", &[("", &[("__meta_host", "lost")])], &[]),
        group(
            "g3",
            &[("10.0.0.4:9100", &[("__meta_team", "Web-Frontend")])],
            &[],
        ),
    ]);
    fixture.feed("api").full(vec![group(
        "a",
        &[
            ("api-1:8080", &[("__meta_env", "staging")]),
            ("api-2:8080", &[]),
        ],
        &[],
    )]);
    fixture.wait_for_job("node", 3, 2).await;
    fixture.wait_for_job("api", 2, 0).await;
    fixture
}

#[actix_web::test]
async fn targets_have_prometheus_shape() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;
    let (status, body) = get(&app, "/api/v1/targets").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "success");
    let data = &body["data"];
    assert_eq!(
        addresses(&body, "activeTargets"),
        [
            "api-1:8080",
            "api-2:8080",
            "10.0.0.1:9100",
            "10.0.0.3:9100",
            "10.0.0.4:9100"
        ]
    );
    let third = &data["activeTargets"][3];
    assert_eq!(
        third["discoveredLabels"],
        json!({"__address__": "10.0.0.3:9100", "__meta_env": "prod", "__meta_team": "db",
               "__metrics_path__": "/metrics", "__param_module": "if mib", "__scheme__": "http",
               "__scrape_interval__": "15s", "__scrape_timeout__": "10s", "job": "node"})
    );
    assert_eq!(
        third["labels"],
        json!({"env": "prod", "instance": "10.0.0.3:9100", "job": "node"}),
        "final labels without the __ ones, as Prometheus shows them"
    );
    assert_eq!(third["scrapePool"], "node");
    assert_eq!(
        third["scrapeUrl"],
        "http://10.0.0.3:9100/metrics?module=if+mib"
    );
    assert_eq!(third["health"], "unknown");
    assert_eq!(third["lastError"], "");
    assert_eq!(third["lastScrape"], "0001-01-01T00:00:00Z");
    assert_eq!(third["lastScrapeDuration"], 0.0);
    assert_eq!(third["scrapeInterval"], "15s");
    assert_eq!(third["scrapeTimeout"], "10s");

    assert_eq!(
        data["droppedTargets"],
        json!([
            {"discoveredLabels": {"__address__": "10.0.0.2:9100", "__meta_drop": "true",
               "__meta_env": "prod", "__metrics_path__": "/metrics", "__scheme__": "http",
               "__scrape_interval__": "15s", "__scrape_timeout__": "10s", "job": "node"},
             "scrapePool": "node", "droppedBecause": DROP_REASON},
            {"discoveredLabels": {"__address__": "", "__meta_host": "lost",
               "__metrics_path__": "/metrics", "__scheme__": "http",
               "__scrape_interval__": "15s", "__scrape_timeout__": "10s", "job": "node"},
             "scrapePool": "node", "droppedBecause": NO_ADDRESS_REASON},
        ])
    );
    assert_eq!(data["droppedTargetCounts"], json!({"api": 0, "node": 2}));
    assert_eq!(data["total"], 7);
    assert!(
        data.get("nextOffset").is_none(),
        "everything fit: no next page"
    );
}

#[actix_web::test]
async fn scrape_pool_and_state_filters() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;

    let (_, body) = get(&app, "/api/v1/targets?scrapePool=api").await;
    assert_eq!(
        addresses(&body, "activeTargets"),
        ["api-1:8080", "api-2:8080"]
    );
    assert_eq!(body["data"]["droppedTargets"], json!([]));
    assert_eq!(body["data"]["droppedTargetCounts"], json!({"api": 0}));

    let (status, body) = get(&app, "/api/v1/targets?scrapePool=nope").await;
    assert_eq!(
        status, 200,
        "an unknown pool lists nothing, as in Prometheus"
    );
    assert_eq!(listed(&body), []);
    assert_eq!(body["data"]["total"], 0);

    let (status, body) = get(&app, "/api/v1/scrape_pools").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": "success", "data": {"scrapePools": ["api", "node"]}})
    );

    let (_, body) = get(&app, "/api/v1/targets?state=dropped").await;
    assert_eq!(
        body["data"]["activeTargets"],
        json!([]),
        "filtered out: still an empty list"
    );
    assert_eq!(addresses(&body, "droppedTargets"), ["10.0.0.2:9100", ""]);
    assert_eq!(body["data"]["total"], 2);

    let (_, body) = get(&app, "/api/v1/targets?state=Active&scrapePool=node").await;
    assert_eq!(
        addresses(&body, "activeTargets"),
        ["10.0.0.1:9100", "10.0.0.3:9100", "10.0.0.4:9100"]
    );
    assert_eq!(body["data"]["droppedTargets"], json!([]));

    let (_, body) = get(&app, "/api/v1/targets?state=any").await;
    assert_eq!(body["data"]["total"], 7);

    let (status, body) = get(&app, "/api/v1/targets?state=up").await;
    assert_eq!(status, 400);
    assert_eq!(body["errorType"], "bad_data");
    assert!(
        body["error"].as_str().unwrap().contains("parameter state"),
        "{body}"
    );
}

#[actix_web::test]
async fn match_selectors_see_final_then_discovered_labels() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;
    let query = |selectors: &[&str]| {
        let mut uri = "/api/v1/targets?".to_owned();
        for s in selectors {
            uri.push_str(&format!("match[]={}&", enc(s)));
        }
        uri
    };

    // `env` is a final label (set by a rule); `__meta_team` only a discovered one.
    let (_, body) = get(&app, &query(&[r#"{env="prod", __meta_team=~"d."}"#])).await;
    assert_eq!(listed(&body), [("node".into(), "10.0.0.3:9100".into())]);

    // Dropped targets have only discovered labels; regexes are anchored.
    let (_, body) = get(&app, &query(&[r#"{__address__=~"10\\.0\\.0\\.[12]:.*"}"#])).await;
    assert_eq!(addresses(&body, "activeTargets"), ["10.0.0.1:9100"]);
    assert_eq!(addresses(&body, "droppedTargets"), ["10.0.0.2:9100"]);
    let (_, body) = get(&app, &query(&[r#"{__address__=~"10\\.0\\.0"}"#])).await;
    assert_eq!(listed(&body), []);

    // Several selectors: any of them; an absent label is empty.
    let (_, body) = get(
        &app,
        &query(&[r#"{job="api", env=""}"#, r#"{__meta_host="lost"}"#]),
    )
    .await;
    assert_eq!(
        listed(&body),
        [
            ("api".into(), "api-2:8080".into()),
            ("node".into(), "".into())
        ]
    );
    assert_eq!(body["data"]["total"], 2);

    // != and !~ with the state filter.
    let (_, body) = get(
        &app,
        &format!(
            "{}state=active",
            query(&[r#"{job!="api", instance!~".*:9100"}"#])
        ),
    )
    .await;
    assert_eq!(listed(&body), []);

    let (status, body) = get(&app, &query(&[r#"{job="api""#])).await;
    assert_eq!(status, 400);
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with("parameter match[]: bad selector"),
        "{error}"
    );
    assert!(error.contains("expected ',' or '}'"), "{error}");
}

#[actix_web::test]
async fn search_finds_label_values_ignoring_case() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;
    let (_, body) = get(&app, "/api/v1/targets?search=web-FRONT").await;
    assert_eq!(listed(&body), [("node".into(), "10.0.0.4:9100".into())]);
    let (_, body) = get(&app, "/api/v1/targets?search=staging").await;
    assert_eq!(listed(&body), [("api".into(), "api-1:8080".into())]);
    let (_, body) = get(&app, "/api/v1/targets?search=10.0.0.&state=dropped").await;
    assert_eq!(listed(&body), [("node".into(), "10.0.0.2:9100".into())]);
}

/// A job of many groups of uneven sizes, some with dropped targets.
async fn many_targets() -> Fixture {
    let fixture = Fixture::start(&["a", "b", "c"]).await;
    let mut expected = std::collections::HashMap::new();
    for (j, job) in ["a", "b", "c"].iter().enumerate() {
        let mut groups = Vec::new();
        let (mut kept, mut dropped) = (0, 0);
        for g in 0..(4 + j * 3) {
            let targets: Vec<(String, bool)> = (0..(g * 7 + j) % 11)
                .map(|t| (format!("{job}-{g}-{t}:80"), (t + g) % 4 == 0))
                .collect();
            let spec: Vec<(&str, &[(&str, &str)])> = targets
                .iter()
                .map(|(a, drop)| {
                    let extra: &[(&str, &str)] = if *drop {
                        &[("__meta_drop", "true")]
                    } else {
                        &[]
                    };
                    (a.as_str(), extra)
                })
                .collect();
            kept += targets.iter().filter(|t| !t.1).count();
            dropped += targets.iter().filter(|t| t.1).count();
            groups.push(group(&format!("g{g:02}"), &spec, &[]));
        }
        fixture.feed(job).full(groups);
        expected.insert(*job, (kept, dropped));
    }
    for (job, (kept, dropped)) in expected {
        fixture.wait_for_job(job, kept, dropped).await;
    }
    fixture
}

#[actix_web::test]
async fn pages_cover_every_matching_target_once_in_order() {
    let fixture = many_targets().await;
    let app = app(&fixture).await;
    let filters = [
        "",
        "&state=active",
        "&state=dropped",
        "&scrapePool=b",
        "&scrapePool=c&state=dropped",
        &format!("&match[]={}", enc(r#"{__address__=~".*-[13]-.*"}"#)),
        &format!("&state=active&match[]={}", enc(r#"{job!="b"}"#)),
        "&search=-2-",
    ];
    for filter in filters {
        let (_, all) = get(&app, &format!("/api/v1/targets?limit=0{filter}")).await;
        // The whole list in view order: per job, group by group, as a page sees it.
        let in_order = {
            let (_, a) = get(&app, &format!("/api/v1/targets?limit=1000000{filter}")).await;
            assert_eq!(listed(&a).len(), listed(&all).len());
            let mut order = Vec::new();
            let mut offset = 0;
            loop {
                let (_, one) = get(
                    &app,
                    &format!("/api/v1/targets?limit=1&offset={offset}{filter}"),
                )
                .await;
                let items = listed(&one);
                if items.is_empty() {
                    assert!(one["data"].get("nextOffset").is_none(), "{filter}: {one}");
                    break;
                }
                order.extend(items);
                offset += 1;
                assert!(offset < 1000, "{filter}: pages never end");
            }
            order
        };
        let total = all["data"]["total"].as_u64().unwrap() as usize;
        assert_eq!(in_order.len(), total, "{filter}: total counts every match");
        let mut sorted_all = listed(&all);
        sorted_all.sort();
        let mut sorted_order = in_order.clone();
        sorted_order.sort();
        assert_eq!(
            sorted_order, sorted_all,
            "{filter}: pages hold the same targets"
        );
        assert!(total > 0, "{filter} selects something");

        for limit in [1, 3, 7, 50] {
            for offset in [0, 1, 5, 13, total.saturating_sub(1), total, total + 4] {
                let (status, page) = get(
                    &app,
                    &format!("/api/v1/targets?limit={limit}&offset={offset}{filter}"),
                )
                .await;
                assert_eq!(status, 200);
                let mut got = listed(&page);
                got.sort();
                let mut want: Vec<_> = in_order.iter().skip(offset).take(limit).cloned().collect();
                want.sort();
                assert_eq!(got, want, "{filter} limit={limit} offset={offset}");
                assert_eq!(page["data"]["total"].as_u64().unwrap() as usize, total);
                let next = page["data"].get("nextOffset").and_then(Value::as_u64);
                if offset + limit < total {
                    assert_eq!(
                        next,
                        Some((offset + limit) as u64),
                        "{filter} {limit} {offset}"
                    );
                } else {
                    assert_eq!(next, None, "{filter} limit={limit} offset={offset}");
                }
            }
        }
    }
}

#[actix_web::test]
async fn bad_pagination_parameters_are_400() {
    let fixture = Fixture::start(&["a"]).await;
    let app = app(&fixture).await;
    for (uri, named) in [
        ("/api/v1/targets?limit=-1", "parameter limit"),
        ("/api/v1/targets?limit=ten", "parameter limit"),
        ("/api/v1/targets?offset=1.5", "parameter offset"),
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, 400, "{uri}");
        assert!(
            body["error"].as_str().unwrap().contains(named),
            "{uri}: {body}"
        );
    }
}

#[actix_web::test]
async fn the_api_follows_discovery_changes() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;
    fixture.feed("api").changed(vec![group(
        "b",
        &[("api-3:8080", &[("__meta_drop", "true")])],
        &[],
    )]);
    fixture.wait_for_job("api", 2, 1).await;
    let (_, body) = get(&app, "/api/v1/targets?scrapePool=api&state=dropped").await;
    assert_eq!(addresses(&body, "droppedTargets"), ["api-3:8080"]);
    assert_eq!(body["data"]["droppedTargetCounts"], json!({"api": 1}));

    let selected = format!("/api/v1/targets?match[]={}", enc(r#"{job="api"}"#));
    let (_, body) = get(&app, &selected).await;
    assert_eq!(
        addresses(&body, "activeTargets"),
        ["api-1:8080", "api-2:8080"]
    );

    fixture
        .feed("api")
        .changed(vec![promsd_actors::TargetGroup::removal("a")]);
    fixture.wait_for_job("api", 0, 1).await;
    let (_, body) = get(&app, "/api/v1/targets?scrapePool=api").await;
    assert_eq!(addresses(&body, "activeTargets"), Vec::<String>::new());
    let (_, body) = get(&app, &selected).await;
    assert_eq!(
        listed(&body),
        [("api".into(), "api-3:8080".into())],
        "a filter's matches are not reused once the job changed"
    );
}

#[actix_web::test]
async fn relabel_steps_through_the_running_config() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;
    let labels = json!({"__address__": "10.0.0.2:9100", "__meta_drop": "true",
                        "__meta_env": "prod", "job": "node"});
    let uri = format!(
        "/api/v1/targets/relabel_steps?scrapePool=node&labels={}",
        enc(&labels.to_string())
    );

    let (status, body) = get(&app, &uri).await;
    assert_eq!(status, 503, "no config loaded yet: {body}");
    assert_eq!(body["errorType"], "unavailable");

    fixture.load_config(&["api", "node"]);
    let (status, body) = get(&app, &uri).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "success", "data": {"steps": [
            {"rule": targets_api_fixture::rules()[0],
             "output": {"__address__": "10.0.0.2:9100", "__meta_drop": "true",
                        "__meta_env": "prod", "env": "prod", "job": "node"},
             "keep": true},
            {"rule": targets_api_fixture::rules()[1], "output": {}, "keep": false},
        ]}})
    );

    for (uri, status, named) in [
        (
            "/api/v1/targets/relabel_steps?labels={}".to_owned(),
            400,
            "scrapePool is required",
        ),
        (
            "/api/v1/targets/relabel_steps?scrapePool=node".to_owned(),
            400,
            "labels is required",
        ),
        (
            format!(
                "/api/v1/targets/relabel_steps?scrapePool=node&labels={}",
                enc("[1]")
            ),
            400,
            "not a JSON object",
        ),
        (
            format!(
                "/api/v1/targets/relabel_steps?scrapePool=gone&labels={}",
                enc("{}")
            ),
            400,
            "unknown scrape pool \"gone\"",
        ),
    ] {
        let (got, body) = get(&app, &uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(named),
            "{uri}: {body}"
        );
    }
}

#[actix_web::test]
async fn status_config_shows_the_masked_yaml() {
    let fixture = Fixture::start(&["node"]).await;
    let app = app(&fixture).await;
    let (status, body) = get(&app, "/api/v1/status/config").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "error");
    fixture.load_config(&["node"]);
    let (status, body) = get(&app, "/api/v1/status/config").await;
    assert_eq!(status, 200);
    let yaml = body["data"]["yaml"].as_str().unwrap();
    assert!(yaml.contains("job_name: node"), "{yaml}");
    assert!(yaml.contains("password: <secret>"), "{yaml}");
}

#[actix_web::test]
async fn status_sd_reports_jobs_and_providers_health() {
    let fixture = two_jobs().await;
    let app = app(&fixture).await;
    let (status, body) = get(&app, "/api/v1/status/sd").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["jobs"],
        json!([
            {"name": "api", "activeTargets": 2, "droppedTargets": 0, "ready": true,
             "providers": ["channel/0"]},
            {"name": "node", "activeTargets": 3, "droppedTargets": 2, "ready": true,
             "providers": ["channel/1"]},
        ])
    );
    let providers = body["data"]["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 2);
    let node = providers
        .iter()
        .find(|p| p["jobs"] == json!(["node"]))
        .unwrap();
    assert_eq!(node["mechanism"], "channel");
    assert_eq!(node["state"], "running");
    assert_eq!(node["targets"], 5);
    assert_eq!(node["groups"], 3);
    assert_eq!(node["delivered"], true);
    assert_eq!(node["lastError"], Value::Null);
    assert_eq!(node["errors"], 0);
    assert_eq!(node["restarts"], 0);
    let updated = node["lastUpdate"].as_str().unwrap();
    let shape: String = updated
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert!(
        shape.starts_with("dddd-dd-ddTdd:dd:dd")
            && shape.ends_with('Z')
            && ["", ".d", ".dd", ".ddd"].contains(&&shape[19..shape.len() - 1]),
        "RFC 3339 in UTC, to the millisecond as Go prints it: {updated}"
    );

    // An error item keeps the state and is reported; a panic makes the provider restart.
    fixture
        .feed("node")
        .fail("cannot list nodes: connection refused");
    fixture.feed("api").panic();
    fixture
        .wait_for_providers("errors to be reported", |providers| {
            providers.iter().any(|p| p.errors == 1) && providers.iter().any(|p| p.restarts == 1)
        })
        .await;
    let (_, body) = get(&app, "/api/v1/status/sd").await;
    for p in body["data"]["providers"].as_array().unwrap() {
        if p["jobs"] == json!(["node"]) {
            assert_eq!(p["lastError"], "cannot list nodes: connection refused");
            assert_eq!(p["errors"], 1);
            assert_eq!(p["state"], "running");
            assert_eq!(p["targets"], 5, "the last good state stands");
        } else {
            assert_eq!(p["state"], "restarting");
            assert_eq!(p["restarts"], 1);
            assert!(p["lastError"].as_str().unwrap().contains("panicked"), "{p}");
        }
    }

    fixture.feed("node").end();
    fixture
        .wait_for_providers("the node provider to end", |providers| {
            providers
                .iter()
                .any(|p| p.state == promsd_actors::ProviderState::Ended)
        })
        .await;
    let (_, body) = get(&app, "/api/v1/status/sd").await;
    let node = body["data"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["jobs"] == json!(["node"]))
        .unwrap()
        .clone();
    assert_eq!(node["state"], "ended");
}
