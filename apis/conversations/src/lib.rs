//! The conversations API (OpenAI's `/v1/conversations`, built into Llama Stack 0.3.5): a
//! conversation is metadata plus an ordered list of items, the same items the Responses API
//! reads and writes ([`lls_api_agents::Item`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lls_api_agents::Item;
use lls_api_common::{Api, ApiSpec, RequestContext, Result};
use serde::{Deserialize, Serialize};

/// Metadata: string keys and values (at most 16 pairs; keys up to 64 characters, values up to 512).
pub type Metadata = BTreeMap<String, String>;

/// Most items one create or add call takes.
pub const MAX_ITEMS_PER_CALL: usize = 20;
/// Most metadata pairs.
pub const MAX_METADATA_PAIRS: usize = 16;

/// A conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Conversation {
    /// `conv_` and 48 hex digits.
    pub id: String,
    /// Always `"conversation"`.
    pub object: String,
    pub created_at: i64,
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub items: Option<Vec<serde_json::Value>>,
}

/// `POST /v1/conversations`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateConversationRequest {
    #[serde(default)]
    pub items: Option<Vec<Item>>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

/// `POST /v1/conversations/{id}`: replaces the metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UpdateConversationRequest {
    pub metadata: Metadata,
}

/// `POST /v1/conversations/{id}/items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddItemsRequest {
    pub items: Vec<Item>,
}

/// `GET /v1/conversations/{id}/items` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListItemsQuery {
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// 1..=100, default 20.
    #[serde(default)]
    pub limit: Option<i64>,
    /// `asc` or `desc` (the default).
    #[serde(default)]
    pub order: Option<String>,
}

/// A page of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ItemList {
    /// Always `"list"`.
    pub object: String,
    pub data: Vec<Item>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

/// `DELETE /v1/conversations/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConversationDeleted {
    pub id: String,
    /// `"conversation.deleted"`.
    pub object: String,
    pub deleted: bool,
}

/// `DELETE /v1/conversations/{id}/items/{item_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ItemDeleted {
    pub id: String,
    /// `"conversation.item.deleted"`.
    pub object: String,
    pub deleted: bool,
}

/// The conversations service. An unknown conversation or item is not found (404); another
/// caller's conversation answers exactly as a missing one.
#[async_trait]
pub trait Conversations: Send + Sync {
    async fn create(&self, ctx: &RequestContext, request: CreateConversationRequest) -> Result<Conversation>;
    async fn get(&self, ctx: &RequestContext, conversation_id: &str) -> Result<Conversation>;
    async fn update(&self, ctx: &RequestContext, conversation_id: &str, request: UpdateConversationRequest) -> Result<Conversation>;
    async fn delete(&self, ctx: &RequestContext, conversation_id: &str) -> Result<ConversationDeleted>;
    /// Appends items in order; items without an id get one (`msg_…` for messages, else `item_…`).
    async fn add_items(&self, ctx: &RequestContext, conversation_id: &str, items: Vec<Item>) -> Result<ItemList>;
    async fn list_items(&self, ctx: &RequestContext, conversation_id: &str, query: ListItemsQuery) -> Result<ItemList>;
    /// Every item of the conversation, oldest first (what the Responses API feeds the model).
    async fn all_items(&self, ctx: &RequestContext, conversation_id: &str) -> Result<Vec<Item>>;
    async fn get_item(&self, ctx: &RequestContext, conversation_id: &str, item_id: &str) -> Result<Item>;
    async fn delete_item(&self, ctx: &RequestContext, conversation_id: &str, item_id: &str) -> Result<ItemDeleted>;
}

/// The conversations API: built into the stack (no providers); dependents get `dyn Conversations`.
#[derive(Debug)]
pub struct ConversationsApi;

impl ApiSpec for ConversationsApi {
    const API: Api = Api::Conversations;
    type Provider = dyn Conversations;
    type Service = dyn Conversations;
}

/// Lets tests hand a `ConversationsApi` export around.
pub type SharedConversations = Arc<dyn Conversations>;
