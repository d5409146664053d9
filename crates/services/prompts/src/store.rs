//! [`KvPrompts`]: prompts in the `prompts` namespace of the metadata kv backend, under 0.3.5's
//! keys (`prompts:v1:{id}:{version}` holds a version's JSON, `prompts:v1:{id}:default` its
//! default version's number), so either server reads the other's prompts. Nothing is cached:
//! every call reads the store, so replicas on one database see each other's writes at once.
//!
//! An update claims its new version with the store's atomic counter on a key of its own
//! (`prompts:claim:{id}:{version}`, outside 0.3.5's key range, expiring after a minute so a
//! writer that died between claim and write does not block the prompt for long): of several
//! concurrent updates after the same version, exactly one gets counter value 1 and writes.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use lls_api_common::store::KvStore;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_prompts::template::{ID_PREFIX, check_declared, check_prompt_id, check_version};
use lls_api_prompts::{
    CreatePromptRequest, ListPromptsResponse, Prompt, Prompts, UpdatePromptRequest,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// The kv namespace, on the backend of `storage.stores.metadata` (as 0.3.5).
pub const NAMESPACE: &str = "prompts";
/// Where 0.3.5's keys live inside the namespace.
const KEY_PREFIX: &str = "prompts:v1:";
const CLAIM_PREFIX: &str = "prompts:claim:";
/// How long a claimed version stays claimed when its writer never writes it.
const CLAIM_TTL_S: i64 = 60;
/// Above every key that starts with a given prefix (the stores compare keys bytewise).
const RANGE_END: char = '\u{10FFFF}';
/// How many prompts a listing reads at once.
const LIST_READS: usize = 8;

/// A version as stored: 0.3.5's JSON (its keys in its order). `is_default` is written as it
/// is when stored and recomputed from the default key on every read.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    prompt_id: String,
    prompt: Option<String>,
    version: i64,
    #[serde(default)]
    variables: Vec<String>,
    #[serde(default)]
    is_default: bool,
}

impl Stored {
    fn into_prompt(self, default: Option<i64>) -> Prompt {
        Prompt {
            is_default: default == Some(self.version),
            prompt: self.prompt,
            version: self.version,
            prompt_id: self.prompt_id,
            variables: self.variables,
        }
    }
}

fn version_key(id: &str, version: i64) -> String {
    format!("{KEY_PREFIX}{id}:{version}")
}

fn default_key(id: &str) -> String {
    format!("{KEY_PREFIX}{id}:default")
}

fn prompt_prefix(id: &str) -> String {
    format!("{KEY_PREFIX}{id}:")
}

fn range_end(prefix: &str) -> String {
    format!("{prefix}{RANGE_END}")
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("Prompt {id} not found"))
}

fn version_not_found(id: &str, version: i64) -> Error {
    Error::not_found(format!("Prompt {id} version {version} not found"))
}

/// A stored value that is not what this key should hold: the store was written by something
/// else.
fn unreadable(key: &str, what: &str) -> Error {
    Error::internal(format!(
        "the prompts store holds an unreadable {what} at '{key}'"
    ))
}

/// A new id: `pmpt_` and 24 random bytes in hex, as 0.3.5 makes them.
fn new_prompt_id() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    let mut id = String::with_capacity(ID_PREFIX.len() + 48);
    id.push_str(ID_PREFIX);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The prompts service over a kv store.
pub struct KvPrompts {
    kv: Arc<dyn KvStore>,
}

impl KvPrompts {
    /// Over the `prompts` namespace of a kv backend.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        KvPrompts { kv }
    }

    async fn default_version(&self, id: &str) -> Result<Option<i64>> {
        let key = default_key(id);
        match self.kv.get(&key).await? {
            None => Ok(None),
            Some(raw) => raw
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| unreadable(&key, "default version")),
        }
    }

    async fn stored(&self, id: &str, version: i64) -> Result<Option<Stored>> {
        let key = version_key(id, version);
        match self.kv.get(&key).await? {
            None => Ok(None),
            Some(raw) => serde_json::from_str(&raw)
                .map(Some)
                .map_err(|_| unreadable(&key, "prompt")),
        }
    }

    /// Every version of a prompt, oldest first, and its default, in one read of its keys (the
    /// default is the one value that is a bare number).
    async fn versions(&self, id: &str) -> Result<(Vec<Stored>, Option<i64>)> {
        let prefix = prompt_prefix(id);
        let values = self
            .kv
            .values_in_range(&prefix, &range_end(&prefix))
            .await?;
        let mut versions = Vec::new();
        let mut default = None;
        for raw in values {
            match serde_json::from_str::<serde_json::Value>(&raw) {
                Ok(serde_json::Value::Number(n)) => default = n.as_i64(),
                Ok(value) => match serde_json::from_value::<Stored>(value) {
                    Ok(stored) => versions.push(stored),
                    Err(e) => {
                        tracing::warn!(prompt_id = id, "skipping an unreadable prompt version: {e}")
                    }
                },
                Err(e) => {
                    tracing::warn!(prompt_id = id, "skipping an unreadable prompt value: {e}")
                }
            }
        }
        versions.sort_by_key(|v| v.version);
        Ok((versions, default))
    }

    async fn write(&self, stored: &Stored) -> Result<()> {
        let value = serde_json::to_value(stored)
            .map_err(|e| Error::internal(format!("cannot serialise a prompt: {e}")))?;
        self.kv
            .set(
                &version_key(&stored.prompt_id, stored.version),
                &lls_pycompat::json_dumps(&value),
                None,
            )
            .await
    }

    async fn set_default(&self, id: &str, version: i64) -> Result<()> {
        self.kv
            .set(&default_key(id), &version.to_string(), None)
            .await
    }

    /// Takes `version` of `id` for this writer, or says who has it.
    async fn claim(&self, id: &str, version: i64) -> Result<()> {
        let key = format!("{CLAIM_PREFIX}{id}:{version}");
        let expires = lls_api_common::unix_now() + CLAIM_TTL_S;
        let taken = self.kv.incr(&key, 1, Some(expires)).await? != 1
            || self.kv.get(&version_key(id, version)).await?.is_some();
        if taken {
            return Err(Error::conflict(format!(
                "Version {version} of prompt_id='{id}' was just written by another update; read the prompt again and update its latest version"
            )));
        }
        Ok(())
    }

    /// A prompt's default version, for listings: `None` when it vanished meanwhile.
    async fn default_prompt(&self, id: String) -> Result<Option<Prompt>> {
        let Some(default) = self.default_version(&id).await? else {
            return Ok(None);
        };
        Ok(self
            .stored(&id, default)
            .await?
            .map(|s| s.into_prompt(Some(default))))
    }
}

#[async_trait]
impl Prompts for KvPrompts {
    async fn list(&self, _ctx: &RequestContext) -> Result<ListPromptsResponse> {
        let keys = self
            .kv
            .keys_in_range(KEY_PREFIX, &range_end(KEY_PREFIX))
            .await?;
        let ids: Vec<String> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(KEY_PREFIX)?.strip_suffix(":default"))
            .map(str::to_owned)
            .collect();
        let mut data: Vec<Prompt> = futures::stream::iter(ids)
            .map(|id| self.default_prompt(id))
            .buffered(LIST_READS)
            .try_filter_map(|p| async move { Ok(p) })
            .try_collect()
            .await?;
        data.sort_by(|a, b| b.prompt_id.cmp(&a.prompt_id));
        Ok(ListPromptsResponse { data })
    }

    async fn list_versions(
        &self,
        _ctx: &RequestContext,
        prompt_id: &str,
    ) -> Result<ListPromptsResponse> {
        check_prompt_id(prompt_id)?;
        let (versions, default) = self.versions(prompt_id).await?;
        if versions.is_empty() {
            return Err(not_found(prompt_id));
        }
        Ok(ListPromptsResponse {
            data: versions
                .into_iter()
                .map(|s| s.into_prompt(default))
                .collect(),
        })
    }

    async fn get(
        &self,
        _ctx: &RequestContext,
        prompt_id: &str,
        version: Option<i64>,
    ) -> Result<Prompt> {
        check_prompt_id(prompt_id)?;
        let default = self.default_version(prompt_id).await?;
        let version = match version {
            Some(v) => {
                check_version(v)?;
                v
            }
            None => default.ok_or_else(|| not_found(prompt_id))?,
        };
        let stored = self
            .stored(prompt_id, version)
            .await?
            .ok_or_else(|| version_not_found(prompt_id, version))?;
        Ok(stored.into_prompt(default))
    }

    async fn create(&self, _ctx: &RequestContext, request: CreatePromptRequest) -> Result<Prompt> {
        let variables = request.variables.unwrap_or_default();
        check_declared(&request.prompt, &variables)?;
        let stored = Stored {
            prompt_id: new_prompt_id(),
            prompt: Some(request.prompt),
            version: 1,
            variables,
            is_default: true,
        };
        // The version before the default: listings find prompts by their default key.
        self.write(&stored).await?;
        self.set_default(&stored.prompt_id, 1).await?;
        Ok(stored.into_prompt(Some(1)))
    }

    async fn update(
        &self,
        _ctx: &RequestContext,
        prompt_id: &str,
        request: UpdatePromptRequest,
    ) -> Result<Prompt> {
        check_prompt_id(prompt_id)?;
        check_version(request.version)?;
        let variables = request.variables.unwrap_or_default();
        check_declared(&request.prompt, &variables)?;
        let (versions, _) = self.versions(prompt_id).await?;
        let latest = versions
            .last()
            .map(|v| v.version)
            .ok_or_else(|| not_found(prompt_id))?;
        if request.version != latest {
            return Err(Error::conflict(format!(
                "'{}' is not the latest prompt version for prompt_id='{prompt_id}'. Use the latest version '{latest}' in request.",
                request.version
            ))
            .with_param("version"));
        }
        let version = latest + 1;
        self.claim(prompt_id, version).await?;
        let stored = Stored {
            prompt_id: prompt_id.to_owned(),
            prompt: Some(request.prompt),
            version,
            variables,
            is_default: request.set_as_default,
        };
        self.write(&stored).await?;
        if request.set_as_default {
            self.set_default(prompt_id, version).await?;
            return Ok(stored.into_prompt(Some(version)));
        }
        let default = self.default_version(prompt_id).await?;
        Ok(stored.into_prompt(default))
    }

    async fn delete(&self, _ctx: &RequestContext, prompt_id: &str) -> Result<()> {
        check_prompt_id(prompt_id)?;
        let prefix = prompt_prefix(prompt_id);
        let keys = self.kv.keys_in_range(&prefix, &range_end(&prefix)).await?;
        if keys.is_empty() {
            return Err(not_found(prompt_id));
        }
        // The default first: the prompt leaves listings before its versions go.
        let default = default_key(prompt_id);
        self.kv.delete(&default).await?;
        for key in keys.iter().filter(|k| **k != default) {
            self.kv.delete(key).await?;
        }
        Ok(())
    }

    async fn set_default_version(
        &self,
        _ctx: &RequestContext,
        prompt_id: &str,
        version: i64,
    ) -> Result<Prompt> {
        check_prompt_id(prompt_id)?;
        check_version(version)?;
        let stored = self
            .stored(prompt_id, version)
            .await?
            .ok_or_else(|| version_not_found(prompt_id, version))?;
        self.set_default(prompt_id, version).await?;
        Ok(stored.into_prompt(Some(version)))
    }
}
