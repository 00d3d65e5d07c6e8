//! stackit-sdk-go's key flow: a JWT signed (RS512) with the service account's private key,
//! exchanged at the token endpoint (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`)
//! for an access token, sent as `Authorization: Bearer`.

use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA512};
use serde::Deserialize;
use serde_json::json;

use crate::common::jwt::pem_block;
use crate::discovery::kit::{ApiClient, ApiError};

/// stackit-sdk-go's default token endpoint.
pub const TOKEN_URL: &str = "https://service-account.api.stackit.cloud/token";
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyCredentials {
    pub aud: String,
    pub iss: String,
    pub kid: String,
    pub sub: String,
    pub private_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceAccountKey {
    pub credentials: KeyCredentials,
}

pub struct KeyFlow {
    key: ServiceAccountKey,
    rsa: RsaKeyPair,
}

impl KeyFlow {
    /// The service account key (JSON) and the private key (PEM; else the key's own).
    pub fn new(key_json: &str, private_key: &str) -> Result<KeyFlow, String> {
        let key: ServiceAccountKey = serde_json::from_str(key_json)
            .map_err(|e| format!("unmarshalling service account key: {e}"))?;
        let pem = if private_key.is_empty() {
            key.credentials.private_key.clone().unwrap_or_default()
        } else {
            private_key.to_owned()
        };
        if pem.is_empty() {
            return Err("private key is not set".into());
        }
        let (label, der) = pem_block(&pem).ok_or("parsing private key: invalid PEM")?;
        let rsa = if label == "RSA PRIVATE KEY" {
            RsaKeyPair::from_der(&der)
        } else {
            RsaKeyPair::from_pkcs8(&der)
        }
        .map_err(|e| format!("parsing private key: {e}"))?;
        Ok(KeyFlow { key, rsa })
    }

    /// The self-signed JWT: header `alg` RS512, `kid`, `typ`; claims `aud`, `exp` (10 minutes),
    /// `iat`, `iss`, `jti`, `sub`.
    pub fn assertion(&self) -> Result<String, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let c = &self.key.credentials;
        let jti = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            fastrand::u32(..),
            fastrand::u16(..),
            fastrand::u16(..0x1000),
            0x8000 | fastrand::u16(..0x4000),
            fastrand::u64(..1 << 48)
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = json!({"alg": "RS512", "kid": c.kid, "typ": "JWT"});
        let claims = json!({"aud": c.aud, "exp": now + 600, "iat": now, "iss": c.iss, "jti": jti, "sub": c.sub});
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let mut sig = vec![0; self.rsa.public().modulus_len()];
        self.rsa
            .sign(
                &RSA_PKCS1_SHA512,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|e| format!("signing JWT: {e}"))?;
        Ok(format!("{input}.{}", b64.encode(sig)))
    }

    /// A new access token.
    pub async fn token(&self, client: &ApiClient) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            access_token: String,
        }
        let assertion = self.assertion()?;
        let answer: Answer = client
            .post(TOKEN_URL)
            .form(&[("grant_type", GRANT), ("assertion", assertion.as_str())])
            .fetch_json()
            .await
            .map_err(|e| ApiError::Other(format!("requesting access token: {e}")))?;
        Ok(answer.access_token)
    }
}
