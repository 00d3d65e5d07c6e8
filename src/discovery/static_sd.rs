//! Static SD (`static_configs`): target groups written in the config itself.
//!
//! As in Prometheus, all `static_configs` entries of a job form one config whose groups are
//! numbered `0`, `1`, ... in order; its discoverer sends them once and ends, and the engine keeps
//! the state of an ended discoverer.

use promsd_actors::{
    BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, TargetGroup, Update,
};
use serde::de::{self, MapAccess};

use super::{SdConfig, SdConfigs};

/// The static target groups of one job.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StaticConfig {
    pub groups: Vec<TargetGroup>,
}

impl StaticConfig {
    /// Numbers the groups as Prometheus does: source = index in the job's list.
    pub fn new(groups: Vec<TargetGroup>) -> Self {
        let groups = groups
            .into_iter()
            .enumerate()
            .map(|(i, mut g)| {
                g.source = i.to_string().into();
                g
            })
            .collect();
        StaticConfig { groups }
    }
}

/// Reads a `static_configs` list; an empty list yields no config.
pub(super) fn read_static_configs<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<SdConfigs, A::Error> {
    let groups: Option<Vec<Option<TargetGroup>>> = map.next_value()?;
    let groups = groups
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.ok_or_else(|| de::Error::custom("empty or null section in static_configs")))
        .collect::<Result<Vec<_>, A::Error>>()?;
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Box::new(StaticConfig::new(groups))])
}

impl DiscoveryConfig for StaticConfig {
    fn mechanism(&self) -> &'static str {
        "static"
    }

    fn identity(&self) -> String {
        // Canonical: sources, then each group's JSON (targets and labels, sorted labels).
        let mut key = String::new();
        for g in &self.groups {
            key.push_str(&g.source);
            key.push('\u{1f}');
            for t in &g.targets {
                for (n, v) in t.iter() {
                    key.push_str(n);
                    key.push('=');
                    key.push_str(v);
                    key.push('\u{1f}');
                }
                key.push('\u{1e}');
            }
            key.push_str(&serde_json::to_string(&g.labels).unwrap_or_default());
            key.push('\u{1d}');
        }
        key
    }

    fn build(&self, _: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let update = Update::Full(self.groups.clone());
        Ok(Box::pin(futures::stream::once(async move { Ok(update) })))
    }
}

impl SdConfig for StaticConfig {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use promsd_actors::RefreshMetrics;

    #[actix_rt::test]
    async fn sends_numbered_groups_once_then_ends() {
        let yaml = "- targets: ['a:1', 'b:2']\n  labels: {env: prod}\n- targets: ['c:3']\n";
        let groups: Vec<TargetGroup> = serde_yaml::from_str(yaml).unwrap();
        let config = StaticConfig::new(groups);
        let ctx = BuildContext {
            provider: "static/0".into(),
            config_name: "job".into(),
            refresh_metrics: RefreshMetrics::default(),
        };
        let items: Vec<_> = config.build(&ctx).unwrap().collect().await;
        assert_eq!(items.len(), 1);
        let Ok(Update::Full(groups)) = &items[0] else {
            panic!()
        };
        let sources: Vec<&str> = groups.iter().map(|g| &*g.source).collect();
        assert_eq!(sources, ["0", "1"]);
        assert_eq!(groups[0].labels.get("env"), Some("prod"));
        assert_eq!(groups[1].targets[0].get("__address__"), Some("c:3"));
    }
}
