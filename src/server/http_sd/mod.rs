//! `GET /api/v1/sd/{job}`: a job's kept targets in Prometheus' HTTP SD JSON, optionally one shard
//! of them (`?shards=n&shard=i`), with an ETag so that an unchanged job costs a consumer nothing.
//!
//! Prometheus' own HTTP SD never sends `If-None-Match` (and treats 304 as an error), so a 304 is
//! only ever the answer to a request that asked for it.
//!
//! The body is rendered here too: `entries.rs` renders a group's kept targets once when the
//! group is relabeled, `body.rs` orders a job's entries (per shard) and writes them out.

pub(crate) mod body;
pub(crate) mod entries;

pub use body::Rendered;
#[cfg(test)]
mod tests;

use actix_web::body::SizedStream;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::convert::Infallible;

use super::{json_error, AppState};
use crate::shard::Shard;

/// `promsd_http_sd_requests_total{code}` and `promsd_http_sd_request_duration_seconds`: what the
/// HTTP SD consumers ask of promsd, for the dashboard.
#[derive(Clone)]
struct Metrics {
    requests: prometheus_client::metrics::family::Family<
        Code,
        prometheus_client::metrics::counter::Counter,
    >,
    duration: prometheus_client::metrics::histogram::Histogram,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct Code {
    code: String,
}

static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(|| Metrics {
    requests: Default::default(),
    duration: prometheus_client::metrics::histogram::Histogram::new(
        prometheus_client::metrics::histogram::exponential_buckets(0.0005, 4.0, 9),
    ),
});

/// Registers the HTTP SD endpoint's metrics in the daemon's registry.
pub fn register_metrics(registry: &mut prometheus_client::registry::Registry) {
    registry.register(
        "promsd_http_sd_requests",
        "HTTP SD requests served, by status code.",
        METRICS.requests.clone(),
    );
    registry.register_with_unit(
        "promsd_http_sd_request_duration",
        "Time to answer an HTTP SD request.",
        prometheus_client::registry::Unit::Seconds,
        METRICS.duration.clone(),
    );
}

#[derive(Deserialize)]
pub struct ShardQuery {
    shard: Option<String>,
    shards: Option<String>,
}

pub async fn job_targets(
    state: web::Data<AppState>,
    job: web::Path<String>,
    query: web::Query<ShardQuery>,
    request: HttpRequest,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let response = serve(state, job, query, request).await;
    METRICS
        .requests
        .get_or_create(&Code {
            code: response.status().as_u16().to_string(),
        })
        .inc();
    METRICS.duration.observe(started.elapsed().as_secs_f64());
    response
}

async fn serve(
    state: web::Data<AppState>,
    job: web::Path<String>,
    query: web::Query<ShardQuery>,
    request: HttpRequest,
) -> HttpResponse {
    let shard = match Shard::from_query(query.shard.as_deref(), query.shards.as_deref()) {
        Ok(shard) => shard,
        Err(message) => return json_error(actix_web::http::StatusCode::BAD_REQUEST, &message),
    };
    let view = state.view.latest();
    let Some(job_view) = view.jobs.get(job.as_str()) else {
        return json_error(
            actix_web::http::StatusCode::NOT_FOUND,
            &format!("job {:?} not found", job.as_str()),
        );
    };
    let rendered = match job_view.cached_http_sd(shard) {
        Some(rendered) => rendered,
        // Rendering a large job takes a while: not on the server's worker thread.
        None => {
            let job_view = job_view.clone();
            match web::block(move || job_view.http_sd(shard)).await {
                Ok(rendered) => rendered,
                Err(e) => {
                    return json_error(
                        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("rendering failed: {e}"),
                    )
                }
            }
        }
    };
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == rendered.etag || tag.trim() == "*")
        });
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, rendered.etag.clone()))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, rendered.etag.clone()))
        .body(SizedStream::new(
            rendered.len() as u64,
            futures::stream::iter(rendered.chunks(CHUNK).map(Ok::<_, Infallible>)),
        ))
}

/// The body is written out in chunks of about this size as the connection takes them.
const CHUNK: usize = 64 * 1024;
