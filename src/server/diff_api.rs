//! `POST /api/v1/diff`: what a candidate `prometheus.yml` (the request body) would do to the
//! targets, compared with the running config and its live targets — `promsd diff` on the
//! daemon (the comparison and its JSON and text are `crate::diff`'s).
//!
//! A candidate makes promsd read files and call servers of the caller's choosing, so the route
//! is an admin API: off unless `--web.enable-admin-api`, answering then as Prometheus' disabled
//! admin APIs do (503, `unavailable`, "admin APIs disabled"); `--web.config.file` applies to it
//! as to every endpoint. Relative paths in the candidate resolve against the running config
//! file's directory. The candidate's discovery configs identical to running ones are not run
//! again; new ones run once, off the server's threads, until they delivered or `timeout`.
//!
//! Query: `format=json` (default, as `promsd diff --format json`) or `text`; `job=JOB`
//! (repeatable, as `--job`); `timeout=30s`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use promsd_actors::{GetSnapshot, GetStatus};

use super::status_api::unavailable;
use super::{json_error, AppState};
use crate::config::Config;
use crate::diff::{Live, LiveProvider};

/// How large a candidate may be.
const MAX_BODY: usize = 16 << 20;

/// How many previews may discover at once: each runs an engine of its own.
static PREVIEWS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// What the query asks for.
struct DiffQuery {
    text: bool,
    jobs: Vec<String>,
    timeout: Duration,
}

impl DiffQuery {
    fn parse(params: &[(String, String)]) -> Result<DiffQuery, String> {
        let mut query = DiffQuery {
            text: false,
            jobs: Vec::new(),
            timeout: Duration::from_secs(30),
        };
        for (name, value) in params {
            match name.as_str() {
                "format" => {
                    query.text = match value.as_str() {
                        "" | "json" => false,
                        "text" => true,
                        _ => {
                            return Err(format!(
                                "parameter format must be json or text, got {value:?}"
                            ))
                        }
                    }
                }
                "job" if !value.is_empty() => query.jobs.push(value.clone()),
                "timeout" => {
                    let timeout: crate::common::Duration = value
                        .parse()
                        .map_err(|e| format!("parameter timeout: {e}"))?;
                    query.timeout = timeout.as_std();
                }
                _ => {}
            }
        }
        Ok(query)
    }
}

/// The running daemon's live targets, per job and provider, in the engine's order.
async fn live(state: &AppState) -> Result<Live, String> {
    let snapshot = state
        .snapshot
        .send(GetSnapshot)
        .await
        .map_err(|e| format!("discovery manager unavailable: {e}"))?;
    let mechanisms: std::collections::HashMap<promsd_actors::Str, &'static str> = state
        .discovery
        .send(GetStatus)
        .await
        .map_err(|e| format!("discovery manager unavailable: {e}"))?
        .into_iter()
        .map(|p| (p.name, p.mechanism))
        .collect();
    Ok(snapshot
        .jobs()
        .map(|(job, targets)| {
            let providers = targets
                .providers()
                .iter()
                .map(|p| LiveProvider {
                    mechanism: mechanisms.get(&p.provider).copied().unwrap_or(""),
                    groups: p.groups().map(|(_, g)| g.clone()).collect(),
                })
                .collect();
            (job.to_string(), providers)
        })
        .collect())
}

/// `POST /api/v1/diff`.
pub async fn diff(
    state: web::Data<AppState>,
    params: web::Query<Vec<(String, String)>>,
    body: web::Bytes,
) -> HttpResponse {
    if !state.enable_admin_api {
        // Prometheus' answer for its admin APIs when disabled (web/api/v1/api.go).
        return unavailable("admin APIs disabled");
    }
    let query = match DiffQuery::parse(&params) {
        Ok(query) => query,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
    };
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return json_error(StatusCode::BAD_REQUEST, "the candidate config is not UTF-8");
    };
    let Some(running) = state.config.current() else {
        return unavailable("no config has been loaded");
    };
    let Some(dir) = running
        .config()
        .map(|c| c.file.parent().unwrap_or(Path::new("")).to_owned())
    else {
        return unavailable("the running config cannot be compared");
    };
    // Read the candidate (and its `scrape_config_files`) off the server's threads.
    let candidate = web::block(move || Config::load_str(&text, Path::new("candidate"), &dir)).await;
    let candidate = match candidate {
        Ok(Ok(candidate)) => candidate,
        Ok(Err(error)) => return json_error(StatusCode::BAD_REQUEST, &error.to_string()),
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    for job in &query.jobs {
        let known = |c: Option<&Config>| c.is_some_and(|c| c.scrape_config(job).is_some());
        if !known(running.config()) && !known(Some(&candidate)) {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("job {job} is in neither config"),
            );
        }
    }
    let Ok(_permit) = PREVIEWS.acquire().await else {
        return unavailable("previews are shutting down");
    };
    // The live targets must be the running config's: a reload between reading the config and
    // the targets is seen by the config slot changing (tried again, a few times).
    let mut running = running;
    let mut attempts = 0;
    let live = loop {
        let live = match live(&state).await {
            Ok(live) => live,
            Err(message) => return unavailable(&message),
        };
        match state.config.current() {
            Some(now) if Arc::ptr_eq(&now, &running) => break live,
            Some(now) if attempts < 3 && now.config().is_some() => {
                attempts += 1;
                running = now;
            }
            _ => return unavailable("the config was reloaded during the comparison; try again"),
        }
    };
    // Discovery runs an engine of its own (an actix system), on a thread of its own.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("promsd-diff".into())
        .spawn(move || {
            let running: Arc<dyn super::RunningConfig> = running;
            let Some(config) = running.config() else {
                return;
            };
            let diff =
                crate::diff::diff_live(config, &live, &candidate, &query.jobs, query.timeout);
            let mut out = Vec::new();
            let written = if query.text {
                crate::diff::render_text(&diff, &mut out)
            } else {
                crate::diff::render_json(&diff, &mut out)
            };
            let _ = tx.send(written.map(|()| out));
        });
    if let Err(e) = spawned {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    match rx.await {
        Ok(Ok(out)) => HttpResponse::Ok()
            .content_type(if query.text {
                "text/plain; charset=utf-8"
            } else {
                "application/json"
            })
            .body(out),
        Ok(Err(e)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "the comparison failed"),
    }
}

/// Registers the route, with a body limit fit for a config.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/diff")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::post().to(diff)),
    );
}
