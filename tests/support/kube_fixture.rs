//! A fixture Kubernetes API server for tests and benchmarks: real HTTP on 127.0.0.1, speaking
//! the list/watch protocol of the public API documentation ("Efficient detection of changes"):
//!
//! - `GET /api/v1/<resource>`, `/api/v1/namespaces/<ns>/<resource>`,
//!   `/apis/<group>/<version>/[namespaces/<ns>/]<resource>`: a JSON `<Kind>List` with
//!   `metadata.resourceVersion`, paged by `limit` and `continue`.
//! - `?watch=true&resourceVersion=N[&allowWatchBookmarks=true]`: newline-delimited JSON events
//!   (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`) after N, over a chunked response kept open. An
//!   object that stops (starts) matching a watch's selectors is `DELETED` (`ADDED`) for it.
//! - A watch from a resource version older than the last [`expire_watches`] gets an `ERROR`
//!   event carrying a `Status` with code 410 (Gone), and so do open watches when they expire.
//! - `labelSelector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (..)`, `k notin (..)`) and
//!   `fieldSelector` (`path=v`, `path!=v` on any JSON path such as `spec.nodeName`) filter lists
//!   and watches.
//! - With a token set, requests without `Authorization: Bearer <token>` get 401.
//!
//! Every request is recorded, so tests can count lists and watches per resource.
//!
//! [`expire_watches`]: KubeFixture::expire_watches

#![allow(dead_code)] // each test binary uses a part

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use actix_web::web::Bytes;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub resource: String,
    pub namespace: Option<String>,
    pub watch: bool,
    pub query: HashMap<String, String>,
}

struct Watcher {
    resource: String,
    namespace: Option<String>,
    label_selector: String,
    field_selector: String,
    bookmarks: bool,
    tx: mpsc::UnboundedSender<Bytes>,
}

/// A change, kept to replay to watches that start from an older resource version.
struct Change {
    rv: u64,
    resource: String,
    old: Option<Value>,
    new: Option<Value>,
}

#[derive(Default)]
struct State {
    rv: u64,
    /// resource → (namespace, name) → object.
    objects: BTreeMap<String, BTreeMap<(String, String), Value>>,
    history: Vec<Change>,
    watchers: Vec<Watcher>,
    requests: Vec<Recorded>,
    /// Watches from resource versions below this get 410 Gone.
    gone_before: u64,
    token: Option<String>,
}

/// A running fixture API server; stopped when dropped.
pub struct KubeFixture {
    pub url: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for KubeFixture {
    fn drop(&mut self) {
        // Sends the stop command at once; the server's thread ends with it.
        drop(self.handle.stop(false));
        let mut state = self.state.lock().unwrap();
        state.watchers.clear();
    }
}

impl KubeFixture {
    /// Starts a server that needs no credentials.
    pub fn start() -> KubeFixture {
        Self::start_with_token(None)
    }

    /// Starts a server that answers only requests bearing `token`, when given.
    pub fn start_with_token(token: Option<&str>) -> KubeFixture {
        let state = Arc::new(Mutex::new(State {
            rv: 100,
            token: token.map(str::to_owned),
            ..State::default()
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let server_state = state.clone();
        std::thread::Builder::new()
            .name("kube-fixture".into())
            .spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let data = server_state.clone();
                    let server = HttpServer::new(move || {
                        let data = data.clone();
                        App::new().default_service(actix_web::web::to(move |req: HttpRequest| {
                            let data = data.clone();
                            async move { handle(&data, req) }
                        }))
                    })
                    .workers(1)
                    // Go's net/http (the real API server) sets TCP_NODELAY; without it small
                    // watch events wait for delayed ACKs.
                    .on_connect(|conn, _| {
                        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                            let _ = tcp.set_nodelay(true);
                        }
                    })
                    .bind(("127.0.0.1", 0))
                    .expect("binding the fixture API server");
                    let addr = server.addrs()[0];
                    let server = server.run();
                    tx.send((addr, server.handle())).unwrap();
                    let _ = server.await;
                });
            })
            .expect("starting the fixture thread");
        let (addr, handle) = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("fixture API server did not start");
        KubeFixture {
            url: format!("http://{addr}"),
            state,
            handle,
        }
    }

    /// Creates or replaces an object (`metadata.namespace` may be absent for cluster-scoped
    /// resources) and tells the watches. Returns its new resource version.
    pub fn apply(&self, resource: &str, mut object: Value) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.rv += 1;
        let rv = state.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let id = object_id(&object);
        let old = state
            .objects
            .entry(resource.to_owned())
            .or_default()
            .insert(id, object.clone());
        state.publish(Change {
            rv,
            resource: resource.to_owned(),
            old,
            new: Some(object),
        });
        rv
    }

    /// Deletes an object and tells the watches.
    pub fn delete(&self, resource: &str, namespace: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        let Some(mut old) = state
            .objects
            .entry(resource.to_owned())
            .or_default()
            .remove(&(namespace.to_owned(), name.to_owned()))
        else {
            return;
        };
        state.rv += 1;
        let rv = state.rv;
        old["metadata"]["resourceVersion"] = json!(rv.to_string());
        state.publish(Change {
            rv,
            resource: resource.to_owned(),
            old: Some(old),
            new: None,
        });
    }

    /// Deletes an object without telling the watches, as if its event had been lost: only a
    /// relist shows it is gone.
    pub fn delete_silently(&self, resource: &str, namespace: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .objects
            .entry(resource.to_owned())
            .or_default()
            .remove(&(namespace.to_owned(), name.to_owned()));
        state.rv += 1;
    }

    /// Expires every resource version so far: open watches get an `ERROR` 410 event and end,
    /// and watches from an older version get the same, so clients must list again.
    pub fn expire_watches(&self) {
        let mut state = self.state.lock().unwrap();
        state.rv += 1;
        state.gone_before = state.rv;
        state.history.clear();
        let gone = event_line("ERROR", &gone_status());
        for w in state.watchers.drain(..) {
            let _ = w.tx.send(gone.clone());
        }
    }

    /// Ends every open watch normally (as a server-side timeout does): clients watch again
    /// from the last version they saw.
    pub fn close_watches(&self) {
        self.state.lock().unwrap().watchers.clear();
    }

    /// Sends a `BOOKMARK` at the current resource version to every watch that allows them.
    pub fn bookmark(&self) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.rv += 1;
        let rv = state.rv;
        state.watchers.retain(|w| {
            if !w.bookmarks {
                return true;
            }
            let object = json!({
                "kind": kind_of(&w.resource),
                "apiVersion": "v1",
                "metadata": {"resourceVersion": rv.to_string()}
            });
            w.tx.send(event_line("BOOKMARK", &object)).is_ok()
        });
        rv
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many watch requests were made for `resource`.
    pub fn watch_requests(&self, resource: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.watch && r.resource == resource)
            .count()
    }

    /// How many first list pages were requested for `resource` (a list may take several pages).
    pub fn list_requests(&self, resource: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| !r.watch && r.resource == resource && !r.query.contains_key("continue"))
            .count()
    }

    /// How many watches of `resource` are open now. A client that went away is noticed only
    /// when a write to it fails, so this first sends every watch a `BOOKMARK` at the current
    /// version (harmless, as API servers send them from time to time); poll it.
    pub fn open_watches(&self, resource: &str) -> usize {
        let mut state = self.state.lock().unwrap();
        let rv = state.rv;
        state.watchers.retain(|w| {
            if !w.bookmarks {
                return !w.tx.is_closed();
            }
            let object = json!({
                "kind": kind_of(&w.resource),
                "apiVersion": "v1",
                "metadata": {"resourceVersion": rv.to_string()}
            });
            w.tx.send(event_line("BOOKMARK", &object)).is_ok()
        });
        state
            .watchers
            .iter()
            .filter(|w| w.resource == resource)
            .count()
    }

    /// The current resource version.
    pub fn resource_version(&self) -> u64 {
        self.state.lock().unwrap().rv
    }
}

impl State {
    fn publish(&mut self, change: Change) {
        self.watchers.retain(|w| match watch_event(w, &change) {
            Some(line) => w.tx.send(line).is_ok(),
            None => !w.tx.is_closed(),
        });
        self.history.push(change);
    }
}

/// The event a watcher sees for a change, if any.
fn watch_event(w: &Watcher, change: &Change) -> Option<Bytes> {
    if w.resource != change.resource {
        return None;
    }
    let matches = |o: &Option<Value>| {
        o.as_ref().is_some_and(|o| {
            w.namespace
                .as_deref()
                .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
                && label_selector_matches(&w.label_selector, o)
                && field_selector_matches(&w.field_selector, o)
        })
    };
    match (matches(&change.old), matches(&change.new)) {
        (false, true) => Some(event_line("ADDED", change.new.as_ref().unwrap())),
        (true, true) => Some(event_line("MODIFIED", change.new.as_ref().unwrap())),
        (true, false) => {
            // The last state the watcher saw, at the new resource version.
            let mut last = change.old.clone().unwrap();
            last["metadata"]["resourceVersion"] = json!(change.rv.to_string());
            Some(event_line("DELETED", &last))
        }
        (false, false) => None,
    }
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap();
    line.push(b'\n');
    Bytes::from(line)
}

fn gone_status() -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "too old resource version", "reason": "Expired", "code": 410
    })
}

fn object_id(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or("").to_owned(),
        meta["name"]
            .as_str()
            .expect("object without metadata.name")
            .to_owned(),
    )
}

fn kind_of(resource: &str) -> &'static str {
    match resource {
        "pods" => "Pod",
        "nodes" => "Node",
        "services" => "Service",
        "endpoints" => "Endpoints",
        "endpointslices" => "EndpointSlice",
        "ingresses" => "Ingress",
        "namespaces" => "Namespace",
        "replicasets" => "ReplicaSet",
        "jobs" => "Job",
        _ => "Unknown",
    }
}

/// (resource, namespace) of an API path.
fn parse_path(path: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match parts.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return None,
    };
    match rest {
        [resource] => Some(((*resource).to_owned(), None)),
        ["namespaces", ns, resource] => Some(((*resource).to_owned(), Some((*ns).to_owned()))),
        _ => None,
    }
}

fn status(code: u16, reason: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    }))
}

fn handle(state: &Arc<Mutex<State>>, req: HttpRequest) -> HttpResponse {
    let query: HashMap<String, String> =
        actix_web::web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    let Some((resource, namespace)) = parse_path(req.path()) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        resource: resource.clone(),
        namespace: namespace.clone(),
        watch,
        query: query.clone(),
    });
    if let Some(token) = &s.token {
        let expected = format!("Bearer {token}");
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return status(401, "Unauthorized", "Unauthorized");
        }
    }
    let label_selector = query.get("labelSelector").cloned().unwrap_or_default();
    let field_selector = query.get("fieldSelector").cloned().unwrap_or_default();
    let selected = |o: &Value| {
        namespace
            .as_deref()
            .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            && label_selector_matches(&label_selector, o)
            && field_selector_matches(&field_selector, o)
    };
    if !watch {
        // The continue token is the last (namespace, name) of the previous page.
        let after: Option<(String, String)> = query
            .get("continue")
            .and_then(|c| c.split_once('/'))
            .map(|(ns, name)| (ns.to_owned(), name.to_owned()));
        let limit: usize = query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let empty = BTreeMap::new();
        let objects = s.objects.get(&resource).unwrap_or(&empty);
        let mut matching = match &after {
            Some(key) => objects.range((
                std::ops::Bound::Excluded(key.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => objects.range(..),
        }
        .filter(|(_, o)| selected(o));
        let items: Vec<(&(String, String), &Value)> = matching.by_ref().take(limit).collect();
        let mut metadata = json!({"resourceVersion": s.rv.to_string()});
        if matching.next().is_some() {
            if let Some(((ns, name), _)) = items.last() {
                metadata["continue"] = json!(format!("{ns}/{name}"));
            }
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct List<'a> {
            kind: String,
            api_version: &'static str,
            metadata: Value,
            items: Vec<&'a Value>,
        }
        let body = List {
            kind: format!("{}List", kind_of(&resource)),
            api_version: "v1",
            metadata,
            items: items.into_iter().map(|(_, o)| o).collect(),
        };
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(serde_json::to_vec(&body).unwrap());
    }
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(s.rv);
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    if from < s.gone_before {
        let _ = tx.send(event_line("ERROR", &gone_status()));
    } else {
        let watcher = Watcher {
            resource: resource.clone(),
            namespace,
            label_selector,
            field_selector,
            bookmarks: query.get("allowWatchBookmarks").map(String::as_str) == Some("true"),
            tx,
        };
        for change in s.history.iter().filter(|c| c.rv > from) {
            if let Some(line) = watch_event(&watcher, change) {
                let _ = watcher.tx.send(line);
            }
        }
        s.watchers.push(watcher);
    }
    drop(s);
    let body = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|item| item.map(Ok::<Bytes, actix_web::Error>))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body)
}

/// The value at a dotted JSON path, as a string (`""` when absent).
fn field(o: &Value, path: &str) -> String {
    let mut v = o;
    for part in path.split('.') {
        v = &v[part];
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn field_selector_matches(selector: &str, o: &Value) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            field(o, k) != v
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            field(o, k) == v
        } else {
            false
        }
    })
}

fn label_selector_matches(selector: &str, o: &Value) -> bool {
    if selector.is_empty() {
        return true;
    }
    let labels = &o["metadata"]["labels"];
    let get = |k: &str| labels[k.trim()].as_str().map(str::to_owned);
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            let set = |rest: &str| -> Vec<String> {
                rest.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .collect()
            };
            if let Some(k) = term.strip_prefix('!') {
                get(k).is_none()
            } else if let Some((k, v)) = term.split_once("!=") {
                get(k).as_deref() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k).as_deref() == Some(v.trim())
            } else if let Some((k, rest)) = term.split_once(" notin ") {
                get(k).is_none_or(|v| !set(rest).contains(&v))
            } else if let Some((k, rest)) = term.split_once(" in ") {
                get(k).is_some_and(|v| set(rest).contains(&v))
            } else {
                get(term).is_some()
            }
        })
}
