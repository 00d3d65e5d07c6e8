//! Azure SD end to end: `promsd check service-discovery` (and `promsd run`) against a fixture
//! that plays Entra ID (`login.microsoftonline.com`) and Resource Manager
//! (`management.azure.com`), reached through the intercepting proxy with `proxy_url` +
//! `tls_config.ca_file`. The fixture checks the client-credentials form, accepts only the
//! tokens it issued, answers the exact paths and api-versions the Go SDK asks (escaped as Go
//! escapes them), and serves the VM list in two `nextLink` pages. The machines and the
//! expected labels are those of Prometheus' `TestAzureRefresh` ("VMs, VMSS and VMSSVMs in
//! Multiple Responses"), with this config's subscription and tenant.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};
use crate::support::{check_sd, get_ok, start_promsd, wait_for};

const SUB: &str = "11AAAA11-A11A-111A-A111-1111A1111A11";
const TENANT: &str = "BBBB222B-B2B2-2B22-B222-2BB2222BB2B2";
const CLIENT: &str = "333333CC-3C33-3333-CCC3-33C3CCCCC33C";
const SECRET: &str = "mysecret";
/// The scope MSAL asks for Resource Manager: its `.default` and the OpenID defaults.
const SCOPE: &str = "https://management.core.windows.net//.default openid offline_access profile";
/// A Kubernetes service account token as the workload identity webhook projects it.
const FEDERATED_TOKEN: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bW9uOnByb20ifQ.c2ln";
const BASE: &str = "/subscriptions/00000000-0000-0000-0000-00000000000/resourceGroups/{resourceGroup}/providers/Microsoft.Compute";

fn nic_id(n: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{{resourceGroup}}/providers/Microsoft.Network/networkInterfaces/{n}")
}

/// `defaultVMWithIDAndName` / `defaultVMSSVMWithIDAndName` as ARM JSON.
fn vm(id: &str, name: &str, nic: &str) -> Value {
    json!({
        "id": id, "name": name, "type": "Microsoft.Compute/virtualMachines",
        "instanceId": "123", "location": "australiaeast",
        "properties": {
            "osProfile": {"computerName": "computer_name"},
            "storageProfile": {"osDisk": {"osType": "Linux"}},
            "networkProfile": {"networkInterfaces": [{"id": nic_id(nic)}]},
            "hardwareProfile": {"vmSize": "size"}
        },
        "tags": {"prometheus": ""}
    })
}

fn interface(ip: &str) -> Value {
    json!({
        "id": nic_id("x"),
        "properties": {"primary": true, "ipConfigurations": [{"properties": {"privateIPAddress": ip}}]}
    })
}

/// What the fixture does and saw.
#[derive(Default)]
struct Arm {
    tokens_issued: AtomicUsize,
    /// Reject the first token with 401, as a revoked token is.
    revoke_first: AtomicBool,
    /// Answer the VM list with this status instead (0: normally).
    fail_with: AtomicUsize,
    errors: Mutex<Vec<String>>,
}

impl Arm {
    fn error(&self, e: String) -> Response {
        self.errors.lock().unwrap().push(e.clone());
        Response::json(
            400,
            json!({"error": {"code": "Test", "message": e}}).to_string(),
        )
    }

    fn handle(&self, req: &Request) -> Response {
        let host = req.header("host").unwrap_or("");
        if host == "login.microsoftonline.com" {
            return self.login(req);
        }
        if host != "management.azure.com" {
            return self.error(format!("unexpected host {host}"));
        }
        let n = self.tokens_issued.load(Ordering::SeqCst);
        let auth = req.header("authorization").unwrap_or("");
        let valid = (1..=n)
            .filter(|i| !(*i == 1 && self.revoke_first.load(Ordering::SeqCst)))
            .any(|i| auth == format!("Bearer token-{i}"));
        if !valid {
            return Response::json(401, r#"{"error":{"code":"InvalidAuthenticationToken"}}"#);
        }
        if req.method != "GET" || req.header("accept") != Some("application/json") {
            return self.error(format!(
                "bad request {} {:?}",
                req.method,
                req.header("accept")
            ));
        }
        let compute = |path: &str| format!("/subscriptions/{SUB}/{path}?api-version=2024-03-01");
        let vms = compute("providers/Microsoft.Compute/virtualMachines");
        let target = req.target.as_str();
        let page = |values: Vec<Value>, next: Option<String>| {
            let mut page = json!({ "value": values });
            if let Some(next) = next {
                page["nextLink"] = next.into();
            }
            Response::json(200, page.to_string())
        };
        let nic = |name: &str, api: &str, ip: &str, scale_set: bool| {
            let path = if scale_set {
                format!("/subscriptions/{SUB}/resourceGroups/%7BresourceGroup%7D/providers/microsoft.Compute/virtualMachineScaleSets/vmScaleSet1/virtualMachines/123/networkInterfaces/{name}")
            } else {
                format!("/subscriptions/{SUB}/resourceGroups/%7BresourceGroup%7D/providers/Microsoft.Network/networkInterfaces/{name}")
            };
            (
                format!("{path}?%24expand=IPConfigurations%2FPublicIPAddress&api-version={api}"),
                ip.to_owned(),
            )
        };
        if target == vms {
            let status = self.fail_with.load(Ordering::SeqCst);
            if status != 0 {
                return Response::json(status as u16, r#"{"error":{"code":"Throttled"}}"#);
            }
            return page(
                vec![
                    vm(&format!("{BASE}/virtualMachine/vm1"), "vm1", "nic1"),
                    vm(&format!("{BASE}/virtualMachine/vm2"), "vm2", "nic2"),
                ],
                Some(format!(
                    "https://management.azure.com{vms}&%24skiptoken=page2"
                )),
            );
        }
        if target == format!("{vms}&%24skiptoken=page2") {
            return page(
                vec![
                    vm(&format!("{BASE}/virtualMachine/vm3"), "vm3", "nic3"),
                    vm(&format!("{BASE}/virtualMachine/vm4"), "vm4", "nic4"),
                ],
                None,
            );
        }
        if target == compute("providers/Microsoft.Compute/virtualMachineScaleSets") {
            return page(
                vec![json!({
                    "id": format!("{BASE}/virtualMachineScaleSets/vmScaleSet1"),
                    "name": "vmScaleSet1", "location": "australiaeast",
                    "type": "Microsoft.Compute/virtualMachineScaleSets"
                })],
                None,
            );
        }
        if target
            == compute("resourceGroups/%7BresourceGroup%7D/providers/Microsoft.Compute/virtualMachineScaleSets/vmScaleSet1/virtualMachines")
        {
            return page(
                vec![
                    vm(&format!("{BASE}/virtualMachineScaleSets/vmScaleSet1/virtualMachines/vmScaleSet1_vm1"), "vmScaleSet1_vm1", "ssnic1"),
                    vm(&format!("{BASE}/virtualMachineScaleSets/vmScaleSet1/virtualMachines/vmScaleSet1_vm2"), "vmScaleSet1_vm2", "ssnic2"),
                ],
                None,
            );
        }
        for (path, ip) in [
            nic("nic1", "2023-05-01", "10.0.0.1", false),
            nic("nic2", "2023-05-01", "10.0.0.1", false),
            nic("nic3", "2023-05-01", "10.0.0.1", false),
            nic("nic4", "2023-05-01", "10.0.0.1", false),
            nic("ssnic1", "2018-10-01", "10.0.0.1", true),
            nic("ssnic2", "2018-10-01", "10.0.0.1", true),
        ] {
            if target == path {
                return Response::json(200, interface(&ip).to_string());
            }
        }
        self.error(format!("unexpected request {target}"))
    }

    /// Entra ID's client credentials grant, checked field by field.
    fn login(&self, req: &Request) -> Response {
        if req.method != "POST" || req.target != format!("/{TENANT}/oauth2/v2.0/token") {
            return self.error(format!(
                "unexpected login request {} {}",
                req.method, req.target
            ));
        }
        if req.header("content-type") != Some("application/x-www-form-urlencoded") {
            return self.error(format!(
                "token request content type {:?}",
                req.header("content-type")
            ));
        }
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let secret: BTreeMap<String, String> = [
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        // Workload identity: the federated token as a client assertion.
        let assertion: BTreeMap<String, String> = [
            ("client_assertion", FEDERATED_TOKEN),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_id", CLIENT),
            ("client_info", "1"),
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if form != secret && form != assertion {
            return Response::json(
                401,
                json!({"error": "invalid_client", "error_description": format!("{form:?}")})
                    .to_string(),
            );
        }
        let n = self.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        Response::json(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": format!("token-{n}")}).to_string(),
        )
    }
}

fn start() -> (Arc<Arm>, HttpFixture, TlsProxy) {
    let arm = Arc::new(Arm::default());
    let handler = arm.clone();
    let fixture = HttpFixture::start(move |req| handler.handle(req));
    let proxy = TlsProxy::start(fixture.addr);
    (arm, fixture, proxy)
}

fn write_config(dir: &std::path::Path, proxy: &TlsProxy, extra: &str) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: azure\n    azure_sd_configs:\n      - subscription_id: {SUB}\n        tenant_id: {TENANT}\n        client_id: {CLIENT}\n        client_secret: {SECRET}\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n{extra}",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    path
}

/// The discovered `__address__` and `__meta_*` labels of each target, by machine ID.
fn discovered(json: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let labels: BTreeMap<String, String> = t["discoveredLabels"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (labels["__meta_azure_machine_id"].clone(), labels)
        })
        .collect()
}

/// `TestAzureRefresh`'s expected target groups, with this config's subscription and tenant,
/// as `check service-discovery` prints them (without the empty tag value).
fn upstream_expected() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (path, name, scale_set) in [
        ("virtualMachine/vm1", "vm1", None),
        ("virtualMachine/vm2", "vm2", None),
        ("virtualMachine/vm3", "vm3", None),
        ("virtualMachine/vm4", "vm4", None),
        (
            "virtualMachineScaleSets/vmScaleSet1/virtualMachines/vmScaleSet1_vm1",
            "vmScaleSet1_vm1",
            Some("vmScaleSet1"),
        ),
        (
            "virtualMachineScaleSets/vmScaleSet1/virtualMachines/vmScaleSet1_vm2",
            "vmScaleSet1_vm2",
            Some("vmScaleSet1"),
        ),
    ] {
        let id = format!("{BASE}/{path}");
        let mut labels: BTreeMap<String, String> = [
            ("__address__", "10.0.0.1:80"),
            ("__meta_azure_machine_computer_name", "computer_name"),
            ("__meta_azure_machine_id", &id),
            ("__meta_azure_machine_location", "australiaeast"),
            ("__meta_azure_machine_name", name),
            ("__meta_azure_machine_os_type", "Linux"),
            ("__meta_azure_machine_private_ip", "10.0.0.1"),
            ("__meta_azure_machine_resource_group", "{resourceGroup}"),
            ("__meta_azure_machine_size", "size"),
            ("__meta_azure_machine_tag_prometheus", ""),
            ("__meta_azure_subscription_id", SUB),
            ("__meta_azure_tenant_id", TENANT),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some(s) = scale_set {
            labels.insert("__meta_azure_machine_scale_set".into(), s.into());
        }
        // Prometheus drops labels with empty values when it builds targets.
        labels.retain(|_, v| !v.is_empty());
        out.insert(id, labels);
    }
    out
}

#[test]
fn oauth_vms_scale_sets_and_pages_through_the_proxy() {
    let (arm, _fixture, proxy) = start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &proxy, "");
    let (json, stderr) = check_sd(&config, "azure", &[]).unwrap();
    assert!(
        arm.errors.lock().unwrap().is_empty(),
        "{:?}",
        arm.errors.lock().unwrap()
    );
    assert_eq!(discovered(&json), upstream_expected(), "{stderr}");
    let seen = proxy.seen();
    for host in ["login.microsoftonline.com", "management.azure.com"] {
        assert!(
            seen.contains(&Seen {
                connect: format!("{host}:443"),
                sni: Some(host.into())
            }),
            "{seen:?}"
        );
    }
    assert_eq!(arm.tokens_issued.load(Ordering::SeqCst), 1);
}

#[test]
fn a_revoked_token_is_renewed_once() {
    let (arm, _fixture, proxy) = start();
    arm.revoke_first.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &proxy, "");
    let (json, stderr) = check_sd(&config, "azure", &[]).unwrap();
    assert_eq!(discovered(&json), upstream_expected(), "{stderr}");
    assert!(arm.tokens_issued.load(Ordering::SeqCst) >= 2);
}

#[test]
fn a_wrong_secret_is_refused_and_reported() {
    let (arm, _fixture, proxy) = start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &proxy, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("client_secret: mysecret", "client_secret: wrong");
    std::fs::write(&config, text).unwrap();
    let out = std::process::Command::new(crate::support::promsd_bin())
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "azure",
            "--timeout",
            "3s",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("invalid_client"), "{text}");
    assert_eq!(arm.tokens_issued.load(Ordering::SeqCst), 0);
}

#[test]
fn failures_keep_the_last_good_targets() {
    let (arm, fixture, proxy) = start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &proxy, "        refresh_interval: 1s\n");
    let (_promsd, port) = start_promsd(dir.path(), &config, &[]);
    let count = || {
        get_ok(port, "/api/v1/sd/azure")
            .and_then(|b| serde_json::from_str::<Value>(&b).ok())
            .map(|v| {
                v.as_array().map_or(0, |groups| {
                    groups
                        .iter()
                        .map(|g| g["targets"].as_array().map_or(0, Vec::len))
                        .sum::<usize>()
                })
            })
    };
    wait_for("the six Azure targets", || {
        (count() == Some(6)).then_some(())
    });
    for status in [500usize, 429] {
        arm.fail_with.store(status, Ordering::SeqCst);
        let failing_before = fixture.requests().len();
        // Wait until promsd has asked (and been refused) twice more.
        wait_for("refused refreshes", || {
            let refused = fixture.requests()[failing_before..]
                .iter()
                .filter(|r| r.target.ends_with("virtualMachines?api-version=2024-03-01"))
                .count();
            (refused >= 2).then_some(())
        });
        assert_eq!(
            count(),
            Some(6),
            "the last good state stands during {status}s"
        );
    }
    arm.fail_with.store(0, Ordering::SeqCst);
}

/// Prometheus' `TestNewCredentialManagedIdentity`, over the wire: a user-assigned identity
/// (`client_id` set) is asked by its ID, a system-assigned one (`client_id` empty) without one.
#[test]
fn managed_identity_through_the_app_service_endpoint() {
    managed_identity(Some("user-assigned-id"));
    managed_identity(None);
}

fn managed_identity(client_id: Option<&'static str>) {
    let (arm, _fixture, proxy) = start();
    let identity = Arc::new(Mutex::new(Vec::<Request>::new()));
    let seen = identity.clone();
    let arm2 = arm.clone();
    let endpoint = HttpFixture::start(move |req| {
        seen.lock().unwrap().push(req.clone());
        if req.header("x-identity-header") != Some("id-secret") {
            return Response::new(401);
        }
        let mut want = vec![("api-version", "2019-08-01")];
        if let Some(id) = client_id {
            want.push(("client_id", id));
        }
        want.push(("resource", "https://management.core.windows.net/"));
        let query = req.query();
        if req.path() != "/msi/token"
            || query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>()
                != want
        {
            return Response::new(400);
        }
        let n = arm2.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        // App Service writes the numbers as strings.
        Response::json(200, json!({"access_token": format!("token-{n}"), "expires_on": "4102444800", "resource": "https://management.core.windows.net/", "token_type": "Bearer"}).to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: azure\n    azure_sd_configs:\n      - subscription_id: {SUB}\n        authentication_method: ManagedIdentity\n        client_id: {}\n        port: 9100\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            client_id.unwrap_or("''"),
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let endpoint_url = format!("{}/msi/token", endpoint.url());
    let (json, stderr) = check_sd(
        &path,
        "azure",
        &[
            ("IDENTITY_ENDPOINT", &endpoint_url),
            ("IDENTITY_HEADER", "id-secret"),
        ],
    )
    .unwrap();
    let targets = discovered(&json);
    assert_eq!(targets.len(), 6, "{stderr}");
    for labels in targets.values() {
        assert_eq!(labels["__address__"], "10.0.0.1:9100");
        assert!(!labels.contains_key("__meta_azure_tenant_id"));
    }
    assert_eq!(identity.lock().unwrap().len(), 1);
    assert!(!proxy.seen().iter().any(|s| s.connect.starts_with("login.")));
}

fn write_method_config(
    dir: &std::path::Path,
    proxy: &TlsProxy,
    method: &str,
) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: azure\n    azure_sd_configs:\n      - subscription_id: {SUB}\n        authentication_method: {method}\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn sdk_method_uses_the_environments_client_secret() {
    let (arm, _fixture, proxy) = start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_method_config(dir.path(), &proxy, "SDK");
    let (json, stderr) = check_sd(
        &config,
        "azure",
        &[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", SECRET),
        ],
    )
    .unwrap();
    assert!(
        arm.errors.lock().unwrap().is_empty(),
        "{:?}",
        arm.errors.lock().unwrap()
    );
    assert_eq!(discovered(&json).len(), 6, "{stderr}");
    assert_eq!(arm.tokens_issued.load(Ordering::SeqCst), 1);
}

#[test]
fn workload_identity_exchanges_the_federated_token() {
    let (arm, _fixture, proxy) = start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_method_config(dir.path(), &proxy, "WorkloadIdentity");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{FEDERATED_TOKEN}\n")).unwrap();
    let (json, stderr) = check_sd(
        &config,
        "azure",
        &[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ],
    )
    .unwrap();
    assert!(
        arm.errors.lock().unwrap().is_empty(),
        "{:?}",
        arm.errors.lock().unwrap()
    );
    assert_eq!(discovered(&json).len(), 6, "{stderr}");
}

#[test]
fn managed_identity_through_the_cloud_shell_endpoint() {
    let (arm, _fixture, proxy) = start();
    let arm2 = arm.clone();
    let endpoint = HttpFixture::start(move |req| {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if req.method != "POST"
            || req.header("metadata") != Some("true")
            || form
                != [(
                    "resource".to_owned(),
                    "https://management.core.windows.net/".to_owned(),
                )]
        {
            return Response::new(400);
        }
        let n = arm2.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        Response::json(
            200,
            json!({"access_token": format!("token-{n}"), "expires_in": "3599", "token_type": "Bearer"}).to_string(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_method_config(dir.path(), &proxy, "ManagedIdentity");
    let (json, stderr) = check_sd(
        &config,
        "azure",
        &[("MSI_ENDPOINT", &format!("{}/oauth2/token", endpoint.url()))],
    )
    .unwrap();
    assert_eq!(discovered(&json).len(), 6, "{stderr}");
    assert_eq!(endpoint.requests().len(), 1);
}

#[test]
fn managed_identity_through_the_machine_learning_endpoint() {
    let (arm, _fixture, proxy) = start();
    let arm2 = arm.clone();
    let endpoint = HttpFixture::start(move |req| {
        let want = [
            ("api-version", "2017-09-01"),
            ("clientid", "ml-identity"),
            ("resource", "https://management.core.windows.net/"),
        ];
        let query = req.query();
        if req.method != "GET"
            || req.header("secret") != Some("ml-secret")
            || query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>()
                != want
        {
            return Response::new(400);
        }
        let n = arm2.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        Response::json(
            200,
            json!({"access_token": format!("token-{n}"), "expires_on": "4102444800", "token_type": "Bearer"}).to_string(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_method_config(dir.path(), &proxy, "ManagedIdentity");
    let (json, stderr) = check_sd(
        &config,
        "azure",
        &[
            ("MSI_ENDPOINT", &format!("{}/token", endpoint.url())),
            ("MSI_SECRET", "ml-secret"),
            ("DEFAULT_IDENTITY_CLIENT_ID", "ml-identity"),
        ],
    )
    .unwrap();
    assert_eq!(discovered(&json).len(), 6, "{stderr}");
    assert_eq!(endpoint.requests().len(), 1);
}
