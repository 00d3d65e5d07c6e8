//! GCE SD (`gce_sd_configs`): the instances of one project and zone, read from the Compute
//! Engine API as Prometheus' `discovery/gce` does.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 60s): `instances.list`
//!   (`GET https://compute.googleapis.com/compute/v1/projects/<project>/zones/<zone>/instances`
//!   with `filter` when set, `alt=json`, `prettyPrint=false`), following `nextPageToken` as
//!   `pageToken`. One group, source `GCE_<project>_<zone>`; each instance with a network
//!   interface is a target: see [`targets`] for its labels.
//! - Credentials as Google's default chain finds them (`google.DefaultClient` with the
//!   `compute.readonly` scope): the JSON file named by `GOOGLE_APPLICATION_CREDENTIALS`, else
//!   gcloud's `application_default_credentials.json`, else the metadata server on GCE. A
//!   service account key signs an RS256 JWT (`iss` = `client_email`, `aud` = `token_uri`,
//!   `scope`, `iat`, `exp` one hour later; `kid` = `private_key_id`) exchanged at `token_uri`
//!   for a token (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`); an
//!   `authorized_user` file trades its refresh token; on GCE the metadata server gives the
//!   token (`/computeMetadata/v1/instance/service-accounts/default/token?scopes=...` with
//!   `Metadata-Flavor: Google`, at `GCE_METADATA_HOST` when set).
//! - No HTTP client settings: the proxy comes from `HTTPS_PROXY` / `NO_PROXY` and the roots
//!   from the system (`SSL_CERT_FILE`), as Go's default transport; the metadata server is
//!   reached directly.
//! - Config validation and its messages are Prometheus' own.
//!
//! # Where promsd differs
//! - Credentials are looked up at the first refresh, not when the config is applied: a
//!   missing credential is a refresh error (retried, the job without targets), where
//!   Prometheus fails to start the discoverer.
//! - "On GCE" is `GCE_METADATA_HOST` being set or the machine's DMI product name naming
//!   Google; promsd never probes 169.254.169.254 or `metadata.google.internal` on other
//!   machines.
//! - Tokens are reused until 10 seconds before they expire (as golang.org/x/oauth2); a 401
//!   from the Compute API drops the token and the page is asked once more with a new one.
//! - External account (workload identity federation) and impersonated credentials files are
//!   not supported: they are refresh errors naming their type.
//! - Metadata keys or labels that sanitize to the same label name: the last in the API's
//!   order (metadata) or in byte order (labels) wins, where Prometheus' map order decides.
//! - A `refresh_interval` of zero is a config error.

mod api;
mod auth;
mod refresh;
pub mod targets;

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::SdConfig;
use crate::common::secret::identity_of;
use crate::common::Duration;

/// One `gce_sd_configs` entry, validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GceSdConfig {
    /// The Google Cloud project ID.
    pub project: String,
    /// The zone of the instances (one per config).
    pub zone: String,
    /// `instances.list` filter expression.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter: String,
    /// Time between two refreshes (default 60s).
    pub refresh_interval: Duration,
    /// Port of `__address__` (default 80).
    pub port: i64,
    /// Joins the network tags in `__meta_gce_tags` (default `,`).
    pub tag_separator: String,
}

/// The keys as written, with Prometheus' defaults; a key written as `null` takes Go's zero
/// value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default, deserialize_with = "null_as_zero")]
    project: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    zone: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    filter: String,
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    refresh_interval: Duration,
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    port: i64,
    #[serde(default = "default_tag_separator", deserialize_with = "null_as_zero")]
    tag_separator: String,
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_port() -> i64 {
    80
}

fn default_tag_separator() -> String {
    ",".to_owned()
}

use crate::discovery::kit::null_as_zero;

impl TryFrom<Raw> for GceSdConfig {
    type Error = String;

    /// Prometheus' `SDConfig.UnmarshalYAML` checks, with its messages and in its order.
    fn try_from(raw: Raw) -> Result<Self, String> {
        if raw.project.is_empty() {
            return Err("GCE SD configuration requires a project".into());
        }
        if raw.zone.is_empty() {
            return Err("GCE SD configuration requires a zone".into());
        }
        crate::discovery::kit::check_interval("refresh_interval", raw.refresh_interval)?;
        Ok(GceSdConfig {
            project: raw.project,
            zone: raw.zone,
            filter: raw.filter,
            refresh_interval: raw.refresh_interval,
            port: raw.port,
            tag_separator: raw.tag_separator,
        })
    }
}

impl<'de> Deserialize<'de> for GceSdConfig {
    /// The keys, then Prometheus' checks, inside the map (so that errors point at it).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = GceSdConfig;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }

            fn visit_unit<E: de::Error>(self) -> Result<GceSdConfig, E> {
                let empty =
                    de::value::MapDeserializer::<_, E>::new(std::iter::empty::<(String, String)>());
                GceSdConfig::try_from(Raw::deserialize(empty)?).map_err(E::custom)
            }

            fn visit_none<E: de::Error>(self) -> Result<GceSdConfig, E> {
                self.visit_unit()
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GceSdConfig, A::Error> {
                let raw = Raw::deserialize(de::value::MapAccessDeserializer::new(map))?;
                GceSdConfig::try_from(raw).map_err(de::Error::custom)
            }
        }
        d.deserialize_map(Entry)
    }
}

impl DiscoveryConfig for GceSdConfig {
    fn mechanism(&self) -> &'static str {
        "gce"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        Ok(refresh::discoverer(ctx, Arc::new(self.clone())))
    }
}

impl SdConfig for GceSdConfig {}

#[cfg(test)]
mod tests;
