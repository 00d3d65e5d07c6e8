//! Tokens for Azure Resource Manager, obtained as azidentity's credentials obtain them.
//!
//! - Client secret (`OAuth`, and the SDK chain's environment credential): `POST
//!   <login>/<tenant>/oauth2/v2.0/token` with `client_id`, `client_secret`,
//!   `grant_type=client_credentials` and `scope=<audience>/.default openid offline_access
//!   profile`, the form MSAL (under azidentity) sends.
//! - Workload identity: the same endpoint with the federated token file's content as
//!   `client_assertion` (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
//!   and MSAL's `client_info=1`), the file read at each token request as it rotates.
//! - Managed identity: App Service (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`; `GET
//!   ?api-version=2019-08-01&client_id=&resource=` with `X-IDENTITY-HEADER`), Azure Machine
//!   Learning (`MSI_ENDPOINT`, `MSI_SECRET`; `GET ?api-version=2017-09-01&clientid=&resource=`
//!   with `secret`), Cloud Shell (`MSI_ENDPOINT` alone; `POST` form `resource=` with
//!   `Metadata: true`), else the instance
//!   metadata service (`GET /metadata/identity/oauth2/token?api-version=2018-02-01&...` with
//!   `Metadata: true`, at `AZURE_POD_IDENTITY_AUTHORITY_HOST` or 169.254.169.254).
//!
//! A token is reused until 5 minutes before its expiry, as azcore's bearer policy does.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;

use super::api::{TokenError, TokenResponse};
use crate::common::Secret;
use crate::discovery::kit::{ApiClient, ApiError};

/// A cloud's endpoints (azcore's `cloud.Configuration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cloud {
    /// Entra ID, with a trailing `/`.
    pub login: &'static str,
    /// Resource Manager, without a trailing `/`.
    pub resource_manager: &'static str,
    /// The token audience of Resource Manager.
    pub audience: &'static str,
}

const PUBLIC: Cloud = Cloud {
    login: "https://login.microsoftonline.com/",
    resource_manager: "https://management.azure.com",
    audience: "https://management.core.windows.net/",
};

const CHINA: Cloud = Cloud {
    login: "https://login.chinacloudapi.cn/",
    resource_manager: "https://management.chinacloudapi.cn",
    audience: "https://management.core.chinacloudapi.cn",
};

const GOVERNMENT: Cloud = Cloud {
    login: "https://login.microsoftonline.us/",
    resource_manager: "https://management.usgovcloudapi.net",
    audience: "https://management.core.usgovcloudapi.net",
};

/// Prometheus' `CloudConfigurationFromName` (case-insensitive; Germany is gone and maps to
/// the public cloud, as in Prometheus).
pub fn cloud_from_name(name: &str) -> Result<Cloud, String> {
    let upper = name.to_uppercase();
    match upper.as_str() {
        "AZURECHINACLOUD" => Ok(CHINA),
        "AZURECLOUD" | "AZUREGERMANCLOUD" | "AZUREPUBLICCLOUD" => Ok(PUBLIC),
        "AZUREUSGOVERNMENT" | "AZUREUSGOVERNMENTCLOUD" => Ok(GOVERNMENT),
        _ => Err(format!(
            "there is no cloud configuration matching the name {upper:?}"
        )),
    }
}

/// How tokens are obtained.
#[derive(Clone, Debug)]
pub enum Source {
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Secret,
    },
    ClientAssertion {
        tenant: String,
        client_id: String,
        token_file: String,
    },
    ManagedIdentity {
        client_id: Option<String>,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The workload identity settings from the environment (azidentity's
/// `NewWorkloadIdentityCredential` without options); `tenant` overrides `AZURE_TENANT_ID`.
pub fn workload_identity(tenant: Option<&str>) -> Result<Source, String> {
    let client_id = env("AZURE_CLIENT_ID").ok_or(
        "WorkloadIdentityCredential: no client ID specified. Check pod configuration or set ClientID in the options",
    )?;
    let token_file = env("AZURE_FEDERATED_TOKEN_FILE").ok_or(
        "WorkloadIdentityCredential: no token file specified. Check pod configuration or set TokenFilePath in the options",
    )?;
    let tenant = tenant
        .map(str::to_owned)
        .filter(|t| !t.is_empty())
        .or_else(|| env("AZURE_TENANT_ID"))
        .ok_or(
            "WorkloadIdentityCredential: no tenant ID specified. Check pod configuration or set TenantID in the options",
        )?;
    Ok(Source::ClientAssertion {
        tenant,
        client_id,
        token_file,
    })
}

/// azidentity's `DefaultAzureCredential`, without the developer tools: the environment's
/// client secret, then workload identity, then managed identity.
pub fn sdk_chain(tenant: &str) -> Source {
    if let (Some(tenant), Some(client_id), Some(secret)) = (
        env("AZURE_TENANT_ID"),
        env("AZURE_CLIENT_ID"),
        env("AZURE_CLIENT_SECRET"),
    ) {
        return Source::ClientSecret {
            tenant,
            client_id,
            secret: Secret::new(secret),
        };
    }
    if let Ok(source) = workload_identity(Some(tenant)) {
        return source;
    }
    Source::ManagedIdentity {
        client_id: env("AZURE_CLIENT_ID"),
    }
}

/// A token source with its cache.
pub struct Credential {
    source: Source,
    cloud: Cloud,
    /// For Entra ID: the configured HTTP settings without their authentication.
    login_client: ApiClient,
    /// For managed identity endpoints: the environment's settings, as azidentity.
    local_client: ApiClient,
    cached: Mutex<Option<(String, Instant)>>,
}

/// How long before its expiry a token is replaced.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

impl Credential {
    pub fn new(
        source: Source,
        cloud: Cloud,
        login_client: ApiClient,
        local_client: ApiClient,
    ) -> Self {
        Credential {
            source,
            cloud,
            login_client,
            local_client,
            cached: Mutex::new(None),
        }
    }

    /// A valid token; `renew` drops the cached one first (after a 401).
    pub async fn token(&self, renew: bool) -> Result<String, ApiError> {
        let mut cached = self.cached.lock().await;
        if renew {
            *cached = None;
        }
        if let Some((token, expires)) = &*cached {
            if Instant::now() + REFRESH_BEFORE < *expires {
                return Ok(token.clone());
            }
        }
        let answer = self.fetch().await?;
        let lifetime = match (answer.expires_in, answer.expires_on) {
            (Some(seconds), _) => Duration::from_secs(seconds.max(0) as u64),
            (None, Some(on)) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs() as i64;
                Duration::from_secs((on - now).max(0) as u64)
            }
            (None, None) => Duration::from_secs(3600),
        };
        *cached = Some((answer.access_token.clone(), Instant::now() + lifetime));
        Ok(answer.access_token)
    }

    /// The `scope` MSAL sends: the resource's `.default` and its default OpenID scopes.
    fn scope(&self) -> String {
        format!(
            "{}/.default openid offline_access profile",
            self.cloud.audience
        )
    }

    async fn fetch(&self) -> Result<TokenResponse, ApiError> {
        match &self.source {
            Source::ClientSecret {
                tenant,
                client_id,
                secret,
            } => {
                self.entra(
                    tenant,
                    &[
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.expose()),
                        ("grant_type", "client_credentials"),
                        ("scope", &self.scope()),
                    ],
                )
                .await
            }
            Source::ClientAssertion {
                tenant,
                client_id,
                token_file,
            } => {
                let assertion = tokio::fs::read_to_string(token_file).await.map_err(|e| {
                    ApiError::Other(format!(
                        "reading the federated token file {token_file}: {e}"
                    ))
                })?;
                self.entra(
                    tenant,
                    &[
                        ("client_assertion", assertion.trim()),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_id", client_id.as_str()),
                        ("client_info", "1"),
                        ("grant_type", "client_credentials"),
                        ("scope", &self.scope()),
                    ],
                )
                .await
            }
            Source::ManagedIdentity { client_id } => self.managed_identity(client_id).await,
        }
    }

    async fn entra(&self, tenant: &str, form: &[(&str, &str)]) -> Result<TokenResponse, ApiError> {
        let url = format!(
            "{}{}/oauth2/v2.0/token",
            self.cloud.login,
            super::refresh::path_escape(tenant)
        );
        let response = self
            .login_client
            .post(url)
            .header("Accept", "application/json")
            .form(form)
            .send_raw()
            .await?;
        if !response.status.is_success() {
            let detail: TokenError = serde_json::from_slice(&response.body).unwrap_or_default();
            if !detail.error.is_empty() {
                return Err(ApiError::Other(format!(
                    "authentication failed: {} ({}): {}",
                    response.status, detail.error, detail.error_description
                )));
            }
            return Err(response.into_status_error());
        }
        response.json().await
    }

    async fn managed_identity(
        &self,
        client_id: &Option<String>,
    ) -> Result<TokenResponse, ApiError> {
        let resource = self.cloud.audience;
        let mut query: Vec<(&str, &str)> = Vec::new();
        let request = if let (Some(endpoint), Some(header)) =
            (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER"))
        {
            query.push(("api-version", "2019-08-01"));
            if let Some(id) = client_id {
                query.push(("client_id", id));
            }
            query.push(("resource", resource));
            self.local_client
                .get(endpoint)
                .query(&query)
                .header("X-IDENTITY-HEADER", header)
        } else if let (Some(endpoint), Some(secret)) = (env("MSI_ENDPOINT"), env("MSI_SECRET")) {
            // Azure Machine Learning: its own parameter name and header.
            let id = client_id
                .clone()
                .or_else(|| env("DEFAULT_IDENTITY_CLIENT_ID"));
            return self
                .local_client
                .get(endpoint)
                .query(&[
                    ("api-version", "2017-09-01"),
                    ("clientid", id.as_deref().unwrap_or_default()),
                    ("resource", resource),
                ])
                .header("secret", secret)
                .fetch_json()
                .await;
        } else if let Some(endpoint) = env("MSI_ENDPOINT") {
            let mut form: Vec<(&str, &str)> = vec![("resource", resource)];
            if let Some(id) = client_id {
                form.push(("client_id", id));
            }
            self.local_client
                .post(endpoint)
                .header("Metadata", "true")
                .form(&form)
        } else {
            let host = env("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                .map(|h| h.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "http://169.254.169.254".to_owned());
            query.push(("api-version", "2018-02-01"));
            if let Some(id) = client_id {
                query.push(("client_id", id));
            }
            query.push(("resource", resource));
            self.local_client
                .get(format!("{host}/metadata/identity/oauth2/token"))
                .query(&query)
                .header("Metadata", "true")
        };
        request.fetch_json().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_by_name() {
        assert_eq!(cloud_from_name("AzurePublicCloud").unwrap(), PUBLIC);
        assert_eq!(cloud_from_name("azurecloud").unwrap(), PUBLIC);
        assert_eq!(cloud_from_name("AzureGermanCloud").unwrap(), PUBLIC);
        assert_eq!(cloud_from_name("AzureChinaCloud").unwrap(), CHINA);
        assert_eq!(cloud_from_name("AzureUSGovernment").unwrap(), GOVERNMENT);
        assert_eq!(
            cloud_from_name("AzureUSGovernmentCloud").unwrap(),
            GOVERNMENT
        );
        assert_eq!(
            cloud_from_name("Mars").unwrap_err(),
            r#"there is no cloud configuration matching the name "MARS""#
        );
    }
}
