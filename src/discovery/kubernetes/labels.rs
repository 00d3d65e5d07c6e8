//! Label building shared by the roles: Prometheus' `addObjectMetaLabels`, label-name
//! sanitizing, and a builder that turns pushed pairs into a [`LabelSet`] (a later pair with the
//! same name wins, as Go's `LabelSet.Merge`).

use std::sync::{Arc, LazyLock};

use promsd_actors::{intern, LabelSet, Name, Str};

use super::objects::Meta;

/// `__meta_kubernetes_`.
pub const PREFIX: &str = "__meta_kubernetes_";

/// Declares interned label names once.
macro_rules! names {
    ($($vis:vis $id:ident = $value:expr;)*) => {
        $($vis static $id: std::sync::LazyLock<promsd_actors::Name> =
            std::sync::LazyLock::new(|| promsd_actors::Name::new($value));)*
    };
}
pub(crate) use names;

/// Declares common label values once, shared by every target that has them.
macro_rules! values {
    ($($vis:vis $id:ident = $value:expr;)*) => {
        $($vis static $id: std::sync::LazyLock<promsd_actors::Str> =
            std::sync::LazyLock::new(|| promsd_actors::intern($value));)*
    };
}
pub(crate) use values;

names! {
    pub ADDRESS = "__address__";
    pub INSTANCE = "instance";
    pub NAMESPACE = "__meta_kubernetes_namespace";
}

values! {
    pub TRUE = "true";
    pub FALSE = "false";
}

/// Go's `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub use crate::discovery::kit::sanitize_label_name as sanitize;

/// `true` or `false`.
pub fn bool_value(b: bool) -> Str {
    if b {
        TRUE.clone()
    } else {
        FALSE.clone()
    }
}

/// A decimal number as a label value (interned: ports repeat).
pub fn number(n: i64) -> Str {
    intern(&n.to_string())
}

/// `host:port` as Go's `net.JoinHostPort` writes it (brackets around IPv6 hosts).
pub fn join_host_port(host: &str, port: i64) -> Str {
    if host.contains(':') {
        Arc::from(format!("[{host}]:{port}"))
    } else {
        Arc::from(format!("{host}:{port}"))
    }
}

/// Collects label pairs, then sorts them into a [`LabelSet`].
#[derive(Default, Clone)]
pub struct Labels(Vec<(Name, Str)>);

impl Labels {
    pub fn with_capacity(n: usize) -> Self {
        Labels(Vec::with_capacity(n))
    }

    /// Sets `name` (already interned) to `value` (a [`Str`], or a `&Sym` whose shared string
    /// it takes); a later set of the same name wins.
    pub fn set(&mut self, name: &LazyLock<Name>, value: impl Into<Str>) {
        self.0.push((Name::clone(name), value.into()));
    }

    /// Sets a label whose name is built at run time.
    pub fn set_dynamic(&mut self, name: &str, value: impl Into<Str>) {
        self.0.push((Name::new(name), value.into()));
    }

    /// Adds every pair of `other` (its values win).
    pub fn merge(&mut self, other: &Labels) {
        self.0.extend(other.0.iter().cloned());
    }

    /// The labels as a set; of pairs with the same name, the one set last.
    pub fn finish(self) -> LabelSet {
        LabelSet::from_labels(self.0)
    }
}

/// Prometheus' `addObjectAnnotationsAndLabels`: `<prefix><resource>_label_<name>`,
/// `..._labelpresent_<name>`, `..._annotation_<name>`, `..._annotationpresent_<name>`.
pub fn add_labels_and_annotations(labels: &mut Labels, meta: &Meta, resource: &str) {
    let mut name = String::with_capacity(64);
    for (kind, pairs) in [("label", &meta.labels), ("annotation", &meta.annotations)] {
        for (k, v) in pairs.iter() {
            let sanitized = sanitize(k);
            name.clear();
            name.push_str(PREFIX);
            name.push_str(resource);
            name.push('_');
            name.push_str(kind);
            name.push('_');
            name.push_str(&sanitized);
            labels.set_dynamic(&name, v);
            name.clear();
            name.push_str(PREFIX);
            name.push_str(resource);
            name.push('_');
            name.push_str(kind);
            name.push_str("present_");
            name.push_str(&sanitized);
            labels.set_dynamic(&name, TRUE.clone());
        }
    }
}

/// Prometheus' `addObjectMetaLabels`: `<prefix><role>_name` and the labels and annotations.
pub fn add_object_meta(labels: &mut Labels, meta: &Meta, role: &str, name_label: &LazyLock<Name>) {
    labels.set(name_label, meta.name.clone());
    add_labels_and_annotations(labels, meta, role);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_go() {
        assert_eq!(sanitize("app.kubernetes.io/name"), "app_kubernetes_io_name");
        assert_eq!(sanitize("ünï-code"), "_n__code");
    }

    #[test]
    fn later_set_wins() {
        let mut l = Labels::default();
        l.set(&ADDRESS, Arc::from("a"));
        l.set(&NAMESPACE, Arc::from("n"));
        l.set(&ADDRESS, Arc::from("b"));
        let set = l.finish();
        assert_eq!(set.get("__address__"), Some("b"));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn join_host_port_brackets_ipv6() {
        assert_eq!(&*join_host_port("::1", 80), "[::1]:80");
        assert_eq!(&*join_host_port("10.0.0.1", 80), "10.0.0.1:80");
    }
}
