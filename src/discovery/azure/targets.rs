//! Azure VMs as Prometheus' `discovery/azure` sees them, and the labels of their targets.
//!
//! Each VM with a usable primary network interface is one target:
//! - `__address__`: the primary interface's first IP configuration's private IP and `port`
//!   (bracketed when it holds `:`, as Go's `net.JoinHostPort`).
//! - `__meta_azure_subscription_id`, `__meta_azure_tenant_id`: from the config.
//! - `__meta_azure_machine_id`, `_name`, `_computer_name`, `_os_type`, `_location`, `_size`:
//!   from the VM (`osType` from the OS disk, `computerName` from the OS profile, `vmSize` from
//!   the hardware profile; empty when absent).
//! - `__meta_azure_machine_resource_group`: the resource group in the VM's ID, in its case.
//! - `__meta_azure_machine_scale_set`: the scale set's name, for scale-set VMs only.
//! - `__meta_azure_machine_tag_<name>`: each tag, its name with every character outside
//!   `[a-zA-Z0-9_]` replaced by `_`.
//! - `__meta_azure_machine_private_ip`, and `__meta_azure_machine_public_ip` when the IP
//!   configuration has an expanded public IP address.
//!
//! The interfaces are walked in the VM's order: one without properties is passed over; one
//! without a `primary` flag means a deallocated VM (no target); the first primary one decides:
//! its first IP configuration gives the address, or, without a private IP, fails the refresh.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use promsd_actors::{intern, LabelSet, Name, Str, ADDRESS_LABEL};

use super::api;
use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;

/// A VM or scale-set VM, reduced to what the labels need (Prometheus' `virtualMachine`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub computer_name: String,
    pub kind: String,
    pub location: String,
    pub os_type: String,
    pub scale_set: String,
    pub instance_id: String,
    pub tags: BTreeMap<String, String>,
    pub network_interfaces: Vec<String>,
    pub size: String,
}

/// Prometheus' `mapFromVM` (with `scale_set` empty) and `mapFromVMScaleSetVM`.
pub fn machine(vm: api::VirtualMachine, scale_set: &str) -> Machine {
    let mut m = Machine {
        id: vm.id.unwrap_or_default(),
        name: vm.name.unwrap_or_default(),
        kind: vm.kind.unwrap_or_default(),
        location: vm.location.unwrap_or_default(),
        scale_set: scale_set.to_owned(),
        instance_id: if scale_set.is_empty() {
            String::new()
        } else {
            vm.instance_id.unwrap_or_default()
        },
        tags: vm
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
        ..Machine::default()
    };
    if let Some(p) = vm.properties {
        if let Some(os_type) = p
            .storage_profile
            .and_then(|s| s.os_disk)
            .and_then(|d| d.os_type)
        {
            m.os_type = os_type;
        }
        if let Some(n) = p.network_profile {
            m.network_interfaces = n
                .network_interfaces
                .into_iter()
                .flatten()
                .map(|nic| nic.id.unwrap_or_default())
                .collect();
        }
        if let Some(name) = p.os_profile.and_then(|o| o.computer_name) {
            m.computer_name = name;
        }
        if let Some(h) = p.hardware_profile {
            m.size = h.vm_size.unwrap_or_default();
        }
    }
    m
}

struct Names {
    subscription_id: Name,
    tenant_id: Name,
    machine_id: Name,
    machine_resource_group: Name,
    machine_name: Name,
    machine_computer_name: Name,
    machine_os_type: Name,
    machine_location: Name,
    machine_private_ip: Name,
    machine_public_ip: Name,
    machine_scale_set: Name,
    machine_size: Name,
    address: Name,
}

static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    subscription_id: Name::new("__meta_azure_subscription_id"),
    tenant_id: Name::new("__meta_azure_tenant_id"),
    machine_id: Name::new("__meta_azure_machine_id"),
    machine_resource_group: Name::new("__meta_azure_machine_resource_group"),
    machine_name: Name::new("__meta_azure_machine_name"),
    machine_computer_name: Name::new("__meta_azure_machine_computer_name"),
    machine_os_type: Name::new("__meta_azure_machine_os_type"),
    machine_location: Name::new("__meta_azure_machine_location"),
    machine_private_ip: Name::new("__meta_azure_machine_private_ip"),
    machine_public_ip: Name::new("__meta_azure_machine_public_ip"),
    machine_scale_set: Name::new("__meta_azure_machine_scale_set"),
    machine_size: Name::new("__meta_azure_machine_size"),
    address: Name::new(ADDRESS_LABEL),
});

/// Values every target of one config shares.
#[derive(Clone, Debug)]
pub struct Context {
    pub subscription_id: Str,
    pub tenant_id: Str,
    pub port: i64,
}

/// A VM's labels while its interfaces are read.
pub struct Pending {
    labels: Vec<(Name, Str)>,
}

/// The labels a VM has before its network interfaces are read; `resource_group` comes from
/// its ID.
pub fn start(ctx: &Context, m: &Machine, resource_group: &str) -> Pending {
    let n = &*NAMES;
    let mut labels: Vec<(Name, Str)> = vec![
        (n.subscription_id.clone(), ctx.subscription_id.clone()),
        (n.tenant_id.clone(), ctx.tenant_id.clone()),
        (n.machine_id.clone(), m.id.as_str().into()),
        (n.machine_name.clone(), m.name.as_str().into()),
        (
            n.machine_computer_name.clone(),
            m.computer_name.as_str().into(),
        ),
        (n.machine_os_type.clone(), intern(&m.os_type)),
        (n.machine_location.clone(), intern(&m.location)),
        (n.machine_resource_group.clone(), intern(resource_group)),
        (n.machine_size.clone(), intern(&m.size)),
    ];
    if !m.scale_set.is_empty() {
        labels.push((n.machine_scale_set.clone(), intern(&m.scale_set)));
    }
    for (key, value) in &m.tags {
        let name = format!("__meta_azure_machine_tag_{}", sanitize_label_name(key));
        labels.push((Name::new(&name), value.as_str().into()));
    }
    Pending { labels }
}

/// What one network interface decides for its VM.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Look at the next interface.
    Next,
    /// The VM is no target (deallocated).
    Skip,
    /// The VM's labels.
    Target(LabelSet),
}

/// Prometheus' walk over one interface of `vm_to_label_set`; an error fails the refresh.
pub fn interface(
    ctx: &Context,
    pending: &mut Pending,
    vm_name: &str,
    nic: &api::Interface,
) -> Result<Step, String> {
    let Some(props) = &nic.properties else {
        return Ok(Step::Next);
    };
    let Some(primary) = props.primary else {
        return Ok(Step::Skip);
    };
    if !primary {
        return Ok(Step::Next);
    }
    let n = &*NAMES;
    if let Some(ip) = props.ip_configurations.first() {
        let ip_props = ip.as_ref().and_then(|ip| ip.properties.as_ref());
        if let Some(public) = ip_props
            .and_then(|p| p.public_ip_address.as_ref())
            .and_then(|p| p.properties.as_ref())
            .and_then(|p| p.ip_address.as_ref())
        {
            set(&mut pending.labels, n.machine_public_ip.clone(), public);
        }
        if let Some(private) = ip_props.and_then(|p| p.private_ip_address.as_ref()) {
            set(&mut pending.labels, n.machine_private_ip.clone(), private);
            let address = join_host_port(private, ctx.port);
            set(&mut pending.labels, n.address.clone(), &address);
            return Ok(Step::Target(LabelSet::from_labels(std::mem::take(
                &mut pending.labels,
            ))));
        }
        return Err(format!("unable to find a private IP for VM {vm_name}"));
    }
    Ok(Step::Next)
}

/// Adds a label; `LabelSet::from_labels` keeps the last value of a name.
fn set(labels: &mut Vec<(Name, Str)>, name: Name, value: &str) {
    labels.push((name, value.into()));
}
