//! ElastiCache through the CLI: Prometheus' elasticache_test.go `TestAddServerlessCacheTargets`
//! and `TestAddCacheClusterTargets` (`CacheClusterWithMultipleNodes`) inputs served as
//! DescribeServerlessCaches / DescribeCacheClusters / ListTagsForResource XML, and the
//! optional fields of `TestElasticacheRefresh*NilOptionalFields` left out.

use std::sync::Arc;

use super::fixture::*;

const AK: &str = "AKIDCACHE";
const SK: &str = "cache-secret";

const SERVERLESS_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:my-cache";
const CLUSTER_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:cluster:my-cluster-001";

fn serverless(region: &str) -> String {
    let mut x = format!(
        r#"<member><ServerlessCacheName>my-cache</ServerlessCacheName><ARN>{SERVERLESS_ARN}</ARN><Status>available</Status><Engine>redis</Engine><FullEngineVersion>7.1</FullEngineVersion><MajorEngineVersion>7</MajorEngineVersion><CreateTime>2024-01-01T00:00:00Z</CreateTime><Endpoint><Address>my-cache.serverless.use1.cache.amazonaws.com</Address><Port>6379</Port></Endpoint><ReaderEndpoint><Address>my-cache-ro.serverless.use1.cache.amazonaws.com</Address><Port>6379</Port></ReaderEndpoint><SecurityGroupIds><SecurityGroupId>sg-12345</SecurityGroupId></SecurityGroupIds><SubnetIds><SubnetId>subnet-abcdef</SubnetId></SubnetIds><CacheUsageLimits><DataStorage><Maximum>10</Maximum><Minimum>1</Minimum><Unit>GB</Unit></DataStorage><ECPUPerSecond><Maximum>5000</Maximum><Minimum>1000</Minimum></ECPUPerSecond></CacheUsageLimits></member>"#
    );
    if region == "nil-status" {
        x = x.replace("<Status>available</Status>", "");
    }
    x
}

fn cluster(region: &str) -> String {
    let node = |n: &str, az: &str| {
        format!("<CacheNode><CacheNodeId>{n}</CacheNodeId><CacheNodeStatus>available</CacheNodeStatus><CacheNodeCreateTime>2024-01-01T00:00:00Z</CacheNodeCreateTime><Endpoint><Address>my-cluster-001.abc123.{n}.use1.cache.amazonaws.com</Address><Port>6379</Port></Endpoint><CustomerAvailabilityZone>{az}</CustomerAvailabilityZone></CacheNode>")
    };
    let mut x = format!(
        r#"<CacheCluster><CacheClusterId>my-cluster-001</CacheClusterId><ConfigurationEndpoint><Address>my-cluster.abc123.cfg.use1.cache.amazonaws.com</Address><Port>6379</Port></ConfigurationEndpoint><CacheNodeType>cache.t3.micro</CacheNodeType><Engine>redis</Engine><EngineVersion>7.1</EngineVersion><CacheClusterStatus>available</CacheClusterStatus><NumCacheNodes>2</NumCacheNodes><PreferredAvailabilityZone>us-east-1a</PreferredAvailabilityZone><CacheClusterCreateTime>2024-01-01T00:00:00.000Z</CacheClusterCreateTime><CacheSecurityGroups/><CacheSubnetGroupName>my-subnet-group</CacheSubnetGroupName><CacheNodes>{}{}</CacheNodes><AutoMinorVersionUpgrade>true</AutoMinorVersionUpgrade><SecurityGroups><member><SecurityGroupId>sg-12345</SecurityGroupId><Status>active</Status></member></SecurityGroups><AuthTokenEnabled>true</AuthTokenEnabled><TransitEncryptionEnabled>true</TransitEncryptionEnabled><AtRestEncryptionEnabled>true</AtRestEncryptionEnabled><ARN>{CLUSTER_ARN}</ARN></CacheCluster>"#,
        node("0001", "us-east-1a"),
        node("0002", "us-east-1b")
    );
    if region == "nil-status" {
        x = x.replace("<CacheClusterStatus>available</CacheClusterStatus>", "");
    }
    x
}

fn responder() -> Responder {
    Arc::new(|call: &Call| {
        assert_eq!(call.service, "elasticache");
        assert_eq!(call.param("Version"), Some("2015-02-02"));
        match call.action() {
            "DescribeServerlessCaches" => {
                assert_eq!(call.param("MaxResults"), Some("50"));
                xml(format!(
                    "<DescribeServerlessCachesResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><DescribeServerlessCachesResult><ServerlessCaches>{}</ServerlessCaches></DescribeServerlessCachesResult></DescribeServerlessCachesResponse>",
                    serverless(&call.region)
                ))
            }
            "DescribeCacheClusters" => {
                // The cluster is in a replication group: only the call that does not ask
                // for clusters outside replication groups returns it.
                let body = if call.param("ShowCacheClustersNotInReplicationGroups") == Some("false")
                {
                    assert_eq!(call.param("ShowCacheNodeInfo"), Some("true"));
                    cluster(&call.region)
                } else {
                    String::new()
                };
                xml(format!(
                    "<DescribeCacheClustersResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><DescribeCacheClustersResult><CacheClusters>{body}</CacheClusters></DescribeCacheClustersResult></DescribeCacheClustersResponse>"
                ))
            }
            "ListTagsForResource" => {
                let tags = match call.param("ResourceName") {
                    Some(SERVERLESS_ARN) => "<Tag><Key>Environment</Key><Value>test</Value></Tag>",
                    Some(CLUSTER_ARN) => "<Tag><Key>Environment</Key><Value>production</Value></Tag><Tag><Key>Application</Key><Value>web-app</Value></Tag>",
                    _ => "",
                };
                xml(format!("<ListTagsForResourceResponse><ListTagsForResourceResult><TagList>{tags}</TagList></ListTagsForResourceResult></ListTagsForResourceResponse>"))
            }
            _ => (400, "text/xml", String::new()),
        }
    })
}

fn node_labels(n: &str, az: &str) -> Vec<(String, String)> {
    [
        ("__meta_elasticache_deployment_option", "node"),
        ("__meta_elasticache_cache_cluster_arn", CLUSTER_ARN),
        (
            "__meta_elasticache_cache_cluster_cache_cluster_id",
            "my-cluster-001",
        ),
        (
            "__meta_elasticache_cache_cluster_cache_cluster_status",
            "available",
        ),
        ("__meta_elasticache_cache_cluster_engine", "redis"),
        ("__meta_elasticache_cache_cluster_engine_version", "7.1"),
        (
            "__meta_elasticache_cache_cluster_cache_node_type",
            "cache.t3.micro",
        ),
        ("__meta_elasticache_cache_cluster_num_cache_nodes", "2"),
        (
            "__meta_elasticache_cache_cluster_cache_cluster_create_time",
            "2024-01-01T00:00:00Z",
        ),
        (
            "__meta_elasticache_cache_cluster_configuration_endpoint_address",
            "my-cluster.abc123.cfg.use1.cache.amazonaws.com",
        ),
        (
            "__meta_elasticache_cache_cluster_configuration_endpoint_port",
            "6379",
        ),
        (
            "__meta_elasticache_cache_cluster_at_rest_encryption_enabled",
            "true",
        ),
        (
            "__meta_elasticache_cache_cluster_transit_encryption_enabled",
            "true",
        ),
        (
            "__meta_elasticache_cache_cluster_auth_token_enabled",
            "true",
        ),
        (
            "__meta_elasticache_cache_cluster_auto_minor_version_upgrade",
            "true",
        ),
        (
            "__meta_elasticache_cache_cluster_cache_subnet_group_name",
            "my-subnet-group",
        ),
        (
            "__meta_elasticache_cache_cluster_preferred_availability_zone",
            "us-east-1a",
        ),
        (
            "__meta_elasticache_cache_cluster_security_group_membership_id_0",
            "sg-12345",
        ),
        (
            "__meta_elasticache_cache_cluster_security_group_membership_status_0",
            "active",
        ),
        (
            "__meta_elasticache_cache_cluster_tag_Environment",
            "production",
        ),
        (
            "__meta_elasticache_cache_cluster_tag_Application",
            "web-app",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([
        ("__meta_elasticache_cache_cluster_node_id".into(), n.into()),
        (
            "__meta_elasticache_cache_cluster_node_status".into(),
            "available".into(),
        ),
        (
            "__meta_elasticache_cache_cluster_node_create_time".into(),
            "2024-01-01T00:00:00Z".into(),
        ),
        (
            "__meta_elasticache_cache_cluster_node_availability_zone".into(),
            az.into(),
        ),
        (
            "__meta_elasticache_cache_cluster_node_endpoint_address".into(),
            format!("my-cluster-001.abc123.{n}.use1.cache.amazonaws.com"),
        ),
        (
            "__meta_elasticache_cache_cluster_node_endpoint_port".into(),
            "6379".into(),
        ),
        (
            "__address__".into(),
            format!("my-cluster-001.abc123.{n}.use1.cache.amazonaws.com:6379"),
        ),
    ])
    .collect()
}

fn serverless_labels() -> Labels {
    [
        ("__meta_elasticache_deployment_option", "serverless"),
        ("__meta_elasticache_serverless_cache_arn", SERVERLESS_ARN),
        ("__meta_elasticache_serverless_cache_name", "my-cache"),
        ("__meta_elasticache_serverless_cache_status", "available"),
        ("__meta_elasticache_serverless_cache_engine", "redis"),
        (
            "__meta_elasticache_serverless_cache_full_engine_version",
            "7.1",
        ),
        (
            "__meta_elasticache_serverless_cache_major_engine_version",
            "7",
        ),
        (
            "__meta_elasticache_serverless_cache_create_time",
            "2024-01-01T00:00:00Z",
        ),
        (
            "__meta_elasticache_serverless_cache_endpoint_address",
            "my-cache.serverless.use1.cache.amazonaws.com",
        ),
        ("__meta_elasticache_serverless_cache_endpoint_port", "6379"),
        (
            "__meta_elasticache_serverless_cache_endpoint_reader_address",
            "my-cache-ro.serverless.use1.cache.amazonaws.com",
        ),
        (
            "__meta_elasticache_serverless_cache_endpoint_reader_port",
            "6379",
        ),
        (
            "__meta_elasticache_serverless_cache_security_group_id_0",
            "sg-12345",
        ),
        (
            "__meta_elasticache_serverless_cache_subnet_id_0",
            "subnet-abcdef",
        ),
        (
            "__meta_elasticache_serverless_cache_cache_usage_limit_data_storagemaximum",
            "10",
        ),
        (
            "__meta_elasticache_serverless_cache_cache_usage_limit_data_storageminimum",
            "1",
        ),
        (
            "__meta_elasticache_serverless_cache_cache_usage_limit_data_storageunit",
            "GB",
        ),
        (
            "__meta_elasticache_serverless_cache_cache_usage_limit_ecpu_per_secondmaximum",
            "5000",
        ),
        (
            "__meta_elasticache_serverless_cache_cache_usage_limit_ecpu_per_secondminimum",
            "1000",
        ),
        (
            "__meta_elasticache_serverless_cache_tag_Environment",
            "test",
        ),
        (
            "__address__",
            "my-cache.serverless.use1.cache.amazonaws.com:6379",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn upstream_cases() {
    let f = Fixture::start(&[(AK, SK)], responder());
    let yaml = |region: &str| {
        format!("scrape_configs:\n  - job_name: ec\n    elasticache_sd_configs:\n      - region: {region}\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n", f.url)
    };
    let got = check_sd(&yaml("us-east-1"), "ec", &[]).unwrap();
    let mut expected: Vec<Labels> = vec![
        serverless_labels(),
        node_labels("0001", "us-east-1a").into_iter().collect(),
        node_labels("0002", "us-east-1b").into_iter().collect(),
    ];
    expected.sort();
    assert_eq!(got, expected);

    // The status fields left out: the targets stay, without those labels.
    let got = check_sd(&yaml("nil-status"), "ec", &[]).unwrap();
    let mut without: Vec<Labels> = expected
        .iter()
        .cloned()
        .map(|mut l| {
            l.remove("__meta_elasticache_serverless_cache_status");
            l.remove("__meta_elasticache_cache_cluster_cache_cluster_status");
            l
        })
        .collect();
    without.sort();
    assert_eq!(got, without);
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());

    // `clusters` through aws_sd_configs role elasticache: the serverless cache by name.
    let f2 = Fixture::start(&[(AK, SK)], responder());
    let yaml = format!("scrape_configs:\n  - job_name: aws\n    aws_sd_configs:\n      - role: elasticache\n        region: us-east-1\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n        clusters: [\"{SERVERLESS_ARN}\"]\n", f2.url);
    let got = check_sd(&yaml, "aws", &[]).unwrap();
    assert_eq!(got, expected);
    assert!(f2
        .calls()
        .iter()
        .any(|c| c.param("ServerlessCacheName") == Some("my-cache")));
}
