//! DNS SD (`dns_sd_configs`): targets from SRV, A, AAAA, MX or NS records, looked up again every
//! `refresh_interval`, as Prometheus' `discovery/dns` does.
//!
//! # Semantics (Prometheus')
//! - One group per configured name, its source the name as written. Every target carries
//!   `__meta_dns_name` and the four record labels `__meta_dns_srv_record_target`,
//!   `__meta_dns_srv_record_port`, `__meta_dns_mx_record_target`, `__meta_dns_ns_record_target`,
//!   empty where they do not apply. The record targets keep their trailing dot; `__address__`
//!   drops it: `host:port` from an SRV record, `host:<port>` for MX and NS, `ip:<port>` for A and
//!   `[ip]:<port>` for AAAA, with `port` from the config.
//! - A name that is not fully qualified is tried with the resolver's search list and `ndots`, as
//!   `/etc/resolv.conf` says. The first candidate that exists answers (a name that exists
//!   without records of the type answers "no targets"). If every candidate is NXDOMAIN the name
//!   has no targets and its group is removed. If some candidate failed (timeout, SERVFAIL,
//!   REFUSED) and none answered, the lookup failed: the name keeps its last targets, the failure
//!   is logged and counted in `prometheus_sd_dns_lookup_failures_total`.
//! - Config validation and its messages are Prometheus' own.
//!
//! # Where promsd differs
//! - Each refresh asks the servers: the resolver's answer cache is disabled (hickory's cache
//!   would otherwise answer from memory until the TTL runs out), and `/etc/resolv.conf` is read
//!   again at each refresh, as Prometheus does per lookup.
//! - Names are looked up in parallel, at most [`CONCURRENT_LOOKUPS`] at a time.
//! - Retries: each query is retried by the resolver (`options attempts:` and `timeout:` of
//!   `/etc/resolv.conf`; 2 attempts of 5 s by default) and tried on every configured server;
//!   `/etc/hosts` is not consulted (Prometheus asks DNS only). Names under `localhost.` are
//!   answered by the resolver itself (RFC 6761) without a query.
//! - When every name failed, the refresh itself fails: nothing changes, the error is counted in
//!   `prometheus_sd_refresh_failures_total` and shown by the status API, and the refresh is
//!   retried with backoff before the next interval. (Prometheus logs per name only.)
//! - Extension: `nameservers: ["127.0.0.1:5353", "[::1]:53", "10.0.0.2"]` queries these servers
//!   (port 53 when none is given) instead of the system configuration; names are then used
//!   without a search list. Prometheus rejects this key, so a config using it is promsd-only.
//! - A `refresh_interval` of 0 passes config validation (as in Prometheus, which then crashes
//!   when it starts the discoverer); promsd refuses to start that discoverer with a clear error.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::Duration as StdDuration;

use futures::StreamExt;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::TokioResolver;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use promsd_actors::{
    intern, refresh_discoverer, BuildContext, Discoverer, DiscoveryConfig, DiscoveryError,
    LabelSet, Name as LabelName, RefreshSchedule, Refreshed, Str, TargetGroup,
};
use serde::{Deserialize, Serialize};

use super::SdConfig;
use crate::common::Duration;

/// How many names are looked up at the same time.
pub const CONCURRENT_LOOKUPS: usize = 32;

const NAME_LABEL: &str = "__meta_dns_name";
const SRV_TARGET_LABEL: &str = "__meta_dns_srv_record_target";
const SRV_PORT_LABEL: &str = "__meta_dns_srv_record_port";
const MX_TARGET_LABEL: &str = "__meta_dns_mx_record_target";
const NS_TARGET_LABEL: &str = "__meta_dns_ns_record_target";

/// The record type a DNS SD config asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsRecordType {
    Srv,
    A,
    Aaaa,
    Mx,
    Ns,
}

impl DnsRecordType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "SRV" => DnsRecordType::Srv,
            "A" => DnsRecordType::A,
            "AAAA" => DnsRecordType::Aaaa,
            "MX" => DnsRecordType::Mx,
            "NS" => DnsRecordType::Ns,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::Srv => "SRV",
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Ns => "NS",
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            DnsRecordType::Srv => RecordType::SRV,
            DnsRecordType::A => RecordType::A,
            DnsRecordType::Aaaa => RecordType::AAAA,
            DnsRecordType::Mx => RecordType::MX,
            DnsRecordType::Ns => RecordType::NS,
        }
    }
}

impl fmt::Display for DnsRecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DnsRecordType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One `dns_sd_configs` entry, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDnsSdConfig")]
pub struct DnsSdConfig {
    /// The names to look up (at least one).
    pub names: Vec<String>,
    /// Time between two lookups of every name (default 30s).
    pub refresh_interval: Duration,
    /// The record type (default SRV).
    #[serde(rename = "type")]
    pub record_type: DnsRecordType,
    /// The port of A, AAAA, MX and NS targets; ignored for SRV, whose records carry the port.
    pub port: i64,
    /// promsd extension: the servers to ask instead of the system configuration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<SocketAddr>,
}

/// The config as written, before validation. Missing keys take Prometheus' defaults; a key
/// written as `null` takes Go's zero value, as Prometheus' YAML decoder does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDnsSdConfig {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    refresh_interval: Duration,
    #[serde(
        default = "default_type",
        rename = "type",
        deserialize_with = "null_as_zero"
    )]
    record_type: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    port: i64,
    #[serde(default)]
    nameservers: Option<Vec<String>>,
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_type() -> String {
    "SRV".to_owned()
}

use crate::discovery::kit::join_host_port;
use crate::discovery::kit::null_as_zero;

/// Parses a `nameservers` entry: `ip`, `ip:port` or `[ipv6]:port`.
fn parse_nameserver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let ip = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    ip.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| {
            format!(
                "invalid DNS-SD nameserver {s:?}: expected an IP address, ip:port or [ipv6]:port"
            )
        })
}

impl TryFrom<RawDnsSdConfig> for DnsSdConfig {
    type Error = String;

    fn try_from(raw: RawDnsSdConfig) -> Result<Self, String> {
        let names = raw.names.unwrap_or_default();
        if names.is_empty() {
            return Err("DNS-SD config must contain at least one SRV record name".into());
        }
        let record_type = DnsRecordType::parse(&raw.record_type)
            .ok_or_else(|| format!("invalid DNS-SD records type {}", raw.record_type))?;
        if record_type != DnsRecordType::Srv && raw.port == 0 {
            return Err(
                "a port is required in DNS-SD configs for all record types except SRV".into(),
            );
        }
        crate::discovery::kit::check_interval("refresh_interval", raw.refresh_interval)?;
        let nameservers = raw
            .nameservers
            .unwrap_or_default()
            .iter()
            .map(|s| parse_nameserver(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DnsSdConfig {
            names,
            refresh_interval: raw.refresh_interval,
            record_type,
            port: raw.port,
            nameservers,
        })
    }
}

impl DiscoveryConfig for DnsSdConfig {
    fn mechanism(&self) -> &'static str {
        "dns"
    }

    fn identity(&self) -> String {
        serde_json::to_string(self).expect("a DNS SD config serializes")
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let lookup = Arc::new(Lookup::new(self));
        Ok(refresh_discoverer(
            ctx,
            "dns",
            RefreshSchedule::every(self.refresh_interval.as_std()),
            move || lookup.clone().refresh(),
        ))
    }
}

impl SdConfig for DnsSdConfig {}

// ---------------------------------------------------------------------------------------------
// Metrics

static LOOKUPS: LazyLock<Counter> = LazyLock::new(Counter::default);
static LOOKUP_FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers `prometheus_sd_dns_lookups_total` and `prometheus_sd_dns_lookup_failures_total`
/// (shared by every DNS SD provider of the process, as in Prometheus). Call once per registry.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_dns_lookups",
        "The number of DNS-SD lookups.",
        LOOKUPS.clone(),
    );
    registry.register(
        "prometheus_sd_dns_lookup_failures",
        "The number of DNS-SD lookup failures.",
        LOOKUP_FAILURES.clone(),
    );
}

/// `prometheus_sd_dns_lookups_total` so far: one per name per refresh.
pub fn lookups_total() -> u64 {
    LOOKUPS.get()
}

/// `prometheus_sd_dns_lookup_failures_total` so far.
pub fn lookup_failures_total() -> u64 {
    LOOKUP_FAILURES.get()
}

// ---------------------------------------------------------------------------------------------
// Lookups

/// What a refresh needs from the config, shared by its refreshes.
struct Lookup {
    names: Vec<Str>,
    record_type: DnsRecordType,
    port: i64,
    nameservers: Vec<SocketAddr>,
    labels: &'static LabelNames,
}

/// Interned label names, so that every target shares them.
struct LabelNames {
    address: LabelName,
    name: LabelName,
    srv_target: LabelName,
    srv_port: LabelName,
    mx_target: LabelName,
    ns_target: LabelName,
    empty: Str,
}

static LABEL_NAMES: LazyLock<LabelNames> = LazyLock::new(|| LabelNames {
    address: LabelName::new(promsd_actors::ADDRESS_LABEL),
    name: LabelName::new(NAME_LABEL),
    srv_target: LabelName::new(SRV_TARGET_LABEL),
    srv_port: LabelName::new(SRV_PORT_LABEL),
    mx_target: LabelName::new(MX_TARGET_LABEL),
    ns_target: LabelName::new(NS_TARGET_LABEL),
    empty: intern(""),
});

/// A resolver for one refresh, and the candidate names it tries for a configured name.
struct RefreshResolver {
    resolver: TokioResolver,
    search: Vec<Name>,
    ndots: usize,
}

/// The answer for one configured name.
enum NameAnswer {
    /// The records of the first candidate that exists (possibly none of the asked type).
    Records(Vec<Record>),
    /// Every candidate is NXDOMAIN.
    NoSuchName,
}

impl Lookup {
    fn new(config: &DnsSdConfig) -> Self {
        let mut names: Vec<Str> = Vec::with_capacity(config.names.len());
        for name in &config.names {
            if !names.iter().any(|n| **n == **name) {
                names.push(Str::from(name.as_str()));
            }
        }
        Lookup {
            names,
            record_type: config.record_type,
            port: config.port,
            nameservers: config.nameservers.clone(),
            labels: &LABEL_NAMES,
        }
    }

    async fn refresh(self: Arc<Self>) -> Result<Refreshed, DiscoveryError> {
        let resolver = Arc::new(self.resolver().await?);
        let record_type = self.record_type;
        let mut answers = futures::stream::iter(self.names.clone())
            .map(move |name| {
                let resolver = resolver.clone();
                async move {
                    let answer = resolver.resolve(&name, record_type).await;
                    (name, answer)
                }
            })
            .buffer_unordered(CONCURRENT_LOOKUPS);
        let mut groups = Vec::with_capacity(self.names.len());
        let mut undetermined = Vec::new();
        let mut first_error = None;
        while let Some((name, answer)) = answers.next().await {
            LOOKUPS.inc();
            match answer {
                Ok(answer) => groups.push(self.group(&name, answer)),
                Err(err) => {
                    LOOKUP_FAILURES.inc();
                    tracing::error!(name = %name, error = %err, "error refreshing DNS targets");
                    first_error.get_or_insert(err);
                    undetermined.push(name);
                }
            }
        }
        if groups.is_empty() {
            if let Some(err) = first_error {
                return Err(DiscoveryError::new(format!(
                    "DNS-SD lookup failed for all {} names, e.g. {err}",
                    self.names.len()
                )));
            }
        }
        Ok(Refreshed::Groups {
            groups,
            undetermined,
        })
    }

    /// A resolver from the system configuration or the configured servers, without answer cache.
    async fn resolver(&self) -> Result<RefreshResolver, DiscoveryError> {
        let (config, mut options) = if self.nameservers.is_empty() {
            // A file read: kept off the thread that runs the actors.
            tokio::task::spawn_blocking(hickory_resolver::system_conf::read_system_conf)
                .await
                .map_err(|e| DiscoveryError::new(format!("reading the DNS configuration: {e}")))?
                .map_err(|e| {
                    DiscoveryError::new(format!("could not load the system DNS configuration: {e}"))
                })?
        } else {
            let servers = self
                .nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            (
                ResolverConfig::from_parts(None, Vec::new(), servers),
                ResolverOpts::default(),
            )
        };
        options.cache_size = 0;
        options.positive_max_ttl = Some(StdDuration::ZERO);
        options.negative_max_ttl = Some(StdDuration::ZERO);
        options.use_hosts_file = ResolveHosts::Never;
        options.max_active_requests = options.max_active_requests.max(2 * CONCURRENT_LOOKUPS);
        let ndots = options.ndots;
        // resolv.conf's last `search` or `domain` line, as miekg/dns reads it; hickory's extra
        // `domain()` (which may come from the host name) is not part of Prometheus' list.
        let search: Vec<Name> = config.search().to_vec();
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|e| DiscoveryError::new(format!("could not build the DNS resolver: {e}")))?;
        Ok(RefreshResolver {
            resolver,
            search,
            ndots,
        })
    }

    /// The group of one name: a target per usable record.
    fn group(&self, name: &Str, answer: NameAnswer) -> TargetGroup {
        let records = match answer {
            NameAnswer::Records(records) => records,
            NameAnswer::NoSuchName => Vec::new(),
        };
        let targets = records
            .iter()
            .filter_map(|record| self.target(name, record))
            .collect();
        TargetGroup::new(name.clone(), targets, LabelSet::new())
    }

    /// The target of one answer record, or `None` for a record that makes none.
    fn target(&self, name: &Str, record: &Record) -> Option<LabelSet> {
        let l = self.labels;
        let mut srv_target = l.empty.clone();
        let mut srv_port = l.empty.clone();
        let mut mx_target = l.empty.clone();
        let mut ns_target = l.empty.clone();
        let address = match &record.data {
            RData::SRV(srv) => {
                let target = srv.target.to_string();
                let address = join_host_port(target.trim_end_matches('.'), srv.port);
                srv_target = Str::from(target);
                srv_port = Str::from(srv.port.to_string());
                address
            }
            RData::MX(mx) => {
                let target = mx.exchange.to_string();
                let address = join_host_port(target.trim_end_matches('.'), self.port);
                mx_target = Str::from(target);
                address
            }
            RData::NS(ns) => {
                let target = ns.0.to_string();
                let address = join_host_port(target.trim_end_matches('.'), self.port);
                ns_target = Str::from(target);
                address
            }
            RData::A(a) => join_host_port(&a.0.to_string(), self.port),
            RData::AAAA(aaaa) => {
                // Go prints an IPv4-mapped IPv6 address as IPv4.
                let ip = aaaa.0;
                match ip.to_ipv4_mapped() {
                    Some(v4) => join_host_port(&v4.to_string(), self.port),
                    None => join_host_port(&ip.to_string(), self.port),
                }
            }
            // CNAME records come with the answers of A and other queries.
            RData::CNAME(_) => return None,
            other => {
                tracing::warn!(name = %name, record = %other, "invalid DNS-SD record");
                return None;
            }
        };
        Some(LabelSet::from_sorted(vec![
            (l.address.clone(), Str::from(address)),
            (l.mx_target.clone(), mx_target),
            (l.name.clone(), name.clone()),
            (l.ns_target.clone(), ns_target),
            (l.srv_port.clone(), srv_port),
            (l.srv_target.clone(), srv_target),
        ]))
    }
}

/// The candidates for `name`, in the order Prometheus (miekg/dns `NameList`) tries them: a fully
/// qualified name alone; otherwise the name itself first if it has more than `ndots` labels,
/// then the name with each search domain, then the name itself if not tried yet.
fn candidates(name: &Name, search: &[Name], ndots: usize) -> Vec<Name> {
    if name.is_fqdn() {
        return vec![name.clone()];
    }
    let mut rooted = name.clone();
    rooted.set_fqdn(true);
    let has_ndots = usize::from(name.num_labels()) > ndots;
    let mut names = Vec::with_capacity(search.len() + 1);
    if has_ndots {
        names.push(rooted.clone());
    }
    for domain in search {
        match name.clone().append_domain(domain) {
            Ok(mut n) => {
                n.set_fqdn(true);
                names.push(n);
            }
            Err(e) => tracing::debug!(%name, %domain, error = %e, "search domain skipped"),
        }
    }
    if !has_ndots {
        names.push(rooted);
    }
    names
}

impl RefreshResolver {
    /// Looks up `name` as Prometheus does: the first candidate that exists answers; all
    /// NXDOMAIN means no such name; otherwise the lookup failed.
    async fn resolve(&self, name: &str, record_type: DnsRecordType) -> Result<NameAnswer, String> {
        let parsed = Name::from_utf8(name)
            .or_else(|_| Name::from_ascii(name))
            .map_err(|e| format!("invalid DNS name {name:?}: {e}"))?;
        let mut failure = None;
        for candidate in candidates(&parsed, &self.search, self.ndots) {
            match self
                .resolver
                .lookup(candidate.clone(), record_type.record_type())
                .await
            {
                Ok(lookup) => return Ok(NameAnswer::Records(lookup.answers().to_vec())),
                Err(NetError::Dns(DnsError::NoRecordsFound(no)))
                    if no.response_code == ResponseCode::NoError =>
                {
                    return Ok(NameAnswer::Records(Vec::new()));
                }
                Err(NetError::Dns(DnsError::NoRecordsFound(no)))
                    if no.response_code == ResponseCode::NXDomain => {}
                Err(e) => {
                    tracing::warn!(name = %candidate, error = %e, "DNS resolution failed");
                    failure.get_or_insert_with(|| format!("{candidate}: {e}"));
                }
            }
        }
        match failure {
            None => Ok(NameAnswer::NoSuchName),
            Some(e) => Err(format!(
                "could not resolve {name:?}: all servers responded with errors to at least one search domain ({e})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SRV, TXT};
    use std::str::FromStr;

    fn parse(yaml: &str) -> Result<DnsSdConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_prometheus_defaults() {
        let c = parse("names: [_http._tcp.example.com]").unwrap();
        assert_eq!(c.record_type, DnsRecordType::Srv);
        assert_eq!(c.refresh_interval, Duration::from_secs(30));
        assert_eq!(c.port, 0);
        assert!(c.nameservers.is_empty());
    }

    #[test]
    fn validation_messages_are_prometheus_messages() {
        let cases = [
            (
                "names: []",
                "DNS-SD config must contain at least one SRV record name",
            ),
            (
                "names:",
                "DNS-SD config must contain at least one SRV record name",
            ),
            (
                "type: SRV",
                "DNS-SD config must contain at least one SRV record name",
            ),
            (
                "names: [a.example.com]\ntype: A",
                "a port is required in DNS-SD configs for all record types except SRV",
            ),
            (
                "names: [a.example.com]\ntype: mx\nport: 0",
                "a port is required in DNS-SD configs for all record types except SRV",
            ),
            (
                "names: [a.example.com]\ntype: PTR",
                "invalid DNS-SD records type PTR",
            ),
            (
                "names: [a.example.com]\ntype:",
                "invalid DNS-SD records type ",
            ),
            (
                "names: [a.example.com]\nnameservers: [dns.example.com]",
                "invalid DNS-SD nameserver \"dns.example.com\"",
            ),
        ];
        for (yaml, message) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(message), "{yaml:?}: {err}");
        }
        let err = parse("names: [a]\nrefresh_interval: 5s\nport: 1\nfoo: 1").unwrap_err();
        assert!(err.contains("unknown field `foo`"), "{err}");
    }

    #[test]
    fn accepts_every_type_in_any_case_and_nameservers() {
        for (t, expected) in [
            ("srv", DnsRecordType::Srv),
            ("a", DnsRecordType::A),
            ("Aaaa", DnsRecordType::Aaaa),
            ("MX", DnsRecordType::Mx),
            ("ns", DnsRecordType::Ns),
        ] {
            let c = parse(&format!("names: [x.example.com]\ntype: {t}\nport: 80")).unwrap();
            assert_eq!(c.record_type, expected);
        }
        let c = parse(
            "names: [a]\nrefresh_interval: 1m\nnameservers: ['127.0.0.1:5353', '[::1]:54', '10.0.0.2', '::2']",
        )
        .unwrap();
        assert_eq!(
            c.nameservers,
            [
                "127.0.0.1:5353".parse::<SocketAddr>().unwrap(),
                "[::1]:54".parse().unwrap(),
                "10.0.0.2:53".parse().unwrap(),
                "[::2]:53".parse().unwrap(),
            ]
        );
        assert_eq!(c.refresh_interval, Duration::from_secs(60));
    }

    #[test]
    fn identity_is_canonical() {
        let a = parse("names: [a]\ntype: srv").unwrap();
        let b = parse("type: SRV\nrefresh_interval: 30s\nnames: [a]").unwrap();
        let c = parse("names: [a]\nrefresh_interval: 31s").unwrap();
        assert_eq!(a.identity(), b.identity());
        assert_ne!(a.identity(), c.identity());
        // The canonical form reads back as the same config.
        assert_eq!(parse(&a.identity()).unwrap(), a);
    }

    #[test]
    fn zero_refresh_interval_is_a_config_error() {
        let err = parse("names: [a]\nrefresh_interval: 0s").unwrap_err();
        assert!(
            err.contains("refresh_interval must be greater than 0"),
            "{err}"
        );
    }

    fn lookup(yaml: &str) -> Lookup {
        Lookup::new(&parse(yaml).unwrap())
    }

    fn record(rdata: RData) -> Record {
        Record::from_rdata(Name::from_str("q.example.com.").unwrap(), 60, rdata)
    }

    fn labels(set: &LabelSet) -> Vec<(String, String)> {
        set.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn expected(
        address: &str,
        name: &str,
        srv: (&str, &str),
        mx: &str,
        ns: &str,
    ) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            ("__address__", address),
            ("__meta_dns_name", name),
            ("__meta_dns_srv_record_target", srv.0),
            ("__meta_dns_srv_record_port", srv.1),
            ("__meta_dns_mx_record_target", mx),
            ("__meta_dns_ns_record_target", ns),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        v.sort();
        v
    }

    #[test]
    fn targets_carry_prometheus_labels() {
        let name: Str = "_mysql._tcp.db.example.com.".into();
        let srv = lookup("names: ['_mysql._tcp.db.example.com.']");
        let g = srv.group(
            &name,
            NameAnswer::Records(vec![
                record(RData::SRV(SRV::new(
                    0,
                    0,
                    3306,
                    Name::from_str("db1.example.com.").unwrap(),
                ))),
                record(RData::TXT(TXT::new(vec!["discarded".into()]))),
                record(RData::SRV(SRV::new(
                    0,
                    0,
                    3307,
                    Name::from_str(".").unwrap(),
                ))),
            ]),
        );
        assert_eq!(&*g.source, "_mysql._tcp.db.example.com.");
        assert_eq!(g.targets.len(), 2);
        assert_eq!(
            labels(&g.targets[0]),
            expected(
                "db1.example.com:3306",
                &name,
                ("db1.example.com.", "3306"),
                "",
                ""
            )
        );
        // The root target: Prometheus trims the dot and keeps the port.
        assert_eq!(g.targets[1].get("__address__"), Some(":3307"));

        let name: Str = "web.example.com".into();
        let a = lookup("names: [web.example.com]\ntype: A\nport: 80");
        let g = a.group(
            &name,
            NameAnswer::Records(vec![
                record(RData::CNAME(CNAME(
                    Name::from_str("alias.example.com.").unwrap(),
                ))),
                record(RData::A(A::new(192, 0, 2, 2))),
            ]),
        );
        assert_eq!(g.targets.len(), 1);
        assert_eq!(
            labels(&g.targets[0]),
            expected("192.0.2.2:80", &name, ("", ""), "", "")
        );

        let aaaa = lookup("names: [web.example.com]\ntype: AAAA\nport: 80");
        let g = aaaa.group(
            &name,
            NameAnswer::Records(vec![
                record(RData::AAAA(AAAA::from(std::net::Ipv6Addr::LOCALHOST))),
                record(RData::AAAA(AAAA::from(
                    std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped(),
                ))),
            ]),
        );
        assert_eq!(
            labels(&g.targets[0]),
            expected("[::1]:80", &name, ("", ""), "", "")
        );
        assert_eq!(g.targets[1].get("__address__"), Some("10.0.0.1:80"));

        let mx = lookup("names: [example.com.]\ntype: MX\nport: 25");
        let name: Str = "example.com.".into();
        let g = mx.group(
            &name,
            NameAnswer::Records(vec![record(RData::MX(MX::new(
                10,
                Name::from_str("smtp1.example.com.").unwrap(),
            )))]),
        );
        assert_eq!(
            labels(&g.targets[0]),
            expected(
                "smtp1.example.com:25",
                &name,
                ("", ""),
                "smtp1.example.com.",
                ""
            )
        );

        let ns = lookup("names: [example.com.]\ntype: NS\nport: 53");
        let g = ns.group(
            &name,
            NameAnswer::Records(vec![record(RData::NS(NS(Name::from_str(
                "ns1.example.com.",
            )
            .unwrap())))]),
        );
        assert_eq!(
            labels(&g.targets[0]),
            expected(
                "ns1.example.com:53",
                &name,
                ("", ""),
                "",
                "ns1.example.com."
            )
        );

        let g = ns.group(&name, NameAnswer::NoSuchName);
        assert!(g.targets.is_empty(), "no such name: the group is removed");
    }

    #[test]
    fn candidates_follow_the_search_list_like_prometheus() {
        let search = [
            Name::from_str("corp.example.").unwrap(),
            Name::from_str("example.").unwrap(),
        ];
        let names = |n: &str, ndots| -> Vec<String> {
            candidates(&Name::from_str(n).unwrap(), &search, ndots)
                .iter()
                .map(|n| n.to_string())
                .collect()
        };
        assert_eq!(names("a.b.", 1), ["a.b."]);
        assert_eq!(
            names("a.b", 1),
            ["a.b.", "a.b.corp.example.", "a.b.example."]
        );
        assert_eq!(
            names("web", 1),
            ["web.corp.example.", "web.example.", "web."]
        );
        assert_eq!(
            names("_x._tcp.svc", 5),
            [
                "_x._tcp.svc.corp.example.",
                "_x._tcp.svc.example.",
                "_x._tcp.svc."
            ]
        );
    }

    #[test]
    fn lookup_metrics_have_prometheus_names() {
        let mut registry = Registry::default();
        register_metrics(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("# TYPE prometheus_sd_dns_lookups counter"),
            "{text}"
        );
        assert!(
            text.contains("\nprometheus_sd_dns_lookups_total "),
            "{text}"
        );
        assert!(
            text.contains("\nprometheus_sd_dns_lookup_failures_total "),
            "{text}"
        );
    }

    #[test]
    fn join_host_port_brackets_ipv6() {
        assert_eq!(join_host_port("::1", 9), "[::1]:9");
        assert_eq!(join_host_port("host", 9), "host:9");
    }
}
