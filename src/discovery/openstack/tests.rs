//! Prometheus' OpenStack tables (discovery/openstack/*_test.go) against `targets`, on the
//! answers of its `mock_test.go`; the config's checks; Keystone's request bodies and choices.

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::{
    FloatingIpPage, HypervisorPage, ListenerPage, LoadBalancerPage, PortPage, ServerPage,
    TokenResponse, VersionsDocument,
};
use super::keystone::{self, AuthOptions, IdentityVersion};
use super::targets;
use super::OpenstackSdConfig;

macro_rules! testdata {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mechanisms/openstack/",
            $file
        ))
    };
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// hypervisor_test.go, TestOpenstackSDHypervisorRefresh (port 0, as its config leaves it).
#[test]
fn hypervisor_refresh() {
    let page: HypervisorPage = serde_json::from_str(testdata!("hypervisors.json")).unwrap();
    let got: Vec<_> = targets::hypervisor_targets(&page.hypervisors, 0)
        .unwrap()
        .iter()
        .map(labels_map)
        .collect();
    let want = vec![
        labels(&[
            ("__address__", "172.16.70.14:0"),
            ("__meta_openstack_hypervisor_hostname", "nc14.cloud.com"),
            ("__meta_openstack_hypervisor_type", "QEMU"),
            ("__meta_openstack_hypervisor_host_ip", "172.16.70.14"),
            ("__meta_openstack_hypervisor_state", "up"),
            ("__meta_openstack_hypervisor_status", "enabled"),
            ("__meta_openstack_hypervisor_id", "1"),
        ]),
        labels(&[
            ("__address__", "172.16.70.13:0"),
            ("__meta_openstack_hypervisor_hostname", "cc13.cloud.com"),
            ("__meta_openstack_hypervisor_type", "QEMU"),
            ("__meta_openstack_hypervisor_host_ip", "172.16.70.13"),
            ("__meta_openstack_hypervisor_state", "up"),
            ("__meta_openstack_hypervisor_status", "enabled"),
            ("__meta_openstack_hypervisor_id", "721"),
        ]),
    ];
    assert_eq!(got, want);
}

#[test]
fn hypervisor_id_may_be_a_uuid_but_not_an_object() {
    let page: HypervisorPage = serde_json::from_str(
        r#"{"hypervisors": [{"id": "b1e43b5f-eec1-44e0-9f10-7b4945c0226d", "host_ip": "::1"}]}"#,
    )
    .unwrap();
    let got = targets::hypervisor_targets(&page.hypervisors, 9100).unwrap();
    assert_eq!(got[0].get("__address__"), Some("[::1]:9100"));
    assert_eq!(
        got[0].get("__meta_openstack_hypervisor_id"),
        Some("b1e43b5f-eec1-44e0-9f10-7b4945c0226d")
    );
    let page: HypervisorPage = serde_json::from_str(r#"{"hypervisors": [{"id": {}}]}"#).unwrap();
    assert!(targets::hypervisor_targets(&page.hypervisors, 80).is_err());
}

/// The rows of instance_test.go, TestOpenstackSDInstanceRefresh.
pub fn instance_table() -> Vec<BTreeMap<String, String>> {
    let common = |pairs: &[(&str, &str)], project: &str| {
        let mut l = labels(pairs);
        l.insert("__meta_openstack_instance_status".into(), "ACTIVE".into());
        l.insert("__meta_openstack_address_pool".into(), "private".into());
        l.insert("__meta_openstack_project_id".into(), project.into());
        l.insert(
            "__meta_openstack_user_id".into(),
            "9349aff8be7545ac9d2f1d00999a23cd".into(),
        );
        l
    };
    let p1 = "fcad67a6189847c4aecfa3c81a05783b";
    let p2 = "b78fef2305934dbbbeb9a10b4c326f7a";
    vec![
        common(
            &[
                ("__address__", "10.0.0.32:0"),
                ("__meta_openstack_instance_flavor", "1"),
                (
                    "__meta_openstack_instance_id",
                    "ef079b0c-e610-4dfb-b1aa-b49f07ac48e5",
                ),
                (
                    "__meta_openstack_instance_image",
                    "f90f6034-2570-4974-8351-6b49732ef2eb",
                ),
                ("__meta_openstack_instance_name", "herp"),
                ("__meta_openstack_private_ip", "10.0.0.32"),
                ("__meta_openstack_public_ip", "10.10.10.2"),
            ],
            p1,
        ),
        common(
            &[
                ("__address__", "10.0.0.31:0"),
                ("__meta_openstack_instance_flavor", "m1.medium"),
                (
                    "__meta_openstack_instance_id",
                    "9e5476bd-a4ec-4653-93d6-72c93aa682ba",
                ),
                (
                    "__meta_openstack_instance_image",
                    "f90f6034-2570-4974-8351-6b49732ef2eb",
                ),
                ("__meta_openstack_instance_name", "derp"),
                ("__meta_openstack_private_ip", "10.0.0.31"),
            ],
            p1,
        ),
        common(
            &[
                ("__address__", "10.0.0.33:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "9e5476bd-a4ec-4653-93d6-72c93aa682bb",
                ),
                ("__meta_openstack_instance_name", "merp"),
                ("__meta_openstack_private_ip", "10.0.0.33"),
                ("__meta_openstack_tag_env", "prod"),
            ],
            p1,
        ),
        common(
            &[
                ("__address__", "10.0.0.34:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "9e5476bd-a4ec-4653-93d6-72c93aa682bb",
                ),
                ("__meta_openstack_instance_name", "merp"),
                ("__meta_openstack_private_ip", "10.0.0.34"),
                ("__meta_openstack_tag_env", "prod"),
                ("__meta_openstack_public_ip", "10.10.10.4"),
            ],
            p1,
        ),
        common(
            &[
                ("__address__", "10.0.0.33:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "87caf8ed-d92a-41f6-9dcd-d1399e39899f",
                ),
                ("__meta_openstack_instance_name", "merp-project2"),
                ("__meta_openstack_private_ip", "10.0.0.33"),
                ("__meta_openstack_tag_env", "prod"),
            ],
            p2,
        ),
        common(
            &[
                ("__address__", "10.0.0.34:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "87caf8ed-d92a-41f6-9dcd-d1399e39899f",
                ),
                ("__meta_openstack_instance_name", "merp-project2"),
                ("__meta_openstack_private_ip", "10.0.0.34"),
                ("__meta_openstack_tag_env", "prod"),
                ("__meta_openstack_public_ip", "10.10.10.24"),
            ],
            p2,
        ),
    ]
}

/// instance_test.go, TestOpenstackSDInstanceRefresh (port 0).
#[test]
fn instance_refresh() {
    let ports: PortPage = serde_json::from_str(testdata!("ports.json")).unwrap();
    let fips: FloatingIpPage = serde_json::from_str(testdata!("floatingips.json")).unwrap();
    let servers: ServerPage = serde_json::from_str(testdata!("servers.json")).unwrap();
    let floating = targets::FloatingIps::new(&ports.ports, &fips.floatingips);
    let got: Vec<_> =
        targets::instance_targets(&servers.servers, &floating, 0, &mut Default::default())
            .iter()
            .map(labels_map)
            .collect();
    assert_eq!(got, instance_table());
}

#[test]
fn instance_metadata_keys_are_sanitized_and_bad_flavors_skipped() {
    let servers: ServerPage = serde_json::from_str(
        r#"{"servers": [
            {"id": "a", "flavor": {"id": 7}, "addresses": {"net": [{"addr": "10.0.0.1"}]}},
            {"id": "b", "flavor": {"id": "f"}, "metadata": {"my-key.x": "v"},
             "addresses": {"net": "bad", "net2": [{"addr": 5}, "bad", {"addr": "fe80::1"}]}}
        ]}"#,
    )
    .unwrap();
    let floating = targets::FloatingIps::new(&[], &[]);
    let got = targets::instance_targets(&servers.servers, &floating, 9100, &mut Default::default());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].get("__address__"), Some("[fe80::1]:9100"));
    assert_eq!(got[0].get("__meta_openstack_tag_my_key_x"), Some("v"));
    assert_eq!(got[0].get("__meta_openstack_address_pool"), Some("net2"));
    assert_eq!(got[0].get("__meta_openstack_instance_image"), None);
}

/// The rows of loadbalancer_test.go, TestOpenstackSDLoadBalancerRefresh.
pub fn loadbalancer_table() -> Vec<BTreeMap<String, String>> {
    let lb = |pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.insert(
            "__meta_openstack_loadbalancer_operating_status".into(),
            "ONLINE".into(),
        );
        l.insert(
            "__meta_openstack_loadbalancer_provisioning_status".into(),
            "ACTIVE".into(),
        );
        l.insert(
            "__meta_openstack_loadbalancer_provider".into(),
            "amphora".into(),
        );
        l
    };
    vec![
        lb(&[
            ("__address__", "10.0.0.32:9273"),
            (
                "__meta_openstack_loadbalancer_id",
                "ef079b0c-e610-4dfb-b1aa-b49f07ac48e5",
            ),
            ("__meta_openstack_loadbalancer_name", "lb1"),
            ("__meta_openstack_loadbalancer_availability_zone", "az1"),
            ("__meta_openstack_loadbalancer_floating_ip", "192.168.1.2"),
            ("__meta_openstack_loadbalancer_vip", "10.0.0.32"),
            ("__meta_openstack_loadbalancer_tags", "tag1,tag2"),
            (
                "__meta_openstack_project_id",
                "fcad67a6189847c4aecfa3c81a05783b",
            ),
        ]),
        lb(&[
            ("__address__", "10.0.2.78:8080"),
            (
                "__meta_openstack_loadbalancer_id",
                "d92c471e-8d3e-4b9f-b2b5-9c72a9e3ef54",
            ),
            ("__meta_openstack_loadbalancer_name", "lb3"),
            ("__meta_openstack_loadbalancer_availability_zone", "az3"),
            ("__meta_openstack_loadbalancer_floating_ip", "192.168.3.4"),
            ("__meta_openstack_loadbalancer_vip", "10.0.2.78"),
            ("__meta_openstack_loadbalancer_tags", "tag5,tag6"),
            (
                "__meta_openstack_project_id",
                "ac57f03dba1a4fdebff3e67201bc7a85",
            ),
        ]),
        lb(&[
            ("__address__", "10.0.3.99:9090"),
            (
                "__meta_openstack_loadbalancer_id",
                "f5c7e918-df38-4a5a-a7d4-d9c27ab2cf67",
            ),
            ("__meta_openstack_loadbalancer_name", "lb4"),
            ("__meta_openstack_loadbalancer_availability_zone", "az1"),
            ("__meta_openstack_loadbalancer_floating_ip", "192.168.4.5"),
            ("__meta_openstack_loadbalancer_vip", "10.0.3.99"),
            (
                "__meta_openstack_project_id",
                "fa8c372dfe4d4c92b0c4e3a2d9b3c9fa",
            ),
        ]),
        lb(&[
            ("__address__", "10.0.4.88:9876"),
            (
                "__meta_openstack_loadbalancer_id",
                "e83a6d92-7a3e-4567-94b3-20c83b32a75e",
            ),
            ("__meta_openstack_loadbalancer_name", "lb5"),
            ("__meta_openstack_loadbalancer_availability_zone", "az4"),
            ("__meta_openstack_loadbalancer_vip", "10.0.4.88"),
            (
                "__meta_openstack_project_id",
                "a5d3b2e1e6f34cd9a5f7c2f01a6b8e29",
            ),
        ]),
    ]
}

/// loadbalancer_test.go, TestOpenstackSDLoadBalancerRefresh.
#[test]
fn loadbalancer_refresh() {
    let lbs: LoadBalancerPage = serde_json::from_str(testdata!("loadbalancers.json")).unwrap();
    let listeners: ListenerPage = serde_json::from_str(testdata!("listeners.json")).unwrap();
    let fips: FloatingIpPage = serde_json::from_str(testdata!("floatingips.json")).unwrap();
    let got: Vec<_> =
        targets::loadbalancer_targets(&lbs.loadbalancers, &listeners.listeners, &fips.floatingips)
            .iter()
            .map(labels_map)
            .collect();
    assert_eq!(got, loadbalancer_table());
}

fn config(yaml: &str) -> Result<OpenstackSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_checks() {
    let c = config("role: instance\nregion: RegionOne\n").unwrap();
    assert_eq!(c.port, 80);
    assert_eq!(c.availability, "public");
    assert_eq!(c.refresh_interval.as_std().as_secs(), 60);
    assert!(!c.all_tenants);
    // config_test.go's openstack_role.bad.yml and openstack_availability.bad.yml.
    assert!(config("role: invalid\n")
        .unwrap_err()
        .contains("unknown OpenStack SD role \"invalid\""));
    assert!(config("availability: invalid\n")
        .unwrap_err()
        .contains("unknown availability invalid, must be one of admin, internal or public"));
    assert!(config("region: r\n")
        .unwrap_err()
        .contains("role missing (one of: instance, hypervisor, loadbalancer)"));
    assert!(config("role: hypervisor\n")
        .unwrap_err()
        .contains("openstack SD configuration requires a region"));
    assert!(
        config("role: hypervisor\nregion: r\nrefresh_interval: 0s\n")
            .unwrap_err()
            .contains("refresh_interval must be greater than 0")
    );
    assert!(config("role: hypervisor\nregion: r\nunknown: 1\n").is_err());
}

fn options(f: impl FnOnce(&mut AuthOptions)) -> AuthOptions {
    let mut o = AuthOptions {
        identity_endpoint: "http://keystone/".into(),
        ..Default::default()
    };
    f(&mut o);
    o
}

#[test]
fn token_request_bodies_are_gophercloud_s() {
    // The upstream tests' credentials: username, password and a domain name, no project.
    let o = options(|o| {
        o.username = "test".into();
        o.password = "test".into();
        o.domain_name = "12345".into();
    });
    assert_eq!(
        o.token_request().unwrap(),
        serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "test", "password": "test", "domain": {"name": "12345"}}}}}})
    );
    // A project name takes the domain into the scope.
    let o = options(|o| {
        o.username = "u".into();
        o.password = "p".into();
        o.domain_id = "d".into();
        o.tenant_name = "proj".into();
    });
    assert_eq!(
        o.token_request().unwrap()["auth"]["scope"],
        serde_json::json!({"project": {"name": "proj", "domain": {"id": "d"}}})
    );
    // A user id, a project id.
    let o = options(|o| {
        o.user_id = "uid".into();
        o.password = "p".into();
        o.tenant_id = "pid".into();
    });
    assert_eq!(
        o.token_request().unwrap(),
        serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"id": "uid", "password": "p"}}},
            "scope": {"project": {"id": "pid"}}}})
    );
    // Application credentials, by id and by name.
    let o = options(|o| {
        o.application_credential_id = "acid".into();
        o.application_credential_secret = "s".into();
    });
    assert_eq!(
        o.token_request().unwrap(),
        serde_json::json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": "acid", "secret": "s"}}}})
    );
    let o = options(|o| {
        o.application_credential_name = "acn".into();
        o.application_credential_secret = "s".into();
        o.username = "u".into();
        o.domain_name = "dn".into();
    });
    assert_eq!(
        o.token_request().unwrap()["auth"]["identity"]["application_credential"],
        serde_json::json!({"name": "acn", "secret": "s", "user": {"name": "u", "domain": {"name": "dn"}}})
    );
    // gophercloud's errors.
    let err = |f: fn(&mut AuthOptions)| options(f).token_request().unwrap_err();
    assert_eq!(err(|_| {}), "You must provide a password to authenticate");
    assert_eq!(
        err(|o| o.password = "p".into()),
        "Exactly one of Username and UserID must be provided for password authentication"
    );
    assert_eq!(
        err(|o| {
            o.password = "p".into();
            o.username = "u".into();
        }),
        "You must provide exactly one of DomainID or DomainName to authenticate by Username"
    );
    assert_eq!(
        err(|o| {
            o.password = "p".into();
            o.user_id = "u".into();
            o.domain_id = "d".into();
        }),
        "DomainID may not be provided when authenticating with a UserID"
    );
    assert_eq!(
        err(|o| o.application_credential_id = "a".into()),
        "You must provide an Application Credential Secret"
    );
    assert_eq!(
        err(|o| {
            o.user_id = "u".into();
            o.password = "p".into();
            o.tenant_name = "t".into();
        }),
        "You must provide exactly one of DomainID or DomainName in a Scope with ProjectName"
    );
}

#[test]
fn auth_options_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map_or(String::new(), |(_, v)| (*v).to_owned())
        }
    };
    assert_eq!(
        AuthOptions::from_env(env(&[])).unwrap_err(),
        "Missing environment variable [OS_AUTH_URL]"
    );
    assert_eq!(
        AuthOptions::from_env(env(&[("OS_AUTH_URL", "http://k/")])).unwrap_err(),
        "Missing one of the following environment variables [OS_USERID, OS_USERNAME]"
    );
    let o = AuthOptions::from_env(env(&[
        ("OS_AUTH_URL", "http://k/v3"),
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "p"),
        ("OS_TENANT_NAME", "t"),
        ("OS_PROJECT_NAME", "proj"),
        ("OS_DOMAIN_NAME", "Default"),
    ]))
    .unwrap();
    assert_eq!(o.identity_endpoint, "http://k/v3");
    assert_eq!(o.tenant_name, "proj");
}

#[test]
fn identity_versions_are_chosen_as_gophercloud_does() {
    assert_eq!(
        keystone::base_endpoint("http://k:5000/identity/v3?x=1").unwrap(),
        "http://k:5000/identity/"
    );
    assert_eq!(
        keystone::base_endpoint("http://k:5000").unwrap(),
        "http://k:5000/"
    );
    assert_eq!(
        keystone::version_of_endpoint("http://k:5000/v3"),
        Some((IdentityVersion::V3, "http://k:5000/v3/".to_owned()))
    );
    assert_eq!(keystone::version_of_endpoint("http://k:5000/"), None);
    let doc: VersionsDocument = serde_json::from_str(
        &testdata!("versions.json")
            .replace("{v3}", "http://k/v3/")
            .replace("{v2}", "http://k/v2.0/"),
    )
    .unwrap();
    assert_eq!(
        keystone::choose_version("http://k/", "http://k/", &doc).unwrap(),
        (IdentityVersion::V3, "http://k/v3/".to_owned())
    );
    // An endpoint equal to a version's link wins over priority.
    assert_eq!(
        keystone::choose_version("http://k/v2.0", "http://k/", &doc).unwrap(),
        (IdentityVersion::V2, "http://k/v2.0/".to_owned())
    );
    let empty = VersionsDocument::default();
    assert_eq!(
        keystone::choose_version("http://k/", "http://k/", &empty).unwrap_err(),
        "no supported version available from endpoint http://k/"
    );
}

#[test]
fn catalog_endpoints_by_type_interface_and_region() {
    let token: TokenResponse =
        serde_json::from_str(&testdata!("token.json").replace("{endpoint}", "http://nova:8774"))
            .unwrap();
    let catalog = &token.token.catalog;
    assert_eq!(
        keystone::endpoint_url(catalog, "compute", "public", "RegionOne").unwrap(),
        "http://nova:8774/"
    );
    assert_eq!(
        keystone::endpoint_url(catalog, "identity", "admin", "RegionOne").unwrap(),
        "http://localhost:35357/"
    );
    assert_eq!(
        keystone::endpoint_url(catalog, "compute", "internal", "RegionOne").unwrap_err(),
        "No suitable endpoint could be found in the service catalog."
    );
    assert!(keystone::endpoint_url(catalog, "compute", "public", "RegionTwo").is_err());
}
