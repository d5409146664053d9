//! The Bedrock routes: record, verify the SigV4 signature, apply the model's injected failure,
//! check the model and the body as Bedrock does, then answer from the deterministic model as
//! JSON or as AWS event-stream frames.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as FrameValue, Message};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, BoxStream, StreamExt};
use lls_api_common::unix_now;
use lls_api_inference::{EmbeddingInput, EmbeddingsRequest};
use lls_fake_model::failure::Failure;
use lls_fake_model::responder;
use serde_json::{Map, Value, json};

use super::{AwsError, BedrockModel, BedrockRequest, BrState, Output, converse, injected, sigv4};

type Shared = State<Arc<BrState>>;

/// Records the request and verifies its signature.
fn admit(s: &BrState, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<(), AwsError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let access_key_id = text("authorization").and_then(|a| a.split("Credential=").nth(1).and_then(|c| c.split('/').next()).map(str::to_owned));
    s.requests.lock().push(BedrockRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        access_key_id,
        security_token: text("x-amz-security-token"),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    });
    sigv4::verify(&s.keys, &s.region, method, uri, headers, body)
}

fn object(body: &Bytes) -> Result<Map<String, Value>, AwsError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(AwsError::validation("Malformed input request, please reformat your input and try again.")),
    }
}

/// The model's injected failure (sleeping for `slow-<ms>`), or the model itself; the failure
/// the answer must still show (garbage, broken streams) comes back with it.
async fn gate<'a>(s: &'a BrState, model: &str, output: Output) -> Result<(Option<&'a BedrockModel>, Option<Failure>), AwsError> {
    match Failure::from_model(model) {
        Some(Failure::Status(status)) => return Err(injected(status)),
        Some(Failure::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            return Ok((None, None));
        }
        Some(other) => return Ok((None, Some(other))),
        None => {}
    }
    let Some(spec) = s.model(model) else {
        return Err(AwsError::validation("The provided model identifier is invalid."));
    };
    if spec.output != output {
        return Err(AwsError::validation(match output {
            Output::Text => "This action doesn't support the model that you provided. Try again with a supported text or chat model.",
            Output::Embedding => "Malformed input request: this model does not produce embeddings, please reformat your input and try again.",
        }));
    }
    Ok((Some(spec), None))
}

fn garbage() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "this is not JSON {").into_response()
}

fn model_error(e: lls_api_common::Error) -> AwsError {
    AwsError::validation(e.message().to_owned())
}

async fn converse_answer(s: &BrState, model: &str, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes, stream: bool) -> Result<Response, AwsError> {
    admit(s, method, uri, headers, body)?;
    let body = object(body)?;
    let (spec, failure) = gate(s, model, Output::Text).await?;
    let request = converse::chat_request(model, &body)?;
    if let Some(spec) = spec
        && converse::prompt_words(&request) as u64 > spec.context_words
    {
        return Err(AwsError::validation("Input is too long for requested model."));
    }
    if failure == Some(Failure::Garbage) {
        return Ok(garbage());
    }
    let completion = responder::chat(&request, &format!("mock-{}", uuid::Uuid::new_v4().simple()), unix_now()).map_err(model_error)?;
    if !stream {
        return Ok(axum::Json(converse::answer(&completion)).into_response());
    }
    Ok(event_stream(converse::events(&completion), failure))
}

pub(crate) async fn converse(State(s): Shared, Path(model): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    converse_answer(&s, &model, &method, &uri, &headers, &body, false).await.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn converse_stream(State(s): Shared, Path(model): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    converse_answer(&s, &model, &method, &uri, &headers, &body, true).await.unwrap_or_else(IntoResponse::into_response)
}

fn frame(headers: [(&'static str, String); 3], payload: &Value) -> Bytes {
    let mut message = Message::new(payload.to_string().into_bytes());
    for (name, value) in headers {
        message = message.add_header(Header::new(name, FrameValue::String(value.into())));
    }
    let mut out = Vec::new();
    // Writing into a Vec fails only for headers or payloads past the format's limits.
    match write_message_to(&message, &mut out) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

fn event_frame(kind: &str, payload: &Value) -> Bytes {
    frame([(":event-type", kind.to_owned()), (":content-type", "application/json".into()), (":message-type", "event".into())], payload)
}

/// The events as an event-stream answer; `midstream-error` sends two and then a
/// `modelStreamErrorException`, `empty-stream` none.
fn event_stream(events: Vec<(&'static str, Value)>, failure: Option<Failure>) -> Response {
    let frames: Vec<Bytes> = match failure {
        Some(Failure::EmptyStream) => Vec::new(),
        Some(Failure::MidstreamError) => {
            let mut f: Vec<Bytes> = events.iter().take(2).map(|(k, p)| event_frame(k, p)).collect();
            let error = json!({"message": "The model failed while generating (injected failure)", "originalStatusCode": 500});
            f.push(frame(
                [(":exception-type", "modelStreamErrorException".into()), (":content-type", "application/json".into()), (":message-type", "exception".into())],
                &error,
            ));
            f
        }
        _ => events.iter().map(|(k, p)| event_frame(k, p)).collect(),
    };
    let body: BoxStream<'static, Result<Bytes, Infallible>> = stream::iter(frames)
        .then(|f| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(f)
        })
        .boxed();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.amazon.eventstream"))],
        Body::from_stream(body),
    )
        .into_response()
}

fn only(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), AwsError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(AwsError::validation(format!("Malformed input request: extraneous key [{k}] is not permitted, please reformat your input and try again."))),
        None => Ok(()),
    }
}

fn embed(model: &str, texts: Vec<String>, dimension: u64) -> Result<(Vec<Vec<f32>>, i64), AwsError> {
    let request = EmbeddingsRequest {
        model: model.to_owned(),
        input: EmbeddingInput::Texts(texts),
        encoding_format: None,
        dimensions: None,
        user: None,
        extra: Map::new(),
    };
    let answer = responder::embeddings(&request, dimension as usize).map_err(model_error)?;
    let vectors = answer.data.iter().map(|e| e.embedding.to_floats()).collect::<Result<Vec<_>, _>>().map_err(model_error)?;
    Ok((vectors, answer.usage.prompt_tokens))
}

async fn invoke_answer(s: &BrState, model: &str, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<Response, AwsError> {
    admit(s, method, uri, headers, body)?;
    let body = object(body)?;
    let (spec, failure) = gate(s, model, Output::Embedding).await?;
    if failure == Some(Failure::Garbage) {
        return Ok(garbage());
    }
    let dimension = spec.and_then(|m| m.dimension).unwrap_or(1024);
    let context = spec.map_or(u64::MAX, |m| m.context_words);
    let (answer, tokens) = if model.starts_with("cohere.") {
        only(&body, &["texts", "input_type", "truncate", "embedding_types", "images"])?;
        let texts: Vec<String> = body.get("texts").and_then(|t| serde_json::from_value(t.clone()).ok()).unwrap_or_default();
        if texts.is_empty() || texts.len() > 96 {
            return Err(AwsError::validation("Malformed input request: #/texts: expected between 1 and 96 texts, please reformat your input and try again."));
        }
        match body.get("input_type").and_then(Value::as_str) {
            Some("search_document" | "search_query" | "classification" | "clustering") => {}
            Some(other) => return Err(AwsError::validation(format!("Malformed input request: #/input_type: {other} is not a valid enum value, please reformat your input and try again."))),
            None => return Err(AwsError::validation("Malformed input request: #: required key [input_type] not found, please reformat your input and try again.")),
        }
        if texts.iter().any(|t| lls_fake_model::embedding::token_count(t) as u64 > context) {
            return Err(AwsError::validation("Input is too long for requested model."));
        }
        let (vectors, tokens) = embed(model, texts.clone(), dimension)?;
        (json!({"id": uuid::Uuid::new_v4().to_string(), "embeddings": vectors, "response_type": "embeddings_floats", "texts": texts}), tokens)
    } else {
        let v2 = model.starts_with("amazon.titan-embed-text-v2");
        only(&body, if v2 { &["inputText", "dimensions", "normalize", "embeddingTypes"] } else { &["inputText"] })?;
        let text = body.get("inputText").and_then(Value::as_str).ok_or_else(|| {
            AwsError::validation("Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
        })?;
        let dimension = match body.get("dimensions").map(Value::as_u64) {
            None => dimension,
            Some(Some(d @ (256 | 512 | 1024))) => d,
            Some(_) => return Err(AwsError::validation("Malformed input request: #/dimensions: must be one of 256, 512, 1024, please reformat your input and try again.")),
        };
        let words = lls_fake_model::embedding::token_count(text) as u64;
        if words > context {
            return Err(AwsError::validation(format!("400 Bad Request: Too many input tokens. Max input tokens: {context}, request input token count: {words} ")));
        }
        let (mut vectors, tokens) = embed(model, vec![text.to_owned()], dimension)?;
        let vector = vectors.pop().unwrap_or_default();
        let mut answer = json!({"embedding": vector, "inputTextTokenCount": tokens});
        if let (true, Value::Object(o)) = (v2, &mut answer) {
            o.insert("embeddingsByType".into(), json!({"float": vector}));
        }
        (answer, tokens)
    };
    let mut response = axum::Json(answer).into_response();
    if let Ok(v) = HeaderValue::from_str(&tokens.to_string()) {
        response.headers_mut().insert("x-amzn-bedrock-input-token-count", v);
    }
    response.headers_mut().insert("x-amzn-bedrock-invocation-latency", HeaderValue::from_static("9"));
    Ok(response)
}

pub(crate) async fn invoke(State(s): Shared, Path(model): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    invoke_answer(&s, &model, &method, &uri, &headers, &body).await.unwrap_or_else(IntoResponse::into_response)
}

fn summary(region: &str, m: &BedrockModel) -> Value {
    let name = m.model_id.split('.').nth(1).unwrap_or(&m.model_id).split(':').next().unwrap_or_default();
    let output = match m.output {
        Output::Text => "TEXT",
        Output::Embedding => "EMBEDDING",
    };
    json!({
        "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{}", m.model_id),
        "modelId": m.model_id,
        "modelName": name,
        "providerName": m.provider_name,
        "inputModalities": ["TEXT"],
        "outputModalities": [output],
        "responseStreamingSupported": m.output == Output::Text,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": "ACTIVE"},
    })
}

/// `GET /foundation-models` of the control plane, filtered by `byProvider`/`byOutputModality`.
pub(crate) async fn list_foundation_models(State(s): Shared, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(e) = admit(&s, &method, &uri, &headers, &Bytes::new()) {
        return e.into_response();
    }
    let params: Vec<(String, String)> = uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let param = |k: &str| params.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str());
    let summaries: Vec<Value> = s
        .models
        .iter()
        .filter(|m| param("byProvider").is_none_or(|p| p.eq_ignore_ascii_case(&m.provider_name)))
        .map(|m| summary(&s.region, m))
        .filter(|v| param("byOutputModality").is_none_or(|o| v["outputModalities"][0] == o))
        .collect();
    axum::Json(json!({"modelSummaries": summaries})).into_response()
}
