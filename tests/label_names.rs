//! Memory held for label names is bounded by the names in use: a real `promsd run` fed by a
//! real HTTP SD server that invents thousands of new label names on every refresh keeps its
//! interner (`promsd_label_names_interned` on /metrics) within a constant factor of the names
//! one refresh uses, however many refreshes pass.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::http_fixture::{HttpFixture, Response};
use support::*;

/// New label names in each answer of the server.
const NAMES_PER_REFRESH: usize = 2_000;
/// Refreshes the test waits for: 60,000 names invented in all.
const REFRESHES: usize = 30;

/// The HTTP SD body of refresh `round`: one target whose labels are all new names.
fn body(round: usize) -> String {
    let labels: Vec<String> = (0..NAMES_PER_REFRESH)
        .map(|i| format!("\"invented_r{round}_n{i}\":\"v\""))
        .collect();
    format!(
        "[{{\"targets\":[\"10.0.0.1:9100\"],\"labels\":{{{}}}}}]",
        labels.join(",")
    )
}

fn interned(port: u16) -> Option<f64> {
    get_ok(port, "/metrics")?
        .lines()
        .find_map(|l| l.strip_prefix("promsd_label_names_interned "))
        .map(|v| v.trim().parse().unwrap())
}

#[test]
fn names_invented_on_every_refresh_do_not_accumulate() {
    let rounds = Arc::new(AtomicUsize::new(0));
    let counter = rounds.clone();
    let server = HttpFixture::start(move |_| {
        let round = counter.fetch_add(1, Ordering::SeqCst);
        Response::json(200, body(round))
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: invent\n    http_sd_configs:\n      - url: {}/sd\n        refresh_interval: 100ms\n",
            server.url()
        ),
    )
    .unwrap();
    let (_promsd, port) = start_promsd(dir.path(), &config, &[]);

    let mut most = 0.0f64;
    let served_round = wait_for("many refreshes served", || {
        if let Some(count) = interned(port) {
            most = most.max(count);
        }
        let body = get_ok(port, "/api/v1/sd/invent")?;
        let round: usize = body
            .split("\"invented_r")
            .nth(1)?
            .split('_')
            .next()?
            .parse()
            .ok()?;
        (round >= REFRESHES).then_some(round)
    });
    let count = interned(port).expect("promsd_label_names_interned on /metrics");
    most = most.max(count);
    let invented = (served_round + 1) * NAMES_PER_REFRESH;
    // A few refreshes' names may be held at once (the engine's state, the pipeline's, a body
    // being served) and the interner sweeps when it doubles: a constant factor of one refresh's
    // names, far below everything invented.
    assert!(
        most <= (8 * NAMES_PER_REFRESH) as f64,
        "{most} label names interned after {invented} were invented ({count} now)"
    );
    assert!(
        count >= NAMES_PER_REFRESH as f64,
        "{count}: the served names are interned"
    );
}
