//! The legacy v1alpha Agents API over HTTP, in process, on a stack of the fake model and the
//! meta-reference agents: agents, sessions, streamed and plain turns, steps, the `/v1/agents`
//! aliases, deletion. (Here: it puts the agents provider and service together.)

use axum::http::Method;
use lls_api_agents::TurnStreamChunk;
use serde_json::{Value, json};

use crate::support::{app_in_tempdir, call, call_text, storage_yaml};

fn run_yaml(dir: &std::path::Path) -> String {
    format!(
        "version: 2
image_name: legacy-agents
apis: [agents, inference]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config: {{}}
  agents:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      persistence:
        agent_state: {{namespace: agents, backend: kv_default}}
        responses: {{table_name: responses, backend: sql_default}}
{}server:
  port: 8321
",
        storage_yaml(dir)
    )
}

async fn ok(app: &axum::Router, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = call(app, method.clone(), path, body).await;
    assert_eq!(status.as_u16(), 200, "{method} {path}: {v}");
    v
}

#[tokio::test]
async fn agents_sessions_and_turns_over_http() {
    let (app, _dir) = app_in_tempdir(run_yaml).await;
    let config = json!({"agent_config": {"model": "fake/fake-llm", "instructions": "You are a helpful assistant"}});
    let agent = ok(&app, Method::POST, "/v1alpha/agents", Some(config)).await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = ok(&app, Method::GET, &format!("/v1/agents/{agent}"), None).await;
    assert_eq!(got["agent_config"]["max_infer_iters"], 10);
    let listed = ok(&app, Method::GET, "/v1alpha/agents?limit=5", None).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["has_more"], false);

    let session = ok(
        &app,
        Method::POST,
        &format!("/v1alpha/agents/{agent}/session"),
        Some(json!({"session_name": "s"})),
    )
    .await;
    let session = session["session_id"].as_str().unwrap().to_owned();
    let turns = format!("/v1alpha/agents/{agent}/session/{session}/turn");

    let body =
        json!({"messages": [{"role": "user", "content": "hello"}], "stream": true}).to_string();
    let (status, sse) = call_text(&app, Method::POST, &turns, Some(&body)).await;
    assert_eq!(status.as_u16(), 200, "{sse}");
    let chunks: Vec<TurnStreamChunk> = sse
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let Some(turn) = chunks.last().and_then(|c| c.event.payload.final_turn()) else {
        panic!("{sse}")
    };
    assert!(
        turn.output_message
            .content
            .as_str()
            .unwrap()
            .contains("hello"),
        "{turn:?}"
    );

    let plain = ok(
        &app,
        Method::POST,
        &turns,
        Some(json!({"messages": [{"role": "user", "content": "again"}]})),
    )
    .await;
    assert_eq!(plain["output_message"]["role"], "assistant");
    let turn_id = plain["turn_id"].as_str().unwrap();
    let step_id = plain["steps"][0]["step_id"].as_str().unwrap();
    let step = ok(
        &app,
        Method::GET,
        &format!("{turns}/{turn_id}/step/{step_id}"),
        None,
    )
    .await;
    assert_eq!(step["step"]["step_type"], "inference");
    assert_eq!(
        ok(&app, Method::GET, &format!("{turns}/{turn_id}"), None).await,
        plain
    );

    let one = ok(
        &app,
        Method::GET,
        &format!("/v1alpha/agents/{agent}/session/{session}?turn_ids={turn_id}"),
        None,
    )
    .await;
    assert_eq!(one["turns"].as_array().unwrap().len(), 1);
    let sessions = ok(
        &app,
        Method::GET,
        &format!("/v1alpha/agents/{agent}/sessions"),
        None,
    )
    .await;
    assert_eq!(sessions["data"][0]["session_name"], "s");

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/v1/agents/{agent}/session/{session}"),
        None,
    )
    .await;
    assert_eq!(deleted.0.as_u16(), 204);
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/v1alpha/agents/{agent}"),
            None
        )
        .await
        .0
        .as_u16(),
        204
    );
    let (status, body) = call(&app, Method::GET, &format!("/v1alpha/agents/{agent}"), None).await;
    assert_eq!(status.as_u16(), 400, "{body}");
}
