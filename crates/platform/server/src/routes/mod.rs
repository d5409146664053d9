//! The application router: every served route, the shared state, the not-found and
//! method-not-allowed answers and the body limit (the edge layers are in `crate::edge`).

mod files;
mod inference;
mod inspect;
mod models;
mod providers;
mod tools;
mod vector_io;
mod vector_stores;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use lls_api_common::{Api, Error};
use lls_routing::Stack;

use crate::error::ApiError;
use crate::route_book::{Op, RouteBook, RouteInfo};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub stack: Arc<Stack>,
    pub routes: Arc<Vec<RouteInfo>>,
}

/// Largest request body accepted, through axum's `DefaultBodyLimit` so a route can set its own
/// (file uploads: the files provider's cap, enforced while the body streams in).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

fn op(method: &'static str, path: &'static str, api: Api, operation_id: &'static str, summary: &'static str) -> Op {
    Op { method, path, api, operation_id, summary }
}

/// Which optional route groups a stack serves.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub inference: bool,
    /// `/v1/files`, when a files provider is configured.
    pub files: bool,
    /// Tool groups, tools and the tool runtime, when run.yaml's `apis` names tool_runtime (or
    /// lists no APIs).
    pub tool_runtime: bool,
    /// `/v1/vector_stores` and `/v1/vector-io`, when vector_io providers are configured (and
    /// run.yaml's `apis` names vector_io, or lists no APIs).
    pub vector_io: bool,
}

impl Served {
    /// Inference (and models) are served when run.yaml's `apis` names inference, or lists no
    /// APIs at all (upstream then serves every API with providers).
    pub fn of(stack: &Stack) -> Self {
        let apis = &stack.config.apis;
        Served {
            inference: apis.is_empty() || apis.iter().any(|a| a == "inference"),
            files: stack.files.is_some(),
            tool_runtime: apis.is_empty() || apis.iter().any(|a| a == "tool_runtime"),
            vector_io: stack.vector_stores.is_some() && (apis.is_empty() || apis.iter().any(|a| a == "vector_io")),
        }
    }

    /// Everything this build can serve (for the OpenAPI document).
    pub fn all() -> Self {
        Served { inference: true, files: true, tool_runtime: true, vector_io: true }
    }
}

/// Every route served, with its handler.
fn book(served: Served) -> RouteBook<AppState> {
    let mut b = RouteBook::new()
        .add(op("GET", "/v1/health", Api::Inspect, "health", "Health of the server."), get(inspect::health))
        .add(op("GET", "/v1/version", Api::Inspect, "version", "Version of the API."), get(inspect::version))
        .add(op("GET", "/v1/inspect/routes", Api::Inspect, "list_routes", "Every route served."), get(inspect::routes))
        .add(op("GET", "/v1/providers", Api::Providers, "list_providers", "Configured providers."), get(providers::list))
        .add(
            op("GET", "/v1/providers/{provider_id}", Api::Providers, "inspect_provider", "One provider."),
            get(providers::get),
        );
    if served.inference {
        b = b
            .add(op("GET", "/v1/models", Api::Models, "list_models", "Registered models."), get(models::list))
            .add(op("POST", "/v1/models", Api::Models, "register_model", "Register a model."), post(models::register))
            .add(
                op("GET", "/v1/models/{*model_id}", Api::Models, "get_model", "One model."),
                get(models::get),
            )
            .add(op("DELETE", "/v1/models/{*model_id}", Api::Models, "unregister_model", "Unregister a model."), delete(models::unregister))
            .add(op("GET", "/v1/openai/v1/models", Api::Models, "openai_list_models", "Models in OpenAI's list shape (deprecated)."), get(models::openai_list))
            .add_with_alias(
                op("POST", "/v1/chat/completions", Api::Inference, "openai_chat_completion", "Create a chat completion."),
                post(inference::chat),
            )
            .add_with_alias(
                op("GET", "/v1/chat/completions", Api::Inference, "list_chat_completions", "Stored chat completions."),
                get(inference::list_chats),
            )
            .add_with_alias(
                op("GET", "/v1/chat/completions/{completion_id}", Api::Inference, "get_chat_completion", "One stored chat completion."),
                get(inference::get_chat),
            )
            .add_with_alias(
                op("POST", "/v1/completions", Api::Inference, "openai_completion", "Create a text completion."),
                post(inference::completion),
            )
            .add_with_alias(
                op("POST", "/v1/embeddings", Api::Inference, "openai_embeddings", "Create embeddings."),
                post(inference::embeddings),
            );
    }
    if served.files {
        b = b
            .add_with_alias(
                op("POST", "/v1/files", Api::Files, "openai_upload_file", "Upload a file (multipart: file, purpose, expires_after)."),
                // The upload streams through the provider, which enforces its own size cap.
                post(files::upload).layer(DefaultBodyLimit::disable()),
            )
            .add_with_alias(op("GET", "/v1/files", Api::Files, "openai_list_files", "List files."), get(files::list))
            .add_with_alias(
                op("GET", "/v1/files/{file_id}", Api::Files, "openai_retrieve_file", "Retrieve a file's metadata."),
                get(files::retrieve),
            )
            .add_with_alias(
                op("DELETE", "/v1/files/{file_id}", Api::Files, "openai_delete_file", "Delete a file."),
                delete(files::delete),
            )
            .add_with_alias(
                op("GET", "/v1/files/{file_id}/content", Api::Files, "openai_retrieve_file_content", "Retrieve a file's content."),
                get(files::content),
            );
    }
    if served.tool_runtime {
        b = b
            .add(op("POST", "/v1/toolgroups", Api::ToolGroups, "register_tool_group", "Register a tool group."), post(tools::register))
            .add(op("GET", "/v1/toolgroups", Api::ToolGroups, "list_tool_groups", "Registered tool groups."), get(tools::list_groups))
            .add(
                op("GET", "/v1/toolgroups/{*toolgroup_id}", Api::ToolGroups, "get_tool_group", "One tool group."),
                get(tools::get_group),
            )
            .add(
                op("DELETE", "/v1/toolgroups/{*toolgroup_id}", Api::ToolGroups, "unregister_toolgroup", "Unregister a tool group."),
                delete(tools::unregister),
            )
            .add(op("GET", "/v1/tools", Api::ToolGroups, "list_tools", "Tools of one or every tool group."), get(tools::list_tools))
            .add(op("GET", "/v1/tools/{*tool_name}", Api::ToolGroups, "get_tool", "One tool, as last listed."), get(tools::get_tool))
            .add(
                op("GET", "/v1/tool-runtime/list-tools", Api::ToolRuntime, "list_runtime_tools", "Tools of one or every tool group."),
                get(tools::list_runtime_tools),
            )
            .add(op("POST", "/v1/tool-runtime/invoke", Api::ToolRuntime, "invoke_tool", "Run a tool by name."), post(tools::invoke))
            .add(
                op("POST", "/v1/tool-runtime/rag-tool/insert", Api::ToolRuntime, "rag_tool_insert", "Index documents for the RAG tool."),
                post(tools::rag_insert),
            )
            .add(
                op("POST", "/v1/tool-runtime/rag-tool/query", Api::ToolRuntime, "rag_tool_query", "Query the RAG tool for context."),
                post(tools::rag_query),
            );
    }
    if served.vector_io {
        b = vector_io_routes(b);
    }
    b
}

/// The OpenAI vector stores routes (each with its `/v1/openai/v1` alias) and the native ones.
fn vector_io_routes(b: RouteBook<AppState>) -> RouteBook<AppState> {
    use vector_stores as vs;
    const STORES: &str = "/v1/vector_stores";
    const STORE: &str = "/v1/vector_stores/{vector_store_id}";
    const FILES: &str = "/v1/vector_stores/{vector_store_id}/files";
    const FILE: &str = "/v1/vector_stores/{vector_store_id}/files/{file_id}";
    const BATCHES: &str = "/v1/vector_stores/{vector_store_id}/file_batches";
    const BATCH: &str = "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}";
    let api = Api::VectorIo;
    b.add_with_alias(op("POST", STORES, api, "openai_create_vector_store", "Create a vector store."), post(vs::create))
        .add_with_alias(op("GET", STORES, api, "openai_list_vector_stores", "List vector stores."), get(vs::list))
        .add_with_alias(op("GET", STORE, api, "openai_retrieve_vector_store", "Retrieve a vector store."), get(vs::retrieve))
        .add_with_alias(op("POST", STORE, api, "openai_update_vector_store", "Update a vector store."), post(vs::update))
        .add_with_alias(op("DELETE", STORE, api, "openai_delete_vector_store", "Delete a vector store."), delete(vs::delete))
        .add_with_alias(
            op("POST", "/v1/vector_stores/{vector_store_id}/search", api, "openai_search_vector_store", "Search a vector store."),
            post(vs::search),
        )
        .add_with_alias(op("POST", FILES, api, "openai_attach_file_to_vector_store", "Attach a file to a vector store."), post(vs::attach_file))
        .add_with_alias(op("GET", FILES, api, "openai_list_files_in_vector_store", "List the files of a vector store."), get(vs::list_files))
        .add_with_alias(op("GET", FILE, api, "openai_retrieve_vector_store_file", "Retrieve a vector store file."), get(vs::retrieve_file))
        .add_with_alias(op("POST", FILE, api, "openai_update_vector_store_file", "Update a vector store file's attributes."), post(vs::update_file))
        .add_with_alias(op("DELETE", FILE, api, "openai_delete_vector_store_file", "Detach a file from a vector store."), delete(vs::delete_file))
        .add_with_alias(
            op(
                "GET",
                "/v1/vector_stores/{vector_store_id}/files/{file_id}/content",
                api,
                "openai_retrieve_vector_store_file_contents",
                "The chunks of a vector store file.",
            ),
            get(vs::file_contents),
        )
        .add_with_alias(op("POST", BATCHES, api, "openai_create_vector_store_file_batch", "Create a file batch."), post(vs::create_batch))
        .add_with_alias(op("GET", BATCH, api, "openai_retrieve_vector_store_file_batch", "Retrieve a file batch."), get(vs::retrieve_batch))
        .add_with_alias(
            op(
                "GET",
                "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files",
                api,
                "openai_list_files_in_vector_store_file_batch",
                "List the files of a file batch.",
            ),
            get(vs::list_batch_files),
        )
        .add_with_alias(
            op(
                "POST",
                "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel",
                api,
                "openai_cancel_vector_store_file_batch",
                "Cancel a file batch.",
            ),
            post(vs::cancel_batch),
        )
        .add(op("POST", "/v1/vector-io/insert", api, "insert_chunks", "Insert chunks into a vector store."), post(vector_io::insert))
        .add(op("POST", "/v1/vector-io/query", api, "query_chunks", "Query chunks of a vector store."), post(vector_io::query))
}

/// Every route for a built stack; `crate::edge` adds the edge layers around it.
pub fn app(stack: Arc<Stack>) -> Router {
    let (router, routes) = book(Served::of(&stack)).finish();
    let routes = dedup(routes);
    let state = AppState { stack, routes: Arc::new(routes) };
    router
        .route("/openapi.json", get(inspect::openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The routes served for `served`, as recorded while building the router.
pub fn route_table(served: Served) -> Vec<RouteInfo> {
    dedup(book(served).finish().1)
}

/// Routes that share a path are registered together; keep one entry per (method, path).
fn dedup(mut routes: Vec<RouteInfo>) -> Vec<RouteInfo> {
    let mut seen = std::collections::BTreeSet::new();
    routes.retain(|r| seen.insert((r.method, r.path.clone())));
    routes
}

async fn not_found() -> ApiError {
    ApiError(Error::not_found("Not Found"))
}

async fn method_not_allowed() -> Response {
    let e = Error::invalid("Method Not Allowed");
    let mut r = ApiError(e).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}
