//! The deployment and operations kit (issue 32) checked against the real thing: `promsd
//! --version` and `promsd_build_info` from the built binary, the Kubernetes manifests parsed into
//! the Kubernetes API types with RBAC covering what the Kubernetes SD code watches, the systemd
//! unit verified by `systemd-analyze`, and the monitoring mixin's rules unit-tested by `promtool`
//! with every metric they and the dashboard query read from a running daemon's `/metrics`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A daemon serving one static job, in a fresh directory.
fn start_static_daemon() -> (tempfile::TempDir, Process, u16) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: static\n    static_configs:\n      - targets: ['a:1']\n",
    )
    .unwrap();
    let (process, port) = start_promsd(dir.path(), &config, &[]);
    (dir, process, port)
}

/// `promsd --version`'s fields: the first line's version, branch and revision, then each
/// `key: value` line.
fn version_fields() -> BTreeMap<String, String> {
    let out = Command::new(promsd_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    // Prometheus: "prometheus, version 3.x (branch: B, revision: R)".
    let rest = first
        .strip_prefix("promsd, version ")
        .unwrap_or_else(|| panic!("{text}"));
    let (version, rest) = rest.split_once(" (branch: ").unwrap();
    let (branch, rest) = rest.split_once(", revision: ").unwrap();
    let revision = rest.strip_suffix(')').unwrap();
    let mut fields = BTreeMap::from([
        ("version".to_owned(), version.to_owned()),
        ("branch".to_owned(), branch.to_owned()),
        ("revision".to_owned(), revision.to_owned()),
    ]);
    for line in lines {
        assert!(line.starts_with("  "), "{line:?} in\n{text}");
        let (key, value) = line.trim().split_once(':').unwrap();
        fields.insert(key.to_owned(), value.trim().to_owned());
    }
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "branch",
            "build date",
            "build user",
            "platform",
            "revision",
            "rust version",
            "tags",
            "version"
        ],
        "{text}"
    );
    fields
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[test]
fn version_is_printed_as_prometheus_prints_its_own() {
    let fields = version_fields();
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    // Built from this checkout: its revision and branch (or "unknown" outside git).
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    assert_eq!(fields["revision"], revision);
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "unknown".into());
    assert_eq!(fields["branch"], branch);
    // promu's date layout, 20060102-15:04:05.
    let date = fields["build date"].as_bytes();
    assert!(
        date.len() == 17
            && date[8] == b'-'
            && date[11] == b':'
            && date[14] == b':'
            && date
                .iter()
                .enumerate()
                .all(|(i, c)| [8, 11, 14].contains(&i) || c.is_ascii_digit()),
        "{fields:?}"
    );
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok());
    if let Some(rustc) = rustc {
        assert_eq!(
            Some(fields["rust version"].as_str()),
            rustc.split_whitespace().nth(1),
            "{rustc}"
        );
    }
    assert_eq!(
        fields["platform"],
        format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH)
    );
    assert!(
        fields["tags"].split(',').any(|t| t == "kubernetes"),
        "{fields:?}"
    );
    // `-V` is the same; a bare `promsd` still shows the help and fails.
    let short = Command::new(promsd_bin()).arg("-V").output().unwrap();
    let long = Command::new(promsd_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(short.stdout, long.stdout);
    let bare = Command::new(promsd_bin()).output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Usage:"));
}

#[test]
fn build_info_is_exported_with_the_versions_fields() {
    let fields = version_fields();
    let (_dir, _promsd, port) = start_static_daemon();
    let metrics = get_ok(port, "/metrics").unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("promsd_build_info{"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(
        metrics.contains("# TYPE promsd_build_info gauge"),
        "{metrics}"
    );
    let (labels, value) = line
        .strip_prefix("promsd_build_info{")
        .unwrap()
        .split_once("} ")
        .unwrap();
    assert_eq!(value, "1");
    let labels: BTreeMap<&str, &str> = labels
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k, v.trim_matches('"'))
        })
        .collect();
    assert_eq!(
        labels,
        BTreeMap::from([
            ("branch", fields["branch"].as_str()),
            ("revision", fields["revision"].as_str()),
            ("rustversion", fields["rust version"].as_str()),
            ("version", fields["version"].as_str()),
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests (deploy/kubernetes/).

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::de::DeserializeOwned;
use serde::Deserialize;

fn kube_dir() -> PathBuf {
    root().join("deploy/kubernetes")
}

/// Every document of a manifest file, as YAML values.
fn documents(path: &Path) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// A document as its Kubernetes API type. It must come back unchanged when serialized again:
/// a misspelled or misplaced key (which the API types would ignore) fails here.
fn typed<T: DeserializeOwned + serde::Serialize>(doc: &serde_yaml::Value, file: &str) -> T {
    let json: serde_json::Value = serde_json::to_value(doc).unwrap();
    let object: T =
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{file}: {e}\n{json:#}"));
    let again = serde_json::to_value(&object).unwrap();
    if let Err(at) = contained(&json, &again, String::new()) {
        panic!("{file}: {at}: a key the API type does not know, or a wrong type");
    }
    object
}

/// Whether everything in `written` is in `parsed` (which may add defaults, such as the
/// `apiVersion` of an embedded PersistentVolumeClaim); the path where it is not.
fn contained(
    written: &serde_json::Value,
    parsed: &serde_json::Value,
    at: String,
) -> Result<(), String> {
    use serde_json::Value::*;
    match (written, parsed) {
        (Object(w), Object(p)) => w.iter().try_for_each(|(k, v)| match p.get(k) {
            Some(pv) => contained(v, pv, format!("{at}.{k}")),
            None => Err(format!("{at}.{k}")),
        }),
        (Array(w), Array(p)) if w.len() == p.len() => w
            .iter()
            .zip(p)
            .enumerate()
            .try_for_each(|(i, (w, p))| contained(w, p, format!("{at}[{i}]"))),
        _ if written == parsed => Ok(()),
        _ => Err(at),
    }
}

/// Every object of deploy/kubernetes/, parsed into its API type.
#[derive(Default)]
struct Manifests {
    namespaces: Vec<Namespace>,
    service_accounts: Vec<ServiceAccount>,
    cluster_roles: Vec<ClusterRole>,
    bindings: Vec<ClusterRoleBinding>,
    config_maps: Vec<ConfigMap>,
    deployments: Vec<Deployment>,
    stateful_sets: Vec<StatefulSet>,
    services: Vec<Service>,
    /// File name of each object, by `Kind/name`.
    files: BTreeMap<String, String>,
}

fn manifests() -> Manifests {
    let mut m = Manifests::default();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(kube_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(file.ends_with(".yaml"), "{file}: manifests are .yaml");
        if file == "kustomization.yaml" {
            continue;
        }
        let docs = documents(&path);
        assert!(!docs.is_empty(), "{file}");
        for doc in docs {
            let kind = doc["kind"].as_str().unwrap().to_owned();
            let name = doc["metadata"]["name"].as_str().unwrap().to_owned();
            match kind.as_str() {
                "Namespace" => m.namespaces.push(typed(&doc, &file)),
                "ServiceAccount" => m.service_accounts.push(typed(&doc, &file)),
                "ClusterRole" => m.cluster_roles.push(typed(&doc, &file)),
                "ClusterRoleBinding" => m.bindings.push(typed(&doc, &file)),
                "ConfigMap" => m.config_maps.push(typed(&doc, &file)),
                "Deployment" => m.deployments.push(typed(&doc, &file)),
                "StatefulSet" => m.stateful_sets.push(typed(&doc, &file)),
                "Service" => m.services.push(typed(&doc, &file)),
                other => panic!("{file}: unexpected kind {other}"),
            }
            assert!(
                m.files
                    .insert(format!("{kind}/{name}"), file.clone())
                    .is_none(),
                "{kind}/{name} twice"
            );
        }
    }
    m
}

fn named<
    'a,
    T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
>(
    objects: &'a [T],
    name: &str,
) -> &'a T {
    objects
        .iter()
        .find(|o| o.metadata().name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no {name}"))
}

/// (API group, resource) of every kind the Kubernetes SD code can watch, read from the
/// resource declarations in src/discovery/kubernetes/objects/ (`wire_resource!` and
/// `meta_only!`, which give the API paths kube requests), checked complete against the kinds
/// watch.rs starts watches for.
fn watched_resources() -> BTreeMap<String, (String, String)> {
    let sd = root().join("src/discovery/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(sd.join("objects"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let objects: String = files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let mut found = BTreeMap::new();
    for (macro_name, group_at, plural_at) in [("wire_resource!(", 2, 4), ("meta_only!(", 2, 3)] {
        for (at, _) in objects.match_indices(macro_name) {
            let args = &objects[at + macro_name.len()..];
            let args = &args[..args.find(')').unwrap()];
            let args: Vec<&str> = args.split(',').map(str::trim).collect();
            if args[0].starts_with('$') || args[0].starts_with('@') {
                continue; // the macros' own definitions
            }
            let unquote = |s: &str| s.trim_matches('"').to_owned();
            found.insert(
                args[0].to_owned(),
                (unquote(args[group_at]), unquote(args[plural_at])),
            );
        }
    }
    // Every kind a watch is started for has a declaration found above.
    let watch = std::fs::read_to_string(sd.join("watch.rs")).unwrap();
    let spawned: Vec<&str> = watch
        .match_indices("spawn::<")
        .map(|(at, _)| {
            let rest = &watch[at + "spawn::<".len()..];
            &rest[..rest.find('>').unwrap()]
        })
        .filter(|ty| *ty != "W")
        .collect();
    assert!(spawned.len() >= 9, "{spawned:?}");
    for ty in &spawned {
        assert!(
            found.contains_key(*ty),
            "{ty} watched but not found declared"
        );
    }
    found.retain(|ty, _| spawned.contains(&ty.as_str()));
    found
}

/// The (group, plural) the Kubernetes API itself gives a kind: the parse above must agree.
fn api_resource(group: &str, plural: &str) -> bool {
    use k8s_openapi::Resource;
    let known = [
        (
            k8s_openapi::api::core::v1::Pod::GROUP,
            k8s_openapi::api::core::v1::Pod::URL_PATH_SEGMENT,
        ),
        (
            k8s_openapi::api::core::v1::Node::GROUP,
            k8s_openapi::api::core::v1::Node::URL_PATH_SEGMENT,
        ),
        (Service::GROUP, Service::URL_PATH_SEGMENT),
        (Namespace::GROUP, Namespace::URL_PATH_SEGMENT),
        (
            k8s_openapi::api::core::v1::Endpoints::GROUP,
            k8s_openapi::api::core::v1::Endpoints::URL_PATH_SEGMENT,
        ),
        (
            k8s_openapi::api::discovery::v1::EndpointSlice::GROUP,
            k8s_openapi::api::discovery::v1::EndpointSlice::URL_PATH_SEGMENT,
        ),
        (
            k8s_openapi::api::networking::v1::Ingress::GROUP,
            k8s_openapi::api::networking::v1::Ingress::URL_PATH_SEGMENT,
        ),
        (
            k8s_openapi::api::apps::v1::ReplicaSet::GROUP,
            k8s_openapi::api::apps::v1::ReplicaSet::URL_PATH_SEGMENT,
        ),
        (
            k8s_openapi::api::batch::v1::Job::GROUP,
            k8s_openapi::api::batch::v1::Job::URL_PATH_SEGMENT,
        ),
    ];
    known.contains(&(group, plural))
}

#[test]
fn cluster_role_grants_every_resource_the_kubernetes_sd_watches() {
    let resources = watched_resources();
    let m = manifests();
    let role = named(&m.cluster_roles, "promsd");
    let rules = role.rules.as_deref().unwrap();
    for (ty, (group, plural)) in &resources {
        assert!(
            api_resource(group, plural),
            "{ty}: ({group:?}, {plural}) is not a Kubernetes API resource"
        );
        for verb in ["get", "list", "watch"] {
            assert!(
                rules.iter().any(|r| {
                    r.api_groups.iter().flatten().any(|g| g == group)
                        && r.resources.iter().flatten().any(|p| p == plural)
                        && r.verbs.iter().any(|v| v == verb)
                }),
                "ClusterRole promsd does not grant {verb} on {plural} ({group:?}), which {ty} watches"
            );
        }
    }
    // Read-only, and nothing beyond what the code watches.
    for r in rules {
        assert!(r
            .verbs
            .iter()
            .all(|v| ["get", "list", "watch"].contains(&v.as_str())));
        for g in r.api_groups.iter().flatten() {
            for p in r.resources.iter().flatten() {
                assert!(
                    resources.values().any(|(rg, rp)| rg == g && rp == p),
                    "ClusterRole grants {p} ({g:?}), which promsd never watches"
                );
            }
        }
    }
    // Bound to promsd's service account, which the Deployment runs as.
    let binding = named(&m.bindings, "promsd");
    assert_eq!(binding.role_ref.kind, "ClusterRole");
    assert_eq!(binding.role_ref.name, "promsd");
    let subject = &binding.subjects.as_ref().unwrap()[0];
    let account = named(&m.service_accounts, &subject.name);
    assert_eq!(subject.namespace, account.metadata.namespace);
    let deployment = named(&m.deployments, "promsd");
    let pod = deployment.spec.template.spec.as_ref().unwrap();
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some(subject.name.as_str())
    );
}

#[test]
fn deployment_runs_promsd_as_documented() {
    let m = manifests();
    let deployment = named(&m.deployments, "promsd");
    let spec = &deployment.spec;
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.as_ref().unwrap();
    let pod_security = pod.security_context.as_ref().unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_ne!(pod_security.run_as_user, Some(0));
    let container = &pod.containers[0];
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    let resources = container.resources.as_ref().unwrap();
    assert!(resources.requests.as_ref().unwrap().contains_key("memory"));
    assert!(resources.limits.as_ref().unwrap().contains_key("memory"));
    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .clone()
            .unwrap()
    };
    assert_eq!(probe_path(&container.readiness_probe), "/-/ready");
    assert_eq!(probe_path(&container.liveness_probe), "/-/healthy");

    // The arguments are ones `promsd run` accepts (its own parser), the port is the one served.
    let args = container.args.as_ref().unwrap();
    let mut argv = vec!["promsd", "run"];
    argv.extend(args.iter().map(String::as_str));
    let cli =
        <promsd::cli::Cli as clap::Parser>::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    let Some(promsd::cli::Command::Run(run)) = cli.command else {
        panic!("not run")
    };
    assert!(run.listen_address.ends_with(":9099"));
    let ports = container.ports.as_ref().unwrap();
    assert_eq!(ports[0].container_port, 9099);
    let service = named(&m.services, "promsd");
    let service_port = &service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0];
    assert_eq!(
        service_port.target_port,
        Some(
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(
                ports[0].name.clone().unwrap()
            )
        )
    );
    assert_eq!(
        service.spec.as_ref().unwrap().selector,
        spec.selector.match_labels
    );
    // What promsd writes (the state file) is on a writable volume, the config on the ConfigMap.
    let mounts = container.volume_mounts.as_ref().unwrap();
    let mount_of = |path: &Path| {
        mounts
            .iter()
            .filter(|m| path.starts_with(&m.mount_path))
            .max_by_key(|m| m.mount_path.len())
            .unwrap_or_else(|| panic!("{} is on no volume", path.display()))
    };
    let state = mount_of(run.state_file.as_deref().unwrap());
    assert_ne!(state.read_only, Some(true));
    let config_mount = mount_of(&run.config_file);
    let volume = pod
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == config_mount.name)
        .unwrap();
    let config_map = named(&m.config_maps, &volume.config_map.as_ref().unwrap().name);
    let key = run
        .config_file
        .strip_prefix(&config_mount.mount_path)
        .unwrap();
    let yaml = &config_map.data.as_ref().unwrap()[key.to_str().unwrap()];

    // The example config loads in promsd as it would in the pod.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(promsd_bin())
        .args(["check", "config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // kustomization.yaml lists every promsd manifest (the shards example is separate).
    let kustomization: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(kube_dir().join("kustomization.yaml")).unwrap(),
    )
    .unwrap();
    let listed: Vec<&str> = kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut files: Vec<&str> = m.files.values().map(String::as_str).collect();
    files.sort();
    files.dedup();
    files.retain(|f| *f != "prometheus-shards.yaml");
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, files);
}

#[test]
fn prometheus_shards_each_read_their_shard_of_every_job() {
    let m = manifests();
    let set = named(&m.stateful_sets, "prometheus-shard");
    let shards = set.spec.replicas.unwrap();
    assert!(shards > 1);
    let promsd_jobs: Vec<String> = {
        let data = named(&m.config_maps, "promsd-config").data.clone().unwrap();
        let config: serde_yaml::Value = serde_yaml::from_str(&data["prometheus.yml"]).unwrap();
        config["scrape_configs"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|j| j["job_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let data = named(&m.config_maps, "prometheus-shards")
        .data
        .clone()
        .unwrap();
    let keys: Vec<String> = data.keys().cloned().collect();
    let expected: Vec<String> = (0..shards)
        .map(|i| format!("prometheus-shard-{i}.yml"))
        .collect();
    assert_eq!(keys, expected, "one config per StatefulSet pod");
    // job -> the shard indexes that read it.
    let mut coverage: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..shards {
        let yaml = &data[&format!("prometheus-shard-{i}.yml")];
        let config: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        for job in config["scrape_configs"].as_sequence().unwrap() {
            for sd in job["http_sd_configs"].as_sequence().unwrap() {
                let url = url::Url::parse(sd["url"].as_str().unwrap()).unwrap();
                let promsd_job = url.path().strip_prefix("/api/v1/sd/").unwrap();
                assert!(promsd_jobs.iter().any(|j| j == promsd_job), "{url}");
                let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
                if query.is_empty() {
                    continue; // unsharded (promsd's own job, on shard 0)
                }
                assert_eq!(query["shards"], shards.to_string(), "{url}");
                assert_eq!(query["shard"], i.to_string(), "{url}");
                coverage.entry(promsd_job.to_owned()).or_default().push(i);
            }
        }
        // Each shard's config loads in Prometheus' own checker.
        let file = dir.path().join(format!("shard-{i}.yml"));
        std::fs::write(&file, yaml).unwrap();
        let out = Command::new("promtool")
            .args(["check", "config", "--syntax-only", file.to_str().unwrap()])
            .output()
            .expect("promtool (Debian package prometheus) is needed");
        assert!(out.status.success(), "{out:?}");
    }
    assert!(!coverage.is_empty());
    for (job, indexes) in coverage {
        assert_eq!(indexes, (0..shards).collect::<Vec<_>>(), "{job}");
    }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile. No image can be built here (no registry is reachable), so: its final stage's
// shape, and the binary it ships running as that stage's user.

/// The Dockerfile's instructions of its last stage, continuation lines joined.
fn final_stage() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap();
            (op.to_uppercase(), rest.trim().to_owned())
        })
        .collect();
    let stages = instructions.iter().filter(|(op, _)| op == "FROM").count();
    assert!(stages >= 2, "multi-stage");
    let last = instructions
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .unwrap();
    instructions[last..].to_vec()
}

#[test]
fn dockerfile_ships_promsd_run_as_a_non_root_user() {
    let stage = final_stage();
    let get = |op: &str| -> Vec<&str> {
        stage
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let user = get("USER")
        .last()
        .copied()
        .expect("USER in the final stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric USER");
    assert_ne!(uid, 0);
    let entrypoint: Vec<String> = serde_json::from_str(get("ENTRYPOINT")[0]).unwrap();
    assert_eq!(entrypoint, ["promsd", "run"]);
    assert_eq!(get("EXPOSE"), ["9099"]);
    let cmd: Vec<String> = serde_json::from_str(get("CMD")[0]).unwrap();
    let mut argv = entrypoint.clone();
    argv.extend(cmd);
    let cli =
        <promsd::cli::Cli as clap::Parser>::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    let Some(promsd::cli::Command::Run(run)) = cli.command else {
        panic!("not run")
    };
    assert_eq!(run.listen_address, ":9099");
    // The binary lands on PATH, the default config where CMD points, copied from files that exist.
    let copies = get("COPY");
    assert!(copies
        .iter()
        .any(|c| c.starts_with("--from=") && c.ends_with(" /usr/local/bin/promsd")));
    let config = run.config_file.to_str().unwrap();
    let source = copies
        .iter()
        .find_map(|c| c.strip_suffix(&format!(" {config}")))
        .expect("the config CMD names is copied in");
    let source = source.split_whitespace().last().unwrap();
    assert!(root().join(source).is_file(), "{source}");

    // The binary runs as that user: from a directory it can read, with a config it can read.
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("promsd");
    std::fs::copy(promsd_bin(), &bin).unwrap();
    let config_file = dir.path().join("prometheus.yml");
    std::fs::copy(root().join(source), &config_file).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args: Vec<String> = Vec::new();
    // SAFETY: getuid has no preconditions.
    let root_user = unsafe { libc::getuid() } == 0;
    let program = if root_user {
        args.extend([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".to_owned(),
            bin.to_str().unwrap().to_owned(),
        ]);
        "setpriv".to_owned()
    } else {
        bin.to_str().unwrap().to_owned()
    };
    args.extend(
        [
            "run",
            "--config.file",
            config_file.to_str().unwrap(),
            "--web.listen-address",
            &listen,
        ]
        .map(str::to_owned),
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let process = Process::start("promsd-nonroot", &program, &argv, dir.path());
    wait_for("promsd running as a non-root user", || {
        get_ok(port, "/-/healthy").map(|_| ())
    });
    // setpriv execs promsd: the child's PID is promsd's.
    let uid_of = std::fs::read_to_string(format!("/proc/{}/status", process.pid()))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")
                .map(|u| u.split_whitespace().next().unwrap().to_owned())
        })
        .unwrap();
    if root_user {
        assert_eq!(uid_of, uid.to_string());
    }
    assert!(get_ok(port, "/metrics")
        .unwrap()
        .contains("promsd_build_info"));
}

// ---------------------------------------------------------------------------------------------
// systemd unit (deploy/systemd/promsd.service).

/// The unit's `[Section]` -> (key, value) entries, continuation lines joined.
fn unit_entries(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut section = String::new();
    let joined = text.replace("\\\n", " ");
    for line in joined.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("{line}"));
        sections
            .entry(section.clone())
            .or_default()
            .push((key.trim().to_owned(), value.trim().to_owned()));
    }
    sections
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let path = root().join("deploy/systemd/promsd.service");
    let text = std::fs::read_to_string(&path).unwrap();
    let sections = unit_entries(&text);
    let service = &sections["Service"];
    let get = |key: &str| -> &str {
        service
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key}"))
    };
    assert_eq!(get("DynamicUser"), "yes");
    assert_eq!(get("ProtectSystem"), "strict");
    assert_eq!(get("NoNewPrivileges"), "yes");
    assert_eq!(get("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert!(sections["Install"].iter().any(|(k, _)| k == "WantedBy"));
    // ExecStart is a `promsd run` promsd accepts; what it writes is in its StateDirectory, the
    // config in its ConfigurationDirectory (the only paths ProtectSystem=strict leaves it).
    let exec: Vec<String> = get("ExecStart")
        .replace(
            "${CONFIGURATION_DIRECTORY}",
            &format!("/etc/{}", get("ConfigurationDirectory")),
        )
        .replace(
            "${STATE_DIRECTORY}",
            &format!("/var/lib/{}", get("StateDirectory")),
        )
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(exec[0], "/usr/local/bin/promsd");
    let mut argv = vec!["promsd".to_owned()];
    argv.extend(exec[1..].iter().cloned());
    let cli =
        <promsd::cli::Cli as clap::Parser>::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    let Some(promsd::cli::Command::Run(run)) = cli.command else {
        panic!("not run")
    };
    assert!(run.config_file.starts_with("/etc/promsd"));
    assert!(run.state_file.unwrap().starts_with("/var/lib/promsd"));

    // systemd's own checks, with ExecStart pointing at the built binary (verify wants it to
    // exist): no warning at all, and an exposure level systemd rates "OK".
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("systemd-analyze is not installed: only the keys above were checked");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("promsd.service");
    std::fs::write(&unit, text.replace("/usr/local/bin/promsd", promsd_bin())).unwrap();
    let out = Command::new(&analyze)
        .args(["verify", unit.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "{out:?}"
    );
    let out = Command::new(&analyze)
        .args([
            "security",
            "--offline=yes",
            "--threshold=20",
            unit.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{out:?}");
    assert!(
        report.contains("Overall exposure level for promsd.service"),
        "{report}"
    );
}

/// The path of `program` on PATH.
fn which(program: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}

// ---------------------------------------------------------------------------------------------
// Monitoring mixin (deploy/mixin/): alert rules with promtool unit tests, a Grafana dashboard.

fn mixin_dir() -> PathBuf {
    root().join("deploy/mixin")
}

/// promtool (Debian package `prometheus`): required, never skipped.
fn promtool(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool is required (apt-get install prometheus; scripts/test does it)")
}

#[test]
fn mixin_alert_rules_pass_their_promtool_unit_tests() {
    let out = promtool(&["check", "rules", "alerts.yml"], &mixin_dir());
    assert!(out.status.success(), "{out:?}");
    let out = promtool(&["test", "rules", "tests.yml"], &mixin_dir());
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every alert has a unit test.
    let rules: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(mixin_dir().join("alerts.yml")).unwrap())
            .unwrap();
    let tests = std::fs::read_to_string(mixin_dir().join("tests.yml")).unwrap();
    for alert in alert_rules(&rules) {
        let name = alert["alert"].as_str().unwrap();
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "{name} has no test"
        );
    }
}

fn alert_rules(rules: &serde_yaml::Value) -> Vec<&serde_yaml::Value> {
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .collect()
}

/// The dashboard's queries: panel targets and template variable queries.
fn dashboard_queries() -> (Vec<String>, Vec<String>) {
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mixin_dir().join("dashboard.json")).unwrap())
            .unwrap();
    let exprs = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    let variables = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["type"] == "query")
        .map(|v| v["query"]["query"].as_str().unwrap().to_owned())
        .collect();
    (exprs, variables)
}

/// The metric names a PromQL expression selects: identifiers outside strings, label matchers,
/// ranges and grouping clauses that are neither functions, aggregations nor keywords.
fn metric_names(expr: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "atan2",
        "inf",
        "nan",
    ];
    // Blank out strings, {…} and […].
    let mut plain = String::new();
    let mut closer: Option<char> = None;
    let mut quote: Option<char> = None;
    for c in expr.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            plain.push(' ');
            continue;
        }
        match (closer, c) {
            (_, '"' | '\'' | '`') => {
                quote = Some(c);
                plain.push(' ');
            }
            (None, '{') => {
                closer = Some('}');
                plain.push(' ');
            }
            (None, '[') => {
                closer = Some(']');
                plain.push(' ');
            }
            (Some(end), c) if c == end => {
                closer = None;
                plain.push(' ');
            }
            (Some(_), _) => plain.push(' '),
            (None, c) => plain.push(c),
        }
    }
    let chars: Vec<char> = plain.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut skip_parens = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word.as_str())
            {
                skip_parens = true; // its (label, …) list
            } else if next != Some(&'(') && !KEYWORDS.contains(&word.to_lowercase().as_str()) {
                names.push(word);
            }
        } else if c.is_ascii_digit() || c == '.' {
            // A number (with exponent or duration suffix): not a name.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c == '(' && skip_parens {
            skip_parens = false;
            i += chars[i..].iter().position(|c| *c == ')').unwrap() + 1;
        } else {
            i += 1;
        }
    }
    names
}

/// Every sample name promsd's `/metrics` can expose, from its `# TYPE` lines (families without
/// series yet included) and its samples.
fn exported_names(metrics: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let suffixes: &[&str] = match kind {
                "counter" => &["_total", "_created"],
                "histogram" | "gaugehistogram" => &["_bucket", "_sum", "_count", "_created"],
                "summary" => &["", "_sum", "_count", "_created"],
                "info" => &["_info"],
                _ => &[""],
            };
            for s in suffixes {
                names.insert(format!("{name}{s}"));
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap();
            names.insert(line[..end].to_owned());
        }
    }
    names
}

#[test]
fn metric_name_extraction_reads_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (le, mechanism) (rate(a_bucket{job="$job", x=~"y{1}"}[5m]))) / on(instance) group_left(version) b_info * 2e3 > bool c"#
        ),
        ["a_bucket", "b_info", "c"]
    );
    assert_eq!(
        metric_names("time() - max by (config) (x{name=\"scrape\"}) offset 1h"),
        ["x"]
    );
}

#[test]
fn every_metric_the_mixin_queries_is_one_promsd_exports() {
    let (_dir, _promsd, port) = start_static_daemon();
    let exported = exported_names(&get_ok(port, "/metrics").unwrap());
    // `up` is Prometheus' own series for every scrape target (here: promsd).
    let synthetic = ["up"];

    let rules: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(mixin_dir().join("alerts.yml")).unwrap())
            .unwrap();
    let mut queried: Vec<(String, String)> = Vec::new();
    for rule in alert_rules(&rules) {
        let expr = rule["expr"].as_str().unwrap();
        for name in metric_names(expr) {
            queried.push((
                format!("alerts.yml {}", rule["alert"].as_str().unwrap()),
                name,
            ));
        }
    }
    let (exprs, variables) = dashboard_queries();
    assert!(exprs.len() >= 10);
    for expr in &exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{expr}");
        queried.extend(names.into_iter().map(|n| (format!("dashboard: {expr}"), n)));
    }
    for query in &variables {
        let arg = query.strip_prefix("label_values(").unwrap();
        let name = &arg[..arg.find([',', '{']).unwrap()];
        queried.push((
            format!("dashboard variable: {query}"),
            name.trim().to_owned(),
        ));
    }
    for (origin, name) in &queried {
        assert!(
            exported.contains(name) || synthetic.contains(&name.as_str()),
            "{origin} queries {name}, which promsd does not export"
        );
    }

    // The dashboard's queries are valid PromQL (promtool checks them as recording rules, with
    // Grafana's variables filled in).
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$job", "promsd")
            .replace("$instance", ".*");
        file.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    std::fs::write(dir.path().join("dashboard.yml"), file).unwrap();
    let out = promtool(&["check", "rules", "dashboard.yml"], dir.path());
    assert!(out.status.success(), "{out:?}");
}
