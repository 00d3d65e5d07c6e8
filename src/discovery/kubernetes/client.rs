//! How promsd reaches a Kubernetes API server, and the thread its watches run on.
//!
//! As in Prometheus, a config names the server one of three ways: `api_server` with the inline
//! HTTP settings, `kubeconfig_file` (its current context), or neither: the in-cluster service
//! account (`KUBERNETES_SERVICE_HOST`/`PORT`, the token and CA under
//! `/var/run/secrets/kubernetes.io/serviceaccount/`), used only when running in a cluster.
//!
//! Every watch runs on one runtime thread of its own (`promsd-kubernetes`): decoding lists of
//! thousands of objects and building their groups never runs on the engine's threads.

use std::path::PathBuf;
use std::sync::LazyLock;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Serialize;

use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;

/// Where the service account's namespace is, in a pod.
pub const OWN_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The part of a config that says how to reach the API server. Equal specs share watches.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientSpec {
    pub api_server: Option<String>,
    pub kubeconfig_file: Option<PathBuf>,
    pub http: HttpClientConfig,
}

impl ClientSpec {
    /// A canonical form including secret values, to key shared watches. Never print it.
    pub fn identity(&self) -> String {
        identity_of(self)
    }

    /// Whether this spec means the in-cluster service account.
    pub fn in_cluster(&self) -> bool {
        self.api_server.is_none() && self.kubeconfig_file.is_none()
    }

    /// Checks what can be checked without I/O: in-cluster credentials need the service
    /// environment (as client-go's `InClusterConfig`).
    pub fn precheck(&self) -> Result<(), String> {
        if self.in_cluster()
            && (std::env::var_os("KUBERNETES_SERVICE_HOST").is_none()
                || std::env::var_os("KUBERNETES_SERVICE_PORT").is_none())
        {
            return Err("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".into());
        }
        Ok(())
    }

    /// Builds a client (reads the kubeconfig, token and certificate files it names).
    pub async fn client(&self) -> Result<kube::Client, String> {
        let config = self.config().await?;
        kube::Client::try_from(config).map_err(|e| format!("creating Kubernetes client: {e}"))
    }

    async fn config(&self) -> Result<kube::Config, String> {
        if let Some(path) = &self.kubeconfig_file {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| format!("reading kubeconfig {}: {e}", path.display()))?;
            return kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| format!("loading kubeconfig {}: {e}", path.display()));
        }
        let Some(url) = &self.api_server else {
            return kube::Config::incluster()
                .map_err(|e| format!("unable to load in-cluster configuration: {e}"));
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid api_server URL {url:?}: {e}"))?;
        if uri.scheme().is_none() || uri.host().is_none() {
            return Err(format!(
                "invalid api_server URL {url:?}: expected scheme://host[:port]"
            ));
        }
        let mut config = kube::Config::new(uri);
        apply_http_settings(&mut config, &self.http)?;
        Ok(config)
    }
}

/// Applies the `<http_config>` settings the Kubernetes client supports; the others are an error
/// naming the key.
fn apply_http_settings(config: &mut kube::Config, http: &HttpClientConfig) -> Result<(), String> {
    let unsupported = |key: &str| {
        Err(format!(
            "{key} is not supported by promsd's Kubernetes SD yet"
        ))
    };
    if http.oauth2.is_some() {
        return unsupported("oauth2");
    }
    if !http.proxy.proxy_url.is_empty() || http.proxy.proxy_from_environment {
        return unsupported("proxy_url");
    }
    let tls = &http.tls_config;
    if !tls.ca_ref.is_empty() || !tls.cert_ref.is_empty() || !tls.key_ref.is_empty() {
        return unsupported("tls_config *_ref");
    }
    config.accept_invalid_certs = tls.insecure_skip_verify;
    if !tls.ca_file.is_empty() {
        let pem = std::fs::read(&tls.ca_file)
            .map_err(|e| format!("unable to load specified CA cert {}: {e}", tls.ca_file))?;
        config.root_cert = Some(pem_certificates(&pem, &tls.ca_file)?);
    } else if !tls.ca.is_empty() {
        config.root_cert = Some(pem_certificates(tls.ca.as_bytes(), "tls_config.ca")?);
    }
    if !tls.cert_file.is_empty() {
        config.auth_info.client_certificate = Some(tls.cert_file.clone());
    } else if !tls.cert.is_empty() {
        config.auth_info.client_certificate_data = Some(base64_encode(tls.cert.as_bytes()));
    }
    if !tls.key_file.is_empty() {
        config.auth_info.client_key = Some(tls.key_file.clone());
    } else if !tls.key.is_empty() {
        config.auth_info.client_key_data = Some(base64_encode(tls.key.expose().as_bytes()).into());
    }
    if !tls.server_name.is_empty() {
        config.tls_server_name = Some(tls.server_name.clone());
    }
    if let Some(basic) = &http.basic_auth {
        if !basic.username_ref.is_empty() || !basic.password_ref.is_empty() {
            return unsupported("basic_auth *_ref");
        }
        let username = if basic.username_file.is_empty() {
            basic.username.clone()
        } else {
            read_trimmed(&basic.username_file)?
        };
        let password = if basic.password_file.is_empty() {
            basic.password.expose().to_owned()
        } else {
            read_trimmed(&basic.password_file)?
        };
        config.auth_info.username = Some(username);
        config.auth_info.password = Some(password.into());
    }
    if let Some(auth) = &http.authorization {
        if !auth.credentials_ref.is_empty() {
            return unsupported("authorization.credentials_ref");
        }
        if auth.kind == "Bearer" {
            if auth.credentials_file.is_empty() {
                config.auth_info.token = Some(auth.credentials.expose().to_owned().into());
            } else {
                // Re-read by the client as the file changes, as Prometheus does.
                config.auth_info.token_file = Some(auth.credentials_file.clone());
            }
        } else {
            let credentials = if auth.credentials_file.is_empty() {
                auth.credentials.expose().to_owned()
            } else {
                read_trimmed(&auth.credentials_file)?
            };
            let value = http::HeaderValue::from_str(&format!("{} {credentials}", auth.kind))
                .map_err(|_| "authorization credentials are not a valid header value".to_owned())?;
            config.headers.push((http::header::AUTHORIZATION, value));
        }
    }
    for (name, header) in http.http_headers.iter().flatten() {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("http_headers: invalid header name {name:?}"))?;
        let mut values: Vec<String> = header.values.clone();
        values.extend(header.secrets.iter().map(|s| s.expose().to_owned()));
        for file in &header.files {
            values.push(read_trimmed(file)?);
        }
        for value in values {
            let value = http::HeaderValue::from_str(&value)
                .map_err(|_| format!("http_headers: invalid value for {name}"))?;
            config.headers.push((name.clone(), value));
        }
    }
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn read_trimmed(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("unable to read {path}: {e}"))
}

/// The DER certificates of a PEM bundle.
fn pem_certificates(pem: &[u8], path: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unable to use specified CA cert {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "unable to use specified CA cert {path}: no certificate"
        ));
    }
    Ok(certs)
}

/// The runtime every Kubernetes watch and role discoverer of the process runs on: one thread,
/// started on first use.
pub(crate) fn runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: LazyLock<tokio::runtime::Handle> = LazyLock::new(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("building the Kubernetes SD runtime");
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("promsd-kubernetes".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .expect("starting the Kubernetes SD thread");
        handle
    });
    &RUNTIME
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_cluster_needs_the_service_environment() {
        let spec = ClientSpec {
            api_server: None,
            kubeconfig_file: None,
            http: HttpClientConfig::default(),
        };
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
            assert!(spec
                .precheck()
                .unwrap_err()
                .contains("KUBERNETES_SERVICE_HOST"));
        }
    }
}
