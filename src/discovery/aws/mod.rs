//! AWS SD: `ec2_sd_configs`, `lightsail_sd_configs`, `ecs_sd_configs`,
//! `elasticache_sd_configs`, `msk_sd_configs`, `rds_sd_configs`, and `aws_sd_configs` whose
//! `role` is one of `ec2`, `lightsail`, `ecs`, `elasticache`, `msk`, `rds` — as Prometheus'
//! `discovery/aws` has them.
//!
//! # Semantics (Prometheus')
//! - Every key shares `region`, `endpoint`, `access_key`, `secret_key`, `profile`, `role_arn`,
//!   `external_id`, `refresh_interval` (60s), `port` (80) and the HTTP client settings inline;
//!   `filters` (ec2, rds), `clusters` (ecs, elasticache, msk, rds) and `request_concurrency`
//!   (ecs 20, the others 10) where that service uses them. `aws_sd_configs` takes `role` plus the
//!   shared keys, `filters` and `clusters`, and copies what is set over the role's defaults.
//! - Each refresh lists the service's resources and gives one group whose source is the region.
//!   The region is resolved on the first refresh (config, environment, shared config, instance
//!   metadata), credentials as the Go SDK's default chain (see [`auth`]); every request is
//!   signed with SigV4 under the service's signing name (MSK signs as `kafka`).
//! - Labels: see each service's module ([`ec2`], [`lightsail`], [`ecs`], [`elasticache`],
//!   [`msk`], [`rds`]).
//! - Validation: `ec2_sd_configs` refuses a filter without values ("EC2 SD configuration filter
//!   values cannot be empty"); each key's HTTP client settings are validated as Prometheus'
//!   `HTTPClientConfig.Validate` does. `aws_sd_configs` with an unknown role fails with
//!   `unknown AWS SD role "<role>"`.
//!
//! # Where promsd differs
//! - A failed refresh (throttling included: `RequestLimitExceeded`, `ThrottlingException`) keeps
//!   the last good state and is retried by the engine's refresh helper with capped backoff.
//! - Credentials the service refused (`AuthFailure`, `UnauthorizedOperation`, expired tokens)
//!   are dropped and resolved again on the next try, as Prometheus drops its client.
//! - A `refresh_interval` of zero or below is a config error.
//! - Shared-file profiles are read for static keys only (no `source_profile` chains, SSO or
//!   `credential_process`); web identity tokens are not read.
//! - `aws_sd_configs` validates its HTTP client settings as the other keys do (Prometheus skips
//!   that validation for this key).
//! - Requests of one refresh are made one after the other: `request_concurrency` is read and
//!   kept, but does not fan calls out as Prometheus' errgroups do.
//! - ElastiCache lists serverless caches and cache clusters once per refresh (Prometheus lists
//!   them twice, before and after reading tags); the targets are the same.
//! - Endpoints also honour the SDK's `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`
//!   environment variables (STS, and ECS's EC2 calls, included), as the Go SDK v2 does.

pub mod auth;
pub mod client;
pub mod ec2;
pub mod ecs;
pub mod elasticache;
pub mod lightsail;
pub mod msk;
pub mod rds;
pub mod xml;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, TargetGroup};
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::Mutex;

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};
pub use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name as sanitize;
use crate::discovery::kit::{check_interval, ApiClient};

/// An EC2 or RDS filter: a name and the values it accepts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_concurrency_10() -> i64 {
    10
}

fn default_concurrency_20() -> i64 {
    20
}

/// Which AWS service a config discovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Ec2,
    Lightsail,
    Ecs,
    Elasticache,
    Msk,
    Rds,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "ec2" => Role::Ec2,
            "lightsail" => Role::Lightsail,
            "ecs" => Role::Ecs,
            "elasticache" => Role::Elasticache,
            "msk" => Role::Msk,
            "rds" => Role::Rds,
            _ => return None,
        })
    }

    fn mechanism(self) -> &'static str {
        match self {
            Role::Ec2 => "ec2",
            Role::Lightsail => "lightsail",
            Role::Ecs => "ecs",
            Role::Elasticache => "elasticache",
            Role::Msk => "msk",
            Role::Rds => "rds",
        }
    }

    fn default_concurrency(self) -> i64 {
        if self == Role::Ecs {
            20
        } else {
            10
        }
    }
}

/// What a discoverer needs, whichever key it came from.
#[derive(Clone, Debug)]
pub struct Settings {
    pub role: Role,
    pub region: String,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: Secret,
    pub profile: String,
    pub role_arn: String,
    pub external_id: String,
    pub refresh_interval: Duration,
    pub port: i64,
    pub filters: Vec<Filter>,
    pub clusters: Vec<String>,
    pub request_concurrency: i64,
    pub http_client_config: HttpClientConfig,
}

macro_rules! aws_key {
    (
        $(#[$doc:meta])*
        $name:ident, $mech:literal, $role:expr, validate = $validate:path,
        { $($(#[$fm:meta])* pub $field:ident : $fty:ty,)* }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(remote = "Self", deny_unknown_fields)]
        pub struct $name {
            /// The AWS region; resolved from the environment or instance metadata when empty.
            #[serde(default, deserialize_with = "nullable")]
            pub region: String,
            /// The service's base URL instead of AWS's (e.g. a VPC endpoint).
            #[serde(default, deserialize_with = "nullable")]
            pub endpoint: String,
            /// Access key ID (with `secret_key`); the SDK's default chain when empty.
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
            pub access_key: String,
            /// Secret access key.
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Secret::is_empty")]
            pub secret_key: Secret,
            /// Named profile of the shared credentials files.
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
            pub profile: String,
            /// Role to assume through STS.
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
            pub role_arn: String,
            /// External ID of the AssumeRole call.
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
            pub external_id: String,
            /// Time between two refreshes (60s).
            #[serde(default = "default_refresh_interval", deserialize_with = "nullable_interval")]
            pub refresh_interval: Duration,
            /// The port of `__address__` where the service has no port of its own (80).
            #[serde(default = "default_port", deserialize_with = "nullable")]
            pub port: i64,
            $($(#[$fm])* pub $field: $fty,)*
            #[serde(skip)]
            pub http_client_config: HttpClientConfig,
        }

        crate::inline_struct!($name, http_client_config: HttpClientConfig, finish = $validate, serialize);

        impl DiscoveryConfig for $name {
            fn mechanism(&self) -> &'static str {
                $mech
            }

            fn identity(&self) -> String {
                identity_of(self)
            }

            fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
                let settings = self.settings().map_err(DiscoveryError::new)?;
                build(settings, ctx)
            }
        }

        impl SdConfig for $name {
            fn resolve_paths(&mut self, dir: &Path) {
                self.http_client_config.resolve_paths(dir);
            }
        }
    };
}

fn nullable_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Ok(Option::<Duration>::deserialize(d)?.unwrap_or_default())
}

fn validate_http(http: &mut HttpClientConfig) -> Result<(), String> {
    http.validate().map_err(|e| e.message)
}

fn validate_ec2(c: &mut Ec2SdConfig) -> Result<(), String> {
    if c.filters.iter().any(|f| f.values.is_empty()) {
        return Err("EC2 SD configuration filter values cannot be empty".into());
    }
    validate_http(&mut c.http_client_config)?;
    check_interval("refresh_interval", c.refresh_interval)
}

fn validate_lightsail(c: &mut LightsailSdConfig) -> Result<(), String> {
    validate_http(&mut c.http_client_config)?;
    check_interval("refresh_interval", c.refresh_interval)
}

fn validate_ecs(c: &mut EcsSdConfig) -> Result<(), String> {
    validate_http(&mut c.http_client_config)?;
    check_interval("refresh_interval", c.refresh_interval)
}

fn validate_elasticache(c: &mut ElasticacheSdConfig) -> Result<(), String> {
    validate_http(&mut c.http_client_config)?;
    check_interval("refresh_interval", c.refresh_interval)
}

fn validate_msk(c: &mut MskSdConfig) -> Result<(), String> {
    validate_http(&mut c.http_client_config)?;
    check_interval("refresh_interval", c.refresh_interval)
}

fn validate_rds(c: &mut RdsSdConfig) -> Result<(), String> {
    validate_http(&mut c.http_client_config)?;
    check_interval("refresh_interval", c.refresh_interval)
}

fn validate_aws(c: &mut AwsSdConfig) -> Result<(), String> {
    if Role::parse(&c.role).is_none() {
        return Err(format!("unknown AWS SD role {:?}", c.role));
    }
    // A zero `refresh_interval` here means "the role's default" (Prometheus copies only what
    // is set), so it is no error.
    validate_http(&mut c.http_client_config)
}

aws_key! {
    /// One `ec2_sd_configs` entry.
    Ec2SdConfig, "ec2", Role::Ec2, validate = validate_ec2, {
        /// Filters of DescribeInstances (`Filter.N.Name`, `Filter.N.Value.M`).
        #[serde(default, deserialize_with = "nullable")]
        pub filters: Vec<Filter>,
    }
}

aws_key! {
    /// One `lightsail_sd_configs` entry.
    LightsailSdConfig, "lightsail", Role::Lightsail, validate = validate_lightsail, {}
}

aws_key! {
    /// One `ecs_sd_configs` entry.
    EcsSdConfig, "ecs", Role::Ecs, validate = validate_ecs, {
        /// Cluster ARNs to discover; every cluster when empty.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub clusters: Vec<String>,
        /// Requests in flight at most (20).
        #[serde(default = "default_concurrency_20", deserialize_with = "nullable")]
        pub request_concurrency: i64,
    }
}

aws_key! {
    /// One `elasticache_sd_configs` entry.
    ElasticacheSdConfig, "elasticache", Role::Elasticache, validate = validate_elasticache, {
        /// Cache ARNs (serverless caches and replication groups); all when empty.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub clusters: Vec<String>,
        /// Requests in flight at most (10).
        #[serde(default = "default_concurrency_10", deserialize_with = "nullable")]
        pub request_concurrency: i64,
    }
}

aws_key! {
    /// One `msk_sd_configs` entry.
    MskSdConfig, "msk", Role::Msk, validate = validate_msk, {
        /// Cluster ARNs to discover; every provisioned cluster when empty.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub clusters: Vec<String>,
        /// Requests in flight at most (10).
        #[serde(default = "default_concurrency_10", deserialize_with = "nullable")]
        pub request_concurrency: i64,
    }
}

aws_key! {
    /// One `rds_sd_configs` entry.
    RdsSdConfig, "rds", Role::Rds, validate = validate_rds, {
        /// DB cluster identifiers or ARNs; every cluster when empty.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub clusters: Vec<String>,
        /// Filters of DescribeDBInstances, after `db-cluster-id`.
        #[serde(default, deserialize_with = "nullable")]
        pub filters: Vec<Filter>,
        /// Requests in flight at most (10).
        #[serde(default = "default_concurrency_10", deserialize_with = "nullable")]
        pub request_concurrency: i64,
    }
}

aws_key! {
    /// One `aws_sd_configs` entry: a role and the keys it shares with the per-service keys.
    AwsSdConfig, "aws", None, validate = validate_aws, {
        /// `ec2`, `lightsail`, `ecs`, `elasticache`, `msk` or `rds`.
        #[serde(default, deserialize_with = "nullable")]
        pub role: String,
        /// Filters (ec2, rds).
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
        pub filters: Option<Vec<Filter>>,
        /// Clusters (ecs, elasticache, msk, rds).
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
        pub clusters: Option<Vec<String>>,
    }
}

macro_rules! common_settings {
    ($c:expr, $role:expr, $filters:expr, $clusters:expr, $concurrency:expr) => {
        Settings {
            role: $role,
            region: $c.region.clone(),
            endpoint: $c.endpoint.clone(),
            access_key: $c.access_key.clone(),
            secret_key: $c.secret_key.clone(),
            profile: $c.profile.clone(),
            role_arn: $c.role_arn.clone(),
            external_id: $c.external_id.clone(),
            refresh_interval: $c.refresh_interval,
            port: $c.port,
            filters: $filters,
            clusters: $clusters,
            request_concurrency: $concurrency,
            http_client_config: $c.http_client_config.clone(),
        }
    };
}

impl Ec2SdConfig {
    fn settings(&self) -> Result<Settings, String> {
        Ok(common_settings!(
            self,
            Role::Ec2,
            self.filters.clone(),
            Vec::new(),
            10
        ))
    }
}

impl LightsailSdConfig {
    fn settings(&self) -> Result<Settings, String> {
        Ok(common_settings!(
            self,
            Role::Lightsail,
            Vec::new(),
            Vec::new(),
            10
        ))
    }
}

impl EcsSdConfig {
    fn settings(&self) -> Result<Settings, String> {
        Ok(common_settings!(
            self,
            Role::Ecs,
            Vec::new(),
            self.clusters.clone(),
            self.request_concurrency
        ))
    }
}

impl ElasticacheSdConfig {
    fn settings(&self) -> Result<Settings, String> {
        Ok(common_settings!(
            self,
            Role::Elasticache,
            Vec::new(),
            self.clusters.clone(),
            self.request_concurrency
        ))
    }
}

impl MskSdConfig {
    fn settings(&self) -> Result<Settings, String> {
        Ok(common_settings!(
            self,
            Role::Msk,
            Vec::new(),
            self.clusters.clone(),
            self.request_concurrency
        ))
    }
}

impl RdsSdConfig {
    fn settings(&self) -> Result<Settings, String> {
        Ok(common_settings!(
            self,
            Role::Rds,
            self.filters.clone(),
            self.clusters.clone(),
            self.request_concurrency
        ))
    }
}

impl AwsSdConfig {
    fn settings(&self) -> Result<Settings, String> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| format!("unknown AWS SD role {:?}", self.role))?;
        // Prometheus copies each key that is set over the role's defaults; `filters` only for
        // ec2 and rds, `clusters` for ecs, elasticache, msk and rds.
        let filters = match role {
            Role::Ec2 | Role::Rds => self.filters.clone().unwrap_or_default(),
            _ => Vec::new(),
        };
        let clusters = match role {
            Role::Ecs | Role::Elasticache | Role::Msk | Role::Rds => {
                self.clusters.clone().unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let mut settings =
            common_settings!(self, role, filters, clusters, role.default_concurrency());
        if settings.port == 0 {
            settings.port = 80;
        }
        if settings.refresh_interval.is_zero() {
            settings.refresh_interval = default_refresh_interval();
        }
        Ok(settings)
    }
}

/// The state a discoverer keeps between refreshes: its resolved clients.
pub struct Session {
    pub settings: Settings,
    pub http: ApiClient,
    pub creds: Arc<auth::CredentialsProvider>,
    pub region: String,
}

impl Session {
    /// A client of one service (`service_id` as in endpoint host names) in this session.
    pub fn service(&self, service_id: &str, signing_name: &'static str) -> client::ServiceClient {
        client::ServiceClient::new(
            self.http.clone(),
            self.creds.clone(),
            &self.region,
            &self.settings.endpoint,
            service_id,
            signing_name,
        )
    }
}

async fn open_session(settings: &Settings) -> Result<Session, String> {
    let timeout = client::REQUEST_TIMEOUT;
    let region = auth::resolve_region(&settings.region, timeout).await?;
    let (http, creds) = auth::client_and_credentials(settings, &region, timeout)?;
    Ok(Session {
        settings: settings.clone(),
        http,
        creds,
        region,
    })
}

/// A role's refresh: the groups of one pass over the service.
pub type RefreshFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<TargetGroup>, String>> + Send + 'a>,
>;

/// What each service module provides: its state across refreshes and one pass.
pub trait Service: Send + 'static {
    fn new(session: &Session) -> Self
    where
        Self: Sized;
    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a>;
}

struct Running {
    session: Option<Session>,
    service: Option<Box<dyn Service>>,
}

fn new_service(role: Role, session: &Session) -> Box<dyn Service> {
    match role {
        Role::Ec2 => Box::new(ec2::Ec2::new(session)),
        Role::Lightsail => Box::new(lightsail::Lightsail::new(session)),
        Role::Ecs => Box::new(ecs::Ecs::new(session)),
        Role::Elasticache => Box::new(elasticache::Elasticache::new(session)),
        Role::Msk => Box::new(msk::Msk::new(session)),
        Role::Rds => Box::new(rds::Rds::new(session)),
    }
}

fn build(settings: Settings, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
    check_interval("refresh_interval", settings.refresh_interval).map_err(DiscoveryError::new)?;
    let interval: StdDuration = settings.refresh_interval.as_std();
    let settings = Arc::new(settings);
    let state = Arc::new(Mutex::new(Running {
        session: None,
        service: None,
    }));
    Ok(crate::discovery::kit::poll(
        ctx,
        settings.role.mechanism(),
        interval,
        move || {
            let settings = settings.clone();
            let state = state.clone();
            async move {
                let mut state = state.lock().await;
                let state = &mut *state;
                if state.session.is_none() {
                    let session = open_session(&settings).await?;
                    state.service = Some(new_service(settings.role, &session));
                    state.session = Some(session);
                }
                let (Some(session), Some(service)) = (&state.session, &mut state.service) else {
                    unreachable!("opened above");
                };
                service.refresh(session).await
            }
        },
    ))
}

/// Go's `time.Time.Format(time.RFC3339)` of an AWS timestamp (ISO 8601, any offset).
pub fn rfc3339(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            let t = t.replace_nanosecond(0).unwrap_or(t);
            t.format(&Rfc3339).unwrap_or_else(|_| text.to_owned())
        }
        Err(_) => text.to_owned(),
    }
}

/// A target group whose source is the region.
pub fn group(region: &str, targets: Vec<promsd_actors::LabelSet>) -> TargetGroup {
    TargetGroup::new(region, targets, promsd_actors::LabelSet::new())
}

/// How an API field becomes a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string: its text, even empty.
    Str,
    /// An enum: its text, left out when empty (Go compares it with `""`).
    Enum,
    /// A number or a boolean: its text as Go prints it.
    Num,
    /// A timestamp: Go's `time.RFC3339`.
    Time,
}

/// Labels `<prefix><label>` of the fields of `node` a table names: (label, path, kind).
pub fn field_labels(
    node: &xml::Node,
    prefix: &str,
    table: &[(&str, &[&str], Kind)],
    out: &mut Vec<(String, String)>,
) {
    for (label, path, kind) in table {
        let Some(text) = node.text_at(path) else {
            continue;
        };
        let value = match kind {
            Kind::Str => text.to_owned(),
            Kind::Enum if text.is_empty() => continue,
            Kind::Enum => text.to_owned(),
            Kind::Num => text.trim().to_owned(),
            Kind::Time => rfc3339(text.trim()),
        };
        out.push((format!("{prefix}{label}"), value));
    }
}
