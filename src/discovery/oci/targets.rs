//! The target Prometheus makes of one instance and its primary VNIC (`instanceLabels`).
//!
//! Labels: `__address__` (`<private IP>:<port>`, else the public IP, else the first IPv6
//! address, bracketed), `__meta_oci_instance_id`, `_instance_name`, `_instance_state`,
//! `_instance_shape`, `_availability_domain`, `_fault_domain`, `_region`, `_tenancy_id`,
//! `_compartment_id`, `_image_id`, `_vnic_id`, `_private_ip`, `_public_ip`, `_hostname_label`,
//! `_ipv6_addresses` (sorted, `,a,b,`; empty when none), all set even when empty;
//! `__meta_oci_tag_<key>` per freeform tag and `__meta_oci_defined_tag_<namespace>_<key>` per
//! scalar defined tag (strings as is, booleans `true`/`false`, numbers as Go's
//! `FormatFloat(f, 'f', -1, 64)`; null, lists and objects left out), names with every
//! character outside `[a-zA-Z0-9_]` replaced by `_`.

use promsd_actors::{LabelSet, Name, Str, ADDRESS_LABEL};
use serde_json::Value;

use super::api::Instance;
use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;

/// The one source of every refresh.
pub const SOURCE: &str = "OCI";

/// The primary VNIC's parts the labels show (`vnicInfo`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VnicInfo {
    pub id: String,
    pub private_ip: String,
    pub public_ip: String,
    /// Sorted.
    pub ipv6_addresses: Vec<String>,
    pub hostname_label: String,
}

impl VnicInfo {
    /// Whether the instance has an address to scrape.
    pub fn has_address(&self) -> bool {
        !self.private_ip.is_empty() || !self.public_ip.is_empty() || !self.ipv6_addresses.is_empty()
    }
}

/// `joinIPv6`: `,a,b,`, or empty.
pub fn join_ipv6(addrs: &[String]) -> String {
    if addrs.is_empty() {
        String::new()
    } else {
        format!(",{},", addrs.join(","))
    }
}

/// `stringifyDefinedTag` for a JSON value as the SDK decodes it.
pub fn stringify_defined_tag(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        // JSON numbers decode as float64; Rust's `f64` display is Go's 'f', -1 format.
        Value::Number(n) => n.as_f64().map(|f| format!("{f}")),
        _ => None,
    }
}

/// `instanceLabels`.
pub fn instance_labels(inst: &Instance, vnic: &VnicInfo, tenancy: &str, port: i64) -> LabelSet {
    let mut addr = vnic.private_ip.as_str();
    if addr.is_empty() {
        addr = &vnic.public_ip;
    }
    if addr.is_empty() {
        if let Some(first) = vnic.ipv6_addresses.first() {
            addr = first;
        }
    }
    let s = |v: &Option<String>| -> Str { v.as_deref().unwrap_or("").into() };
    let mut labels: Vec<(Name, Str)> = vec![
        (Name::new(ADDRESS_LABEL), join_host_port(addr, port).into()),
        (Name::new("__meta_oci_instance_id"), s(&inst.id)),
        (Name::new("__meta_oci_instance_name"), s(&inst.display_name)),
        (
            Name::new("__meta_oci_instance_state"),
            inst.lifecycle_state.as_str().into(),
        ),
        (Name::new("__meta_oci_instance_shape"), s(&inst.shape)),
        (
            Name::new("__meta_oci_availability_domain"),
            s(&inst.availability_domain),
        ),
        (Name::new("__meta_oci_fault_domain"), s(&inst.fault_domain)),
        (Name::new("__meta_oci_region"), s(&inst.region)),
        (Name::new("__meta_oci_tenancy_id"), tenancy.into()),
        (
            Name::new("__meta_oci_compartment_id"),
            s(&inst.compartment_id),
        ),
        (Name::new("__meta_oci_image_id"), s(&inst.image_id)),
        (Name::new("__meta_oci_vnic_id"), vnic.id.as_str().into()),
        (
            Name::new("__meta_oci_private_ip"),
            vnic.private_ip.as_str().into(),
        ),
        (
            Name::new("__meta_oci_public_ip"),
            vnic.public_ip.as_str().into(),
        ),
        (
            Name::new("__meta_oci_hostname_label"),
            vnic.hostname_label.as_str().into(),
        ),
        (
            Name::new("__meta_oci_ipv6_addresses"),
            join_ipv6(&vnic.ipv6_addresses).into(),
        ),
    ];
    for (k, v) in &inst.freeform_tags {
        labels.push((
            Name::new(&format!("__meta_oci_tag_{}", sanitize_label_name(k))),
            v.as_str().into(),
        ));
    }
    for (ns, tags) in &inst.defined_tags {
        for (k, v) in tags {
            if let Some(value) = stringify_defined_tag(v) {
                labels.push((
                    Name::new(&format!(
                        "__meta_oci_defined_tag_{}_{}",
                        sanitize_label_name(ns),
                        sanitize_label_name(k)
                    )),
                    value.into(),
                ));
            }
        }
    }
    LabelSet::from_labels(labels)
}
