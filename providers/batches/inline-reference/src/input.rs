//! Reading a batch's input file: one request per line (`{custom_id, method, url, body}`),
//! checked before any request runs, with OpenAI's error codes and 1-based line numbers. A
//! request's body is checked here only as far as its endpoint's required fields (`model` and
//! `messages`, `prompt` or `input`) and its model; the rest is the endpoint's to refuse when
//! it runs, which fails that request alone (its line goes to the error file), as OpenAI does.

use std::collections::{HashMap, HashSet};

use lls_api_batches::BatchError;
use lls_api_common::RequestContext;
use lls_api_models::Models;
use serde_json::{Map, Value};

/// One request of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// 1-based line of the input file.
    pub line: u64,
    pub custom_id: String,
    pub body: Map<String, Value>,
}

/// What the input file held: the requests when it all validated, else the errors.
#[derive(Debug)]
pub enum Input {
    Valid(Vec<Request>),
    Invalid(Vec<BatchError>),
}

/// Limits the check enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_requests: usize,
    pub max_line_bytes: usize,
}

/// Errors listed before the rest are summed up in one more (a broken 50,000-line file must
/// not make a batch object of megabytes).
pub const MAX_ERRORS: usize = 1000;

/// Checks `content` as the input of a batch for `endpoint`. Models are looked up through
/// `models` once each.
pub async fn check(content: &[u8], endpoint: &str, limits: Limits, models: &dyn Models) -> Input {
    let mut errors = Vec::new();
    let Ok(text) = std::str::from_utf8(content) else {
        return Input::Invalid(vec![BatchError::new(
            "invalid_request",
            None,
            "The input file is not UTF-8 text; a batch input file is JSONL, one request per line.",
            Some("input_file_id"),
        )]);
    };
    let mut requests = Vec::new();
    let mut custom_ids = HashSet::new();
    let mut known_models: HashMap<String, bool> = HashMap::new();
    let ctx = RequestContext::default();
    for (index, line) in text.split('\n').enumerate() {
        let number = index as u64 + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > limits.max_line_bytes {
            errors.push(BatchError::new(
                "line_too_long",
                Some(number),
                format!(
                    "This line is {} bytes, more than the limit of {} bytes per request.",
                    line.len(),
                    limits.max_line_bytes
                ),
                None,
            ));
            continue;
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            errors.push(BatchError::new(
                "invalid_json_line",
                Some(number),
                "This line is not parseable as valid JSON.",
                None,
            ));
            continue;
        };
        let Value::Object(request) = value else {
            errors.push(BatchError::new(
                "invalid_request",
                Some(number),
                "Each line must be a JSON dictionary object",
                None,
            ));
            continue;
        };
        let before = errors.len();
        check_envelope(&request, number, endpoint, &mut errors);
        if let Some(Value::String(id)) = request.get("custom_id")
            && !custom_ids.insert(id.clone())
        {
            errors.push(BatchError::new(
                "duplicate_custom_id",
                Some(number),
                format!(
                    "The custom_id '{id}' is used by an earlier line; each request needs its own."
                ),
                Some("custom_id"),
            ));
        }
        if let Some(Value::Object(body)) = request.get("body") {
            check_body(body, number, endpoint, &mut errors);
            if let Some(Value::String(model)) = body.get("model") {
                let known = match known_models.get(model) {
                    Some(known) => *known,
                    None => {
                        let known = models.get(&ctx, model).await.is_ok();
                        known_models.insert(model.clone(), known);
                        known
                    }
                };
                if !known {
                    errors.push(BatchError::new(
                        "model_not_found",
                        Some(number),
                        format!("Model '{model}' does not exist or is not supported"),
                        Some("body.model"),
                    ));
                }
            }
        }
        if errors.len() == before
            && let (Some(Value::String(custom_id)), Some(Value::Object(body))) =
                (request.get("custom_id"), request.get("body"))
        {
            requests.push(Request {
                line: number,
                custom_id: custom_id.clone(),
                body: body.clone(),
            });
        }
        if errors.len() > MAX_ERRORS {
            break;
        }
    }
    if errors.is_empty() && requests.is_empty() {
        errors.push(BatchError::new(
            "empty_file",
            None,
            "The input file has no requests.",
            Some("input_file_id"),
        ));
    }
    if errors.is_empty() && requests.len() > limits.max_requests {
        errors.push(BatchError::new(
            "too_many_requests",
            None,
            format!(
                "The input file has {} requests; a batch takes at most {}.",
                requests.len(),
                limits.max_requests
            ),
            Some("input_file_id"),
        ));
    }
    if errors.len() > MAX_ERRORS {
        errors.truncate(MAX_ERRORS);
        errors.push(BatchError::new(
            "too_many_errors",
            None,
            format!(
                "More than {MAX_ERRORS} lines are invalid; only the first {MAX_ERRORS} are listed."
            ),
            None,
        ));
    }
    if errors.is_empty() {
        Input::Valid(requests)
    } else {
        Input::Invalid(errors)
    }
}

/// A field, its type check, its name in messages and what it must be.
type Field = (&'static str, fn(&Value) -> bool, &'static str, &'static str);
/// A body field, its type check and what it must be.
type BodyField = (&'static str, fn(&Value) -> bool, &'static str);

/// `custom_id`, `method`, `url` and `body`: present, typed, and `url` the batch's endpoint.
fn check_envelope(
    request: &Map<String, Value>,
    line: u64,
    endpoint: &str,
    errors: &mut Vec<BatchError>,
) {
    let fields: [Field; 4] = [
        ("custom_id", Value::is_string, "Custom_id", "a string"),
        ("method", Value::is_string, "Method", "a string"),
        ("url", Value::is_string, "URL", "a string"),
        ("body", Value::is_object, "Body", "a JSON dictionary object"),
    ];
    for (field, typed, name, what) in fields {
        match request.get(field) {
            None => errors.push(BatchError::new(
                "missing_required_parameter",
                Some(line),
                format!("Missing required parameter: {field}"),
                Some(field),
            )),
            Some(value) if !typed(value) => errors.push(BatchError::new(
                "invalid_request",
                Some(line),
                format!("{name} must be {what}"),
                Some(field),
            )),
            Some(_) => {}
        }
    }
    if let Some(Value::String(method)) = request.get("method")
        && method != "POST"
    {
        errors.push(BatchError::new(
            "invalid_request",
            Some(line),
            format!("Method '{method}' is not supported; batch requests use POST"),
            Some("method"),
        ));
    }
    if let Some(Value::String(url)) = request.get("url")
        && url != endpoint
    {
        errors.push(BatchError::new(
            "invalid_url",
            Some(line),
            "URL provided for this request does not match the batch endpoint",
            Some("url"),
        ));
    }
}

/// The fields the endpoint cannot do without, and no streaming.
fn check_body(body: &Map<String, Value>, line: u64, endpoint: &str, errors: &mut Vec<BatchError>) {
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        errors.push(BatchError::new(
            "streaming_unsupported",
            Some(line),
            "Streaming is not supported in batch processing",
            Some("body.stream"),
        ));
    }
    let required: &[BodyField] = match endpoint {
        "/v1/chat/completions" => &[
            ("model", Value::is_string, "a string"),
            ("messages", Value::is_array, "an array"),
        ],
        "/v1/completions" => &[
            ("model", Value::is_string, "a string"),
            (
                "prompt",
                |v| v.is_string() || v.is_array(),
                "a string or an array",
            ),
        ],
        "/v1/responses" => &[
            ("model", Value::is_string, "a string"),
            (
                "input",
                |v| v.is_string() || v.is_array(),
                "a string or an array of input items",
            ),
        ],
        _ => &[
            ("model", Value::is_string, "a string"),
            (
                "input",
                |v| v.is_string() || v.is_array(),
                "a string or an array of strings",
            ),
        ],
    };
    for (field, typed, what) in required {
        let param = format!("body.{field}");
        let name = capitalized(field);
        match body.get(*field) {
            None => errors.push(BatchError::new(
                "invalid_request",
                Some(line),
                format!("{name} parameter is required"),
                Some(&param),
            )),
            Some(value) if !typed(value) => errors.push(BatchError::new(
                "invalid_request",
                Some(line),
                format!("{name} must be {what}"),
                Some(&param),
            )),
            Some(_) => {}
        }
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use lls_api_common::{Error, Result};
    use lls_api_models::{Model, RegisterModelRequest};
    use serde_json::json;

    /// Knows one model, `m`.
    struct OneModel;

    #[async_trait]
    impl Models for OneModel {
        async fn list(&self, _: &RequestContext) -> Result<Vec<Model>> {
            Ok(Vec::new())
        }
        async fn get(&self, _: &RequestContext, id: &str) -> Result<Model> {
            if id == "m" {
                Ok(serde_json::from_value(json!({"identifier": "m", "provider_resource_id": "m", "provider_id": "p", "type": "model", "model_type": "llm", "metadata": {}})).unwrap())
            } else {
                Err(Error::not_found("no"))
            }
        }
        async fn register(&self, _: &RequestContext, _: RegisterModelRequest) -> Result<Model> {
            Err(Error::unsupported("no"))
        }
        async fn unregister(&self, _: &RequestContext, _: &str) -> Result<()> {
            Err(Error::unsupported("no"))
        }
    }

    const LIMITS: Limits = Limits {
        max_requests: 3,
        max_line_bytes: 400,
    };

    fn line(custom_id: &str, body: Value) -> String {
        json!({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}).to_string()
    }

    async fn errors(text: &str) -> Vec<(String, Option<u64>, Option<String>)> {
        match check(text.as_bytes(), "/v1/chat/completions", LIMITS, &OneModel).await {
            Input::Invalid(e) => e.into_iter().map(|e| (e.code, e.line, e.param)).collect(),
            Input::Valid(r) => panic!("valid: {r:?}"),
        }
    }

    #[tokio::test]
    async fn valid_lines_become_requests_skipping_blank_ones() {
        let text = format!(
            "{}\n\n{}\r\n",
            line("a", json!({"model": "m", "messages": []})),
            line("b", json!({"model": "m", "messages": []}))
        );
        let Input::Valid(requests) =
            check(text.as_bytes(), "/v1/chat/completions", LIMITS, &OneModel).await
        else {
            panic!()
        };
        assert_eq!(
            requests
                .iter()
                .map(|r| (r.line, r.custom_id.as_str()))
                .collect::<Vec<_>>(),
            [(1, "a"), (3, "b")]
        );
    }

    #[tokio::test]
    async fn each_bad_line_is_reported_with_its_number_and_code() {
        let text = [
            line("a", json!({"model": "m", "messages": []})),
            "{not json".to_owned(),
            "[1]".to_owned(),
            json!({"method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []}}).to_string(),
            line("b", json!({"model": "nope", "messages": []})),
            line("c", json!({"model": "m", "messages": [], "stream": true})),
            line("a", json!({"model": "m", "messages": []})),
            json!({"custom_id": "d", "method": "GET", "url": "/v1/embeddings", "body": {"messages": "x"}}).to_string(),
            line("e", json!({"model": "m", "messages": [], "pad": "x".repeat(400)})),
        ]
        .join("\n");
        let codes = errors(&text).await;
        let want: Vec<(String, Option<u64>, Option<String>)> = vec![
            ("invalid_json_line".into(), Some(2), None),
            ("invalid_request".into(), Some(3), None),
            (
                "missing_required_parameter".into(),
                Some(4),
                Some("custom_id".into()),
            ),
            ("model_not_found".into(), Some(5), Some("body.model".into())),
            (
                "streaming_unsupported".into(),
                Some(6),
                Some("body.stream".into()),
            ),
            (
                "duplicate_custom_id".into(),
                Some(7),
                Some("custom_id".into()),
            ),
            ("invalid_request".into(), Some(8), Some("method".into())),
            ("invalid_url".into(), Some(8), Some("url".into())),
            ("invalid_request".into(), Some(8), Some("body.model".into())),
            (
                "invalid_request".into(),
                Some(8),
                Some("body.messages".into()),
            ),
            ("line_too_long".into(), Some(9), None),
        ];
        assert_eq!(codes, want);
    }

    #[tokio::test]
    async fn empty_files_too_many_requests_and_non_utf8_fail() {
        assert_eq!(errors("\n \n").await[0].0, "empty_file");
        let four: Vec<String> = (0..4)
            .map(|i| line(&i.to_string(), json!({"model": "m", "messages": []})))
            .collect();
        assert_eq!(errors(&four.join("\n")).await[0].0, "too_many_requests");
        let Input::Invalid(e) =
            check(&[0xff, 0xfe], "/v1/chat/completions", LIMITS, &OneModel).await
        else {
            panic!()
        };
        assert_eq!(e[0].code, "invalid_request");
    }

    #[tokio::test]
    async fn endpoints_require_their_own_fields() {
        let text = json!({"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m"}}).to_string();
        let Input::Invalid(e) = check(text.as_bytes(), "/v1/embeddings", LIMITS, &OneModel).await
        else {
            panic!()
        };
        assert_eq!(e[0].param.as_deref(), Some("body.input"));
        let text = json!({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": ["x", "y"]}}).to_string();
        assert!(matches!(
            check(text.as_bytes(), "/v1/completions", LIMITS, &OneModel).await,
            Input::Valid(_)
        ));
    }
}
