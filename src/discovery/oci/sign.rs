//! Oracle's HTTP request signature (the Go SDK's `ociRequestSigner`, draft-cavage-08): the
//! signing string is `date: <Date>\n(request-target): <method> <path?query>\nhost: <host>`
//! (plus `content-length`, `content-type` and `x-content-sha256` for POST and PUT), signed
//! with RSA PKCS#1 v1.5 over SHA-256 and sent as
//! `Authorization: Signature version="1",headers="...",keyId="<tenancy>/<user>/<fingerprint>",algorithm="rsa-sha256",signature="<base64>"`.

use base64::Engine as _;
use futures::future::BoxFuture;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

use crate::discovery::kit::{SignRequest, Signer};

/// Signs requests with one API key.
pub struct OciSigner {
    key_id: String,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl OciSigner {
    /// `keyId` is `<tenancy>/<user>/<fingerprint>`.
    pub fn new(tenancy: &str, user: &str, fingerprint: &str, key: RsaKeyPair) -> Self {
        OciSigner {
            key_id: format!("{tenancy}/{user}/{fingerprint}"),
            key,
            rng: SystemRandom::new(),
        }
    }

    /// Adds `Date` (when missing), the body headers for POST/PUT, and `Authorization`.
    pub fn sign_now(
        &self,
        request: &mut SignRequest,
        now: time::OffsetDateTime,
    ) -> Result<(), String> {
        let headers = &mut request.headers;
        if !headers.contains_key("date") {
            headers.insert(
                "date",
                HeaderValue::from_str(&http_date(now)).map_err(|e| e.to_string())?,
            );
        }
        let with_body = request.method == Method::POST || request.method == Method::PUT;
        let mut names = vec!["date", "(request-target)", "host"];
        if with_body {
            headers.insert(
                "x-content-sha256",
                HeaderValue::from_str(&sha256_base64(&request.body)).map_err(|e| e.to_string())?,
            );
            headers.insert("content-length", HeaderValue::from(request.body.len()));
            names.extend(["content-length", "content-type", "x-content-sha256"]);
        }
        let signing = signing_string(request, &names);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "can not compute signature while signing the request".to_owned())?;
        let value = format!(
            "Signature version=\"1\",headers=\"{}\",keyId=\"{}\",algorithm=\"rsa-sha256\",signature=\"{}\"",
            names.join(" "),
            self.key_id,
            base64::engine::general_purpose::STANDARD.encode(signature)
        );
        let mut value = HeaderValue::from_str(&value).map_err(|e| e.to_string())?;
        value.set_sensitive(true);
        request.headers.insert(AUTHORIZATION, value);
        Ok(())
    }
}

impl Signer for OciSigner {
    fn sign<'a>(&'a self, request: &'a mut SignRequest) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.sign_now(request, time::OffsetDateTime::now_utc()) })
    }
}

/// The string signed: `name: value` lines joined by `\n`.
pub fn signing_string(request: &SignRequest, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            let value = match *name {
                "(request-target)" => {
                    let mut target = format!(
                        "{} {}",
                        request.method.as_str().to_lowercase(),
                        request.url.path()
                    );
                    if let Some(q) = request.url.query() {
                        target.push('?');
                        target.push_str(q);
                    }
                    target
                }
                // Go's `URL.Host`: the host, with the port only when the URL names one.
                "host" => match (request.url.host_str(), request.url.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    _ => String::new(),
                },
                other => request
                    .headers
                    .get(other)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned(),
            };
            format!("{name}: {value}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's `http.TimeFormat`: `Mon, 02 Jan 2006 15:04:05 GMT`.
pub fn http_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Base64 of the body's SHA-256 (`x-content-sha256`).
fn sha256_base64(body: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// The API key: an RSA private key in PEM, PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
/// (`PRIVATE KEY`). Encrypted keys are refused (see the module's "Where promsd differs").
pub fn parse_key(pem: &str) -> Result<RsaKeyPair, String> {
    let start = pem
        .find("-----BEGIN ")
        .ok_or("private key is not a PEM block")?;
    let rest = &pem[start + 11..];
    let label_end = rest.find("-----").ok_or("private key is not a PEM block")?;
    let label = &rest[..label_end];
    let end = rest
        .find(&format!("-----END {label}-----"))
        .ok_or("private key PEM block has no end")?;
    let body = &rest[label_end + 5..end];
    if label == "ENCRYPTED PRIVATE KEY" || body.contains("Proc-Type:") {
        return Err("encrypted private keys are not supported by promsd".into());
    }
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("private key PEM does not decode: {e}"))?;
    let key = match label {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        other => return Err(format!("unsupported private key type {other:?}")),
    };
    key.map_err(|e| format!("private key is invalid: {e}"))
}
