//! `inline::meta-reference` as the agents API: the Responses API over the [`Engine`] (the
//! v1alpha agents, built on it, are in `legacy`).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use lls_api_agents::{
    AgentsProvider, CreateResponseRequest, EventStream, InputItemList, InputItemsQuery,
    ListResponsesQuery, ResponseDeleted, ResponseList, ResponseObject, Responses,
};
use lls_api_common::store::KvStore;
use lls_api_common::{BuildContext, Error, RequestContext, Result};
use tokio_stream::wrappers::ReceiverStream;

use crate::MetaReferenceConfig;
use crate::engine::{Deps, Engine};
use crate::legacy::AgentStore;
use crate::store::ResponsesStore;

/// The agents provider.
pub struct MetaReference {
    engine: Arc<Engine>,
    /// The v1alpha agents' state (`persistence.agent_state`); `None`: only the Responses API.
    pub(crate) agents: Option<Arc<AgentStore>>,
}

impl MetaReference {
    pub fn new(engine: Engine) -> Self {
        MetaReference {
            engine: Arc::new(engine),
            agents: None,
        }
    }

    /// Keeps the v1alpha agents, sessions and turns in `agent_state`.
    pub fn with_agent_state(mut self, agent_state: Arc<dyn KvStore>) -> Self {
        self.agents = Some(Arc::new(AgentStore::new(agent_state)));
        self
    }

    /// The registry's build function: needs inference; tool runtime, vector stores, safety,
    /// conversations and prompts are used when the stack has them.
    pub async fn build(
        ctx: BuildContext,
        config: MetaReferenceConfig,
    ) -> Result<Arc<dyn AgentsProvider>> {
        let inference = ctx.deps.get::<lls_api_inference::InferenceApi>().ok_or_else(|| {
            Error::invalid(format!("provider '{}' (inline::meta-reference) needs an inference provider in run.yaml", ctx.provider_id))
        })?;
        let deps = Deps {
            inference,
            tools: ctx.deps.get::<lls_api_tool_runtime::ToolRuntimeApi>(),
            vector_stores: ctx.deps.get::<lls_api_vector_io::VectorIoApi>(),
            safety: ctx.deps.get::<lls_api_safety::SafetyApi>(),
            conversations: ctx.deps.get::<lls_api_conversations::ConversationsApi>(),
            prompts: ctx.deps.get::<lls_api_prompts::PromptsApi>(),
        };
        let sql = ctx
            .stores
            .sql(&config.persistence.responses.backend)
            .await?;
        let store = Arc::new(ResponsesStore::open(sql).await?);
        let agent_state = ctx.stores.kv(&config.persistence.agent_state).await?;
        Ok(Arc::new(
            MetaReference::new(Engine::new(deps, store, ctx.tasks.clone()))
                .with_agent_state(agent_state),
        ))
    }
}

#[async_trait]
impl Responses for MetaReference {
    async fn create_response(
        &self,
        ctx: &RequestContext,
        request: CreateResponseRequest,
    ) -> Result<EventStream> {
        let events = self.engine.start(ctx, request).await?;
        Ok(ReceiverStream::new(events).boxed())
    }

    async fn get_response(
        &self,
        ctx: &RequestContext,
        response_id: &str,
    ) -> Result<ResponseObject> {
        Ok(self.engine.store.get(ctx, response_id).await?.response)
    }

    async fn list_responses(
        &self,
        ctx: &RequestContext,
        query: ListResponsesQuery,
    ) -> Result<ResponseList> {
        self.engine
            .store
            .list(
                ctx,
                query.after,
                query.limit,
                query.model,
                query.order.as_deref(),
            )
            .await
    }

    async fn list_input_items(
        &self,
        ctx: &RequestContext,
        response_id: &str,
        query: InputItemsQuery,
    ) -> Result<InputItemList> {
        self.engine.store.input_items(ctx, response_id, query).await
    }

    async fn delete_response(
        &self,
        ctx: &RequestContext,
        response_id: &str,
    ) -> Result<ResponseDeleted> {
        self.engine.store.delete(ctx, response_id).await
    }
}

impl AgentsProvider for MetaReference {
    fn responses(self: Arc<Self>) -> Arc<dyn Responses> {
        self
    }
}
