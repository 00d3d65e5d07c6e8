//! ElastiCache through the CLI: Prometheus' elasticache_test.go `TestAddServerlessCacheTargets`
//! and `TestAddCacheClusterTargets` (`CacheClusterWithMultipleNodes`) inputs served as
//! DescribeServerlessCaches / DescribeCacheClusters / ListTagsForResource XML;
//! `TestElasticacheRefreshFullyPopulated` and every `TestElasticacheRefresh*NilOptionalFields`
//! variant (the field left out of the XML, the target kept without that label) from a store
//! served as ElastiCache does (a cluster outside a replication group is in both
//! DescribeCacheClusters answers); `NextToken` / `Marker` pages that must be followed.

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

const FP_SERVERLESS_ARN: &str =
    "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:my-cache";

/// Upstream's `fullyPopulatedServerlessCache` as a DescribeServerlessCaches member.
fn fp_serverless(name: &str, arn: &str) -> String {
    format!("<member><ARN>{arn}</ARN><ServerlessCacheName>{name}</ServerlessCacheName><Status>available</Status><Engine>redis</Engine><FullEngineVersion>7.1</FullEngineVersion><MajorEngineVersion>7</MajorEngineVersion><Endpoint><Address>{name}.serverless.use1.cache.amazonaws.com</Address><Port>6379</Port></Endpoint></member>")
}

/// Upstream's `fullyPopulatedCacheCluster`, optionally in a replication group.
fn fp_cluster(id: &str, group: Option<&str>) -> String {
    let group = group
        .map(|g| format!("<ReplicationGroupId>{g}</ReplicationGroupId>"))
        .unwrap_or_default();
    format!("<CacheCluster><ARN>arn:aws:elasticache:us-east-1:123456789012:cluster:{id}</ARN><CacheClusterId>{id}</CacheClusterId><CacheClusterStatus>available</CacheClusterStatus>{group}<CacheNodes><CacheNode><CacheNodeId>0001</CacheNodeId><Endpoint><Address>{id}.abc123.0001.use1.cache.amazonaws.com</Address><Port>6379</Port></Endpoint></CacheNode></CacheNodes></CacheCluster>")
}

/// The XML without its first `<tag>...</tag>` element.
fn without(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open).unwrap();
    let end = xml[start..].find(&close).unwrap() + start + close.len();
    format!("{}{}", &xml[..start], &xml[end..])
}

/// What an ElastiCache endpoint holds: serverless cache members, cache clusters, tags by ARN.
struct Store {
    serverless: Vec<String>,
    clusters: Vec<String>,
    tags: Vec<(String, String)>,
}

/// Serves a store in pages of one: DescribeServerlessCaches with `NextToken`,
/// DescribeCacheClusters with `Marker` (with `ShowCacheClustersNotInReplicationGroups=true`
/// only the clusters without a `ReplicationGroupId`, as ElastiCache answers).
fn store_responder(store: Store) -> Responder {
    Arc::new(move |call: &Call| {
        assert_eq!(call.service, "elasticache");
        assert_eq!(call.param("Version"), Some("2015-02-02"));
        let page = |items: Vec<&String>, token: Option<&str>| -> (String, Option<String>) {
            let i: usize = token.map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
            let body = items.get(i).map(|s| s.to_string()).unwrap_or_default();
            let next = (i + 1 < items.len()).then(|| format!("page-{}", i + 1));
            (body, next)
        };
        match call.action() {
            "DescribeServerlessCaches" => {
                assert_eq!(call.param("MaxResults"), Some("50"));
                let (body, next) = page(store.serverless.iter().collect(), call.param("NextToken"));
                let next = next
                    .map(|n| format!("<NextToken>{n}</NextToken>"))
                    .unwrap_or_default();
                xml(format!("<DescribeServerlessCachesResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><DescribeServerlessCachesResult><ServerlessCaches>{body}</ServerlessCaches>{next}</DescribeServerlessCachesResult></DescribeServerlessCachesResponse>"))
            }
            "DescribeCacheClusters" => {
                assert_eq!(call.param("MaxRecords"), Some("100"));
                assert_eq!(call.param("ShowCacheNodeInfo"), Some("true"));
                let only_outside =
                    call.param("ShowCacheClustersNotInReplicationGroups") == Some("true");
                let items: Vec<&String> = store
                    .clusters
                    .iter()
                    .filter(|c| !only_outside || !c.contains("<ReplicationGroupId>"))
                    .collect();
                let (body, next) = page(items, call.param("Marker"));
                let next = next
                    .map(|n| format!("<Marker>{n}</Marker>"))
                    .unwrap_or_default();
                xml(format!("<DescribeCacheClustersResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><DescribeCacheClustersResult>{next}<CacheClusters>{body}</CacheClusters></DescribeCacheClustersResult></DescribeCacheClustersResponse>"))
            }
            "ListTagsForResource" => {
                let name = call.param("ResourceName").unwrap_or("");
                let tags = store
                    .tags
                    .iter()
                    .find(|(arn, _)| arn == name)
                    .map(|(_, v)| format!("<Tag><Key>Environment</Key><Value>{v}</Value></Tag>"))
                    .unwrap_or_default();
                xml(format!("<ListTagsForResourceResponse><ListTagsForResourceResult><TagList>{tags}</TagList></ListTagsForResourceResult></ListTagsForResourceResponse>"))
            }
            _ => (400, "text/xml", String::new()),
        }
    })
}

fn fp_serverless_labels() -> Labels {
    [
        (
            "__address__",
            "my-cache.serverless.use1.cache.amazonaws.com:6379",
        ),
        ("__meta_elasticache_deployment_option", "serverless"),
        ("__meta_elasticache_serverless_cache_arn", FP_SERVERLESS_ARN),
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
            "__meta_elasticache_serverless_cache_endpoint_address",
            "my-cache.serverless.use1.cache.amazonaws.com",
        ),
        ("__meta_elasticache_serverless_cache_endpoint_port", "6379"),
        (
            "__meta_elasticache_serverless_cache_tag_Environment",
            "test",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn fp_node_labels(id: &str, env: Option<&str>) -> Labels {
    let mut l: Labels = [
        (
            "__address__",
            format!("{id}.abc123.0001.use1.cache.amazonaws.com:6379"),
        ),
        ("__meta_elasticache_deployment_option", "node".into()),
        (
            "__meta_elasticache_cache_cluster_arn",
            format!("arn:aws:elasticache:us-east-1:123456789012:cluster:{id}"),
        ),
        (
            "__meta_elasticache_cache_cluster_cache_cluster_id",
            id.into(),
        ),
        (
            "__meta_elasticache_cache_cluster_cache_cluster_status",
            "available".into(),
        ),
        ("__meta_elasticache_cache_cluster_node_id", "0001".into()),
        (
            "__meta_elasticache_cache_cluster_node_endpoint_address",
            format!("{id}.abc123.0001.use1.cache.amazonaws.com"),
        ),
        (
            "__meta_elasticache_cache_cluster_node_endpoint_port",
            "6379".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(env) = env {
        l.insert(
            "__meta_elasticache_cache_cluster_tag_Environment".into(),
            env.into(),
        );
    }
    l
}

fn yaml(url: &str) -> String {
    format!("scrape_configs:\n  - job_name: ec\n    elasticache_sd_configs:\n      - region: us-east-1\n        endpoint: {url}\n        access_key: {AK}\n        secret_key: {SK}\n")
}

/// `TestElasticacheRefreshFullyPopulated` (the cluster is in no replication group, so both
/// DescribeCacheClusters calls return it, as upstream notes; `check service-discovery` lists
/// equal results once, as promtool does) and
/// the nine `*NilOptionalFields` variants: each target stays, without exactly the labels of
/// the absent field (the ARN also names the tags, so without it there are none).
#[test]
fn upstream_nil_optional_fields() {
    let cluster_arn = "arn:aws:elasticache:us-east-1:123456789012:cluster:my-cluster-001";
    let full = || Store {
        serverless: vec![fp_serverless("my-cache", FP_SERVERLESS_ARN)],
        clusters: vec![fp_cluster("my-cluster-001", None)],
        tags: vec![
            (FP_SERVERLESS_ARN.into(), "test".into()),
            (cluster_arn.into(), "prod".into()),
        ],
    };
    let f = Fixture::start(&[(AK, SK)], store_responder(full()));
    let node = fp_node_labels("my-cluster-001", Some("prod"));
    let mut expected = vec![fp_serverless_labels(), node];
    expected.sort();
    assert_eq!(
        check_sd(&yaml(&f.url), "ec", &[]).unwrap(),
        expected,
        "FullyPopulated"
    );

    let serverless_cases = [
        (
            "NilARN",
            "ARN",
            vec![
                "__meta_elasticache_serverless_cache_arn",
                "__meta_elasticache_serverless_cache_tag_Environment",
            ],
        ),
        (
            "NilServerlessCacheName",
            "ServerlessCacheName",
            vec!["__meta_elasticache_serverless_cache_name"],
        ),
        (
            "NilStatus",
            "Status",
            vec!["__meta_elasticache_serverless_cache_status"],
        ),
        (
            "NilEngine",
            "Engine",
            vec!["__meta_elasticache_serverless_cache_engine"],
        ),
        (
            "NilFullEngineVersion",
            "FullEngineVersion",
            vec!["__meta_elasticache_serverless_cache_full_engine_version"],
        ),
        (
            "NilMajorEngineVersion",
            "MajorEngineVersion",
            vec!["__meta_elasticache_serverless_cache_major_engine_version"],
        ),
    ];
    for (name, field, absent) in serverless_cases {
        let mut store = full();
        store.serverless = vec![without(&store.serverless[0], field)];
        store.clusters.clear();
        f.set_responder(store_responder(store));
        let mut want = fp_serverless_labels();
        for label in absent {
            assert!(want.remove(label).is_some(), "{name}: {label}");
        }
        assert_eq!(
            check_sd(&yaml(&f.url), "ec", &[]).unwrap(),
            vec![want],
            "serverless {name}"
        );
    }
    let cluster_cases = [
        (
            "NilARN",
            "ARN",
            vec![
                "__meta_elasticache_cache_cluster_arn",
                "__meta_elasticache_cache_cluster_tag_Environment",
            ],
        ),
        (
            "NilCacheClusterId",
            "CacheClusterId",
            vec!["__meta_elasticache_cache_cluster_cache_cluster_id"],
        ),
        (
            "NilCacheClusterStatus",
            "CacheClusterStatus",
            vec!["__meta_elasticache_cache_cluster_cache_cluster_status"],
        ),
    ];
    for (name, field, absent) in cluster_cases {
        let mut store = full();
        store.serverless.clear();
        store.clusters = vec![without(&store.clusters[0], field)];
        f.set_responder(store_responder(store));
        let mut want = fp_node_labels("my-cluster-001", Some("prod"));
        for label in absent {
            assert!(want.remove(label).is_some(), "{name}: {label}");
        }
        assert_eq!(
            check_sd(&yaml(&f.url), "ec", &[]).unwrap(),
            vec![want],
            "cache cluster {name}"
        );
    }
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
}

/// Three serverless caches over `NextToken` pages and three clusters (in replication groups)
/// over `Marker` pages: every page is followed and every resource's tags are asked for.
#[test]
fn next_token_and_marker_pages() {
    let names = ["cache-a", "cache-b", "cache-c"];
    let ids = ["cluster-a", "cluster-b", "cluster-c"];
    let arn = |n: &str| format!("arn:aws:elasticache:us-east-1:123456789012:serverlesscache:{n}");
    let store = Store {
        serverless: names.iter().map(|n| fp_serverless(n, &arn(n))).collect(),
        clusters: ids.iter().map(|id| fp_cluster(id, Some("rg"))).collect(),
        tags: ids
            .iter()
            .map(|id| {
                (
                    format!("arn:aws:elasticache:us-east-1:123456789012:cluster:{id}"),
                    id.to_string(),
                )
            })
            .collect(),
    };
    let f = Fixture::start(&[(AK, SK)], store_responder(store));
    let got = check_sd(&yaml(&f.url), "ec", &[]).unwrap();
    let mut expected: Vec<Labels> = names
        .iter()
        .map(|n| {
            [
                (
                    "__address__",
                    format!("{n}.serverless.use1.cache.amazonaws.com:6379"),
                ),
                ("__meta_elasticache_deployment_option", "serverless".into()),
                ("__meta_elasticache_serverless_cache_arn", arn(n)),
                ("__meta_elasticache_serverless_cache_name", n.to_string()),
                (
                    "__meta_elasticache_serverless_cache_status",
                    "available".into(),
                ),
                ("__meta_elasticache_serverless_cache_engine", "redis".into()),
                (
                    "__meta_elasticache_serverless_cache_full_engine_version",
                    "7.1".into(),
                ),
                (
                    "__meta_elasticache_serverless_cache_major_engine_version",
                    "7".into(),
                ),
                (
                    "__meta_elasticache_serverless_cache_endpoint_address",
                    format!("{n}.serverless.use1.cache.amazonaws.com"),
                ),
                (
                    "__meta_elasticache_serverless_cache_endpoint_port",
                    "6379".into(),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        })
        .chain(ids.iter().map(|id| {
            let mut l = fp_node_labels(id, Some(id));
            l.insert(
                "__meta_elasticache_cache_cluster_replication_group_id".into(),
                "rg".into(),
            );
            l
        }))
        .collect();
    expected.sort();
    assert_eq!(got, expected);
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
    let calls = f.calls();
    let tokens: Vec<&str> = calls
        .iter()
        .filter(|c| c.action() == "DescribeServerlessCaches")
        .filter_map(|c| c.param("NextToken"))
        .collect();
    assert!(
        tokens.contains(&"page-1") && tokens.contains(&"page-2"),
        "{tokens:?}"
    );
    let markers: Vec<&str> = calls
        .iter()
        .filter(|c| c.action() == "DescribeCacheClusters")
        .filter_map(|c| c.param("Marker"))
        .collect();
    assert!(
        markers.contains(&"page-1") && markers.contains(&"page-2"),
        "{markers:?}"
    );
}
