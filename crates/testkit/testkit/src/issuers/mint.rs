//! A token issuer for tests across a process boundary (the `lls-test-issuer` binary, the e2e
//! suite): one RS256 and one ES256 key, their JWKS, and routes to mint tokens and rotate keys.
//!
//! - `GET /jwks`: the published keys ([`JwksEndpoint`]).
//! - `POST /mint` `{"claims": {...}, "alg": "RS256"|"ES256", "kid"?, "unpublished"?}` →
//!   `{"token", "kid", "claims"}`. `iss`, `aud`, `iat` and `exp` (an hour ahead) are filled in
//!   when absent; an `exp` in the past makes an expired token. `unpublished: true` signs with a
//!   key of the same algorithm that the JWKS never lists; `kid` overrides the header's key id
//!   (with `unpublished`, a forgery naming a published key).
//! - `POST /rotate` → `{"kids": [...]}`: new keys replace the old ones in the JWKS, so tokens
//!   signed before fail once a server refetches the key set.

use super::{JwksEndpoint, SigningKey, now_secs};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The mint: keys, their JWKS, the defaults it puts in tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenMint {
    state: Arc<MintState>,
}

struct MintState {
    jwks: JwksEndpoint,
    issuer: String,
    audience: String,
    keys: Mutex<KeyPair>,
    /// Never published: what "a token signed by an unknown key" is signed with.
    strangers: KeyPair,
}

/// One key per algorithm, of one generation.
#[derive(Clone)]
struct KeyPair {
    generation: u32,
    rs256: SigningKey,
    es256: SigningKey,
}

impl KeyPair {
    fn generate(prefix: &str, generation: u32) -> anyhow::Result<KeyPair> {
        Ok(KeyPair {
            generation,
            rs256: SigningKey::rs256(&format!("{prefix}rs256-{generation}"))?,
            es256: SigningKey::es256(&format!("{prefix}es256-{generation}"))?,
        })
    }

    fn by_alg(&self, alg: &str) -> Option<&SigningKey> {
        match alg {
            "RS256" => Some(&self.rs256),
            "ES256" => Some(&self.es256),
            _ => None,
        }
    }
}

/// `POST /mint`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// `RS256` (default) or `ES256`.
    #[serde(default)]
    pub alg: Option<String>,
    /// The header's `kid`, instead of the signing key's own.
    #[serde(default)]
    pub kid: Option<String>,
    /// Sign with a key the JWKS does not list.
    #[serde(default)]
    pub unpublished: bool,
}

/// A minted token, as `POST /mint` answers it.
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    pub kid: String,
    pub claims: Value,
}

impl TokenMint {
    /// Generates the first keys (kids `rs256-1`, `es256-1`) and publishes them. Tokens carry
    /// `iss: issuer` and `aud: audience` unless the request gives its own.
    pub fn new(issuer: &str, audience: &str) -> anyhow::Result<TokenMint> {
        let keys = KeyPair::generate("", 1)?;
        let jwks = JwksEndpoint::default();
        jwks.publish(&[&keys.rs256, &keys.es256]);
        let state = MintState {
            jwks,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys: Mutex::new(keys),
            strangers: KeyPair::generate("unpublished-", 1)?,
        };
        Ok(TokenMint {
            state: Arc::new(state),
        })
    }

    /// `GET /jwks`, `POST /mint`, `POST /rotate`.
    pub fn router(&self) -> Router {
        let mint_routes = Router::new()
            .route("/mint", post(mint))
            .route("/rotate", post(rotate))
            .with_state(self.clone());
        self.state.jwks.router().merge(mint_routes)
    }

    /// The key ids the JWKS lists now.
    pub fn kids(&self) -> Vec<String> {
        let keys = self.state.keys.lock();
        vec![keys.rs256.kid().to_owned(), keys.es256.kid().to_owned()]
    }

    /// A token of `request.claims` with the defaults filled in.
    pub fn mint(&self, request: MintRequest) -> Result<Minted, String> {
        let alg = request.alg.as_deref().unwrap_or("RS256");
        let current = self.state.keys.lock().clone();
        let pair = if request.unpublished {
            &self.state.strangers
        } else {
            &current
        };
        let key = pair
            .by_alg(alg)
            .ok_or_else(|| format!("alg must be RS256 or ES256, not {alg:?}"))?;
        let mut claims = request.claims;
        let now = now_secs();
        claims
            .entry("iss")
            .or_insert_with(|| json!(self.state.issuer));
        claims
            .entry("aud")
            .or_insert_with(|| json!(self.state.audience));
        claims.entry("iat").or_insert_with(|| json!(now));
        claims.entry("exp").or_insert_with(|| json!(now + 3600));
        let claims = Value::Object(claims);
        let kid = request.kid.unwrap_or_else(|| key.kid().to_owned());
        Ok(Minted {
            token: key.sign_as(&kid, &claims),
            kid,
            claims,
        })
    }

    /// New keys of the next generation replace the published ones; returns their kids.
    pub fn rotate(&self) -> anyhow::Result<Vec<String>> {
        let generation = self.state.keys.lock().generation + 1;
        // Generated outside the lock: an RSA key takes a while.
        let next = KeyPair::generate("", generation)?;
        self.state.jwks.publish(&[&next.rs256, &next.es256]);
        *self.state.keys.lock() = next;
        Ok(self.kids())
    }
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {"message": message}})),
    )
        .into_response()
}

async fn mint(State(mint): State<TokenMint>, body: axum::body::Bytes) -> Response {
    let request: MintRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(&format!(
                "expected {{\"claims\": {{...}}, \"alg\": ...}}: {e}"
            ));
        }
    };
    match mint.mint(request) {
        Ok(m) => {
            axum::Json(json!({"token": m.token, "kid": m.kid, "claims": m.claims})).into_response()
        }
        Err(e) => bad_request(&e),
    }
}

async fn rotate(State(mint): State<TokenMint>) -> Response {
    match tokio::task::spawn_blocking(move || mint.rotate()).await {
        Ok(Ok(kids)) => axum::Json(json!({"kids": kids})).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::Jwk};

    async fn serve(mint: &TokenMint) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let router = mint.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}")
    }

    /// Checks `token` against the JWKS at `base`, as a server would: key by `kid`.
    async fn verify(http: &reqwest::Client, base: &str, token: &str) -> Result<Value, String> {
        let jwks: Value = http
            .get(format!("{base}/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = decode_header(token).unwrap();
        let kid = header.kid.unwrap();
        let raw = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .ok_or("unknown kid")?;
        let jwk: Jwk = serde_json::from_value(raw.clone()).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.leeway = 0;
        validation.set_audience(&["llama-stack"]);
        validation.set_issuer(&["http://issuer.test"]);
        decode::<Value>(token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }

    async fn post(http: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
        let r = http.post(url).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    #[tokio::test]
    async fn mints_verifiable_tokens_and_rotates() {
        let mint = TokenMint::new("http://issuer.test", "llama-stack").unwrap();
        let base = serve(&mint).await;
        let http = reqwest::Client::new();

        for alg in ["RS256", "ES256"] {
            let (status, minted) = post(
                &http,
                format!("{base}/mint"),
                json!({"claims": {"sub": "alice"}, "alg": alg}),
            )
            .await;
            assert_eq!(status, 200, "{minted}");
            let claims = verify(&http, &base, minted["token"].as_str().unwrap())
                .await
                .unwrap();
            assert_eq!(claims["sub"], "alice");
            assert_eq!(claims["iss"], "http://issuer.test");
            assert!(claims["exp"].as_i64().unwrap() > now_secs());
        }

        let (_, expired) = post(
            &http,
            format!("{base}/mint"),
            json!({"claims": {"sub": "a", "exp": now_secs() - 60}}),
        )
        .await;
        let e = verify(&http, &base, expired["token"].as_str().unwrap())
            .await
            .unwrap_err();
        assert!(e.contains("Expired"), "{e}");
        let (_, stranger) = post(
            &http,
            format!("{base}/mint"),
            json!({"claims": {"sub": "a"}, "unpublished": true}),
        )
        .await;
        assert_eq!(
            verify(&http, &base, stranger["token"].as_str().unwrap())
                .await
                .unwrap_err(),
            "unknown kid"
        );
        let forged = json!({"claims": {"sub": "a"}, "unpublished": true, "kid": "rs256-1"});
        let (_, forged) = post(&http, format!("{base}/mint"), forged).await;
        assert!(
            verify(&http, &base, forged["token"].as_str().unwrap())
                .await
                .unwrap_err()
                .contains("InvalidSignature")
        );
        let (status, _) = post(&http, format!("{base}/mint"), json!({"alg": "HS256"})).await;
        assert_eq!(status, 400);

        let (_, old) = post(
            &http,
            format!("{base}/mint"),
            json!({"claims": {"sub": "a"}}),
        )
        .await;
        let (status, rotated) = post(&http, format!("{base}/rotate"), json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(rotated["kids"], json!(["rs256-2", "es256-2"]));
        assert_eq!(
            verify(&http, &base, old["token"].as_str().unwrap())
                .await
                .unwrap_err(),
            "unknown kid"
        );
        let (_, new) = post(
            &http,
            format!("{base}/mint"),
            json!({"claims": {"sub": "a"}, "alg": "ES256"}),
        )
        .await;
        assert_eq!(new["kid"], "es256-2");
        verify(&http, &base, new["token"].as_str().unwrap())
            .await
            .unwrap();
    }
}
