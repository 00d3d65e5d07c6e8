//! Role `ingress` (Prometheus' `ingress.go`): a group per ingress (`ingress/<namespace>/<name>`),
//! a target per rule and path with the rule's host as address; the scheme is `https` when a TLS
//! host (or wildcard pattern) matches the rule's host; a rule without paths counts as `/`.

use std::sync::Arc;

use promsd_actors::{Str, TargetGroup};

use super::discoverer::{Lookup, RoleBuilder};
use super::labels::{add_object_meta, names, values, Labels, ADDRESS, NAMESPACE};
use super::objects::{Kind, Object};
use super::pod::add_namespace_labels;
use super::AttachMetadata;

names! {
    INGRESS_NAME = "__meta_kubernetes_ingress_name";
    SCHEME = "__meta_kubernetes_ingress_scheme";
    HOST = "__meta_kubernetes_ingress_host";
    PATH = "__meta_kubernetes_ingress_path";
    CLASS_NAME = "__meta_kubernetes_ingress_class_name";
}

values! {
    HTTP = "http";
    HTTPS = "https";
    ROOT = "/";
}

pub struct IngressRole {
    attach: AttachMetadata,
}

impl IngressRole {
    pub fn new(attach: AttachMetadata) -> Self {
        IngressRole { attach }
    }
}

impl RoleBuilder for IngressRole {
    fn primary(&self) -> Kind {
        Kind::Ingress
    }

    fn source(&self, key: &str) -> Str {
        Arc::from(format!("ingress/{key}"))
    }

    fn build(&self, object: &Object, lookup: &mut Lookup<'_>) -> Option<TargetGroup> {
        let Object::Ingress(ingress) = object else {
            return None;
        };
        let mut labels = Labels::default();
        labels.set(&NAMESPACE, &ingress.meta.namespace);
        if let Some(class) = &ingress.class_name {
            labels.set(&CLASS_NAME, class);
        }
        add_object_meta(&mut labels, &ingress.meta, "ingress", &INGRESS_NAME);
        if self.attach.namespace {
            add_namespace_labels(&mut labels, ingress.meta.namespace.str(), lookup);
        }
        let mut targets = Vec::new();
        for rule in ingress.rules.iter() {
            let https = ingress
                .tls_hosts
                .iter()
                .any(|pattern| matches_hostname_pattern(pattern, &rule.host));
            let scheme = if https { HTTPS.clone() } else { HTTP.clone() };
            let paths: Vec<Str> = match &rule.paths {
                Some(paths) => paths
                    .iter()
                    .map(|p| if p.is_empty() { ROOT.clone() } else { p.into() })
                    .collect(),
                None => vec![ROOT.clone()],
            };
            for path in paths {
                let mut t = Labels::with_capacity(4);
                t.set(&ADDRESS, &rule.host);
                t.set(&SCHEME, scheme.clone());
                t.set(&HOST, &rule.host);
                t.set(&PATH, path);
                targets.push(t.finish());
            }
        }
        Some(TargetGroup::new(
            Arc::from(format!(
                "ingress/{}/{}",
                ingress.meta.namespace, ingress.meta.name
            )),
            targets,
            labels.finish(),
        ))
    }
}

/// Whether `host` matches a TLS host: equal, or a `*.` wildcard standing for exactly its first
/// label.
fn matches_hostname_pattern(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.split('.').collect();
    let host_parts: Vec<&str> = host.split('.').collect();
    if pattern_parts[0] != "*" || pattern_parts.len() != host_parts.len() {
        return false;
    }
    pattern_parts[1..] == host_parts[1..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_tls_hosts() {
        assert!(matches_hostname_pattern("*.example.com", "a.example.com"));
        assert!(!matches_hostname_pattern(
            "*.example.com",
            "a.b.example.com"
        ));
        assert!(matches_hostname_pattern("example.com", "example.com"));
        assert!(!matches_hostname_pattern("example.com", "other.com"));
    }
}
