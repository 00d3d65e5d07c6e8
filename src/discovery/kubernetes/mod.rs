//! Kubernetes SD (`kubernetes_sd_configs`): targets from the Kubernetes API, kept up to date by
//! list + watch, with Prometheus' roles, labels and validation.
//!
//! # Layout
//! - `mod.rs`: the config, its validation (Prometheus' messages) and registration glue.
//! - `client`: how to reach the API server (`api_server` + HTTP settings, `kubeconfig_file`,
//!   in-cluster service account) and the runtime thread every watch runs on.
//! - `objects`: what is kept of each Kubernetes object: only the fields the labels need,
//!   decoded straight from the API's JSON (the rest is skipped while parsing).
//! - `watch`: one list + watch per (API server and credentials, resource, namespace, selectors),
//!   shared by every SD config of the process that needs it, stopped with its last subscriber.
//! - `discoverer`: one role's discovery: subscribes to the watches it needs, rebuilds the groups
//!   an event affects, sends full states after (re)lists and only changed groups otherwise.
//! - `labels`: the label-building helpers all roles share (meta labels, sanitizing).
//! - `pod`, `node`, `service`, `endpoints`, `endpointslice`, `ingress`: one file per role, as in
//!   Prometheus' `discovery/kubernetes`.
//!
//! # Where promsd differs from Prometheus
//! - Watches are shared across SD configs (roles pod and endpoints read the same pod watch; two
//!   jobs with role pod and the same namespaces share one); Prometheus opens informers per config.
//! - A full state is sent after the initial list and after every relist, so objects deleted while
//!   a watch was down are removed; in between only the groups an event changed are sent.
//! - Endpoints and endpointslice groups are rebuilt when a pod they reference changes (Prometheus
//!   rebuilds endpoints only on a pod phase change, endpointslices never), and when a service
//!   they belong to changes, so pod and service labels are never stale.
//! - Object updates that change nothing the labels read (status heartbeats, resource versions)
//!   are dropped at the watch and reach no role.
//! - JSON, not protobuf, is requested from the API server.
//! - `attach_metadata.job` alone watches no Jobs (the job name is the pod's owner); only
//!   `cronjob` does, to find the Job's CronJob.
//! - Events are counted in `prometheus_sd_kubernetes_events_total` for the role's own resource
//!   only; `prometheus_sd_kubernetes_failures_total` counts each shared watch's failures once.

use std::fmt;
use std::path::{Path, PathBuf};

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Deserializer, Serialize};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;

pub mod client;
mod discoverer;
mod endpoints;
mod endpointslice;
mod ingress;
mod labels;
pub mod metrics;
mod node;
pub mod objects;
mod pod;
pub mod selector;
mod service;
pub mod watch;

pub use metrics::register_metrics;

/// What a Kubernetes SD config discovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Pod => "pod",
            Role::Service => "service",
            Role::Endpoints => "endpoints",
            Role::EndpointSlice => "endpointslice",
            Role::Ingress => "ingress",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "node" => Role::Node,
            "pod" => Role::Pod,
            "service" => Role::Service,
            "endpoints" => Role::Endpoints,
            "endpointslice" => Role::EndpointSlice,
            "ingress" => Role::Ingress,
            _ => return None,
        })
    }

    /// The selector roles a config of this role accepts (Prometheus' `allowedSelectors`).
    fn allowed_selectors(self) -> &'static [Role] {
        match self {
            Role::Pod => &[Role::Pod, Role::Node],
            Role::Service => &[Role::Service],
            Role::EndpointSlice => &[Role::Pod, Role::Service, Role::EndpointSlice],
            Role::Endpoints => &[Role::Pod, Role::Service, Role::Endpoints],
            Role::Node => &[Role::Node],
            Role::Ingress => &[Role::Ingress],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A role as written: Prometheus rejects unknown roles when it reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RoleName(Option<Role>);

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        if s.is_empty() {
            return Ok(RoleName(None));
        }
        Role::parse(&s)
            .map(|r| RoleName(Some(r)))
            .ok_or_else(|| serde::de::Error::custom(format!("unknown Kubernetes SD role {s:?}")))
    }
}

/// `namespaces`: which namespaces to watch (all when empty and not `own_namespace`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NamespaceDiscovery {
    pub own_namespace: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub names: Vec<String>,
}

/// One `selectors` entry: a label and a field selector for the objects of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelectorConfig {
    /// `None` when the key was left out (which no role allows, as in Prometheus).
    pub role: Option<Role>,
    pub label: String,
    pub field: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    #[serde(default)]
    role: Option<RoleName>,
    #[serde(default, deserialize_with = "null_as_default")]
    label: String,
    #[serde(default, deserialize_with = "null_as_default")]
    field: String,
}

impl<'de> Deserialize<'de> for SelectorConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawSelector::deserialize(d)?;
        Ok(SelectorConfig {
            role: raw.role.and_then(|r| r.0),
            label: raw.label,
            field: raw.field,
        })
    }
}

/// `attach_metadata`: labels of the node and namespace (and owners) of each target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachMetadata {
    /// Node labels on pod, endpoints and endpointslice targets.
    pub node: bool,
    /// Namespace labels on every role but node.
    pub namespace: bool,
    /// `__meta_kubernetes_pod_deployment_name` (watches ReplicaSets).
    pub deployment: bool,
    /// `__meta_kubernetes_pod_job_name`.
    pub job: bool,
    /// `__meta_kubernetes_pod_cronjob_name` (watches Jobs).
    pub cronjob: bool,
}

/// One `kubernetes_sd_configs` entry, validated.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawKubernetesSdConfig")]
pub struct KubernetesSdConfig {
    /// The API server URL as written; `None` means kubeconfig or in-cluster.
    pub api_server: Option<String>,
    pub role: Role,
    /// Path to a kubeconfig file (its current context is used).
    pub kubeconfig_file: Option<PathBuf>,
    /// The inline `<http_config>` keys.
    pub http: HttpClientConfig,
    pub namespaces: NamespaceDiscovery,
    pub selectors: Vec<SelectorConfig>,
    pub attach_metadata: AttachMetadata,
}

impl fmt::Debug for KubernetesSdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets print as `<secret>` through `Secret`'s own Debug.
        f.debug_struct("KubernetesSdConfig")
            .field("api_server", &self.api_server)
            .field("role", &self.role)
            .field("kubeconfig_file", &self.kubeconfig_file)
            .field("http", &self.http)
            .field("namespaces", &self.namespaces)
            .field("selectors", &self.selectors)
            .field("attach_metadata", &self.attach_metadata)
            .finish()
    }
}

/// The config as written. Missing keys take Prometheus' defaults; `null` takes Go's zero value.
/// The `<http_config>` keys are read inline into `http_client_config`.
#[derive(Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
struct RawKubernetesSdConfig {
    #[serde(default)]
    api_server: Option<String>,
    #[serde(default)]
    role: Option<RoleName>,
    #[serde(default, deserialize_with = "null_as_default")]
    kubeconfig_file: String,
    #[serde(default, deserialize_with = "null_as_default")]
    namespaces: NamespaceDiscovery,
    #[serde(default, deserialize_with = "null_as_default")]
    selectors: Vec<SelectorConfig>,
    #[serde(default, deserialize_with = "null_as_default")]
    attach_metadata: AttachMetadata,
    #[serde(skip)]
    http_client_config: HttpClientConfig,
}

crate::inline_struct!(RawKubernetesSdConfig, http_client_config: HttpClientConfig);

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl TryFrom<RawKubernetesSdConfig> for KubernetesSdConfig {
    type Error = String;

    /// Prometheus' `SDConfig.UnmarshalYAML`, check by check and message by message.
    fn try_from(raw: RawKubernetesSdConfig) -> Result<Self, String> {
        let Some(role) = raw.role.and_then(|r| r.0) else {
            return Err(
                "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"
                    .into(),
            );
        };
        let mut http = raw.http_client_config;
        http.validate().map_err(|e| e.to_string())?;
        let default_http = http == HttpClientConfig::default();
        if let Some(url) = &raw.api_server {
            if url.starts_with(':') {
                return Err(format!("parse {url:?}: missing protocol scheme"));
            }
        }
        let kubeconfig = !raw.kubeconfig_file.is_empty();
        if raw.api_server.is_some() && kubeconfig {
            return Err("cannot use 'kubeconfig_file' and 'api_server' simultaneously".into());
        }
        if kubeconfig && !default_http {
            return Err(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"
                    .into(),
            );
        }
        if raw.api_server.is_none() && !default_http {
            return Err("to use custom HTTP client configuration please provide the 'api_server' URL explicitly".into());
        }
        if raw.api_server.is_some() && raw.namespaces.own_namespace {
            return Err(
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        if kubeconfig && raw.namespaces.own_namespace {
            return Err(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        let mut seen: Vec<Option<Role>> = Vec::new();
        for selector in &raw.selectors {
            if seen.contains(&selector.role) {
                return Err(format!(
                    "duplicated selector role: {}",
                    selector.role.map(Role::as_str).unwrap_or("")
                ));
            }
            seen.push(selector.role);
            let allowed = role.allowed_selectors();
            if !selector.role.is_some_and(|r| allowed.contains(&r)) {
                let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                return Err(format!(
                    "{role} role supports only {} selectors",
                    names.join(", ")
                ));
            }
            selector::check_field_selector(&selector.field)?;
            selector::check_label_selector(&selector.label)?;
        }
        Ok(KubernetesSdConfig {
            api_server: raw.api_server,
            role,
            kubeconfig_file: kubeconfig.then(|| PathBuf::from(raw.kubeconfig_file)),
            http,
            namespaces: raw.namespaces,
            selectors: raw.selectors,
            attach_metadata: raw.attach_metadata,
        })
    }
}

impl KubernetesSdConfig {
    /// The label and field selectors configured for objects of `role` (empty when none).
    pub fn selector(&self, role: Role) -> (&str, &str) {
        self.selectors
            .iter()
            .find(|s| s.role == Some(role))
            .map(|s| (s.label.as_str(), s.field.as_str()))
            .unwrap_or(("", ""))
    }

    /// How to reach the API server: the part of the config every watch of the same server and
    /// credentials shares.
    pub fn client_spec(&self) -> client::ClientSpec {
        client::ClientSpec {
            api_server: self.api_server.clone(),
            kubeconfig_file: self.kubeconfig_file.clone(),
            http: self.http.clone(),
        }
    }
}

impl DiscoveryConfig for KubernetesSdConfig {
    fn mechanism(&self) -> &'static str {
        "kubernetes"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        discoverer::build(self, ctx)
    }
}

impl SdConfig for KubernetesSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        if let Some(p) = &mut self.kubeconfig_file {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        self.http.resolve_paths(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<KubernetesSdConfig, String> {
        serde_yaml::from_str::<KubernetesSdConfig>(yaml).map_err(|e| e.to_string())
    }

    fn err(yaml: &str) -> String {
        parse(yaml).unwrap_err()
    }

    #[test]
    fn reads_every_key() {
        let c = parse(
            "role: endpoints\napi_server: https://k8s:6443\nbearer_token: t\n\
             tls_config: {insecure_skip_verify: true}\n\
             namespaces: {names: [a, b]}\n\
             selectors: [{role: pod, label: 'app=x', field: 'spec.nodeName=n'}]\n\
             attach_metadata: {node: true, namespace: true}\n",
        )
        .unwrap();
        assert_eq!(c.role, Role::Endpoints);
        assert_eq!(c.api_server.as_deref(), Some("https://k8s:6443"));
        assert_eq!(c.namespaces.names, ["a", "b"]);
        assert_eq!(c.selector(Role::Pod), ("app=x", "spec.nodeName=n"));
        assert_eq!(c.selector(Role::Service), ("", ""));
        assert!(c.attach_metadata.node && c.attach_metadata.namespace);
        assert!(c.http.tls_config.insecure_skip_verify);
    }

    /// Prometheus' own bad configs (`config/testdata/kubernetes_*.bad.yml`) and their messages.
    #[test]
    fn validation_messages_are_prometheus_own() {
        let cases = [
            ("role: pod\nauthorization: {credentials: '1234'}\n",
             "to use custom HTTP client configuration please provide the 'api_server' URL explicitly"),
            ("role: pod\nkubeconfig_file: /k\nnamespaces: {own_namespace: true}\n",
             "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously"),
            ("role: pod\napi_server: 'https://k'\nnamespaces: {own_namespace: true}\n",
             "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously"),
            ("role: pod\napi_server: 'https://k'\nkubeconfig_file: /k\n",
             "cannot use 'kubeconfig_file' and 'api_server' simultaneously"),
            ("role: pod\nkubeconfig_file: /k\nbasic_auth: {username: u}\n",
             "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"),
            ("role: node\napi_server: 'https://k'\nbearer_token: a\nbearer_token_file: b\n",
             "at most one of bearer_token & bearer_token_file must be configured"),
            ("role: node\napi_server: 'https://k'\nbearer_token: a\nbasic_auth: {username: u}\n",
             "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"),
            ("role: endpoints\nselectors: [{role: node, label: 'foo=bar'}]\n",
             "endpoints role supports only pod, service, endpoints selectors"),
            ("role: ingress\nselectors: [{role: node}]\n", "ingress role supports only ingress selectors"),
            ("role: node\nselectors: [{role: pod}]\n", "node role supports only node selectors"),
            ("role: pod\nselectors: [{role: node}, {role: service}]\n",
             "pod role supports only pod, node selectors"),
            ("role: service\nselectors: [{role: pod}]\n", "service role supports only service selectors"),
            ("role: endpoints\nselectors: [{role: pod, label: 'foo=bar'}, {role: pod}]\n",
             "duplicated selector role: pod"),
            ("role: endpoints\nselectors: [{role: pod, field: 'metadata.status-Running'}]\n",
             "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'"),
            ("api_server: 'kubernetes:443'\n", "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"),
        ];
        for (yaml, message) in cases {
            let e = err(yaml);
            assert!(e.contains(message), "{yaml}: got {e:?}, want {message:?}");
        }
        assert!(err("role: vacation\n").contains(r#"unknown Kubernetes SD role "vacation""#));
        assert!(err("role: pod\nnamespaces: {foo: bar}\n").contains("unknown field `foo`"));
        // Prometheus' good configs.
        parse("role: endpoints\n").unwrap();
        parse("role: endpoints\nkubeconfig_file: /user1/.kube/config\n").unwrap();
        parse("role: pod\nselectors: [{role: pod, label: 'foo in (bar,baz)', field: 'metadata.status=Running'}]\n").unwrap();
        parse("role: endpoints\napi_server: 'kubernetes:443'\n").unwrap();
    }

    #[test]
    fn identity_includes_secrets_but_debug_does_not() {
        let a = parse("role: pod\napi_server: 'https://k'\nbearer_token: hunter-one\n").unwrap();
        let b = parse("role: pod\napi_server: 'https://k'\nbearer_token: hunter-two\n").unwrap();
        assert_ne!(a.identity(), b.identity());
        assert!(!format!("{a:?}").contains("hunter"));
        assert_eq!(a.identity(), a.clone().identity());
    }

    #[test]
    fn relative_paths_join_the_config_directory() {
        let mut c = parse("role: pod\nkubeconfig_file: kube/config\n").unwrap();
        c.resolve_paths(Path::new("/etc/prometheus"));
        assert_eq!(
            c.kubeconfig_file.as_deref(),
            Some(Path::new("/etc/prometheus/kube/config"))
        );
        let mut c =
            parse("role: pod\napi_server: 'https://k'\ntls_config: {ca_file: ca.pem}\n").unwrap();
        c.resolve_paths(Path::new("/etc/prometheus"));
        assert_eq!(c.http.tls_config.ca_file, "/etc/prometheus/ca.pem");
    }
}
