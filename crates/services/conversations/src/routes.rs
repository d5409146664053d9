//! Thin handlers: extract, call the service, answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use lls_api_agents::Item;
use lls_api_common::Error;
use lls_api_conversations::{
    AddItemsRequest, Conversation, ConversationDeleted, Conversations, CreateConversationRequest,
    ItemDeleted, ItemList, ListItemsQuery, UpdateConversationRequest,
};
use lls_http::{ApiError, ApiJson, ApiResult, Ctx};

use crate::validate;

type AppState = State<Arc<dyn Conversations>>;

// The 20-item limit is OpenAI's for clients; the Responses API appends a turn's items through
// the trait, however many there are.

pub async fn create(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateConversationRequest>,
) -> ApiResult<Json<Conversation>> {
    validate::item_count(request.items.as_ref().map_or(0, Vec::len))?;
    Ok(Json(svc.create(&ctx, request).await?))
}

pub async fn get(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(svc.get(&ctx, &id).await?))
}

pub async fn update(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateConversationRequest>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(svc.update(&ctx, &id, request).await?))
}

pub async fn delete(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationDeleted>> {
    Ok(Json(svc.delete(&ctx, &id).await?))
}

pub async fn add_items(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AddItemsRequest>,
) -> ApiResult<Json<ItemList>> {
    validate::item_count(request.items.len())?;
    Ok(Json(svc.add_items(&ctx, &id, request.items).await?))
}

pub async fn list_items(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<ItemList>> {
    Ok(Json(
        svc.list_items(&ctx, &id, list_query(query.as_deref().unwrap_or(""))?)
            .await?,
    ))
}

pub async fn get_item(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((id, item_id)): Path<(String, String)>,
) -> ApiResult<Json<Item>> {
    Ok(Json(svc.get_item(&ctx, &id, &item_id).await?))
}

pub async fn delete_item(
    State(svc): AppState,
    Ctx(ctx): Ctx,
    Path((id, item_id)): Path<(String, String)>,
) -> ApiResult<Json<ItemDeleted>> {
    Ok(Json(svc.delete_item(&ctx, &id, &item_id).await?))
}

/// The listing's query. `include` may repeat, bare or as `include[]` (how the OpenAI SDK
/// writes lists), which the usual query extractor cannot read; unknown keys are ignored, as
/// 0.3.5 does.
fn list_query(raw: &str) -> Result<ListItemsQuery, ApiError> {
    let mut query = ListItemsQuery::default();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        match &*key {
            "after" => query.after = Some(value.into_owned()),
            "order" => query.order = Some(value.into_owned()),
            "limit" => {
                let limit = value.trim().parse().map_err(|_| {
                    ApiError(
                        Error::invalid(format!("'limit' must be an integer; got '{value}'"))
                            .with_param("limit"),
                    )
                })?;
                query.limit = Some(limit);
            }
            "include" | "include[]" => query
                .include
                .get_or_insert_with(Vec::new)
                .push(value.into_owned()),
            _ => {}
        }
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_reads_lists_both_ways() {
        let q = list_query("limit=5&order=asc&after=msg_1&include[]=a&include=b&other=x").unwrap();
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.order.as_deref(), Some("asc"));
        assert_eq!(q.after.as_deref(), Some("msg_1"));
        assert_eq!(q.include, Some(vec!["a".into(), "b".into()]));
        assert_eq!(list_query("limit=x").unwrap_err().0.param(), Some("limit"));
        assert_eq!(list_query("").unwrap(), ListItemsQuery::default());
    }
}
