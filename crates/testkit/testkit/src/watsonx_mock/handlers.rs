//! The watsonx.ai routes: record, check `version`, the bearer token, `project_id` and the model
//! as watsonx does, apply the model's injected failure, then answer from the deterministic
//! model as JSON or as watsonx's server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, BoxStream, StreamExt};
use lls_api_common::unix_now;
use lls_api_inference::{EmbeddingInput, EmbeddingsRequest};
use lls_fake_model::failure::Failure;
use lls_fake_model::responder;
use serde_json::{Map, Value, json};

use super::{WxError, WxState, injected, wire};

type Shared = State<Arc<WxState>>;

/// The `version` query parameter: a date, `YYYY-MM-DD`.
fn check_version(query: Option<&str>) -> Result<(), WxError> {
    let version = query
        .into_iter()
        .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v.into_owned());
    let Some(version) = version else {
        return Err(WxError::new(400, "missing_argument", "Missing query parameter 'version'"));
    };
    let b = version.as_bytes();
    let date = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if date { Ok(()) } else { Err(WxError::new(400, "invalid_parameter", format!("Invalid value '{version}' for query parameter 'version': expected YYYY-MM-DD"))) }
}

/// What every inference route does first; the body as an object, and its model id.
fn admit(s: &WxState, path: &str, query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Result<(Map<String, Value>, String), WxError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    s.record("POST", path, query, headers, parsed.clone().unwrap_or(Value::Null));
    check_version(query)?;
    s.authorize(headers)?;
    let Some(Value::Object(body)) = parsed else {
        return Err(WxError::new(400, "json_type_error", "The request body is not a JSON object"));
    };
    match (body.get("project_id").and_then(Value::as_str), body.get("space_id")) {
        (Some(p), _) if p == s.project_id => {}
        (Some(p), _) => {
            return Err(WxError::new(403, "authorization_rejected", format!("The token is not authorized to use project '{p}'")));
        }
        (None, Some(_)) => return Err(WxError::new(403, "authorization_rejected", "The token is not authorized to use that space")),
        (None, None) => return Err(WxError::new(400, "json_validation_error", "Either 'project_id' or 'space_id' must be specified")),
    }
    let model = body.get("model_id").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned);
    let model = model.ok_or_else(|| WxError::new(400, "json_validation_error", "Json field 'model_id' is required"))?;
    Ok((body, model))
}

/// The model's injected failure (sleeping for `slow-<ms>`), or the model checks; returns the
/// failure the answer itself must show (garbage, broken streams).
async fn gate(s: &WxState, model: &str, function: &str) -> Result<Option<Failure>, WxError> {
    match Failure::from_model(model) {
        Some(Failure::Status(status)) => return Err(injected(status)),
        Some(Failure::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            return Ok(None);
        }
        Some(other) => return Ok(Some(other)),
        None => {}
    }
    let Some(spec) = s.model(model) else {
        return Err(WxError::new(404, "model_not_supported", format!("Model '{model}' is not supported for this environment.")));
    };
    if !spec.serves(function) {
        return Err(WxError::new(400, "model_no_support_for_function", format!("Model '{model}' does not support function 'function_{function}'")));
    }
    Ok(None)
}

/// watsonx's refusal of a prompt longer than the model's context.
fn check_context(s: &WxState, model: &str, words: usize) -> Result<(), WxError> {
    match s.model(model) {
        Some(spec) if words as u64 > spec.max_sequence_length => Err(WxError::new(
            400,
            "invalid_input_argument",
            format!(
                "Invalid input argument for Model '{model}': the number of input tokens {words} cannot exceed the total tokens limit {} for this model",
                spec.max_sequence_length
            ),
        )),
        _ => Ok(()),
    }
}

fn ids() -> (String, i64) {
    (format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()), unix_now())
}

fn garbage() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "this is not JSON {").into_response()
}

fn model_error(e: lls_api_common::Error) -> WxError {
    WxError::new(400, "invalid_input_argument", e.message().to_owned())
}

async fn chat_answer(s: &WxState, path: &str, query: Option<&str>, headers: &HeaderMap, body: &Bytes, stream: bool) -> Result<Response, WxError> {
    let (body, model) = admit(s, path, query, headers, body)?;
    let failure = gate(s, &model, "text_chat").await?;
    let request = wire::chat_request(&body)?;
    check_context(s, &model, wire::chat_prompt_words(&request))?;
    if failure == Some(Failure::Garbage) {
        return Ok(garbage());
    }
    let (id, created) = ids();
    let completion = responder::chat(&request, &id, created).map_err(model_error)?;
    if !stream {
        return Ok(axum::Json(wire::chat_answer(&completion)).into_response());
    }
    Ok(events(wire::chat_events(responder::chat_chunks(&completion, true)), failure))
}

pub(crate) async fn chat(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    chat_answer(&s, "/ml/v1/text/chat", q.as_deref(), &headers, &body, false).await.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn chat_stream(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    chat_answer(&s, "/ml/v1/text/chat_stream", q.as_deref(), &headers, &body, true).await.unwrap_or_else(IntoResponse::into_response)
}

async fn generation_answer(s: &WxState, path: &str, query: Option<&str>, headers: &HeaderMap, body: &Bytes, stream: bool) -> Result<Response, WxError> {
    let (body, model) = admit(s, path, query, headers, body)?;
    let failure = gate(s, &model, "text_generation").await?;
    let (request, echo) = wire::generation_request(&body)?;
    let input = body.get("input").and_then(Value::as_str).unwrap_or_default().to_owned();
    check_context(s, &model, lls_fake_model::embedding::token_count(&input))?;
    if failure == Some(Failure::Garbage) {
        return Ok(garbage());
    }
    let (id, created) = ids();
    let completion = responder::completion(&request, &id, created).map_err(model_error)?;
    if !stream {
        return Ok(axum::Json(wire::generation_answer(&completion, &input, echo)).into_response());
    }
    let input_tokens = completion.usage.as_ref().map_or(0, |u| u.prompt_tokens);
    let chunks = responder::completion_chunks(&completion, false);
    Ok(events(wire::generation_events(&chunks, input_tokens), failure))
}

pub(crate) async fn generation(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    generation_answer(&s, "/ml/v1/text/generation", q.as_deref(), &headers, &body, false).await.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn generation_stream(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    generation_answer(&s, "/ml/v1/text/generation_stream", q.as_deref(), &headers, &body, true)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn embeddings_answer(s: &WxState, query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Result<Response, WxError> {
    let (body, model) = admit(s, "/ml/v1/text/embeddings", query, headers, body)?;
    let failure = gate(s, &model, "embedding").await?;
    let (inputs, echo) = wire::embedding_inputs(&body)?;
    for input in &inputs {
        check_context(s, &model, lls_fake_model::embedding::token_count(input))?;
    }
    if failure == Some(Failure::Garbage) {
        return Ok(garbage());
    }
    let dimension = s.model(&model).and_then(|m| m.embedding_dimension).unwrap_or(384) as usize;
    let request = EmbeddingsRequest {
        model: model.clone(),
        input: EmbeddingInput::Texts(inputs.clone()),
        encoding_format: None,
        dimensions: None,
        user: None,
        extra: Map::new(),
    };
    let answer = responder::embeddings(&request, dimension).map_err(model_error)?;
    let results: Vec<Value> = answer
        .data
        .iter()
        .zip(&inputs)
        .map(|(e, text)| {
            let mut r = json!({"embedding": e.embedding});
            if let (true, Value::Object(o)) = (echo, &mut r) {
                o.insert("input".into(), json!(text));
            }
            r
        })
        .collect();
    Ok(axum::Json(json!({
        "model_id": model,
        "results": results,
        "created_at": wire::iso_time(unix_now()),
        "input_token_count": answer.usage.prompt_tokens,
    }))
    .into_response())
}

pub(crate) async fn embeddings(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    embeddings_answer(&s, q.as_deref(), &headers, &body).await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /ml/v1/foundation_model_specs`: public (no token needed), paged by `start`/`limit`.
pub(crate) async fn model_specs(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    s.record("GET", "/ml/v1/foundation_model_specs", q.as_deref(), &headers, Value::Null);
    if let Err(e) = check_version(q.as_deref()) {
        return e.into_response();
    }
    let params: Vec<(String, String)> = q.iter().flat_map(|q| form_urlencoded::parse(q.as_bytes()).into_owned()).collect();
    let number = |name: &str, default: usize| params.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok()).unwrap_or(default);
    let (start, limit) = (number("start", 0), number("limit", 100).clamp(1, 200));
    let resources: Vec<Value> = s.models.iter().skip(start).take(limit).map(spec).collect();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    let version = params.iter().find(|(k, _)| k == "version").map_or("", |(_, v)| v.as_str());
    let href = |start: usize| format!("http://{host}/ml/v1/foundation_model_specs?version={version}&start={start}&limit={limit}");
    let mut answer = json!({"total_count": s.models.len(), "limit": limit, "first": {"href": href(0)}, "resources": resources});
    if start + limit < s.models.len()
        && let Value::Object(o) = &mut answer
    {
        o.insert("next".into(), json!({"href": href(start + limit)}));
    }
    axum::Json(answer).into_response()
}

fn spec(m: &super::WatsonxModel) -> Value {
    let (provider, name) = m.model_id.split_once('/').unwrap_or(("ibm", m.model_id.as_str()));
    let mut limits = json!({"max_sequence_length": m.max_sequence_length});
    if let (Some(d), Value::Object(o)) = (m.embedding_dimension, &mut limits) {
        o.insert("embedding_dimension".into(), json!(d));
    } else if let Value::Object(o) = &mut limits {
        o.insert("max_output_tokens".into(), json!(m.max_sequence_length / 2));
    }
    json!({
        "model_id": m.model_id,
        "label": name,
        "provider": provider.to_uppercase(),
        "source": "Hugging Face",
        "functions": m.functions.iter().map(|f| json!({"id": f})).collect::<Vec<_>>(),
        "short_description": format!("{name}, served by the llama-stack-rs test kit's watsonx.ai mock."),
        "input_tier": "class_1",
        "output_tier": "class_1",
        "number_params": "8b",
        "model_limits": limits,
        "lifecycle": [{"id": "available", "start_date": "2024-10-01"}],
        "supported_languages": ["en"],
    })
}

/// One event as watsonx frames it: `id:`, `event: message`, `data:`.
fn frame(id: usize, event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: {event}\ndata: {data}\n\n"))
}

/// The events as an SSE answer; `midstream-error` sends two and then watsonx's `event: error`,
/// `empty-stream` none.
fn events(events: Vec<Value>, failure: Option<Failure>) -> Response {
    let frames: Vec<Bytes> = match failure {
        Some(Failure::EmptyStream) => Vec::new(),
        Some(Failure::MidstreamError) => {
            let error = WxError::new(500, "internal_server_error", "The model failed while generating (injected failure)");
            let mut f: Vec<Bytes> = events.iter().take(2).enumerate().map(|(i, e)| frame(i + 1, "message", e)).collect();
            f.push(frame(3, "error", &error.body()));
            f
        }
        _ => events.iter().enumerate().map(|(i, e)| frame(i + 1, "message", e)).collect(),
    };
    let body: BoxStream<'static, Result<Bytes, Infallible>> = stream::iter(frames)
        .then(|f| async move {
            // Piece by piece, as a model produces them.
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(f)
        })
        .boxed();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Body::from_stream(body),
    )
        .into_response()
}
