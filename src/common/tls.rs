//! Turns Prometheus' `tls_config` into a rustls client configuration, the one place where TLS
//! settings take effect for every HTTP-based mechanism.
//!
//! As Go's `crypto/tls` does with Prometheus' settings:
//! - with `ca`/`ca_file` the server is verified against those CAs only; without, against the
//!   system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured, as Go does), or the Mozilla
//!   roots where the system has none;
//! - `server_name` is the name the certificate is verified against (and, where the URL's host
//!   is a name, rustls sends that host as SNI; see "Where promsd differs");
//! - `insecure_skip_verify` accepts any certificate;
//! - `cert`/`key` (inline or files) are the client certificate.
//!
//! # Where promsd differs
//! - rustls speaks TLS 1.2 and 1.3 only. `min_version: TLS10`/`TLS11` loads (with a warning
//!   naming the key) and negotiates 1.2 or later; `max_version: TLS10`/`TLS11` loads with a
//!   warning and every connection then fails with an error that says why.
//! - SNI follows the URL's host, not `server_name`; verification follows `server_name`.
//! - One crypto backend (ring) is named explicitly, so a second backend elsewhere in the tree
//!   can never make the process-wide default ambiguous.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::http_config::{TlsConfig, TlsVersion};

/// The crypto backend of every TLS client promsd builds.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_inline_or_file(inline: &str, file: &str, what: &str) -> Result<Option<Vec<u8>>, String> {
    if !file.is_empty() {
        return std::fs::read(file)
            .map(Some)
            .map_err(|e| format!("unable to read {what} file {file}: {e}"));
    }
    Ok((!inline.is_empty()).then(|| inline.as_bytes().to_vec()))
}

/// The roots a server is verified against: the configured CAs, else the system's.
fn roots(tls: &TlsConfig) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    if let Some(pem) = read_inline_or_file(&tls.ca, &tls.ca_file, "CA")? {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("unable to use specified CA cert: {e}"))?;
        if certs.is_empty() {
            return Err("unable to use specified CA cert: no certificate found".into());
        }
        for cert in certs {
            store
                .add(cert)
                .map_err(|e| format!("unable to use specified CA cert: {e}"))?;
        }
        return Ok(store);
    }
    store.add_parsable_certificates(system_roots());
    if store.is_empty() {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(store)
}

/// The system's roots (`SSL_CERT_FILE`, `SSL_CERT_DIR`, else the platform's store), read once.
fn system_roots() -> Vec<CertificateDer<'static>> {
    // Read anew when SSL_CERT_FILE/SSL_CERT_DIR change (tests set them per process anyway).
    rustls_native_certs::load_native_certs().certs
}

fn versions(tls: &TlsConfig) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |v: TlsVersion| match v {
        TlsVersion::Tls10 => 10,
        TlsVersion::Tls11 => 11,
        TlsVersion::Tls12 => 12,
        TlsVersion::Tls13 => 13,
    };
    let min = tls.min_version.map_or(12, rank);
    let max = tls.max_version.map_or(13, rank);
    if min < 12 {
        tracing::warn!(
            "tls_config.min_version {}: promsd's TLS (rustls) speaks TLS 1.2 and 1.3 only",
            tls.min_version.map_or("", |v| v.as_str())
        );
    }
    let mut out = Vec::new();
    if min <= 12 && max >= 12 {
        out.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        out.push(&rustls::version::TLS13);
    }
    if out.is_empty() {
        return Err(format!(
            "tls_config.max_version {}: promsd's TLS (rustls) speaks TLS 1.2 and 1.3 only, so no connection can be made",
            tls.max_version.map_or("", |v| v.as_str())
        ));
    }
    Ok(out)
}

/// A rustls client configuration for `tls`, offering HTTP/2 by ALPN when `http2`.
pub fn client_config(tls: &TlsConfig, http2: bool) -> Result<rustls::ClientConfig, String> {
    if let Some(error) = tls.secret_ref_error() {
        return Err(error);
    }
    let provider = provider();
    let versions = versions(tls)?;
    let roots = Arc::new(roots(tls)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| format!("unable to build the TLS verifier: {e}"))?;
    let server_name = if tls.server_name.is_empty() {
        None
    } else {
        Some(
            ServerName::try_from(tls.server_name.clone())
                .map_err(|e| format!("invalid tls_config.server_name: {e}"))?,
        )
    };
    let verifier = Arc::new(Verifier {
        webpki,
        server_name,
        insecure: tls.insecure_skip_verify,
        provider: provider.clone(),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("unable to configure TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let cert = read_inline_or_file(&tls.cert, &tls.cert_file, "client certificate")?;
    let key = read_inline_or_file(tls.key.expose(), &tls.key_file, "client key")?;
    let mut config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("unable to use specified client cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&key)
                .map_err(|e| format!("unable to use specified client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("unable to use specified client cert and key: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// WebPKI verification against `server_name` when configured (else the URL's host), or none
/// with `insecure_skip_verify`.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    server_name: Option<ServerName<'static>>,
    insecure: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        let name = self.server_name.as_ref().unwrap_or(server_name);
        self.webpki
            .verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.insecure {
            return Ok(HandshakeSignatureValid::assertion());
        }
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.insecure {
            return Ok(HandshakeSignatureValid::assertion());
        }
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
