//! The tool groups routing table: groups registered by run.yaml or `POST /v1/toolgroups`,
//! persisted in the resource registry (type `tool_group`), the tool runtime providers that
//! serve them, and an index from tool name to group filled by listing.
//!
//! Groups without an MCP endpoint are listed once (at registration) and cached, as upstream
//! does. MCP groups are listed afresh every time, with the caller's credentials, so a listing
//! never returns tools the caller could not list themselves; the index keeps the last listing
//! so a tool can be invoked by name.
//!
//! Every listing is bounded by its provider's `list_timeout` (10 s by default), and listing
//! every group asks them concurrently, so a server that never answers costs one timeout and
//! its own group, never every client's `GET /v1/tools`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::StreamExt;

use lls_api_common::access::{Action, Owner, ProtectedResource};
use lls_api_common::{Error, ErrorKind, RequestContext, Result};
use lls_api_tool_runtime::{
    RegisterToolGroupRequest, TOOL_GROUP_RESOURCE, ToolDef, ToolGroup, ToolRuntimeProvider,
};
use lls_registry::{ResourceRegistry, StoredResource};
use parking_lot::RwLock;

/// Groups listed at once when every group is listed.
const LIST_CONCURRENCY: usize = 16;

/// Tools by group, and the group of each tool name (the last group listing it wins).
#[derive(Default)]
struct ToolIndex {
    by_group: HashMap<String, Vec<ToolDef>>,
    group_of: HashMap<String, String>,
}

impl ToolIndex {
    fn replace(&mut self, group: &str, tools: Vec<ToolDef>) {
        self.remove(group);
        for t in &tools {
            self.group_of.insert(t.name.clone(), group.to_owned());
        }
        self.by_group.insert(group.to_owned(), tools);
    }

    fn remove(&mut self, group: &str) {
        self.by_group.remove(group);
        self.group_of.retain(|_, g| g != group);
    }

    fn tool(&self, name: &str) -> Option<ToolDef> {
        let group = self.group_of.get(name)?;
        self.by_group
            .get(group)?
            .iter()
            .find(|t| t.name == name)
            .cloned()
    }
}

/// Tool groups by identifier, and the tool runtime providers that serve them.
pub struct ToolGroupsTable {
    registry: Arc<ResourceRegistry>,
    providers: BTreeMap<String, Arc<dyn ToolRuntimeProvider>>,
    index: RwLock<ToolIndex>,
}

fn group_not_found(id: &str) -> Error {
    Error::not_found(format!(
        "Tool Group '{id}' not found. Use 'client.toolgroups.list()' to list available Tool Groups."
    ))
}

fn tool_not_found(name: &str) -> Error {
    Error::not_found(format!(
        "Tool '{name}' not found. Use 'client.tools.list()' to list the tools of the registered tool groups."
    ))
}

impl ToolGroupsTable {
    pub fn new(
        registry: Arc<ResourceRegistry>,
        providers: BTreeMap<String, Arc<dyn ToolRuntimeProvider>>,
    ) -> Self {
        ToolGroupsTable {
            registry,
            providers,
            index: RwLock::new(ToolIndex::default()),
        }
    }

    pub fn provider_ids(&self) -> impl Iterator<Item = &String> {
        self.providers.keys()
    }

    /// The stack's tool runtime providers.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn ToolRuntimeProvider>> {
        self.providers.values()
    }

    /// The groups the caller may read.
    pub async fn list(&self, ctx: &RequestContext) -> Result<Vec<ToolGroup>> {
        self.registry.list_as(ctx, TOOL_GROUP_RESOURCE).await
    }

    /// A registered group the caller may read; 404 in upstream's words otherwise.
    pub async fn get(&self, ctx: &RequestContext, toolgroup_id: &str) -> Result<ToolGroup> {
        self.registry
            .get_as(ctx, TOOL_GROUP_RESOURCE, toolgroup_id)
            .await?
            .ok_or_else(|| group_not_found(toolgroup_id))
    }

    fn provider(&self, provider_id: &str) -> Result<&Arc<dyn ToolRuntimeProvider>> {
        self.providers.get(provider_id).ok_or_else(|| {
            let have: Vec<&str> = self.providers.keys().map(String::as_str).collect();
            Error::invalid(format!(
                "Provider `{provider_id}` not found: the tool_runtime providers of this stack are [{}]",
                have.join(", ")
            ))
            .with_param("provider_id")
        })
    }

    /// The group a request describes, checked: a known provider (the first one when the id is
    /// empty, as upstream picks) and an http(s) MCP endpoint when there is one.
    fn group_of(&self, request: RegisterToolGroupRequest) -> Result<ToolGroup> {
        request.validate()?;
        let provider_id = match request.provider_id.as_str() {
            "" => self
                .providers
                .keys()
                .next()
                .cloned()
                .ok_or_else(|| Error::invalid("no tool_runtime provider is configured"))?,
            id => {
                self.provider(id)?;
                id.to_owned()
            }
        };
        if let Some(endpoint) = &request.mcp_endpoint
            && !(endpoint.uri.starts_with("http://") || endpoint.uri.starts_with("https://"))
        {
            return Err(Error::invalid(format!(
                "mcp_endpoint.uri '{}' must be an http:// or https:// URL",
                endpoint.uri
            ))
            .with_param("mcp_endpoint"));
        }
        Ok(ToolGroup::new(
            request.toolgroup_id,
            provider_id,
            request.mcp_endpoint,
            request.args,
        ))
    }

    async fn store(&self, group: &ToolGroup, owner: Option<Owner>) -> Result<()> {
        self.registry
            .put(StoredResource {
                resource_type: TOOL_GROUP_RESOURCE.into(),
                identifier: group.identifier.clone(),
                provider_id: group.provider_id.clone(),
                source: "via_register_api".into(),
                body: serde_json::to_value(group)?,
                owner,
            })
            .await
    }

    /// `POST /v1/toolgroups`. Registering the same group again is a no-op; a different group
    /// under a taken id is refused, as upstream's registry refuses it. A group without an MCP
    /// endpoint has its tools listed now; if that fails the group is not kept.
    /// The caller must be allowed to create it (it becomes its owner) before the server
    /// connects anywhere on its behalf.
    pub async fn register(
        &self,
        ctx: &RequestContext,
        request: RegisterToolGroupRequest,
    ) -> Result<ToolGroup> {
        let group = self.group_of(request)?;
        let owner = ctx.owner();
        ctx.check(
            Action::Create,
            &ProtectedResource::new(TOOL_GROUP_RESOURCE, &group.identifier, owner.as_ref()),
        )?;
        if let Some(endpoint) = &group.mcp_endpoint {
            // The server's outbound policy (SSRF): refused before anything is stored.
            self.provider(&group.provider_id)?
                .check_mcp_endpoint(endpoint)
                .await?;
        }
        if let Some(existing) = self.registry.get(TOOL_GROUP_RESOURCE, &group.identifier).await? {
            let existing: Option<ToolGroup> = serde_json::from_value(existing.body).ok();
            if let Some(existing) = existing.filter(|e| *e == group) {
                return Ok(existing);
            }
            return Err(Error::invalid(format!(
                "Object of type 'tool_group' and identifier '{}' already exists. Unregister it first if you want to replace it.",
                group.identifier
            ))
            .with_param("toolgroup_id"));
        }
        self.store(&group, owner).await?;
        if group.mcp_endpoint.is_none()
            && let Err(e) = self.index(ctx, &group).await
        {
            self.registry
                .remove(TOOL_GROUP_RESOURCE, &group.identifier)
                .await?;
            return Err(e);
        }
        Ok(group)
    }

    /// A group of run.yaml's `registered_resources`: run.yaml is the source of truth, so it
    /// replaces what an earlier run stored under the same id.
    pub async fn register_from_config(
        &self,
        ctx: &RequestContext,
        request: RegisterToolGroupRequest,
    ) -> Result<ToolGroup> {
        let group = self.group_of(request)?;
        self.store(&group, None).await?;
        self.index.write().remove(&group.identifier);
        if group.mcp_endpoint.is_none() {
            self.index(ctx, &group).await?;
        }
        Ok(group)
    }

    /// `DELETE /v1/toolgroups/{id}`: forgets the group and its tools. A group the caller may
    /// not read is not found; one it may read but not delete is a 403.
    pub async fn unregister(&self, ctx: &RequestContext, toolgroup_id: &str) -> Result<()> {
        self.registry.get_authorized(
            ctx,
            Action::Delete,
            TOOL_GROUP_RESOURCE,
            toolgroup_id,
            || group_not_found(toolgroup_id),
        )
        .await?;
        self.registry
            .remove(TOOL_GROUP_RESOURCE, toolgroup_id)
            .await?;
        self.index.write().remove(toolgroup_id);
        Ok(())
    }

    /// Lists a group's tools from its provider, within the provider's list timeout (a 504 naming
    /// the group past it), and records them in the index.
    async fn index(&self, ctx: &RequestContext, group: &ToolGroup) -> Result<Vec<ToolDef>> {
        let provider = self.provider(&group.provider_id)?;
        let limit = provider.list_timeout();
        let listing =
            provider.list_runtime_tools(ctx, Some(&group.identifier), group.mcp_endpoint.as_ref());
        let mut tools = tokio::time::timeout(limit, listing).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "the tools of tool group '{}' could not be listed within {limit:?}",
                    group.identifier
                ),
            )
            .with_provider(group.provider_id.clone())
        })??;
        for t in &mut tools {
            t.toolgroup_id = Some(group.identifier.clone());
        }
        self.index.write().replace(&group.identifier, tools.clone());
        Ok(tools)
    }

    /// A group's tools: cached for groups without an MCP endpoint, listed afresh otherwise.
    async fn tools_of(&self, ctx: &RequestContext, group: &ToolGroup) -> Result<Vec<ToolDef>> {
        if group.mcp_endpoint.is_none()
            && let Some(tools) = self.index.read().by_group.get(&group.identifier)
        {
            return Ok(tools.clone());
        }
        self.index(ctx, group).await
    }

    /// A group id as clients pass it; `builtin::rag/knowledge_search` names group `builtin::rag`.
    async fn resolve_group(&self, ctx: &RequestContext, toolgroup_id: &str) -> Result<ToolGroup> {
        match self.get(ctx, toolgroup_id).await {
            Ok(g) => Ok(g),
            Err(e) if e.kind() == ErrorKind::NotFound => match toolgroup_id.split_once('/') {
                Some((group, tool)) if !tool.contains('/') => self.get(ctx, group).await.map_err(|_| e),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/tools`: the tools of one group (its failures, a 504 when it does not answer in
    /// time, are the caller's answer), or of every group, listed concurrently: a group whose
    /// server fails or does not answer in time is left out with a warning naming it (the
    /// others are still the answer, in 0.3.5's shape); one that wants credentials fails the
    /// listing, so the client learns it must send them.
    pub async fn list_tools(
        &self,
        ctx: &RequestContext,
        toolgroup_id: Option<&str>,
    ) -> Result<Vec<ToolDef>> {
        if let Some(id) = toolgroup_id {
            let group = self.resolve_group(ctx, id).await?;
            return self.tools_of(ctx, &group).await;
        }
        let groups = self.list(ctx).await?;
        let listings: Vec<Result<Vec<ToolDef>>> = futures::stream::iter(groups.clone())
            .map(|g| async move { self.tools_of(ctx, &g).await })
            .buffered(LIST_CONCURRENCY)
            .collect()
            .await;
        let mut all = Vec::new();
        for (group, listing) in groups.iter().zip(listings) {
            match listing {
                Ok(tools) => all.extend(tools),
                Err(e) if matches!(e.kind(), ErrorKind::Unauthenticated) => return Err(e),
                Err(e) => {
                    tracing::warn!(toolgroup_id = %group.identifier, "leaving out the tools of a group: {e}")
                }
            }
        }
        Ok(all)
    }

    /// `GET /v1/tools/{name}`: a tool from the last listing of its group, if the caller may
    /// read the group. The group is read from the registry each time (another server may have
    /// removed it); a tool no listing here has shown yet is looked for by listing the groups
    /// not listed so far (so a client need not list first, and groups registered through
    /// another server are found).
    pub async fn get_tool(&self, ctx: &RequestContext, tool_name: &str) -> Result<ToolDef> {
        let indexed = self.index.read().tool(tool_name);
        if let Some(tool) = indexed {
            let group_id = tool.toolgroup_id.clone().unwrap_or_default();
            match self.registry.get(TOOL_GROUP_RESOURCE, &group_id).await? {
                Some(group) if ctx.can(Action::Read, &group.protected()) => return Ok(tool),
                Some(_) => return Err(tool_not_found(tool_name)),
                None => self.index.write().remove(&group_id),
            }
        }
        self.search(ctx, tool_name).await?.ok_or_else(|| tool_not_found(tool_name))
    }

    /// The provider and definition of a tool, for invoking it.
    pub async fn resolve_tool(
        &self,
        ctx: &RequestContext,
        tool_name: &str,
    ) -> Result<(Arc<dyn ToolRuntimeProvider>, ToolDef)> {
        let tool = self.get_tool(ctx, tool_name).await?;
        let group_id = tool.toolgroup_id.clone().unwrap_or_default();
        let group = self.get(ctx, &group_id).await.map_err(|e| match e.kind() {
            ErrorKind::NotFound => tool_not_found(tool_name),
            _ => e,
        })?;
        Ok((self.provider(&group.provider_id)?.clone(), tool))
    }

    /// Lists the groups the index has not seen (concurrently) and looks for `tool_name` among
    /// them. A group that wants credentials is remembered: if the tool is not found, that is
    /// the answer.
    async fn search(&self, ctx: &RequestContext, tool_name: &str) -> Result<Option<ToolDef>> {
        let mut credentials_wanted = None;
        let unseen: Vec<ToolGroup> = self
            .list(ctx)
            .await?
            .into_iter()
            .filter(|g| !self.index.read().by_group.contains_key(&g.identifier))
            .collect();
        let listings: Vec<Result<Vec<ToolDef>>> = futures::stream::iter(unseen.clone())
            .map(|g| async move { self.index(ctx, &g).await })
            .buffered(LIST_CONCURRENCY)
            .collect()
            .await;
        for (group, listing) in unseen.iter().zip(listings) {
            match listing {
                Ok(tools) => {
                    if let Some(t) = tools.into_iter().find(|t| t.name == tool_name) {
                        return Ok(Some(t));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                    credentials_wanted = credentials_wanted.or(Some(e))
                }
                Err(e) => {
                    tracing::warn!(toolgroup_id = %group.identifier, "could not list the tools of a group: {e}")
                }
            }
        }
        match credentials_wanted {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use lls_api_common::store::{KvStoreRef, StoreResolver};
    use lls_api_tool_runtime::McpEndpoint;
    use lls_storage::Stores;
    use lls_testkit::FakeToolRuntime;
    use lls_testkit::fake_tool_runtime::FAKE_TOOLS_TOKEN;
    use serde_json::json;
    use std::time::{Duration, Instant};

    use super::*;

    struct Fixture {
        stores: Stores,
        fake: Arc<FakeToolRuntime>,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                stores: Stores::in_memory(),
                fake: Arc::new(FakeToolRuntime::new()),
            }
        }

        /// A table over the same store each time, as a restarted server would open it.
        async fn table(&self) -> ToolGroupsTable {
            let kv = self
                .stores
                .kv(&KvStoreRef {
                    backend: "kv_default".into(),
                    namespace: "registry".into(),
                })
                .await
                .unwrap();
            let registry = Arc::new(ResourceRegistry::open(kv).await.unwrap());
            let provider: Arc<dyn ToolRuntimeProvider> = self.fake.clone();
            ToolGroupsTable::new(registry, BTreeMap::from([("fake".to_owned(), provider)]))
        }
    }

    fn request(id: &str, uri: Option<&str>) -> RegisterToolGroupRequest {
        RegisterToolGroupRequest {
            toolgroup_id: id.into(),
            provider_id: "fake".into(),
            mcp_endpoint: uri.map(|u| McpEndpoint { uri: u.into() }),
            args: None,
        }
    }

    fn secure_ctx() -> RequestContext {
        RequestContext::new(
            json!({ FAKE_TOOLS_TOKEN.0: FAKE_TOOLS_TOKEN.1 })
                .as_object()
                .cloned()
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn register_list_get_unregister() {
        let f = Fixture::new();
        let t = f.table().await;
        let ctx = RequestContext::default();
        let g = t
            .register(&ctx, request("mcp::a", Some("http://a/sse")))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&g).unwrap()["provider_resource_id"],
            "mcp::a"
        );
        t.register(&ctx, request("builtin::b", None)).await.unwrap();
        let mut ids: Vec<String> = t
            .list(&RequestContext::default())
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.identifier)
            .collect();
        ids.sort();
        assert_eq!(ids, ["builtin::b", "mcp::a"]);
        assert_eq!(t.get(&RequestContext::default(), "mcp::a").await.unwrap(), g);
        t.unregister(&RequestContext::default(), "mcp::a")
            .await
            .unwrap();
        let e = t.get(&RequestContext::default(), "mcp::a").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.message(),
            "Tool Group 'mcp::a' not found. Use 'client.toolgroups.list()' to list available Tool Groups."
        );
        assert_eq!(
            t.unregister(&RequestContext::default(), "mcp::a")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            t.list_tools(&ctx, Some("mcp::a")).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn groups_survive_a_restart() {
        let f = Fixture::new();
        let ctx = RequestContext::default();
        f.table()
            .await
            .register(&ctx, request("mcp::kept", Some("http://k/sse")))
            .await
            .unwrap();
        let restarted = f.table().await;
        assert_eq!(
            restarted
                .get(&RequestContext::default(), "mcp::kept")
                .await
                .unwrap()
                .mcp_endpoint,
            Some(McpEndpoint {
                uri: "http://k/sse".into()
            })
        );
        restarted
            .unregister(&RequestContext::default(), "mcp::kept")
            .await
            .unwrap();
        assert!(f.table().await.list(&RequestContext::default()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn registration_is_checked() {
        let f = Fixture::new();
        let t = f.table().await;
        let ctx = RequestContext::default();
        t.register(&ctx, request("g", Some("http://g/sse")))
            .await
            .unwrap();
        // The same group again is fine; a different one under the same id is not.
        t.register(&ctx, request("g", Some("http://g/sse")))
            .await
            .unwrap();
        let e = t
            .register(&ctx, request("g", Some("http://other/sse")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("already exists"), "{e}");
        let mut unknown = request("u", None);
        unknown.provider_id = "nope".into();
        let e = t.register(&ctx, unknown).await.unwrap_err();
        assert!(e.message().contains("Provider `nope` not found"), "{e}");
        assert_eq!(
            t.register(&ctx, request(" ", None))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            t.register(&ctx, request("f", Some("file:///x")))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidRequest
        );
        // An empty provider id picks the first provider, as upstream does.
        let mut first = request("first", None);
        first.provider_id = String::new();
        assert_eq!(t.register(&ctx, first).await.unwrap().provider_id, "fake");
        // run.yaml's version replaces a stored one.
        t.register_from_config(&ctx, request("g", Some("http://other/sse")))
            .await
            .unwrap();
        assert_eq!(
            t.get(&RequestContext::default(), "g")
                .await
                .unwrap()
                .mcp_endpoint
                .unwrap()
                .uri,
            "http://other/sse"
        );
    }

    #[tokio::test]
    async fn a_group_whose_tools_cannot_be_listed_is_not_kept() {
        let f = Fixture::new();
        let t = f.table().await;
        let ctx = RequestContext::default();
        let e = t
            .register(&ctx, request("builtin::broken", None))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert_eq!(
            t.get(&RequestContext::default(), "builtin::broken")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        // MCP groups are listed lazily, as upstream does, so registering one never fails that way.
        t.register(
            &ctx,
            request("mcp::down", Some("http://unreachable.invalid/sse")),
        )
        .await
        .unwrap();
        assert_eq!(f.fake.listings(), 1);
    }

    #[tokio::test]
    async fn tools_are_listed_tagged_and_indexed() {
        let f = Fixture::new();
        let t = f.table().await;
        let ctx = RequestContext::default();
        t.register(&ctx, request("builtin::local", None))
            .await
            .unwrap();
        assert_eq!(
            f.fake.listings(),
            1,
            "groups without an endpoint are listed at registration"
        );
        let tools = t.list_tools(&ctx, Some("builtin::local")).await.unwrap();
        assert_eq!(f.fake.listings(), 1, "and cached");
        assert!(
            tools
                .iter()
                .all(|t| t.toolgroup_id.as_deref() == Some("builtin::local"))
        );
        assert_eq!(
            t.get_tool(&RequestContext::default(), "echo")
                .await
                .unwrap()
                .toolgroup_id
                .as_deref(),
            Some("builtin::local")
        );
        // `group/tool` names the group.
        assert_eq!(
            t.list_tools(&ctx, Some("builtin::local/echo"))
                .await
                .unwrap()
                .len(),
            tools.len()
        );

        t.register(&ctx, request("mcp::remote", Some("http://remote/sse")))
            .await
            .unwrap();
        t.list_tools(&ctx, Some("mcp::remote")).await.unwrap();
        t.list_tools(&ctx, Some("mcp::remote")).await.unwrap();
        assert_eq!(
            f.fake.listings(),
            3,
            "MCP groups are listed afresh each time"
        );
        // The last group listing a name owns it.
        assert_eq!(
            t.get_tool(&RequestContext::default(), "echo")
                .await
                .unwrap()
                .toolgroup_id
                .as_deref(),
            Some("mcp::remote")
        );
        assert_eq!(
            t.get_tool(&RequestContext::default(), "echo")
                .await
                .unwrap()
                .endpoint(),
            Some("http://remote/sse")
        );
        // Unregistering forgets its tools.
        t.unregister(&RequestContext::default(), "mcp::remote")
            .await
            .unwrap();
        assert_eq!(
            t.get_tool(&RequestContext::default(), "echo")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            t.get_tool(&RequestContext::default(), "nope")
                .await
                .unwrap_err()
                .message(),
            tool_not_found("nope").message()
        );
    }

    #[tokio::test]
    async fn listing_every_group_skips_unreachable_ones_but_not_missing_credentials() {
        let f = Fixture::new();
        let t = f.table().await;
        let ctx = RequestContext::default();
        t.register(&ctx, request("mcp::ok", Some("http://ok/sse")))
            .await
            .unwrap();
        t.register(
            &ctx,
            request("mcp::down", Some("http://unreachable.invalid/sse")),
        )
        .await
        .unwrap();
        let tools = t.list_tools(&ctx, None).await.unwrap();
        assert!(
            !tools.is_empty()
                && tools
                    .iter()
                    .all(|t| t.toolgroup_id.as_deref() == Some("mcp::ok"))
        );
        // Asked for by name, the unreachable group's failure is the answer.
        assert_eq!(
            t.list_tools(&ctx, Some("mcp::down"))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::UpstreamUnavailable
        );
        t.register(&ctx, request("mcp::secure", Some("http://h/secure/sse")))
            .await
            .unwrap();
        assert_eq!(
            t.list_tools(&ctx, None).await.unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
        assert!(t.list_tools(&secure_ctx(), None).await.is_ok());
    }

    #[tokio::test]
    async fn a_group_that_never_answers_is_reported_not_waited_on() {
        let f = Fixture {
            stores: Stores::in_memory(),
            fake: Arc::new(FakeToolRuntime::with_list_timeout(Duration::from_millis(
                200,
            ))),
        };
        let t = f.table().await;
        let ctx = RequestContext::default();
        t.register(&ctx, request("mcp::a", Some("http://a/sse")))
            .await
            .unwrap();
        t.register(&ctx, request("mcp::hang", Some("http://hang.invalid/sse")))
            .await
            .unwrap();
        t.register(
            &ctx,
            request("mcp::hang2", Some("http://hang.invalid/other")),
        )
        .await
        .unwrap();
        t.register(&ctx, request("mcp::b", Some("http://b/sse")))
            .await
            .unwrap();
        // Every group at once: the others answer, the hanging ones cost one timeout together.
        let started = Instant::now();
        let tools = t.list_tools(&ctx, None).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let mut groups: Vec<&str> = tools
            .iter()
            .filter_map(|t| t.toolgroup_id.as_deref())
            .collect();
        groups.dedup();
        assert_eq!(groups, ["mcp::a", "mcp::b"]);
        // Asked for by id, the group's timeout is the answer: a 504 naming it.
        let e = t.list_tools(&ctx, Some("mcp::hang")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(
            e.message(),
            "the tools of tool group 'mcp::hang' could not be listed within 200ms"
        );
        assert_eq!(e.provider(), Some("fake"));
        // Resolving a tool name no listing has shown does not wait on it either.
        let started = Instant::now();
        assert_eq!(
            t.resolve_tool(&ctx, "nope").await.err().unwrap().kind(),
            ErrorKind::NotFound
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn tools_resolve_without_listing_first() {
        let f = Fixture::new();
        let t = f.table().await;
        let ctx = RequestContext::default();
        t.register(&ctx, request("mcp::secure", Some("http://h/secure/sse")))
            .await
            .unwrap();
        // Without credentials the group cannot be listed: that is the answer, not "not found".
        let e = t.resolve_tool(&ctx, "add").await.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        let (_, tool) = t.resolve_tool(&secure_ctx(), "add").await.unwrap();
        assert_eq!(tool.toolgroup_id.as_deref(), Some("mcp::secure"));
        assert_eq!(
            t.resolve_tool(&secure_ctx(), "nope")
                .await
                .err()
                .unwrap()
                .kind(),
            ErrorKind::NotFound
        );
    }
}
