//! The discovery mechanisms' end-to-end tests, one module each, in ONE test binary (thirty
//! mechanisms must not link thirty binaries). Each drives the real client code against a
//! fixture that speaks the API's wire protocol, through the engine from a prometheus.yml.
//! `kit` tests what every HTTP-based mechanism shares: Prometheus' client settings, the
//! intercepting proxy, TLS.

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "sd-aws")]
mod aws;
mod azure;
mod digitalocean;
mod gce;
mod hetzner;
mod kit;
mod linode;
mod moby;
mod vultr;

// Eureka, Marathon, Nomad, PuppetDB, Triton and Uyuni, and what their tests share.
mod eureka;
mod ionos;
#[cfg(feature = "sd-kuma")]
mod kuma;
mod marathon;
mod nomad;
mod oci;
mod openstack;
#[cfg(feature = "sd-outscale")]
mod outscale;
mod ovhcloud;
mod puppetdb;
mod registries_kit;
mod scaleway;
mod stackit;
mod triton;
mod uyuni;
#[cfg(feature = "sd-zookeeper")]
mod zookeeper;
