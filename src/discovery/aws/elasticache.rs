//! ElastiCache (`elasticache_sd_configs`, `aws_sd_configs` role `elasticache`): serverless
//! caches and node-based cache clusters (Query protocol, version 2015-02-02).
//!
//! Requests as Prometheus makes them: once, DescribeCacheClusters without parameters (its
//! credential test); DescribeServerlessCaches (`MaxResults=50`, `NextToken` pages, or one call
//! per configured serverless cache with `ServerlessCacheName`); DescribeCacheClusters twice
//! (`ShowCacheClustersNotInReplicationGroups` false and true, `ShowCacheNodeInfo=true`,
//! `MaxRecords=100`, `Marker` pages, or per configured replication group with
//! `CacheClusterId`); ListTagsForResource for each ARN found. `clusters` holds ARNs:
//! `...:serverlesscache:<name>` and `...:replicationgroup:<id>`; others are skipped.
//!
//! Targets: one per serverless cache (`__meta_elasticache_deployment_option="serverless"`,
//! `__meta_elasticache_serverless_cache_*`, `__address__` its endpoint) and one per cache
//! node (`"node"`, the cluster's `__meta_elasticache_cache_cluster_*` and the node's
//! `__meta_elasticache_cache_cluster_node_*`, `__address__` the node's endpoint). A cluster
//! outside replication groups is answered by both DescribeCacheClusters calls and so listed
//! twice, as Prometheus lists it.

use promsd_actors::{LabelSet, TargetGroup, ADDRESS_LABEL};

use super::xml::{self, Node};
use super::{field_labels, group, join_host_port, sanitize, Kind, RefreshFuture, Service, Session};
use Kind::{Enum, Num, Str, Time};

pub const VERSION: &str = "2015-02-02";

type Table = &'static [(&'static str, &'static [&'static str], Kind)];

const SERVERLESS: &str = "__meta_elasticache_serverless_cache_";
const CLUSTER: &str = "__meta_elasticache_cache_cluster_";
const NODE: &str = "__meta_elasticache_cache_cluster_node_";

/// As Prometheus' constants spell them (`..._data_storagemaximum`, without an underscore).
pub const SERVERLESS_FIELDS: Table = &[
    ("arn", &["ARN"], Str),
    ("name", &["ServerlessCacheName"], Str),
    ("status", &["Status"], Str),
    ("engine", &["Engine"], Str),
    ("full_engine_version", &["FullEngineVersion"], Str),
    ("major_engine_version", &["MajorEngineVersion"], Str),
    ("description", &["Description"], Str),
    ("create_time", &["CreateTime"], Time),
    ("kms_key_id", &["KmsKeyId"], Str),
    ("user_group_id", &["UserGroupId"], Str),
    ("daily_snapshot_time", &["DailySnapshotTime"], Str),
    ("snapshot_retention_limit", &["SnapshotRetentionLimit"], Num),
    ("endpoint_address", &["Endpoint", "Address"], Str),
    ("endpoint_port", &["Endpoint", "Port"], Num),
    (
        "endpoint_reader_address",
        &["ReaderEndpoint", "Address"],
        Str,
    ),
    ("endpoint_reader_port", &["ReaderEndpoint", "Port"], Num),
    (
        "cache_usage_limit_data_storagemaximum",
        &["CacheUsageLimits", "DataStorage", "Maximum"],
        Num,
    ),
    (
        "cache_usage_limit_data_storageminimum",
        &["CacheUsageLimits", "DataStorage", "Minimum"],
        Num,
    ),
    (
        "cache_usage_limit_ecpu_per_secondmaximum",
        &["CacheUsageLimits", "ECPUPerSecond", "Maximum"],
        Num,
    ),
    (
        "cache_usage_limit_ecpu_per_secondminimum",
        &["CacheUsageLimits", "ECPUPerSecond", "Minimum"],
        Num,
    ),
];

pub const CLUSTER_FIELDS: Table = &[
    ("arn", &["ARN"], Str),
    ("cache_cluster_id", &["CacheClusterId"], Str),
    ("cache_cluster_status", &["CacheClusterStatus"], Str),
    (
        "at_rest_encryption_enabled",
        &["AtRestEncryptionEnabled"],
        Num,
    ),
    ("auth_token_enabled", &["AuthTokenEnabled"], Num),
    (
        "auth_token_last_modified",
        &["AuthTokenLastModifiedDate"],
        Time,
    ),
    (
        "auto_minor_version_upgrade",
        &["AutoMinorVersionUpgrade"],
        Num,
    ),
    (
        "cache_cluster_create_time",
        &["CacheClusterCreateTime"],
        Time,
    ),
    ("cache_node_type", &["CacheNodeType"], Str),
    (
        "cache_parameter_group",
        &["CacheParameterGroup", "CacheParameterGroupName"],
        Str,
    ),
    ("cache_subnet_group_name", &["CacheSubnetGroupName"], Str),
    (
        "client_download_landing_page",
        &["ClientDownloadLandingPage"],
        Str,
    ),
    (
        "configuration_endpoint_address",
        &["ConfigurationEndpoint", "Address"],
        Str,
    ),
    (
        "configuration_endpoint_port",
        &["ConfigurationEndpoint", "Port"],
        Num,
    ),
    ("engine", &["Engine"], Str),
    ("engine_version", &["EngineVersion"], Str),
    ("ip_discovery", &["IpDiscovery"], Enum),
    ("network_type", &["NetworkType"], Enum),
    (
        "notification_topic_arn",
        &["NotificationConfiguration", "TopicArn"],
        Str,
    ),
    (
        "notification_topic_status",
        &["NotificationConfiguration", "TopicStatus"],
        Str,
    ),
    ("num_cache_nodes", &["NumCacheNodes"], Num),
    (
        "preferred_availability_zone",
        &["PreferredAvailabilityZone"],
        Str,
    ),
    (
        "preferred_maintenance_window",
        &["PreferredMaintenanceWindow"],
        Str,
    ),
    ("preferred_outpost_arn", &["PreferredOutpostArn"], Str),
    ("replication_group_id", &["ReplicationGroupId"], Str),
    (
        "replication_group_log_delivery_enabled",
        &["ReplicationGroupLogDeliveryEnabled"],
        Num,
    ),
    ("snapshot_retention_limit", &["SnapshotRetentionLimit"], Num),
    ("snapshot_window", &["SnapshotWindow"], Str),
    (
        "transit_encryption_enabled",
        &["TransitEncryptionEnabled"],
        Num,
    ),
    ("transit_encryption_mode", &["TransitEncryptionMode"], Enum),
    (
        "pending_modified_values_auth_token_status",
        &["PendingModifiedValues", "AuthTokenStatus"],
        Enum,
    ),
    (
        "pending_modified_values_cache_node_type",
        &["PendingModifiedValues", "CacheNodeType"],
        Str,
    ),
    (
        "pending_modified_values_engine_version",
        &["PendingModifiedValues", "EngineVersion"],
        Str,
    ),
    (
        "pending_modified_values_num_cache_nodes",
        &["PendingModifiedValues", "NumCacheNodes"],
        Num,
    ),
    (
        "pending_modified_values_transit_encryption_enabled",
        &["PendingModifiedValues", "TransitEncryptionEnabled"],
        Num,
    ),
    (
        "pending_modified_values_transit_encryption_mode",
        &["PendingModifiedValues", "TransitEncryptionMode"],
        Enum,
    ),
];

pub const LOG_DELIVERY_FIELDS: Table = &[
    (
        "log_delivery_configuration_destination_type",
        &["DestinationType"],
        Enum,
    ),
    (
        "log_delivery_configuration_log_format",
        &["LogFormat"],
        Enum,
    ),
    ("log_delivery_configuration_log_type", &["LogType"], Enum),
    ("log_delivery_configuration_status", &["Status"], Enum),
    ("log_delivery_configuration_message", &["Message"], Str),
    (
        "log_delivery_configuration_log_group",
        &["DestinationDetails", "CloudWatchLogsDetails", "LogGroup"],
        Str,
    ),
    (
        "log_delivery_configuration_delivery_stream",
        &[
            "DestinationDetails",
            "KinesisFirehoseDetails",
            "DeliveryStream",
        ],
        Str,
    ),
];

pub const NODE_FIELDS: Table = &[
    ("id", &["CacheNodeId"], Str),
    ("status", &["CacheNodeStatus"], Str),
    ("create_time", &["CacheNodeCreateTime"], Time),
    ("availability_zone", &["CustomerAvailabilityZone"], Str),
    ("customer_outpost_arn", &["CustomerOutpostArn"], Str),
    ("source_cache_node_id", &["SourceCacheNodeId"], Str),
    ("parameter_group_status", &["ParameterGroupStatus"], Str),
    ("endpoint_address", &["Endpoint", "Address"], Str),
    ("endpoint_port", &["Endpoint", "Port"], Num),
];

fn tag_labels(tags: &[Node], prefix: &str, out: &mut Vec<(String, String)>) {
    for tag in tags {
        if let (Some(k), Some(v)) = (tag.text_at(&["Key"]), tag.text_at(&["Value"])) {
            out.push((format!("{prefix}tag_{}", sanitize(k)), v.to_owned()));
        }
    }
}

fn endpoint(node: &Node, path: &str) -> Option<String> {
    let address = node.text_at(&[path, "Address"])?;
    let port = node.text_at(&[path, "Port"])?;
    Some(join_host_port(address, port.trim()))
}

/// Prometheus' `addServerlessCacheTargets`.
pub fn serverless_target(cache: &Node, tags: &[Node]) -> LabelSet {
    let mut l = vec![(
        "__meta_elasticache_deployment_option".to_owned(),
        "serverless".to_owned(),
    )];
    field_labels(cache, SERVERLESS, SERVERLESS_FIELDS, &mut l);
    for (i, id) in cache.list(&["SecurityGroupIds"]).iter().enumerate() {
        l.push((
            format!("{SERVERLESS}security_group_id_{i}"),
            id.text.clone(),
        ));
    }
    for (i, id) in cache.list(&["SubnetIds"]).iter().enumerate() {
        l.push((format!("{SERVERLESS}subnet_id_{i}"), id.text.clone()));
    }
    if cache.at(&["CacheUsageLimits", "DataStorage"]).is_some() {
        l.push((
            format!("{SERVERLESS}cache_usage_limit_data_storageunit"),
            cache
                .text_at(&["CacheUsageLimits", "DataStorage", "Unit"])
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    tag_labels(tags, SERVERLESS, &mut l);
    if let Some(address) = endpoint(cache, "Endpoint") {
        l.push((ADDRESS_LABEL.into(), address));
    }
    LabelSet::from_pairs(l)
}

/// Prometheus' `addCacheClusterTargets`: one target per cache node.
pub fn cluster_targets(cluster: &Node, tags: &[Node], out: &mut Vec<LabelSet>) {
    let mut common = vec![(
        "__meta_elasticache_deployment_option".to_owned(),
        "node".to_owned(),
    )];
    field_labels(cluster, CLUSTER, CLUSTER_FIELDS, &mut common);
    for (i, log) in cluster
        .list(&["LogDeliveryConfigurations"])
        .iter()
        .enumerate()
    {
        let mut each = Vec::new();
        field_labels(log, CLUSTER, LOG_DELIVERY_FIELDS, &mut each);
        common.extend(each.into_iter().map(|(k, v)| (format!("{k}_{i}"), v)));
    }
    let to_remove: Vec<&str> = cluster
        .list(&["PendingModifiedValues", "CacheNodeIdsToRemove"])
        .iter()
        .map(|n| n.text.as_str())
        .collect();
    if !to_remove.is_empty() {
        common.push((
            format!("{CLUSTER}pending_modified_values_cache_node_ids_to_remove"),
            to_remove.join(","),
        ));
    }
    for (i, sg) in cluster.list(&["SecurityGroups"]).iter().enumerate() {
        if let Some(id) = sg.text_at(&["SecurityGroupId"]) {
            common.push((
                format!("{CLUSTER}security_group_membership_id_{i}"),
                id.to_owned(),
            ));
        }
        if let Some(status) = sg.text_at(&["Status"]) {
            common.push((
                format!("{CLUSTER}security_group_membership_status_{i}"),
                status.to_owned(),
            ));
        }
    }
    tag_labels(tags, CLUSTER, &mut common);
    for node in cluster.list(&["CacheNodes"]) {
        let mut l = common.clone();
        field_labels(node, NODE, NODE_FIELDS, &mut l);
        if let Some(address) = endpoint(node, "Endpoint") {
            l.push((ADDRESS_LABEL.into(), address));
        }
        out.push(LabelSet::from_pairs(l));
    }
}

/// Prometheus' `splitCacheDeploymentOptions`: (serverless cache names, replication group IDs).
pub fn split_arns(arns: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut serverless, mut groups) = (Vec::new(), Vec::new());
    for arn in arns.iter().filter(|a| !a.is_empty()) {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() < 7 {
            tracing::warn!(arn = %arn, "Skipping invalid ElastiCache ARN");
            continue;
        }
        match parts[5] {
            "serverlesscache" => serverless.push(parts[6].to_owned()),
            "replicationgroup" => groups.push(parts[6].to_owned()),
            _ => {}
        }
    }
    (serverless, groups)
}

pub struct Elasticache {
    client: super::client::ServiceClient,
    tested: bool,
}

impl Elasticache {
    async fn call(&self, action: &str, params: Vec<(&str, String)>) -> Result<Node, String> {
        let body = self
            .client
            .query(action, VERSION, params)
            .await
            .map_err(|e| format!("operation error ElastiCache: {action}, {e}"))?;
        xml::tree(action, &body)
    }

    async fn serverless_caches(&self, names: &[String]) -> Result<Vec<Node>, String> {
        let fail = |e: String| format!("failed to describe serverless caches: {e}");
        let mut out = Vec::new();
        if names.is_empty() {
            let mut token: Option<String> = None;
            loop {
                let mut p = vec![("MaxResults", "50".to_owned())];
                if let Some(t) = &token {
                    p.push(("NextToken", t.clone()));
                }
                let answer = self
                    .call("DescribeServerlessCaches", p)
                    .await
                    .map_err(fail)?;
                let result = answer
                    .child("DescribeServerlessCachesResult")
                    .cloned()
                    .unwrap_or_default();
                out.extend(result.list(&["ServerlessCaches"]).iter().cloned());
                match result.text_at(&["NextToken"]).filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t.to_owned()),
                    None => break,
                }
            }
        } else {
            for name in names {
                let p = vec![
                    ("MaxResults", "50".to_owned()),
                    ("ServerlessCacheName", name.clone()),
                ];
                let answer = self
                    .call("DescribeServerlessCaches", p)
                    .await
                    .map_err(|e| {
                        fail(format!("failed to describe serverless cache {name}: {e}"))
                    })?;
                out.extend(
                    answer
                        .list(&["DescribeServerlessCachesResult", "ServerlessCaches"])
                        .iter()
                        .cloned(),
                );
            }
        }
        Ok(out)
    }

    async fn cache_clusters(&self, ids: &[String]) -> Result<Vec<Node>, String> {
        let fail = |e: String| format!("failed to describe cache clusters: {e}");
        let mut out = Vec::new();
        for not_in_groups in ["false", "true"] {
            if ids.is_empty() {
                let mut marker: Option<String> = None;
                loop {
                    let mut p = vec![
                        ("MaxRecords", "100".to_owned()),
                        ("ShowCacheNodeInfo", "true".to_owned()),
                        (
                            "ShowCacheClustersNotInReplicationGroups",
                            not_in_groups.to_owned(),
                        ),
                    ];
                    if let Some(m) = &marker {
                        p.push(("Marker", m.clone()));
                    }
                    let answer = self.call("DescribeCacheClusters", p).await.map_err(fail)?;
                    let result = answer
                        .child("DescribeCacheClustersResult")
                        .cloned()
                        .unwrap_or_default();
                    out.extend(result.list(&["CacheClusters"]).iter().cloned());
                    match result.text_at(&["Marker"]).filter(|m| !m.is_empty()) {
                        Some(m) => marker = Some(m.to_owned()),
                        None => break,
                    }
                }
            } else {
                for id in ids {
                    let p = vec![
                        ("MaxRecords", "100".to_owned()),
                        ("ShowCacheNodeInfo", "true".to_owned()),
                        (
                            "ShowCacheClustersNotInReplicationGroups",
                            not_in_groups.to_owned(),
                        ),
                        ("CacheClusterId", id.clone()),
                    ];
                    let answer = self
                        .call("DescribeCacheClusters", p)
                        .await
                        .map_err(|e| fail(format!("failed to describe cache cluster {id}: {e}")))?;
                    out.extend(
                        answer
                            .list(&["DescribeCacheClustersResult", "CacheClusters"])
                            .iter()
                            .cloned(),
                    );
                }
            }
        }
        Ok(out)
    }

    async fn tags(&self, arn: &str) -> Result<Vec<Node>, String> {
        let answer = self
            .call("ListTagsForResource", vec![("ResourceName", arn.to_owned())])
            .await
            .map_err(|e| {
                format!("failed to list tags for resources: failed to list tags for resource {arn}: {e}")
            })?;
        Ok(answer
            .list(&["ListTagsForResourceResult", "TagList"])
            .to_vec())
    }

    async fn pass(&mut self, session: &Session) -> Result<Vec<TargetGroup>, String> {
        if !self.tested {
            self.tested = true;
            self.call("DescribeCacheClusters", Vec::new())
                .await
                .map_err(|e| format!("elasticache credential test failed: {e}"))?;
        }
        let (serverless_names, group_ids) = split_arns(&session.settings.clusters);
        let caches = self.serverless_caches(&serverless_names).await?;
        let clusters = self.cache_clusters(&group_ids).await?;
        let mut found = Vec::new();
        for cache in &caches {
            let tags = match cache.text_at(&["ARN"]) {
                Some(arn) => self.tags(arn).await?,
                None => Vec::new(),
            };
            found.push(serverless_target(cache, &tags));
        }
        for cluster in &clusters {
            let tags = match cluster.text_at(&["ARN"]) {
                Some(arn) => self.tags(arn).await?,
                None => Vec::new(),
            };
            cluster_targets(cluster, &tags, &mut found);
        }
        Ok(vec![group(&session.region, found)])
    }
}

impl Service for Elasticache {
    fn new(session: &Session) -> Self {
        Elasticache {
            client: session.service("elasticache", "elasticache"),
            tested: false,
        }
    }

    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(self.pass(session))
    }
}
