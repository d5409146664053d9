//! The agents API of Llama Stack 0.3.5: OpenAI's Responses API (items, tools, the response
//! object and its streaming events) and the legacy v1alpha Agents API, with the traits the
//! agents service and providers implement.
//!
//! Wire shapes follow 0.3.5: optional fields are present (as `null`) when unset, as pydantic
//! writes them.

mod events;
mod items;
mod legacy;
mod responses;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use lls_api_common::{Api, ApiSpec, Error, RequestContext, Result};

pub use events::{EventPart, ResponseEvent, SummaryPart};
pub use items::{
    Annotation, ContentPart, FileSearchCall, FileSearchResult, FunctionCall, FunctionCallOutput,
    Item, McpApprovalRequest, McpApprovalResponse, McpCall, McpListTools, McpTool, MessageContent,
    MessageItem, Role, WebSearchCall,
};
pub use legacy::{
    Agent, AgentConfig, AgentCreateResponse, AgentSessionCreateResponse, AgentStepResponse,
    AgentToolGroup, CompletionMessage, ContentDelta, CreateAgentRequest, CreateSessionRequest,
    CreateTurnRequest, LegacyAgents, PageQuery, Paginated, ResumeTurnRequest, SamplingParams,
    SamplingStrategy, Session, Step, StepCommon, StepType, ToolCall as AgentToolCall, ToolConfig,
    ToolDef, ToolResponse as AgentToolResponse, Turn, TurnEvent, TurnEventPayload, TurnMessage,
    TurnStream, TurnStreamChunk,
};
pub use responses::{
    AllowedTools, CreateResponseRequest, FileSearchTool, FunctionTool, Guardrail,
    IncompleteDetails, InputItemList, InputItemsQuery, InputTokensDetails, InputTool,
    ListResponsesQuery, McpToolConfig, OutputTokensDetails, RequireApproval, ResponseDeleted,
    ResponseError, ResponseInput, ResponseList, ResponseObject, ResponsePrompt, ResponseTool,
    ResponseUsage, ResponseWithInput, TextConfig, TextFormat, WebSearchTool,
};

#[doc(hidden)]
pub use lls_api_common as __common;

/// One event of a running response, with the cause of a `response.failed` (so a caller that
/// does not stream answers with the error's own status).
#[derive(Debug)]
pub struct Emitted {
    pub event: ResponseEvent,
    pub cause: Option<Error>,
}

/// The events of a response being made, in order; the last is `response.completed`,
/// `response.incomplete` or `response.failed`.
pub type EventStream = BoxStream<'static, Emitted>;

/// The Responses API (OpenAI's `/v1/responses`).
#[async_trait]
pub trait Responses: Send + Sync {
    /// Checks the request and starts the response. What is wrong with the request (or names
    /// something missing) is an error here, before any event.
    async fn create_response(
        &self,
        ctx: &RequestContext,
        request: CreateResponseRequest,
    ) -> Result<EventStream>;
    async fn get_response(&self, ctx: &RequestContext, response_id: &str)
    -> Result<ResponseObject>;
    async fn list_responses(
        &self,
        ctx: &RequestContext,
        query: ListResponsesQuery,
    ) -> Result<ResponseList>;
    async fn list_input_items(
        &self,
        ctx: &RequestContext,
        response_id: &str,
        query: InputItemsQuery,
    ) -> Result<InputItemList>;
    async fn delete_response(
        &self,
        ctx: &RequestContext,
        response_id: &str,
    ) -> Result<ResponseDeleted>;
}

/// An agents provider (`inline::meta-reference`): the Responses API and the v1alpha agents.
pub trait AgentsProvider: Responses + LegacyAgents {
    /// The provider as the Responses API.
    fn responses(self: Arc<Self>) -> Arc<dyn Responses>;
}

/// The agents API: providers build `dyn AgentsProvider`; the service routes to the one configured.
#[derive(Debug)]
pub struct AgentsApi;

impl ApiSpec for AgentsApi {
    const API: Api = Api::Agents;
    type Provider = dyn AgentsProvider;
    type Service = dyn AgentsProvider;
}

/// Registers an agents provider; `build` must return `Arc<dyn AgentsProvider>`.
#[macro_export]
macro_rules! register_provider {
    ($($body:tt)*) => {
        $crate::__common::__register_provider! { spec: $crate::AgentsApi, $($body)* }
    };
}
