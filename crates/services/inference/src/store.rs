//! The store of chat completions behind `GET /v1/chat/completions`: rows are written by a
//! background queue in batches, never on the request path; reads flush the queue first so a
//! client sees its own writes. JSON parts are serialised once, on the request's side (a
//! backend's `choices` and `usage` are its own bytes), and stored as text. Each row records
//! the caller who asked for it; reads show a caller only what the access policy lets it read
//! (`authorized_sql`), another's completion answering like a missing one.

use std::sync::Arc;

use lls_api_common::access::Owner;
use lls_api_common::authorized_sql::{fetch_readable_one, fetch_readable_page};
use lls_api_common::store::{Column, ColumnType, Filter, OWNER_COLUMNS, Order, PageQuery, Row, SqlStore, owner_columns};
use lls_api_common::{Error, RequestContext, Result};
use lls_api_inference::{Answer, ChatCompletion, ChatMessage, Field};
use lls_storage::QueuedWriter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The JSON columns are declared as text: the store writes JSON it serialised once and parses
/// it when read (on both databases the column type is `TEXT` either way). Then the
/// [`OWNER_COLUMNS`].
const COLUMNS: [Column; 8] = [
    Column::primary_key("id", ColumnType::Text),
    Column::new("created", ColumnType::Integer),
    Column::new("model", ColumnType::Text),
    Column::new("choices", ColumnType::Text),
    Column::new("input_messages", ColumnType::Text),
    Column::new("usage", ColumnType::Text),
    OWNER_COLUMNS[0],
    OWNER_COLUMNS[1],
];

/// A completion ready to store: its JSON parts already serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRecord {
    pub id: String,
    pub created: i64,
    /// The model id the client used.
    pub model: String,
    /// JSON text of `choices`.
    pub choices: String,
    /// JSON text of `usage`, when the backend reported it.
    pub usage: Option<String>,
    /// JSON text of the request's `messages`.
    pub input_messages: String,
    /// The caller who asked for the completion (`None`: authentication off).
    pub owner: Option<Owner>,
}

impl CompletionRecord {
    /// From an answer whose `model` is already the client's; `None` when it has no id (a
    /// backend's answer that is not a completion, which is not stored).
    pub fn from_answer(answer: &Answer<ChatCompletion>, model: &str, input_messages: String, owner: Option<Owner>) -> Option<Self> {
        match answer {
            Answer::Typed(c) => Some(Self::from_completion(c, input_messages, owner)),
            Answer::Json(j) => Some(CompletionRecord {
                id: j.get::<String>(Field::Id)?,
                created: j.get::<i64>(Field::Created).unwrap_or_default(),
                model: model.to_owned(),
                choices: j.raw(Field::Choices)?.to_owned(),
                usage: j.raw(Field::Usage).map(str::to_owned),
                input_messages,
                owner,
            }),
        }
    }

    pub fn from_completion(c: &ChatCompletion, input_messages: String, owner: Option<Owner>) -> Self {
        CompletionRecord {
            id: c.id.clone(),
            created: c.created,
            model: c.model.clone(),
            choices: serde_json::to_string(&c.choices).unwrap_or_else(|_| "[]".to_owned()),
            usage: c.usage.as_ref().and_then(|u| serde_json::to_string(u).ok()),
            input_messages,
            owner,
        }
    }
}

/// A stored completion as the API returns it (0.3.5's `OpenAICompletionWithInputMessages`):
/// the completion, its usage (null when the backend reported none) and its input messages.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoredChatCompletion {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    #[schemars(with = "Vec<lls_api_inference::ChatChoice>")]
    pub choices: Value,
    #[schemars(with = "Option<lls_api_inference::Usage>")]
    pub usage: Value,
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
    /// Opens (creating or completing) the table. A completion whose id is already stored
    /// replaces it, as 0.3.5 does (a backend that repeats ids must not lose completions
    /// silently, and the last answer is the one its client saw).
    pub async fn open(store: Arc<dyn SqlStore>, table: &str, max_queue: usize, writers: usize) -> Result<Self> {
        store.create_table(table, &COLUMNS).await?;
        let writer = QueuedWriter::spawn_upsert(store.clone(), table, &["id"], max_queue, writers);
        Ok(InferenceStore { store, table: table.to_owned(), writer })
    }

    /// Queues a completion for storage; never waits.
    pub fn record(&self, record: CompletionRecord) {
        let mut row = Row::new();
        row.insert("id".into(), Value::String(record.id));
        row.insert("created".into(), record.created.into());
        row.insert("model".into(), Value::String(record.model));
        row.insert("choices".into(), Value::String(record.choices));
        row.insert("input_messages".into(), Value::String(record.input_messages));
        row.insert("usage".into(), record.usage.map_or(Value::Null, Value::String));
        row.extend(owner_columns(record.owner.as_ref()).map(|(column, value)| (column.to_owned(), value)));
        self.writer.submit(row);
    }

    /// Rows dropped because the write queue was full, and rows the database refused.
    pub fn write_failures(&self) -> (u64, u64) {
        (self.writer.dropped(), self.writer.failed())
    }

    /// Waits until every queued completion is written (reads and shutdown call it).
    pub async fn flush(&self) {
        self.writer.flush().await;
    }

    /// The completion `id`, if `ctx`'s caller may read it.
    pub async fn get(&self, ctx: &RequestContext, id: &str) -> Result<StoredChatCompletion> {
        self.writer.flush().await;
        let row = fetch_readable_one(&*self.store, &self.table, &Filter::eq("id", id), ctx)
            .await?
            .ok_or_else(|| Error::not_found(format!("Chat completion with id '{id}' not found")))?;
        Ok(from_row(row))
    }

    /// A page of the completions `ctx`'s caller may read.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        after: Option<String>,
        limit: Option<usize>,
        model: Option<String>,
        order: Order,
    ) -> Result<ListChatCompletions> {
        self.writer.flush().await;
        let mut filter = Filter::all();
        if let Some(m) = model {
            filter = filter.and("model", m);
        }
        let query = PageQuery {
            filter,
            order_by: "created".into(),
            order,
            id_column: "id".into(),
            after,
            limit: Some(limit.unwrap_or(20)),
        };
        let page = fetch_readable_page(&*self.store, &self.table, &query, ctx).await?;
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
        choices: json_text(take("choices")),
        usage: json_text(take("usage")),
        input_messages: match json_text(take("input_messages")) {
            Value::Null => json!([]),
            v => v,
        },
    }
}

/// A JSON column's text, parsed (text that is not JSON comes back as it is).
fn json_text(value: Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record(id: &str, model: &str, text: &str) -> CompletionRecord {
        CompletionRecord {
            id: id.to_owned(),
            created: 1,
            model: model.to_owned(),
            choices: format!(r#"[{{"index":0,"message":{{"role":"assistant","content":"{text}","refusal":null}},"finish_reason":"stop"}}]"#),
            usage: Some(r#"{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}"#.to_owned()),
            input_messages: r#"[{"role":"user","content":"hi"}]"#.to_owned(),
            owner: None,
        }
    }

    fn anyone() -> RequestContext {
        RequestContext::default()
    }

    async fn store() -> InferenceStore {
        InferenceStore::open(lls_testkit::stores::memory_sql().await.unwrap(), "chats", 100, 2).await.unwrap()
    }

    #[tokio::test]
    async fn stores_usage_and_the_backends_fields() {
        let s = store().await;
        s.record(record("c1", "m", "hello"));
        let got = s.get(&anyone(), "c1").await.unwrap();
        assert_eq!(got.usage["total_tokens"], 3);
        assert!(got.choices[0]["message"].as_object().unwrap().contains_key("refusal"));
        assert_eq!(got.input_messages[0]["content"], "hi");
        let shown = serde_json::to_value(&got).unwrap();
        assert_eq!(shown["object"], "chat.completion");
        let mut bare = record("c2", "m", "x");
        bare.usage = None;
        s.record(bare);
        assert!(s.get(&anyone(), "c2").await.unwrap().usage.is_null());
        assert!(serde_json::to_value(s.get(&anyone(), "c2").await.unwrap()).unwrap().as_object().unwrap().contains_key("usage"));
    }

    #[tokio::test]
    async fn a_repeated_id_replaces_the_stored_completion() {
        let s = store().await;
        s.record(record("dup", "m1", "first"));
        s.flush().await;
        s.record(record("dup", "m2", "second"));
        // And twice in one batch: the last wins.
        s.record(record("dup2", "m", "a"));
        s.record(record("dup2", "m", "b"));
        let got = s.get(&anyone(), "dup").await.unwrap();
        assert_eq!((got.model.as_str(), got.choices[0]["message"]["content"].as_str()), ("m2", Some("second")));
        assert_eq!(s.get(&anyone(), "dup2").await.unwrap().choices[0]["message"]["content"], "b");
        let list = s.list(&anyone(), None, None, None, Order::Desc).await.unwrap();
        assert_eq!(list.data.len(), 2);
        assert_eq!(s.write_failures(), (0, 0));
    }

    #[test]
    fn a_backends_answer_is_recorded_from_its_bytes() {
        let body = r#"{"id":"x1","object":"chat.completion","created":7,"model":"backend","choices":[{"index":0,"message":{"role":"assistant","content":"hi","annotations":[]}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"completion_tokens_details":{"reasoning_tokens":0}}}"#;
        let mut answer = Answer::<ChatCompletion>::from_json(Bytes::from(body)).unwrap();
        answer.set_model("client");
        let r = CompletionRecord::from_answer(&answer, "client", "[]".into(), None).unwrap();
        assert_eq!((r.id.as_str(), r.created, r.model.as_str()), ("x1", 7, "client"));
        assert_eq!(r.choices, r#"[{"index":0,"message":{"role":"assistant","content":"hi","annotations":[]}}]"#);
        assert!(r.usage.unwrap().contains("reasoning_tokens"));
    }

    /// Each completion records who asked for it: under the default policy alice and bob each
    /// see their own and the one stored with authentication off; another's answers not found.
    #[tokio::test]
    async fn completions_belong_to_their_caller() {
        use lls_testkit::callers::{admin_or_owner_policy, caller_ctx, default_policy};
        let s = store().await;
        let alice = caller_ctx("alice", &[("roles", &["a"])], default_policy());
        let bob = caller_ctx("bob", &[("roles", &["b"])], default_policy());
        let mut mine = record("alice-1", "m", "hers");
        mine.owner = alice.owner();
        let mut theirs = record("bob-1", "m", "his");
        (theirs.created, theirs.owner) = (2, bob.owner());
        let mut open = record("open-1", "m", "anyone's");
        open.created = 3;
        for r in [mine, theirs, open] {
            s.record(r);
        }
        let ids = |list: ListChatCompletions| list.data.into_iter().map(|c| c.id).collect::<Vec<_>>();
        let listed = s.list(&alice, None, None, None, Order::Asc).await.unwrap();
        assert_eq!(ids(listed), ["alice-1", "open-1"]);
        assert_eq!(ids(s.list(&bob, None, None, None, Order::Asc).await.unwrap()), ["bob-1", "open-1"]);
        assert_eq!(s.list(&anyone(), None, None, None, Order::Asc).await.unwrap().data.len(), 3);
        let first = s.list(&alice, None, Some(1), None, Order::Asc).await.unwrap();
        assert_eq!((first.last_id.as_str(), first.has_more), ("alice-1", true));
        let hidden = s.get(&alice, "bob-1").await.unwrap_err();
        let missing = s.get(&alice, "nope").await.unwrap_err();
        assert_eq!(hidden.kind(), missing.kind());
        assert_eq!(hidden.message(), "Chat completion with id 'bob-1' not found");
        assert_eq!(s.get(&bob, "bob-1").await.unwrap().choices[0]["message"]["content"], "his");
        assert_eq!(s.get(&bob, "open-1").await.unwrap().id, "open-1");
        // A custom policy is checked row by row: the owner only (not even the open one), or an admin.
        let alice = caller_ctx("alice", &[("roles", &["a"])], admin_or_owner_policy().unwrap());
        assert_eq!(ids(s.list(&alice, None, None, None, Order::Asc).await.unwrap()), ["alice-1"]);
        let admin = caller_ctx("root", &[("roles", &["admin"])], admin_or_owner_policy().unwrap());
        assert_eq!(s.list(&admin, None, None, None, Order::Asc).await.unwrap().data.len(), 3);
    }
}
