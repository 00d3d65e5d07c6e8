//! The targets Prometheus makes of Uyuni's answers: one per monitoring endpoint, all in one
//! group whose source is the API URL, with `__address__` `<hostname>:<port>` and
//! `__meta_uyuni_minion_hostname`, `_primary_fqdn`, `_system_id`, `_groups` (the system's group
//! names joined by `separator`), `_endpoint_name`, `_exporter`, `_proxy_module`,
//! `_metrics_path` and `_scheme` (`https` when the endpoint has TLS, else `http`).

use std::collections::HashMap;

use promsd_actors::{LabelSet, Name, Str, ADDRESS_LABEL};

/// `system.monitoring.listEndpoints` entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Endpoint {
    pub system_id: i64,
    pub endpoint_name: String,
    pub port: i64,
    pub path: String,
    pub module: String,
    pub exporter_name: String,
    pub tls_enabled: bool,
}

/// `system.getNetworkForSystems` entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub hostname: String,
    pub primary_fqdn: String,
}

/// One target per endpoint.
pub fn targets(
    endpoints: &[Endpoint],
    groups: &HashMap<i64, Vec<String>>,
    networks: &HashMap<i64, Network>,
    separator: &str,
) -> Vec<LabelSet> {
    let none = Network::default();
    endpoints
        .iter()
        .map(|e| {
            let network = networks.get(&e.system_id).unwrap_or(&none);
            let group_names = groups
                .get(&e.system_id)
                .map(|g| g.join(separator))
                .unwrap_or_default();
            let pairs = [
                (ADDRESS_LABEL, format!("{}:{}", network.hostname, e.port)),
                ("__meta_uyuni_minion_hostname", network.hostname.clone()),
                ("__meta_uyuni_primary_fqdn", network.primary_fqdn.clone()),
                ("__meta_uyuni_system_id", e.system_id.to_string()),
                ("__meta_uyuni_groups", group_names),
                ("__meta_uyuni_endpoint_name", e.endpoint_name.clone()),
                ("__meta_uyuni_exporter", e.exporter_name.clone()),
                ("__meta_uyuni_proxy_module", e.module.clone()),
                ("__meta_uyuni_metrics_path", e.path.clone()),
                (
                    "__meta_uyuni_scheme",
                    if e.tls_enabled { "https" } else { "http" }.to_owned(),
                ),
            ];
            LabelSet::from_labels(
                pairs
                    .into_iter()
                    .map(|(n, v)| (Name::new(n), Str::from(v)))
                    .collect(),
            )
        })
        .collect()
}
