//! Stored responses (0.3.5's `ResponsesStore`): table `openai_responses` holds each response
//! with its input items and the chat messages that continue it (`previous_response_id`);
//! `conversation_messages` holds the chat messages of each conversation. Writes are
//! synchronous: a response is stored before its `response.completed` event is sent. Rows record
//! their owner; another caller's response answers exactly as a missing one.

use std::sync::Arc;

use lls_api_agents::{
    InputItemList, InputItemsQuery, Item, ResponseDeleted, ResponseList, ResponseObject,
    ResponseWithInput,
};
use lls_api_common::access::Action;
use lls_api_common::authorized_sql::{fetch_for, fetch_readable_one, fetch_readable_page};
use lls_api_common::store::{
    Column, ColumnType, Filter, OWNER_COLUMNS, Order, PageQuery, Row, SqlStore, owner_columns,
    page_limit,
};
use lls_api_common::{Error, RequestContext, Result};
use lls_api_inference::ChatMessage;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const RESPONSES: &str = "openai_responses";
const CONVERSATION_MESSAGES: &str = "conversation_messages";

const RESPONSE_COLUMNS: [Column; 6] = [
    Column::primary_key("id", ColumnType::Text),
    Column::new("created_at", ColumnType::Integer),
    Column::new("model", ColumnType::Text),
    Column::new("response_object", ColumnType::Text),
    OWNER_COLUMNS[0],
    OWNER_COLUMNS[1],
];

const MESSAGE_COLUMNS: [Column; 4] = [
    Column::primary_key("conversation_id", ColumnType::Text),
    Column::new("messages", ColumnType::Text),
    OWNER_COLUMNS[0],
    OWNER_COLUMNS[1],
];

/// Most items one input-items page holds.
const MAX_LIMIT: usize = 100;

/// A stored response: what the client sees, the input it was made from, and the chat
/// messages (without system messages) a follow-up continues from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredResponse {
    #[serde(flatten)]
    pub response: ResponseObject,
    pub input: Vec<Item>,
    #[serde(default)]
    pub messages: Vec<ChatMessage>,
}

/// The responses tables on one SQL backend.
pub struct ResponsesStore {
    sql: Arc<dyn SqlStore>,
}

/// 0.3.5 answers an unknown (or another caller's) response with a 400 carrying this text, and
/// its clients expect that status (`BadRequestError`), so it is kept.
fn not_found(id: &str) -> Error {
    Error::invalid(format!("Response with id {id} not found"))
}

fn decode(row: &Row) -> Result<StoredResponse> {
    let text = row
        .get("response_object")
        .and_then(Value::as_str)
        .unwrap_or_default();
    serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("a stored response could not be read: {e}")))
}

impl ResponsesStore {
    pub async fn open(sql: Arc<dyn SqlStore>) -> Result<Self> {
        sql.create_table(RESPONSES, &RESPONSE_COLUMNS).await?;
        sql.create_table(CONVERSATION_MESSAGES, &MESSAGE_COLUMNS)
            .await?;
        Ok(ResponsesStore { sql })
    }

    pub async fn put(&self, ctx: &RequestContext, stored: &StoredResponse) -> Result<()> {
        let text = serde_json::to_string(stored)
            .map_err(|e| Error::internal(format!("could not serialise a response: {e}")))?;
        let mut row = Row::new();
        row.insert("id".into(), Value::String(stored.response.id.clone()));
        row.insert("created_at".into(), Value::from(stored.response.created_at));
        row.insert("model".into(), Value::String(stored.response.model.clone()));
        row.insert("response_object".into(), Value::String(text));
        for (k, v) in owner_columns(ctx.owner().as_ref()) {
            row.insert(k.into(), v);
        }
        self.sql.insert(RESPONSES, &[row]).await
    }

    /// A response the caller may read; 404 otherwise.
    pub async fn get(&self, ctx: &RequestContext, id: &str) -> Result<StoredResponse> {
        let row = fetch_readable_one(self.sql.as_ref(), RESPONSES, &Filter::eq("id", id), ctx)
            .await?
            .ok_or_else(|| not_found(id))?;
        decode(&row)
    }

    pub async fn delete(&self, ctx: &RequestContext, id: &str) -> Result<ResponseDeleted> {
        let filter = Filter::eq("id", id);
        fetch_for(self.sql.as_ref(), RESPONSES, &filter, ctx, Action::Delete)
            .await?
            .ok_or_else(|| not_found(id))?;
        self.sql.delete(RESPONSES, &filter).await?;
        Ok(ResponseDeleted {
            id: id.to_owned(),
            object: "response".into(),
            deleted: true,
        })
    }

    /// `GET /v1/responses`: newest first unless `order=asc`, `limit` 1..=100 (default 50).
    pub async fn list(
        &self,
        ctx: &RequestContext,
        after: Option<String>,
        limit: Option<i64>,
        model: Option<String>,
        order: Option<&str>,
    ) -> Result<ResponseList> {
        let mut filter = Filter::all();
        if let Some(model) = model {
            filter = filter.and("model", model);
        }
        let query = PageQuery {
            filter,
            order_by: "created_at".into(),
            order: Order::from_query(order)?,
            id_column: "id".into(),
            after,
            limit: Some(page_limit(limit, 50, MAX_LIMIT)?),
        };
        let page = fetch_readable_page(self.sql.as_ref(), RESPONSES, &query, ctx).await?;
        let data = page
            .rows
            .iter()
            .map(|row| {
                decode(row).map(|s| ResponseWithInput {
                    response: s.response,
                    input: s.input,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ResponseList {
            first_id: data
                .first()
                .map(|r| r.response.id.clone())
                .unwrap_or_default(),
            last_id: data
                .last()
                .map(|r| r.response.id.clone())
                .unwrap_or_default(),
            has_more: page.has_more,
            data,
            object: "list".into(),
        })
    }

    /// `GET /v1/responses/{id}/input_items`: newest first unless `order=asc`; `after` and
    /// `before` are item ids of the list in that order (an unknown one is a 400).
    pub async fn input_items(
        &self,
        ctx: &RequestContext,
        id: &str,
        query: InputItemsQuery,
    ) -> Result<InputItemList> {
        if query.after.is_some() && query.before.is_some() {
            return Err(Error::invalid(
                "Cannot specify both 'before' and 'after' parameters",
            ));
        }
        let order = Order::from_query(query.order.as_deref())?;
        let limit = page_limit(query.limit, 20, MAX_LIMIT)?;
        let mut items = self.get(ctx, id).await?.input;
        if order == Order::Desc {
            items.reverse();
        }
        let position = |item_id: &str| items.iter().position(|i| i.id() == Some(item_id));
        let (mut start, mut end) = (0, items.len());
        if let Some(after) = &query.after {
            start = position(after).ok_or_else(|| {
                Error::invalid(format!(
                    "Input item with id '{after}' not found for response '{id}'"
                ))
                .with_param("after")
            })? + 1;
        }
        if let Some(before) = &query.before {
            end = position(before).ok_or_else(|| {
                Error::invalid(format!(
                    "Input item with id '{before}' not found for response '{id}'"
                ))
                .with_param("before")
            })?;
        }
        let window: Vec<Item> = items
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect();
        let has_more = window.len() > limit;
        let data: Vec<Item> = window.into_iter().take(limit).collect();
        Ok(InputItemList {
            first_id: data.first().and_then(|i| i.id()).map(str::to_owned),
            last_id: data.last().and_then(|i| i.id()).map(str::to_owned),
            has_more,
            data,
            object: "list".into(),
        })
    }

    /// The chat messages a conversation continues from (`None` before its first response).
    pub async fn conversation_messages(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Vec<ChatMessage>>> {
        let Some(row) = self
            .sql
            .fetch_one(
                CONVERSATION_MESSAGES,
                &Filter::eq("conversation_id", conversation_id),
            )
            .await?
        else {
            return Ok(None);
        };
        let text = row.get("messages").and_then(Value::as_str).unwrap_or("[]");
        serde_json::from_str(text).map(Some).map_err(|e| {
            Error::internal(format!(
                "stored conversation messages could not be read: {e}"
            ))
        })
    }

    pub async fn put_conversation_messages(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
        messages: &[ChatMessage],
    ) -> Result<()> {
        let text = serde_json::to_string(messages)
            .map_err(|e| Error::internal(format!("could not serialise messages: {e}")))?;
        let mut row = Row::new();
        row.insert(
            "conversation_id".into(),
            Value::String(conversation_id.to_owned()),
        );
        row.insert("messages".into(), Value::String(text));
        for (k, v) in owner_columns(ctx.owner().as_ref()) {
            row.insert(k.into(), v);
        }
        self.sql
            .upsert(CONVERSATION_MESSAGES, &row, &["conversation_id"])
            .await
    }
}
