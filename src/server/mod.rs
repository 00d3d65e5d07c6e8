//! The daemon's HTTP server (actix-web): HTTP SD per job, the targets and status APIs, the web
//! page, `/metrics`, health, readiness and reload, and the diff admin API. Handlers read the pipeline's latest published
//! view; nothing here blocks discovery.

pub mod alertmanagers;
pub mod diff_api;
pub mod file_sd_output;
pub mod http_sd;
pub mod matcher;
pub mod pipeline;
pub mod process_metrics;
pub mod state_file;
pub mod status_api;
pub mod targets_api;
pub mod web_config;
pub mod web_page;

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use prometheus_client::registry::Registry;

pub use pipeline::{JobPipeline, Outcome, SharedView, TargetOutcome, TargetsPipeline};
pub use status_api::{ConfigSlot, RelabelStep, RunningConfig};

/// Asks the daemon to read its config again; answers the error if the new config is rejected
/// (the running one stays).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct Reload;

/// What every handler can reach.
pub struct AppState {
    pub view: SharedView,
    pub registry: Arc<Registry>,
    pub reload: Recipient<Reload>,
    /// Ready once every job's providers delivered their first state, or after this instant.
    pub ready_deadline: Instant,
    /// The engine's manager, for `/api/v1/status/sd`.
    pub discovery: Recipient<promsd_actors::GetStatus>,
    /// The `notify` manager (Alertmanager discovery), for `/api/v1/status/sd`.
    pub notify_discovery: Recipient<promsd_actors::GetStatus>,
    /// The discovered Alertmanagers.
    pub alertmanagers: crate::notify::NotifyView,
    /// The running config, for `/api/v1/status/config` and relabel traces.
    pub config: ConfigSlot,
    /// `--web.enable-lifecycle`: without it, `POST`/`PUT /-/reload` is refused (SIGHUP still
    /// reloads), as in Prometheus.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`: without it, `POST /api/v1/diff` answers as Prometheus'
    /// disabled admin APIs do.
    pub enable_admin_api: bool,
    /// The engine's manager, for the live targets `POST /api/v1/diff` compares with.
    pub snapshot: Recipient<promsd_actors::GetSnapshot>,
}

/// An error response in Prometheus' API shape.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "status": "error",
        "errorType": match status.as_u16() {
            400 => "bad_data",
            404 => "not_found",
            _ => "internal",
        },
        "error": message,
    }))
}

async fn healthy() -> HttpResponse {
    HttpResponse::Ok().body("promsd is Healthy.\n")
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let view = state.view.latest();
    let discovered = !view.jobs.is_empty() && view.jobs.values().all(|j| j.results.ready);
    if discovered || Instant::now() >= state.ready_deadline {
        HttpResponse::Ok().body("promsd is Ready.\n")
    } else {
        HttpResponse::ServiceUnavailable().body("Service Unavailable\n")
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn reload(state: web::Data<AppState>) -> HttpResponse {
    if !state.enable_lifecycle {
        // Prometheus' words (web/web.go).
        return HttpResponse::Forbidden().body("Lifecycle API is not enabled.");
    }
    match state.reload.send(Reload).await {
        Ok(Ok(())) => HttpResponse::Ok().finish(),
        Ok(Err(error)) => {
            HttpResponse::InternalServerError().body(format!("failed to reload config: {error}\n"))
        }
        Err(e) => HttpResponse::InternalServerError().body(format!("reloader unavailable: {e}\n")),
    }
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/sd/{job}", web::get().to(http_sd::job_targets))
        .route(
            "/api/v1/sd/alertmanagers/{set}",
            web::get().to(alertmanagers::set_targets),
        )
        .route(
            "/api/v1/alertmanagers",
            web::get().to(alertmanagers::alertmanagers),
        )
        .route("/metrics", web::get().to(metrics))
        .route("/-/healthy", web::get().to(healthy))
        .route("/-/healthy", web::head().to(healthy))
        .route("/-/ready", web::get().to(ready))
        .route("/-/ready", web::head().to(ready))
        .route("/-/reload", web::post().to(reload))
        .route("/-/reload", web::put().to(reload))
        .route(
            "/-/reload",
            web::get().to(|| async {
                HttpResponse::MethodNotAllowed().body("Only POST or PUT requests allowed")
            }),
        )
        .route("/api/v1/targets", web::get().to(targets_api::targets))
        .route(
            "/api/v1/scrape_pools",
            web::get().to(targets_api::scrape_pools),
        )
        .route(
            "/api/v1/targets/relabel_steps",
            web::get().to(targets_api::relabel_steps),
        )
        .route("/api/v1/status/config", web::get().to(status_api::config))
        .route(
            "/api/v1/status/sd",
            web::get().to(status_api::service_discovery),
        )
        .configure(diff_api::routes)
        .configure(web_page::routes);
}
