//! The conformance suite of the Responses API (the agents API): scenario functions taking a
//! [`ResponsesHarness`], and [`responses_conformance!`](crate::responses_conformance) to turn
//! them into one test each inside an agents provider crate. The harness's model must answer as
//! the deterministic fake model does (`Mock answer. You asked: …`, `The tool returned: …`, the
//! first offered tool called when tools are offered and no tool result is last).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure};
use futures::StreamExt;
use lls_api_agents::{
    Annotation, ContentPart, CreateResponseRequest, Emitted, InputItemsQuery, Item,
    ListResponsesQuery, MessageContent, ResponseEvent, ResponseObject, Responses,
};
use lls_api_common::{ErrorKind, RequestContext};
use serde_json::{Value, json};

pub use crate::scenario::{Outcome, ScenarioResult, TestResult};
use crate::scenario::{Runtime, Scenario, Suite};

/// A vector store the harness filled: searching `query` finds `file_id` (named `filename`).
#[derive(Debug, Clone)]
pub struct FileSearchFixture {
    pub vector_store_id: String,
    pub query: String,
    pub file_id: String,
    pub filename: String,
}

/// What a provider crate's setup gives the suite. `_guard` keeps backends alive.
pub struct ResponsesHarness {
    pub provider: Arc<dyn Responses>,
    pub ctx: RequestContext,
    /// A model that answers.
    pub model: String,
    /// A model whose backend fails with a 500.
    pub failing_model: String,
    /// `None`: the provider has no file search, and its scenarios are skipped.
    pub file_search: Option<FileSearchFixture>,
    pub _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for ResponsesHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponsesHarness")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// What the harness offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub file_search: bool,
}

impl ResponsesHarness {
    pub fn features(&self) -> Features {
        Features {
            file_search: self.file_search.is_some(),
        }
    }

    fn request(&self, body: Value) -> anyhow::Result<CreateResponseRequest> {
        let mut body = body;
        if body.get("model").is_none() {
            body["model"] = json!(self.model);
        }
        serde_json::from_value(body)
            .map_err(|e| anyhow!("the scenario's request does not parse: {e}"))
    }

    /// Every event of a response.
    async fn events(&self, body: Value) -> anyhow::Result<Vec<Emitted>> {
        let stream = self
            .provider
            .create_response(&self.ctx, self.request(body)?)
            .await
            .map_err(|e| anyhow!("create_response: {e}"))?;
        Ok(stream.collect().await)
    }

    /// The final response of a run that must succeed.
    async fn respond(&self, body: Value) -> anyhow::Result<ResponseObject> {
        let events = self.events(body).await?;
        let last = events.last().ok_or_else(|| anyhow!("no events"))?;
        if let Some(cause) = &last.cause {
            bail!("the response failed: {cause}");
        }
        last.event.terminal_response().cloned().ok_or_else(|| {
            anyhow!(
                "the last event is {}, not a terminal one",
                last.event.kind()
            )
        })
    }
}

/// The suite (the scenarios [`responses_conformance!`](crate::responses_conformance) must generate).
pub const SUITE: Suite<Features> = Suite {
    api: "agents",
    scenarios: &[
        Scenario::always("text_answer_is_stored"),
        Scenario::always("events_are_numbered_and_paired"),
        Scenario::always("function_call_round_trip"),
        Scenario::always("previous_response_continues"),
        Scenario::always("bad_requests_are_refused"),
        Scenario::always("stored_responses_list_page_and_delete"),
        Scenario::always("backend_failure_fails_the_response"),
        Scenario::always("options_are_echoed"),
        Scenario {
            name: "file_search_cites_its_files",
            runs_with: |f| f.file_search,
        },
        Scenario {
            name: "max_infer_iters_leaves_it_incomplete",
            runs_with: |f| f.file_search,
        },
        Scenario {
            name: "a_repeated_search_is_answered_not_rerun",
            runs_with: |f| f.file_search,
        },
    ],
    timeout: Duration::from_secs(60),
    runtime: Runtime::MultiThread { workers: 2 },
};

fn output_text(r: &ResponseObject) -> String {
    r.output
        .iter()
        .filter_map(|i| match i {
            Item::Message(m) => Some(m.text()),
            _ => None,
        })
        .collect()
}

/// A plain question gets a completed message answer, stored with its input and usage.
pub async fn text_answer_is_stored(h: &ResponsesHarness) -> ScenarioResult {
    let r = h
        .respond(json!({"input": "What is the capital of France?"}))
        .await?;
    ensure!(r.status == "completed", "status {}", r.status);
    ensure!(
        output_text(&r).contains("capital of France"),
        "answer {:?}",
        output_text(&r)
    );
    let usage = r.usage.clone().ok_or_else(|| anyhow!("no usage"))?;
    ensure!(
        usage.total_tokens == usage.input_tokens + usage.output_tokens && usage.output_tokens > 0,
        "usage {usage:?}"
    );
    let stored = h
        .provider
        .get_response(&h.ctx, &r.id)
        .await
        .map_err(|e| anyhow!("get_response: {e}"))?;
    ensure!(
        stored == r,
        "the stored response differs:\n{stored:?}\n{r:?}"
    );
    let items = h
        .provider
        .list_input_items(&h.ctx, &r.id, InputItemsQuery::default())
        .await
        .map_err(|e| anyhow!("input items: {e}"))?;
    ensure!(items.data.len() == 1, "input items {:?}", items.data);
    let Item::Message(m) = &items.data[0] else {
        bail!("the input item is not a message")
    };
    ensure!(
        m.id.as_deref().is_some_and(|id| id.starts_with("msg_")),
        "the input message has no id: {m:?}"
    );
    Ok(Outcome::Passed)
}

/// Sequence numbers count up from 0; created and in_progress come first, one terminal event
/// last; every added item is done with the same id at the same index; text deltas add up to
/// the text of `output_text.done`.
pub async fn events_are_numbered_and_paired(h: &ResponsesHarness) -> ScenarioResult {
    let events = h
        .events(json!({"input": "Tell me about llamas", "stream": true}))
        .await?;
    let numbers: Vec<u64> = events.iter().map(|e| e.event.sequence_number()).collect();
    ensure!(
        numbers == (0..events.len() as u64).collect::<Vec<_>>(),
        "sequence numbers {numbers:?}"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e.event.kind()).collect();
    ensure!(
        kinds.first() == Some(&"response.created") && kinds.get(1) == Some(&"response.in_progress"),
        "kinds {kinds:?}"
    );
    ensure!(
        kinds.last() == Some(&"response.completed"),
        "kinds {kinds:?}"
    );
    ensure!(
        kinds
            .iter()
            .filter(|k| k.starts_with("response.completed"))
            .count()
            == 1,
        "kinds {kinds:?}"
    );
    let mut added = Vec::new();
    let mut deltas = String::new();
    let mut done_text = None;
    for e in &events {
        match &e.event {
            ResponseEvent::OutputItemAdded {
                item, output_index, ..
            } => added.push((item.id().map(str::to_owned), *output_index)),
            ResponseEvent::OutputItemDone {
                item, output_index, ..
            } => {
                let key = (item.id().map(str::to_owned), *output_index);
                ensure!(
                    added.contains(&key),
                    "output_item.done for {key:?} was never added"
                );
            }
            ResponseEvent::OutputTextDelta { delta, .. } => deltas.push_str(delta),
            ResponseEvent::OutputTextDone { text, .. } => done_text = Some(text.clone()),
            _ => {}
        }
    }
    ensure!(!deltas.is_empty(), "no text deltas: {kinds:?}");
    ensure!(
        done_text.as_deref() == Some(deltas.as_str()),
        "output_text.done {done_text:?} vs deltas {deltas:?}"
    );
    let final_response = events
        .last()
        .and_then(|e| e.event.terminal_response())
        .ok_or_else(|| anyhow!("no final response"))?;
    ensure!(
        output_text(final_response) == deltas,
        "final text {:?} vs deltas {deltas:?}",
        output_text(final_response)
    );
    Ok(Outcome::Passed)
}

fn weather_tool() -> Value {
    json!([{"type": "function", "name": "get_weather", "description": "Get the weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

/// A function tool ends the response with a `function_call`; sending its output with
/// `previous_response_id` gets the model's answer about it.
pub async fn function_call_round_trip(h: &ResponsesHarness) -> ScenarioResult {
    let first = h
        .respond(json!({"input": "What is the weather in Paris?", "tools": weather_tool()}))
        .await?;
    ensure!(first.status == "completed", "status {}", first.status);
    let Some(Item::FunctionCall(call)) = first.output.last() else {
        bail!("no function_call: {:?}", first.output)
    };
    ensure!(call.name == "get_weather", "called {}", call.name);
    ensure!(
        serde_json::from_str::<Value>(&call.arguments).is_ok_and(|a| a.get("city").is_some()),
        "arguments {}",
        call.arguments
    );
    let second = h
        .respond(json!({"previous_response_id": first.id, "tools": weather_tool(),
            "input": [{"type": "function_call_output", "call_id": call.call_id, "output": "sunny and 25 degrees"}]}))
        .await?;
    ensure!(
        output_text(&second).contains("sunny and 25 degrees"),
        "answer {:?}",
        output_text(&second)
    );
    ensure!(
        second.previous_response_id.as_deref() == Some(first.id.as_str()),
        "previous_response_id {:?}",
        second.previous_response_id
    );
    Ok(Outcome::Passed)
}

/// A follow-up sees the earlier turn, and its stored input holds both turns.
pub async fn previous_response_continues(h: &ResponsesHarness) -> ScenarioResult {
    let first = h.respond(json!({"input": "My name is Ada."})).await?;
    let second = h
        .respond(json!({"input": "What is my name?", "previous_response_id": first.id}))
        .await?;
    let items = h
        .provider
        .list_input_items(
            &h.ctx,
            &second.id,
            serde_json::from_value(json!({"order": "asc"}))?,
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        items.data.len() == 3,
        "input of the follow-up: {:?}",
        items.data
    );
    Ok(Outcome::Passed)
}

async fn refused(h: &ResponsesHarness, body: Value) -> anyhow::Result<ErrorKind> {
    match h
        .provider
        .create_response(&h.ctx, h.request(body.clone())?)
        .await
    {
        Ok(_) => bail!("accepted {body}"),
        Err(e) => Ok(e.kind()),
    }
}

/// What cannot run is refused before any event, as a client error.
pub async fn bad_requests_are_refused(h: &ResponsesHarness) -> ScenarioResult {
    let bodies = [
        json!({"input": "x", "conversation": "conv_1", "previous_response_id": "resp_1"}),
        json!({"input": "x", "conversation": "c1"}),
        json!({"input": "x", "previous_response_id": "resp_missing"}),
        json!({"input": [{"type": "function_call_output", "call_id": "nowhere", "output": "x"}]}),
        json!({"input": "x", "max_infer_iters": 0}),
        json!({"input": "x", "temperature": 3.5}),
        json!({"input": "x", "metadata": {"k": 1}}),
        json!({"input": "x", "include": ["everything"]}),
        json!({"input": "x", "tool_choice": {"type": "function", "name": "nope"}, "tools": weather_tool()}),
        json!({"input": "x", "text": {"format": {"type": "json_schema"}}}),
        json!({"input": "x", "tools": [{"type": "file_search", "vector_store_ids": []}]}),
    ];
    for body in bodies {
        let kind = refused(h, body.clone()).await?;
        ensure!(
            matches!(kind, ErrorKind::InvalidRequest | ErrorKind::NotFound),
            "{body} was refused as {kind:?}"
        );
    }
    Ok(Outcome::Passed)
}

/// Stored responses list newest first with exact pages; deleted ones are gone; `store: false`
/// keeps nothing.
pub async fn stored_responses_list_page_and_delete(h: &ResponsesHarness) -> ScenarioResult {
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            h.respond(json!({"input": format!("question {i}")}))
                .await?
                .id,
        );
    }
    let unstored = h
        .respond(json!({"input": "forget me", "store": false}))
        .await?;
    ensure!(
        h.provider.get_response(&h.ctx, &unstored.id).await.is_err(),
        "a store=false response was stored"
    );
    let all = h
        .provider
        .list_responses(&h.ctx, ListResponsesQuery::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    for id in &ids {
        ensure!(
            all.data.iter().any(|r| &r.response.id == id),
            "{id} is not listed"
        );
    }
    let page: ListResponsesQuery = serde_json::from_value(json!({"limit": 1, "model": h.model}))?;
    let page = h
        .provider
        .list_responses(&h.ctx, page)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        page.data.len() == 1 && page.has_more,
        "a page of one: {} rows, has_more {}",
        page.data.len(),
        page.has_more
    );
    ensure!(
        page.first_id == page.last_id && !page.first_id.is_empty(),
        "first/last ids {page:?}"
    );
    let gone = h
        .provider
        .delete_response(&h.ctx, &ids[0])
        .await
        .map_err(|e| anyhow!("delete: {e}"))?;
    ensure!(gone.deleted && gone.id == ids[0], "{gone:?}");
    ensure!(
        h.provider.get_response(&h.ctx, &ids[0]).await.is_err(),
        "a deleted response is still there"
    );
    ensure!(
        h.provider.delete_response(&h.ctx, &ids[0]).await.is_err(),
        "a deleted response was deleted again"
    );
    Ok(Outcome::Passed)
}

/// A backend that fails ends the stream with `response.failed` carrying an error and its cause.
pub async fn backend_failure_fails_the_response(h: &ResponsesHarness) -> ScenarioResult {
    let events = h
        .events(json!({"input": "hello", "model": h.failing_model, "stream": true}))
        .await?;
    let last = events.last().ok_or_else(|| anyhow!("no events"))?;
    let ResponseEvent::Failed { response, .. } = &last.event else {
        bail!("last event {}", last.event.kind())
    };
    ensure!(
        response.status == "failed" && response.error.is_some(),
        "{response:?}"
    );
    let cause = last.cause.as_ref().ok_or_else(|| anyhow!("no cause"))?;
    ensure!(
        matches!(
            cause.kind(),
            ErrorKind::UpstreamError | ErrorKind::UpstreamUnavailable | ErrorKind::Internal
        ),
        "cause {cause:?}"
    );
    Ok(Outcome::Passed)
}

/// Options 0.3.5 drops are kept: metadata, sampling, limits, instructions.
pub async fn options_are_echoed(h: &ResponsesHarness) -> ScenarioResult {
    let r = h
        .respond(json!({"input": "hi", "instructions": "Be brief.", "metadata": {"team": "rag"}, "temperature": 0.5, "top_p": 0.9,
            "max_output_tokens": 64, "parallel_tool_calls": false}))
        .await?;
    ensure!(
        r.metadata.as_ref().and_then(|m| m.get("team")) == Some(&json!("rag")),
        "metadata {:?}",
        r.metadata
    );
    ensure!(
        r.temperature == Some(0.5) && r.top_p == Some(0.9) && r.max_output_tokens == Some(64),
        "{r:?}"
    );
    ensure!(
        !r.parallel_tool_calls && r.instructions.as_deref() == Some("Be brief."),
        "{r:?}"
    );
    Ok(Outcome::Passed)
}

/// `file_search` searches the store, reports results when asked, and the final text cites the
/// file by its real name.
pub async fn file_search_cites_its_files(h: &ResponsesHarness) -> ScenarioResult {
    let Some(fs) = &h.file_search else {
        return Ok(Outcome::Skipped("file search"));
    };
    let r = h
        .respond(
            json!({"input": fs.query, "include": ["file_search_call.results"],
            "tools": [{"type": "file_search", "vector_store_ids": [fs.vector_store_id]}]}),
        )
        .await?;
    let Some(Item::FileSearchCall(call)) = r.output.first() else {
        bail!("no file_search_call first: {:?}", r.output)
    };
    ensure!(call.status == "completed", "{call:?}");
    let results = call
        .results
        .as_ref()
        .ok_or_else(|| anyhow!("no results although included"))?;
    ensure!(
        results
            .iter()
            .any(|res| res.file_id == fs.file_id && res.filename == fs.filename),
        "results {results:?}"
    );
    let Some(Item::Message(m)) = r.output.last() else {
        bail!("no message last: {:?}", r.output)
    };
    let MessageContent::Parts(parts) = &m.content else {
        bail!("message content {:?}", m.content)
    };
    let Some(ContentPart::OutputText { text, annotations }) = parts.first() else {
        bail!("parts {parts:?}")
    };
    ensure!(
        !text.contains("<|"),
        "a citation marker is left in {text:?}"
    );
    ensure!(
        annotations.iter().any(|a| matches!(a, Annotation::FileCitation { file_id, filename, .. } if *file_id == fs.file_id && *filename == fs.filename)),
        "annotations {annotations:?}"
    );
    // Without `include`, the results are left out.
    let r = h.respond(json!({"input": fs.query, "tools": [{"type": "file_search", "vector_store_ids": [fs.vector_store_id]}]})).await?;
    let Some(Item::FileSearchCall(call)) = r.output.first() else {
        bail!("no file_search_call: {:?}", r.output)
    };
    ensure!(
        call.results.is_none(),
        "results without include: {:?}",
        call.results
    );
    Ok(Outcome::Passed)
}

/// With `max_infer_iters: 1`, a response whose model calls a server-side tool stops there, incomplete.
pub async fn max_infer_iters_leaves_it_incomplete(h: &ResponsesHarness) -> ScenarioResult {
    let Some(fs) = &h.file_search else {
        return Ok(Outcome::Skipped("file search"));
    };
    let r = h
        .respond(json!({"input": fs.query, "max_infer_iters": 1,
            "tools": [{"type": "file_search", "vector_store_ids": [fs.vector_store_id]}]}))
        .await?;
    ensure!(r.status == "incomplete", "status {}", r.status);
    ensure!(r.incomplete_details.is_some(), "no incomplete_details");
    Ok(Outcome::Passed)
}

/// A model that calls the same search again after its result (small models do) is not looped
/// until `max_infer_iters`: the search runs once, then the model is asked to answer.
pub async fn a_repeated_search_is_answered_not_rerun(h: &ResponsesHarness) -> ScenarioResult {
    let Some(fs) = &h.file_search else {
        return Ok(Outcome::Skipped("file search"));
    };
    let r = h
        .respond(json!({"input": fs.query, "model": lls_fake_model::responder::REPEATS_TOOL_CALLS,
            "tools": [{"type": "file_search", "vector_store_ids": [fs.vector_store_id]}]}))
        .await?;
    let kinds: Vec<&str> = r.output.iter().map(Item::kind).collect();
    ensure!(r.status == "completed", "status {} with {kinds:?}", r.status);
    ensure!(
        kinds == ["file_search_call", "message"],
        "output {kinds:?}: one search, then the answer"
    );
    ensure!(
        output_text(&r).contains("The tool returned"),
        "the answer {:?} is not from the search",
        output_text(&r)
    );
    Ok(Outcome::Passed)
}

/// Expands into one `#[test]` per scenario of the Responses suite inside a module
/// `responses_conformance`, plus `scenario_count`. `$setup` is an async block evaluating to a
/// [`ResponsesHarness`]; it runs anew for every test.
#[macro_export]
macro_rules! responses_conformance {
    ($setup:expr $(,)?) => {
        $crate::__conformance_tests!(
            mod responses_conformance, suite responses_suite, setup $setup,
            |h: $crate::responses_suite::ResponsesHarness| (&h),
            features ::std::result::Result::Ok(h.features());
            text_answer_is_stored,
            events_are_numbered_and_paired,
            function_call_round_trip,
            previous_response_continues,
            bad_requests_are_refused,
            stored_responses_list_page_and_delete,
            backend_failure_fails_the_response,
            options_are_echoed,
            file_search_cites_its_files,
            max_infer_iters_leaves_it_incomplete,
            a_repeated_search_is_answered_not_rerun,
        );
    };
}
