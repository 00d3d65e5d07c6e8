//! The discovered Alertmanagers, served: Prometheus' `GET /api/v1/alertmanagers` and an HTTP SD
//! endpoint per set (`GET /api/v1/sd/alertmanagers/{N}`, N the set's index in
//! `alerting.alertmanagers`), whose groups carry each Alertmanager's final labels with
//! `__scheme__` and `__alerts_path__`, so that a Prometheus reading it sends to the same URLs.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{json_error, AppState};

#[derive(Serialize)]
struct Target<'a> {
    url: &'a str,
}

/// `GET /api/v1/alertmanagers`: active and dropped Alertmanagers of every set, as Prometheus.
pub async fn alertmanagers(state: web::Data<AppState>) -> HttpResponse {
    let targets = state.alertmanagers.targets();
    let active: Vec<Target> = targets
        .sets
        .iter()
        .flat_map(|s| &s.active)
        .map(|a| Target { url: &a.url })
        .collect();
    let dropped: Vec<Target> = targets
        .sets
        .iter()
        .flat_map(|s| &s.dropped)
        .map(|a| Target { url: &a.url })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "success",
        "data": {
            "activeAlertmanagers": active,
            "droppedAlertmanagers": dropped,
        },
    }))
}

#[derive(Serialize)]
struct Group<'a> {
    targets: [&'a str; 1],
    labels: std::collections::BTreeMap<&'a str, &'a str>,
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
    let groups: Vec<Group> = set
        .active
        .iter()
        .map(|am| Group {
            targets: [am.labels.get("__address__").unwrap_or("")],
            labels: am
                .labels
                .iter()
                .filter(|(n, _)| *n != "__address__")
                .collect(),
        })
        .collect();
    HttpResponse::Ok().json(groups)
}
