//! The discovery mechanisms, one module each, and the registry that maps a scrape config's
//! `<name>_sd_configs` keys to them.
//!
//! A mechanism module holds its config struct (serde, with Prometheus' field names and
//! defaults), its discoverer and its tests. Registering it is one line in `mechanisms!` below.
//! This room uses `common/` but never `config/`: the config loader calls [`next_sd_configs`]
//! while it reads a scrape config, so YAML positions survive into errors.

use std::path::Path;
use std::sync::Arc;

use promsd_actors::{DiscoveryConfig, DiscoveryError};

use crate::common::http_config::HttpClientConfig;
use serde::de::{self, DeserializeOwned, MapAccess};

// The mechanisms, each behind its cargo feature (all on by default), and the kit they share.
#[cfg(feature = "sd-aws")]
pub mod aws;
#[cfg(feature = "sd-azure")]
pub mod azure;
#[cfg(feature = "sd-consul")]
pub mod consul;
#[cfg(feature = "sd-digitalocean")]
pub mod digitalocean;
#[cfg(feature = "sd-dns")]
pub mod dns;
#[cfg(feature = "sd-eureka")]
pub mod eureka;
#[cfg(feature = "sd-file")]
pub mod file;
#[cfg(feature = "sd-gce")]
pub mod gce;
#[cfg(feature = "sd-hetzner")]
pub mod hetzner;
#[cfg(feature = "sd-http")]
pub mod http;
#[cfg(feature = "sd-ionos")]
pub mod ionos;
pub mod kit;
#[cfg(feature = "sd-kubernetes")]
pub mod kubernetes;
#[cfg(feature = "sd-kuma")]
pub mod kuma;
#[cfg(feature = "sd-linode")]
pub mod linode;
#[cfg(feature = "sd-marathon")]
pub mod marathon;
#[cfg(feature = "sd-moby")]
pub mod moby;
#[cfg(feature = "sd-nomad")]
pub mod nomad;
#[cfg(feature = "sd-oci")]
pub mod oci;
#[cfg(feature = "sd-openstack")]
pub mod openstack;
#[cfg(feature = "sd-outscale")]
pub mod outscale;
#[cfg(feature = "sd-ovhcloud")]
pub mod ovhcloud;
#[cfg(feature = "sd-puppetdb")]
pub mod puppetdb;
#[cfg(feature = "sd-scaleway")]
pub mod scaleway;
#[cfg(feature = "sd-stackit")]
pub mod stackit;
pub mod static_sd;
#[cfg(feature = "sd-triton")]
pub mod triton;
#[cfg(feature = "sd-uyuni")]
pub mod uyuni;
#[cfg(feature = "sd-vultr")]
pub mod vultr;
// A small XML element tree with Go's `encoding/xml` view of a document (Eureka, Uyuni).
#[cfg(any(feature = "sd-eureka", feature = "sd-uyuni"))]
pub(crate) mod xml_tree;
#[cfg(feature = "sd-zookeeper")]
pub mod zookeeper;

/// A mechanism's config as the product sees it: the engine's contract plus what loading needs.
pub trait SdConfig: DiscoveryConfig {
    /// Makes relative file paths absolute against the directory of the config file.
    fn resolve_paths(&mut self, _dir: &Path) {}
}

/// The configs of one `*_sd_configs` key (or all `static_configs` of a job, which Prometheus
/// coalesces into one config).
pub type SdConfigs = Vec<Box<dyn SdConfig>>;

/// Turns a finished, path-resolved config into what the engine runs. A config whose HTTP
/// settings name a secret by reference (`password_ref`, `credentials_ref`, `ca_ref`, ...) loads,
/// as in Prometheus, and its discoverer then fails to start with Prometheus' message: Prometheus
/// runs no secret manager, so `NewClientFromConfig` fails in the mechanism's `NewDiscovery`.
pub fn into_discovery(config: Box<dyn SdConfig>) -> Arc<dyn DiscoveryConfig> {
    let arc: Arc<dyn SdConfig> = Arc::from(config);
    match secret_ref_error(arc.as_ref()) {
        Some(error) => Arc::new(Unstartable { config: arc, error }),
        None => arc,
    }
}

/// The `*_ref` error of a config's inline HTTP settings, read from its identity (its JSON with
/// every key it holds), so that no mechanism needs to expose its settings for it.
fn secret_ref_error(config: &dyn SdConfig) -> Option<String> {
    let identity = config.identity();
    // Some identities append proxy passwords after a separator; the JSON comes first.
    let json = identity.split('\u{1f}').next().unwrap_or("");
    if !json.contains("_ref\"") {
        return None;
    }
    let serde_json::Value::Object(map) = serde_json::from_str(json).ok()? else {
        return None;
    };
    let http: serde_json::Map<String, serde_json::Value> = map
        .into_iter()
        .filter(|(k, _)| HttpClientConfig::KEYS.contains(&k.as_str()))
        .collect();
    serde_json::from_value::<HttpClientConfig>(serde_json::Value::Object(http))
        .ok()?
        .secret_ref_error()
}

/// A config whose discoverer cannot start (see [`into_discovery`]): it is what it was for
/// identity, and building it fails with `error`.
#[derive(Debug)]
struct Unstartable {
    config: Arc<dyn SdConfig>,
    error: String,
}

impl DiscoveryConfig for Unstartable {
    fn mechanism(&self) -> &'static str {
        self.config.mechanism()
    }

    fn identity(&self) -> String {
        self.config.identity()
    }

    fn build(
        &self,
        _: &promsd_actors::BuildContext,
    ) -> Result<promsd_actors::Discoverer, DiscoveryError> {
        Err(DiscoveryError::new(self.error.clone()))
    }
}

/// A list value that may be written as `null` (an empty list, as in Prometheus' YAML decoder).
#[derive(Debug)]
struct NullableList<T>(Vec<T>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for NullableList<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Vec<Option<T>>>::deserialize(d)?
            .unwrap_or_default()
            .into_iter()
            .map(|item| item.ok_or_else(|| de::Error::custom("empty or null section")))
            .collect::<Result<Vec<T>, D::Error>>()
            .map(NullableList)
    }
}

fn read_list<'de, A, T>(map: &mut A, key: &str) -> Result<SdConfigs, A::Error>
where
    A: MapAccess<'de>,
    T: DeserializeOwned + SdConfig,
{
    let list: NullableList<T> = map.next_value().map_err(|e: A::Error| {
        let msg = e.to_string();
        if msg.starts_with("empty or null section") {
            de::Error::custom(format!("empty or null section in {key}"))
        } else {
            e
        }
    })?;
    Ok(list
        .0
        .into_iter()
        .map(|c| Box::new(c) as Box<dyn SdConfig>)
        .collect())
}

macro_rules! mechanisms {
    ($($name:literal => $ty:ty, go $go:literal, feature $feature:literal $(, metrics $metrics:path)?;)*) => {
        /// Reads the value of `key` if it is a discovery key: `Ok(None)` for other keys, an error
        /// for a mechanism promsd does not implement (or was built without).
        pub fn next_sd_configs<'de, A: MapAccess<'de>>(
            key: &str,
            map: &mut A,
        ) -> Result<Option<SdConfigs>, A::Error> {
            match key {
                "static_configs" => static_sd::read_static_configs(map).map(Some),
                $(#[cfg(feature = $feature)]
                k if k == concat!($name, "_sd_configs") => read_list::<A, $ty>(map, key).map(Some),)*
                _ => match key.strip_suffix("_sd_configs") {
                    Some(name) if PROMETHEUS_MECHANISMS.contains(&name) => Err(de::Error::custom(format!(
                        "{key}: promsd does not implement {name} service discovery yet"
                    ))),
                    _ => Ok(None),
                },
            }
        }

        /// Mechanisms this build of promsd implements, by name.
        pub const IMPLEMENTED: &[&str] = &["static", $(#[cfg(feature = $feature)] $name),*];

        /// The Go package of a mechanism in Prometheus' source, which its config errors name
        /// (`field x not found in type aws.plain`), or the whole Go type when its plain type
        /// has another name (`xds.plainKumaConf`).
        pub fn go_package(mechanism: &str) -> &str {
            match mechanism {
                $($name => $go,)*
                other => other,
            }
        }

        /// Registers every mechanism's own metrics (`prometheus_sd_<mechanism>_*`), once per
        /// process.
        pub fn register_metrics(registry: &mut prometheus_client::registry::Registry) {
            let _ = &registry; // a build whose mechanisms have no metrics of their own
            $($(#[cfg(feature = $feature)] $metrics(registry);)?)*
        }
    };
}

// The registry: one line per `<name>_sd_configs` key: its config type, the Go package
// Prometheus implements it in, the cargo feature that builds it, and its own metrics.
mechanisms! {
    "aws" => aws::AwsSdConfig, go "aws", feature "sd-aws";
    "azure" => azure::AzureSdConfig, go "azure", feature "sd-azure", metrics azure::register_metrics;
    "consul" => consul::ConsulSdConfig, go "consul", feature "sd-consul", metrics consul::register_metrics;
    "digitalocean" => digitalocean::DigitalOceanSdConfig, go "digitalocean", feature "sd-digitalocean";
    "dns" => dns::DnsSdConfig, go "dns", feature "sd-dns", metrics dns::register_metrics;
    "docker" => moby::DockerSdConfig, go "moby", feature "sd-moby";
    "dockerswarm" => moby::DockerSwarmSdConfig, go "moby", feature "sd-moby";
    "ec2" => aws::Ec2SdConfig, go "aws", feature "sd-aws";
    "ecs" => aws::EcsSdConfig, go "aws", feature "sd-aws";
    "elasticache" => aws::ElasticacheSdConfig, go "aws", feature "sd-aws";
    "eureka" => eureka::EurekaSdConfig, go "eureka", feature "sd-eureka";
    "file" => file::FileSdConfig, go "file", feature "sd-file", metrics file::register_metrics;
    "hetzner" => hetzner::HetznerSdConfig, go "hetzner", feature "sd-hetzner";
    "gce" => gce::GceSdConfig, go "gce", feature "sd-gce";
    "http" => http::HttpSdConfig, go "http", feature "sd-http", metrics http::register_metrics;
    "kubernetes" => kubernetes::KubernetesSdConfig, go "kubernetes", feature "sd-kubernetes", metrics kubernetes::register_metrics;
    "linode" => linode::LinodeSdConfig, go "linode", feature "sd-linode", metrics linode::register_metrics;
    "vultr" => vultr::VultrSdConfig, go "vultr", feature "sd-vultr";
    "lightsail" => aws::LightsailSdConfig, go "aws", feature "sd-aws";
    "msk" => aws::MskSdConfig, go "aws", feature "sd-aws";
    "rds" => aws::RdsSdConfig, go "aws", feature "sd-aws";
    "marathon" => marathon::MarathonSdConfig, go "marathon", feature "sd-marathon";
    "nomad" => nomad::NomadSdConfig, go "nomad", feature "sd-nomad", metrics nomad::register_metrics;
    "puppetdb" => puppetdb::PuppetdbSdConfig, go "puppetdb", feature "sd-puppetdb";
    "triton" => triton::TritonSdConfig, go "triton", feature "sd-triton";
    "uyuni" => uyuni::UyuniSdConfig, go "uyuni", feature "sd-uyuni";
    "ionos" => ionos::IonosSdConfig, go "ionos", feature "sd-ionos";
    "oci" => oci::OciSdConfig, go "oci", feature "sd-oci";
    "openstack" => openstack::OpenstackSdConfig, go "openstack", feature "sd-openstack";
    "outscale" => outscale::OutscaleSdConfig, go "outscale", feature "sd-outscale";
    "stackit" => stackit::StackitSdConfig, go "stackit", feature "sd-stackit";
    "ovhcloud" => ovhcloud::OvhcloudSdConfig, go "ovhcloud", feature "sd-ovhcloud";
    "scaleway" => scaleway::ScalewaySdConfig, go "scaleway", feature "sd-scaleway";
    "kuma" => kuma::KumaSdConfig, go "xds.plainKumaConf", feature "sd-kuma", metrics kuma::register_metrics;
    "nerve" => zookeeper::NerveSdConfig, go "zookeeper", feature "sd-zookeeper";
    "serverset" => zookeeper::ServersetSdConfig, go "zookeeper", feature "sd-zookeeper", metrics zookeeper::register_metrics;
}

/// Every mechanism Prometheus 3.x knows (`<name>_sd_configs`), implemented here or not.
pub const PROMETHEUS_MECHANISMS: &[&str] = &[
    "aws",
    "azure",
    "consul",
    "digitalocean",
    "dns",
    "docker",
    "dockerswarm",
    "ec2",
    "ecs",
    "elasticache",
    "eureka",
    "file",
    "gce",
    "hetzner",
    "http",
    "ionos",
    "kubernetes",
    "kuma",
    "lightsail",
    "linode",
    "marathon",
    "msk",
    "nerve",
    "nomad",
    "oci",
    "openstack",
    "outscale",
    "ovhcloud",
    "puppetdb",
    "rds",
    "scaleway",
    "serverset",
    "stackit",
    "triton",
    "uyuni",
    "vultr",
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    /// Two configs that differ only in their proxy's password are two providers, for every
    /// mechanism with HTTP client settings: `identity_of` serializes proxy URLs unredacted.
    #[test]
    fn proxy_passwords_tell_identities_apart_in_every_mechanism() {
        for (key, settings) in [
            ("azure", "subscription_id: s, authentication_method: ManagedIdentity"),
            ("consul", "server: 'localhost:8500'"),
            ("digitalocean", "refresh_interval: 1m"),
            ("ec2", "region: us-east-1"),
            ("hetzner", "role: hcloud"),
            ("linode", "refresh_interval: 1m"),
            ("oci", "user: u, fingerprint: f, tenancy: t, region: r, key_file: k.pem, compartments: [c]"),
            ("outscale", "region: eu-west-2, access_key: a, secret_key: s"),
            ("stackit", "project: p"),
            ("vultr", "refresh_interval: 1m"),
        ] {
            let identity = |password: &str| {
                let yaml = format!(
                    "scrape_configs:\n  - job_name: j\n    {key}_sd_configs:\n      - {{{settings}, proxy_url: 'http://u:{password}@proxy:3128'}}\n"
                );
                let config = Config::load_str(&yaml, Path::new("p.yml"), Path::new("/tmp"))
                    .unwrap_or_else(|e| panic!("{key}: {e}"));
                config.scrape_configs[0].discovery[0].identity()
            };
            assert_ne!(identity("one"), identity("two"), "{key}");
        }
    }
}
