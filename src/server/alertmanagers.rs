//! The discovered Alertmanagers, served: Prometheus' `GET /api/v1/alertmanagers` and an HTTP SD
//! endpoint per set (`GET /api/v1/sd/alertmanagers/{N}`, N the set's index in
//! `alerting.alertmanagers`), whose groups carry each Alertmanager's final labels with
//! `__scheme__` and `__alerts_path__`, so that a Prometheus reading it sends to the same URLs.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{json_error, AppState};

/// One Alertmanager in Prometheus' shape (`url`), with promsd's additions for the page: its
/// set and, for a dropped one, the rule that dropped it.
#[derive(Serialize)]
struct Target<'a> {
    url: &'a str,
    set: &'a str,
    #[serde(rename = "droppedBecause", skip_serializing_if = "Option::is_none")]
    dropped_because: Option<&'a str>,
}

/// `GET /api/v1/alertmanagers`: active and dropped Alertmanagers of every set, as Prometheus.
pub async fn alertmanagers(state: web::Data<AppState>) -> HttpResponse {
    let targets = state.alertmanagers.targets();
    let active: Vec<Target> = targets
        .sets
        .iter()
        .flat_map(|s| s.active.iter().map(move |a| (s, a)))
        .map(|(s, a)| Target {
            url: &a.url,
            set: &s.key,
            dropped_because: None,
        })
        .collect();
    let dropped: Vec<Target> = targets
        .sets
        .iter()
        .flat_map(|s| s.dropped.iter().map(move |a| (s, a)))
        .map(|(s, a)| Target {
            url: &a.url,
            set: &s.key,
            dropped_because: a.dropped_because.as_deref(),
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "success",
        "data": {
            "activeAlertmanagers": active,
            "droppedAlertmanagers": dropped,
        },
    }))
}

/// `GET /api/v1/sd/alertmanagers/{N}`: set N's active Alertmanagers in HTTP SD's JSON, one
/// group per Alertmanager with its final labels.
pub async fn set_targets(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let targets = state.alertmanagers.targets();
    let Some(set) = path.parse::<usize>().ok().and_then(|n| targets.sets.get(n)) else {
        return json_error(
            StatusCode::NOT_FOUND,
            &format!(
                "no Alertmanager set {:?}: alerting.alertmanagers has {} sets (0-based)",
                path.as_str(),
                targets.sets.len()
            ),
        );
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::notify::http_sd_body(set))
}
