//! The targets Prometheus makes of DigitalOcean's answers: one group per role.
//!
//! - droplets ([`droplets_group`], source `DigitalOcean`): each droplet with at least one IPv4
//!   network is a target at `<public IPv4>:<port>`, with `__meta_digitalocean_droplet_id`,
//!   `droplet_name`, `image` (slug), `image_name`, `private_ipv4`, `public_ipv4`,
//!   `public_ipv6` (the first network of that type, as written; empty when none), `region`
//!   (slug), `size` (slug), `status`, `vpc`, and `features` / `tags` joined by `,` with a `,`
//!   around them (`,a,b,`), only when there are any.
//! - databases ([`databases_group`], source `DigitalOcean Databases`): each cluster with
//!   `__meta_digitalocean_db_id`, `db_name`, `db_engine`, `db_version`, `db_status`,
//!   `db_region`, `db_size`, `db_num_nodes`, `db_private_host` and `db_host` (when the
//!   cluster has that connection), `db_tag_<tag>="true"` per tag (the tag as is, not
//!   sanitized, as Prometheus does) and `__address__` at the private host, else the public
//!   one (none when neither is known).

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{Database, Droplet, Network};
use crate::discovery::kit::join_host_port;

pub const DROPLETS_SOURCE: &str = "DigitalOcean";
pub const DATABASES_SOURCE: &str = "DigitalOcean Databases";

/// The address of the first network of `kind` (godo's `PublicIPv4` and friends).
fn first_of<'a>(networks: &'a [Network], kind: &str) -> &'a str {
    networks
        .iter()
        .find(|n| n.kind == kind)
        .map_or("", |n| n.ip_address.as_str())
}

/// `,a,b,` for a non-empty list.
fn surrounded(items: &[String]) -> String {
    format!(",{},", items.join(","))
}

pub fn droplets_group(droplets: &[Droplet], port: u64) -> TargetGroup {
    let name = |s: &str| Name::new(&format!("__meta_digitalocean_{s}"));
    let (id, droplet_name, image, image_name) = (
        name("droplet_id"),
        name("droplet_name"),
        name("image"),
        name("image_name"),
    );
    let (private_ipv4, public_ipv4, public_ipv6) = (
        name("private_ipv4"),
        name("public_ipv4"),
        name("public_ipv6"),
    );
    let (region, size, status, vpc) = (name("region"), name("size"), name("status"), name("vpc"));
    let (features, tags) = (name("features"), name("tags"));
    let address = Name::new(ADDRESS_LABEL);

    let targets = droplets
        .iter()
        .filter_map(|droplet| {
            let networks = droplet.networks.as_ref().filter(|n| !n.v4.is_empty())?;
            let public = first_of(&networks.v4, "public");
            let mut labels: Vec<(Name, Str)> = vec![
                (address.clone(), join_host_port(public, port).into()),
                (id.clone(), droplet.id.to_string().into()),
                (droplet_name.clone(), droplet.name.as_str().into()),
                (image.clone(), intern(&droplet.image.slug)),
                (image_name.clone(), intern(&droplet.image.name)),
                (
                    private_ipv4.clone(),
                    first_of(&networks.v4, "private").into(),
                ),
                (public_ipv4.clone(), public.into()),
                (public_ipv6.clone(), first_of(&networks.v6, "public").into()),
                (region.clone(), intern(&droplet.region.slug)),
                (size.clone(), intern(&droplet.size_slug)),
                (status.clone(), intern(&droplet.status)),
                (vpc.clone(), intern(&droplet.vpc_uuid)),
            ];
            if !droplet.features.is_empty() {
                labels.push((features.clone(), intern(&surrounded(&droplet.features))));
            }
            if !droplet.tags.is_empty() {
                labels.push((tags.clone(), surrounded(&droplet.tags).into()));
            }
            Some(LabelSet::from_labels(labels))
        })
        .collect();
    TargetGroup::new(DROPLETS_SOURCE, targets, LabelSet::new())
}

pub fn databases_group(databases: &[Database], port: u64) -> TargetGroup {
    let name = |s: &str| Name::new(&format!("__meta_digitalocean_db_{s}"));
    let true_value = intern("true");
    let targets = databases
        .iter()
        .map(|db| {
            let mut labels: Vec<(Name, Str)> = vec![
                (name("id"), db.id.as_str().into()),
                (name("name"), db.name.as_str().into()),
                (name("engine"), intern(&db.engine)),
                (name("version"), intern(&db.version)),
                (name("status"), intern(&db.status)),
                (name("region"), intern(&db.region)),
                (name("size"), intern(&db.size)),
                (name("num_nodes"), intern(&db.num_nodes.to_string())),
            ];
            let mut host = "";
            if let Some(private) = &db.private_connection {
                host = &private.host;
                labels.push((name("private_host"), private.host.as_str().into()));
            }
            if let Some(public) = &db.connection {
                labels.push((name("host"), public.host.as_str().into()));
                if host.is_empty() {
                    host = &public.host;
                }
            }
            if !host.is_empty() {
                labels.push((Name::new(ADDRESS_LABEL), join_host_port(host, port).into()));
            }
            for tag in &db.tags {
                labels.push((
                    Name::new(&format!("__meta_digitalocean_db_tag_{tag}")),
                    true_value.clone(),
                ));
            }
            LabelSet::from_labels(labels)
        })
        .collect();
    TargetGroup::new(DATABASES_SOURCE, targets, LabelSet::new())
}
