//! RSA-signed JSON Web Tokens (RS256/RS384/RS512), signed with ring (the crypto backend rustls
//! already builds): the OAuth2 JWT-bearer grant of the HTTP client settings and the
//! mechanisms whose APIs authenticate with a self-signed JWT (GCE, STACKIT) share them.

use std::collections::BTreeMap;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};
use serde_json::Value;

/// An RSA signature algorithm of JWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsAlgorithm {
    Rs256,
    Rs384,
    Rs512,
}

impl RsAlgorithm {
    /// The algorithm named `name` (`RS256`, `RS384`, `RS512`); anything else is RS256, as
    /// prometheus/common picks it for the JWT-bearer grant.
    pub fn from_name_or_rs256(name: &str) -> RsAlgorithm {
        match name {
            "RS384" => RsAlgorithm::Rs384,
            "RS512" => RsAlgorithm::Rs512,
            _ => RsAlgorithm::Rs256,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RsAlgorithm::Rs256 => "RS256",
            RsAlgorithm::Rs384 => "RS384",
            RsAlgorithm::Rs512 => "RS512",
        }
    }
}

/// The first PEM block of `pem`: its label and its decoded bytes.
pub fn pem_block(pem: &str) -> Option<(String, Vec<u8>)> {
    let start = pem.find("-----BEGIN ")?;
    let rest = &pem[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let end = rest.find(&format!("-----END {label}-----"))?;
    let body: String = rest[label_end + 5..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
}

/// golang-jwt's `ParseRSAPrivateKeyFromPEM`: the first PEM block, PKCS#1 or PKCS#8, with its
/// messages.
pub fn rsa_key_from_pem(pem: &str) -> Result<RsaKeyPair, String> {
    let (_, der) = pem_block(pem)
        .ok_or_else(|| "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key".to_owned())?;
    RsaKeyPair::from_der(&der)
        .or_else(|_| RsaKeyPair::from_pkcs8(&der))
        .map_err(|_| "key is not a valid RSA private key".to_owned())
}

/// Serializes `header` and `claims` (keys in byte order, as Go's `encoding/json` writes a
/// map) and signs them: `base64url(header).base64url(claims).base64url(signature)`.
pub fn sign(
    algorithm: RsAlgorithm,
    key: &RsaKeyPair,
    header: &BTreeMap<&str, Value>,
    claims: &BTreeMap<String, Value>,
) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = serde_json::to_string(header).map_err(|e| e.to_string())?;
    let claims = serde_json::to_string(claims).map_err(|e| format!("JWT claims: {e}"))?;
    let input = format!("{}.{}", b64.encode(header), b64.encode(claims));
    let padding = match algorithm {
        RsAlgorithm::Rs256 => &RSA_PKCS1_SHA256,
        RsAlgorithm::Rs384 => &RSA_PKCS1_SHA384,
        RsAlgorithm::Rs512 => &RSA_PKCS1_SHA512,
    };
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        padding,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .map_err(|e| format!("signing the JWT: {e}"))?;
    Ok(format!("{input}.{}", b64.encode(signature)))
}

/// A random (version 4) UUID, as `github.com/google/uuid`'s `New().String()`: the `jti` of a
/// JWT.
pub fn uuid_v4() -> Result<String, String> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "no randomness for a JWT id".to_owned())?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]), "{u}");
        assert_ne!(u, uuid_v4().unwrap());
    }

    #[test]
    fn keys_that_are_not_pem_get_golang_jwts_message() {
        assert_eq!(
            rsa_key_from_pem("not a key").err().unwrap(),
            "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key"
        );
        assert_eq!(
            rsa_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .err()
                .unwrap(),
            "key is not a valid RSA private key"
        );
    }
}
