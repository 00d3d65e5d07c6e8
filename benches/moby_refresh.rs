//! Docker SD's refresh work without the daemon: 1,000 containers on 3 networks each (2 TCP
//! ports, 6 labels; 20 networks with 3 labels), from the daemon's JSON to the target group:
//! decoding `/containers/json` and `/networks`, then building every target, with
//! `match_first_network` (1 network per container: 2,000 targets) and without it (6,000).
//! Also prints the bytes the group holds per target (label values are shared between the
//! targets of a container and of a network).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promsd::discovery::moby::api::{self, Container, Network};
use promsd::discovery::moby::docker::{docker_group, DockerOptions};

const CONTAINERS: usize = 1000;
const NETWORKS: usize = 20;

fn network_id(n: usize) -> String {
    format!("{n:064x}")
}

fn containers_json() -> String {
    let items: Vec<String> = (0..CONTAINERS)
        .map(|i| {
            let nets: Vec<String> = (0..3)
                .map(|k| {
                    let n = (i + k * 7) % NETWORKS;
                    format!(
                        r#""net{n}":{{"NetworkID":"{}","IPAddress":"10.{n}.{}.{}","GlobalIPv6Address":"","MacAddress":"02:42:ac:11:00:02"}}"#,
                        network_id(n),
                        i / 250,
                        i % 250
                    )
                })
                .collect();
            format!(
                r#"{{"Id":"{:064x}","Names":["/app_{i}"],"Image":"registry.example.com/team/app:v1.{}","ImageID":"sha256:{:064x}","Command":"/bin/app","Created":1600000000,"Ports":[{{"PrivatePort":8080,"Type":"tcp"}},{{"PrivatePort":9100,"PublicPort":{},"IP":"0.0.0.0","Type":"tcp"}},{{"PrivatePort":53,"Type":"udp"}}],"Labels":{{"com.docker.compose.project":"proj{}","com.docker.compose.service":"svc{}","com.docker.compose.version":"2.2.2","prometheus.io/scrape":"true","prometheus.io/port":"9100","team":"team{}"}},"State":"running","Status":"Up 2 hours","HostConfig":{{"NetworkMode":"net{}"}},"NetworkSettings":{{"Networks":{{{}}}}},"Mounts":[]}}"#,
                i,
                i % 10,
                i % 50,
                20000 + i,
                i % 20,
                i,
                i % 8,
                i % NETWORKS,
                nets.join(",")
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn networks_json() -> String {
    let items: Vec<String> = (0..NETWORKS)
        .map(|n| {
            format!(
                r#"{{"Name":"net{n}","Id":"{}","Created":"2020-01-01T00:00:00Z","Scope":"local","Driver":"bridge","EnableIPv6":false,"IPAM":{{"Driver":"default","Config":[{{"Subnet":"10.{n}.0.0/16"}}]}},"Internal":false,"Attachable":false,"Ingress":false,"Options":{{}},"Labels":{{"com.docker.compose.network":"net{n}","com.docker.compose.project":"proj","com.docker.compose.version":"2.2.2"}}}}"#,
                network_id(n)
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn refresh(containers: &[u8], networks: &[u8], options: &DockerOptions) -> usize {
    let containers: Vec<Container> = api::decode_list(containers).unwrap();
    let networks: Vec<Network> = api::decode_list(networks).unwrap();
    docker_group(&containers, &networks, options).targets.len()
}

/// The heap the group's targets hold: each set's pairs, and each distinct value once (values
/// are shared between targets); names are interned for the process.
fn bytes_held(group: &promsd_actors::TargetGroup) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut bytes = 0;
    for t in &group.targets {
        bytes += std::mem::size_of_val(t.pairs());
        for (_, v) in t.pairs() {
            if seen.insert(std::sync::Arc::as_ptr(v).cast::<u8>() as usize) {
                bytes += 2 * std::mem::size_of::<usize>() + v.len();
            }
        }
    }
    bytes
}

fn bench(c: &mut Criterion) {
    let containers = containers_json().into_bytes();
    let networks = networks_json().into_bytes();
    let mut group = c.benchmark_group("docker_refresh_1000_containers_3_networks");
    group.sample_size(20);
    group.throughput(Throughput::Elements(CONTAINERS as u64));
    for match_first_network in [true, false] {
        let options = DockerOptions {
            port: 80,
            host_networking_host: "localhost".into(),
            match_first_network,
        };
        let decoded: Vec<Container> = api::decode_list(&containers).unwrap();
        let nets: Vec<Network> = api::decode_list(&networks).unwrap();
        let g = docker_group(&decoded, &nets, &options);
        eprintln!(
            "match_first_network={match_first_network}: {} targets, {} bytes held per target",
            g.targets.len(),
            bytes_held(&g) / g.targets.len().max(1)
        );
        let name = if match_first_network {
            "match_first_network"
        } else {
            "all_networks"
        };
        group.bench_function(name, |b| {
            b.iter(|| refresh(&containers, &networks, &options))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
