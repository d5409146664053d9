//! `GET /metrics` of a whole app (the in-memory test providers of `http.rs`, the real fake
//! inference provider, the call layers, the inference store's queued writer), scraped after
//! real requests and read with a Prometheus text-format parser: request counts and latency by
//! route template, provider calls, inference tokens and time to first token, ingestion and
//! search, the store writer's queue. The recorder is the process's, shared with the other tests
//! of this binary, so every check compares a scrape after with one before, or looks at labels
//! only this test uses.
// Helpers here (harness, requests) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use prom_text_format_parser::{Sample, Scrape, Type, ValueType};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::http::{ok, send, wait_while_in_progress};

fn run_yaml(dir: &std::path::Path, name: &str) -> String {
    format!(
        r#"
version: 2
image_name: vector-stores-metrics
apis: [inference, vector_io, files]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config: {{}}
  vector_io:
  - provider_id: metered-{name}
    provider_type: inline::memory
    config: {{name: {name}}}
  files:
  - provider_id: files
    provider_type: inline::memory
    config: {{name: {name}}}
storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: {dir}/kv.db}}
    sql_default: {{type: sql_sqlite, db_path: {dir}/sql.db}}
  stores:
    metadata: {{backend: kv_default, namespace: registry}}
    inference: {{backend: sql_default, table_name: metered_completions}}
vector_stores:
  default_provider_id: metered-{name}
  default_embedding_model: {{provider_id: fake, model_id: fake-embed}}
server:
  port: 8321
"#,
        dir = dir.display()
    )
}

async fn upload(app: &Router, filename: &str, content: &str) -> String {
    let boundary = "metrics-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: text/plain\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    let req = Request::post("/v1/files")
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let (status, text) = send(app, req).await;
    assert_eq!(status, StatusCode::OK, "upload: {text}");
    serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned()
}

async fn scrape(app: &Router) -> Scrape {
    let (status, text) = send(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    Scrape::parse(&text).unwrap_or_else(|e| panic!("not the Prometheus text format ({e:?}): {text}"))
}

/// The samples of `metric` whose labels include every pair of `labels`: a counter's or gauge's
/// values, a histogram's observation counts.
fn find<'s>(scrape: &'s Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<&'s Sample> {
    let has = |s: &Sample, (k, v): &(&str, &str)| s.labels.iter().any(|l| l.key == *k && l.value == *v);
    scrape
        .metrics
        .iter()
        .filter(|m| m.name == metric)
        .flat_map(|m| {
            let counts_only = matches!(m.kind, Type::Histogram | Type::Summary);
            m.samples.iter().filter(move |s| !counts_only || s.value.value_type == ValueType::Count)
        })
        .filter(|s| labels.iter().all(|pair| has(s, pair)))
        .collect()
}

fn total(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    find(scrape, metric, labels).iter().map(|s| s.value.value.as_f64()).sum()
}

fn kind(scrape: &Scrape, metric: &str) -> Option<Type> {
    scrape.metrics.iter().find(|m| m.name == metric).map(|m| m.kind)
}

/// Asserts that `metric` (matching `labels`) grew by at least `min` between the scrapes.
#[track_caller]
fn assert_grew(before: &Scrape, after: &Scrape, metric: &str, labels: &[(&str, &str)], min: f64) {
    let grown = total(after, metric, labels) - total(before, metric, labels);
    let seen: Vec<_> = after.metrics.iter().filter(|m| m.name == metric).flat_map(|m| m.samples.iter().map(|s| format!("{}{} {}", m.name, s.labels, s.value))).collect();
    assert!(grown >= min, "{metric} {labels:?} grew by {grown}, not {min}; samples: {seen:#?}");
}

#[tokio::test]
async fn metrics_scrape_counts_requests_provider_calls_inference_and_ingestion() {
    let dir = tempfile::tempdir().unwrap();
    let name = uuid::Uuid::new_v4().simple().to_string();
    let provider = format!("metered-{name}");
    let config = lls_config::RunConfig::from_yaml_str(&run_yaml(dir.path(), &name), &|_| None).unwrap();
    config.validate().unwrap();
    let app = lls_server::app(Arc::new(lls_registry::Stack::build(config).await.unwrap())).unwrap();

    let before = scrape(&app).await;
    let chat = |stream: bool| {
        json!({"model": "fake/fake-llm", "messages": [{"role": "user", "content": "count my tokens"}],
               "stream": stream, "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null }})
    };
    let answer = ok(&app, Method::POST, "/v1/chat/completions", Some(chat(false))).await;
    assert!(answer["usage"]["completion_tokens"].as_i64().unwrap() > 0, "{answer}");
    let streamed = ok(&app, Method::POST, "/v1/chat/completions", Some(chat(true))).await;
    assert!(streamed.as_str().unwrap().contains("\"completion_tokens\""), "{streamed}");
    ok(&app, Method::POST, "/v1/embeddings", Some(json!({"model": "fake/fake-embed", "input": ["a", "b"]}))).await;

    let store = ok(&app, Method::POST, "/v1/vector_stores", Some(json!({"name": "metered"}))).await;
    let store = store["id"].as_str().unwrap().to_owned();
    let file = upload(&app, "notes.txt", "Prometheus scrapes metrics over HTTP. Histograms have buckets.").await;
    ok(&app, Method::GET, &format!("/v1/files/{file}"), None).await;
    let attach = format!("/v1/vector_stores/{store}/files");
    ok(&app, Method::POST, &attach, Some(json!({"file_id": file}))).await;
    let status = wait_while_in_progress(&app, &format!("{attach}/{file}")).await["status"].clone();
    assert_eq!(status, "completed");
    // A file with no text fails to ingest.
    let empty = upload(&app, "empty.txt", "").await;
    ok(&app, Method::POST, &attach, Some(json!({"file_id": empty}))).await;
    let status = wait_while_in_progress(&app, &format!("{attach}/{empty}")).await["status"].clone();
    assert_eq!(status, "failed");
    let search = json!({"query": "what has buckets?"});
    let hits = ok(&app, Method::POST, &format!("/v1/vector_stores/{store}/search"), Some(search)).await;
    assert!(!hits["data"].as_array().unwrap().is_empty(), "{hits}");
    let (missing, _) = send(&app, Request::get(format!("/v1/no-such-route/{name}")).body(Body::empty()).unwrap()).await;
    assert_eq!(missing, StatusCode::NOT_FOUND);

    let after = scrape(&app).await;

    // Requests: by route template, never by raw path.
    let file_route = [("method", "GET"), ("route", "/v1/files/{file_id}"), ("status", "200")];
    assert_grew(&before, &after, "llama_stack_http_requests_total", &file_route, 1.0);
    assert_grew(&before, &after, "llama_stack_http_request_duration_seconds", &file_route, 1.0);
    let search_route = [("method", "POST"), ("route", "/v1/vector_stores/{vector_store_id}/search"), ("status", "200")];
    assert_grew(&before, &after, "llama_stack_http_requests_total", &search_route, 1.0);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_grew(&before, &after, "llama_stack_http_requests_total", &unmatched, 1.0);
    let routes = after.metrics.iter().flat_map(|m| &m.samples).flat_map(|s| s.labels.iter()).filter(|l| l.key == "route");
    for route in routes {
        let raw = [&file, &store, &name].iter().any(|id| route.value.contains(id.as_str()));
        assert!(!raw, "a raw path as a route label: {route:?}");
    }
    assert_eq!(kind(&after, "llama_stack_http_requests_total"), Some(Type::Counter));
    assert_eq!(kind(&after, "llama_stack_http_request_duration_seconds"), Some(Type::Histogram));

    // Provider calls through the call layers.
    let chat_calls = [("api", "inference"), ("provider", "fake"), ("method", "chat_completion")];
    assert_grew(&before, &after, "llama_stack_provider_calls_total", &chat_calls, 2.0);
    assert_grew(&before, &after, "llama_stack_provider_call_duration_seconds", &chat_calls, 2.0);
    let search_calls = [("api", "vector_io"), ("provider", provider.as_str())];
    assert!(total(&after, "llama_stack_provider_calls_total", &search_calls) >= 2.0, "insert and query");

    // Inference: tokens from usage (both answers and the embeddings), time to first token.
    let llm = [("provider", "fake"), ("model", "fake/fake-llm")];
    let input = [llm[0], llm[1], ("type", "input")];
    let output = [llm[0], llm[1], ("type", "output")];
    assert_grew(&before, &after, "llama_stack_inference_tokens_total", &input, 2.0);
    assert_grew(&before, &after, "llama_stack_inference_tokens_total", &output, 2.0);
    let embed = [("provider", "fake"), ("model", "fake/fake-embed"), ("type", "input")];
    assert_grew(&before, &after, "llama_stack_inference_tokens_total", &embed, 1.0);
    assert_grew(&before, &after, "llama_stack_inference_time_to_first_token_seconds", &llm, 1.0);
    assert_eq!(total(&after, "llama_stack_inference_streams_in_flight", &llm), 0.0, "the stream ended");

    // Ingestion and search, by this test's own provider.
    let completed = [("provider", provider.as_str()), ("status", "completed")];
    assert_eq!(total(&after, "llama_stack_vector_io_ingested_files_total", &completed), 1.0);
    assert!(total(&after, "llama_stack_vector_io_ingested_chunks_total", &[("provider", provider.as_str())]) >= 1.0);
    assert_eq!(total(&after, "llama_stack_vector_io_ingestion_duration_seconds", &completed), 1.0);
    let failed = [("provider", provider.as_str()), ("status", "failed")];
    assert_eq!(total(&after, "llama_stack_vector_io_ingested_files_total", &failed), 1.0);
    let searched = [("provider", provider.as_str()), ("mode", "vector"), ("status", "ok")];
    assert_eq!(total(&after, "llama_stack_vector_io_search_duration_seconds", &searched), 1.0);

    // The inference store's queued writer.
    let table = [("table", "metered_completions")];
    assert_eq!(find(&after, "llama_stack_store_queue_depth", &table).len(), 1);
    assert_eq!(total(&after, "llama_stack_store_dropped_rows_total", &table), 0.0);
    let described = after.metrics.iter().find(|m| m.name == "llama_stack_http_requests_total").and_then(|m| m.help_desc.clone());
    assert!(described.is_some_and(|help| help.contains("route template")));
}

/// With `server.auth` on, the scrape still needs no token (as `/v1/health`).
#[tokio::test]
async fn metrics_route_is_open_with_auth_on() {
    let dir = tempfile::tempdir().unwrap();
    let name = uuid::Uuid::new_v4().simple().to_string();
    let yaml = run_yaml(dir.path(), &name).replace(
        "server:\n  port: 8321\n",
        "server:\n  port: 8321\n  auth:\n    provider_config: {type: custom, endpoint: 'http://127.0.0.1:9/auth'}\n",
    );
    let config = lls_config::RunConfig::from_yaml_str(&yaml, &|_| None).unwrap();
    config.validate().unwrap();
    let app = lls_server::app(Arc::new(lls_registry::Stack::build(config).await.unwrap())).unwrap();
    let (status, _) = send(&app, Request::get("/v1/models").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, text) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("# TYPE llama_stack_http_requests_total counter"), "{text}");
}

/// A stream counts in flight from its first chunk until it ends or its client goes away.
#[tokio::test]
async fn a_stream_is_in_flight_until_its_client_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let name = uuid::Uuid::new_v4().simple().to_string();
    // An inference provider id only this test uses, so the gauge's series is its own.
    let provider = format!("gauge-{name}");
    let yaml = run_yaml(dir.path(), &name).replace("provider_id: fake", &format!("provider_id: {provider}"));
    let config = lls_config::RunConfig::from_yaml_str(&yaml, &|_| None).unwrap();
    config.validate().unwrap();
    let app = lls_server::app(Arc::new(lls_registry::Stack::build(config).await.unwrap())).unwrap();
    let model = format!("{provider}/fake-llm");
    let labels = [("provider", provider.as_str()), ("model", model.as_str())];
    let body = json!({"model": model, "messages": [{"role": "user", "content": "a long answer"}], "stream": true});
    let req = Request::post("/v1/chat/completions").header("content-type", "application/json").body(Body::from(body.to_string()));
    let response = app.clone().oneshot(req.unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(total(&scrape(&app).await, "llama_stack_inference_streams_in_flight", &labels), 1.0);
    drop(response);
    assert_eq!(total(&scrape(&app).await, "llama_stack_inference_streams_in_flight", &labels), 0.0);
    assert_eq!(total(&scrape(&app).await, "llama_stack_inference_time_to_first_token_seconds", &labels), 1.0);
}
