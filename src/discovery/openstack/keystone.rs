//! Keystone as gophercloud speaks it: the credentials (`AuthOptions`, from the config or the
//! `OS_*` environment), the identity version choice, the token request body and the catalog
//! lookup. Pure functions; the requests are in `refresh.rs`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::api::{CatalogEntry, VersionsDocument};
use super::OpenstackSdConfig;

/// gophercloud's `AuthOptions`, the fields Prometheus sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthOptions {
    pub identity_endpoint: String,
    pub username: String,
    pub user_id: String,
    pub password: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub domain_id: String,
    pub domain_name: String,
    pub application_credential_id: String,
    pub application_credential_name: String,
    pub application_credential_secret: String,
    /// `OS_SYSTEM_SCOPE=all`.
    pub system_scope: bool,
}

impl AuthOptions {
    /// The options of a config; without `identity_endpoint`, those of the environment.
    pub fn of(config: &OpenstackSdConfig) -> Result<Self, String> {
        if config.identity_endpoint.is_empty() {
            return Self::from_env(|name| std::env::var(name).unwrap_or_default());
        }
        Ok(AuthOptions {
            identity_endpoint: config.identity_endpoint.clone(),
            username: config.username.clone(),
            user_id: config.userid.clone(),
            password: config.password.expose().to_owned(),
            tenant_id: config.project_id.clone(),
            tenant_name: config.project_name.clone(),
            domain_id: config.domain_id.clone(),
            domain_name: config.domain_name.clone(),
            application_credential_id: config.application_credential_id.clone(),
            application_credential_name: config.application_credential_name.clone(),
            application_credential_secret: config.application_credential_secret.expose().to_owned(),
            system_scope: false,
        })
    }

    /// gophercloud's `AuthOptionsFromEnv`, its checks and messages.
    pub fn from_env(var: impl Fn(&str) -> String) -> Result<Self, String> {
        let missing = |name: &str| format!("Missing environment variable [{name}]");
        let missing_one =
            |names: &str| format!("Missing one of the following environment variables [{names}]");
        let mut o = AuthOptions {
            identity_endpoint: var("OS_AUTH_URL"),
            username: var("OS_USERNAME"),
            user_id: var("OS_USERID"),
            password: var("OS_PASSWORD"),
            tenant_id: var("OS_TENANT_ID"),
            tenant_name: var("OS_TENANT_NAME"),
            domain_id: var("OS_DOMAIN_ID"),
            domain_name: var("OS_DOMAIN_NAME"),
            application_credential_id: var("OS_APPLICATION_CREDENTIAL_ID"),
            application_credential_name: var("OS_APPLICATION_CREDENTIAL_NAME"),
            application_credential_secret: var("OS_APPLICATION_CREDENTIAL_SECRET"),
            system_scope: var("OS_SYSTEM_SCOPE") == "all",
        };
        let project_id = var("OS_PROJECT_ID");
        if !project_id.is_empty() {
            o.tenant_id = project_id;
        }
        let project_name = var("OS_PROJECT_NAME");
        if !project_name.is_empty() {
            o.tenant_name = project_name;
        }
        if o.identity_endpoint.is_empty() {
            return Err(missing("OS_AUTH_URL"));
        }
        if o.user_id.is_empty()
            && o.username.is_empty()
            && o.application_credential_id.is_empty()
            && o.application_credential_secret.is_empty()
        {
            return Err(missing_one("OS_USERID, OS_USERNAME"));
        }
        if o.password.is_empty()
            && o.application_credential_id.is_empty()
            && o.application_credential_name.is_empty()
        {
            return Err(missing("OS_PASSWORD"));
        }
        if (!o.application_credential_id.is_empty() || !o.application_credential_name.is_empty())
            && o.application_credential_secret.is_empty()
        {
            return Err(missing("OS_APPLICATION_CREDENTIAL_SECRET"));
        }
        if o.domain_id.is_empty()
            && o.domain_name.is_empty()
            && o.tenant_id.is_empty()
            && !o.tenant_name.is_empty()
        {
            return Err(missing("OS_PROJECT_ID"));
        }
        if o.application_credential_id.is_empty()
            && !o.application_credential_name.is_empty()
            && !o.application_credential_secret.is_empty()
        {
            if o.user_id.is_empty() && o.username.is_empty() {
                return Err(missing_one("OS_USERID, OS_USERNAME"));
            }
            if !o.username.is_empty() && o.domain_id.is_empty() && o.domain_name.is_empty() {
                return Err(missing_one("OS_DOMAIN_ID, OS_DOMAIN_NAME"));
            }
        }
        Ok(o)
    }

    /// gophercloud's `ToTokenV3ScopeMap`: the scope of the token request, if any.
    pub fn scope(&self) -> Result<Option<Value>, String> {
        if self.system_scope {
            return Ok(Some(json!({"system": {"all": true}})));
        }
        let (project_id, project_name, domain_id, domain_name) = if !self.tenant_id.is_empty() {
            (self.tenant_id.as_str(), "", "", "")
        } else if !self.tenant_name.is_empty() {
            (
                "",
                self.tenant_name.as_str(),
                self.domain_id.as_str(),
                self.domain_name.as_str(),
            )
        } else {
            ("", "", "", "")
        };
        if !project_name.is_empty() {
            if domain_id.is_empty() && domain_name.is_empty() {
                return Err(
                    "You must provide exactly one of DomainID or DomainName in a Scope with ProjectName"
                        .into(),
                );
            }
            if !domain_id.is_empty() {
                return Ok(Some(
                    json!({"project": {"name": project_name, "domain": {"id": domain_id}}}),
                ));
            }
            return Ok(Some(
                json!({"project": {"name": project_name, "domain": {"name": domain_name}}}),
            ));
        }
        if !project_id.is_empty() {
            return Ok(Some(json!({"project": {"id": project_id}})));
        }
        Ok(None)
    }

    /// gophercloud's `ToTokenV3CreateMap`: the body of `POST /v3/auth/tokens`.
    pub fn token_request(&self) -> Result<Value, String> {
        const USERNAME_OR_ID: &str =
            "Exactly one of Username and UserID must be provided for password authentication";
        const DOMAIN_ID_OR_NAME: &str =
            "You must provide exactly one of DomainID or DomainName to authenticate by Username";
        const APP_SECRET: &str = "You must provide an Application Credential Secret";
        let user_by_name = |domain: Value| {
            let mut user = Map::new();
            user.insert("name".into(), json!(self.username));
            user.insert("domain".into(), domain);
            user
        };
        let identity = if self.password.is_empty() {
            if !self.application_credential_id.is_empty() {
                if self.application_credential_secret.is_empty() {
                    return Err(APP_SECRET.into());
                }
                json!({
                    "methods": ["application_credential"],
                    "application_credential": {
                        "id": self.application_credential_id,
                        "secret": self.application_credential_secret,
                    },
                })
            } else if !self.application_credential_name.is_empty() {
                if self.application_credential_secret.is_empty() {
                    return Err(APP_SECRET.into());
                }
                let user = if !self.user_id.is_empty() {
                    json!({"id": self.user_id})
                } else if self.username.is_empty() {
                    return Err(USERNAME_OR_ID.into());
                } else if !self.domain_id.is_empty() {
                    Value::Object(user_by_name(json!({"id": self.domain_id})))
                } else if !self.domain_name.is_empty() {
                    Value::Object(user_by_name(json!({"name": self.domain_name})))
                } else {
                    return Err(DOMAIN_ID_OR_NAME.into());
                };
                json!({
                    "methods": ["application_credential"],
                    "application_credential": {
                        "name": self.application_credential_name,
                        "user": user,
                        "secret": self.application_credential_secret,
                    },
                })
            } else {
                return Err("You must provide a password to authenticate".into());
            }
        } else {
            if self.username.is_empty() == self.user_id.is_empty() {
                return Err(USERNAME_OR_ID.into());
            }
            let user = if !self.username.is_empty() {
                if self.domain_id.is_empty() == self.domain_name.is_empty() {
                    return Err(DOMAIN_ID_OR_NAME.into());
                }
                let mut user = if !self.domain_id.is_empty() {
                    user_by_name(json!({"id": self.domain_id}))
                } else {
                    user_by_name(json!({"name": self.domain_name}))
                };
                user.insert("password".into(), json!(self.password));
                Value::Object(user)
            } else {
                if !self.domain_id.is_empty() {
                    return Err(
                        "DomainID may not be provided when authenticating with a UserID".into(),
                    );
                }
                if !self.domain_name.is_empty() {
                    return Err(
                        "DomainName may not be provided when authenticating with a UserID".into(),
                    );
                }
                json!({"id": self.user_id, "password": self.password})
            };
            json!({"methods": ["password"], "password": {"user": user}})
        };
        let mut auth = Map::new();
        auth.insert("identity".into(), identity);
        if let Some(scope) = self.scope()? {
            auth.insert("scope".into(), scope);
        }
        Ok(json!({ "auth": auth }))
    }
}

/// `url` with a trailing `/` (gophercloud's `NormalizeURL`).
pub fn normalize(url: &str) -> String {
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

/// gophercloud's `BaseEndpoint`: the endpoint without query, fragment, and its path from the
/// first version segment (`v3`, `v2.0/`) on; normalized.
pub fn base_endpoint(endpoint: &str) -> Result<String, String> {
    static VERSION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"v[0-9.]+/?").expect("valid regex"));
    let mut url = url::Url::parse(endpoint).map_err(|e| format!("parse {endpoint:?}: {e}"))?;
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().to_owned();
    if let Some(m) = VERSION.find(&path) {
        url.set_path(&path[..m.start()]);
    }
    Ok(normalize(url.as_str()))
}

/// The identity version gophercloud picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityVersion {
    V2,
    V3,
}

const RECOGNIZED: [(IdentityVersion, &str, u32, &str); 2] = [
    (IdentityVersion::V2, "v2.0", 20, "/v2.0/"),
    (IdentityVersion::V3, "v3", 30, "/v3/"),
];

/// An endpoint that names its version needs no version document.
pub fn version_of_endpoint(identity_endpoint: &str) -> Option<(IdentityVersion, String)> {
    let endpoint = normalize(identity_endpoint);
    RECOGNIZED
        .iter()
        .find(|(_, _, _, suffix)| endpoint.ends_with(suffix))
        .map(|(v, ..)| (*v, endpoint.clone()))
}

/// gophercloud's `ChooseVersion` over the version document from `base`: the version whose
/// `self` link is the configured endpoint, else the highest-priority stable one.
pub fn choose_version(
    identity_endpoint: &str,
    base: &str,
    doc: &VersionsDocument,
) -> Result<(IdentityVersion, String), String> {
    let endpoint = normalize(identity_endpoint);
    let mut highest: Option<(IdentityVersion, u32, String)> = None;
    for value in &doc.versions.values {
        let mut href = String::new();
        for link in &value.links {
            if link.rel == "self" {
                href = normalize(&link.href);
            }
        }
        for (version, id, priority, _) in RECOGNIZED {
            if !value.id.contains(id) {
                continue;
            }
            if href == endpoint {
                return Ok((version, href));
            }
            let good = matches!(
                value.status.to_lowercase().as_str(),
                "current" | "supported" | "stable"
            );
            if good && highest.as_ref().is_none_or(|(_, p, _)| priority > *p) {
                highest = Some((version, priority, href.clone()));
            }
        }
    }
    match highest {
        None => Err(format!(
            "no supported version available from endpoint {base}"
        )),
        Some((version, _, href)) if href.is_empty() => {
            let id = RECOGNIZED
                .iter()
                .find(|(v, ..)| *v == version)
                .map_or("", |(_, id, ..)| id);
            Err(format!(
                "endpoint missing in version {id} response from {base}"
            ))
        }
        Some((version, _, href)) => Ok((version, href)),
    }
}

/// gophercloud's `V3EndpointURL`: the first endpoint of the first catalog entry of
/// `service_type` with the interface and region asked for, normalized.
pub fn endpoint_url(
    catalog: &[CatalogEntry],
    service_type: &str,
    availability: &str,
    region: &str,
) -> Result<String, String> {
    catalog
        .iter()
        .filter(|e| e.service_type == service_type)
        .flat_map(|e| &e.endpoints)
        .find(|ep| {
            ep.interface == availability
                && (region.is_empty() || ep.region == region || ep.region_id == region)
        })
        .map(|ep| normalize(&ep.url))
        .ok_or_else(|| "No suitable endpoint could be found in the service catalog.".into())
}
