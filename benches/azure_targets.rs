//! Azure SD's refresh work without the network, at 5,000 VMs with one NIC each (the issue's
//! figure): decoding the Resource Manager pages (5 pages of 1,000 VMs, as ARM pages them) and
//! the 5,000 network interface answers, and building every target's labels, as one refresh
//! does after its requests. Also prints the bytes each target's label set holds (its slice
//! and values; label names are interned once per process and not counted).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promsd::discovery::azure::{api, resource_id, targets};

const VMS: usize = 5000;
const PAGE: usize = 1000;

fn vm(i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("/subscriptions/11AAAA11-A11A-111A-A111-1111A1111A11/resourceGroups/rg-{}/providers/Microsoft.Compute/virtualMachines/vm-{i}", i % 20),
        "name": format!("vm-{i}"),
        "type": "Microsoft.Compute/virtualMachines",
        "location": "westeurope",
        "tags": {"env": "prod", "team": format!("team-{}", i % 16), "service.name": format!("svc-{}", i % 100)},
        "properties": {
            "vmId": format!("00000000-0000-0000-0000-{i:012}"),
            "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
            "storageProfile": {"osDisk": {"osType": "Linux", "name": format!("disk-{i}"), "caching": "ReadWrite", "diskSizeGB": 30}},
            "osProfile": {"computerName": format!("vm-{i}"), "adminUsername": "azureuser"},
            "networkProfile": {"networkInterfaces": [{"id": format!("/subscriptions/11AAAA11-A11A-111A-A111-1111A1111A11/resourceGroups/rg-{}/providers/Microsoft.Network/networkInterfaces/vm-{i}-nic", i % 20), "properties": {"primary": true}}]},
            "provisioningState": "Succeeded"
        }
    })
}

fn nic(i: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "name": format!("vm-{i}-nic"),
        "id": format!("/subscriptions/11AAAA11-A11A-111A-A111-1111A1111A11/resourceGroups/rg-{}/providers/Microsoft.Network/networkInterfaces/vm-{i}-nic", i % 20),
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "primary": true,
            "enableAcceleratedNetworking": true,
            "ipConfigurations": [{
                "name": "ipconfig1",
                "properties": {
                    "privateIPAddress": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                    "privateIPAllocationMethod": "Dynamic",
                    "publicIPAddress": {"properties": {"ipAddress": format!("203.0.{}.{}", (i >> 8) & 255, i & 255)}},
                    "primary": true
                }
            }]
        }
    }))
    .unwrap()
}

/// One refresh's work after its requests: the targets of every VM.
fn build(
    pages: &[Vec<u8>],
    nics: &[Vec<u8>],
    ctx: &targets::Context,
) -> Vec<promsd_actors::LabelSet> {
    let mut out = Vec::with_capacity(VMS);
    let mut n = 0;
    for page in pages {
        let page: api::Page<api::VirtualMachine> = serde_json::from_slice(page).unwrap();
        for vm in page.value.into_iter().flatten() {
            let m = targets::machine(vm, "");
            let id = resource_id::parse(&m.id).unwrap();
            let mut pending = targets::start(ctx, &m, &id.resource_group);
            let interface: api::Interface = serde_json::from_slice(&nics[n]).unwrap();
            n += 1;
            if let targets::Step::Target(labels) =
                targets::interface(ctx, &mut pending, &m.name, &interface).unwrap()
            {
                out.push(labels);
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let pages: Vec<Vec<u8>> = (0..VMS / PAGE)
        .map(|p| {
            let values: Vec<serde_json::Value> = (p * PAGE..(p + 1) * PAGE).map(vm).collect();
            serde_json::to_vec(&serde_json::json!({"value": values, "nextLink": "https://management.azure.com/next"})).unwrap()
        })
        .collect();
    let nics: Vec<Vec<u8>> = (0..VMS).map(nic).collect();
    let ctx = targets::Context {
        subscription_id: "11AAAA11-A11A-111A-A111-1111A1111A11".into(),
        tenant_id: "BBBB222B-B2B2-2B22-B222-2BB2222BB2B2".into(),
        port: 9100,
    };
    let built = build(&pages, &nics, &ctx);
    assert_eq!(built.len(), VMS);
    let held: usize = built
        .iter()
        .map(|l| l.heap_size() + std::mem::size_of_val(l))
        .sum();
    let bytes: usize = pages.iter().chain(&nics).map(Vec::len).sum();
    eprintln!(
        "azure: {VMS} targets of {} labels hold {} bytes each ({} bytes of API JSON per VM)",
        built[0].len(),
        held / VMS,
        bytes / VMS
    );
    let mut group = c.benchmark_group("azure");
    group.throughput(Throughput::Elements(VMS as u64));
    group.bench_function("5000 VMs with NICs: decode and build targets", |b| {
        b.iter(|| build(&pages, &nics, &ctx))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
