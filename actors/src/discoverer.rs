//! The contract between the engine and a discovery mechanism.
//!
//! A mechanism's config implements [`DiscoveryConfig`]: a name, an identity for equality (two
//! jobs with equal identities share one provider) and `build()`, which returns a [`Discoverer`]:
//! a stream of `Result<Update, DiscoveryError>` items. The first `Ok` item is the full state;
//! later ones carry only the groups that changed (a group with no targets removes its source),
//! or a full state again after a relist. An error item changes nothing: the last good state
//! stands. Backoff and restarts are the engine's business, never the mechanism's.

use std::fmt;
use std::sync::Arc;

use futures::stream::BoxStream;

use crate::metrics::RefreshMetrics;
use crate::model::{Str, TargetGroup};

/// One item of good news from a discoverer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// The provider's whole state: replaces all its groups, so vanished sources are removed.
    Full(Vec<TargetGroup>),
    /// Only the groups that changed; a group without targets removes its source.
    Changed(Vec<TargetGroup>),
}

impl Update {
    /// The groups this update carries.
    pub fn groups(&self) -> &[TargetGroup] {
        match self {
            Update::Full(g) | Update::Changed(g) => g,
        }
    }

    /// A full state (replaces every group of the provider).
    pub fn is_full(&self) -> bool {
        matches!(self, Update::Full(_))
    }
}

/// Why a discoverer could not produce (part of) its state this time. Cheap to clone, so that
/// the engine can keep the last one for the status API.
#[derive(Clone, PartialEq, Eq)]
pub struct DiscoveryError(Arc<str>);

impl DiscoveryError {
    /// An error with this message.
    pub fn new(message: impl fmt::Display) -> Self {
        DiscoveryError(Arc::from(message.to_string()))
    }

    /// The message, as the status API shows it.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiscoveryError({:?})", &*self.0)
    }
}

impl std::error::Error for DiscoveryError {}

/// A running discovery: a stream of updates and errors. Dropping it cancels the discovery.
pub type Discoverer = BoxStream<'static, Result<Update, DiscoveryError>>;

/// What the engine hands a mechanism when it starts one of its providers.
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// The provider's name, `<mechanism>/<n>`, as Prometheus names providers.
    pub provider: Str,
    /// The job that first asked for this provider; Prometheus' `config` label on SD metrics.
    pub config_name: Str,
    /// `prometheus_sd_refresh_*` series for this provider, removed when the discoverer is dropped.
    pub refresh_metrics: RefreshMetrics,
}

/// A discovery mechanism's configuration, as the engine sees it.
///
/// Implemented by each mechanism's config struct in the product crate. `Debug` must not print
/// secrets.
pub trait DiscoveryConfig: Send + Sync + fmt::Debug + 'static {
    /// The mechanism's name as in `<name>_sd_configs`: `static`, `file`, `http`, ...
    fn mechanism(&self) -> &'static str;

    /// A canonical serialized form: equal identities (with equal mechanisms) mean equal configs.
    /// Includes secret values, since two configs differing only in a password are two providers;
    /// never print or log it.
    fn identity(&self) -> String;

    /// Starts discovery. Called on the manager's thread: do no I/O here, only in the stream.
    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError>;
}
