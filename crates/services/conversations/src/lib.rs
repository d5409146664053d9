//! The conversations service, built into the stack as in 0.3.5: conversations and their
//! ordered items in `storage.stores.conversations` ([`SqlConversations`]), and the eight
//! `/v1/conversations` routes. Served whatever run.yaml's `apis:` says, when the store is set.

mod routes;
mod store;
mod validate;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use lls_api_agents::Item;
use lls_api_common::{Api, Result};
use lls_api_conversations::{
    AddItemsRequest, Conversation, ConversationDeleted, Conversations, ConversationsApi,
    CreateConversationRequest, ItemDeleted, ItemList, ListItemsQuery, UpdateConversationRequest,
};
use lls_http::{RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

pub use store::{ITEMS_TABLE, SqlConversations};

lls_registry::register_service! {
    api: ConversationsApi,
    depends_on: [],
    builtin: true,
    description: "Conversations and their items (OpenAI's /v1/conversations), in storage.stores.conversations",
    build: build,
    routes: book,
}

/// Nothing to serve without `storage.stores.conversations` (0.3.5 refuses to start then; here
/// the routes are simply absent).
async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let Some(reference) = &ctx.config.storage.stores.conversations else {
        return Ok(None);
    };
    let sql = ctx.stores.sql(&reference.backend).await?;
    let state = Arc::new(SqlConversations::open(sql, &reference.table_name).await?);
    let service: Arc<dyn Conversations> = state.clone();
    Ok(Some(
        BuiltService::new(state)
            .export::<ConversationsApi>(service.clone())
            .with_routes(route_group(service)),
    ))
}

/// The routes over any [`Conversations`] (the server mounts the built service's; tests build
/// their own).
pub fn route_group(service: Arc<dyn Conversations>) -> RouteGroup {
    RouteGroup::new(book(), service)
}

fn book() -> RouteBook<Arc<dyn Conversations>> {
    const API: Api = Api::Conversations;
    const ONE: &str = "/v1/conversations/{conversation_id}";
    const ITEMS: &str = "/v1/conversations/{conversation_id}/items";
    const ITEM: &str = "/v1/conversations/{conversation_id}/items/{item_id}";
    RouteBook::new()
        .add(
            op(
                "POST",
                "/v1/conversations",
                API,
                "create_conversation",
                "Create a conversation.",
            )
            .body::<CreateConversationRequest>()
            .returns::<Conversation>(),
            post(routes::create),
        )
        .add(
            op(
                "GET",
                ONE,
                API,
                "get_conversation",
                "Retrieve a conversation.",
            )
            .returns::<Conversation>(),
            get(routes::get),
        )
        .add(
            op(
                "POST",
                ONE,
                API,
                "update_conversation",
                "Replace a conversation's metadata.",
            )
            .body::<UpdateConversationRequest>()
            .returns::<Conversation>(),
            post(routes::update),
        )
        .add(
            op(
                "DELETE",
                ONE,
                API,
                "openai_delete_conversation",
                "Delete a conversation and its items.",
            )
            .returns::<ConversationDeleted>(),
            delete(routes::delete),
        )
        .add(
            op(
                "POST",
                ITEMS,
                API,
                "add_items",
                "Append items to a conversation.",
            )
            .body::<AddItemsRequest>()
            .returns::<ItemList>(),
            post(routes::add_items),
        )
        .add(
            op(
                "GET",
                ITEMS,
                API,
                "list",
                "List a conversation's items (newest first unless order=asc).",
            )
            .query::<ListItemsQuery>()
            .returns::<ItemList>(),
            get(routes::list_items),
        )
        .add(
            op(
                "GET",
                ITEM,
                API,
                "retrieve",
                "Retrieve a conversation item.",
            )
            .returns::<Item>(),
            get(routes::get_item),
        )
        .add(
            op(
                "DELETE",
                ITEM,
                API,
                "openai_delete_conversation_item",
                "Delete a conversation item.",
            )
            .returns::<ItemDeleted>(),
            delete(routes::delete_item),
        )
}
