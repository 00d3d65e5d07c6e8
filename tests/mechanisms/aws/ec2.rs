//! EC2 through `promsd check service-discovery`: Prometheus' `TestEC2DiscoveryRefresh` cases
//! (discovery/aws/ec2_test.go) served as DescribeInstances XML by the signing-verifying
//! fixture, pagination, filters on the wire, credentials from the environment, shared files,
//! STS AssumeRole, the region from instance metadata, and throttling through `promsd run`.

use std::sync::Arc;

use super::fixture::*;

const AK: &str = "AKIDEXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn az_xml(zones: &[(&str, &str)]) -> String {
    let items: String = zones
        .iter()
        .map(|(name, id)| {
            format!("<item><zoneState>available</zoneState><regionName>r</regionName><zoneName>{name}</zoneName><zoneId>{id}</zoneId></item>")
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><availabilityZoneInfo>{items}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>"#
    )
}

fn instances_xml(owner: &str, instances: &[&str], next: Option<&str>) -> String {
    let next = next
        .map(|t| format!("<nextToken>{t}</nextToken>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1234567890abcdef0</reservationId>
      <ownerId>{owner}</ownerId>
      <groupSet/>
      <instancesSet>{}</instancesSet>
    </item>
  </reservationSet>{next}
</DescribeInstancesResponse>"#,
        instances.concat()
    )
}

/// An instance (ec2_test.go's fields; `state` also drives the fixture's state filter).
const NOPRIVATEIP: &str = "<item><instanceId>instance-id-noprivateip</instanceId></item>";

const NOVPC: &str = r#"<item>
  <instanceId>instance-id-novpc</instanceId>
  <imageId>ami-novpc</imageId>
  <instanceState><code>16</code><name>running</name></instanceState>
  <privateDnsName>private-dns-novpc</privateDnsName>
  <dnsName>public-dns-novpc</dnsName>
  <instanceType>instance-type-novpc</instanceType>
  <placement><availabilityZone>azname-b</availabilityZone><tenancy>default</tenancy></placement>
  <platform>platform-novpc</platform>
  <privateIpAddress>1.2.3.4</privateIpAddress>
  <ipAddress>42.42.42.2</ipAddress>
  <architecture>architecture-novpc</architecture>
  <instanceLifecycle>instance-lifecycle-novpc</instanceLifecycle>
  <tagSet>
    <item><key>tag-1-key</key><value>tag-1-value</value></item>
    <item><key>tag-2-key</key><value>tag-2-value</value></item>
    <item></item>
    <item><value>tag-4-value</value></item>
    <item><key>tag-5-key</key></item>
  </tagSet>
</item>"#;

const IPV4: &str = r#"<item>
  <instanceId>instance-id-ipv4</instanceId>
  <imageId>ami-ipv4</imageId>
  <instanceState><code>16</code><name>running</name></instanceState>
  <instanceType>instance-type-ipv4</instanceType>
  <placement><availabilityZone>azname-c</availabilityZone></placement>
  <subnetId>azid-3</subnetId>
  <vpcId>vpc-ipv4</vpcId>
  <privateIpAddress>5.6.7.8</privateIpAddress>
  <networkInterfaceSet>
    <item><ipv6AddressesSet><item><ipv6Address>2001:db8:1::1</ipv6Address><isPrimaryIpv6>true</isPrimaryIpv6></item></ipv6AddressesSet></item>
    <item><subnetId>azid-3</subnetId><ipv6AddressesSet/></item>
    <item><subnetId>azid-1</subnetId><ipv6AddressesSet/></item>
  </networkInterfaceSet>
</item>"#;

const IPV6: &str = r#"<item>
  <instanceId>instance-id-ipv6</instanceId>
  <imageId>ami-ipv6</imageId>
  <instanceState><code>16</code><name>running</name></instanceState>
  <instanceType>instance-type-ipv6</instanceType>
  <placement><availabilityZone>azname-b</availabilityZone></placement>
  <subnetId>azid-2</subnetId>
  <vpcId>vpc-ipv6</vpcId>
  <privateIpAddress>9.10.11.12</privateIpAddress>
  <networkInterfaceSet>
    <item>
      <subnetId>azid-2</subnetId>
      <attachment><deviceIndex>3</deviceIndex></attachment>
      <ipv6AddressesSet><item><ipv6Address>2001:db8:2::1:1</ipv6Address><isPrimaryIpv6>false</isPrimaryIpv6></item></ipv6AddressesSet>
    </item>
    <item>
      <subnetId>azid-2</subnetId>
      <attachment><deviceIndex>1</deviceIndex></attachment>
      <ipv6AddressesSet>
        <item><ipv6Address>2001:db8:2::2:1</ipv6Address><isPrimaryIpv6>false</isPrimaryIpv6></item>
        <item><ipv6Address>2001:db8:2::2:2</ipv6Address><isPrimaryIpv6>true</isPrimaryIpv6></item>
      </ipv6AddressesSet>
    </item>
    <item>
      <subnetId>azid-1</subnetId>
      <attachment><deviceIndex>3</deviceIndex></attachment>
      <ipv6AddressesSet><item><ipv6Address>2001:db8:2::3:1</ipv6Address><isPrimaryIpv6>true</isPrimaryIpv6></item></ipv6AddressesSet>
    </item>
    <item>
      <subnetId>azid-3</subnetId>
      <attachment><deviceIndex>0</deviceIndex></attachment>
      <ipv6AddressesSet/>
    </item>
  </networkInterfaceSet>
</item>"#;

const IPV6_ONLY: &str = r#"<item>
  <instanceId>instance-id-ipv6-only</instanceId>
  <imageId>ami-ipv6-only</imageId>
  <instanceState><code>16</code><name>running</name></instanceState>
  <instanceType>instance-type-ipv6-only</instanceType>
  <placement><availabilityZone>azname-b</availabilityZone></placement>
  <subnetId>azid-2</subnetId>
  <vpcId>vpc-ipv6-only</vpcId>
  <networkInterfaceSet>
    <item>
      <subnetId>azid-2</subnetId>
      <attachment><deviceIndex>0</deviceIndex></attachment>
      <ipv6AddressesSet><item><ipv6Address>2001:db8:2::1:1</ipv6Address><isPrimaryIpv6>false</isPrimaryIpv6></item></ipv6AddressesSet>
    </item>
  </networkInterfaceSet>
</item>"#;

fn filter_instance(n: u32, ip: &str, state: &str) -> String {
    format!(
        r#"<item>
  <instanceId>instance-filter-{n}</instanceId>
  <imageId>ami-filter-{n}</imageId>
  <instanceState><name>{state}</name></instanceState>
  <instanceType>instance-type-filter</instanceType>
  <placement><availabilityZone>azname-a</availabilityZone></placement>
  <privateIpAddress>{ip}</privateIpAddress>
</item>"#
    )
}

const ABC: &[(&str, &str)] = &[
    ("azname-a", "azid-1"),
    ("azname-b", "azid-2"),
    ("azname-c", "azid-3"),
];

/// What the fixture serves for one region: its zones, owner and instances.
fn region_data(region: &str) -> (Vec<(&'static str, &'static str)>, &'static str, Vec<String>) {
    match region {
        "region-noprivateip" => (ABC.to_vec(), "", vec![NOPRIVATEIP.to_owned()]),
        "region-novpc" => (ABC.to_vec(), "owner-id-novpc", vec![NOVPC.to_owned()]),
        "region-ipv4" => (ABC.to_vec(), "", vec![IPV4.to_owned()]),
        "region-ipv6" => (ABC.to_vec(), "", vec![IPV6.to_owned()]),
        "region-ipv6-only" => (ABC.to_vec(), "", vec![IPV6_ONLY.to_owned()]),
        "region-filter-match" => (
            vec![("azname-a", "azid-1")],
            "",
            vec![
                filter_instance(1, "10.0.0.1", "running"),
                filter_instance(2, "10.0.0.2", "stopped"),
            ],
        ),
        "region-filter-none" => (
            vec![("azname-a", "azid-1")],
            "",
            vec![
                filter_instance(1, "10.0.1.1", "running"),
                filter_instance(2, "10.0.1.2", "stopped"),
            ],
        ),
        _ => (Vec::new(), "", Vec::new()),
    }
}

/// Serves [`region_data`] as the ec2_test.go mock does: the `instance-state-name` filter
/// applied, the other filters ignored; all instances in one reservation of one page.
fn ec2_responder() -> Responder {
    Arc::new(|call: &Call| {
        assert_eq!(call.service, "ec2");
        assert_eq!(call.param("Version"), Some("2016-11-15"));
        let (zones, owner, instances) = region_data(&call.region);
        match call.action() {
            "DescribeAvailabilityZones" => xml(az_xml(&zones)),
            "DescribeInstances" => {
                let mut states: Vec<&str> = Vec::new();
                let mut i = 1;
                while let Some(name) = call.param(&format!("Filter.{i}.Name")) {
                    if name == "instance-state-name" {
                        let mut j = 1;
                        while let Some(v) = call.param(&format!("Filter.{i}.Value.{j}")) {
                            states.push(v);
                            j += 1;
                        }
                    }
                    i += 1;
                }
                let kept: Vec<&str> = instances
                    .iter()
                    .filter(|x| {
                        states.is_empty() || states.iter().any(|s| x.contains(&format!("<name>{s}</name>")))
                    })
                    .map(String::as_str)
                    .collect();
                xml(instances_xml(owner, &kept, None))
            }
            other => (400, "text/xml", format!("<Response><Errors><Error><Code>InvalidAction</Code><Message>{other}</Message></Error></Errors></Response>")),
        }
    })
}

fn ec2_config(endpoint: &str, region: &str, extra: &str) -> String {
    format!(
        "scrape_configs:\n  - job_name: ec2\n    ec2_sd_configs:\n      - region: {region}\n        endpoint: {endpoint}\n        access_key: {AK}\n        secret_key: {SK}\n        port: 4242\n{extra}"
    )
}

/// ec2_test.go `TestEC2DiscoveryRefresh`, each case through the CLI.
#[test]
fn upstream_refresh_cases() {
    let fixture = Fixture::start(&[(AK, SK)], ec2_responder());
    let cases: Vec<(&str, &str, Vec<Labels>)> = vec![
        ("NoPrivateIpOrIpv6", "region-noprivateip", vec![]),
        (
            "NoVpc",
            "region-novpc",
            label_sets(&[&[
                ("__address__", "1.2.3.4:4242"),
                ("__meta_ec2_ami", "ami-novpc"),
                ("__meta_ec2_architecture", "architecture-novpc"),
                ("__meta_ec2_availability_zone", "azname-b"),
                ("__meta_ec2_availability_zone_id", "azid-2"),
                ("__meta_ec2_instance_id", "instance-id-novpc"),
                ("__meta_ec2_instance_lifecycle", "instance-lifecycle-novpc"),
                ("__meta_ec2_instance_type", "instance-type-novpc"),
                ("__meta_ec2_instance_state", "running"),
                ("__meta_ec2_owner_id", "owner-id-novpc"),
                ("__meta_ec2_platform", "platform-novpc"),
                ("__meta_ec2_private_dns_name", "private-dns-novpc"),
                ("__meta_ec2_private_ip", "1.2.3.4"),
                ("__meta_ec2_public_dns_name", "public-dns-novpc"),
                ("__meta_ec2_public_ip", "42.42.42.2"),
                ("__meta_ec2_region", "region-novpc"),
                ("__meta_ec2_tag_tag_1_key", "tag-1-value"),
                ("__meta_ec2_tag_tag_2_key", "tag-2-value"),
            ]]),
        ),
        (
            "Ipv4",
            "region-ipv4",
            label_sets(&[&[
                ("__address__", "5.6.7.8:4242"),
                ("__meta_ec2_ami", "ami-ipv4"),
                ("__meta_ec2_availability_zone", "azname-c"),
                ("__meta_ec2_availability_zone_id", "azid-3"),
                ("__meta_ec2_instance_id", "instance-id-ipv4"),
                ("__meta_ec2_instance_state", "running"),
                ("__meta_ec2_instance_type", "instance-type-ipv4"),
                ("__meta_ec2_owner_id", ""),
                ("__meta_ec2_primary_subnet_id", "azid-3"),
                ("__meta_ec2_private_ip", "5.6.7.8"),
                ("__meta_ec2_region", "region-ipv4"),
                ("__meta_ec2_subnet_id", ",azid-3,azid-1,"),
                ("__meta_ec2_vpc_id", "vpc-ipv4"),
            ]]),
        ),
        (
            "Ipv6",
            "region-ipv6",
            label_sets(&[&[
                ("__address__", "9.10.11.12:4242"),
                ("__meta_ec2_ami", "ami-ipv6"),
                ("__meta_ec2_availability_zone", "azname-b"),
                ("__meta_ec2_availability_zone_id", "azid-2"),
                ("__meta_ec2_instance_id", "instance-id-ipv6"),
                ("__meta_ec2_instance_state", "running"),
                ("__meta_ec2_instance_type", "instance-type-ipv6"),
                (
                    "__meta_ec2_ipv6_addresses",
                    ",2001:db8:2::1:1,2001:db8:2::2:1,2001:db8:2::2:2,2001:db8:2::3:1,",
                ),
                ("__meta_ec2_owner_id", ""),
                ("__meta_ec2_default_ipv6_address", "2001:db8:2::2:2"),
                (
                    "__meta_ec2_primary_ipv6_addresses",
                    ",,2001:db8:2::2:2,,2001:db8:2::3:1,",
                ),
                ("__meta_ec2_primary_subnet_id", "azid-2"),
                ("__meta_ec2_private_ip", "9.10.11.12"),
                ("__meta_ec2_region", "region-ipv6"),
                ("__meta_ec2_subnet_id", ",azid-2,azid-1,azid-3,"),
                ("__meta_ec2_vpc_id", "vpc-ipv6"),
            ]]),
        ),
        (
            "Ipv6-Only",
            "region-ipv6-only",
            label_sets(&[&[
                ("__address__", "[2001:db8:2::1:1]:4242"),
                ("__meta_ec2_ami", "ami-ipv6-only"),
                ("__meta_ec2_availability_zone", "azname-b"),
                ("__meta_ec2_availability_zone_id", "azid-2"),
                ("__meta_ec2_instance_id", "instance-id-ipv6-only"),
                ("__meta_ec2_instance_state", "running"),
                ("__meta_ec2_instance_type", "instance-type-ipv6-only"),
                ("__meta_ec2_ipv6_addresses", ",2001:db8:2::1:1,"),
                ("__meta_ec2_owner_id", ""),
                ("__meta_ec2_default_ipv6_address", "2001:db8:2::1:1"),
                ("__meta_ec2_primary_subnet_id", "azid-2"),
                ("__meta_ec2_region", "region-ipv6-only"),
                ("__meta_ec2_subnet_id", ",azid-2,"),
                ("__meta_ec2_vpc_id", "vpc-ipv6-only"),
            ]]),
        ),
    ];
    for (name, region, expected) in cases {
        let got = check_sd(&ec2_config(&fixture.url, region, ""), "ec2", &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, expected, "case {name}");
    }
    let filters =
        "        filters:\n          - name: instance-state-name\n            values: [running]\n";
    let got = check_sd(
        &ec2_config(&fixture.url, "region-filter-match", filters),
        "ec2",
        &[],
    )
    .unwrap();
    assert_eq!(
        got,
        label_sets(&[&[
            ("__address__", "10.0.0.1:4242"),
            ("__meta_ec2_ami", "ami-filter-1"),
            ("__meta_ec2_availability_zone", "azname-a"),
            ("__meta_ec2_availability_zone_id", "azid-1"),
            ("__meta_ec2_instance_id", "instance-filter-1"),
            ("__meta_ec2_instance_state", "running"),
            ("__meta_ec2_instance_type", "instance-type-filter"),
            ("__meta_ec2_owner_id", ""),
            ("__meta_ec2_private_ip", "10.0.0.1"),
            ("__meta_ec2_region", "region-filter-match"),
        ]]),
        "case FiltersMatchSingleInstance"
    );
    let filters = "        filters:\n          - name: instance-state-name\n            values: [terminated]\n";
    let got = check_sd(
        &ec2_config(&fixture.url, "region-filter-none", filters),
        "ec2",
        &[],
    )
    .unwrap();
    assert_eq!(got, Vec::<Labels>::new(), "case FiltersMatchNoInstances");
    assert!(fixture.rejected().is_empty(), "{:?}", fixture.rejected());
    // The wire form of the filters.
    let calls = fixture.calls();
    let call = calls
        .iter()
        .find(|c| c.region == "region-filter-none" && c.action() == "DescribeInstances")
        .unwrap();
    assert_eq!(call.param("Filter.1.Name"), Some("instance-state-name"));
    assert_eq!(call.param("Filter.1.Value.1"), Some("terminated"));
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/");
    assert!(call
        .header("content-type")
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
}

/// `aws_sd_configs` with `role: ec2` is the same discovery.
#[test]
fn aws_sd_configs_role_ec2() {
    let fixture = Fixture::start(&[(AK, SK)], ec2_responder());
    let yaml = format!(
        "scrape_configs:\n  - job_name: aws\n    aws_sd_configs:\n      - role: ec2\n        region: region-ipv6-only\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n        port: 4242\n",
        fixture.url
    );
    let got = check_sd(&yaml, "aws", &[]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["__address__"], "[2001:db8:2::1:1]:4242");
    assert_eq!(got[0]["__meta_ec2_region"], "region-ipv6-only");
}

/// Several DescribeInstances pages, each asked for with the previous page's `NextToken`.
#[test]
fn pages_are_followed() {
    let responder: Responder = Arc::new(|call: &Call| match call.action() {
        "DescribeAvailabilityZones" => xml(az_xml(&[("us-east-1a", "use1-az1")])),
        "DescribeInstances" => {
            let page: usize = match call.param("NextToken") {
                None => 0,
                Some(t) => t.strip_prefix("page/").unwrap().parse().unwrap(),
            };
            let instances: Vec<String> = (0..3)
                .map(|i| {
                    let n = page * 3 + i;
                    format!("<item><instanceId>i-{n}</instanceId><imageId>ami</imageId><placement><availabilityZone>us-east-1a</availabilityZone></placement><instanceState><name>running</name></instanceState><instanceType>t3.micro</instanceType><privateIpAddress>10.0.0.{n}</privateIpAddress></item>")
                })
                .collect();
            let refs: Vec<&str> = instances.iter().map(String::as_str).collect();
            let next = (page < 3).then(|| format!("page/{}", page + 1));
            xml(instances_xml("123456789012", &refs, next.as_deref()))
        }
        _ => (400, "text/xml", String::new()),
    });
    let fixture = Fixture::start(&[(AK, SK)], responder);
    let got = check_sd(&ec2_config(&fixture.url, "us-east-1", ""), "ec2", &[]).unwrap();
    assert_eq!(got.len(), 12);
    assert!(got
        .iter()
        .all(|t| t["__meta_ec2_availability_zone_id"] == "use1-az1"));
    let tokens: Vec<Option<String>> = fixture
        .calls()
        .iter()
        .filter(|c| c.action() == "DescribeInstances")
        .map(|c| c.param("NextToken").map(str::to_owned))
        .collect();
    assert_eq!(
        tokens,
        vec![
            None,
            Some("page/1".into()),
            Some("page/2".into()),
            Some("page/3".into())
        ]
    );
}

/// Without `endpoint`, EC2 is `https://ec2.<region>.amazonaws.com`: reached here as a user
/// behind a corporate proxy reaches it, through `proxy_url` and the proxy's CA in
/// `tls_config.ca_file`; the signature covers the real host.
#[test]
fn real_endpoint_through_an_intercepting_proxy() {
    use crate::support::tls_proxy::{proxy_ca_file, TlsProxy};
    let fixture = Fixture::start(&[(AK, SK)], ec2_responder());
    let backend: std::net::SocketAddr = fixture.url.trim_start_matches("http://").parse().unwrap();
    let proxy = TlsProxy::start(backend);
    let yaml = format!(
        "scrape_configs:\n  - job_name: ec2\n    ec2_sd_configs:\n      - region: region-ipv6-only\n        access_key: {AK}\n        secret_key: {SK}\n        port: 4242\n        proxy_url: {}\n        tls_config:\n          ca_file: {}\n",
        proxy.url(),
        proxy_ca_file().display()
    );
    let got = check_sd(&yaml, "ec2", &[]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["__address__"], "[2001:db8:2::1:1]:4242");
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|s| s.connect == "ec2.region-ipv6-only.amazonaws.com:443"
                && s.sni.as_deref() == Some("ec2.region-ipv6-only.amazonaws.com")),
        "{seen:?}"
    );
    assert!(fixture.rejected().is_empty(), "{:?}", fixture.rejected());
    assert!(fixture
        .calls()
        .iter()
        .all(|c| c.header("host") == Some("ec2.region-ipv6-only.amazonaws.com")));
}
