//! `remote::vertexai` config: 0.3.5's `project` and `location`, plus where credentials and
//! endpoints come from (for private endpoints and tests); checked without I/O.

use lls_api_common::call::CallPolicy;
use lls_api_common::{Error, ProviderConfig, Result};
use lls_openai_compat::HttpTimeouts;
use serde::{Deserialize, Serialize};

/// Where Vertex AI runs unless `location` says otherwise (0.3.5's default).
pub const DEFAULT_LOCATION: &str = "us-central1";

/// run.yaml `config:` of a `remote::vertexai` provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VertexAiConfig {
    /// The Google Cloud project whose Vertex AI is called. Required; a request's
    /// `vertex_project` provider data overrides it. A project number works too.
    #[serde(default, deserialize_with = "text_or_number")]
    pub project: String,
    /// The Vertex AI region (`us-central1`, `europe-west4`, ...) or `global`; a request's
    /// `vertex_location` provider data overrides it.
    #[serde(default = "default_location")]
    pub location: String,
    /// A credentials JSON file (a service-account key, or `gcloud auth application-default
    /// login`'s authorized-user file). Unset: Application Default Credentials —
    /// `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's file, then the metadata server.
    #[serde(default)]
    pub credentials_path: Option<String>,
    /// The Vertex AI service root; unset: `https://{location}-aiplatform.googleapis.com`
    /// (`https://aiplatform.googleapis.com` for `global`). For private endpoints and tests.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The GCE metadata server; unset: `http://$GCE_METADATA_HOST`, else
    /// `http://metadata.google.internal`. Used when no credentials file is found.
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// When set, only these models are listed and callable (enforced by the call layers).
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Accepted as every OpenAI-like provider's; the model list is fixed, so nothing changes.
    #[serde(default)]
    pub refresh_models: bool,
    /// `connect_timeout`, `read_timeout` and `timeout`, in seconds.
    #[serde(flatten)]
    pub http: HttpTimeouts,
}

/// A string; a number (env coercion turns a project number into one) as its digits; null as
/// empty (`${env.VERTEX_AI_PROJECT:=}` unset).
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Text(t)) => t,
        Some(Raw::Number(n)) => n.to_string(),
        None => String::new(),
    })
}

fn default_location() -> String {
    DEFAULT_LOCATION.to_owned()
}

impl VertexAiConfig {
    /// A config for `project` in `location`, everything else defaulted.
    pub fn new(project: impl Into<String>, location: impl Into<String>) -> Self {
        VertexAiConfig {
            project: project.into(),
            location: location.into(),
            credentials_path: None,
            base_url: None,
            metadata_url: None,
            allowed_models: None,
            refresh_models: false,
            http: HttpTimeouts::default(),
        }
    }
}

/// A project id as Google spells them: lowercase letters, digits and hyphens, with the
/// domain-scoped form (`example.com:my-project`) of older projects.
pub(crate) fn check_project(project: &str) -> std::result::Result<(), String> {
    let ok = !project.is_empty()
        && project.len() <= 128
        && project.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':'));
    if ok { Ok(()) } else { Err(format!("'{project}' is not a Google Cloud project id")) }
}

/// A location: a region name (it becomes part of the host name) or `global`.
pub(crate) fn check_location(location: &str) -> std::result::Result<(), String> {
    let ok = !location.is_empty()
        && location.len() <= 63
        && location.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !location.starts_with('-')
        && !location.ends_with('-');
    if ok { Ok(()) } else { Err(format!("'{location}' is not a Vertex AI location such as us-central1 or global")) }
}

fn check_url(key: &str, url: &str) -> Result<()> {
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(['?', '#']) {
        return Err(Error::invalid(format!("config.{key}: '{url}' must be an http(s) URL without query or fragment")).with_param(key));
    }
    Ok(())
}

impl ProviderConfig for VertexAiConfig {
    fn validate(&self) -> Result<()> {
        if self.project.is_empty() {
            return Err(Error::invalid(
                "config.project: a Vertex AI provider needs the Google Cloud project (e.g. set VERTEX_AI_PROJECT=my-project)",
            )
            .with_param("project"));
        }
        check_project(&self.project).map_err(|e| Error::invalid(format!("config.project: {e}")).with_param("project"))?;
        check_location(&self.location).map_err(|e| Error::invalid(format!("config.location: {e}")).with_param("location"))?;
        if let Some(path) = &self.credentials_path
            && path.is_empty()
        {
            return Err(Error::invalid("config.credentials_path: must name a file when set").with_param("credentials_path"));
        }
        for (key, url) in [("base_url", &self.base_url), ("metadata_url", &self.metadata_url)] {
            if let Some(url) = url {
                check_url(key, url)?;
            }
        }
        self.http.validate()
    }

    fn policy(&self) -> CallPolicy {
        CallPolicy { allowed_models: self.allowed_models.clone(), timeout: self.http.call_timeout(), retries: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{check_config, parse_config};
    use serde_json::json;

    #[test]
    fn defaults_as_upstream() {
        let c: VertexAiConfig = parse_config(&json!({"project": "my-project"})).unwrap();
        assert_eq!((c.location.as_str(), c.credentials_path, c.base_url), ("us-central1", None, None));
        let shown = check_config::<VertexAiConfig>(&json!({"project": "p-1", "location": "global"})).unwrap();
        assert_eq!(shown["location"], "global");
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            json!({}),
            json!({"project": ""}),
            json!({"project": "My Project"}),
            json!({"project": "p", "location": "us-central1.evil.com"}),
            json!({"project": "p", "location": "-x"}),
            json!({"project": "p", "credentials_path": ""}),
            json!({"project": "p", "base_url": "aiplatform.googleapis.com"}),
            json!({"project": "p", "metadata_url": "http://m?x=1"}),
            json!({"project": "p", "api_key": "k"}),
            json!({"project": "p", "timeout": 0}),
        ] {
            assert!(parse_config::<VertexAiConfig>(&bad).is_err(), "{bad}");
        }
        let e = parse_config::<VertexAiConfig>(&json!({"project": ""})).unwrap_err();
        assert!(e.message().contains("VERTEX_AI_PROJECT"), "{e}");
        assert!(parse_config::<VertexAiConfig>(&json!({"project": "example.com:my-project"})).is_ok());
        let numbered: VertexAiConfig = parse_config(&json!({"project": 123456789012_u64})).unwrap();
        assert_eq!(numbered.project, "123456789012");
    }

    #[test]
    fn timeouts_and_allowed_models_feed_the_call_policy() {
        let c: VertexAiConfig = parse_config(&json!({"project": "p", "timeout": 9, "allowed_models": ["google/gemini-2.5-pro"]})).unwrap();
        let policy = c.policy();
        assert_eq!(policy.timeout, Some(std::time::Duration::from_secs(9)));
        assert_eq!(policy.allowed_models, Some(vec!["google/gemini-2.5-pro".to_owned()]));
    }
}
