//! What every wire type shares: the [`Wire`] trait the watch decodes through, `metadata` as
//! decoded (only what kube's watcher and the labels read), the `kube::Resource` impls, and the
//! kinds promsd keeps the metadata of only (namespaces, ReplicaSets, Jobs).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Api, Client};
use serde::{Deserialize, Deserializer};

use super::dedup::{own, Dedup};
use super::{object_key, Kind, Meta, Object, OwnerRef, Str};

/// A wire type: decodes from the API and becomes a compact [`Object`].
pub trait Wire:
    kube::Resource<DynamicType = ()>
    + serde::de::DeserializeOwned
    + Clone
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
    const KIND: Kind;
    /// The API for all namespaces (`None`) or one.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;
    fn into_object(self, dedup: &mut Dedup) -> (Str, Object);
}

/// `metadata` as decoded: what kube's watcher needs (name, namespace, resourceVersion) as an
/// `ObjectMeta`, and what the labels need.
#[derive(Clone, Debug)]
pub struct WireMeta {
    om: ObjectMeta,
    uid: Option<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    owner_references: Vec<WireOwnerRef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOwnerRef {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    controller: Option<bool>,
}

impl<'de> Deserialize<'de> for WireMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            namespace: Option<String>,
            #[serde(default)]
            uid: Option<String>,
            #[serde(default)]
            resource_version: Option<String>,
            #[serde(default)]
            labels: Option<WirePairs>,
            #[serde(default)]
            annotations: Option<WirePairs>,
            #[serde(default)]
            owner_references: Option<Vec<WireOwnerRef>>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(WireMeta {
            om: ObjectMeta {
                name: raw.name,
                namespace: raw.namespace,
                resource_version: raw.resource_version,
                ..ObjectMeta::default()
            },
            uid: raw.uid,
            labels: raw.labels.map(|p| p.0).unwrap_or_default(),
            annotations: raw.annotations.map(|p| p.0).unwrap_or_default(),
            owner_references: raw.owner_references.unwrap_or_default(),
        })
    }
}

/// A JSON object of strings, as (key, value) pairs sorted by key.
#[derive(Clone, Debug, Default)]
pub(super) struct WirePairs(pub(super) Vec<(String, String)>);

impl<'de> Deserialize<'de> for WirePairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WirePairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<WirePairs, A::Error> {
                let mut out: Vec<(String, String)> = Vec::with_capacity(m.size_hint().unwrap_or(4));
                while let Some((k, v)) = m.next_entry::<String, Option<String>>()? {
                    out.push((k, v.unwrap_or_default()));
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                out.dedup_by(|later, earlier| {
                    if later.0 == earlier.0 {
                        std::mem::swap(later, earlier);
                        true
                    } else {
                        false
                    }
                });
                Ok(WirePairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl WireMeta {
    /// What kube's watcher reads.
    pub(super) fn object_meta(&self) -> &ObjectMeta {
        &self.om
    }

    pub(super) fn object_meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.om
    }

    pub(super) fn key(&self) -> Str {
        object_key(
            self.om.namespace.as_deref().unwrap_or(""),
            self.om.name.as_deref().unwrap_or(""),
        )
    }

    pub(super) fn into_meta(self, dedup: &mut Dedup) -> Meta {
        let controller = self
            .owner_references
            .into_iter()
            .find(|r| r.controller == Some(true))
            .map(|r| OwnerRef {
                kind: dedup.opt(&r.kind),
                name: dedup.opt(&r.name),
            });
        Meta {
            name: own(self.om.name),
            namespace: dedup.opt(&self.om.namespace),
            uid: own(self.uid),
            labels: dedup.pairs(self.labels),
            annotations: dedup.pairs(self.annotations),
            controller,
        }
    }
}

/// Implements `kube::Resource` and [`Wire`] for a wire type of `$kind` in API group `$group`,
/// namespaced or cluster-scoped; the conversion is its [`IntoCompact`] impl.
macro_rules! wire_resource {
    ($ty:ident, $kind:ident, $group:literal, $version:literal, $plural:literal, namespaced) => {
        $crate::discovery::kubernetes::objects::wire::wire_resource!(
            @impl $ty, $kind, $group, $version, $plural, ::k8s_openapi::NamespaceResourceScope
        );
        $crate::discovery::kubernetes::objects::wire::wire_resource!(@wire $ty, $kind,
            fn api(client: ::kube::Client, namespace: Option<&str>) -> ::kube::Api<Self> {
                match namespace {
                    Some(ns) => ::kube::Api::namespaced(client, ns),
                    None => ::kube::Api::all(client),
                }
            }
        );
    };
    ($ty:ident, $kind:ident, $group:literal, $version:literal, $plural:literal, cluster) => {
        $crate::discovery::kubernetes::objects::wire::wire_resource!(
            @impl $ty, $kind, $group, $version, $plural, ::k8s_openapi::ClusterResourceScope
        );
        $crate::discovery::kubernetes::objects::wire::wire_resource!(@wire $ty, $kind,
            fn api(client: ::kube::Client, _: Option<&str>) -> ::kube::Api<Self> {
                ::kube::Api::all(client)
            }
        );
    };
    (@wire $ty:ident, $kind:ident, $api:item) => {
        impl $crate::discovery::kubernetes::objects::Wire for $ty {
            const KIND: $crate::discovery::kubernetes::objects::Kind =
                $crate::discovery::kubernetes::objects::Kind::$kind;
            $api
            fn into_object(
                self,
                dedup: &mut $crate::discovery::kubernetes::objects::Dedup,
            ) -> (
                $crate::discovery::kubernetes::objects::Str,
                $crate::discovery::kubernetes::objects::Object,
            ) {
                $crate::discovery::kubernetes::objects::wire::IntoCompact::into_compact(self, dedup)
            }
        }
    };
    (@impl $ty:ident, $kind:ident, $group:literal, $version:literal, $plural:literal, $scope:ty) => {
        impl ::kube::Resource for $ty {
            type DynamicType = ();
            type Scope = $scope;
            fn kind(_: &()) -> ::std::borrow::Cow<'_, str> {
                stringify!($kind).into()
            }
            fn group(_: &()) -> ::std::borrow::Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> ::std::borrow::Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> ::std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                self.metadata.object_meta()
            }
            fn meta_mut(
                &mut self,
            ) -> &mut ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                self.metadata.object_meta_mut()
            }
        }
    };
}
pub(super) use wire_resource;

/// Converts a wire object into its compact one, keyed by its store key.
pub(super) trait IntoCompact {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object);
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct WireCondition {
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
}

// Metadata-only kinds: namespaces, ReplicaSets (for deployments), Jobs (for cron jobs).

macro_rules! meta_only {
    ($ty:ident, $kind:ident, $group:literal, $plural:literal, $scope:ident) => {
        #[derive(Clone, Debug, Deserialize)]
        pub struct $ty {
            metadata: WireMeta,
        }
        wire_resource!($ty, $kind, $group, "v1", $plural, $scope);
        impl IntoCompact for $ty {
            fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
                (
                    self.metadata.key(),
                    Object::$kind(self.metadata.into_meta(dedup)),
                )
            }
        }
    };
}

meta_only!(WireNamespace, Namespace, "", "namespaces", cluster);
meta_only!(
    WireReplicaSet,
    ReplicaSet,
    "apps",
    "replicasets",
    namespaced
);
meta_only!(WireJob, Job, "batch", "jobs", namespaced);
