//! [`SqlConversations`]: the `Conversations` implementation over a [`SqlStore`] (SQLite or
//! PostgreSQL). Conversation rows carry their creator's owner; items belong to their
//! conversation and are ordered by an explicit sequence, never by timestamps alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use lls_api_agents::Item;
use lls_api_common::access::Action;
use lls_api_common::authorized_sql::{fetch_for, fetch_readable_one};
use lls_api_common::store::{
    Column, ColumnType, Filter, OWNER_COLUMNS, Order, PageQuery, Row, SqlStore, owner_columns,
};
use lls_api_common::{Error, RequestContext, Result, unix_now};
use lls_api_conversations::{
    Conversation, ConversationDeleted, Conversations, CreateConversationRequest, ItemDeleted,
    ItemList, ListItemsQuery, Metadata, UpdateConversationRequest,
};
use serde_json::Value;

use crate::validate;

/// The items table (0.3.5's name; like 0.3.5, `table_name` names only the conversations table).
pub const ITEMS_TABLE: &str = "conversation_items";

const CONVERSATION_COLUMNS: [Column; 5] = [
    Column::primary_key("id", ColumnType::Text),
    Column::new("created_at", ColumnType::Integer),
    Column::new("metadata", ColumnType::Json),
    OWNER_COLUMNS[0],
    OWNER_COLUMNS[1],
];

/// `item_key` is `<conversation id>/<item id>`: an item id is unique within its conversation
/// (adding it again replaces it), and the same id may live in two conversations. `sequence`
/// orders the items; `created_at` is only informative.
const ITEM_COLUMNS: [Column; 6] = [
    Column::primary_key("item_key", ColumnType::Text),
    Column::new("id", ColumnType::Text),
    Column::new("conversation_id", ColumnType::Text),
    Column::new("sequence", ColumnType::Integer),
    Column::new("created_at", ColumnType::Integer),
    Column::new("item_data", ColumnType::Json),
];

/// Conversations and their items in two tables of one SQL store.
pub struct SqlConversations {
    store: Arc<dyn SqlStore>,
    table: String,
}

fn conversation_not_found(id: &str) -> Error {
    Error::not_found(format!("Conversation {id} not found"))
}

fn item_not_found(conversation_id: &str, item_id: &str) -> Error {
    Error::not_found(format!(
        "Item {item_id} not found in conversation {conversation_id}"
    ))
}

fn item_key(conversation_id: &str, item_id: &str) -> String {
    format!("{conversation_id}/{item_id}")
}

/// `n` consecutive sequence numbers, the first returned: microseconds since the epoch, but
/// always past the last ones this process handed out, so a call's items keep their order
/// and later calls sort after earlier ones even within one microsecond (0.3.5 orders by
/// `created_at + index`, whole seconds, so two calls in one second interleave). Servers
/// sharing a database order concurrent appends by their clocks.
fn next_sequences(n: usize) -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2))
        .unwrap_or_default();
    let mut first = 0;
    let _ = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
        first = now.max(last.saturating_add(1));
        Some(first.saturating_add(n - 1))
    });
    first
}

fn to_conversation(row: &Row) -> Result<Conversation> {
    let id = row
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::internal("a conversation row lacks its id"))?;
    let metadata: Option<Metadata> = match row.get("metadata") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|e| Error::internal(format!("conversation {id}: bad metadata: {e}")))?,
        ),
    };
    Ok(Conversation {
        id: id.to_owned(),
        object: "conversation".into(),
        created_at: row
            .get("created_at")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        metadata,
        items: None,
    })
}

fn to_item(row: &Row) -> Result<Item> {
    let data = row.get("item_data").cloned().unwrap_or(Value::Null);
    serde_json::from_value(data)
        .map_err(|e| Error::internal(format!("a stored conversation item does not parse: {e}")))
}

fn to_list(items: Vec<Item>, has_more: bool) -> ItemList {
    ItemList {
        object: "list".into(),
        first_id: items.first().and_then(Item::id).map(str::to_owned),
        last_id: items.last().and_then(Item::id).map(str::to_owned),
        data: items,
        has_more,
    }
}

impl SqlConversations {
    /// Creates the two tables if missing.
    pub async fn open(store: Arc<dyn SqlStore>, table: &str) -> Result<Self> {
        store.create_table(table, &CONVERSATION_COLUMNS).await?;
        store.create_table(ITEMS_TABLE, &ITEM_COLUMNS).await?;
        Ok(SqlConversations {
            store,
            table: table.to_owned(),
        })
    }

    /// The conversation row if the caller may read it (`Read`) or also do `action` to it.
    async fn conversation_row(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: Action,
    ) -> Result<Row> {
        validate::conversation_id(id)?;
        let filter = Filter::eq("id", id);
        let row = match action {
            Action::Read => fetch_readable_one(&*self.store, &self.table, &filter, ctx).await?,
            _ => fetch_for(&*self.store, &self.table, &filter, ctx, action).await?,
        };
        row.ok_or_else(|| conversation_not_found(id))
    }

    /// Gives id-less items their id (`msg_…` for messages, `item_…` otherwise, as 0.3.5) and
    /// upserts them after the conversation's other items, in order.
    async fn append(&self, conversation_id: &str, mut items: Vec<Item>) -> Result<Vec<Item>> {
        if items.is_empty() {
            return Ok(items);
        }
        let first = next_sequences(items.len());
        let created_at = unix_now();
        let mut rows = Vec::with_capacity(items.len());
        for (item, sequence) in items.iter_mut().zip(first..) {
            let prefix = if matches!(item, Item::Message(_)) {
                "msg_"
            } else {
                "item_"
            };
            item.set_id_if_missing(|| validate::new_id(prefix));
            let id = item
                .id()
                .ok_or_else(|| Error::internal(format!("a {} item has no id", item.kind())))?
                .to_owned();
            let data = serde_json::to_value(&*item)
                .map_err(|e| Error::internal(format!("an item does not serialise: {e}")))?;
            let mut row = Row::new();
            row.insert("item_key".into(), item_key(conversation_id, &id).into());
            row.insert("id".into(), id.into());
            row.insert("conversation_id".into(), conversation_id.into());
            row.insert("sequence".into(), sequence.into());
            row.insert("created_at".into(), created_at.into());
            row.insert("item_data".into(), data);
            rows.push(row);
        }
        // An id added again replaces the earlier item and moves to the end, as in 0.3.5.
        self.store
            .upsert_many(ITEMS_TABLE, &rows, &["item_key"])
            .await?;
        Ok(items)
    }

    fn items_query(conversation_id: &str, order: Order) -> PageQuery {
        PageQuery {
            filter: Filter::eq("conversation_id", conversation_id),
            order_by: "sequence".into(),
            order,
            id_column: "item_key".into(),
            after: None,
            limit: None,
        }
    }
}

#[async_trait]
impl Conversations for SqlConversations {
    async fn create(
        &self,
        ctx: &RequestContext,
        request: CreateConversationRequest,
    ) -> Result<Conversation> {
        let items = request.items.unwrap_or_default();
        if let Some(metadata) = &request.metadata {
            validate::metadata(metadata)?;
        }
        let conversation = Conversation {
            id: validate::new_id("conv_"),
            object: "conversation".into(),
            created_at: unix_now(),
            metadata: request.metadata,
            items: None,
        };
        let mut row = Row::new();
        row.insert("id".into(), conversation.id.clone().into());
        row.insert("created_at".into(), conversation.created_at.into());
        let metadata = serde_json::to_value(&conversation.metadata)
            .map_err(|e| Error::internal(e.to_string()))?;
        row.insert("metadata".into(), metadata);
        row.extend(
            owner_columns(ctx.owner().as_ref()).map(|(column, value)| (column.to_owned(), value)),
        );
        self.store.insert(&self.table, &[row]).await?;
        if let Err(e) = self.append(&conversation.id, items).await {
            // No half-made conversation: the client saw an error, so it has no id to use.
            let _ = self
                .store
                .delete(&self.table, &Filter::eq("id", conversation.id.as_str()))
                .await;
            return Err(e);
        }
        Ok(conversation)
    }

    async fn get(&self, ctx: &RequestContext, conversation_id: &str) -> Result<Conversation> {
        to_conversation(
            &self
                .conversation_row(ctx, conversation_id, Action::Read)
                .await?,
        )
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
        request: UpdateConversationRequest,
    ) -> Result<Conversation> {
        validate::metadata(&request.metadata)?;
        let mut conversation = to_conversation(
            &self
                .conversation_row(ctx, conversation_id, Action::Update)
                .await?,
        )?;
        let mut set = Row::new();
        let metadata =
            serde_json::to_value(&request.metadata).map_err(|e| Error::internal(e.to_string()))?;
        set.insert("metadata".into(), metadata);
        if self
            .store
            .update(&self.table, &set, &Filter::eq("id", conversation_id))
            .await?
            == 0
        {
            return Err(conversation_not_found(conversation_id));
        }
        conversation.metadata = Some(request.metadata);
        Ok(conversation)
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
    ) -> Result<ConversationDeleted> {
        self.conversation_row(ctx, conversation_id, Action::Delete)
            .await?;
        // The row first: once it is gone nobody can reach the items. 0.3.5 leaves the items
        // behind for good; they belong to the conversation, so they go with it.
        if self
            .store
            .delete(&self.table, &Filter::eq("id", conversation_id))
            .await?
            == 0
        {
            return Err(conversation_not_found(conversation_id));
        }
        self.store
            .delete(ITEMS_TABLE, &Filter::eq("conversation_id", conversation_id))
            .await?;
        Ok(ConversationDeleted {
            id: conversation_id.to_owned(),
            object: "conversation.deleted".into(),
            deleted: true,
        })
    }

    async fn add_items(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
        items: Vec<Item>,
    ) -> Result<ItemList> {
        self.conversation_row(ctx, conversation_id, Action::Update)
            .await?;
        Ok(to_list(self.append(conversation_id, items).await?, false))
    }

    async fn list_items(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
        query: ListItemsQuery,
    ) -> Result<ItemList> {
        let (limit, order) = validate::list_query(&query)?;
        self.conversation_row(ctx, conversation_id, Action::Read)
            .await?;
        let mut page = Self::items_query(conversation_id, order);
        page.limit = Some(limit);
        if let Some(after) = &query.after {
            // An unknown cursor is the client's mistake (400), as on the other listings.
            let cursor = Filter::eq("conversation_id", conversation_id).and("id", after.as_str());
            if self.store.fetch_one(ITEMS_TABLE, &cursor).await?.is_none() {
                return Err(Error::invalid(format!(
                    "Item {after} not found in conversation {conversation_id}"
                ))
                .with_param("after"));
            }
            page.after = Some(item_key(conversation_id, after));
        }
        let found = self.store.fetch_page(ITEMS_TABLE, &page).await?;
        let items = found.rows.iter().map(to_item).collect::<Result<Vec<_>>>()?;
        Ok(to_list(items, found.has_more))
    }

    async fn all_items(&self, ctx: &RequestContext, conversation_id: &str) -> Result<Vec<Item>> {
        self.conversation_row(ctx, conversation_id, Action::Read)
            .await?;
        let found = self
            .store
            .fetch_page(ITEMS_TABLE, &Self::items_query(conversation_id, Order::Asc))
            .await?;
        found.rows.iter().map(to_item).collect()
    }

    async fn get_item(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
        item_id: &str,
    ) -> Result<Item> {
        self.conversation_row(ctx, conversation_id, Action::Read)
            .await?;
        let row = self
            .store
            .fetch_one(
                ITEMS_TABLE,
                &Filter::eq("item_key", item_key(conversation_id, item_id)),
            )
            .await?;
        to_item(&row.ok_or_else(|| item_not_found(conversation_id, item_id))?)
    }

    async fn delete_item(
        &self,
        ctx: &RequestContext,
        conversation_id: &str,
        item_id: &str,
    ) -> Result<ItemDeleted> {
        self.conversation_row(ctx, conversation_id, Action::Update)
            .await?;
        if self
            .store
            .delete(
                ITEMS_TABLE,
                &Filter::eq("item_key", item_key(conversation_id, item_id)),
            )
            .await?
            == 0
        {
            return Err(item_not_found(conversation_id, item_id));
        }
        Ok(ItemDeleted {
            id: item_id.to_owned(),
            object: "conversation.item.deleted".into(),
            deleted: true,
        })
    }
}
