//! The web page promsd serves at `/`: discovery at a glance (jobs, providers, their errors),
//! targets per job with search, discovered and final labels side by side, dropped targets with
//! what dropped them, the relabel trace of one target, and a preview of a candidate config
//! (`POST /api/v1/diff`, an admin API).
//!
//! Plain HTML, CSS and JavaScript embedded in the binary (no framework, no build step); the
//! page polls the JSON APIs (`/api/v1/status/sd`, `/api/v1/targets`,
//! `/api/v1/targets/relabel_steps`, `/api/v1/status/config`) every few seconds.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // The assets change only with the binary; revalidating each load is cheap and never stale.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// Registers the page and its assets.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/assets/app.js", web::get().to(app_js))
        .route("/assets/style.css", web::get().to(style_css));
}
