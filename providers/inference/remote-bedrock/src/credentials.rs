//! Where a call's AWS keys come from, in the order boto3 (and so 0.3.5) looks: the caller's
//! provider data, the config, the `AWS_*` environment, then a profile of the shared credentials
//! file (re-read every `session_ttl`); and the region, likewise from config, environment or the
//! profile's `~/.aws/config`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lls_api_common::{Error, RequestContext, Result, Secret};
use lls_openai_compat::Credential;
use parking_lot::Mutex;

use crate::BedrockConfig;
use crate::config::DEFAULT_REGION;

/// The provider-data fields a caller's own keys come in.
pub const ACCESS_KEY_FIELD: &str = "aws_access_key_id";
pub const SECRET_KEY_FIELD: &str = "aws_secret_access_key";
pub const SESSION_TOKEN_FIELD: &str = "aws_session_token";

/// One set of AWS keys.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// Reads an environment variable; the process environment in production, a table in tests.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The process environment, empty values counting as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Debug)]
enum Source {
    /// From the config or the environment, fixed for the provider's life.
    Fixed(Keys),
    /// From a profile of the shared credentials file, kept for `ttl`.
    Profile { file: PathBuf, profile: String, ttl: Duration, cached: Mutex<Option<(Instant, Keys)>> },
    /// Nothing found: every call needs the caller's keys.
    Missing,
}

/// The operator's credentials of one provider.
#[derive(Debug)]
pub(crate) struct CredentialChain {
    source: Source,
    provider: String,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The `key = value` pairs of `[section]` in an INI file's text (AWS's shared files).
fn ini_section(text: &str, section: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            found |= inside;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    found.then_some(pairs)
}

fn lookup(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty())
}

/// The keys of `profile` in the shared credentials file's text.
pub(crate) fn profile_keys(text: &str, profile: &str) -> Option<Keys> {
    let pairs = ini_section(text, profile)?;
    Some(Keys {
        access_key_id: lookup(&pairs, "aws_access_key_id")?,
        secret_access_key: Secret::new(lookup(&pairs, "aws_secret_access_key")?),
        session_token: lookup(&pairs, "aws_session_token").map(Secret::new),
    })
}

/// The `region` of `profile` in the shared config file's text (`[default]` or `[profile x]`).
pub(crate) fn profile_region(text: &str, profile: &str) -> Option<String> {
    let section = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    lookup(&ini_section(text, &section).or_else(|| ini_section(text, profile))?, "region")
}

fn profile_name(config: &BedrockConfig, env: &EnvLookup) -> String {
    config.profile_name.clone().or_else(|| env("AWS_PROFILE")).unwrap_or_else(|| "default".to_owned())
}

/// The region: config, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, else `us-east-1`.
pub(crate) fn region(config: &BedrockConfig, env: &EnvLookup) -> String {
    if let Some(r) = config.region_name.clone().or_else(|| env("AWS_REGION")).or_else(|| env("AWS_DEFAULT_REGION")) {
        return r;
    }
    let file = env("AWS_CONFIG_FILE").map(PathBuf::from).or_else(|| home().map(|h| h.join(".aws/config")));
    file.and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|text| profile_region(&text, &profile_name(config, env)))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

impl CredentialChain {
    /// Resolves where the operator's keys come from (the file itself is read on first use).
    pub(crate) fn resolve(provider: &str, config: &BedrockConfig, env: &EnvLookup) -> Self {
        let source = if let (Some(id), Some(secret)) = (&config.aws_access_key_id, &config.aws_secret_access_key) {
            let token = config.aws_session_token.clone().or_else(|| env("AWS_SESSION_TOKEN").map(Secret::new));
            Source::Fixed(Keys { access_key_id: id.clone(), secret_access_key: secret.clone(), session_token: token })
        } else if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            let token = config.aws_session_token.clone().or_else(|| env("AWS_SESSION_TOKEN").map(Secret::new));
            Source::Fixed(Keys { access_key_id: id, secret_access_key: Secret::new(secret), session_token: token })
        } else {
            let file = env("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from).or_else(|| home().map(|h| h.join(".aws/credentials")));
            match file {
                Some(file) => Source::Profile {
                    file,
                    profile: profile_name(config, env),
                    ttl: Duration::from_secs(config.session_ttl),
                    cached: Mutex::new(None),
                },
                None => Source::Missing,
            }
        };
        CredentialChain { source, provider: provider.to_owned() }
    }

    fn missing(&self, why: &str) -> Error {
        Error::invalid(format!(
            "provider {} has no AWS credentials ({why}): set aws_access_key_id and aws_secret_access_key in its config \
             (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), a profile in the shared credentials file, or send \
             {{\"{ACCESS_KEY_FIELD}\": ..., \"{SECRET_KEY_FIELD}\": ...}} in X-LlamaStack-Provider-Data",
            self.provider
        ))
        .with_provider(self.provider.as_str())
    }

    /// The keys of one call: the caller's (provider data) over the operator's.
    pub(crate) fn keys(&self, ctx: &RequestContext) -> Result<(Keys, Credential)> {
        if let Some(id) = ctx.provider_data_str(ACCESS_KEY_FIELD) {
            let Some(secret) = ctx.provider_data_str(SECRET_KEY_FIELD) else {
                return Err(Error::invalid(format!(
                    "X-LlamaStack-Provider-Data has {ACCESS_KEY_FIELD} without {SECRET_KEY_FIELD}: send both"
                ))
                .with_param(SECRET_KEY_FIELD));
            };
            let keys = Keys {
                access_key_id: id.to_owned(),
                secret_access_key: Secret::new(secret),
                session_token: ctx.provider_data_str(SESSION_TOKEN_FIELD).map(Secret::new),
            };
            return Ok((keys, Credential::ProviderData));
        }
        match &self.source {
            Source::Fixed(keys) => Ok((keys.clone(), Credential::Config)),
            Source::Missing => Err(self.missing("no home directory for a shared credentials file")),
            Source::Profile { file, profile, ttl, cached } => {
                let mut cached = cached.lock();
                if let Some((at, keys)) = cached.as_ref()
                    && at.elapsed() < *ttl
                {
                    return Ok((keys.clone(), Credential::Config));
                }
                let text = std::fs::read_to_string(file).map_err(|e| self.missing(&format!("cannot read {}: {e}", file.display())))?;
                let keys = profile_keys(&text, profile)
                    .ok_or_else(|| self.missing(&format!("no keys for profile '{profile}' in {}", file.display())))?;
                *cached = Some((Instant::now(), keys.clone()));
                Ok((keys, Credential::Config))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CREDENTIALS: &str = "\
# a comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = default-secret

[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key=work-secret
aws_session_token = work-token
";

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + Send + Sync {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn profiles_and_regions_come_from_the_shared_files() {
        let k = profile_keys(CREDENTIALS, "work").unwrap();
        assert_eq!((k.access_key_id.as_str(), k.secret_access_key.expose()), ("AKIDWORK", "work-secret"));
        assert_eq!(k.session_token.as_ref().map(Secret::expose), Some("work-token"));
        assert!(profile_keys(CREDENTIALS, "default").unwrap().session_token.is_none());
        assert!(profile_keys(CREDENTIALS, "absent").is_none());
        let config = "[default]\nregion = eu-west-1\n[profile work]\nregion = ap-south-1\n";
        assert_eq!(profile_region(config, "default").as_deref(), Some("eu-west-1"));
        assert_eq!(profile_region(config, "work").as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn config_then_environment_then_profile() {
        let dir = std::env::temp_dir().join(format!("lls-bedrock-creds-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials");
        std::fs::write(&file, CREDENTIALS).unwrap();
        let ctx = RequestContext::default();
        let config = BedrockConfig {
            aws_access_key_id: Some("AKIDCONF".into()),
            aws_secret_access_key: Some(Secret::new("conf")),
            ..BedrockConfig::default()
        };
        let env = env_of(&[("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "env"), ("AWS_SESSION_TOKEN", "tok")]);
        let (k, from) = CredentialChain::resolve("b", &config, &env).keys(&ctx).unwrap();
        assert_eq!((k.access_key_id.as_str(), from), ("AKIDCONF", Credential::Config));
        let (k, _) = CredentialChain::resolve("b", &BedrockConfig::default(), &env).keys(&ctx).unwrap();
        assert_eq!((k.access_key_id.as_str(), k.session_token.as_ref().map(Secret::expose)), ("AKIDENV", Some("tok")));
        let path: &'static str = Box::leak(file.display().to_string().into_boxed_str());
        let profile_env = env_of(Box::leak(Box::new([("AWS_SHARED_CREDENTIALS_FILE", path), ("AWS_PROFILE", "work")])));
        let (k, _) = CredentialChain::resolve("b", &BedrockConfig::default(), &profile_env).keys(&ctx).unwrap();
        assert_eq!(k.access_key_id, "AKIDWORK");
        let named = BedrockConfig { profile_name: Some("nope".into()), ..BedrockConfig::default() };
        let e = CredentialChain::resolve("b", &named, &profile_env).keys(&ctx).unwrap_err();
        assert!(e.message().contains("no keys for profile 'nope'"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_callers_keys_win() {
        let chain = CredentialChain::resolve("b", &BedrockConfig::default(), &env_of(&[("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "S")]));
        let ctx = RequestContext::new(json!({"aws_access_key_id": "AKIDCALLER", "aws_secret_access_key": "x"}).as_object().unwrap().clone());
        let (k, from) = chain.keys(&ctx).unwrap();
        assert_eq!((k.access_key_id.as_str(), from), ("AKIDCALLER", Credential::ProviderData));
        let half = RequestContext::new(json!({"aws_access_key_id": "AKIDCALLER"}).as_object().unwrap().clone());
        assert!(chain.keys(&half).is_err());
    }

    #[test]
    fn regions_fall_back_to_us_east_1() {
        let none = env_of(&[("AWS_CONFIG_FILE", "/nonexistent/config")]);
        assert_eq!(region(&BedrockConfig::default(), &none), "us-east-1");
        assert_eq!(region(&BedrockConfig::default(), &env_of(&[("AWS_DEFAULT_REGION", "eu-west-3")])), "eu-west-3");
        let named = BedrockConfig { region_name: Some("ap-northeast-1".into()), ..BedrockConfig::default() };
        assert_eq!(region(&named, &env_of(&[("AWS_REGION", "eu-west-3")])), "ap-northeast-1");
    }
}
