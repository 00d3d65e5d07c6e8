//! RDS through the CLI: Prometheus' rds_test.go `TestRDSDiscoveryRefresh` cases served as
//! DescribeDBClusters / DescribeDBInstances XML (the mock's `db-cluster-id` and `engine`
//! filters applied by the fixture), in `Marker` pages of one record that must be followed,
//! `TestDescribeAllDBClusters` (two clusters over two pages), and `clusters`.
//!
//! Upstream builds the expected `__address__` from the instance endpoint's port while
//! `rds.go` uses the configured `port`: each case here configures the port it expects.

use std::sync::Arc;

use super::fixture::*;

const AK: &str = "AKIDRDS";
const SK: &str = "rds-secret";

const SINGLE_CLUSTER: &str = r#"<DBCluster>
  <DBClusterArn>arn:aws:rds:us-east-1:123456789012:cluster:test-cluster</DBClusterArn>
  <DBClusterIdentifier>test-cluster</DBClusterIdentifier>
  <Engine>aurora-postgresql</Engine>
  <EngineVersion>15.4</EngineVersion>
  <Status>available</Status>
  <Endpoint>test-cluster.cluster-xyz.us-east-1.rds.amazonaws.com</Endpoint>
  <Port>5432</Port>
  <MasterUsername>admin</MasterUsername>
  <MultiAZ>true</MultiAZ>
  <ClusterCreateTime>2024-01-01T00:00:00Z</ClusterCreateTime>
  <DBClusterMembers><DBClusterMember><DBInstanceIdentifier>test-instance-1</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember></DBClusterMembers>
  <TagList><Tag><Key>Environment</Key><Value>test</Value></Tag></TagList>
</DBCluster>"#;

const SINGLE_INSTANCE: &str = r#"<DBInstance>
  <DBInstanceArn>arn:aws:rds:us-east-1:123456789012:db:test-instance-1</DBInstanceArn>
  <DBInstanceIdentifier>test-instance-1</DBInstanceIdentifier>
  <DBInstanceClass>db.r5.large</DBInstanceClass>
  <DBInstanceStatus>available</DBInstanceStatus>
  <Engine>aurora-postgresql</Engine>
  <EngineVersion>15.4</EngineVersion>
  <AvailabilityZone>us-east-1a</AvailabilityZone>
  <DBClusterIdentifier>test-cluster</DBClusterIdentifier>
  <PubliclyAccessible>false</PubliclyAccessible>
  <InstanceCreateTime>2024-01-01T00:00:00.000Z</InstanceCreateTime>
  <Endpoint><Address>test-instance-1.xyz.us-east-1.rds.amazonaws.com</Address><Port>5432</Port><HostedZoneId>Z2R2ITUGPM61AM</HostedZoneId></Endpoint>
  <TagList><Tag><Key>Name</Key><Value>test-instance</Value></Tag></TagList>
</DBInstance>"#;

const PROD_CLUSTER: &str = r#"<DBCluster>
  <DBClusterArn>arn:aws:rds:us-west-2:123456789012:cluster:prod-cluster</DBClusterArn>
  <DBClusterIdentifier>prod-cluster</DBClusterIdentifier>
  <Engine>aurora-mysql</Engine>
  <EngineVersion>8.0.mysql_aurora.3.04.0</EngineVersion>
  <Status>available</Status>
  <DBClusterMembers>
    <DBClusterMember><DBInstanceIdentifier>prod-instance-1</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember>
    <DBClusterMember><DBInstanceIdentifier>prod-instance-2</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember>
  </DBClusterMembers>
</DBCluster>"#;

fn prod_instance(n: u32) -> String {
    format!(
        r#"<DBInstance><DBInstanceArn>arn:aws:rds:us-west-2:123456789012:db:prod-instance-{n}</DBInstanceArn><DBInstanceIdentifier>prod-instance-{n}</DBInstanceIdentifier><DBInstanceClass>db.r6g.xlarge</DBInstanceClass><DBInstanceStatus>available</DBInstanceStatus><Endpoint><Address>prod-instance-{n}.xyz.us-west-2.rds.amazonaws.com</Address><Port>3306</Port></Endpoint></DBInstance>"#
    )
}

const FILTER_CLUSTER: &str = r#"<DBCluster><DBClusterArn>arn:aws:rds:us-east-1:123456789012:cluster:filter-cluster</DBClusterArn><DBClusterIdentifier>filter-cluster</DBClusterIdentifier><Engine>aurora-postgresql</Engine><Status>available</Status><DBClusterMembers><DBClusterMember><DBInstanceIdentifier>filter-instance-1</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember><DBClusterMember><DBInstanceIdentifier>filter-instance-2</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember></DBClusterMembers></DBCluster>"#;

fn filter_instance(n: u32, engine: &str, port: u32) -> String {
    format!(
        r#"<DBInstance><DBInstanceArn>arn:aws:rds:us-east-1:123456789012:db:filter-instance-{n}</DBInstanceArn><DBInstanceIdentifier>filter-instance-{n}</DBInstanceIdentifier><DBInstanceClass>db.r6g.large</DBInstanceClass><DBInstanceStatus>available</DBInstanceStatus><Engine>{engine}</Engine><Endpoint><Address>filter-instance-{n}.rds.amazonaws.com</Address><Port>{port}</Port></Endpoint></DBInstance>"#
    )
}

/// A cluster's ARN, its XML, and its instances (engine, XML).
type ClusterData = (String, String, Vec<(String, String)>);

/// The clusters of a case, by the signed region.
fn data(region: &str) -> Vec<ClusterData> {
    let with_engine = |x: String| {
        let engine = x
            .split("<Engine>")
            .nth(1)
            .map(|r| r.split('<').next().unwrap().to_owned())
            .unwrap_or_default();
        (engine, x)
    };
    match region {
        "single" => vec![(
            "arn:aws:rds:us-east-1:123456789012:cluster:test-cluster".into(),
            SINGLE_CLUSTER.into(),
            vec![with_engine(SINGLE_INSTANCE.into())],
        )],
        "multiple" => vec![(
            "arn:aws:rds:us-west-2:123456789012:cluster:prod-cluster".into(),
            PROD_CLUSTER.into(),
            vec![with_engine(prod_instance(1)), with_engine(prod_instance(2))],
        )],
        "none" => vec![(
            "arn:aws:rds:us-west-2:123456789012:cluster:prod-cluster".into(),
            PROD_CLUSTER.replace(
                &PROD_CLUSTER[PROD_CLUSTER.find("<DBClusterMembers>").unwrap()
                    ..PROD_CLUSTER.find("</DBClusterMembers>").unwrap()],
                "<DBClusterMembers>",
            ),
            vec![],
        )],
        "filters" => vec![(
            "arn:aws:rds:us-east-1:123456789012:cluster:filter-cluster".into(),
            FILTER_CLUSTER.into(),
            vec![
                with_engine(filter_instance(1, "aurora-postgresql", 5432)),
                with_engine(filter_instance(2, "mysql", 3306)),
            ],
        )],
        // TestDescribeAllDBClusters: two clusters, no instances.
        "all" => ["cluster-1", "cluster-2"]
            .iter()
            .map(|id| {
                let arn = format!("arn:aws:rds:us-east-1:123456789012:cluster:{id}");
                let x = format!("<DBCluster><DBClusterArn>{arn}</DBClusterArn><DBClusterIdentifier>{id}</DBClusterIdentifier></DBCluster>");
                (arn, x, vec![])
            })
            .collect(),
        _ => vec![],
    }
}

/// One record of `items` per page: the record after `Marker` (`<prefix><index>`) and the next
/// page's marker.
fn page<'a>(items: &[&'a str], marker: Option<&str>, prefix: &str) -> (&'a str, String) {
    let i: usize = marker.map_or(0, |m| m.strip_prefix(prefix).unwrap().parse().unwrap());
    let next = if i + 1 < items.len() {
        format!("<Marker>{prefix}{}</Marker>", i + 1)
    } else {
        String::new()
    };
    (items.get(i).copied().unwrap_or(""), next)
}

fn list_param(call: &Call, name: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut i = 1;
    while let Some(n) = call.param(&format!("Filters.Filter.{i}.Name")) {
        let mut values = Vec::new();
        let mut j = 1;
        while let Some(v) = call.param(&format!("Filters.Filter.{i}.Values.Value.{j}")) {
            values.push(v.to_owned());
            j += 1;
        }
        if n == name || name.is_empty() {
            out.push((n.to_owned(), values));
        }
        i += 1;
    }
    out
}

fn responder() -> Responder {
    Arc::new(|call: &Call| {
        assert_eq!(call.service, "rds");
        assert_eq!(call.param("Version"), Some("2014-10-31"));
        let cases = data(&call.region);
        match call.action() {
            "DescribeDBClusters" => {
                let wanted = call.param("DBClusterIdentifier");
                let clusters: Vec<&str> = cases
                    .iter()
                    .filter(|(arn, ..)| wanted.is_none_or(|w| w == arn))
                    .map(|(_, x, _)| x.as_str())
                    .collect();
                // The credential test asks without MaxRecords and gets everything.
                let (body, next) = if call.param("MaxRecords").is_none() {
                    (clusters.concat(), String::new())
                } else {
                    assert_eq!(call.param("MaxRecords"), Some("100"));
                    let (one, next) = page(&clusters, call.param("Marker"), "c-");
                    (one.to_owned(), next)
                };
                xml(format!(
                    r#"<DescribeDBClustersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBClustersResult><DBClusters>{body}</DBClusters>{next}</DescribeDBClustersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBClustersResponse>"#
                ))
            }
            "DescribeDBInstances" => {
                assert_eq!(call.param("MaxRecords"), Some("100"));
                let by_cluster = list_param(call, "db-cluster-id");
                let engines = list_param(call, "engine");
                let mut matching: Vec<&str> = Vec::new();
                for (arn, _, instances) in &cases {
                    if !by_cluster.iter().any(|(_, v)| v.contains(arn)) {
                        continue;
                    }
                    for (engine, x) in instances {
                        if engines.iter().all(|(_, v)| v.contains(engine)) {
                            matching.push(x);
                        }
                    }
                }
                let (out, next) = page(&matching, call.param("Marker"), "i-");
                xml(format!(
                    r#"<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBInstancesResult>{next}<DBInstances>{out}</DBInstances></DescribeDBInstancesResult></DescribeDBInstancesResponse>"#
                ))
            }
            _ => (400, "text/xml", String::new()),
        }
    })
}

fn config(url: &str, region: &str, port: u16, extra: &str) -> String {
    format!("scrape_configs:\n  - job_name: rds\n    rds_sd_configs:\n      - region: {region}\n        endpoint: {url}\n        access_key: {AK}\n        secret_key: {SK}\n        port: {port}\n{extra}")
}

#[test]
fn upstream_refresh_cases() {
    let f = Fixture::start(&[(AK, SK)], responder());
    let got = check_sd(&config(&f.url, "single", 5432, ""), "rds", &[]).unwrap();
    assert_eq!(
        got,
        label_sets(&[&[
            (
                "__address__",
                "test-instance-1.xyz.us-east-1.rds.amazonaws.com:5432"
            ),
            (
                "__meta_rds_cluster_arn",
                "arn:aws:rds:us-east-1:123456789012:cluster:test-cluster"
            ),
            ("__meta_rds_cluster_identifier", "test-cluster"),
            ("__meta_rds_cluster_engine", "aurora-postgresql"),
            ("__meta_rds_cluster_engine_version", "15.4"),
            ("__meta_rds_cluster_status", "available"),
            (
                "__meta_rds_cluster_endpoint",
                "test-cluster.cluster-xyz.us-east-1.rds.amazonaws.com"
            ),
            ("__meta_rds_cluster_port", "5432"),
            ("__meta_rds_cluster_master_username", "admin"),
            ("__meta_rds_cluster_multi_az", "true"),
            (
                "__meta_rds_cluster_cluster_create_time",
                "2024-01-01T00:00:00Z"
            ),
            ("__meta_rds_cluster_tag_Environment", "test"),
            (
                "__meta_rds_instance_arn",
                "arn:aws:rds:us-east-1:123456789012:db:test-instance-1"
            ),
            ("__meta_rds_instance_identifier", "test-instance-1"),
            ("__meta_rds_instance_is_cluster_writer", "true"),
            ("__meta_rds_instance_class", "db.r5.large"),
            ("__meta_rds_instance_status", "available"),
            ("__meta_rds_instance_engine", "aurora-postgresql"),
            ("__meta_rds_instance_engine_version", "15.4"),
            ("__meta_rds_instance_availability_zone", "us-east-1a"),
            ("__meta_rds_instance_db_cluster_identifier", "test-cluster"),
            ("__meta_rds_instance_publicly_accessible", "false"),
            (
                "__meta_rds_instance_instance_create_time",
                "2024-01-01T00:00:00Z"
            ),
            (
                "__meta_rds_instance_endpoint_address",
                "test-instance-1.xyz.us-east-1.rds.amazonaws.com"
            ),
            ("__meta_rds_instance_endpoint_port", "5432"),
            (
                "__meta_rds_instance_endpoint_hosted_zone_id",
                "Z2R2ITUGPM61AM"
            ),
            ("__meta_rds_instance_tag_Name", "test-instance"),
        ]]),
        "SingleClusterWithInstance"
    );

    let prod = |n: &str, writer: &str| -> Vec<(String, String)> {
        vec![
            (
                "__address__".into(),
                format!("prod-instance-{n}.xyz.us-west-2.rds.amazonaws.com:3306"),
            ),
            (
                "__meta_rds_cluster_arn".into(),
                "arn:aws:rds:us-west-2:123456789012:cluster:prod-cluster".into(),
            ),
            (
                "__meta_rds_cluster_identifier".into(),
                "prod-cluster".into(),
            ),
            ("__meta_rds_cluster_engine".into(), "aurora-mysql".into()),
            (
                "__meta_rds_cluster_engine_version".into(),
                "8.0.mysql_aurora.3.04.0".into(),
            ),
            ("__meta_rds_cluster_status".into(), "available".into()),
            (
                "__meta_rds_instance_arn".into(),
                format!("arn:aws:rds:us-west-2:123456789012:db:prod-instance-{n}"),
            ),
            (
                "__meta_rds_instance_identifier".into(),
                format!("prod-instance-{n}"),
            ),
            (
                "__meta_rds_instance_is_cluster_writer".into(),
                writer.into(),
            ),
            ("__meta_rds_instance_class".into(), "db.r6g.xlarge".into()),
            ("__meta_rds_instance_status".into(), "available".into()),
            (
                "__meta_rds_instance_endpoint_address".into(),
                format!("prod-instance-{n}.xyz.us-west-2.rds.amazonaws.com"),
            ),
            ("__meta_rds_instance_endpoint_port".into(), "3306".into()),
        ]
    };
    let got = check_sd(&config(&f.url, "multiple", 3306, ""), "rds", &[]).unwrap();
    let mut expected: Vec<Labels> = vec![
        prod("1", "true").into_iter().collect(),
        prod("2", "false").into_iter().collect(),
    ];
    expected.sort();
    assert_eq!(got, expected, "MultipleInstancesInCluster");

    let got = check_sd(&config(&f.url, "none", 3306, ""), "rds", &[]).unwrap();
    assert!(got.is_empty(), "NoInstancesInCluster");

    let filters =
        "        filters:\n          - name: engine\n            values: [aurora-postgresql]\n";
    let got = check_sd(&config(&f.url, "filters", 5432, filters), "rds", &[]).unwrap();
    assert_eq!(
        got,
        label_sets(&[&[
            ("__address__", "filter-instance-1.rds.amazonaws.com:5432"),
            (
                "__meta_rds_cluster_arn",
                "arn:aws:rds:us-east-1:123456789012:cluster:filter-cluster"
            ),
            ("__meta_rds_cluster_identifier", "filter-cluster"),
            ("__meta_rds_cluster_engine", "aurora-postgresql"),
            ("__meta_rds_cluster_status", "available"),
            (
                "__meta_rds_instance_arn",
                "arn:aws:rds:us-east-1:123456789012:db:filter-instance-1"
            ),
            ("__meta_rds_instance_identifier", "filter-instance-1"),
            ("__meta_rds_instance_is_cluster_writer", "true"),
            ("__meta_rds_instance_class", "db.r6g.large"),
            ("__meta_rds_instance_status", "available"),
            ("__meta_rds_instance_engine", "aurora-postgresql"),
            (
                "__meta_rds_instance_endpoint_address",
                "filter-instance-1.rds.amazonaws.com"
            ),
            ("__meta_rds_instance_endpoint_port", "5432"),
        ]]),
        "FiltersMatchSingleInstance"
    );
    let filters =
        "        filters:\n          - name: engine\n            values: [sqlserver-ee]\n";
    let got = check_sd(&config(&f.url, "filters", 5432, filters), "rds", &[]).unwrap();
    assert!(got.is_empty(), "FiltersMatchNoInstances");
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());

    // `clusters` asks for each cluster by identifier; via aws_sd_configs role rds.
    let yaml = format!("scrape_configs:\n  - job_name: aws\n    aws_sd_configs:\n      - role: rds\n        region: multiple\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n        port: 3306\n        clusters: [arn:aws:rds:us-west-2:123456789012:cluster:prod-cluster]\n", f.url);
    assert_eq!(check_sd(&yaml, "aws", &[]).unwrap(), expected);
    assert!(f.calls().iter().any(|c| c.param("DBClusterIdentifier")
        == Some("arn:aws:rds:us-west-2:123456789012:cluster:prod-cluster")));
}

/// `TestDescribeAllDBClusters`: two clusters, one per DescribeDBClusters page; both are found
/// (each cluster's instances are asked for) and the second page was asked for by its marker.
/// The "multiple" case above already needs DescribeDBInstances' second page.
#[test]
fn describe_all_db_clusters_pages() {
    let f = Fixture::start(&[(AK, SK)], responder());
    let got = check_sd(&config(&f.url, "all", 5432, ""), "rds", &[]).unwrap();
    assert!(got.is_empty());
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
    let calls = f.calls();
    assert!(calls
        .iter()
        .any(|c| c.action() == "DescribeDBClusters" && c.param("Marker") == Some("c-1")));
    let mut asked: Vec<String> = calls
        .iter()
        .filter(|c| c.action() == "DescribeDBInstances")
        .flat_map(|c| list_param(c, "db-cluster-id"))
        .flat_map(|(_, v)| v)
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "arn:aws:rds:us-east-1:123456789012:cluster:cluster-1",
            "arn:aws:rds:us-east-1:123456789012:cluster:cluster-2"
        ]
    );
    let f2 = Fixture::start(&[(AK, SK)], responder());
    check_sd(&config(&f2.url, "multiple", 3306, ""), "rds", &[]).unwrap();
    assert!(f2
        .calls()
        .iter()
        .any(|c| c.action() == "DescribeDBInstances" && c.param("Marker") == Some("i-1")));
}
