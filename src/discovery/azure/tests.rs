//! Azure SD's config (Prometheus' defaults, validation order and messages) and the upstream
//! tables of `discovery/azure/azure_test.go` against [`super::targets`].

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api;
use super::targets::{self, Machine, Step};
use super::*;

fn parse(yaml: &str) -> Result<AzureSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

const OAUTH: &str = "subscription_id: s\ntenant_id: t\nclient_id: c\nclient_secret: x\n";

#[test]
fn defaults_are_prometheus_defaults() {
    let c = parse(OAUTH).unwrap();
    assert_eq!(c.environment, "AzurePublicCloud");
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval, Duration::from_secs(300));
    assert_eq!(c.authentication_method, "OAuth");
    assert_eq!(c.resource_group, "");
    assert!(c.http_client_config.follow_redirects && c.http_client_config.enable_http2);
}

#[test]
fn reads_every_key() {
    let c = parse(
        "environment: AzureChinaCloud\nport: 9100\nsubscription_id: s\ntenant_id: t\nclient_id: c\n\
         client_secret: x\nrefresh_interval: 1m\nauthentication_method: OAuth\n\
         resource_group: My-Group\nproxy_url: http://127.0.0.1:3128\n",
    )
    .unwrap();
    assert_eq!(c.environment, "AzureChinaCloud");
    assert_eq!(c.port, 9100);
    assert_eq!(c.client_secret.expose(), "x");
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(c.resource_group, "My-Group");
    assert_eq!(
        c.http_client_config.proxy.proxy_url,
        "http://127.0.0.1:3128"
    );
}

#[test]
fn unknown_keys_are_errors() {
    let e = parse(&format!("{OAUTH}bogus: 1\n")).unwrap_err();
    assert!(e.contains("bogus"), "{e}");
}

/// `config_test.go`'s Azure cases, with their messages, in Prometheus' order.
#[test]
fn validation_as_prometheus() {
    for (yaml, message) in [
        ("tenant_id: t\n", "azure SD configuration requires a subscription_id"),
        ("subscription_id:\ntenant_id: t\nclient_id: c\nclient_secret: x\n", "azure SD configuration requires a subscription_id"),
        ("subscription_id: s\ntenant_id:\nclient_id: c\nclient_secret: x\n", "azure SD configuration requires a tenant_id"),
        ("subscription_id: s\ntenant_id: t\nclient_id:\nclient_secret: x\n", "azure SD configuration requires a client_id"),
        ("subscription_id: s\ntenant_id: t\nclient_id: c\nclient_secret:\n", "azure SD configuration requires a client_secret"),
        (
            "authentication_method: invalid\nsubscription_id: s\n",
            r#"unknown authentication_type "invalid". Supported types are "OAuth", "ManagedIdentity", "SDK" or "WorkloadIdentity""#,
        ),
        (
            &format!("{OAUTH}bearer_token: 1234\nbasic_auth: {{username: user, password: password}}\n"),
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
        ),
        (&format!("{OAUTH}refresh_interval: 0s\n"), "refresh_interval must be greater than 0"),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(message), "{yaml}: {e}");
    }
    for method in ["ManagedIdentity", "SDK", "WorkloadIdentity"] {
        parse(&format!(
            "subscription_id: s\nauthentication_method: {method}\n"
        ))
        .unwrap();
    }
}

#[test]
fn identity_includes_the_secret() {
    let a = parse(OAUTH).unwrap();
    let b = parse(&OAUTH.replace("client_secret: x", "client_secret: y")).unwrap();
    assert_ne!(a.identity(), b.identity());
    assert!(!serde_json::to_string(&a).unwrap().contains("\"x\""));
}

// ---------------------------------------------------------------------------------------------
// Upstream tables (azure_test.go). Their Go structs are written here as the ARM JSON the SDK
// would have decoded them from.

const MOCK_NIC_ID: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/networkInterfaces/{networkInterfaceName}";

fn vm(json: serde_json::Value) -> api::VirtualMachine {
    serde_json::from_value(json).unwrap()
}

fn vm_json(
    tags: serde_json::Value,
    os_disk: serde_json::Value,
    nics: &[&str],
) -> serde_json::Value {
    serde_json::json!({
        "id": "test", "name": "name", "type": "type", "location": "westeurope", "instanceId": "123",
        "tags": tags,
        "properties": {
            "osProfile": {"computerName": "computer_name"},
            "storageProfile": {"osDisk": os_disk},
            "networkProfile": {"networkInterfaces": nics.iter().map(|id| serde_json::json!({"id": id, "properties": {"primary": true}})).collect::<Vec<_>>()},
            "hardwareProfile": {"vmSize": "size"}
        }
    })
}

fn expected(os_type: &str, tags: &[(&str, &str)], scale_set: &str, nics: &[&str]) -> Machine {
    Machine {
        id: "test".into(),
        name: "name".into(),
        computer_name: "computer_name".into(),
        kind: "type".into(),
        location: "westeurope".into(),
        os_type: os_type.into(),
        scale_set: scale_set.into(),
        instance_id: if scale_set.is_empty() {
            String::new()
        } else {
            "123".into()
        },
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        network_interfaces: nics.iter().map(|s| s.to_string()).collect(),
        size: "size".into(),
    }
}

/// `TestMapFromVMWithEmptyTags`, `TestMapFromVMWithEmptyOSType`, `TestMapFromVMWithTags` and
/// their scale-set twins `TestMapFromVMScaleSetVM*`.
#[test]
fn upstream_map_from_vm() {
    let linux = serde_json::json!({"osType": "Linux"});
    for scale_set in ["", "testSet"] {
        assert_eq!(
            targets::machine(
                vm(vm_json(serde_json::Value::Null, linux.clone(), &[])),
                scale_set
            ),
            expected("Linux", &[], scale_set, &[])
        );
        assert_eq!(
            targets::machine(
                vm(vm_json(serde_json::Value::Null, serde_json::json!({}), &[])),
                scale_set
            ),
            expected("", &[], scale_set, &[])
        );
        assert_eq!(
            targets::machine(
                vm(vm_json(
                    serde_json::json!({"prometheus": ""}),
                    linux.clone(),
                    &[]
                )),
                scale_set
            ),
            expected("Linux", &[("prometheus", "")], scale_set, &[])
        );
    }
    // TestMapFromVMScaleSetVMWithEmptyOSType: a storage profile without an OS disk.
    let mut j = vm_json(serde_json::Value::Null, linux, &[]);
    j["properties"]["storageProfile"] = serde_json::json!({});
    assert_eq!(
        targets::machine(vm(j), "testSet"),
        expected("", &[], "testSet", &[])
    );
}

fn ctx() -> targets::Context {
    targets::Context {
        subscription_id: "".into(),
        tenant_id: "".into(),
        port: 80,
    }
}

fn nic(json: serde_json::Value) -> api::Interface {
    serde_json::from_value(json).unwrap()
}

fn walk(m: &Machine, nics: &[api::Interface]) -> Result<Option<BTreeMap<String, String>>, String> {
    let id = resource_id::parse(&m.id)?;
    let mut pending = targets::start(&ctx(), m, &id.resource_group);
    for n in nics {
        match targets::interface(&ctx(), &mut pending, &m.name, n)? {
            Step::Next => {}
            Step::Skip => return Ok(None),
            Step::Target(labels) => return Ok(Some(labels_map(&labels))),
        }
    }
    Ok(None)
}

/// `TestVMToLabelSet`: 11 labels.
#[test]
fn upstream_vm_to_label_set() {
    let mut j = vm_json(
        serde_json::Value::Null,
        serde_json::json!({"osType": "Linux"}),
        &[MOCK_NIC_ID],
    );
    j["id"] = "/subscriptions/00000000-0000-0000-0000-000000000000/test".into();
    let m = targets::machine(vm(j), "");
    assert_eq!(m.network_interfaces, [MOCK_NIC_ID]);
    let primary = nic(serde_json::json!({
        "name": MOCK_NIC_ID, "id": MOCK_NIC_ID,
        "properties": {"primary": true, "ipConfigurations": [{"properties": {"privateIPAddress": "10.20.30.40"}}]}
    }));
    let labels = walk(&m, &[primary]).unwrap().unwrap();
    assert_eq!(labels.len(), 11, "{labels:?}");
    assert_eq!(labels["__address__"], "10.20.30.40:80");
    assert_eq!(labels["__meta_azure_machine_resource_group"], "");
}

/// `TestAzureRefresh` ("VMs, VMSS and VMSSVMs in Multiple Responses"): each machine with the
/// mock's interface gives these labels.
#[test]
fn upstream_azure_refresh_labels() {
    let base = "/subscriptions/00000000-0000-0000-0000-00000000000/resourceGroups/{resourceGroup}/providers/Microsoft.Compute";
    let the_nic = nic(serde_json::json!({
        "id": MOCK_NIC_ID,
        "properties": {"primary": true, "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.0.1"}}]}
    }));
    let mut seen = Vec::new();
    for (id, name, scale_set) in [
        (format!("{base}/virtualMachine/vm1"), "vm1", ""),
        (format!("{base}/virtualMachine/vm2"), "vm2", ""),
        (format!("{base}/virtualMachine/vm3"), "vm3", ""),
        (format!("{base}/virtualMachine/vm4"), "vm4", ""),
        (
            format!("{base}/virtualMachineScaleSets/vmScaleSet1/virtualMachines/vmScaleSet1_vm1"),
            "vmScaleSet1_vm1",
            "vmScaleSet1",
        ),
        (
            format!("{base}/virtualMachineScaleSets/vmScaleSet1/virtualMachines/vmScaleSet1_vm2"),
            "vmScaleSet1_vm2",
            "vmScaleSet1",
        ),
    ] {
        let j = serde_json::json!({
            "id": id, "name": name, "type": "Microsoft.Compute/virtualMachines", "instanceId": "123",
            "location": "australiaeast", "tags": {"prometheus": ""},
            "properties": {
                "osProfile": {"computerName": "computer_name"},
                "storageProfile": {"osDisk": {"osType": "Linux"}},
                "networkProfile": {"networkInterfaces": [{"id": MOCK_NIC_ID}]},
                "hardwareProfile": {"vmSize": "size"}
            }
        });
        let m = targets::machine(vm(j), scale_set);
        let labels = walk(&m, std::slice::from_ref(&the_nic)).unwrap().unwrap();
        let mut want: BTreeMap<String, String> = [
            ("__address__", "10.0.0.1:80"),
            ("__meta_azure_machine_computer_name", "computer_name"),
            ("__meta_azure_machine_id", id.as_str()),
            ("__meta_azure_machine_location", "australiaeast"),
            ("__meta_azure_machine_name", name),
            ("__meta_azure_machine_os_type", "Linux"),
            ("__meta_azure_machine_private_ip", "10.0.0.1"),
            ("__meta_azure_machine_resource_group", "{resourceGroup}"),
            ("__meta_azure_machine_size", "size"),
            ("__meta_azure_machine_tag_prometheus", ""),
            ("__meta_azure_subscription_id", ""),
            ("__meta_azure_tenant_id", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if !scale_set.is_empty() {
            want.insert("__meta_azure_machine_scale_set".into(), scale_set.into());
        }
        assert_eq!(labels, want);
        seen.push(labels);
    }
    assert_eq!(seen.len(), 6);
}

/// The interface walk of `vmToLabelSet`: no properties (next), no primary flag (deallocated:
/// no target), not primary (next), public IP, no private IP (error), tags sanitized.
#[test]
fn interface_walk() {
    let mut j = vm_json(
        serde_json::json!({"team-name": "a", "env.x": "b"}),
        serde_json::json!({"osType": "Windows"}),
        &["a", "b", "c"],
    );
    j["id"] =
        "/subscriptions/s/resourceGroups/Group-1/providers/Microsoft.Compute/virtualMachines/name"
            .into();
    let m = targets::machine(vm(j), "");
    let no_props = nic(serde_json::json!({}));
    let secondary = nic(serde_json::json!({"properties": {"primary": false}}));
    let deallocated = nic(serde_json::json!({"properties": {"ipConfigurations": []}}));
    let public = nic(
        serde_json::json!({"properties": {"primary": true, "ipConfigurations": [
            {"properties": {"privateIPAddress": "2001:db8::1", "publicIPAddress": {"properties": {"ipAddress": "203.0.113.9"}}}},
            {"properties": {"privateIPAddress": "10.9.9.9"}}
        ]}}),
    );
    let labels = walk(&m, &[no_props.clone(), secondary.clone(), public])
        .unwrap()
        .unwrap();
    assert_eq!(labels["__address__"], "[2001:db8::1]:80");
    assert_eq!(labels["__meta_azure_machine_public_ip"], "203.0.113.9");
    assert_eq!(labels["__meta_azure_machine_resource_group"], "Group-1");
    assert_eq!(labels["__meta_azure_machine_tag_team_name"], "a");
    assert_eq!(labels["__meta_azure_machine_tag_env_x"], "b");
    assert_eq!(walk(&m, &[secondary.clone(), deallocated]).unwrap(), None);
    assert_eq!(walk(&m, &[secondary]).unwrap(), None);
    let no_private = nic(
        serde_json::json!({"properties": {"primary": true, "ipConfigurations": [{"properties": {}}]}}),
    );
    assert_eq!(
        walk(&m, &[no_private]).unwrap_err(),
        "unable to find a private IP for VM name"
    );
}
