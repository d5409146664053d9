//! The tool runtime service: tool groups (a routable resource kept in the registry), the
//! tool-name index filled by listing them, the router that runs a tool through its group's
//! provider, and the `/v1/toolgroups`, `/v1/tools` and `/v1/tool-runtime` routes.

mod router;
mod routes;
mod tool_groups;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use lls_api_common::{Api, Error, RequestContext, Result};
use lls_api_tool_runtime::{
    InvokeToolRequest, ListToolDefsResponse, ListToolGroupsResponse, McpEndpoint, RagInsertRequest,
    RagQueryRequest, RagQueryResult, RegisterToolGroupRequest, ToolDef, ToolGroup,
    ToolInvocationResult, ToolRuntimeApi,
};
use lls_config::RunConfig;
use lls_http::{RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

pub use router::ToolRuntimeRouter;
pub use tool_groups::ToolGroupsTable;

/// The service's state, shared by its routes.
pub struct ToolRuntimeService {
    pub tool_groups: Arc<ToolGroupsTable>,
    pub router: Arc<ToolRuntimeRouter>,
}

lls_registry::register_service! {
    api: ToolRuntimeApi,
    depends_on: [],
    description: "Tool groups and their tools; runs a tool through its group's provider",
    build: build,
    routes: book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let table = Arc::new(ToolGroupsTable::new(
        ctx.registry.clone(),
        ctx.providers_of::<ToolRuntimeApi>()?,
    ));
    register_tool_groups(&ctx.config, &table).await?;
    let router = Arc::new(ToolRuntimeRouter::new(table.clone()));
    let service = Arc::new(ToolRuntimeService {
        tool_groups: table,
        router: router.clone(),
    });
    Ok(Some(
        BuiltService::new(service.clone())
            .export::<ToolRuntimeApi>(router)
            .with_routes(RouteGroup::new(book(), service)),
    ))
}

/// Registers run.yaml's tool groups (entries on disabled providers were dropped when parsing).
async fn register_tool_groups(config: &RunConfig, table: &ToolGroupsTable) -> Result<()> {
    let ctx = RequestContext::default();
    for g in &config.registered_resources.tool_groups {
        let fail = |message: &str| {
            Error::invalid(format!(
                "registered_resources.tool_groups '{}': {message}",
                g.toolgroup_id
            ))
        };
        let args = match &g.args {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map)) => Some(map.clone()),
            Some(_) => return Err(fail("'args' must be a mapping")),
        };
        let request = RegisterToolGroupRequest {
            toolgroup_id: g.toolgroup_id.clone(),
            provider_id: g.provider_id.clone(),
            mcp_endpoint: g
                .mcp_endpoint
                .as_ref()
                .map(|e| McpEndpoint { uri: e.uri.clone() }),
            args,
        };
        table
            .register_from_config(&ctx, request)
            .await
            .map_err(|e| fail(e.message()))?;
    }
    Ok(())
}

fn book() -> RouteBook<Arc<ToolRuntimeService>> {
    RouteBook::new()
        .add(
            op(
                "POST",
                "/v1/toolgroups",
                Api::ToolGroups,
                "register_tool_group",
                "Register a tool group.",
            )
            .body::<RegisterToolGroupRequest>()
            .returns::<()>(),
            post(routes::register),
        )
        .add(
            op(
                "GET",
                "/v1/toolgroups",
                Api::ToolGroups,
                "list_tool_groups",
                "Registered tool groups.",
            )
            .returns::<ListToolGroupsResponse>(),
            get(routes::list_groups),
        )
        .add(
            op(
                "GET",
                "/v1/toolgroups/{*toolgroup_id}",
                Api::ToolGroups,
                "get_tool_group",
                "One tool group.",
            )
            .returns::<ToolGroup>(),
            get(routes::get_group),
        )
        .add(
            op(
                "DELETE",
                "/v1/toolgroups/{*toolgroup_id}",
                Api::ToolGroups,
                "unregister_toolgroup",
                "Unregister a tool group.",
            )
            .no_content(),
            delete(routes::unregister),
        )
        .add(
            op(
                "GET",
                "/v1/tools",
                Api::ToolGroups,
                "list_tools",
                "Tools of one or every tool group.",
            )
            .query::<routes::ListToolsParams>()
            .returns::<ListToolDefsResponse>(),
            get(routes::list_tools),
        )
        .add(
            op(
                "GET",
                "/v1/tools/{*tool_name}",
                Api::ToolGroups,
                "get_tool",
                "One tool, as last listed.",
            )
            .returns::<ToolDef>(),
            get(routes::get_tool),
        )
        .add(
            op(
                "GET",
                "/v1/tool-runtime/list-tools",
                Api::ToolRuntime,
                "list_runtime_tools",
                "Tools of one or every tool group.",
            )
            .query::<routes::ListRuntimeToolsParams>()
            .returns::<ListToolDefsResponse>(),
            get(routes::list_runtime_tools),
        )
        .add(
            op(
                "POST",
                "/v1/tool-runtime/invoke",
                Api::ToolRuntime,
                "invoke_tool",
                "Run a tool by name.",
            )
            .body::<InvokeToolRequest>()
            .returns::<ToolInvocationResult>(),
            post(routes::invoke),
        )
        .add(
            op(
                "POST",
                "/v1/tool-runtime/rag-tool/insert",
                Api::ToolRuntime,
                "rag_tool_insert",
                "Index documents for the RAG tool.",
            )
            .body::<RagInsertRequest>()
            .returns::<()>(),
            post(routes::rag_insert),
        )
        .add(
            op(
                "POST",
                "/v1/tool-runtime/rag-tool/query",
                Api::ToolRuntime,
                "rag_tool_query",
                "Query the RAG tool for context.",
            )
            .body::<RagQueryRequest>()
            .returns::<RagQueryResult>(),
            post(routes::rag_query),
        )
}
