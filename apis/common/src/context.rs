//! Per-request context handed to providers and services: the caller's provider data
//! (`X-LlamaStack-Provider-Data`), such as per-request API keys, and, with authentication on,
//! the authenticated caller and the access policy every check on its behalf uses.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Error;
use crate::access::{Action, Caller, Owner, OwnerFilter, ProtectedResource, User};

/// What a request carries besides its body. Cheap to clone (layers and background work
/// keep a copy).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    provider_data: Option<Arc<Map<String, Value>>>,
    /// `None`: authentication is off (or the work is the server's own), and every access check
    /// passes.
    caller: Option<Arc<Caller>>,
}

/// Why [`RequestContext::authorize`] refused: the caller may not even read the resource (so it
/// must look as if it did not exist: answer the API's usual not-found error), or may read it
/// but not do this (a 403 carrying 0.3.5's "Permission denied" text).
#[derive(Debug)]
pub enum Refusal {
    Hidden,
    Forbidden(Error),
}

impl Refusal {
    /// The error to answer: `not_found()` for a hidden resource, else the 403.
    pub fn or_not_found(self, not_found: impl FnOnce() -> Error) -> Error {
        match self {
            Refusal::Hidden => not_found(),
            Refusal::Forbidden(e) => e,
        }
    }
}

impl RequestContext {
    pub fn new(provider_data: Map<String, Value>) -> Self {
        RequestContext {
            provider_data: (!provider_data.is_empty()).then(|| Arc::new(provider_data)),
            caller: None,
        }
    }

    /// This context with one provider-data entry set (the caller stays): e.g. the Responses
    /// API handing an MCP tool's `headers` to the MCP provider as `mcp_headers`.
    pub fn with_provider_data_entry(&self, key: impl Into<String>, value: Value) -> Self {
        let mut data = self.provider_data.as_deref().cloned().unwrap_or_default();
        data.insert(key.into(), value);
        RequestContext {
            provider_data: Some(Arc::new(data)),
            caller: self.caller.clone(),
        }
    }

    /// This context acting for an authenticated caller.
    pub fn with_caller(mut self, caller: Arc<Caller>) -> Self {
        self.caller = Some(caller);
        self
    }

    /// The authenticated caller; `None` with authentication off.
    pub fn user(&self) -> Option<&User> {
        self.caller.as_deref().map(|c| &c.user)
    }

    /// The owner to record with what this request creates (`None` with authentication off:
    /// the resource is unowned, which the default policy lets everyone use).
    pub fn owner(&self) -> Option<Owner> {
        self.user().cloned()
    }

    /// Whether the caller may do `action` to `resource` (always, with authentication off).
    pub fn can(&self, action: Action, resource: &ProtectedResource<'_>) -> bool {
        match &self.caller {
            Some(caller) => caller.policy.is_allowed(action, resource, &caller.user),
            None => true,
        }
    }

    /// [`RequestContext::can`] as a result: a 403 with 0.3.5's text when refused. For creating
    /// things; for things that exist, use [`RequestContext::authorize`], which hides them
    /// from callers who may not read them.
    pub fn check(&self, action: Action, resource: &ProtectedResource<'_>) -> crate::Result<()> {
        match &self.caller {
            Some(caller) if !caller.policy.is_allowed(action, resource, &caller.user) => {
                Err(caller.policy.denied(action, resource, &caller.user))
            }
            _ => Ok(()),
        }
    }

    /// The check for an existing resource: a caller who may not read it gets
    /// [`Refusal::Hidden`] (its id must not leak), one who may read it but not do `action`
    /// gets [`Refusal::Forbidden`].
    pub fn authorize(
        &self,
        action: Action,
        resource: &ProtectedResource<'_>,
    ) -> Result<(), Refusal> {
        if !self.can(Action::Read, resource) {
            return Err(Refusal::Hidden);
        }
        if action == Action::Read {
            return Ok(());
        }
        self.check(action, resource).map_err(Refusal::Forbidden)
    }

    /// What a SQL store filters in the database when reading for this caller; `None`: no
    /// database filter (authentication off, or a policy the database cannot evaluate: each
    /// row read is then checked with [`RequestContext::can`]).
    pub fn sql_filter(&self) -> Option<OwnerFilter> {
        let caller = self.caller.as_deref()?;
        caller.policy.sql_filter(&caller.user)
    }

    /// A string field of the provider data, e.g. `openai_api_key`; empty strings count as absent.
    pub fn provider_data_str(&self, key: &str) -> Option<&str> {
        self.provider_data
            .as_ref()?
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The provider data object (empty when the request sent none).
    pub fn provider_data(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match &self.provider_data {
            Some(map) => map,
            None => EMPTY.get_or_init(Map::new),
        }
    }
}
