//! ECS (`ecs_sd_configs`, `aws_sd_configs` role `ecs`): the running tasks of ECS clusters
//! (JSON 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`), with the EC2
//! instances and network interfaces behind them (EC2's Query protocol, at EC2's own endpoint:
//! the configured `endpoint` is ECS's only, as in Prometheus).
//!
//! Requests as Prometheus makes them: once, DescribeClusters `{}` (its credential test); the
//! `clusters` configured or ListClusters (`maxResults` 100, `nextToken` pages);
//! DescribeClusters (100 a call, `include: ["TAGS"]`), ListServices and ListTasks per cluster
//! (`maxResults` 100, pages); per cluster with tasks DescribeServices (10 a call, TAGS),
//! DescribeTasks (100 a call, TAGS), DescribeContainerInstances (100 a call), EC2
//! DescribeNetworkInterfaces (the tasks' ENIs) and DescribeInstances (the container instances'
//! EC2 instances). A cluster whose calls fail is left out of that refresh (logged), as
//! Prometheus leaves it out.
//!
//! One target per task with an IP address (`awsvpc`: the ENI's private IPv4; `bridge`: the EC2
//! instance's private IP): `__address__` `<ip>:<port>`, labels `__meta_ecs_*` as `ecs.go`
//! builds them (cluster, service when the task's group is `service:<name>`, task, EC2
//! instance, `tag_cluster_*`, `tag_service_*`, `tag_task_*`, `tag_ec2_*`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use promsd_actors::{LabelSet, TargetGroup, ADDRESS_LABEL};
use serde::Deserialize;
use serde_json::json;

use super::xml::{self, Node};
use super::{group, join_host_port, sanitize, RefreshFuture, Service, Session};

const PREFIX: &str = "AmazonEC2ContainerServiceV20141113";

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    #[serde(default)]
    pub cluster_arn: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsService {
    #[serde(default)]
    pub service_arn: Option<String>,
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct KeyValue {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub details: Option<Vec<KeyValue>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default)]
    pub task_arn: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub health_status: Option<String>,
    #[serde(default)]
    pub task_definition_arn: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub desired_status: Option<String>,
    #[serde(default)]
    pub last_status: Option<String>,
    #[serde(default)]
    pub container_instance_arn: Option<String>,
    #[serde(default)]
    pub platform_family: Option<String>,
    #[serde(default)]
    pub platform_version: Option<String>,
    #[serde(default)]
    pub attachments: Option<Vec<Attachment>>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArnList {
    #[serde(default)]
    cluster_arns: Option<Vec<String>>,
    #[serde(default)]
    service_arns: Option<Vec<String>>,
    #[serde(default)]
    task_arns: Option<Vec<String>>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Described {
    #[serde(default)]
    clusters: Option<Vec<Cluster>>,
    #[serde(default)]
    services: Option<Vec<EcsService>>,
    #[serde(default)]
    tasks: Option<Vec<Task>>,
    #[serde(default)]
    container_instances: Option<Vec<ContainerInstance>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerInstance {
    #[serde(default)]
    container_instance_arn: Option<String>,
    #[serde(default)]
    ec2_instance_id: Option<String>,
}

/// What ECS targets need of an EC2 instance (Prometheus' `ec2InstanceInfo`).
#[derive(Clone, Debug, Default)]
pub struct Ec2Info {
    pub private_ip: String,
    pub public_ip: String,
    pub subnet_id: String,
    pub instance_type: String,
    pub tags: BTreeMap<String, String>,
}

fn eni_attachment(task: &Task) -> Option<&Attachment> {
    task.attachments
        .iter()
        .flatten()
        .find(|a| a.kind.as_deref() == Some("ElasticNetworkInterface"))
}

/// The target of one task, if it has an IP address (Prometheus' per-task goroutine).
#[allow(clippy::too_many_arguments)]
pub fn task_target(
    region: &str,
    port: i64,
    cluster: &Cluster,
    services: &HashMap<String, EcsService>,
    task: &Task,
    container_instances: &HashMap<String, String>,
    ec2: &HashMap<String, Ec2Info>,
    eni_public_ips: &HashMap<String, String>,
) -> Option<LabelSet> {
    let (mut ip, mut subnet, mut public_ip) = (String::new(), String::new(), String::new());
    let mut network_mode = String::new();
    let (mut ec2_id, mut ec2_type, mut ec2_private, mut ec2_public) =
        (String::new(), String::new(), String::new(), String::new());
    if let Some(eni) = eni_attachment(task) {
        network_mode = "awsvpc".into();
        let mut eni_id = String::new();
        for d in eni.details.iter().flatten() {
            let (Some(name), Some(value)) = (&d.name, &d.value) else {
                continue;
            };
            match name.as_str() {
                "privateIPv4Address" => ip = value.clone(),
                "subnetId" => subnet = value.clone(),
                "networkInterfaceId" => eni_id = value.clone(),
                _ => {}
            }
        }
        if let Some(p) = eni_public_ips.get(&eni_id).filter(|_| !eni_id.is_empty()) {
            public_ip = p.clone();
        }
    } else if let Some(ci) = &task.container_instance_arn {
        network_mode = "bridge".into();
        if let Some(id) = container_instances.get(ci) {
            ec2_id = id.clone();
            if let Some(info) = ec2.get(id) {
                ip = info.private_ip.clone();
                public_ip = info.public_ip.clone();
                subnet = info.subnet_id.clone();
                ec2_type = info.instance_type.clone();
                ec2_private = info.private_ip.clone();
                ec2_public = info.public_ip.clone();
            }
        }
    }
    if network_mode == "awsvpc" {
        if let Some(id) = task
            .container_instance_arn
            .as_ref()
            .and_then(|ci| container_instances.get(ci))
        {
            ec2_id = id.clone();
            if let Some(info) = ec2.get(id) {
                ec2_type = info.instance_type.clone();
                ec2_private = info.private_ip.clone();
                ec2_public = info.public_ip.clone();
            }
        }
    }
    if ip.is_empty() {
        return None;
    }
    let mut l: Vec<(String, String)> = vec![
        ("__meta_ecs_ip_address".into(), ip.clone()),
        ("__meta_ecs_region".into(), region.to_owned()),
        (
            "__meta_ecs_launch_type".into(),
            task.launch_type.clone().unwrap_or_default(),
        ),
        (
            "__meta_ecs_health_status".into(),
            task.health_status.clone().unwrap_or_default(),
        ),
        ("__meta_ecs_network_mode".into(), network_mode),
    ];
    let mut opt = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            l.push((format!("__meta_ecs_{name}"), v.clone()));
        }
    };
    opt("cluster_arn", &cluster.cluster_arn);
    opt("cluster", &cluster.cluster_name);
    opt("task_group", &task.group);
    opt("task_arn", &task.task_arn);
    opt("task_definition", &task.task_definition_arn);
    opt("availability_zone", &task.availability_zone);
    opt("desired_status", &task.desired_status);
    opt("last_status", &task.last_status);
    opt("container_instance_arn", &task.container_instance_arn);
    opt("platform_family", &task.platform_family);
    opt("platform_version", &task.platform_version);
    for (name, value) in [
        ("subnet_id", &subnet),
        ("ec2_instance_id", &ec2_id),
        ("ec2_instance_type", &ec2_type),
        ("ec2_instance_private_ip", &ec2_private),
        ("ec2_instance_public_ip", &ec2_public),
        ("public_ip", &public_ip),
    ] {
        if !value.is_empty() {
            l.push((format!("__meta_ecs_{name}"), value.clone()));
        }
    }
    l.push((ADDRESS_LABEL.into(), join_host_port(&ip, port)));
    let tags = |prefix: &str, tags: &Option<Vec<Tag>>, l: &mut Vec<(String, String)>| {
        for t in tags.iter().flatten() {
            if let (Some(k), Some(v)) = (&t.key, &t.value) {
                l.push((
                    format!("__meta_ecs_tag_{prefix}_{}", sanitize(k)),
                    v.clone(),
                ));
            }
        }
    };
    tags("cluster", &cluster.tags, &mut l);
    if let Some(name) = task
        .group
        .as_deref()
        .and_then(|g| g.strip_prefix("service:"))
    {
        if let Some(service) = services.get(name) {
            if let Some(v) = &service.service_name {
                l.push(("__meta_ecs_service".into(), v.clone()));
            }
            if let Some(v) = &service.service_arn {
                l.push(("__meta_ecs_service_arn".into(), v.clone()));
            }
            if let Some(v) = &service.status {
                l.push(("__meta_ecs_service_status".into(), v.clone()));
            }
            tags("service", &service.tags, &mut l);
        }
    }
    tags("task", &task.tags, &mut l);
    if let Some(info) = ec2.get(&ec2_id).filter(|_| !ec2_id.is_empty()) {
        for (k, v) in &info.tags {
            l.push((format!("__meta_ecs_tag_ec2_{}", sanitize(k)), v.clone()));
        }
    }
    Some(LabelSet::from_pairs(l))
}

pub struct Ecs {
    ecs: super::client::ServiceClient,
    ec2: super::client::ServiceClient,
    tested: bool,
}

impl Ecs {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        input: serde_json::Value,
    ) -> Result<T, String> {
        let body = self
            .ecs
            .json(&format!("{PREFIX}.{operation}"), &input)
            .await
            .map_err(|e| format!("operation error ECS: {operation}, {e}"))?;
        serde_json::from_slice(&body)
            .map_err(|e| format!("operation error ECS: {operation}, decoding the answer: {e}"))
    }

    async fn list(&self, operation: &str, cluster: Option<&str>) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({"maxResults": 100});
            if let Some(c) = cluster {
                input["cluster"] = json!(c);
            }
            if let Some(t) = &token {
                input["nextToken"] = json!(t);
            }
            let page: ArnList = self.call(operation, input).await?;
            out.extend(
                page.cluster_arns
                    .or(page.service_arns)
                    .or(page.task_arns)
                    .unwrap_or_default(),
            );
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    async fn ec2_pages(
        &self,
        action: &str,
        key: &str,
        ids: &[String],
    ) -> Result<Vec<Node>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params: Vec<(String, String)> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (format!("{key}.{}", i + 1), id.clone()))
                .collect();
            if let Some(t) = &token {
                params.push(("NextToken".into(), t.clone()));
            }
            let body = self
                .ec2
                .query(
                    action,
                    super::ec2::VERSION,
                    params
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect(),
                )
                .await
                .map_err(|e| format!("operation error EC2: {action}, {e}"))?;
            let node = xml::tree(action, &body)?;
            let next = node
                .text_at(&["nextToken"])
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            out.push(node);
            match next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// One cluster's targets; `Err` leaves the cluster out (Prometheus logs and returns).
    async fn cluster_targets(
        &self,
        session: &Session,
        cluster_arn: &str,
        cluster: &Cluster,
        service_arns: &[String],
        task_arns: &[String],
    ) -> Result<Vec<LabelSet>, String> {
        let mut services: HashMap<String, EcsService> = HashMap::new();
        for batch in service_arns.chunks(10) {
            let d: Described = self
                .call(
                    "DescribeServices",
                    json!({"cluster": cluster_arn, "services": batch, "include": ["TAGS"]}),
                )
                .await?;
            for s in d.services.unwrap_or_default() {
                if s.service_arn.is_some() {
                    services.insert(s.service_name.clone().unwrap_or_default(), s);
                }
            }
        }
        let mut tasks: Vec<Task> = Vec::new();
        for batch in task_arns.chunks(100) {
            let d: Described = self
                .call(
                    "DescribeTasks",
                    json!({"cluster": cluster_arn, "tasks": batch, "include": ["TAGS"]}),
                )
                .await?;
            tasks.extend(d.tasks.unwrap_or_default());
        }
        let ci_arns: Vec<String> = tasks
            .iter()
            .filter_map(|t| t.container_instance_arn.clone())
            .collect();
        let mut container_instances: HashMap<String, String> = HashMap::new();
        for batch in ci_arns.chunks(100) {
            let d: Described = self
                .call(
                    "DescribeContainerInstances",
                    json!({"cluster": cluster_arn, "containerInstances": batch}),
                )
                .await?;
            for ci in d.container_instances.unwrap_or_default() {
                if let (Some(arn), Some(id)) = (ci.container_instance_arn, ci.ec2_instance_id) {
                    container_instances.insert(arn, id);
                }
            }
        }
        let eni_ids: Vec<String> = tasks
            .iter()
            .filter_map(|t| {
                eni_attachment(t)?
                    .details
                    .iter()
                    .flatten()
                    .find(|d| d.name.as_deref() == Some("networkInterfaceId") && d.value.is_some())
                    .and_then(|d| d.value.clone())
            })
            .collect();
        let mut eni_public_ips: HashMap<String, String> = HashMap::new();
        if !eni_ids.is_empty() {
            for page in self
                .ec2_pages("DescribeNetworkInterfaces", "NetworkInterfaceId", &eni_ids)
                .await?
            {
                for eni in page.list(&["networkInterfaceSet"]) {
                    if let (Some(id), Some(ip)) = (
                        eni.text_at(&["networkInterfaceId"]),
                        eni.text_at(&["association", "publicIp"]),
                    ) {
                        eni_public_ips.insert(id.to_owned(), ip.to_owned());
                    }
                }
            }
        }
        let mut ec2: HashMap<String, Ec2Info> = HashMap::new();
        if !container_instances.is_empty() {
            let ids: Vec<String> = container_instances
                .values()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            for page in self
                .ec2_pages("DescribeInstances", "InstanceId", &ids)
                .await?
            {
                for r in page.list(&["reservationSet"]) {
                    for inst in r.list(&["instancesSet"]) {
                        let (Some(id), Some(private)) = (
                            inst.text_at(&["instanceId"]),
                            inst.text_at(&["privateIpAddress"]),
                        ) else {
                            continue;
                        };
                        let mut tags = BTreeMap::new();
                        for t in inst.list(&["tagSet"]) {
                            if let (Some(k), Some(v)) = (t.text_at(&["key"]), t.text_at(&["value"]))
                            {
                                tags.insert(k.to_owned(), v.to_owned());
                            }
                        }
                        ec2.insert(
                            id.to_owned(),
                            Ec2Info {
                                private_ip: private.to_owned(),
                                public_ip: inst
                                    .text_at(&["ipAddress"])
                                    .unwrap_or_default()
                                    .to_owned(),
                                subnet_id: inst
                                    .text_at(&["subnetId"])
                                    .unwrap_or_default()
                                    .to_owned(),
                                instance_type: inst
                                    .text_at(&["instanceType"])
                                    .unwrap_or_default()
                                    .to_owned(),
                                tags,
                            },
                        );
                    }
                }
            }
        }
        Ok(tasks
            .iter()
            .filter_map(|task| {
                task_target(
                    &session.region,
                    session.settings.port,
                    cluster,
                    &services,
                    task,
                    &container_instances,
                    &ec2,
                    &eni_public_ips,
                )
            })
            .collect())
    }

    async fn pass(&mut self, session: &Session) -> Result<Vec<TargetGroup>, String> {
        if !self.tested {
            self.tested = true;
            self.call::<serde_json::Value>("DescribeClusters", json!({}))
                .await
                .map_err(|e| format!("ECS credential test failed: {e}"))?;
        }
        let clusters = if session.settings.clusters.is_empty() {
            self.list("ListClusters", None)
                .await
                .map_err(|e| format!("could not list clusters: {e}"))?
        } else {
            session.settings.clusters.clone()
        };
        if clusters.is_empty() {
            return Ok(vec![group(&session.region, Vec::new())]);
        }
        let mut described: HashMap<String, Cluster> = HashMap::new();
        for batch in clusters.chunks(100) {
            let d: Described = self
                .call(
                    "DescribeClusters",
                    json!({"clusters": batch, "include": ["TAGS"]}),
                )
                .await
                .map_err(|e| format!("could not describe clusters {batch:?}: {e}"))?;
            for c in d.clusters.unwrap_or_default() {
                if let Some(arn) = &c.cluster_arn {
                    described.insert(arn.clone(), c);
                }
            }
        }
        let mut services: HashMap<String, Vec<String>> = HashMap::new();
        let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for arn in &clusters {
            let s = self
                .list("ListServices", Some(arn))
                .await
                .map_err(|e| format!("could not list services for cluster {arn:?}: {e}"))?;
            services.insert(arn.clone(), s);
            let t = self
                .list("ListTasks", Some(arn))
                .await
                .map_err(|e| format!("could not list tasks for cluster {arn:?}: {e}"))?;
            tasks.insert(arn.clone(), t);
        }
        let mut found = Vec::new();
        for (arn, task_arns) in &tasks {
            if task_arns.is_empty() {
                continue;
            }
            let cluster = described.get(arn).cloned().unwrap_or_default();
            // Prometheus keys everything by the described cluster's ARN (a cluster it could
            // not describe has none, and its calls name an empty cluster).
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            match self
                .cluster_targets(
                    session,
                    &cluster_arn,
                    &cluster,
                    services.get(arn).map(Vec::as_slice).unwrap_or_default(),
                    task_arns,
                )
                .await
            {
                Ok(targets) => found.extend(targets),
                Err(e) => {
                    tracing::error!(cluster = %cluster_arn, err = %e, "Failed to discover ECS cluster")
                }
            }
        }
        Ok(vec![group(&session.region, found)])
    }
}

impl Service for Ecs {
    fn new(session: &Session) -> Self {
        Ecs {
            ecs: session.service("ecs", "ecs"),
            // EC2 at its own endpoint: Prometheus sets the configured endpoint on ECS only.
            ec2: super::client::ServiceClient::new(
                session.http.clone(),
                session.creds.clone(),
                &session.region,
                "",
                "ec2",
                "ec2",
            ),
            tested: false,
        }
    }

    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(self.pass(session))
    }
}
