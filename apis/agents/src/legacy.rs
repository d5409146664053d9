//! The legacy v1alpha Agents API of 0.3.5 (`/v1alpha/agents...`, also at `/v1/agents...`):
//! agents, sessions, turns and their steps, and the turn's streaming events, as
//! `llama-stack-client` reads them. Timestamps are ISO 8601 strings, as pydantic writes them.

use async_trait::async_trait;
use futures::stream::BoxStream;
use lls_api_common::{Error, RequestContext, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A client-side tool the agent offers the model: the tool runtime's `ToolDef`, as in 0.3.5.
pub use lls_api_tool_runtime::ToolDef;

/// `sampling_params.strategy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SamplingStrategy {
    Greedy,
    TopP {
        #[serde(default)]
        temperature: Option<f64>,
        #[serde(default = "top_p_default")]
        top_p: Option<f64>,
    },
    TopK {
        top_k: i64,
    },
}

fn top_p_default() -> Option<f64> {
    Some(0.95)
}

/// `sampling_params`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SamplingParams {
    #[serde(default = "greedy")]
    pub strategy: SamplingStrategy,
    /// 0 means no limit.
    #[serde(default = "zero")]
    pub max_tokens: Option<i64>,
    #[serde(default = "one")]
    pub repetition_penalty: Option<f64>,
    #[serde(default)]
    pub stop: Option<Vec<String>>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            strategy: SamplingStrategy::Greedy,
            max_tokens: Some(0),
            repetition_penalty: Some(1.0),
            stop: None,
        }
    }
}

fn greedy() -> SamplingStrategy {
    SamplingStrategy::Greedy
}
fn zero() -> Option<i64> {
    Some(0)
}
fn one() -> Option<f64> {
    Some(1.0)
}

/// `tool_config`: `tool_choice` is `auto` (the default), `required`, `none` or a tool's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolConfig {
    #[serde(default = "auto")]
    pub tool_choice: Option<String>,
    #[serde(default)]
    pub tool_prompt_format: Option<String>,
    #[serde(default = "append")]
    pub system_message_behavior: Option<String>,
}

impl Default for ToolConfig {
    fn default() -> Self {
        ToolConfig {
            tool_choice: auto(),
            tool_prompt_format: None,
            system_message_behavior: append(),
        }
    }
}

fn auto() -> Option<String> {
    Some("auto".into())
}
fn append() -> Option<String> {
    Some("append".into())
}

/// A tool group the agent uses: its name, or `{name, args}` (`builtin::rag/knowledge_search`
/// with `{vector_db_ids: [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AgentToolGroup {
    Name(String),
    WithArgs {
        name: String,
        #[serde(default)]
        args: Map<String, Value>,
    },
}

impl AgentToolGroup {
    pub fn name(&self) -> &str {
        match self {
            AgentToolGroup::Name(n) | AgentToolGroup::WithArgs { name: n, .. } => n,
        }
    }

    pub fn args(&self) -> Option<&Map<String, Value>> {
        match self {
            AgentToolGroup::Name(_) => None,
            AgentToolGroup::WithArgs { args, .. } => Some(args),
        }
    }
}

/// An agent's configuration (`AgentConfig`), with 0.3.5's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentConfig {
    #[serde(default = "default_sampling")]
    pub sampling_params: Option<SamplingParams>,
    #[serde(default = "no_strings")]
    pub input_shields: Option<Vec<String>>,
    #[serde(default = "no_strings")]
    pub output_shields: Option<Vec<String>>,
    #[serde(default = "no_toolgroups")]
    pub toolgroups: Option<Vec<AgentToolGroup>>,
    #[serde(default = "no_tools")]
    pub client_tools: Option<Vec<ToolDef>>,
    /// Deprecated: `tool_config.tool_choice`.
    #[serde(default)]
    pub tool_choice: Option<String>,
    /// Deprecated: `tool_config.tool_prompt_format`.
    #[serde(default)]
    pub tool_prompt_format: Option<String>,
    #[serde(default)]
    pub tool_config: Option<ToolConfig>,
    #[serde(default = "ten")]
    pub max_infer_iters: Option<i64>,
    pub model: String,
    pub instructions: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "no")]
    pub enable_session_persistence: Option<bool>,
    /// `{type: "json_schema", json_schema: {...}}` or `{type: "grammar", bnf: {...}}`.
    #[serde(default)]
    pub response_format: Option<Value>,
}

fn default_sampling() -> Option<SamplingParams> {
    Some(SamplingParams::default())
}
fn no_strings() -> Option<Vec<String>> {
    Some(Vec::new())
}
fn no_toolgroups() -> Option<Vec<AgentToolGroup>> {
    Some(Vec::new())
}
fn no_tools() -> Option<Vec<ToolDef>> {
    Some(Vec::new())
}
fn ten() -> Option<i64> {
    Some(10)
}
fn no() -> Option<bool> {
    Some(false)
}

impl AgentConfig {
    /// 0.3.5's `model_post_init`: the deprecated `tool_choice`/`tool_prompt_format` fill
    /// `tool_config` when it is absent, and must agree with it when both are given.
    pub fn normalize(&mut self) -> Result<()> {
        match &self.tool_config {
            Some(config) => {
                if self.tool_choice.is_some() && config.tool_choice != self.tool_choice {
                    return Err(Error::invalid(
                        "tool_choice is deprecated. Use tool_choice in tool_config instead.",
                    ));
                }
                if self.tool_prompt_format.is_some()
                    && config.tool_prompt_format != self.tool_prompt_format
                {
                    return Err(Error::invalid(
                        "tool_prompt_format is deprecated. Use tool_prompt_format in tool_config instead.",
                    ));
                }
            }
            None => {
                let mut config = ToolConfig::default();
                if self.tool_choice.is_some() {
                    config.tool_choice = self.tool_choice.clone();
                }
                config.tool_prompt_format = self.tool_prompt_format.clone();
                self.tool_config = Some(config);
            }
        }
        Ok(())
    }
}

/// `POST /v1alpha/agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateAgentRequest {
    pub agent_config: AgentConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentCreateResponse {
    pub agent_id: String,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Agent {
    pub agent_id: String,
    pub agent_config: AgentConfig,
    pub created_at: String,
}

/// `POST /v1alpha/agents/{agent_id}/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateSessionRequest {
    pub session_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentSessionCreateResponse {
    pub session_id: String,
}

/// A session and its turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Session {
    pub session_id: String,
    pub session_name: String,
    pub turns: Vec<Turn>,
    pub started_at: String,
}

/// `start_index` and `limit` of the list routes (no limit, or -1: everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageQuery {
    #[serde(default)]
    pub start_index: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// 0.3.5's `PaginatedResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "PaginatedResponse_{T}")]
pub struct Paginated<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    #[serde(default)]
    pub url: Option<String>,
}

impl<T> Paginated<T> {
    /// 0.3.5's `paginate_records`.
    pub fn page(records: Vec<T>, query: &PageQuery) -> Self {
        let limit = match query.limit {
            None | Some(-1) => {
                return Paginated {
                    data: records,
                    has_more: false,
                    url: None,
                };
            }
            Some(l) => l.max(0) as usize,
        };
        let total = records.len();
        let start = query.start_index.unwrap_or(0).max(0) as usize;
        let end = (start + limit).min(total);
        let data = records
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect();
        Paginated {
            data,
            has_more: end < total,
            url: None,
        }
    }
}

/// A tool call the model made (arguments are JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "AgentToolCall")]
pub struct ToolCall {
    pub call_id: String,
    pub tool_name: String,
    pub arguments: String,
}

/// A tool's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolResponse {
    pub call_id: String,
    pub tool_name: String,
    /// Interleaved content: a string, a content item, or a list of them.
    pub content: Value,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// The model's message: `stop_reason` is `end_of_turn`, `end_of_message` (it called tools)
/// or `out_of_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CompletionMessage {
    /// Always `"assistant"`.
    pub role: String,
    pub content: Value,
    pub stop_reason: String,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCall>>,
}

impl CompletionMessage {
    pub fn new(content: String, stop_reason: &str, tool_calls: Vec<ToolCall>) -> Self {
        CompletionMessage {
            role: "assistant".into(),
            content: Value::String(content),
            stop_reason: stop_reason.into(),
            tool_calls: Some(tool_calls),
        }
    }
}

/// A message that starts (or resumes) a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum TurnMessage {
    User {
        content: Value,
        #[serde(default)]
        context: Option<Value>,
    },
    Tool {
        call_id: String,
        content: Value,
    },
}

/// What every step has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepCommon {
    pub turn_id: String,
    pub step_id: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
}

/// A step of a turn, by `step_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "step_type", rename_all = "snake_case")]
pub enum Step {
    Inference {
        #[serde(flatten)]
        common: StepCommon,
        model_response: CompletionMessage,
    },
    ToolExecution {
        #[serde(flatten)]
        common: StepCommon,
        tool_calls: Vec<ToolCall>,
        tool_responses: Vec<ToolResponse>,
    },
    ShieldCall {
        #[serde(flatten)]
        common: StepCommon,
        #[serde(default)]
        violation: Option<Value>,
    },
    MemoryRetrieval {
        #[serde(flatten)]
        common: StepCommon,
        vector_db_ids: String,
        inserted_context: Value,
    },
}

impl Step {
    pub fn common(&self) -> &StepCommon {
        match self {
            Step::Inference { common, .. }
            | Step::ToolExecution { common, .. }
            | Step::ShieldCall { common, .. }
            | Step::MemoryRetrieval { common, .. } => common,
        }
    }

    pub fn step_type(&self) -> StepType {
        match self {
            Step::Inference { .. } => StepType::Inference,
            Step::ToolExecution { .. } => StepType::ToolExecution,
            Step::ShieldCall { .. } => StepType::ShieldCall,
            Step::MemoryRetrieval { .. } => StepType::MemoryRetrieval,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    Inference,
    ToolExecution,
    ShieldCall,
    MemoryRetrieval,
}

/// One turn: the messages that started it, its steps and the model's last message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Turn {
    pub turn_id: String,
    pub session_id: String,
    pub input_messages: Vec<TurnMessage>,
    pub steps: Vec<Step>,
    pub output_message: CompletionMessage,
    #[serde(default)]
    pub output_attachments: Option<Vec<Value>>,
    pub started_at: String,
    #[serde(default)]
    pub completed_at: Option<String>,
}

/// `GET .../step/{step_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentStepResponse {
    pub step: Step,
}

/// `POST .../turn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreateTurnRequest {
    pub messages: Vec<TurnMessage>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub documents: Option<Vec<Value>>,
    /// Tool groups for this turn, added to the agent's.
    #[serde(default)]
    pub toolgroups: Option<Vec<AgentToolGroup>>,
    #[serde(default)]
    pub tool_config: Option<ToolConfig>,
}

/// `POST .../turn/{turn_id}/resume`: the results of the client tools the turn waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResumeTurnRequest {
    pub tool_responses: Vec<ToolResponse>,
    #[serde(default)]
    pub stream: Option<bool>,
}

/// A streamed delta of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentDelta {
    Text {
        text: String,
    },
    ToolCall {
        /// The call so far as text, or the parsed call.
        tool_call: Value,
        /// `started`, `in_progress`, `failed` or `succeeded`.
        parse_status: String,
    },
}

/// A turn event, by `event_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum TurnEventPayload {
    StepStart {
        step_type: StepType,
        step_id: String,
        #[serde(default)]
        metadata: Option<Map<String, Value>>,
    },
    StepProgress {
        step_type: StepType,
        step_id: String,
        delta: ContentDelta,
    },
    StepComplete {
        step_type: StepType,
        step_id: String,
        step_details: Step,
    },
    TurnStart {
        turn_id: String,
    },
    TurnComplete {
        turn: Turn,
    },
    TurnAwaitingInput {
        turn: Turn,
    },
}

impl TurnEventPayload {
    /// The turn a `turn_complete` or `turn_awaiting_input` event carries.
    pub fn final_turn(&self) -> Option<&Turn> {
        match self {
            TurnEventPayload::TurnComplete { turn }
            | TurnEventPayload::TurnAwaitingInput { turn } => Some(turn),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurnEvent {
    pub payload: TurnEventPayload,
}

/// One `data:` chunk of a streamed turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurnStreamChunk {
    pub event: TurnEvent,
}

impl From<TurnEventPayload> for TurnStreamChunk {
    fn from(payload: TurnEventPayload) -> Self {
        TurnStreamChunk {
            event: TurnEvent { payload },
        }
    }
}

/// A turn's events; the last is `turn_complete` or `turn_awaiting_input`, or an error.
pub type TurnStream = BoxStream<'static, Result<TurnStreamChunk>>;

/// The legacy v1alpha Agents API.
#[async_trait]
pub trait LegacyAgents: Send + Sync {
    async fn create_agent(
        &self,
        ctx: &RequestContext,
        config: AgentConfig,
    ) -> Result<AgentCreateResponse>;
    async fn list_agents(&self, ctx: &RequestContext, query: PageQuery)
    -> Result<Paginated<Agent>>;
    async fn get_agent(&self, ctx: &RequestContext, agent_id: &str) -> Result<Agent>;
    async fn delete_agent(&self, ctx: &RequestContext, agent_id: &str) -> Result<()>;
    async fn create_session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_name: String,
    ) -> Result<AgentSessionCreateResponse>;
    async fn list_sessions(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        query: PageQuery,
    ) -> Result<Paginated<Session>>;
    /// The session with its turns (only those in `turn_ids`, when given).
    async fn get_session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_ids: Option<Vec<String>>,
    ) -> Result<Session>;
    async fn delete_session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
    ) -> Result<()>;
    /// Starts a turn; what is wrong with the request is an error here, before any event.
    async fn create_turn(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        request: CreateTurnRequest,
    ) -> Result<TurnStream>;
    /// Continues a turn that waits for client tool results.
    async fn resume_turn(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
        request: ResumeTurnRequest,
    ) -> Result<TurnStream>;
    async fn get_turn(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
    ) -> Result<Turn>;
    async fn get_step(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
        step_id: &str,
    ) -> Result<AgentStepResponse>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_agent_config_gets_upstreams_defaults() {
        let mut c: AgentConfig = serde_json::from_value(
            json!({"model": "m", "instructions": "be brief", "tool_choice": "required"}),
        )
        .unwrap();
        c.normalize().unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["max_infer_iters"], 10);
        assert_eq!(v["sampling_params"]["strategy"], json!({"type": "greedy"}));
        assert_eq!(v["tool_config"]["tool_choice"], "required");
        assert_eq!(v["toolgroups"], json!([]));
    }

    #[test]
    fn steps_and_events_carry_their_tags() {
        let step = Step::Inference {
            common: StepCommon {
                turn_id: "t".into(),
                step_id: "s".into(),
                started_at: None,
                completed_at: None,
            },
            model_response: CompletionMessage::new("hi".into(), "end_of_turn", vec![]),
        };
        let chunk = TurnStreamChunk::from(TurnEventPayload::StepComplete {
            step_type: step.step_type(),
            step_id: "s".into(),
            step_details: step,
        });
        let v = serde_json::to_value(&chunk).unwrap();
        assert_eq!(v["event"]["payload"]["event_type"], "step_complete");
        assert_eq!(
            v["event"]["payload"]["step_details"]["step_type"],
            "inference"
        );
        assert_eq!(v["event"]["payload"]["step_details"]["turn_id"], "t");
        let back: TurnStreamChunk = serde_json::from_value(v).unwrap();
        assert_eq!(back, chunk);
    }

    #[test]
    fn pages_like_upstream() {
        let p = Paginated::page(
            vec![1, 2, 3],
            &PageQuery {
                start_index: Some(1),
                limit: Some(1),
            },
        );
        assert_eq!((p.data, p.has_more), (vec![2], true));
        let p = Paginated::page(vec![1, 2, 3], &PageQuery::default());
        assert_eq!((p.data.len(), p.has_more), (3, false));
    }
}
