//! RDS (`rds_sd_configs`, `aws_sd_configs` role `rds`): Aurora DB clusters and their
//! instances (Query protocol, version 2014-10-31).
//!
//! Requests as Prometheus makes them: once, a DescribeDBClusters without parameters (its
//! credential test); then DescribeDBClusters (`MaxRecords=100`, `Marker` pages) — one call per
//! configured cluster with `DBClusterIdentifier` when `clusters` is set — and, per cluster,
//! DescribeDBInstances filtered by `db-cluster-id` = the cluster ARN plus the configured
//! `filters` (`Filters.Filter.N.Name`, `Filters.Filter.N.Values.Value.M`).
//!
//! One target per instance: `__address__` is `<instance endpoint address>:<port>` (the
//! configured `port`) when the instance has an endpoint address and port; labels
//! `__meta_rds_cluster_*` (every field of the cluster Prometheus reads, `_tag_<key>`) and
//! `__meta_rds_instance_*` (every field of the instance, `_is_cluster_writer` from the
//! cluster's members, `_tag_<key>`).

use std::collections::BTreeMap;

use promsd_actors::{LabelSet, TargetGroup, ADDRESS_LABEL};

use super::xml::{self, Node};
use super::{field_labels, group, join_host_port, sanitize, Kind, RefreshFuture, Service, Session};
use Kind::{Enum, Num, Str, Time};

pub const VERSION: &str = "2014-10-31";

type Table = &'static [(&'static str, &'static [&'static str], Kind)];

/// `__meta_rds_cluster_<label>` from the DBCluster field at the path.
pub const CLUSTER_FIELDS: Table = &[
    ("arn", &["DBClusterArn"], Str),
    ("identifier", &["DBClusterIdentifier"], Str),
    (
        "activity_stream_kinesis_stream_name",
        &["ActivityStreamKinesisStreamName"],
        Str,
    ),
    (
        "activity_stream_kms_key_id",
        &["ActivityStreamKmsKeyId"],
        Str,
    ),
    ("activity_stream_mode", &["ActivityStreamMode"], Enum),
    ("activity_stream_status", &["ActivityStreamStatus"], Enum),
    ("allocated_storage", &["AllocatedStorage"], Num),
    (
        "auto_minor_version_upgrade",
        &["AutoMinorVersionUpgrade"],
        Num,
    ),
    ("automatic_restart_time", &["AutomaticRestartTime"], Time),
    (
        "aws_backup_recovery_point_arn",
        &["AwsBackupRecoveryPointArn"],
        Str,
    ),
    (
        "backtrack_consumed_change_records",
        &["BacktrackConsumedChangeRecords"],
        Num,
    ),
    ("backtrack_window", &["BacktrackWindow"], Num),
    ("backup_retention_period", &["BackupRetentionPeriod"], Num),
    ("capacity", &["Capacity"], Num),
    ("character_set_name", &["CharacterSetName"], Str),
    ("clone_group_id", &["CloneGroupId"], Str),
    ("cluster_create_time", &["ClusterCreateTime"], Time),
    (
        "cluster_scalability_type",
        &["ClusterScalabilityType"],
        Enum,
    ),
    ("copy_tags_to_snapshot", &["CopyTagsToSnapshot"], Num),
    ("cross_account_clone", &["CrossAccountClone"], Num),
    ("instance_class", &["DBClusterInstanceClass"], Str),
    ("parameter_group", &["DBClusterParameterGroup"], Str),
    ("subnet_group", &["DBSubnetGroup"], Str),
    ("db_system_id", &["DBSystemId"], Str),
    ("database_insights_mode", &["DatabaseInsightsMode"], Enum),
    ("database_name", &["DatabaseName"], Str),
    ("resource_id", &["DbClusterResourceId"], Str),
    ("deletion_protection", &["DeletionProtection"], Num),
    ("earliest_backtrack_time", &["EarliestBacktrackTime"], Time),
    (
        "earliest_restorable_time",
        &["EarliestRestorableTime"],
        Time,
    ),
    ("endpoint", &["Endpoint"], Str),
    ("engine", &["Engine"], Str),
    ("engine_lifecycle_support", &["EngineLifecycleSupport"], Str),
    ("engine_mode", &["EngineMode"], Str),
    ("engine_version", &["EngineVersion"], Str),
    (
        "global_cluster_identifier",
        &["GlobalClusterIdentifier"],
        Str,
    ),
    (
        "global_write_forwarding_requested",
        &["GlobalWriteForwardingRequested"],
        Num,
    ),
    (
        "global_write_forwarding_status",
        &["GlobalWriteForwardingStatus"],
        Enum,
    ),
    ("hosted_zone_id", &["HostedZoneId"], Str),
    ("http_endpoint_enabled", &["HttpEndpointEnabled"], Num),
    (
        "iam_database_authentication_enabled",
        &["IAMDatabaseAuthenticationEnabled"],
        Num,
    ),
    (
        "io_optimized_next_allowed_modification_time",
        &["IOOptimizedNextAllowedModificationTime"],
        Time,
    ),
    ("iops", &["Iops"], Num),
    ("kms_key_id", &["KmsKeyId"], Str),
    ("latest_restorable_time", &["LatestRestorableTime"], Time),
    (
        "local_write_forwarding_status",
        &["LocalWriteForwardingStatus"],
        Enum,
    ),
    ("master_username", &["MasterUsername"], Str),
    ("monitoring_interval", &["MonitoringInterval"], Num),
    ("monitoring_role_arn", &["MonitoringRoleArn"], Str),
    ("multi_az", &["MultiAZ"], Num),
    ("network_type", &["NetworkType"], Str),
    ("percent_progress", &["PercentProgress"], Str),
    (
        "performance_insights_enabled",
        &["PerformanceInsightsEnabled"],
        Num,
    ),
    (
        "performance_insights_kms_key_id",
        &["PerformanceInsightsKMSKeyId"],
        Str,
    ),
    (
        "performance_insights_retention_period",
        &["PerformanceInsightsRetentionPeriod"],
        Num,
    ),
    ("port", &["Port"], Num),
    ("preferred_backup_window", &["PreferredBackupWindow"], Str),
    (
        "preferred_maintenance_window",
        &["PreferredMaintenanceWindow"],
        Str,
    ),
    ("publicly_accessible", &["PubliclyAccessible"], Num),
    ("reader_endpoint", &["ReaderEndpoint"], Str),
    (
        "replication_source_identifier",
        &["ReplicationSourceIdentifier"],
        Str,
    ),
    (
        "serverless_v2_platform_version",
        &["ServerlessV2PlatformVersion"],
        Str,
    ),
    ("status", &["Status"], Str),
    ("storage_encrypted", &["StorageEncrypted"], Num),
    ("storage_encryption_type", &["StorageEncryptionType"], Enum),
    ("storage_throughput", &["StorageThroughput"], Num),
    ("storage_type", &["StorageType"], Str),
    ("upgrade_rollout_order", &["UpgradeRolloutOrder"], Enum),
];

/// `__meta_rds_instance_<label>` from the DBInstance field at the path.
pub const INSTANCE_FIELDS: Table = &[
    ("arn", &["DBInstanceArn"], Str),
    ("identifier", &["DBInstanceIdentifier"], Str),
    (
        "activity_stream_engine_native_audit_fields_included",
        &["ActivityStreamEngineNativeAuditFieldsIncluded"],
        Num,
    ),
    (
        "activity_stream_kinesis_stream_name",
        &["ActivityStreamKinesisStreamName"],
        Str,
    ),
    (
        "activity_stream_kms_key_id",
        &["ActivityStreamKmsKeyId"],
        Str,
    ),
    ("activity_stream_mode", &["ActivityStreamMode"], Enum),
    (
        "activity_stream_policy_status",
        &["ActivityStreamPolicyStatus"],
        Enum,
    ),
    ("activity_stream_status", &["ActivityStreamStatus"], Enum),
    ("allocated_storage", &["AllocatedStorage"], Num),
    (
        "auto_minor_version_upgrade",
        &["AutoMinorVersionUpgrade"],
        Num,
    ),
    ("automatic_restart_time", &["AutomaticRestartTime"], Time),
    ("automation_mode", &["AutomationMode"], Enum),
    ("availability_zone", &["AvailabilityZone"], Str),
    (
        "aws_backup_recovery_point_arn",
        &["AwsBackupRecoveryPointArn"],
        Str,
    ),
    ("backup_retention_period", &["BackupRetentionPeriod"], Num),
    ("backup_target", &["BackupTarget"], Str),
    (
        "ca_certificate_identifier",
        &["CACertificateIdentifier"],
        Str,
    ),
    ("character_set_name", &["CharacterSetName"], Str),
    ("copy_tags_to_snapshot", &["CopyTagsToSnapshot"], Num),
    (
        "custom_iam_instance_profile",
        &["CustomIamInstanceProfile"],
        Str,
    ),
    (
        "customer_owned_ip_enabled",
        &["CustomerOwnedIpEnabled"],
        Num,
    ),
    ("db_cluster_identifier", &["DBClusterIdentifier"], Str),
    ("class", &["DBInstanceClass"], Str),
    ("status", &["DBInstanceStatus"], Str),
    ("db_name", &["DBName"], Str),
    ("port", &["DbInstancePort"], Num),
    ("resource_id", &["DbiResourceId"], Str),
    ("dedicated_log_volume", &["DedicatedLogVolume"], Num),
    ("deletion_protection", &["DeletionProtection"], Num),
    ("endpoint_address", &["Endpoint", "Address"], Str),
    (
        "endpoint_hosted_zone_id",
        &["Endpoint", "HostedZoneId"],
        Str,
    ),
    ("endpoint_port", &["Endpoint", "Port"], Num),
    ("engine", &["Engine"], Str),
    ("engine_lifecycle_support", &["EngineLifecycleSupport"], Str),
    ("engine_version", &["EngineVersion"], Str),
    (
        "enhanced_monitoring_resource_arn",
        &["EnhancedMonitoringResourceArn"],
        Str,
    ),
    (
        "iam_database_authentication_enabled",
        &["IAMDatabaseAuthenticationEnabled"],
        Num,
    ),
    ("instance_create_time", &["InstanceCreateTime"], Time),
    ("iops", &["Iops"], Num),
    (
        "is_storage_config_upgrade_available",
        &["IsStorageConfigUpgradeAvailable"],
        Num,
    ),
    ("kms_key_id", &["KmsKeyId"], Str),
    ("latest_restorable_time", &["LatestRestorableTime"], Time),
    ("license_model", &["LicenseModel"], Str),
    (
        "listener_endpoint_address",
        &["ListenerEndpoint", "Address"],
        Str,
    ),
    (
        "listener_endpoint_hosted_zone_id",
        &["ListenerEndpoint", "HostedZoneId"],
        Str,
    ),
    ("listener_endpoint_port", &["ListenerEndpoint", "Port"], Num),
    ("master_username", &["MasterUsername"], Str),
    ("max_allocated_storage", &["MaxAllocatedStorage"], Num),
    ("monitoring_interval", &["MonitoringInterval"], Num),
    ("monitoring_role_arn", &["MonitoringRoleArn"], Str),
    ("multi_az", &["MultiAZ"], Num),
    ("multi_tenant", &["MultiTenant"], Num),
    ("nchar_character_set_name", &["NcharCharacterSetName"], Str),
    ("network_type", &["NetworkType"], Str),
    ("percent_progress", &["PercentProgress"], Str),
    (
        "performance_insights_enabled",
        &["PerformanceInsightsEnabled"],
        Num,
    ),
    (
        "performance_insights_kms_key_id",
        &["PerformanceInsightsKMSKeyId"],
        Str,
    ),
    (
        "performance_insights_retention_period",
        &["PerformanceInsightsRetentionPeriod"],
        Num,
    ),
    ("preferred_backup_window", &["PreferredBackupWindow"], Str),
    (
        "preferred_maintenance_window",
        &["PreferredMaintenanceWindow"],
        Str,
    ),
    ("promotion_tier", &["PromotionTier"], Num),
    ("publicly_accessible", &["PubliclyAccessible"], Num),
    (
        "read_replica_source_db_cluster_identifier",
        &["ReadReplicaSourceDBClusterIdentifier"],
        Str,
    ),
    (
        "read_replica_source_db_instance_identifier",
        &["ReadReplicaSourceDBInstanceIdentifier"],
        Str,
    ),
    ("replica_mode", &["ReplicaMode"], Enum),
    (
        "resume_full_automation_mode_time",
        &["ResumeFullAutomationModeTime"],
        Time,
    ),
    (
        "secondary_availability_zone",
        &["SecondaryAvailabilityZone"],
        Str,
    ),
    ("storage_encrypted", &["StorageEncrypted"], Num),
    ("storage_encryption_type", &["StorageEncryptionType"], Enum),
    ("storage_throughput", &["StorageThroughput"], Num),
    ("storage_type", &["StorageType"], Str),
    ("storage_volume_status", &["StorageVolumeStatus"], Str),
    ("tde_credential_arn", &["TdeCredentialArn"], Str),
    ("timezone", &["Timezone"], Str),
    ("upgrade_rollout_order", &["UpgradeRolloutOrder"], Enum),
    ("subnet_group", &["DBSubnetGroup", "DBSubnetGroupName"], Str),
    ("db_system_id", &["DBSystemId"], Str),
    ("database_insights_mode", &["DatabaseInsightsMode"], Enum),
];

fn tags(node: &Node, prefix: &str, out: &mut Vec<(String, String)>) {
    for tag in node.list(&["TagList"]) {
        if let (Some(k), Some(v)) = (tag.text_at(&["Key"]), tag.text_at(&["Value"])) {
            out.push((format!("{prefix}{}", sanitize(k)), v.to_owned()));
        }
    }
}

/// The targets of one cluster's instances (Prometheus' per-cluster goroutine).
pub fn targets(cluster: &Node, instances: &[Node], port: i64) -> Vec<LabelSet> {
    let mut writers: BTreeMap<&str, &str> = BTreeMap::new();
    for member in cluster.list(&["DBClusterMembers"]) {
        if let (Some(id), Some(w)) = (
            member.text_at(&["DBInstanceIdentifier"]),
            member.text_at(&["IsClusterWriter"]),
        ) {
            writers.insert(id, w.trim());
        }
    }
    let mut common = Vec::new();
    field_labels(cluster, "__meta_rds_cluster_", CLUSTER_FIELDS, &mut common);
    tags(cluster, "__meta_rds_cluster_tag_", &mut common);
    instances
        .iter()
        .map(|instance| {
            let mut l = common.clone();
            if let Some(w) = instance
                .text_at(&["DBInstanceIdentifier"])
                .and_then(|id| writers.get(id))
            {
                l.push((
                    "__meta_rds_instance_is_cluster_writer".into(),
                    (*w).to_owned(),
                ));
            }
            field_labels(instance, "__meta_rds_instance_", INSTANCE_FIELDS, &mut l);
            tags(instance, "__meta_rds_instance_tag_", &mut l);
            if let (Some(address), Some(_)) = (
                instance.text_at(&["Endpoint", "Address"]),
                instance.text_at(&["Endpoint", "Port"]),
            ) {
                l.push((ADDRESS_LABEL.into(), join_host_port(address, port)));
            }
            LabelSet::from_pairs(l)
        })
        .collect()
}

pub struct Rds {
    client: super::client::ServiceClient,
    tested: bool,
}

impl Rds {
    async fn call(&self, action: &str, params: Vec<(&str, String)>) -> Result<Node, String> {
        let body = self
            .client
            .query(action, VERSION, params)
            .await
            .map_err(|e| format!("operation error RDS: {action}, {e}"))?;
        xml::tree(action, &body)
    }

    /// Every page of DescribeDBClusters with these parameters.
    async fn clusters(&self, params: Vec<(&str, String)>) -> Result<Vec<Node>, String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut p = params.clone();
            p.push(("MaxRecords", "100".into()));
            if let Some(m) = &marker {
                p.push(("Marker", m.clone()));
            }
            let answer = self.call("DescribeDBClusters", p).await?;
            let result = answer
                .child("DescribeDBClustersResult")
                .cloned()
                .unwrap_or_default();
            out.extend(result.list(&["DBClusters"]).iter().cloned());
            match result.text_at(&["Marker"]).filter(|m| !m.is_empty()) {
                Some(m) => marker = Some(m.to_owned()),
                None => return Ok(out),
            }
        }
    }

    async fn instances(&self, cluster_arn: &str, session: &Session) -> Result<Vec<Node>, String> {
        let mut filters: Vec<(String, String)> = vec![
            ("Filters.Filter.1.Name".into(), "db-cluster-id".into()),
            (
                "Filters.Filter.1.Values.Value.1".into(),
                cluster_arn.to_owned(),
            ),
        ];
        for (i, f) in session.settings.filters.iter().enumerate() {
            filters.push((format!("Filters.Filter.{}.Name", i + 2), f.name.clone()));
            for (j, v) in f.values.iter().enumerate() {
                filters.push((
                    format!("Filters.Filter.{}.Values.Value.{}", i + 2, j + 1),
                    v.clone(),
                ));
            }
        }
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut p: Vec<(&str, String)> = filters
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            p.push(("MaxRecords", "100".into()));
            if let Some(m) = &marker {
                p.push(("Marker", m.clone()));
            }
            let answer = self.call("DescribeDBInstances", p).await.map_err(|e| {
                format!("failed to describe DB instances for cluster ARN {cluster_arn}: {e}")
            })?;
            let result = answer
                .child("DescribeDBInstancesResult")
                .cloned()
                .unwrap_or_default();
            out.extend(result.list(&["DBInstances"]).iter().cloned());
            match result.text_at(&["Marker"]).filter(|m| !m.is_empty()) {
                Some(m) => marker = Some(m.to_owned()),
                None => return Ok(out),
            }
        }
    }

    async fn pass(&mut self, session: &Session) -> Result<Vec<TargetGroup>, String> {
        if !self.tested {
            self.tested = true;
            self.call("DescribeDBClusters", Vec::new())
                .await
                .map_err(|e| format!("RDS credential test failed: {e}"))?;
        }
        // By ARN, as Prometheus keeps them (one entry per ARN).
        let mut clusters: BTreeMap<String, Node> = BTreeMap::new();
        if session.settings.clusters.is_empty() {
            for c in self.clusters(Vec::new()).await.map_err(|e| {
                format!("error describing all DB clusters: failed to describe DB clusters: {e}")
            })? {
                if let Some(arn) = c.text_at(&["DBClusterArn"]) {
                    clusters.insert(arn.to_owned(), c.clone());
                }
            }
        } else {
            for arn in &session.settings.clusters {
                let found = self
                    .clusters(vec![("DBClusterIdentifier", arn.clone())])
                    .await
                    .map_err(|e| format!("error describing DB clusters: failed to describe DB cluster {arn}: {e}"))?;
                if found.is_empty() {
                    return Err(format!(
                        "error describing DB clusters: no DB cluster found for ARN {arn}"
                    ));
                }
                for c in found {
                    clusters.insert(arn.clone(), c);
                }
            }
        }
        let mut found = Vec::new();
        for cluster in clusters.values() {
            let arn = cluster.text_at(&["DBClusterArn"]).unwrap_or_default();
            let instances = self
                .instances(arn, session)
                .await
                .map_err(|e| format!("error describing DB instances: {e}"))?;
            found.extend(targets(cluster, &instances, session.settings.port));
        }
        Ok(vec![group(&session.region, found)])
    }
}

impl Service for Rds {
    fn new(session: &Session) -> Self {
        Rds {
            client: session.service("rds", "rds"),
            tested: false,
        }
    }

    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(self.pass(session))
    }
}
