//! OpenStack SD's refresh work for 5,000 instances, without the network: decoding Nova's
//! `servers/detail` pages (1,000 servers a page, each with a fixed and a floating address,
//! three metadata keys and a flavor) and Neutron's ports and floating IPs, then building the
//! targets. Prints the bytes the resulting group holds per target once, beside criterion's
//! time per refresh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promsd::discovery::openstack::api::{FloatingIpPage, PortPage, ServerPage};
use promsd::discovery::openstack::targets::{instance_targets, FloatingIps, SharedValues};
use promsd_actors::TargetGroup;
use serde_json::json;

const INSTANCES: usize = 5_000;
const PER_PAGE: usize = 1_000;

fn ip(i: usize, net: u8) -> String {
    format!("10.{net}.{}.{}", (i >> 8) & 255, i & 255)
}

fn server_pages() -> Vec<String> {
    (0..INSTANCES / PER_PAGE)
        .map(|p| {
            let servers: Vec<_> = (p * PER_PAGE..(p + 1) * PER_PAGE)
                .map(|i| {
                    json!({
                        "id": format!("00000000-0000-4000-8000-{i:012}"),
                        "name": format!("instance-{i}"),
                        "status": "ACTIVE",
                        "tenant_id": "fcad67a6189847c4aecfa3c81a05783b",
                        "user_id": "9349aff8be7545ac9d2f1d00999a23cd",
                        "flavor": {"original_name": "m1.small", "vcpus": 2, "ram": 4096},
                        "image": {"id": "f90f6034-2570-4974-8351-6b49732ef2eb"},
                        "metadata": {"env": "prod", "team": format!("team{}", i % 16), "role": "web"},
                        "addresses": {"private": [
                            {"version": 4, "addr": ip(i, 0), "OS-EXT-IPS:type": "fixed"},
                            {"version": 4, "addr": ip(i, 100), "OS-EXT-IPS:type": "floating"}
                        ]},
                    })
                })
                .collect();
            json!({"servers": servers, "servers_links": []}).to_string()
        })
        .collect()
}

fn network() -> (String, String) {
    let ports: Vec<_> = (0..INSTANCES)
        .map(|i| json!({"id": format!("port-{i}"), "device_id": format!("00000000-0000-4000-8000-{i:012}")}))
        .collect();
    let fips: Vec<_> = (0..INSTANCES)
        .map(|i| json!({"floating_ip_address": ip(i, 100), "port_id": format!("port-{i}"), "fixed_ip_address": ip(i, 0)}))
        .collect();
    (
        json!({ "ports": ports }).to_string(),
        json!({ "floatingips": fips }).to_string(),
    )
}

fn refresh(pages: &[String], ports: &str, fips: &str) -> TargetGroup {
    let ports: PortPage = serde_json::from_str(ports).unwrap();
    let fips: FloatingIpPage = serde_json::from_str(fips).unwrap();
    let floating = FloatingIps::new(&ports.ports, &fips.floatingips);
    let mut targets = Vec::with_capacity(INSTANCES);
    let mut values = SharedValues::default();
    for page in pages {
        let page: ServerPage = serde_json::from_str(page).unwrap();
        targets.extend(instance_targets(
            &page.servers,
            &floating,
            9100,
            &mut values,
        ));
    }
    TargetGroup::new("OS_RegionOne", targets, Default::default())
}

fn bench(c: &mut Criterion) {
    let pages = server_pages();
    let (ports, fips) = network();
    let group = refresh(&pages, &ports, &fips);
    assert_eq!(group.targets.len(), INSTANCES);
    // Bytes really held: each label pair, and each distinct value allocation once (the
    // targets of a refresh share repeated values).
    let mut seen = std::collections::HashSet::new();
    let mut held = group.targets.capacity() * std::mem::size_of::<promsd_actors::LabelSet>();
    for target in &group.targets {
        held += std::mem::size_of_val(target.pairs());
        for (_, value) in target.pairs() {
            if seen.insert(std::sync::Arc::as_ptr(value) as *const u8 as usize) {
                held += 2 * std::mem::size_of::<usize>() + value.len();
            }
        }
    }
    println!(
        "openstack_instances: {} targets, {} bytes held per target ({} without sharing values)",
        group.targets.len(),
        held / group.targets.len(),
        group.heap_size() / group.targets.len()
    );
    let mut g = c.benchmark_group("openstack_instances");
    g.sample_size(10);
    g.throughput(Throughput::Elements(INSTANCES as u64));
    g.bench_function("refresh_5000", |b| {
        b.iter(|| refresh(&pages, &ports, &fips))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
