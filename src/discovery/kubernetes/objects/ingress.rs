//! Ingresses (networking.k8s.io/v1): rules (host, paths) and TLS hosts.

use serde::Deserialize;

use super::dedup::{Dedup, Sym};
use super::wire::{wire_resource, IntoCompact, WireMeta};
use super::{Meta, Object, Str};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    pub meta: Meta,
    pub class_name: Option<Sym>,
    pub rules: Box<[IngressRule]>,
    pub tls_hosts: Box<[Sym]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressRule {
    pub host: Sym,
    /// `None` when the rule has no `http` section.
    pub paths: Option<Box<[Sym]>>,
}

// Ingresses (networking.k8s.io/v1).

#[derive(Clone, Debug, Deserialize)]
pub struct WireIngress {
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WireIngressSpec>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIngressSpec {
    #[serde(default)]
    ingress_class_name: Option<String>,
    #[serde(default)]
    rules: Option<Vec<WireIngressRule>>,
    #[serde(default)]
    tls: Option<Vec<WireIngressTls>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressRule {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    http: Option<WireIngressHttp>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressHttp {
    #[serde(default)]
    paths: Option<Vec<WireIngressPath>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressPath {
    #[serde(default)]
    path: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressTls {
    #[serde(default)]
    hosts: Option<Vec<String>>,
}

wire_resource!(
    WireIngress,
    Ingress,
    "networking.k8s.io",
    "v1",
    "ingresses",
    namespaced
);

impl IntoCompact for WireIngress {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let spec = self.spec.unwrap_or_default();
        let ingress = Ingress {
            meta: self.metadata.into_meta(dedup),
            class_name: spec.ingress_class_name.map(|c| dedup.get(&c)),
            rules: spec
                .rules
                .unwrap_or_default()
                .into_iter()
                .map(|r| IngressRule {
                    host: dedup.opt(&r.host),
                    paths: r.http.map(|h| {
                        h.paths
                            .unwrap_or_default()
                            .into_iter()
                            .map(|p| dedup.opt(&p.path))
                            .collect()
                    }),
                })
                .collect(),
            tls_hosts: spec
                .tls
                .unwrap_or_default()
                .into_iter()
                .flat_map(|t| t.hosts.unwrap_or_default())
                .map(|h| dedup.get(&h))
                .collect(),
        };
        (key, Object::Ingress(ingress))
    }
}
