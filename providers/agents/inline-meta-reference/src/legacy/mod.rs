//! The legacy v1alpha Agents API on the Responses engine: agents and sessions live in the
//! `agent_state` kv store; a turn is one stored response (or, with client tools, a chain of
//! them) continuing the session's last response, its events translated into turn events.

mod request;
mod store;
mod translate;

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use lls_api_agents::{
    Agent, AgentConfig, AgentCreateResponse, AgentSessionCreateResponse, AgentStepResponse,
    CreateResponseRequest, CreateTurnRequest, Emitted, LegacyAgents, PageQuery, Paginated,
    Responses, ResumeTurnRequest, Session, Step, StepCommon, StepType, Turn, TurnEventPayload,
    TurnMessage, TurnStream, TurnStreamChunk,
};
use lls_api_common::access::{Action, ProtectedResource};
use lls_api_common::{Error, RequestContext, Result};

use request::{TurnInput, function_output, response_request, turn_input};
pub(crate) use store::AgentStore;
use store::{StoredAgent, StoredSession, iso_now};
use translate::Translator;

use crate::MetaReference;

/// A turn about to run: what the stored turn keeps, and the engine request.
struct TurnRun {
    agent_id: String,
    session: StoredSession,
    turn_id: String,
    input_messages: Vec<TurnMessage>,
    started_at: String,
    translator: Translator,
    /// Events sent before the engine's (`turn_start`, or the resumed tool step).
    opening: Vec<TurnEventPayload>,
}

/// Where the turn stream is.
struct Streaming {
    events: BoxStream<'static, Emitted>,
    run: TurnRun,
    store: Arc<AgentStore>,
    done: bool,
}

impl MetaReference {
    fn agents(&self) -> Result<&Arc<AgentStore>> {
        self.agents
            .as_ref()
            .ok_or_else(|| Error::unsupported("this agents provider keeps no agent state"))
    }

    async fn start_turn(
        &self,
        ctx: &RequestContext,
        request: CreateResponseRequest,
        mut run: TurnRun,
    ) -> Result<TurnStream> {
        let store = self.agents()?.clone();
        let events = self.create_response(ctx, request).await?;
        let opening: Vec<Result<TurnStreamChunk>> =
            run.opening.drain(..).map(|p| Ok(p.into())).collect();
        let state = Streaming {
            events,
            run,
            store,
            done: false,
        };
        let rest = stream::unfold(state, |mut state| async move {
            if state.done {
                return None;
            }
            let emitted = state.events.next().await;
            let chunks = state.translate(emitted).await;
            Some((stream::iter(chunks), state))
        })
        .flatten();
        Ok(stream::iter(opening).chain(rest).boxed())
    }
}

impl Streaming {
    /// The turn chunks for one engine event; the end of the engine's stream ends the turn.
    async fn translate(&mut self, emitted: Option<Emitted>) -> Vec<Result<TurnStreamChunk>> {
        let Some(emitted) = emitted else {
            self.done = true;
            return vec![Err(Error::internal(
                "the response ended without a final event",
            ))];
        };
        if let Some(cause) = emitted.cause {
            self.done = true;
            return vec![Err(cause)];
        }
        let mut payloads = self.run.translator.on_event(&emitted.event);
        if let Some(response) = emitted.event.terminal_response() {
            self.done = true;
            let outcome = self.run.translator.finish(response, &mut payloads);
            let turn = Turn {
                turn_id: self.run.turn_id.clone(),
                session_id: self.run.session.session_id.clone(),
                input_messages: self.run.input_messages.clone(),
                steps: self.run.translator.steps.clone(),
                output_message: outcome.output_message,
                output_attachments: Some(Vec::new()),
                started_at: self.run.started_at.clone(),
                completed_at: Some(iso_now()),
            };
            let pending = (!outcome.pending.is_empty()).then(|| Step::ToolExecution {
                common: StepCommon {
                    turn_id: turn.turn_id.clone(),
                    step_id: uuid::Uuid::new_v4().to_string(),
                    started_at: Some(iso_now()),
                    completed_at: None,
                },
                tool_calls: outcome.pending,
                tool_responses: Vec::new(),
            });
            self.run.session.last_response_id = Some(response.id.clone());
            if let Err(e) = save(&self.store, &self.run, &turn, pending.as_ref()).await {
                let mut out: Vec<_> = payloads.into_iter().map(|p| Ok(p.into())).collect();
                out.push(Err(e));
                return out;
            }
            payloads.push(match pending {
                Some(_) => TurnEventPayload::TurnAwaitingInput { turn },
                None => TurnEventPayload::TurnComplete { turn },
            });
        }
        payloads.into_iter().map(|p| Ok(p.into())).collect()
    }
}

/// Stores the finished (or waiting) turn and the session's new last response.
async fn save(
    store: &AgentStore,
    run: &TurnRun,
    turn: &Turn,
    pending: Option<&Step>,
) -> Result<()> {
    store.put_turn(&run.agent_id, turn).await?;
    store
        .put_pending(&run.agent_id, &turn.session_id, &turn.turn_id, pending)
        .await?;
    store.put_session(&run.agent_id, &run.session).await
}

#[async_trait]
impl LegacyAgents for MetaReference {
    async fn create_agent(
        &self,
        _ctx: &RequestContext,
        mut config: AgentConfig,
    ) -> Result<AgentCreateResponse> {
        config.normalize()?;
        let agent_id = uuid::Uuid::new_v4().to_string();
        let agent = StoredAgent {
            config,
            created_at: iso_now(),
        };
        self.agents()?.put_agent(&agent_id, &agent).await?;
        Ok(AgentCreateResponse { agent_id })
    }

    async fn list_agents(
        &self,
        _ctx: &RequestContext,
        query: PageQuery,
    ) -> Result<Paginated<Agent>> {
        let agents = self
            .agents()?
            .agents()
            .await?
            .into_iter()
            .map(|(agent_id, a)| Agent {
                agent_id,
                agent_config: a.config,
                created_at: a.created_at,
            })
            .collect();
        Ok(Paginated::page(agents, &query))
    }

    async fn get_agent(&self, _ctx: &RequestContext, agent_id: &str) -> Result<Agent> {
        let a = self.agents()?.agent(agent_id).await?;
        Ok(Agent {
            agent_id: agent_id.to_owned(),
            agent_config: a.config,
            created_at: a.created_at,
        })
    }

    async fn delete_agent(&self, ctx: &RequestContext, agent_id: &str) -> Result<()> {
        let store = self.agents()?;
        store.agent(agent_id).await?;
        for session in store.sessions(ctx, agent_id).await? {
            store.delete_session(agent_id, &session.session_id).await?;
        }
        store.delete_agent(agent_id).await
    }

    async fn create_session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_name: String,
    ) -> Result<AgentSessionCreateResponse> {
        let store = self.agents()?;
        store.agent(agent_id).await?;
        let session_id = uuid::Uuid::new_v4().to_string();
        let owner = ctx.owner();
        ctx.check(
            Action::Create,
            &ProtectedResource::new("session", &session_id, owner.as_ref()),
        )?;
        let session = StoredSession {
            session_id: session_id.clone(),
            identifier: Some(session_name.clone()),
            session_name,
            turns: Vec::new(),
            started_at: iso_now(),
            vector_db_id: None,
            owner,
            kind: "session".into(),
            last_response_id: None,
        };
        store.put_session(agent_id, &session).await?;
        Ok(AgentSessionCreateResponse { session_id })
    }

    async fn list_sessions(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        query: PageQuery,
    ) -> Result<Paginated<Session>> {
        let store = self.agents()?;
        store.agent(agent_id).await?;
        let sessions = store
            .sessions(ctx, agent_id)
            .await?
            .iter()
            .map(|s| s.session(Vec::new()))
            .collect();
        Ok(Paginated::page(sessions, &query))
    }

    async fn get_session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_ids: Option<Vec<String>>,
    ) -> Result<Session> {
        let store = self.agents()?;
        store.agent(agent_id).await?;
        let session = store
            .session(ctx, agent_id, session_id, Action::Read)
            .await?;
        let mut turns = store.turns(agent_id, session_id).await?;
        if let Some(ids) = turn_ids.filter(|ids| !ids.is_empty()) {
            turns.retain(|t| ids.contains(&t.turn_id));
        }
        Ok(session.session(turns))
    }

    async fn delete_session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
    ) -> Result<()> {
        let store = self.agents()?;
        store.agent(agent_id).await?;
        store
            .session(ctx, agent_id, session_id, Action::Delete)
            .await?;
        store.delete_session(agent_id, session_id).await
    }

    async fn create_turn(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        request: CreateTurnRequest,
    ) -> Result<TurnStream> {
        let store = self.agents()?;
        let agent = store.agent(agent_id).await?;
        let session = store
            .session(ctx, agent_id, session_id, Action::Update)
            .await?;
        if request.messages.is_empty() {
            return Err(Error::invalid(
                "messages: a turn needs at least one message",
            ));
        }
        let engine_request = response_request(
            &agent.config,
            TurnInput {
                input: turn_input(&request),
                previous_response_id: session.last_response_id.clone(),
                toolgroups: request.toolgroups.clone().unwrap_or_default(),
                tool_config: request.tool_config.clone(),
            },
        )?;
        let turn_id = uuid::Uuid::new_v4().to_string();
        let run = TurnRun {
            agent_id: agent_id.to_owned(),
            session,
            opening: vec![TurnEventPayload::TurnStart {
                turn_id: turn_id.clone(),
            }],
            translator: Translator::new(&turn_id, Vec::new()),
            turn_id,
            input_messages: request.messages,
            started_at: iso_now(),
        };
        self.start_turn(ctx, engine_request, run).await
    }

    async fn resume_turn(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
        request: ResumeTurnRequest,
    ) -> Result<TurnStream> {
        let store = self.agents()?;
        let agent = store.agent(agent_id).await?;
        let session = store
            .session(ctx, agent_id, session_id, Action::Update)
            .await?;
        let turn = store.turn(agent_id, session_id, turn_id).await?;
        let Some(Step::ToolExecution {
            common, tool_calls, ..
        }) = store.pending(agent_id, session_id, turn_id).await?
        else {
            return Err(Error::invalid(format!(
                "turn {turn_id} is not waiting for tool responses"
            )));
        };
        let step = Step::ToolExecution {
            common: StepCommon {
                completed_at: Some(iso_now()),
                ..common
            },
            tool_calls,
            tool_responses: request.tool_responses.clone(),
        };
        let input = request
            .tool_responses
            .iter()
            .map(|r| function_output(&r.call_id, &r.content))
            .collect();
        let engine_request = response_request(
            &agent.config,
            TurnInput {
                input,
                previous_response_id: session.last_response_id.clone(),
                toolgroups: Vec::new(),
                tool_config: None,
            },
        )?;
        let mut steps = turn.steps.clone();
        steps.push(step.clone());
        let run = TurnRun {
            agent_id: agent_id.to_owned(),
            session,
            opening: vec![TurnEventPayload::StepComplete {
                step_type: StepType::ToolExecution,
                step_id: step.common().step_id.clone(),
                step_details: step,
            }],
            translator: Translator::new(turn_id, steps),
            turn_id: turn_id.to_owned(),
            input_messages: turn.input_messages,
            started_at: turn.started_at,
        };
        self.start_turn(ctx, engine_request, run).await
    }

    async fn get_turn(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
    ) -> Result<Turn> {
        let store = self.agents()?;
        store.agent(agent_id).await?;
        store
            .session(ctx, agent_id, session_id, Action::Read)
            .await?;
        store.turn(agent_id, session_id, turn_id).await
    }

    async fn get_step(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
        step_id: &str,
    ) -> Result<AgentStepResponse> {
        let turn = self.get_turn(ctx, agent_id, session_id, turn_id).await?;
        turn.steps
            .into_iter()
            .find(|s| s.common().step_id == step_id)
            .map(|step| AgentStepResponse { step })
            .ok_or_else(|| Error::invalid(format!("Provided step_id {step_id} could not be found")))
    }
}
