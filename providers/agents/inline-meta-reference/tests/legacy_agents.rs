//! The v1alpha agents over the Responses engine, with the deterministic fake model (it calls an
//! offered tool, answers a tool result with `The tool returned: ...`, else echoes the question).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use futures::StreamExt;
use lls_agents_inline_meta_reference::{Deps, Engine, MetaReference, ResponsesStore};
use lls_api_agents::{
    AgentConfig, AgentToolResponse, CreateTurnRequest, LegacyAgents, PageQuery, ResumeTurnRequest,
    Step, StepType, Turn, TurnEventPayload, TurnStream,
};
use lls_api_common::store::KvStoreRef;
use lls_api_common::{RequestContext, Tasks};
use serde_json::{Value, json};

async fn provider() -> MetaReference {
    let stores = lls_testkit::stores::memory_stores();
    let deps = Deps {
        inference: lls_testkit::fake_guard::inference(),
        tools: None,
        vector_stores: None,
        safety: None,
        conversations: None,
        prompts: None,
    };
    let store = Arc::new(
        ResponsesStore::open(stores.sql("sql_default").await.unwrap())
            .await
            .unwrap(),
    );
    let kv = stores
        .kv(&KvStoreRef {
            backend: "kv_default".into(),
            namespace: "agents".into(),
        })
        .await
        .unwrap();
    MetaReference::new(Engine::new(deps, store, Tasks::new())).with_agent_state(kv)
}

fn config(extra: Value) -> AgentConfig {
    let mut v = json!({"model": "fake/model", "instructions": "You are a helpful assistant"});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(v).unwrap()
}

async fn events(stream: TurnStream) -> Vec<TurnEventPayload> {
    stream.map(|c| c.unwrap().event.payload).collect().await
}

fn kinds(events: &[TurnEventPayload]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["event_type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn last_turn(events: &[TurnEventPayload]) -> Turn {
    events
        .last()
        .and_then(TurnEventPayload::final_turn)
        .cloned()
        .unwrap()
}

fn user(text: &str) -> CreateTurnRequest {
    serde_json::from_value(json!({"messages": [{"role": "user", "content": text}], "stream": true}))
        .unwrap()
}

#[tokio::test]
async fn a_session_runs_turns_and_keeps_them() {
    let p = provider().await;
    let ctx = RequestContext::default();
    let agent = p
        .create_agent(&ctx, config(json!({})))
        .await
        .unwrap()
        .agent_id;
    let session = p
        .create_session(&ctx, &agent, "s".into())
        .await
        .unwrap()
        .session_id;

    let first = events(
        p.create_turn(&ctx, &agent, &session, user("Say hello"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(kinds(&first)[0], "turn_start");
    assert_eq!(kinds(&first)[1], "step_start");
    assert_eq!(kinds(&first).last().unwrap(), "turn_complete");
    let turn = last_turn(&first);
    assert!(
        turn.output_message
            .content
            .as_str()
            .unwrap()
            .contains("Say hello"),
        "{turn:?}"
    );
    assert_eq!(turn.output_message.stop_reason, "end_of_turn");
    assert!(matches!(turn.steps[..], [Step::Inference { .. }]));

    let second = events(
        p.create_turn(&ctx, &agent, &session, user("And again"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(kinds(&second).last().unwrap(), "turn_complete");

    let stored = p.get_session(&ctx, &agent, &session, None).await.unwrap();
    assert_eq!(stored.turns.len(), 2);
    assert_eq!(stored.turns[0], turn);
    let only = p
        .get_session(&ctx, &agent, &session, Some(vec![turn.turn_id.clone()]))
        .await
        .unwrap();
    assert_eq!(only.turns.len(), 1);
    let step_id = turn.steps[0].common().step_id.clone();
    let step = p
        .get_step(&ctx, &agent, &session, &turn.turn_id, &step_id)
        .await
        .unwrap();
    assert_eq!(step.step, turn.steps[0]);
    assert_eq!(
        p.get_turn(&ctx, &agent, &session, &turn.turn_id)
            .await
            .unwrap(),
        turn
    );

    assert_eq!(
        p.list_sessions(&ctx, &agent, PageQuery::default())
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    assert_eq!(
        p.list_agents(&ctx, PageQuery::default())
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    p.delete_session(&ctx, &agent, &session).await.unwrap();
    assert!(p.get_session(&ctx, &agent, &session, None).await.is_err());
    p.delete_agent(&ctx, &agent).await.unwrap();
    let e = p.get_agent(&ctx, &agent).await.unwrap_err();
    assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn a_client_tool_call_waits_and_resumes() {
    let p = provider().await;
    let ctx = RequestContext::default();
    let tools = json!({"client_tools": [{"name": "get_boiling_point", "description": "Boiling point of a liquid",
        "input_schema": {"type": "object", "properties": {"liquid_name": {"type": "string"}}, "required": ["liquid_name"]}}]});
    let agent = p.create_agent(&ctx, config(tools)).await.unwrap().agent_id;
    let session = p
        .create_session(&ctx, &agent, "s".into())
        .await
        .unwrap()
        .session_id;

    let first = events(
        p.create_turn(&ctx, &agent, &session, user("Boiling point of polyjuice?"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        kinds(&first).last().unwrap(),
        "turn_awaiting_input",
        "{:?}",
        kinds(&first)
    );
    let waiting = last_turn(&first);
    let calls = waiting.output_message.tool_calls.clone().unwrap();
    assert_eq!(calls[0].tool_name, "get_boiling_point");
    assert_eq!(waiting.output_message.stop_reason, "end_of_message");

    let resume = ResumeTurnRequest {
        tool_responses: vec![AgentToolResponse {
            call_id: calls[0].call_id.clone(),
            tool_name: "get_boiling_point".into(),
            content: json!("-100"),
            metadata: None,
        }],
        stream: Some(true),
    };
    let rest = events(
        p.resume_turn(&ctx, &agent, &session, &waiting.turn_id, resume)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(kinds(&rest)[0], "step_complete");
    assert_eq!(
        kinds(&rest).last().unwrap(),
        "turn_complete",
        "{:?}",
        kinds(&rest)
    );
    let done = last_turn(&rest);
    assert_eq!(done.turn_id, waiting.turn_id);
    assert_eq!(done.started_at, waiting.started_at);
    assert!(
        done.output_message
            .content
            .as_str()
            .unwrap()
            .contains("-100"),
        "{:?}",
        done.output_message
    );
    assert_eq!(done.output_message.stop_reason, "end_of_turn");
    let types: Vec<_> = done.steps.iter().map(Step::step_type).collect();
    assert_eq!(
        types,
        [
            StepType::Inference,
            StepType::ToolExecution,
            StepType::Inference
        ]
    );
    let Step::ToolExecution {
        tool_calls,
        tool_responses,
        ..
    } = &done.steps[1]
    else {
        panic!()
    };
    assert_eq!(tool_calls[0].call_id, calls[0].call_id);
    assert_eq!(tool_responses[0].content, json!("-100"));
    assert_eq!(
        p.get_turn(&ctx, &agent, &session, &done.turn_id)
            .await
            .unwrap(),
        done
    );
    let session_now = p.get_session(&ctx, &agent, &session, None).await.unwrap();
    assert_eq!(session_now.turns.len(), 1);

    // Nothing waits any more.
    let again = ResumeTurnRequest {
        tool_responses: vec![],
        stream: Some(true),
    };
    assert!(
        p.resume_turn(&ctx, &agent, &session, &done.turn_id, again)
            .await
            .is_err()
    );
}
