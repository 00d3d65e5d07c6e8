//! Hetzner SD's refresh cost at scale: 10,000 Cloud servers on 200 pages of 50 (hcloud-go's
//! page size), each with a location, server type, image, a private network and three labels:
//! decoding every page and building the one group, as a refresh does after its requests
//! (the HTTP exchange itself is the kit's, measured elsewhere). Before the run it prints the
//! bytes each target holds alone (its label array and the values no other target shares).
//! That an unchanged refresh sends no update is asserted by `tests/mechanisms/hetzner.rs`.
//! In a debug build (`cargo test --bench hetzner_refresh`): 27 labels and 1095 bytes per
//! target alone (1501 counting each shared value in every target), from 481 body bytes per
//! server.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promsd::discovery::hetzner::api::{NetworkList, ServerList};
use promsd::discovery::hetzner::targets::hcloud_group;

const SERVERS: usize = 10_000;
const PER_PAGE: usize = 50;

fn page(p: usize) -> String {
    let servers: Vec<String> = (p * PER_PAGE..(p + 1) * PER_PAGE)
        .map(|i| {
            format!(
                r#"{{"id":{i},"name":"server-{i}","status":"running",
"public_net":{{"ipv4":{{"ip":"10.{}.{}.{}"}},"ipv6":{{"ip":"2001:db8:{:x}::/64"}}}},
"private_net":[{{"network":{},"ip":"172.16.{}.{}"}}],
"server_type":{{"name":"cx{}","cores":{},"memory":{},"disk":{},"cpu_type":"shared"}},
"location":{{"name":"fsn{}","network_zone":"eu-central"}},
"image":{{"name":"ubuntu-24.04","description":"Ubuntu 24.04","os_flavor":"ubuntu","os_version":"24.04"}},
"labels":{{"env":"prod","team":"team-{}","app":"app-{}"}}}}"#,
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255,
                i,
                i % 4,
                (i >> 8) & 255,
                i & 255,
                11 + i % 4,
                1 + i % 8,
                2 + i % 16,
                20 + i % 4 * 20,
                1 + i % 3,
                i % 20,
                i % 200
            )
        })
        .collect();
    let next = if (p + 1) * PER_PAGE < SERVERS {
        (p + 2).to_string()
    } else {
        "null".to_owned()
    };
    format!(
        r#"{{"servers":[{}],"meta":{{"pagination":{{"page":{},"per_page":{PER_PAGE},"next_page":{next}}}}}}}"#,
        servers.join(","),
        p + 1
    )
}

fn bench(c: &mut Criterion) {
    let pages: Vec<String> = (0..SERVERS / PER_PAGE).map(page).collect();
    let networks = r#"{"networks":[{"id":0,"name":"net-a"},{"id":1,"name":"net-b"},{"id":2,"name":"net-c"},{"id":3,"name":"net-d"}],"meta":{"pagination":{"next_page":null}}}"#;
    let refresh = || {
        let mut servers = Vec::with_capacity(SERVERS);
        for body in &pages {
            let list: ServerList = serde_json::from_str(body).unwrap();
            servers.extend(list.servers);
        }
        let networks: NetworkList = serde_json::from_str(networks).unwrap();
        hcloud_group(&servers, &networks.networks, 9100)
    };
    let group = refresh();
    assert_eq!(group.targets.len(), SERVERS);
    // Bytes each target holds alone: its label array and the values no other target shares
    // (interned values such as locations and server types are counted once, not per target).
    let own: usize = group
        .targets
        .iter()
        .map(|t| {
            std::mem::size_of_val(t.pairs())
                + t.pairs()
                    .iter()
                    .filter(|(_, v)| std::sync::Arc::strong_count(v) == 1)
                    .map(|(_, v)| 2 * std::mem::size_of::<usize>() + v.len())
                    .sum::<usize>()
        })
        .sum();
    eprintln!(
        "hetzner hcloud: {} targets, {} labels each, {} bytes held per target alone ({} counting shared values in each), {} body bytes per server",
        group.targets.len(),
        group.targets[0].len(),
        own / group.targets.len(),
        group.heap_size() / group.targets.len(),
        pages.iter().map(String::len).sum::<usize>() / SERVERS
    );
    let mut g = c.benchmark_group("hetzner_hcloud_refresh");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SERVERS as u64));
    g.bench_function("10k_servers_200_pages", |b| b.iter(refresh));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
