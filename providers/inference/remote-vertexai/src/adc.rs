//! Google access tokens from Application Default Credentials: a service-account key (an RS256
//! JWT assertion exchanged at its `token_uri`), an authorized-user file (its refresh token
//! exchanged there) or the GCE metadata server; cached, renewed before they expire, one
//! exchange at a time, and renewed once when Vertex AI refuses a token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use lls_api_common::{Error, ErrorKind, Result, Secret};
use lls_openai_compat::TokenSource;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::Value;

/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The grant type a service account's signed assertion is exchanged with (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint, for credentials files that name none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The metadata server of GCE, GKE and Cloud Run.
pub const DEFAULT_METADATA_URL: &str = "http://metadata.google.internal";
/// Where the metadata server hands out the attached service account's tokens.
pub const METADATA_TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
/// How long a signed assertion is valid (Google accepts at most an hour).
const ASSERTION_LIFETIME_S: u64 = 3600;
/// The lifetime assumed for a token answered without `expires_in` (Google's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Bound on one token exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where tokens come from.
pub(crate) enum Credentials {
    /// A service-account key file.
    ServiceAccount { client_email: String, token_uri: String, key_id: Option<String>, key: Arc<RsaKeyPair>, file: PathBuf },
    /// `gcloud auth application-default login`'s file: a user's refresh token.
    AuthorizedUser { client_id: String, client_secret: Secret, refresh_token: Secret, token_uri: String, file: PathBuf },
    /// The metadata server's token endpoint (full URL).
    Metadata { token_url: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Credentials {
    /// What the credentials are, for messages (no secrets).
    pub(crate) fn describe(&self) -> String {
        match self {
            Credentials::ServiceAccount { client_email, file, .. } => format!("service account {client_email} (key file {})", file.display()),
            Credentials::AuthorizedUser { file, .. } => format!("authorized user credentials ({})", file.display()),
            Credentials::Metadata { token_url } => format!("the metadata server's service account ({token_url})"),
        }
    }

    /// Application Default Credentials, in Google's order: `configured` (run.yaml's
    /// `credentials_path`), `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
    /// `application_default_credentials.json`, else the metadata server (`metadata_url`, else
    /// `GCE_METADATA_HOST`, else `metadata.google.internal`). `env` reads the environment.
    pub(crate) fn discover(configured: Option<&str>, metadata_url: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials> {
        if let Some(path) = configured {
            return Credentials::load(Path::new(path)).map_err(|e| prefixed("config.credentials_path", e));
        }
        if let Some(path) = env("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty()) {
            return Credentials::load(Path::new(&path)).map_err(|e| prefixed("GOOGLE_APPLICATION_CREDENTIALS", e));
        }
        let gcloud_dir = env("CLOUDSDK_CONFIG")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").filter(|h| !h.is_empty()).map(|h| Path::new(&h).join(".config").join("gcloud")));
        if let Some(file) = gcloud_dir.map(|d| d.join("application_default_credentials.json"))
            && file.is_file()
        {
            return Credentials::load(&file);
        }
        let root = match metadata_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => match env("GCE_METADATA_HOST").filter(|h| !h.is_empty()) {
                Some(host) => format!("http://{host}"),
                None => DEFAULT_METADATA_URL.to_owned(),
            },
        };
        Ok(Credentials::Metadata { token_url: format!("{root}{METADATA_TOKEN_PATH}") })
    }

    /// Reads a credentials JSON file: `service_account` or `authorized_user`.
    pub(crate) fn load(path: &Path) -> Result<Credentials> {
        let shown = path.display();
        let text = std::fs::read(path).map_err(|e| Error::invalid(format!("cannot read the credentials file {shown}: {e}")))?;
        let value: Value = serde_json::from_slice(&text).map_err(|e| Error::invalid(format!("the credentials file {shown} is not JSON: {e}")))?;
        let field = |name: &str| value.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let required = |name: &str| field(name).ok_or_else(|| Error::invalid(format!("the credentials file {shown} lacks '{name}'")));
        let token_uri = field("token_uri").unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
        match field("type").as_deref() {
            Some("service_account") => {
                let key = parse_private_key(&required("private_key")?)
                    .map_err(|e| Error::invalid(format!("the credentials file {shown}: private_key: {e}")))?;
                Ok(Credentials::ServiceAccount {
                    client_email: required("client_email")?,
                    token_uri,
                    key_id: field("private_key_id"),
                    key: Arc::new(key),
                    file: path.to_owned(),
                })
            }
            Some("authorized_user") => Ok(Credentials::AuthorizedUser {
                client_id: required("client_id")?,
                client_secret: Secret::new(required("client_secret")?),
                refresh_token: Secret::new(required("refresh_token")?),
                token_uri,
                file: path.to_owned(),
            }),
            Some(other) => Err(Error::invalid(format!(
                "the credentials file {shown} is of type '{other}'; remote::vertexai reads service_account and authorized_user files (or uses the metadata server)"
            ))),
            None => Err(Error::invalid(format!("the credentials file {shown} has no 'type'"))),
        }
    }
}

fn prefixed(source: &str, e: Error) -> Error {
    Error::invalid(format!("{source}: {}", e.message())).with_param("credentials_path")
}

/// An RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what Google issues) or PKCS#1.
pub(crate) fn parse_private_key(pem: &str) -> std::result::Result<RsaKeyPair, String> {
    let (label, der) = pem_body(pem)?;
    let parsed = match label.as_str() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        other => return Err(format!("a PEM '{other}' block is not an RSA private key")),
    };
    parsed.map_err(|e| format!("not a usable RSA key: {e}"))
}

/// The label and the decoded bytes of the first PEM block.
fn pem_body(pem: &str) -> std::result::Result<(String, Vec<u8>), String> {
    let begin = pem.find("-----BEGIN ").ok_or("no PEM block")?;
    let rest = &pem[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or("a malformed PEM header")?;
    let label = rest[..label_end].to_owned();
    let body = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body.find(&end_marker).ok_or("no PEM end line")?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(b64).map_err(|e| format!("PEM body is not base64: {e}"))?;
    Ok((label, der))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The signed assertion a service account presents at its `token_uri`: RS256 over
/// `{iss, scope, aud, iat, exp}`, with the key's id in the header. `aud` is always Google's
/// token endpoint (as Google documents it and `google-auth` sends it), whatever URL the
/// assertion is posted to.
pub(crate) fn assertion(client_email: &str, key_id: Option<&str>, key: &RsaKeyPair, iat: u64) -> Result<String> {
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = key_id {
        header["kid"] = Value::String(kid.to_owned());
    }
    let claims = serde_json::json!({
        "iss": client_email,
        "scope": CLOUD_PLATFORM_SCOPE,
        "aud": DEFAULT_TOKEN_URI,
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME_S,
    });
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature)
        .map_err(|_| Error::internal("cannot sign the service account's JWT assertion"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[derive(Debug, Clone)]
struct Token {
    value: Secret,
    fetched: Instant,
    expires: Instant,
    lifetime: Duration,
}

impl Token {
    /// Good for a call: renewed a fifth of its lifetime (at most five minutes, at least a
    /// second) before it expires.
    fn fresh(&self, now: Instant) -> bool {
        let margin = (self.lifetime / 5).clamp(Duration::from_secs(1), Duration::from_secs(300));
        now + margin < self.expires
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// One provider's token cache over its credentials.
pub(crate) struct GoogleTokens {
    http: reqwest::Client,
    provider: Arc<str>,
    credentials: Credentials,
    cached: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for GoogleTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleTokens").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

impl GoogleTokens {
    pub(crate) fn new(provider: &str, credentials: Credentials, connect_timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("llama-stack-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect_timeout)
            .timeout(EXCHANGE_TIMEOUT)
            .build()
            .map_err(|e| Error::internal(format!("provider {provider}: cannot build the token client: {e}")))?;
        Ok(GoogleTokens { http, provider: Arc::from(provider), credentials, cached: tokio::sync::Mutex::new(None) })
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The cached token while fresh, else a new one; callers wait for one exchange together.
    pub(crate) async fn current(&self) -> Result<Secret> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.fresh(Instant::now())) {
            return Ok(t.value.clone());
        }
        let t = self.fetch().await?;
        let value = t.value.clone();
        *cached = Some(t);
        Ok(value)
    }

    /// After Vertex AI refused a token a call obtained before `started`: forgets it, unless a
    /// newer one was fetched meanwhile (another call renewed it already).
    pub(crate) async fn forget_older_than(&self, started: Instant) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|t| t.fetched <= started) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<Token> {
        let fetched = Instant::now();
        let (url, request) = match &self.credentials {
            Credentials::ServiceAccount { client_email, token_uri, key_id, key, .. } => {
                let jwt = assertion(client_email, key_id.as_deref(), key, unix_now())?;
                (token_uri.as_str(), self.http.post(token_uri).form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", jwt.as_str())]))
            }
            Credentials::AuthorizedUser { client_id, client_secret, refresh_token, token_uri, .. } => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose()),
                    ("refresh_token", refresh_token.expose()),
                ];
                (token_uri.as_str(), self.http.post(token_uri).form(&form))
            }
            Credentials::Metadata { token_url } => (
                token_url.as_str(),
                self.http.get(token_url).query(&[("scopes", CLOUD_PLATFORM_SCOPE)]).header("Metadata-Flavor", "Google"),
            ),
        };
        let provider = &*self.provider;
        tracing::debug!(provider, %url, "Google access token exchange");
        let response = request.send().await.map_err(|e| self.unreachable(url, e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| lls_openai_compat::error::from_transport(provider, url, e))?;
        if !(200..300).contains(&status) {
            return Err(self.refused(url, status, &body));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .ok()
            .filter(|a: &TokenAnswer| !a.access_token.is_empty())
            .ok_or_else(|| Error::new(ErrorKind::UpstreamError, format!("provider {provider}: {url} answered without an access_token")).with_provider(provider))?;
        let lifetime = answer.expires_in.map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        Ok(Token { value: Secret::new(answer.access_token), fetched, expires: fetched + lifetime, lifetime })
    }

    /// The token endpoint could not be reached; for the metadata server, that means no
    /// credentials were found at all, which the message says.
    fn unreachable(&self, url: &str, e: reqwest::Error) -> Error {
        let err = lls_openai_compat::error::from_transport(&self.provider, url, e);
        match &self.credentials {
            Credentials::Metadata { .. } => Error::new(
                err.kind(),
                format!(
                    "{} (no Google credentials: credentials_path and GOOGLE_APPLICATION_CREDENTIALS are unset, there is no gcloud application_default_credentials.json, and the metadata server did not answer)",
                    err.message()
                ),
            )
            .with_provider(self.provider.as_ref()),
            _ => err,
        }
    }

    /// The token endpoint's refusal (`{"error", "error_description"}`): the operator's
    /// credentials are wrong (502), or Google is unavailable (503).
    fn refused(&self, url: &str, status: u16, body: &[u8]) -> Error {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let (code, description) = match parsed.get("error") {
            Some(Value::Object(e)) => (text(e.get("status")), text(e.get("message"))),
            other => (text(other), text(parsed.get("error_description"))),
        };
        let said = match (code, description) {
            (Some(c), Some(d)) => format!("{c}: {d}"),
            (Some(c), None) => c,
            (None, Some(d)) => d,
            (None, None) => format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)])),
        };
        let kind = if status >= 500 || status == 429 { ErrorKind::UpstreamUnavailable } else { ErrorKind::UpstreamError };
        let provider = &*self.provider;
        Error::new(kind, format!("provider {provider}: {url} refused the access token request for {}: {said}", self.credentials.describe()))
            .with_provider(provider)
    }
}

#[async_trait]
impl TokenSource for GoogleTokens {
    async fn token(&self) -> Result<Secret> {
        self.current().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let now = Instant::now();
        let token = |lifetime: u64| Token {
            value: Secret::new("t"),
            fetched: now,
            expires: now + Duration::from_secs(lifetime),
            lifetime: Duration::from_secs(lifetime),
        };
        let hour = token(3600);
        assert!(hour.fresh(now + Duration::from_secs(3600 - 301)));
        assert!(!hour.fresh(now + Duration::from_secs(3600 - 300)));
        let short = token(3);
        assert!(short.fresh(now + Duration::from_millis(1500)));
        assert!(!short.fresh(now + Duration::from_secs(2)));
    }

    #[test]
    fn discovery_follows_google_order() {
        let dir = std::env::temp_dir().join(format!("lls-vertex-adc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let user = dir.join("application_default_credentials.json");
        std::fs::write(&user, r#"{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}"#).unwrap();
        let dir_text = dir.to_string_lossy().into_owned();
        let user_text = user.to_string_lossy().into_owned();

        let none = |_: &str| None;
        let found = Credentials::discover(None, None, &none).unwrap();
        assert!(matches!(&found, Credentials::Metadata { token_url } if token_url == "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"));
        let host = |k: &str| (k == "GCE_METADATA_HOST").then(|| "10.0.0.9:8080".to_owned());
        assert!(matches!(Credentials::discover(None, None, &host).unwrap(), Credentials::Metadata { token_url } if token_url.starts_with("http://10.0.0.9:8080/")));
        assert!(matches!(Credentials::discover(None, Some("http://m/"), &host).unwrap(), Credentials::Metadata { token_url } if token_url.starts_with("http://m/computeMetadata")));

        let gcloud = |k: &str| (k == "CLOUDSDK_CONFIG").then(|| dir_text.clone());
        let found = Credentials::discover(None, None, &gcloud).unwrap();
        assert!(matches!(&found, Credentials::AuthorizedUser { token_uri, .. } if token_uri == DEFAULT_TOKEN_URI), "{found:?}");

        let env_file = |k: &str| (k == "GOOGLE_APPLICATION_CREDENTIALS").then(|| "/no/such/key.json".to_owned());
        let e = Credentials::discover(None, None, &env_file).unwrap_err();
        assert!(e.message().starts_with("GOOGLE_APPLICATION_CREDENTIALS: cannot read"), "{e}");
        let e = Credentials::discover(Some("/no/such/file.json"), None, &|_| Some(user_text.clone())).unwrap_err();
        assert!(e.message().starts_with("config.credentials_path: cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unusable_files_are_named() {
        let dir = std::env::temp_dir().join(format!("lls-vertex-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text, says) in [
            ("a.json", "nope", "is not JSON"),
            ("b.json", r#"{"type": "external_account"}"#, "of type 'external_account'"),
            ("c.json", r#"{"type": "service_account", "client_email": "x@y"}"#, "lacks 'private_key'"),
            ("d.json", r#"{"type": "service_account", "client_email": "x@y", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#, "not a usable RSA key"),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let e = Credentials::load(&path).unwrap_err();
            assert!(e.message().contains(says), "{name}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pem_blocks() {
        assert_eq!(pem_body("x\n-----BEGIN THING-----\nAAEC\n-----END THING-----\n").unwrap(), ("THING".to_owned(), vec![0, 1, 2]));
        assert!(pem_body("-----BEGIN THING-----\nAAEC\n").is_err());
        assert!(parse_private_key("-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----").unwrap_err().contains("not an RSA private key"));
    }
}
