//! MSK (`msk_sd_configs`, `aws_sd_configs` role `msk`): the brokers and controllers of
//! provisioned Kafka clusters (REST-JSON, signed as `kafka`).
//!
//! Requests as Prometheus makes them: once, `GET /api/v2/clusters` (its credential test);
//! then `GET /api/v2/clusters?clusterTypeFilter=PROVISIONED&maxResults=100` (`nextToken`
//! pages), or `GET /api/v2/clusters/<arn>` per configured cluster (non-provisioned ones
//! skipped); per cluster `GET /v1/clusters/<arn>/nodes?maxResults=100` (`nextToken` pages).
//! ARNs are one escaped path segment.
//!
//! One target per node endpoint: `__address__` `<endpoint>:<port>`, labels
//! `__meta_msk_cluster_*` (name, arn, state, type, version, kafka_version,
//! configuration_arn, configuration_revision, jmx_exporter_enabled, `tag_<key>`),
//! `__meta_msk_node_*` (type, arn, added_time, instance_type, attached_eni) and
//! `__meta_msk_broker_*` (id, client_subnet, client_vpc_ip, node_exporter_enabled,
//! endpoint_index) or `__meta_msk_controller_endpoint_index`.

use std::collections::BTreeMap;

use promsd_actors::{LabelSet, TargetGroup, ADDRESS_LABEL};
use serde::Deserialize;

use super::client::path_escape;
use super::{group, join_host_port, sanitize, RefreshFuture, Service, Session};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersResponse {
    #[serde(default)]
    pub cluster_info_list: Option<Vec<Cluster>>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClusterResponse {
    #[serde(default)]
    pub cluster_info: Option<Cluster>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    #[serde(default)]
    pub cluster_arn: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub cluster_type: Option<String>,
    #[serde(default)]
    pub current_version: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub provisioned: Option<Provisioned>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    #[serde(default)]
    pub current_broker_software_info: Option<SoftwareInfo>,
    #[serde(default)]
    pub open_monitoring: Option<OpenMonitoring>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareInfo {
    #[serde(default)]
    pub configuration_arn: Option<String>,
    #[serde(default)]
    pub configuration_revision: Option<i64>,
    #[serde(default)]
    pub kafka_version: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct OpenMonitoring {
    #[serde(default)]
    pub prometheus: Option<PrometheusInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusInfo {
    #[serde(default)]
    pub jmx_exporter: Option<Exporter>,
    #[serde(default)]
    pub node_exporter: Option<Exporter>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exporter {
    #[serde(default)]
    pub enabled_in_broker: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListNodesResponse {
    #[serde(default)]
    pub node_info_list: Option<Vec<NodeInfo>>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct NodeInfo {
    #[serde(rename = "addedToClusterTime", default)]
    pub added_to_cluster_time: Option<String>,
    #[serde(rename = "brokerNodeInfo", default)]
    pub broker_node_info: Option<BrokerNodeInfo>,
    #[serde(rename = "controllerNodeInfo", default)]
    pub controller_node_info: Option<ControllerNodeInfo>,
    #[serde(rename = "instanceType", default)]
    pub instance_type: Option<String>,
    #[serde(rename = "nodeARN", default)]
    pub node_arn: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct BrokerNodeInfo {
    #[serde(rename = "attachedENIId", default)]
    pub attached_eni_id: Option<String>,
    #[serde(rename = "brokerId", default)]
    pub broker_id: Option<f64>,
    #[serde(rename = "clientSubnet", default)]
    pub client_subnet: Option<String>,
    #[serde(rename = "clientVpcIpAddress", default)]
    pub client_vpc_ip_address: Option<String>,
    #[serde(default)]
    pub endpoints: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ControllerNodeInfo {
    #[serde(default)]
    pub endpoints: Option<Vec<String>>,
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The targets of one cluster's nodes (Prometheus' per-cluster goroutine).
pub fn targets(cluster: &Cluster, nodes: &[NodeInfo], port: i64, out: &mut Vec<LabelSet>) {
    let software = cluster
        .provisioned
        .as_ref()
        .and_then(|p| p.current_broker_software_info.clone())
        .unwrap_or_default();
    let prometheus = cluster
        .provisioned
        .as_ref()
        .and_then(|p| p.open_monitoring.as_ref())
        .and_then(|o| o.prometheus.clone());
    for node in nodes {
        let mut l: Vec<(String, String)> = vec![
            ("__meta_msk_cluster_name".into(), s(&cluster.cluster_name)),
            ("__meta_msk_cluster_arn".into(), s(&cluster.cluster_arn)),
            ("__meta_msk_cluster_state".into(), s(&cluster.state)),
            ("__meta_msk_cluster_type".into(), s(&cluster.cluster_type)),
            (
                "__meta_msk_cluster_version".into(),
                s(&cluster.current_version),
            ),
            ("__meta_msk_node_arn".into(), s(&node.node_arn)),
            (
                "__meta_msk_node_added_time".into(),
                s(&node.added_to_cluster_time),
            ),
            (
                "__meta_msk_node_instance_type".into(),
                s(&node.instance_type),
            ),
            (
                "__meta_msk_cluster_kafka_version".into(),
                s(&software.kafka_version),
            ),
        ];
        if let Some(arn) = &software.configuration_arn {
            l.push(("__meta_msk_cluster_configuration_arn".into(), arn.clone()));
        }
        if let Some(rev) = software.configuration_revision {
            l.push((
                "__meta_msk_cluster_configuration_revision".into(),
                rev.to_string(),
            ));
        }
        if let Some(jmx) = prometheus.as_ref().and_then(|p| p.jmx_exporter.as_ref()) {
            l.push((
                "__meta_msk_cluster_jmx_exporter_enabled".into(),
                jmx.enabled_in_broker.unwrap_or(false).to_string(),
            ));
        }
        for (k, v) in cluster.tags.iter().flatten() {
            l.push((format!("__meta_msk_cluster_tag_{}", sanitize(k)), v.clone()));
        }
        let (index_label, endpoints) = if let Some(broker) = &node.broker_node_info {
            l.push(("__meta_msk_node_type".into(), "BROKER".into()));
            l.push((
                "__meta_msk_node_attached_eni".into(),
                s(&broker.attached_eni_id),
            ));
            l.push((
                "__meta_msk_broker_id".into(),
                format!("{:.0}", broker.broker_id.unwrap_or(0.0)),
            ));
            l.push((
                "__meta_msk_broker_client_subnet".into(),
                s(&broker.client_subnet),
            ));
            l.push((
                "__meta_msk_broker_client_vpc_ip".into(),
                s(&broker.client_vpc_ip_address),
            ));
            if let Some(ne) = prometheus.as_ref().and_then(|p| p.node_exporter.as_ref()) {
                l.push((
                    "__meta_msk_broker_node_exporter_enabled".into(),
                    ne.enabled_in_broker.unwrap_or(false).to_string(),
                ));
            }
            (
                "__meta_msk_broker_endpoint_index",
                broker.endpoints.clone().unwrap_or_default(),
            )
        } else if let Some(controller) = &node.controller_node_info {
            l.push(("__meta_msk_node_type".into(), "CONTROLLER".into()));
            (
                "__meta_msk_controller_endpoint_index",
                controller.endpoints.clone().unwrap_or_default(),
            )
        } else {
            continue;
        };
        for (i, endpoint) in endpoints.iter().enumerate() {
            let mut e = l.clone();
            e.push((index_label.into(), i.to_string()));
            e.push((ADDRESS_LABEL.into(), join_host_port(endpoint, port)));
            out.push(LabelSet::from_pairs(e));
        }
    }
}

pub struct Msk {
    client: super::client::ServiceClient,
    tested: bool,
}

impl Msk {
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, String> {
        let body = self
            .client
            .rest_get(path, query)
            .await
            .map_err(|e| format!("operation error Kafka: {operation}, {e}"))?;
        serde_json::from_slice(&body)
            .map_err(|e| format!("operation error Kafka: {operation}, decoding the answer: {e}"))
    }

    async fn pass(&mut self, session: &Session) -> Result<Vec<TargetGroup>, String> {
        if !self.tested {
            self.tested = true;
            self.get::<ListClustersResponse>("ListClustersV2", "/api/v2/clusters", &[])
                .await
                .map_err(|e| format!("MSK credential test failed: {e}"))?;
        }
        let mut clusters: Vec<Cluster> = Vec::new();
        if session.settings.clusters.is_empty() {
            let mut token: Option<String> = None;
            loop {
                let mut q = vec![
                    ("clusterTypeFilter", "PROVISIONED".to_owned()),
                    ("maxResults", "100".to_owned()),
                ];
                if let Some(t) = &token {
                    q.push(("nextToken", t.clone()));
                }
                let page: ListClustersResponse = self
                    .get("ListClustersV2", "/api/v2/clusters", &q)
                    .await
                    .map_err(|e| format!("could not list clusters: {e}"))?;
                clusters.extend(page.cluster_info_list.unwrap_or_default());
                match page.next_token.filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        } else {
            for arn in &session.settings.clusters {
                let answer: DescribeClusterResponse = self
                    .get(
                        "DescribeClusterV2",
                        &format!("/api/v2/clusters/{}", path_escape(arn)),
                        &[],
                    )
                    .await
                    .map_err(|e| format!("could not describe cluster {arn}: {e}"))?;
                let cluster = answer.cluster_info.unwrap_or_default();
                if cluster.cluster_type.as_deref() != Some("PROVISIONED") {
                    tracing::warn!(cluster = %arn, r#type = ?cluster.cluster_type, "Skipping non-provisioned MSK cluster, only provisioned clusters are supported");
                    continue;
                }
                clusters.push(cluster);
            }
        }
        let mut found = Vec::new();
        for cluster in &clusters {
            let arn = s(&cluster.cluster_arn);
            let mut nodes = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut q = vec![("maxResults", "100".to_owned())];
                if let Some(t) = &token {
                    q.push(("nextToken", t.clone()));
                }
                let page: ListNodesResponse = self
                    .get(
                        "ListNodes",
                        &format!("/v1/clusters/{}/nodes", path_escape(&arn)),
                        &q,
                    )
                    .await
                    .map_err(|e| format!("could not list nodes for cluster {arn}: {e}"))?;
                nodes.extend(page.node_info_list.unwrap_or_default());
                match page.next_token.filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            targets(cluster, &nodes, session.settings.port, &mut found);
        }
        Ok(vec![group(&session.region, found)])
    }
}

impl Service for Msk {
    fn new(session: &Session) -> Self {
        Msk {
            client: session.service("kafka", "kafka"),
            tested: false,
        }
    }

    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(self.pass(session))
    }
}
