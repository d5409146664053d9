//! The store of chat completions behind `GET /v1/chat/completions`: rows are written by a
//! background queue, never on the request path; reads flush the queue first so a client sees
//! its own writes.

use std::sync::Arc;

use lls_api_common::store::{Column, ColumnType, Filter, Order, PageQuery, Row, SqlStore};
use lls_api_common::{Error, Result};
use lls_api_inference::{ChatCompletion, ChatMessage};
use lls_storage::QueuedWriter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const COLUMNS: &[Column] = &[
    Column::primary_key("id", ColumnType::Text),
    Column::new("created", ColumnType::Integer),
    Column::new("model", ColumnType::Text),
    Column::new("choices", ColumnType::Json),
    Column::new("input_messages", ColumnType::Json),
];

/// A stored completion as the API returns it: the completion plus its input messages.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoredChatCompletion {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    #[schemars(with = "Vec<lls_api_inference::ChatChoice>")]
    pub choices: Value,
    #[schemars(with = "Vec<ChatMessage>")]
    pub input_messages: Value,
}

/// `GET /v1/chat/completions`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListChatCompletions {
    pub data: Vec<StoredChatCompletion>,
    pub has_more: bool,
    pub first_id: String,
    pub last_id: String,
    pub object: String,
}

pub struct InferenceStore {
    store: Arc<dyn SqlStore>,
    table: String,
    writer: QueuedWriter,
}

impl InferenceStore {
    pub async fn open(store: Arc<dyn SqlStore>, table: &str, max_queue: usize, writers: usize) -> Result<Self> {
        store.create_table(table, COLUMNS).await?;
        let writer = QueuedWriter::spawn(store.clone(), table, max_queue, writers);
        Ok(InferenceStore { store, table: table.to_owned(), writer })
    }

    /// Queues a completion for storage; never waits.
    pub fn record(&self, completion: &ChatCompletion, input_messages: &[ChatMessage]) {
        let mut row = Row::new();
        row.insert("id".into(), completion.id.clone().into());
        row.insert("created".into(), completion.created.into());
        row.insert("model".into(), completion.model.clone().into());
        row.insert("choices".into(), serde_json::to_value(&completion.choices).unwrap_or(Value::Null));
        row.insert("input_messages".into(), serde_json::to_value(input_messages).unwrap_or(Value::Null));
        self.writer.submit(row);
    }

    /// Waits until every queued completion is written (reads and shutdown call it).
    pub async fn flush(&self) {
        self.writer.flush().await;
    }

    pub async fn get(&self, id: &str) -> Result<StoredChatCompletion> {
        self.writer.flush().await;
        let row = self
            .store
            .fetch_one(&self.table, &Filter::eq("id", id))
            .await?
            .ok_or_else(|| Error::not_found(format!("Chat completion with id '{id}' not found")))?;
        Ok(from_row(row))
    }

    pub async fn list(&self, after: Option<String>, limit: Option<usize>, model: Option<String>, order: Order) -> Result<ListChatCompletions> {
        self.writer.flush().await;
        let mut filter = Filter::all();
        if let Some(m) = model {
            filter = filter.and("model", m);
        }
        let page = self
            .store
            .fetch_page(
                &self.table,
                &PageQuery {
                    filter,
                    order_by: "created".into(),
                    order,
                    id_column: "id".into(),
                    after,
                    limit: Some(limit.unwrap_or(20)),
                },
            )
            .await?;
        let data: Vec<StoredChatCompletion> = page.rows.into_iter().map(from_row).collect();
        Ok(ListChatCompletions {
            first_id: data.first().map(|c| c.id.clone()).unwrap_or_default(),
            last_id: data.last().map(|c| c.id.clone()).unwrap_or_default(),
            has_more: page.has_more,
            data,
            object: "list".into(),
        })
    }
}

fn from_row(mut row: Row) -> StoredChatCompletion {
    let mut take = |k: &str| row.remove(k).unwrap_or(Value::Null);
    StoredChatCompletion {
        id: take("id").as_str().unwrap_or_default().to_owned(),
        object: "chat.completion".into(),
        created: take("created").as_i64().unwrap_or_default(),
        model: take("model").as_str().unwrap_or_default().to_owned(),
        choices: take("choices"),
        input_messages: match take("input_messages") {
            Value::Null => json!([]),
            v => v,
        },
    }
}
