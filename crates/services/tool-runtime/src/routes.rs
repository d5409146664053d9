//! Tool groups, tools and the tool runtime (0.3.5, no `/v1/openai/v1` alias): registration and
//! lookup of groups, their tools, running a tool by name, and the legacy RAG tool's insert and
//! query. Ids may contain `/`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use lls_api_common::Error;
use lls_api_tool_runtime::{
    InvokeToolRequest, ListToolDefsResponse, ListToolGroupsResponse, McpEndpoint, RagInsertRequest,
    RagQueryRequest, RagQueryResult, RagTool, RegisterToolGroupRequest, ToolDef, ToolGroup,
    ToolInvocationResult, ToolRuntime,
};
use serde::Deserialize;
use serde_json::Value;

use lls_http::{ApiError, ApiJson, ApiResult, Ctx};

use crate::ToolRuntimeService;

type AppState = std::sync::Arc<ToolRuntimeService>;

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(t)| t).map_err(|e| {
        ApiError(Error::invalid(format!(
            "invalid query parameters: {}",
            e.body_text()
        )))
    })
}

/// An empty id means "none", as upstream's `if toolgroup_id:` reads it.
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// `POST /v1/toolgroups`; answers `null`, as upstream's handler returns nothing.
pub async fn register(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RegisterToolGroupRequest>,
) -> ApiResult<Json<Value>> {
    state.tool_groups.register(&ctx, request).await?;
    Ok(Json(Value::Null))
}

pub async fn list_groups(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
) -> ApiResult<Json<ListToolGroupsResponse>> {
    Ok(Json(ListToolGroupsResponse {
        data: state.tool_groups.list(&ctx).await?,
    }))
}

pub async fn get_group(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(toolgroup_id): Path<String>,
) -> ApiResult<Json<ToolGroup>> {
    Ok(Json(state.tool_groups.get(&ctx, &toolgroup_id).await?))
}

pub async fn unregister(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(toolgroup_id): Path<String>,
) -> ApiResult<StatusCode> {
    state.tool_groups.unregister(&ctx, &toolgroup_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListToolsParams {
    /// Only this group's tools.
    toolgroup_id: Option<String>,
}

pub async fn list_tools(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    params: Result<Query<ListToolsParams>, QueryRejection>,
) -> ApiResult<Json<ListToolDefsResponse>> {
    let params = query(params)?;
    let data = state
        .tool_groups
        .list_tools(&ctx, non_empty(params.toolgroup_id).as_deref())
        .await?;
    Ok(Json(ListToolDefsResponse { data }))
}

pub async fn get_tool(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(tool_name): Path<String>,
) -> ApiResult<Json<ToolDef>> {
    Ok(Json(state.tool_groups.get_tool(&ctx, &tool_name).await?))
}

/// `mcp_endpoint` arrives as `mcp_endpoint[uri]=...` from llama-stack-client, or as a plain URI.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListRuntimeToolsParams {
    /// Only this group's tools.
    tool_group_id: Option<String>,
    /// Accepted as 0.3.5 does; the registered group's own endpoint is what is listed.
    mcp_endpoint: Option<String>,
    /// `mcp_endpoint`, as llama-stack-client sends it.
    #[serde(rename = "mcp_endpoint[uri]")]
    mcp_endpoint_uri: Option<String>,
}

pub async fn list_runtime_tools(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    params: Result<Query<ListRuntimeToolsParams>, QueryRejection>,
) -> ApiResult<Json<ListToolDefsResponse>> {
    let p = query(params)?;
    let endpoint = non_empty(p.mcp_endpoint_uri.or(p.mcp_endpoint)).map(|uri| McpEndpoint { uri });
    let group = non_empty(p.tool_group_id);
    let data = state
        .router
        .list_runtime_tools(&ctx, group.as_deref(), endpoint.as_ref())
        .await?;
    Ok(Json(ListToolDefsResponse { data }))
}

pub async fn invoke(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<InvokeToolRequest>,
) -> ApiResult<Json<ToolInvocationResult>> {
    Ok(Json(
        state
            .router
            .invoke_tool(&ctx, &request.tool_name, request.kwargs)
            .await?,
    ))
}

/// `POST /v1/tool-runtime/rag-tool/insert`; answers `null`, as upstream's handler returns nothing.
pub async fn rag_insert(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RagInsertRequest>,
) -> ApiResult<Json<Value>> {
    RagTool::insert(state.router.as_ref(), &ctx, request).await?;
    Ok(Json(Value::Null))
}

/// `POST /v1/tool-runtime/rag-tool/query`.
pub async fn rag_query(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<RagQueryRequest>,
) -> ApiResult<Json<RagQueryResult>> {
    Ok(Json(
        RagTool::query(state.router.as_ref(), &ctx, request).await?,
    ))
}
