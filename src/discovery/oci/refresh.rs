//! A refresh: compartments, their instances, each instance's primary VNIC, one group. The walk
//! ([`refresh_group`]) is written against [`OciApi`], which the HTTP client below implements
//! with the Go SDK's requests and the unit tests implement with tables.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, LabelSet, TargetGroup};

use super::api::{
    iaas_endpoint, identity_endpoint, Compartment, Instance, Vnic, VnicAttachment, API_VERSION,
    LIMIT,
};
use super::sign::{parse_key, OciSigner};
use super::targets::{instance_labels, VnicInfo, SOURCE};
use super::OciSdConfig;
use crate::discovery::kit::path_escape as go_path_escape;
use crate::discovery::kit::{self, ApiClient, ApiError, LazyClient};

/// The four operations Prometheus' discovery uses.
#[allow(async_fn_in_trait)]
pub trait OciApi {
    /// One page of `ListCompartments` (direct children of `parent`): items and `opc-next-page`.
    async fn list_compartments(
        &self,
        parent: &str,
        page: Option<String>,
    ) -> Result<(Vec<Compartment>, Option<String>), ApiError>;
    /// Every page of `ListInstances` in a compartment.
    async fn list_instances(&self, compartment: &str) -> Result<Vec<Instance>, ApiError>;
    /// Every page of `ListVnicAttachments` of one instance.
    async fn list_vnic_attachments(
        &self,
        compartment: &str,
        instance: &str,
    ) -> Result<Vec<VnicAttachment>, ApiError>;
    /// `GetVnic`.
    async fn get_vnic(&self, vnic: &str) -> Result<Vnic, ApiError>;
}

/// `listAllCompartments`: BFS from `root` (included), direct children page by page, `ACTIVE`
/// ones queued once; a compartment whose listing fails is logged and its subtree skipped.
pub async fn list_all_compartments<A: OciApi>(api: &A, root: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut visited = HashSet::new();
    let mut queue = VecDeque::from([root.to_owned()]);
    while let Some(current) = queue.pop_front() {
        if !visited.insert(current.clone()) {
            continue;
        }
        all.push(current.clone());
        let mut page = None;
        loop {
            match api.list_compartments(&current, page.take()).await {
                Err(e) => {
                    tracing::warn!(compartment_id = %current, err = %e,
                        "OCI SD failed to list child compartments, skipping subtree");
                    break;
                }
                Ok((items, next)) => {
                    for c in items {
                        if let Some(id) = c.id {
                            if c.lifecycle_state == "ACTIVE" && !visited.contains(&id) {
                                queue.push_back(id);
                            }
                        }
                    }
                    match next {
                        Some(n) => page = Some(n),
                        None => break,
                    }
                }
            }
        }
    }
    all
}

/// `resolveVnics`: the first attached VNIC that is primary (IPv6 addresses sorted); the walk
/// stops there. No primary VNIC gives an empty one.
pub async fn resolve_vnics<A: OciApi>(api: &A, inst: &Instance) -> Result<VnicInfo, ApiError> {
    let compartment = inst.compartment_id.as_deref().unwrap_or("");
    let id = inst.id.as_deref().unwrap_or("");
    let attachments = api
        .list_vnic_attachments(compartment, id)
        .await
        .map_err(|e| ApiError::Other(format!("listing VNIC attachments for instance {id}: {e}")))?;
    for att in attachments {
        let Some(vnic_id) = att.vnic_id else { continue };
        if att.lifecycle_state != "ATTACHED" {
            continue;
        }
        let vnic = api
            .get_vnic(&vnic_id)
            .await
            .map_err(|e| ApiError::Other(format!("fetching VNIC {vnic_id}: {e}")))?;
        if vnic.is_primary == Some(true) {
            let mut ipv6 = vnic.ipv6_addresses;
            ipv6.sort();
            return Ok(VnicInfo {
                id: vnic.id.unwrap_or_default(),
                private_ip: vnic.private_ip.unwrap_or_default(),
                public_ip: vnic.public_ip.unwrap_or_default(),
                ipv6_addresses: ipv6,
                hostname_label: vnic.hostname_label.unwrap_or_default(),
            });
        }
    }
    Ok(VnicInfo::default())
}

/// Prometheus' `refresh`: one group of every instance with an address, in every compartment;
/// a failed instance listing fails the whole refresh.
pub async fn refresh_group<A: OciApi>(
    api: &A,
    compartments: &[String],
    tenancy: &str,
    port: i64,
) -> Result<TargetGroup, ApiError> {
    let compartments = if compartments.is_empty() {
        list_all_compartments(api, tenancy).await
    } else {
        compartments.to_vec()
    };
    let mut targets: Vec<LabelSet> = Vec::new();
    for compartment in &compartments {
        let instances = api.list_instances(compartment).await.map_err(|e| {
            ApiError::Other(format!(
                "listing OCI instances in compartment {compartment}: {e}"
            ))
        })?;
        for inst in &instances {
            if inst.id.is_none() || inst.compartment_id.is_none() {
                tracing::warn!(compartment_id = %compartment,
                    "OCI SD skipping instance with missing OCID fields");
                continue;
            }
            let vnic = match resolve_vnics(api, inst).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(instance_id = inst.id.as_deref().unwrap_or(""), err = %e,
                        "OCI SD failed to resolve VNIC IPs, skipping instance");
                    continue;
                }
            };
            if !vnic.has_address() {
                tracing::debug!(
                    instance_id = inst.id.as_deref().unwrap_or(""),
                    "OCI SD skipping instance with no usable IP address"
                );
                continue;
            }
            targets.push(instance_labels(inst, &vnic, tenancy, port));
        }
    }
    Ok(TargetGroup::new(SOURCE, targets, LabelSet::new()))
}

/// The API over HTTP, every request signed.
struct Http {
    client: LazyClient,
    signer: tokio::sync::OnceCell<Arc<OciSigner>>,
    config: OciSdConfig,
    iaas: String,
    identity: String,
}

pub(super) fn discoverer(ctx: &BuildContext, config: &OciSdConfig) -> Discoverer {
    let interval = config.refresh_interval.as_std();
    let http = Arc::new(Http {
        client: LazyClient::from_config(config.http_client_config.clone(), None),
        signer: tokio::sync::OnceCell::new(),
        config: config.clone(),
        iaas: iaas_endpoint(&config.region),
        identity: identity_endpoint(&config.region),
    });
    kit::poll(ctx, "oci", interval, move || {
        let http = http.clone();
        async move {
            let group = refresh_group(
                &*http,
                &http.config.compartments,
                &http.config.tenancy,
                http.config.port,
            )
            .await?;
            Ok::<_, ApiError>(vec![group])
        }
    })
}

impl Http {
    /// The signer, its key read (off the engine's thread) at first use.
    async fn signer(&self) -> Result<Arc<OciSigner>, ApiError> {
        self.signer
            .get_or_try_init(|| async {
                let c = self.config.clone();
                tokio::task::spawn_blocking(move || load_signer(&c))
                    .await
                    .map_err(|e| ApiError::Other(format!("reading the OCI key panicked: {e}")))?
                    .map(Arc::new)
                    .map_err(ApiError::Other)
            })
            .await
            .cloned()
    }

    /// A signed GET of `url` (its query already Go-encoded), decoded as JSON, with the
    /// `opc-next-page` header.
    async fn get<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        url: String,
    ) -> Result<(T, Option<String>), ApiError> {
        let client: &ApiClient = self.client.get().await?;
        let signer = self.signer().await?;
        let response = client
            .get(url)
            .header("Accept", "*/*")
            .header("Content-Type", "application/json")
            .sign(signer)
            .send()
            .await?;
        let next = response
            .header("opc-next-page")
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        Ok((response.json().await?, next))
    }

    /// Every page of a list: `query` (sorted keys, as Go's `url.Values.Encode`) then `page`.
    async fn all_pages<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        base: &str,
        query: String,
    ) -> Result<Vec<T>, ApiError> {
        kit::collect_pages(None::<String>, |page| {
            let mut url = format!("{base}?{query}");
            if let Some(p) = page {
                url.push_str("&page=");
                url.push_str(&go_query_escape(&p));
            }
            async move {
                let (items, next) = self.get::<Vec<T>>(url).await?;
                Ok((items, next.map(Some)))
            }
        })
        .await
    }
}

fn load_signer(c: &OciSdConfig) -> Result<OciSigner, String> {
    let pem = std::fs::read_to_string(&c.key_file)
        .map_err(|e| format!("reading OCI key file {:?}: {e}", c.key_file))?;
    if !c.key_passphrase_file.is_empty() {
        std::fs::read(&c.key_passphrase_file).map_err(|e| {
            format!(
                "reading OCI key passphrase file {:?}: {e}",
                c.key_passphrase_file
            )
        })?;
    }
    let key = parse_key(&pem)?;
    Ok(OciSigner::new(&c.tenancy, &c.user, &c.fingerprint, key))
}

impl OciApi for Http {
    async fn list_compartments(
        &self,
        parent: &str,
        page: Option<String>,
    ) -> Result<(Vec<Compartment>, Option<String>), ApiError> {
        let mut url = format!(
            "{}{API_VERSION}/compartments?accessLevel=ACCESSIBLE&compartmentId={}&compartmentIdInSubtree=false&limit={LIMIT}",
            self.identity,
            go_query_escape(parent)
        );
        if let Some(p) = page {
            url.push_str("&page=");
            url.push_str(&go_query_escape(&p));
        }
        self.get(url).await
    }

    async fn list_instances(&self, compartment: &str) -> Result<Vec<Instance>, ApiError> {
        let base = format!("{}{API_VERSION}/instances", self.iaas);
        let query = format!(
            "compartmentId={}&limit={LIMIT}",
            go_query_escape(compartment)
        );
        self.all_pages(&base, query).await
    }

    async fn list_vnic_attachments(
        &self,
        compartment: &str,
        instance: &str,
    ) -> Result<Vec<VnicAttachment>, ApiError> {
        let base = format!("{}{API_VERSION}/vnicAttachments", self.iaas);
        let query = format!(
            "compartmentId={}&instanceId={}&limit={LIMIT}",
            go_query_escape(compartment),
            go_query_escape(instance)
        );
        self.all_pages(&base, query).await
    }

    async fn get_vnic(&self, vnic: &str) -> Result<Vnic, ApiError> {
        let url = format!("{}{API_VERSION}/vnics/{}", self.iaas, go_path_escape(vnic));
        Ok(self.get::<Vnic>(url).await?.0)
    }
}

/// Go's `url.QueryEscape`.
pub fn go_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
