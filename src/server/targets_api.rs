//! `GET /api/v1/targets` and `GET /api/v1/targets/relabel_steps`: why a target is there, why it
//! is not, and where each of its labels came from. Also `GET /api/v1/scrape_pools`.
//!
//! The response has Prometheus' shape (`activeTargets`, `droppedTargets`,
//! `droppedTargetCounts`), so that its clients read it, with `health: "unknown"` since promsd
//! does not scrape. Prometheus answers 66 MB at 100k targets; here a caller narrows and pages:
//!
//! - `scrapePool=JOB`: one job (empty: every job, as in Prometheus).
//! - `state=active|dropped|any` (default `any`; anything else is a 400, not a silent empty list).
//! - `match[]={job="x", instance=~"a.*"}`: PromQL selectors, a target is listed if any selector
//!   selects it. A matcher sees the target's final labels, and for names those lack (such as
//!   `__meta_*`, or every label of a dropped target) its discovered labels.
//! - `search=TEXT`: a target with a label value (discovered or final) containing TEXT, ASCII
//!   case-insensitively.
//! - `limit=N` (0 or absent: no limit), `offset=M`: targets are ordered by job, group and position
//!   in the group (the order of the view); a page holds the matching targets `M..M+N` of that
//!   order, active and dropped alike. `data.total` counts every matching target and
//!   `data.nextOffset` is present when more follow.
//!
//! Each request reads the live, immutable view: nothing is copied whole. Without `match[]` or
//! `search`, whole jobs and groups before the offset are skipped by their counts, so a page
//! costs O(groups + page). With them, every target of a job is tested once per job view and
//! filter; the matches are kept (a few recent filters, bounded) while that job's view is
//! unchanged, so the next pages and the web page's polling cost O(page).
//! Requests that may test or print every target (label filters, no or a large `limit`) run on
//! the blocking pool, never on the HTTP worker that serves HTTP SD.
//!
//! Dropped targets carry `droppedBecause`: the rule (or validation error) that dropped them.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, Weak};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use promsd_actors::{GroupKey, LabelSet};
use serde::Serialize;

use super::matcher::Selector;
use super::pipeline::{GroupOutcomes, JobView, TargetOutcome, TargetSummary, TargetsView};
use super::status_api::unavailable;
use super::{json_error, AppState};

/// Which targets a request lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StateFilter {
    Active,
    Dropped,
    Any,
}

impl StateFilter {
    fn admits(self, target: &TargetSummary) -> bool {
        match self {
            StateFilter::Active => target.is_kept(),
            StateFilter::Dropped => !target.is_kept(),
            StateFilter::Any => true,
        }
    }

    fn count(self, job: &JobView) -> usize {
        match self {
            StateFilter::Active => job.results.kept,
            StateFilter::Dropped => job.results.dropped,
            StateFilter::Any => job.results.kept + job.results.dropped,
        }
    }
}

/// A validated targets request.
struct TargetsQuery {
    scrape_pool: Option<String>,
    state: StateFilter,
    selectors: Vec<Selector>,
    /// Lowercased.
    search: Option<String>,
    limit: Option<usize>,
    offset: usize,
    /// The state, selectors and search text: what decides which targets match.
    filter_key: String,
}

impl TargetsQuery {
    fn parse(params: &[(String, String)]) -> Result<Self, String> {
        let mut query = TargetsQuery {
            scrape_pool: None,
            state: StateFilter::Any,
            selectors: Vec::new(),
            search: None,
            limit: None,
            offset: 0,
            filter_key: String::new(),
        };
        for (name, value) in params {
            match name.as_str() {
                "scrapePool" if query.scrape_pool.is_none() && !value.is_empty() => {
                    query.scrape_pool = Some(value.clone())
                }
                "state" => {
                    query.state = match value.to_ascii_lowercase().as_str() {
                        "" | "any" => StateFilter::Any,
                        "active" => StateFilter::Active,
                        "dropped" => StateFilter::Dropped,
                        _ => {
                            return Err(format!(
                                "parameter state must be active, dropped or any, got {value:?}"
                            ))
                        }
                    }
                }
                "match[]" => {
                    let selector =
                        Selector::parse(value).map_err(|e| format!("parameter match[]: {e}"))?;
                    query.selectors.push(selector);
                    // Length-prefixed, so that no two lists of selectors give one key.
                    let _ = write!(query.filter_key, "m{}:{value}", value.len());
                }
                "search" if !value.is_empty() => query.search = Some(value.to_ascii_lowercase()),
                "limit" => {
                    let limit: usize = value.parse().map_err(|_| {
                        format!("parameter limit must be a non-negative integer, got {value:?}")
                    })?;
                    query.limit = (limit > 0).then_some(limit);
                }
                "offset" => {
                    query.offset = value.parse().map_err(|_| {
                        format!("parameter offset must be a non-negative integer, got {value:?}")
                    })?;
                }
                _ => {}
            }
        }
        let _ = write!(
            query.filter_key,
            "s{:?}q{}",
            query.state,
            query.search.as_deref().unwrap_or("")
        );
        Ok(query)
    }

    /// Whether the request filters on labels (so that counts cannot be taken from the view).
    fn filters_labels(&self) -> bool {
        !self.selectors.is_empty() || self.search.is_some()
    }

    /// Whether target `index` of `group` (of `job`) is selected; `outcomes` gives the group's
    /// targets with their final labels (recomputed, so asked for only when needed). Its
    /// discovered labels are recomputed only if a selector or the search needs them.
    fn selects<'g>(
        &self,
        job: &JobView,
        group: &GroupOutcomes,
        index: usize,
        outcomes: &dyn Fn() -> &'g [TargetOutcome],
    ) -> bool {
        if !self.state.admits(&group[index]) {
            return false;
        }
        let labels = || outcomes()[index].labels();
        let discovered = std::cell::OnceCell::new();
        let discovered = || discovered.get_or_init(|| job.results.discovered(group, index));
        // Final labels never hold `__meta_*` (population removes them): those are looked up in
        // the discovered labels only.
        let lookup = |name: &str| {
            (!name.starts_with("__meta_"))
                .then(labels)
                .flatten()
                .and_then(|l| label(l, name))
                .or_else(|| label(discovered(), name))
        };
        if !self.selectors.is_empty() && !self.selectors.iter().any(|s| s.matches(lookup)) {
            return false;
        }
        if let Some(needle) = &self.search {
            let finder = Needle::new(needle);
            let found = |set: &LabelSet| set.iter().any(|(_, v)| finder.is_in(v));
            if !labels().is_some_and(found) && !found(discovered()) {
                return false;
            }
        }
        true
    }
}

/// The value of label `name`, found by a linear scan that compares lengths first: a label
/// set is a dozen pairs, the length of an `Arc<str>` is in the pointer, and names share long
/// prefixes (`__meta_kubernetes_pod_...`), so this beats a binary search of string compares.
fn label<'a>(set: &'a LabelSet, name: &str) -> Option<&'a str> {
    set.pairs()
        .iter()
        .find(|(n, _)| n.len() == name.len() && **n == *name)
        .map(|(_, v)| &**v)
}

/// A lowercased search text, found ASCII case-insensitively: candidates by the first byte (in
/// either case), then the rest compared.
struct Needle<'a> {
    text: &'a [u8],
    first: (u8, u8),
}

impl<'a> Needle<'a> {
    fn new(lowercased: &'a str) -> Self {
        let text = lowercased.as_bytes();
        let first = text.first().copied().unwrap_or(0);
        Needle {
            text,
            first: (first, first.to_ascii_uppercase()),
        }
    }

    fn is_in(&self, haystack: &str) -> bool {
        let (h, n) = (haystack.as_bytes(), self.text);
        if n.is_empty() {
            return true;
        }
        if h.len() < n.len() {
            return false;
        }
        let last_start = h.len() - n.len();
        let rest_matches = |at: usize| {
            h[at + 1..at + n.len()]
                .iter()
                .zip(&n[1..])
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        };
        let (lower, upper) = self.first;
        if h.len() < 64 {
            // Most label values are short: a plain loop beats setting up a vector search.
            (0..=last_start).any(|at| (h[at] == lower || h[at] == upper) && rest_matches(at))
        } else {
            memchr::memchr2_iter(lower, upper, &h[..=last_start]).any(rest_matches)
        }
    }
}

/// Whether `haystack` contains `needle` (already lowercased), ASCII case-insensitively.
#[cfg(test)]
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    Needle::new(needle).is_in(haystack)
}

/// Final labels as Prometheus shows them: without the `__`-prefixed ones.
struct PublicLabels(LabelSet);

impl Serialize for PublicLabels {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().filter(|(name, _)| !name.starts_with("__")))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActiveTarget<'a> {
    discovered_labels: LabelSet,
    labels: PublicLabels,
    scrape_pool: &'a str,
    scrape_url: String,
    last_error: &'static str,
    /// Go's zero time, which Prometheus shows for a target never scraped.
    last_scrape: &'static str,
    last_scrape_duration: f64,
    health: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scrape_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scrape_timeout: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DroppedTarget<'a> {
    discovered_labels: LabelSet,
    scrape_pool: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_because: Option<&'a str>,
}

/// The URL a scraper would fetch: `__scheme__://__address____metrics_path__?__param_*`, as
/// Prometheus builds it (parameters sorted and form-encoded).
pub fn scrape_url(labels: &LabelSet) -> String {
    let mut url = String::with_capacity(64);
    let _ = write!(
        url,
        "{}://{}{}",
        labels.get("__scheme__").unwrap_or("http"),
        labels.get("__address__").unwrap_or(""),
        labels.get("__metrics_path__").unwrap_or(""),
    );
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in labels.iter() {
        if let Some(param) = name.strip_prefix("__param_") {
            params.append_pair(param, value);
            any = true;
        }
    }
    if any {
        url.push('?');
        url.push_str(&params.finish());
    }
    url
}

fn active(pool: &str, discovered: LabelSet, labels: LabelSet) -> ActiveTarget<'_> {
    let setting = |name: &str| {
        labels
            .get(name)
            .or_else(|| discovered.get(name))
            .map(str::to_owned)
    };
    ActiveTarget {
        scrape_interval: setting("__scrape_interval__"),
        scrape_timeout: setting("__scrape_timeout__"),
        discovered_labels: discovered,
        scrape_url: scrape_url(&labels),
        labels: PublicLabels(labels),
        scrape_pool: pool,
        last_error: "",
        last_scrape: "0001-01-01T00:00:00Z",
        last_scrape_duration: 0.0,
        health: "unknown",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetsData<'a> {
    active_targets: Vec<ActiveTarget<'a>>,
    dropped_targets: Vec<DroppedTarget<'a>>,
    dropped_target_counts: std::collections::BTreeMap<&'a str, usize>,
    total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_offset: Option<usize>,
}

/// `GET /api/v1/targets`.
pub async fn targets(
    state: web::Data<AppState>,
    params: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let query = match TargetsQuery::parse(&params) {
        Ok(query) => query,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
    };
    let view = state.view.latest();
    // A page without label filters is quick; anything that may test or print every target runs
    // on the blocking pool, so that HTTP SD consumers on this worker are not kept waiting.
    let quick = !query.filters_labels() && query.limit.is_some_and(|l| l <= 1000);
    let body = if quick {
        render(&view, &query)
    } else {
        match web::block(move || render(&view, &query)).await {
            Ok(body) => body,
            Err(e) => {
                return json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("listing targets failed: {e}"),
                )
            }
        }
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

fn render(view: &TargetsView, query: &TargetsQuery) -> Vec<u8> {
    let jobs: Vec<&Arc<JobView>> = match &query.scrape_pool {
        Some(pool) => view.jobs.get(pool.as_str()).into_iter().collect(),
        None => view.jobs.values().collect(),
    };
    let data = page(&jobs, query);
    let mut body = Vec::with_capacity(4096);
    body.extend_from_slice(br#"{"status":"success","data":"#);
    serde_json::to_writer(&mut body, &data).expect("writing to a Vec");
    body.push(b'}');
    body
}

/// Collects one page of `jobs`' targets (in view order) and counts every match.
fn page<'a>(jobs: &[&'a Arc<JobView>], query: &TargetsQuery) -> TargetsData<'a> {
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut to_skip = query.offset;
    let mut data = TargetsData {
        active_targets: Vec::new(),
        dropped_targets: Vec::new(),
        dropped_target_counts: jobs.iter().map(|j| (&*j.name, j.results.dropped)).collect(),
        total: 0,
        next_offset: None,
    };
    let mut taken = 0;
    // The last group whose targets were recomputed: a page takes its targets group by group.
    let mut last: Option<(*const GroupOutcomes, Vec<TargetOutcome>)> = None;
    let mut take =
        |data: &mut TargetsData<'a>, job: &'a JobView, group: &'a GroupOutcomes, index| {
            taken += 1;
            if last.as_ref().is_none_or(|(g, _)| !std::ptr::eq(*g, group)) {
                last = Some((group, job.results.outcomes(group)));
            }
            let outcome = last.as_ref().and_then(|(_, o)| o.get(index));
            let discovered = job.results.discovered(group, index);
            match outcome.and_then(|o| o.labels().cloned()) {
                Some(labels) => data
                    .active_targets
                    .push(active(&job.name, discovered, labels)),
                None => data.dropped_targets.push(DroppedTarget {
                    discovered_labels: discovered,
                    scrape_pool: &job.name,
                    dropped_because: group[index].dropped_because().map(|b| &**b),
                }),
            }
        };
    if query.filters_labels() {
        // Every target is tested once per (job view, filter); pages after that cost O(page).
        for job in jobs {
            let matches = job_matches(job, query);
            data.total += matches.hits.len();
            let start = to_skip.min(matches.hits.len());
            to_skip -= start;
            let room = limit.saturating_sub(data.active_targets.len() + data.dropped_targets.len());
            for &(group, index) in matches.hits[start..].iter().take(room) {
                let Some(outcomes) = job.results.groups.get(&matches.groups[group as usize]) else {
                    continue;
                };
                take(&mut data, job, outcomes, index as usize);
            }
        }
    } else {
        // Counts come from the view: whole jobs and groups before the offset are skipped.
        data.total = jobs.iter().map(|j| query.state.count(j)).sum();
        'jobs: for job in jobs {
            let n = query.state.count(job);
            if to_skip >= n {
                to_skip -= n;
                continue;
            }
            for group in job.results.groups.values() {
                let n = match query.state {
                    StateFilter::Any => group.len(),
                    state => group.iter().filter(|t| state.admits(t)).count(),
                };
                if to_skip >= n {
                    to_skip -= n;
                    continue;
                }
                for (index, _) in group
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| query.state.admits(t))
                {
                    if to_skip > 0 {
                        to_skip -= 1;
                    } else if data.active_targets.len() + data.dropped_targets.len() < limit {
                        take(&mut data, job, group, index);
                    } else {
                        break 'jobs;
                    }
                }
            }
        }
    }
    let next = query.offset + taken;
    if next < data.total {
        data.next_offset = Some(next);
    }
    data
}

/// The targets of one job a filter selects: `(group, position)` pairs in view order, `group`
/// indexing `groups`.
struct JobMatches {
    groups: Vec<GroupKey>,
    hits: Vec<(u32, u32)>,
}

fn find_matches(job: &JobView, query: &TargetsQuery) -> JobMatches {
    let mut matches = JobMatches {
        groups: Vec::new(),
        hits: Vec::new(),
    };
    for (key, outcomes) in job.results.groups.iter() {
        let before = matches.hits.len();
        let slot = matches.groups.len() as u32;
        let relabeled = std::cell::OnceCell::new();
        let relabeled = || {
            relabeled
                .get_or_init(|| job.results.outcomes(outcomes))
                .as_slice()
        };
        matches.hits.extend(
            (0..outcomes.len())
                .filter(|&i| query.selects(job, outcomes, i, &relabeled))
                .map(|i| (slot, i as u32)),
        );
        if matches.hits.len() > before {
            matches.groups.push(key.clone());
        }
    }
    matches
}

/// Recent filters' matches per job view. A job's view is immutable and replaced (a new `Arc`)
/// when the job changes, so an entry is valid exactly while its view is alive; the `Weak` also
/// keeps the address from being reused by a later view.
struct CachedMatches {
    job: Weak<JobView>,
    filter: String,
    matches: Arc<JobMatches>,
}

static MATCH_CACHE: Mutex<Vec<CachedMatches>> = Mutex::new(Vec::new());
const CACHED_FILTERS: usize = 32;
const CACHED_HITS: usize = 4_000_000;

fn job_matches(job: &Arc<JobView>, query: &TargetsQuery) -> Arc<JobMatches> {
    let weak = Arc::downgrade(job);
    {
        let mut cache = MATCH_CACHE.lock().expect("match cache poisoned");
        cache.retain(|e| e.job.strong_count() > 0);
        if let Some(i) = cache
            .iter()
            .position(|e| e.job.ptr_eq(&weak) && e.filter == query.filter_key)
        {
            let entry = cache.remove(i);
            let matches = entry.matches.clone();
            cache.push(entry);
            return matches;
        }
    }
    let matches = Arc::new(find_matches(job, query));
    if matches.hits.len() <= CACHED_HITS {
        let mut cache = MATCH_CACHE.lock().expect("match cache poisoned");
        cache.push(CachedMatches {
            job: weak,
            filter: query.filter_key.clone(),
            matches: matches.clone(),
        });
        while cache.len() > CACHED_FILTERS
            || cache.iter().map(|e| e.matches.hits.len()).sum::<usize>() > CACHED_HITS
        {
            cache.remove(0);
        }
    }
    matches
}

/// `GET /api/v1/scrape_pools`: every job, in name order (Prometheus 2.42+).
pub async fn scrape_pools(state: web::Data<AppState>) -> HttpResponse {
    let view = state.view.latest();
    let pools: Vec<&str> = view.jobs.keys().map(|job| &**job).collect();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "success",
        "data": { "scrapePools": pools },
    }))
}

/// `GET /api/v1/targets/relabel_steps?scrapePool=JOB&labels={...}`: the labels after each of
/// the job's relabel rules, and whether the target is still kept (Prometheus 3.8's shape).
pub async fn relabel_steps(
    state: web::Data<AppState>,
    params: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(pool) = param("scrapePool").filter(|p| !p.is_empty()) else {
        return json_error(StatusCode::BAD_REQUEST, "parameter scrapePool is required");
    };
    let Some(labels) = param("labels") else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "parameter labels is required (a JSON object of label names to values)",
        );
    };
    let labels: LabelSet = match serde_json::from_str(labels) {
        Ok(labels) => labels,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("parameter labels is not a JSON object of strings: {e}"),
            )
        }
    };
    let Some(config) = state.config.current() else {
        return unavailable("no config has been loaded");
    };
    match config.relabel_steps(pool, &labels) {
        Some(steps) => HttpResponse::Ok().json(serde_json::json!({
            "status": "success",
            "data": { "steps": steps },
        })),
        None => json_error(
            StatusCode::BAD_REQUEST,
            &format!("failed to retrieve scrape pool config: unknown scrape pool {pool:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_url_as_prometheus_builds_it() {
        let labels = LabelSet::from_pairs([
            ("__address__", "10.0.0.1:9100"),
            ("__scheme__", "https"),
            ("__metrics_path__", "/probe"),
            ("__param_target", "http://x/?a=1 b"),
            ("__param_module", "http_2xx"),
        ]);
        assert_eq!(
            scrape_url(&labels),
            "https://10.0.0.1:9100/probe?module=http_2xx&target=http%3A%2F%2Fx%2F%3Fa%3D1+b"
        );
        assert_eq!(
            scrape_url(&LabelSet::from_address("a:1")),
            "http://a:1",
            "no scheme or path labels: Prometheus' defaults are filled before relabeling"
        );
    }

    #[test]
    fn case_insensitive_search() {
        assert!(contains_ignore_case("Node-Exporter", "exporter"));
        assert!(contains_ignore_case("abc", ""));
        assert!(!contains_ignore_case("ab", "abc"));
    }

    #[test]
    fn bad_parameters_are_named() {
        let params = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let error = TargetsQuery::parse(&params(&[("limit", "-1")]))
            .err()
            .unwrap();
        assert!(error.contains("parameter limit"), "{error}");
        let error = TargetsQuery::parse(&params(&[("offset", "x")]))
            .err()
            .unwrap();
        assert!(error.contains("parameter offset"), "{error}");
        let error = TargetsQuery::parse(&params(&[("state", "up")]))
            .err()
            .unwrap();
        assert!(error.contains("parameter state"), "{error}");
        let error = TargetsQuery::parse(&params(&[("match[]", "{a=}")]))
            .err()
            .unwrap();
        assert!(
            error.starts_with("parameter match[]: bad selector"),
            "{error}"
        );
        let query = TargetsQuery::parse(&params(&[("state", "DROPPED"), ("limit", "0")])).unwrap();
        assert_eq!(query.state, StateFilter::Dropped);
        assert_eq!(query.limit, None);
    }
}
