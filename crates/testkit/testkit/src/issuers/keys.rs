//! Signing keys made fresh for each test: RSA 2048 (RS256) with `rsa`, P-256 (ES256) with
//! `ring`; each signs JWTs with `jsonwebtoken` and publishes itself as a JWK.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// A private key with its key id; what an issuer signs tokens with.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new RSA 2048 key for RS256.
    pub fn rs256(kid: &str) -> anyhow::Result<SigningKey> {
        let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)?;
        let der = private.to_pkcs1_der()?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let jwk = json!({
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        Ok(SigningKey {
            kid: kid.to_owned(),
            alg: Algorithm::RS256,
            encoding,
            jwk,
        })
    }

    /// A new P-256 key for ES256.
    pub fn es256(kid: &str) -> anyhow::Result<SigningKey> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| anyhow::anyhow!("P-256 key generation: {e}"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|e| anyhow::anyhow!("P-256 key: {e}"))?;
        // An uncompressed point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        anyhow::ensure!(
            point.len() == 65,
            "unexpected P-256 public key length {}",
            point.len()
        );
        let jwk = json!({
            "kty": "EC",
            "kid": kid,
            "use": "sig",
            "alg": "ES256",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        });
        let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
        Ok(SigningKey {
            kid: kid.to_owned(),
            alg: Algorithm::ES256,
            encoding,
            jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK, as a JWKS endpoint lists it.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// A JWT of these claims, its header naming this key's `kid` and algorithm.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// A JWT signed by this key whose header names another `kid` (a forgery, or a rotated key
    /// not yet published).
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        // Signing with a well-formed key of the right family does not fail; an empty token
        // would fail validation anyway.
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }
}
