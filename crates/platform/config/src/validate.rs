//! Checks a parsed [`RunConfig`] without I/O: names that must exist, references that must point at
//! the right kind of thing, and features this build does not have. Every problem is reported at once.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use lls_api_common::Api;
use lls_api_common::outbound::HostPattern;
use serde_json::Value;

use crate::error::ConfigErrors;
use crate::parse::{child, index};
use crate::resources::ModelType;
use crate::run_config::RunConfig;
use crate::server::{CorsPolicy, MAX_SECONDS, is_token};
use crate::storage::BackendFamily;

impl RunConfig {
    /// Every problem found, or `Ok` when the config can be built.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = ConfigErrors::new();
        self.check_apis(&mut errors);
        self.check_providers(&mut errors);
        self.check_storage(&mut errors);
        self.check_store_refs_in_configs(&mut errors);
        self.check_resources(&mut errors);
        self.check_server(&mut errors);
        self.check_vector_stores(&mut errors);
        self.check_external_dirs(&mut errors);
        self.check_unsupported_sections(&mut errors);
        errors.into_result(())
    }

    fn check_apis(&self, errors: &mut ConfigErrors) {
        for (i, name) in self.apis.iter().enumerate() {
            if name.parse::<Api>().is_err() {
                errors.push(
                    index("apis", i),
                    format!(
                        "unknown API `{name}`; APIs that take providers: {}",
                        provider_apis()
                    ),
                );
            }
        }
    }

    fn check_providers(&self, errors: &mut ConfigErrors) {
        for (api_name, entries) in &self.providers {
            let path = child("providers", api_name);
            match api_name.parse::<Api>() {
                Err(_) => errors.push(&path, format!("unknown API `{api_name}`; APIs that take providers: {}", provider_apis())),
                Ok(api) if !api.takes_providers() => errors.push(
                    &path,
                    format!("`{api}` is served by the stack itself and takes no providers; APIs that do: {}", provider_apis()),
                ),
                Ok(_) => {}
            }
            let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, entry) in entries.iter().enumerate() {
                let entry_path = index(&path, i);
                match first_seen.entry(&entry.provider_id) {
                    Entry::Occupied(first) => errors.push(
                        child(&entry_path, "provider_id"),
                        format!(
                            "duplicate provider_id `{}`: already used by {}",
                            entry.provider_id,
                            index(&path, *first.get())
                        ),
                    ),
                    Entry::Vacant(slot) => {
                        slot.insert(i);
                    }
                }
                if entry.provider_type.trim().is_empty() {
                    errors.push(child(&entry_path, "provider_type"), "must not be empty");
                }
                if entry.module.is_some() {
                    errors.push(
                        child(&entry_path, "module"),
                        "external provider modules are not supported: this build links its providers at compile time",
                    );
                }
            }
        }
    }

    fn check_storage(&self, errors: &mut ConfigErrors) {
        for (name, backend) in &self.storage.backends {
            if !backend.supported_by_this_build() {
                let family = match backend.family() {
                    BackendFamily::Kv => "kv_sqlite or kv_postgres",
                    BackendFamily::Sql => "sql_sqlite or sql_postgres",
                };
                errors.push(
                    format!("storage.backends.{name}.type"),
                    format!(
                        "{} is not supported by this build; use {family}",
                        backend.type_name()
                    ),
                );
            }
        }
        let stores = &self.storage.stores;
        match &stores.metadata {
            Some(r) => self.check_backend_ref(&r.backend, BackendFamily::Kv, "storage.stores.metadata", errors),
            None => errors.push(
                "storage.stores.metadata",
                "required: the registry's key-value store, e.g. {backend: kv_default, namespace: registry}",
            ),
        }
        let optional = [
            (
                "prompts",
                stores.prompts.as_ref().map(|r| &r.backend),
                BackendFamily::Kv,
            ),
            (
                "inference",
                stores.inference.as_ref().map(|r| &r.backend),
                BackendFamily::Sql,
            ),
            (
                "conversations",
                stores.conversations.as_ref().map(|r| &r.backend),
                BackendFamily::Sql,
            ),
            (
                "responses",
                stores.responses.as_ref().map(|r| &r.backend),
                BackendFamily::Sql,
            ),
        ];
        for (store, backend, family) in optional {
            if let Some(backend) = backend {
                self.check_backend_ref(backend, family, &child("storage.stores", store), errors);
            }
        }
    }

    /// Provider configs name backends as `{backend, namespace}` or `{backend, table_name}`; a
    /// typo there would otherwise surface only at startup.
    fn check_store_refs_in_configs(&self, errors: &mut ConfigErrors) {
        for (api, entries) in &self.providers {
            for (i, entry) in entries.iter().enumerate() {
                let path = child(&index(&child("providers", api), i), "config");
                self.check_refs_in(&entry.config, &path, errors);
            }
        }
    }

    fn check_refs_in(&self, value: &Value, path: &str, errors: &mut ConfigErrors) {
        match value {
            Value::Object(map) => {
                if let Some((backend, family)) = store_ref(value) {
                    self.check_backend_ref(backend, family, path, errors);
                    return;
                }
                for (key, item) in map {
                    self.check_refs_in(item, &child(path, key), errors);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_refs_in(item, &index(path, i), errors);
                }
            }
            _ => {}
        }
    }

    /// `path` is the reference object; the error goes on its `backend` field.
    fn check_backend_ref(
        &self,
        backend: &str,
        family: BackendFamily,
        path: &str,
        errors: &mut ConfigErrors,
    ) {
        let path = child(path, "backend");
        match self.storage.backend(backend) {
            None => {
                let declared: Vec<&str> =
                    self.storage.backends.keys().map(String::as_str).collect();
                let declared = if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared.join(", ")
                };
                errors.push(path, format!("backend `{backend}` is not declared in storage.backends (declared: {declared})"));
            }
            Some(found) if found.family() != family => errors.push(
                path,
                format!(
                    "needs a {family} backend, but `{backend}` is {}",
                    found.type_name()
                ),
            ),
            Some(_) => {}
        }
    }

    fn check_resources(&self, errors: &mut ConfigErrors) {
        let resources = &self.registered_resources;
        let served = self.served_apis();
        for (i, model) in resources.models.iter().enumerate() {
            let path = index("registered_resources.models", i);
            if model.model_type == ModelType::Embedding && !has_embedding_dimension(&model.metadata)
            {
                errors.push(
                    child(&path, "metadata.embedding_dimension"),
                    format!(
                        "embedding model `{}` needs a positive integer embedding_dimension",
                        model.model_id
                    ),
                );
            }
            self.check_resource_provider(
                Api::Inference,
                model.provider_id.as_deref(),
                &served,
                &path,
                errors,
            );
        }
        for (i, shield) in resources.shields.iter().enumerate() {
            let path = index("registered_resources.shields", i);
            self.check_resource_provider(
                Api::Safety,
                shield.provider_id.as_deref(),
                &served,
                &path,
                errors,
            );
        }
        for (i, group) in resources.tool_groups.iter().enumerate() {
            let path = index("registered_resources.tool_groups", i);
            self.check_resource_provider(
                Api::ToolRuntime,
                Some(&group.provider_id),
                &served,
                &path,
                errors,
            );
        }
        let loose = [
            ("scoring_fns", &resources.scoring_fns, Api::Scoring),
            ("benchmarks", &resources.benchmarks, Api::Eval),
        ];
        for (list, items, api) in loose {
            for (i, item) in items.iter().enumerate() {
                let path = index(&child("registered_resources", list), i);
                let provider_id = item.get("provider_id").and_then(Value::as_str);
                self.check_resource_provider(api, provider_id, &served, &path, errors);
            }
        }
    }

    /// Upstream skips resources of APIs it does not serve, but fails startup on an unknown provider.
    fn check_resource_provider(
        &self,
        api: Api,
        provider_id: Option<&str>,
        served: &[Api],
        path: &str,
        errors: &mut ConfigErrors,
    ) {
        let Some(provider_id) = provider_id else {
            return;
        };
        if served.contains(&api) && !self.has_provider(api, provider_id) {
            errors.push(
                child(path, "provider_id"),
                format!("no {api} provider has provider_id `{provider_id}`"),
            );
        }
    }

    fn has_provider(&self, api: Api, provider_id: &str) -> bool {
        self.provider_entries(api.as_str())
            .iter()
            .any(|p| p.provider_id == provider_id)
    }

    fn check_server(&self, errors: &mut ConfigErrors) {
        let server = &self.server;
        if server.port == 0 {
            errors.push("server.port", "must be between 1 and 65535");
        }
        match (&server.tls_certfile, &server.tls_keyfile) {
            (Some(_), None) => errors.push(
                "server.tls_keyfile",
                "tls_certfile is set, so HTTPS also needs tls_keyfile",
            ),
            (None, Some(_)) => errors.push(
                "server.tls_certfile",
                "tls_keyfile is set, so HTTPS also needs tls_certfile",
            ),
            _ => {}
        }
        if server.tls_cafile.is_some() && server.tls_certfile.is_none() {
            errors.push(
                "server.tls_cafile",
                "client certificates (mTLS) need HTTPS: set tls_certfile and tls_keyfile",
            );
        }
        match server.workers {
            0 => errors.push("server.workers", "must be at least 1"),
            1 => {}
            _ => errors.push(
                "server.workers",
                "only 1 is supported: llama-stack-rs serves every CPU core from one process; remove server.workers",
            ),
        }
        if let Err(problems) = server.auth() {
            errors.extend(problems);
        }
        if let Some(quota) = &server.quota {
            self.check_backend_ref(&quota.kvstore.backend, BackendFamily::Kv, "server.quota.kvstore", errors);
        }
        for (name, seconds) in server.seconds_fields() {
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS) {
                errors.push(child("server", name), format!("must be a number of seconds above 0 and at most {MAX_SECONDS}"));
            }
        }
        if server.max_connections == 0 {
            errors.push("server.max_connections", "must be at least 1");
        }
        if let Some(policy) = server.cors.as_ref().and_then(|c| c.policy()) {
            check_cors(&policy, errors);
        }
        if let Some(outbound) = &server.outbound {
            for (key, list) in [("allow_hosts", &outbound.allow_hosts), ("deny_hosts", &outbound.deny_hosts)] {
                for (i, entry) in list.iter().enumerate() {
                    if let Err(e) = HostPattern::parse(entry) {
                        errors.push(index(&child("server.outbound", key), i), e);
                    }
                }
            }
        }
    }

    fn check_vector_stores(&self, errors: &mut ConfigErrors) {
        let Some(vector_stores) = &self.vector_stores else {
            return;
        };
        if let Some(id) = &vector_stores.default_provider_id
            && !self.has_provider(Api::VectorIo, id)
        {
            errors.push(
                "vector_stores.default_provider_id",
                format!("no vector_io provider has provider_id `{id}`"),
            );
        }
        if let Some(model) = &vector_stores.default_embedding_model
            && !self.has_provider(Api::Inference, &model.provider_id)
        {
            errors.push(
                "vector_stores.default_embedding_model.provider_id",
                format!(
                    "no inference provider has provider_id `{}`",
                    model.provider_id
                ),
            );
        }
    }

    /// Sections 0.3.5 reads that this build does not implement: refused, never ignored.
    fn check_unsupported_sections(&self, errors: &mut ConfigErrors) {
        if self.logging.is_some() {
            errors.push(
                "logging",
                "logging categories are not supported; set levels with the LLAMA_STACK_LOG environment \
                 variable (tracing filter syntax, e.g. LLAMA_STACK_LOG=info,lls_server=debug) and remove this section",
            );
        }
    }

    fn check_external_dirs(&self, errors: &mut ConfigErrors) {
        if self
            .external_providers_dir
            .as_ref()
            .is_some_and(|v| !v.is_null())
        {
            errors.push(
                "external_providers_dir",
                "external providers are not supported: this build links its providers at compile time; \
                 build a custom distribution with `cargo build --features ...` instead",
            );
        }
        if self.external_apis_dir.as_ref().is_some_and(|v| !v.is_null()) {
            errors.push(
                "external_apis_dir",
                "external APIs are not supported: this build serves the APIs it was compiled with",
            );
        }
    }
}

/// `{backend, namespace}` is a kv reference, `{backend, table_name}` (plus write-queue settings)
/// a sql one; any other key means the object is something else.
fn store_ref(value: &Value) -> Option<(&str, BackendFamily)> {
    let map = value.as_object()?;
    let backend = map.get("backend")?.as_str()?;
    const KNOWN: [&str; 5] = [
        "backend",
        "namespace",
        "table_name",
        "max_write_queue_size",
        "num_writers",
    ];
    if !map.keys().all(|k| KNOWN.contains(&k.as_str())) {
        return None;
    }
    match (
        map.contains_key("namespace"),
        map.contains_key("table_name"),
    ) {
        (true, false) => Some((backend, BackendFamily::Kv)),
        (false, true) => Some((backend, BackendFamily::Sql)),
        _ => None,
    }
}

/// 0.3.5's `CORSConfig` checks, plus what the server needs to build the policy.
fn check_cors(policy: &CorsPolicy, errors: &mut ConfigErrors) {
    let wildcard = |list: &[String]| list.iter().any(|o| o == "*");
    if policy.allow_credentials && wildcard(&policy.allow_origins) {
        errors.push("server.cors.allow_origins", "Cannot use wildcard origins with credentials enabled");
    }
    if policy.allow_credentials && wildcard(&policy.expose_headers) {
        errors.push("server.cors.expose_headers", "cannot expose every header (`*`) with credentials enabled");
    }
    if let Some(pattern) = &policy.allow_origin_regex
        && let Err(e) = regex::Regex::new(pattern)
    {
        errors.push("server.cors.allow_origin_regex", format!("invalid regular expression: {e}"));
    }
    let lists = [
        ("allow_methods", &policy.allow_methods),
        ("allow_headers", &policy.allow_headers),
        ("expose_headers", &policy.expose_headers),
    ];
    for (name, list) in lists {
        for (i, item) in list.iter().enumerate() {
            if item != "*" && !is_token(item) {
                errors.push(index(&child("server.cors", name), i), format!("`{item}` is not a valid HTTP token"));
            }
        }
    }
    for (i, origin) in policy.allow_origins.iter().enumerate() {
        if origin.chars().any(|c| c.is_control() || c.is_whitespace()) {
            errors.push(index("server.cors.allow_origins", i), format!("`{origin}` is not a valid origin"));
        }
    }
}

fn has_embedding_dimension(metadata: &serde_json::Map<String, Value>) -> bool {
    metadata
        .get("embedding_dimension")
        .and_then(Value::as_u64)
        .is_some_and(|d| d > 0)
}

fn provider_apis() -> String {
    let names: Vec<&str> = Api::PROVIDER_APIS.iter().map(|a| a.as_str()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests;
