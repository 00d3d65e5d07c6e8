//! Release harness: what one refresh of a signed cloud mechanism costs at scale, through the
//! real discoverer (config from a prometheus.yml, the kit's HTTP client, the mechanism's
//! signer: SigV4, OVH signatures, the STACKIT key flow, Oracle HTTP signatures) against a
//! fixture API in a child process (so this process's CPU time is promsd's alone).
//!
//! - `ec2`: 10,000 instances over 10 DescribeInstances pages (Query protocol XML, `NextToken`).
//! - `ovhcloud`: 5,000 VPS (`GET /vps`, then each one's details and IPs: 10,001 requests).
//! - `stackit`: 5,000 servers in one `servers?details=true` answer, the key flow's token.
//! - `outscale`: 5,000 VMs over 5 `ReadVms` pages (`NextPageToken`).
//! - `oci`: 5,000 instances of one compartment over 50 `ListInstances` pages, each instance's
//!   VNIC attachments and primary VNIC (10,050 requests), over HTTPS through the intercepting
//!   proxy of the tests (the API hosts are fixed).
//!
//! The fixture changes one target at each refresh, so that every refresh sends an update; the
//! CPU time between two updates is one refresh (requests, signing, decoding, targets, the
//! comparison with the last state). The first refresh also builds the HTTP client; it is shown
//! apart. Bytes held per target: the label array and the values no other target shares, as
//! the other benches count them; and the process's resident memory over the targets, an upper
//! bound that counts everything (runtime, client, pools).
//!
//! Run: `cargo run --release --example cloud_refresh_bench -- <mechanism> [refreshes]`
//!
//! Release, 2 shared cores at load 8-15, 5-7 refreshes each (min / median CPU per refresh;
//! bytes per target alone / counting shared values):
//! ec2 10,000: 219 / 226-238 ms (22 µs per target), 704 / 1332 B;
//! stackit 5,000: 31-34 / 37-45 ms, 512 / 904 B; outscale 5,000: 21 / 22 ms, 320 / 570 B;
//! ovhcloud 5,000 (10,001 requests): 382 / 447 ms, 672 / 1191 B;
//! oci 5,000 (10,050 requests, each RSA-signed, over TLS): 5.45 / 5.91 s, 608 / 1203 B.

#[allow(dead_code)]
#[path = "../tests/support/tls_proxy.rs"]
mod tls_proxy;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures::StreamExt;
use promsd_actors::{BuildContext, RefreshMetrics, TargetGroup};

const MECHANISMS: &[&str] = &["ec2", "ovhcloud", "stackit", "outscale", "oci"];

fn cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

// ---------------------------------------------------------------------------------------------
// The fixture (child process): pre-rendered answers, one placeholder changed at each refresh.
// ---------------------------------------------------------------------------------------------

/// Marks the value that changes at each refresh.
const GEN: &str = "@GEN@";

struct Fixture {
    /// Answers by key (see `key`), with `GEN` where the generation goes.
    answers: HashMap<String, String>,
    generation: AtomicU64,
}

fn ec2_answers() -> HashMap<String, String> {
    let mut a = HashMap::new();
    a.insert(
        "DescribeAvailabilityZones".into(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><availabilityZoneInfo>{}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>"#,
            (0..6)
                .map(|z| format!("<item><zoneState>available</zoneState><regionName>us-east-1</regionName><zoneName>us-east-1{}</zoneName><zoneId>use1-az{z}</zoneId></item>", (b'a' + z) as char))
                .collect::<String>()
        ),
    );
    for page in 0..10 {
        let instances: String = (page * 1000..(page + 1) * 1000)
            .map(|i| {
                let zone = (b'a' + (i % 6) as u8) as char;
                let name = if i == 0 { GEN.to_owned() } else { format!("web-{i}") };
                format!(
                    r#"<item><instanceId>i-{i:017x}</instanceId><imageId>ami-0abcdef1234567890</imageId><instanceState><code>16</code><name>running</name></instanceState><privateDnsName>ip-10-{a}-{b}-{c}.ec2.internal</privateDnsName><dnsName>ec2-54-{a}-{b}-{c}.compute-1.amazonaws.com</dnsName><instanceType>m5.large</instanceType><launchTime>2024-01-01T00:00:00.000Z</launchTime><placement><availabilityZone>us-east-1{zone}</availabilityZone><tenancy>default</tenancy></placement><platform>windows</platform><subnetId>subnet-{s:08x}</subnetId><vpcId>vpc-0a1b2c3d</vpcId><privateIpAddress>10.{a}.{b}.{c}</privateIpAddress><ipAddress>54.{a}.{b}.{c}</ipAddress><architecture>x86_64</architecture><networkInterfaceSet><item><subnetId>subnet-{s:08x}</subnetId><attachment><deviceIndex>0</deviceIndex></attachment><ipv6AddressesSet/></item></networkInterfaceSet><tagSet><item><key>Name</key><value>{name}</value></item><item><key>env</key><value>prod</value></item><item><key>team</key><value>team-{t}</value></item><item><key>app</key><value>app-{p}</value></item></tagSet></item>"#,
                    a = (i >> 16) & 255,
                    b = (i >> 8) & 255,
                    c = i & 255,
                    s = i % 24,
                    t = i % 20,
                    p = i % 200,
                )
            })
            .collect();
        let next = if page < 9 {
            format!("<nextToken>page-{}</nextToken>", page + 1)
        } else {
            String::new()
        };
        a.insert(
            format!("DescribeInstances/{page}"),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-{page:017x}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>{instances}</instancesSet></item></reservationSet>{next}</DescribeInstancesResponse>"#
            ),
        );
    }
    a
}

fn ovhcloud_answers() -> HashMap<String, String> {
    let mut a = HashMap::new();
    let names: Vec<String> = (0..5000).map(|i| format!("vps-{i}.vps.ovh.net")).collect();
    a.insert("/1.0/vps".into(), serde_json::to_string(&names).unwrap());
    for (i, name) in names.iter().enumerate() {
        let display = if i == 0 { GEN.to_owned() } else { name.clone() };
        a.insert(
            format!("/1.0/vps/{name}"),
            serde_json::json!({
                "offerType": "ssd", "monitoringIpBlocks": [], "displayName": display,
                "zone": format!("Region OpenStack: os-gra{}", i % 9), "cluster": format!("cluster-{}", i % 50),
                "slaMonitoring": false, "name": name, "vcore": 2, "state": "running", "keymap": null,
                "netbootMode": "local",
                "model": {"name": "vps-value-1-2-40", "availableOptions": [], "maximumAdditionnalIp": 16,
                          "offer": "VPS value 1-2-40", "disk": 40, "version": "2019v1", "vcore": 2,
                          "memory": 2048, "datacenter": []},
                "memoryLimit": 2048
            })
            .to_string(),
        );
        a.insert(
            format!("/1.0/vps/{name}/ips"),
            serde_json::json!([
                format!("51.{}.{}.{}/32", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                format!("2001:41d0:{:x}::1/64", i)
            ])
            .to_string(),
        );
    }
    a
}

fn stackit_answers() -> HashMap<String, String> {
    let servers: Vec<serde_json::Value> = (0..5000)
        .map(|i| {
            serde_json::json!({
                "availabilityZone": format!("eu01-{}", 1 + i % 3),
                "bootVolume": {"deleteOnTermination": false, "id": format!("1c15e4cc-8474-46be-b875-{i:012x}")},
                "createdAt": "2025-03-12T14:48:17Z",
                "id": format!("b4176700-596a-4f80-9fc8-{i:012x}"),
                "labels": {"env": "prod", "team": format!("team-{}", i % 20), "app": format!("app-{}", i % 200)},
                "launchedAt": "2025-03-12T14:48:52Z",
                "machineType": "g1.1",
                "name": if i == 0 { GEN.to_owned() } else { format!("server-{i}") },
                "nics": [{
                    "ipv4": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                    "mac": "fa:16:4f:42:1c:d3",
                    "networkId": "3173494f-2f6c-490d-8c12-4b3c86b4338b",
                    "networkName": "backend",
                    "publicIp": format!("192.0.{}.{}", (i >> 8) & 255, i & 255),
                    "nicId": format!("b36097c5-e1c5-4e12-ae97-{i:012x}"),
                    "nicSecurity": true,
                    "securityGroups": ["6e60809f-bed3-46c6-a39c-adddd6455674"]
                }],
                "powerStatus": "RUNNING",
                "serviceAccountMails": [],
                "status": "ACTIVE",
                "updatedAt": "2025-03-13T07:08:29Z",
                "volumes": [format!("1c15e4cc-8474-46be-b875-{i:012x}")]
            })
        })
        .collect();
    let mut a = HashMap::new();
    a.insert(
        "/v1/projects/p/servers".into(),
        serde_json::json!({ "items": servers }).to_string(),
    );
    // An access token good for an hour (its `exp` is all the client reads).
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.c2ln",
        b64.encode(r#"{"alg":"RS512","typ":"JWT"}"#),
        b64.encode(format!(r#"{{"exp":{exp}}}"#))
    );
    a.insert(
        "/token".into(),
        serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600})
            .to_string(),
    );
    a
}

fn outscale_answers() -> HashMap<String, String> {
    let mut a = HashMap::new();
    for page in 0..5 {
        let vms: Vec<serde_json::Value> = (page * 1000..(page + 1) * 1000)
            .map(|i| {
                serde_json::json!({
                    "VmId": format!("i-{i:08x}"), "State": "running",
                    "PrivateIp": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                    "PublicIp": format!("171.33.{}.{}", (i >> 8) & 255, i & 255),
                    "Placement": {"SubregionName": format!("eu-west-2{}", ["a", "b", "c"][i % 3]), "Tenancy": "default"},
                    "Tags": [
                        {"Key": "Name", "Value": if i == 0 { GEN.to_owned() } else { format!("vm-{i}") }},
                        {"Key": "env", "Value": "prod"},
                        {"Key": "team", "Value": format!("team-{}", i % 20)}
                    ]
                })
            })
            .collect();
        let mut body = serde_json::json!({"Vms": vms, "ResponseContext": {"RequestId": "0475ca1e-d0c5-441d-712a-da55a4175157"}});
        if page < 4 {
            body["NextPageToken"] = serde_json::json!(format!("page-{}", page + 1));
        }
        a.insert(format!("ReadVms/{page}"), body.to_string());
    }
    a
}

const OCI_COMPARTMENT: &str = "ocid1.compartment.oc1..bench";

fn oci_answers() -> HashMap<String, String> {
    let mut a = HashMap::new();
    for page in 0..50 {
        let instances: Vec<serde_json::Value> = (page * 100..(page + 1) * 100)
            .map(|i| {
                serde_json::json!({
                    "id": format!("ocid1.instance.oc1.iad.{i:08}"),
                    "displayName": if i == 0 { GEN.to_owned() } else { format!("instance-{i}") },
                    "shape": "VM.Standard.E4.Flex",
                    "availabilityDomain": format!("US-ASHBURN-AD-{}", 1 + i % 3),
                    "faultDomain": format!("FAULT-DOMAIN-{}", 1 + i % 3),
                    "imageId": "ocid1.image.oc1.iad.img001",
                    "region": "us-ashburn-1",
                    "compartmentId": OCI_COMPARTMENT,
                    "lifecycleState": "RUNNING",
                    "freeformTags": {"env": "prod", "team": format!("team-{}", i % 20)},
                    "definedTags": {"Oracle-Tags": {"CreatedBy": "user@example.com"}},
                    "timeCreated": "2024-01-01T00:00:00.000Z"
                })
            })
            .collect();
        a.insert(
            format!("instances/{page}"),
            serde_json::Value::Array(instances).to_string(),
        );
    }
    for i in 0..5000 {
        a.insert(
            format!("attachments/ocid1.instance.oc1.iad.{i:08}"),
            serde_json::json!([{"vnicId": format!("ocid1.vnic.oc1.iad.{i:08}"), "lifecycleState": "ATTACHED"}]).to_string(),
        );
        a.insert(
            format!("/20160918/vnics/ocid1.vnic.oc1.iad.{i:08}"),
            serde_json::json!({
                "id": format!("ocid1.vnic.oc1.iad.{i:08}"), "isPrimary": true,
                "privateIp": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                "publicIp": format!("129.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                "hostnameLabel": format!("instance-{i}")
            })
            .to_string(),
        );
    }
    a
}

fn param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The key of the answer to a request, and whether the generation advances with it.
fn key(mechanism: &str, req: &HttpRequest, body: &[u8]) -> Option<(String, bool)> {
    let path = req.path();
    let query = req.query_string();
    let page = |token: Option<String>| -> usize {
        token
            .and_then(|t| t.trim_start_matches("page-").parse().ok())
            .unwrap_or(0)
    };
    match mechanism {
        "ec2" => {
            let form = std::str::from_utf8(body).ok()?;
            match param(form, "Action")?.as_str() {
                "DescribeInstances" => {
                    let p = page(param(form, "NextToken"));
                    Some((format!("DescribeInstances/{p}"), p == 0))
                }
                other => Some((other.to_owned(), false)),
            }
        }
        "ovhcloud" => Some((path.to_owned(), path == "/1.0/vps")),
        "stackit" => Some((path.to_owned(), path.ends_with("/servers"))),
        "outscale" => {
            let body: serde_json::Value = serde_json::from_slice(body).ok()?;
            let p = page(body["NextPageToken"].as_str().map(str::to_owned));
            Some((format!("ReadVms/{p}"), p == 0))
        }
        "oci" => match path {
            "/20160918/instances" => {
                let p = param(query, "page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                Some((format!("instances/{p}"), p == 0))
            }
            "/20160918/vnicAttachments" => Some((
                format!("attachments/{}", param(query, "instanceId")?),
                false,
            )),
            _ => Some((path.to_owned(), false)),
        },
        _ => None,
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    mechanism: web::Data<String>,
    fixture: web::Data<Fixture>,
) -> HttpResponse {
    if mechanism.as_str() == "ovhcloud" && req.path() == "/1.0/auth/time" {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(now.to_string());
    }
    let Some((key, advance)) = key(&mechanism, &req, &body) else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(text) = fixture.answers.get(&key) else {
        return HttpResponse::NotFound().body(key);
    };
    let generation = if advance {
        fixture.generation.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        fixture.generation.load(Ordering::SeqCst)
    };
    let body = if text.contains(GEN) {
        text.replace(GEN, &format!("generation-{generation}"))
    } else {
        text.clone()
    };
    let content_type = if mechanism.as_str() == "ec2" {
        "text/xml;charset=UTF-8"
    } else {
        "application/json"
    };
    let mut response = HttpResponse::Ok();
    response.content_type(content_type);
    if mechanism.as_str() == "oci" && key.starts_with("instances/") {
        let p: usize = key["instances/".len()..].parse().unwrap();
        if p < 49 {
            response.insert_header(("opc-next-page", (p + 1).to_string()));
        }
    }
    response.body(body)
}

/// Child process: serves the mechanism's API; prints `READY <addr> <proxy url or ->`.
fn serve(mechanism: String) {
    let answers = match mechanism.as_str() {
        "ec2" => ec2_answers(),
        "ovhcloud" => ovhcloud_answers(),
        "stackit" => stackit_answers(),
        "outscale" => outscale_answers(),
        "oci" => oci_answers(),
        other => panic!("unknown mechanism {other}"),
    };
    let fixture = web::Data::new(Fixture {
        answers,
        generation: AtomicU64::new(0),
    });
    actix_rt::System::new().block_on(async move {
        let mechanism = web::Data::new(mechanism);
        let m = mechanism.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(m.clone())
                .app_data(fixture.clone())
                .app_data(web::PayloadConfig::new(1 << 24))
                .default_service(web::to(answer))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        let proxy = (mechanism.as_str() == "oci").then(|| tls_proxy::TlsProxy::start(addr));
        println!(
            "READY {addr} {}",
            proxy.as_ref().map_or("-".to_owned(), |p| p.url())
        );
        server.run().await.unwrap();
        drop(proxy);
    });
}

// ---------------------------------------------------------------------------------------------
// The measurement (this process).
// ---------------------------------------------------------------------------------------------

fn config(mechanism: &str, addr: &str, proxy: &str, dir: &Path) -> String {
    let head = "scrape_configs:\n  - job_name: bench\n";
    match mechanism {
        "ec2" => format!("{head}    ec2_sd_configs:\n      - region: us-east-1\n        endpoint: http://{addr}\n        access_key: AKIDEXAMPLE\n        secret_key: wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n        port: 9100\n        refresh_interval: 1s\n"),
        "ovhcloud" => format!("{head}    ovhcloud_sd_configs:\n      - endpoint: http://{addr}/1.0\n        application_key: ak\n        application_secret: as\n        consumer_key: ck\n        service: vps\n        refresh_interval: 1s\n"),
        "stackit" => {
            let key = serde_json::json!({"credentials": {"aud": "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud", "iss": "bench@sa.stackit.cloud", "kid": "k", "sub": "123e4567-e89b-12d3-a456-426614174001", "tokenEndpoint": format!("http://{addr}/token")}});
            let key_path = dir.join("sa.json");
            std::fs::write(&key_path, key.to_string()).unwrap();
            format!("{head}    stackit_sd_configs:\n      - project: p\n        endpoint: http://{addr}\n        service_account_key_path: '{}'\n        private_key_path: '{}'\n        port: 9100\n        refresh_interval: 1s\n", key_path.display(), testdata("tests/mechanisms/stackit_testdata/key.pem").display())
        }
        "outscale" => format!("{head}    outscale_sd_configs:\n      - endpoint: http://{addr}/api/v1\n        access_key: AK\n        secret_key: SK\n        port: 9100\n        refresh_interval: 1s\n"),
        "oci" => format!("{head}    oci_sd_configs:\n      - region: us-ashburn-1\n        tenancy: ocid1.tenancy.oc1..bench\n        user: ocid1.user.oc1..bench\n        fingerprint: '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34'\n        key_file: '{}'\n        compartments: [{OCI_COMPARTMENT}]\n        port: 9100\n        refresh_interval: 1s\n        proxy_url: '{proxy}'\n        tls_config: {{ca_file: '{}'}}\n", testdata("tests/mechanisms/testdata/oci/key.pem").display(), testdata("tests/support/testdata/proxy-ca.pem").display()),
        other => panic!("unknown mechanism {other}"),
    }
}

fn expected_targets(mechanism: &str) -> usize {
    if mechanism == "ec2" {
        10_000
    } else {
        5_000
    }
}

/// Bytes each target holds alone: its label array and the values no other target shares.
fn own_bytes(groups: &[TargetGroup]) -> (usize, usize, usize) {
    let targets: Vec<_> = groups.iter().flat_map(|g| g.targets.iter()).collect();
    let own: usize = targets
        .iter()
        .map(|t| {
            std::mem::size_of_val(t.pairs())
                + t.pairs()
                    .iter()
                    .filter(|(_, v)| Arc::strong_count(v) == 1)
                    .map(|(_, v)| 2 * std::mem::size_of::<usize>() + v.len())
                    .sum::<usize>()
        })
        .sum();
    let all: usize = targets.iter().map(|t| t.heap_size()).sum();
    let n = targets.len().max(1);
    (targets.len(), own / n, all / n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve(args[1].clone());
    }
    let mechanism = args
        .first()
        .filter(|m| MECHANISMS.contains(&m.as_str()))
        .unwrap_or_else(|| {
            panic!(
                "usage: cloud_refresh_bench <{}> [refreshes]",
                MECHANISMS.join("|")
            )
        })
        .clone();
    let refreshes: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(7);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &mechanism])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.first(), Some(&"READY"), "fixture said {line:?}");
    let (addr, proxy) = (parts[1].to_owned(), parts[2].to_owned());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, config(&mechanism, &addr, &proxy, dir.path())).unwrap();
    let loaded = promsd::config::Config::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let discovery = loaded.scrape_config("bench").unwrap().discovery[0].clone();
    let expected = expected_targets(&mechanism);

    actix_rt::System::new().block_on(async move {
        let ctx = BuildContext {
            provider: format!("{mechanism}/0").into(),
            config_name: "bench".into(),
            refresh_metrics: RefreshMetrics::default(),
        };
        let rss0 = rss_bytes();
        let mut stream = discovery.build(&ctx).unwrap();
        let (c0, w0) = (cpu_seconds(), Instant::now());
        let first = stream.next().await.unwrap().unwrap();
        let (c1, w1) = (cpu_seconds(), w0.elapsed());
        let (n, own, all) = own_bytes(first.groups());
        assert_eq!(n, expected, "targets of the first refresh");
        println!(
            "{mechanism}: {n} targets, {} labels each; first refresh (HTTP client built too): {:.1} ms CPU, {:.1} ms wall",
            first.groups()[0].targets[0].len(),
            (c1 - c0) * 1e3,
            w1.as_secs_f64() * 1e3
        );
        let mut cpu = Vec::new();
        let mut last = (cpu_seconds(), Instant::now());
        let mut groups = first.groups().to_vec();
        for _ in 0..refreshes {
            let update = stream.next().await.unwrap().unwrap();
            let now = (cpu_seconds(), Instant::now());
            cpu.push((now.0 - last.0) * 1e3);
            last = now;
            if update.is_full() {
                groups = update.groups().to_vec();
            }
        }
        let rss = rss_bytes();
        let min = cpu.iter().cloned().fold(f64::INFINITY, f64::min);
        let med = median(cpu.clone());
        println!(
            "{mechanism}: refresh CPU over {refreshes} refreshes: min {min:.1} ms, median {med:.1} ms ({:.2} / {:.2} µs per target)",
            min * 1e3 / n as f64,
            med * 1e3 / n as f64
        );
        println!(
            "{mechanism}: bytes held per target: {own} alone ({all} counting shared values in each); process RSS grew {} bytes per target ({} MiB total)",
            rss.saturating_sub(rss0) / n,
            rss / (1 << 20)
        );
        drop(groups);
        drop(stream);
    });
    let _ = child.kill();
    let _ = child.wait();
}
