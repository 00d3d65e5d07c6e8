//! The mechanism kit: what every polled-API mechanism stands on, so that thirty mechanisms do
//! not grow thirty clients, paginators, retry loops and secret handlings.
//!
//! - [`ApiClient`]: an HTTP client with every Prometheus client setting applied (auth, OAuth2,
//!   proxy, TLS with `server_name`, `http_headers`, HTTP/2), or the environment's settings for
//!   mechanisms that have none in Prometheus, over TCP, TLS, proxies or a unix socket. Requests
//!   are built with [`ApiRequest`] (query, headers, JSON/form/raw bodies, a [`Signer`] hook for
//!   signed APIs); responses are checked (status, size limit) and decoded on the blocking pool.
//! - [`LazyClient`]: builds the client on first use, inside the discoverer, so that reading CA
//!   files never happens on the engine's thread.
//! - [`collect_pages`]: a bounded loop over pages, whatever the API's cursor is (page numbers,
//!   next links, tokens).
//! - [`poll`]: a full-state refresh function turned into a discoverer on the engine's refresh
//!   helper: only changed and removed sources are sent, a failure keeps the last good state and
//!   is retried with capped exponential backoff (throttling included). Mechanisms have no retry
//!   or backoff of their own.
//! - [`check_interval`]: intervals of zero or below are config errors (Prometheus would spin
//!   or panic).
//! - Go's string helpers every room needs: [`join_host_port`], [`sanitize_label_name`],
//!   [`path_escape`], [`query_escape`].

mod client;
mod text;

use std::fmt::Display;

use serde::Deserialize as _;
use std::future::Future;

use promsd_actors::{
    refresh_discoverer, BuildContext, Discoverer, DiscoveryError, RefreshSchedule, Refreshed,
    TargetGroup,
};

pub use client::{
    read_body, ApiClient, ApiError, ApiRequest, ApiResponse, BodyError, LazyClient, SignRequest,
    Signer, DEFAULT_BODY_LIMIT,
};
pub use text::{join_host_port, path_escape, query_escape, sanitize_label_name};

use crate::common::Duration;

/// An interval setting (`refresh_interval`, ...) must be above zero.
pub fn check_interval(key: &str, interval: Duration) -> Result<(), String> {
    if interval.as_std().is_zero() {
        return Err(format!("{key} must be greater than 0"));
    }
    Ok(())
}

/// A config key written as `null` takes Go's zero value, as Prometheus' YAML decoder does:
/// `#[serde(deserialize_with = "null_as_zero")]` in every mechanism's config.
pub fn null_as_zero<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The most pages one [`collect_pages`] reads before giving up: an API that never stops
/// paginating is an error, not a hang.
pub const MAX_PAGES: usize = 100_000;

/// Reads every page: `fetch(cursor)` returns a page's items and the cursor of the next page,
/// `None` on the last one.
pub async fn collect_pages<C, T, F, Fut>(first: C, mut fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<C>), ApiError>>,
{
    let mut items = Vec::new();
    let mut cursor = Some(first);
    let mut pages = 0;
    while let Some(c) = cursor.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(ApiError::Other(format!(
                "more than {MAX_PAGES} pages: the API does not stop paginating"
            )));
        }
        let (page, next) = fetch(c).await?;
        items.extend(page);
        cursor = next;
    }
    Ok(items)
}

/// A discoverer that calls `refresh` at once and then every `interval`. Each call returns
/// every group that exists now (sources not returned are removed); an error keeps the last
/// good state and is retried with capped exponential backoff before the next interval.
pub fn poll<F, Fut, E>(
    ctx: &BuildContext,
    mechanism: &'static str,
    interval: std::time::Duration,
    mut refresh: F,
) -> Discoverer
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<TargetGroup>, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    refresh_discoverer(
        ctx,
        mechanism,
        RefreshSchedule::every(interval),
        move || {
            let fut = refresh();
            async move { fut.await.map(Refreshed::all).map_err(DiscoveryError::new) }
        },
    )
}
