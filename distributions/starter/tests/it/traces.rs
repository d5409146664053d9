//! OpenTelemetry traces from the `llama-stack` binary, received by a real OTLP/HTTP receiver
//! (protobuf `ExportTraceServiceRequest`s decoded with `opentelemetry-proto`): run.yaml
//! `telemetry.enabled: true` and the standard `OTEL_*` variables point the server at it; a chat
//! completion against the test kit's mock OpenAI backend gives the span tree
//! server span → provider call span (GenAI attributes), joined to the caller's `traceparent`,
//! and the backend receives a `traceparent` of the same trace whose parent is that call span.
//! Also over OTLP/gRPC (`opentelemetry-proto`'s `TraceServiceServer`), a Responses call with an
//! MCP tool (steps, tool spans, the MCP server joining the trace), and the flush at SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing;
use lls_testkit::mock_openai::MockOpenAi;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

use crate::support::{collect_lines, storage_yaml_with_inference_store};

const BIN: &str = env!("CARGO_BIN_EXE_llama-stack");

/// Spans as the receiver got them, with their resource's `service.name`.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Span)>>>);

impl Received {
    /// An OTLP/HTTP receiver (`POST /v1/traces`, protobuf) on an ephemeral port.
    async fn start() -> (Received, String) {
        let received = Received::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            routing::post(move |body: Bytes| {
                let sink = sink.clone();
                async move {
                    sink.push(ExportTraceServiceRequest::decode(body).unwrap());
                    ([("content-type", "application/x-protobuf")], ExportTraceServiceResponse::default().encode_to_vec())
                }
            }),
        );
        (received, serve(app).await)
    }

    /// An OTLP/gRPC receiver (`TraceService/Export`, HTTP/2) on an ephemeral port.
    async fn start_grpc() -> (Received, String) {
        let received = Received::default();
        let service = TraceServiceServer::new(GrpcSink(received.clone()));
        let app = axum::Router::new().route_service("/opentelemetry.proto.collector.trace.v1.TraceService/Export", service);
        (received, serve(app).await)
    }

    fn push(&self, request: ExportTraceServiceRequest) {
        for resource_spans in request.resource_spans {
            let service =
                resource_spans.resource.as_ref().and_then(|r| string_attr(&r.attributes, "service.name")).unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    self.0.lock().unwrap().push((service.clone(), span));
                }
            }
        }
    }

    /// Waits until a span named `name` arrives, in any trace.
    async fn wait_named(&self, name: &str) -> Span {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some((_, span)) = self.0.lock().unwrap().iter().find(|(_, s)| s.name == name) {
                return span.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let names: Vec<String> = self.0.lock().unwrap().iter().map(|(_, s)| s.name.clone()).collect();
        panic!("no span '{name}' among {names:?}");
    }

    fn of_trace(&self, trace_id: &[u8]) -> Vec<(String, Span)> {
        self.0.lock().unwrap().iter().filter(|(_, s)| s.trace_id == trace_id).cloned().collect()
    }

    /// Waits until a span named `name` of `trace_id` arrives.
    async fn wait_for(&self, trace_id: &[u8], name: &str) -> Vec<(String, Span)> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let spans = self.of_trace(trace_id);
            if spans.iter().any(|(_, s)| s.name == name) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let names: Vec<(String, String, String)> =
            self.of_trace(trace_id).into_iter().map(|(_, s)| (s.name, hex(&s.span_id), hex(&s.parent_span_id))).collect();
        panic!("no span '{name}' in trace {}: (name, id, parent) {names:#?}", hex(trace_id));
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

struct GrpcSink(Received);

#[async_trait::async_trait]
impl TraceService for GrpcSink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attr(attributes, key)? {
        AnyValue::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn int_attr(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attributes, key)? {
        AnyValue::IntValue(i) => Some(*i),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// OTLP/HTTP to `collector`, batches exported every 100 ms instead of every 5 s.
fn http_protobuf(collector: &str) -> [(&str, &str); 3] {
    [("OTEL_EXPORTER_OTLP_ENDPOINT", collector), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_BSP_SCHEDULE_DELAY", "100")]
}

struct Server {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

/// `llama-stack run` with remote::vllm on `backend` (and `more` providers of `apis`); telemetry
/// on, with these `OTEL_*` variables, unless there are none.
async fn start_server(backend: &MockOpenAi, otel: &[(&str, &str)], apis: &str, more: &str) -> Server {
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "version: 2\nimage_name: traces-test\napis: [{apis}]\nproviders:\n  inference:\n  - provider_id: vllm\n    \
         provider_type: remote::vllm\n    config:\n      url: {url}\n{more}{storage}    \
         conversations: {{backend: sql_default, table_name: openai_conversations}}\nserver:\n  host: 127.0.0.1\n  port: {port}\n\
         telemetry:\n  enabled: {enabled}\n",
        enabled = !otel.is_empty(),
        url = backend.base_url(),
        storage = storage_yaml_with_inference_store(dir.path()),
    );
    let path = dir.path().join("run.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(&path)
        .env("LLAMA_STACK_LOG", "info")
        .env("OTEL_SERVICE_NAME", "lls-traces-test")
        .envs(otel.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect_lines(child.stderr.take().unwrap());
    let server = Server { child, stderr, base: format!("http://127.0.0.1:{port}"), _dir: dir };
    let started = Instant::now();
    while !server.log().contains("listening on http://") {
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start: {}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

#[tokio::test]
async fn a_chat_completion_is_one_trace_from_the_callers_traceparent_to_the_backend() {
    let backend = MockOpenAi::start().await.unwrap();
    let (received, collector) = Received::start().await;
    let server = start_server(&backend, &http_protobuf(&collector), "inference", "").await;
    assert!(server.log().contains("exporting traces over OTLP"), "{}", server.log());

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/v1/chat/completions", server.base))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({"model": "vllm/mock-llm", "messages": [{"role": "user", "content": "hello traces"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", server.log());
    let answer: Value = response.json().await.unwrap();

    let trace: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap()).collect();
    let spans = received.wait_for(&trace, "POST /v1/chat/completions").await;
    let spans = received.wait_for(&trace, "chat mock-llm").await.into_iter().chain(spans).collect::<Vec<_>>();
    let by_name: HashMap<&str, &(String, Span)> = spans.iter().map(|s| (s.1.name.as_str(), s)).collect();

    // The server span: the caller's span is its parent, HTTP semantic conventions.
    let (service, server_span) = by_name["POST /v1/chat/completions"];
    assert_eq!(service, "lls-traces-test");
    assert_eq!(server_span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&server_span.parent_span_id), caller_span);
    let a = &server_span.attributes;
    assert_eq!(string_attr(a, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(string_attr(a, "http.route").as_deref(), Some("/v1/chat/completions"));
    assert_eq!(string_attr(a, "url.path").as_deref(), Some("/v1/chat/completions"));
    assert_eq!(int_attr(a, "http.response.status_code"), Some(200));

    // The provider call: a client span below the server span, GenAI conventions.
    let (_, call) = by_name["chat mock-llm"];
    assert_eq!(call.kind, SpanKind::Client as i32);
    let parents: HashMap<&[u8], &[u8]> =
        spans.iter().map(|(_, s)| (s.span_id.as_slice(), s.parent_span_id.as_slice())).collect();
    let mut ancestor = call.parent_span_id.as_slice();
    while ancestor != server_span.span_id.as_slice() {
        ancestor = parents.get(ancestor).copied().unwrap_or_else(|| panic!("the call span is not below the server span: {spans:#?}"));
    }
    let a = &call.attributes;
    assert_eq!(string_attr(a, "gen_ai.operation.name").as_deref(), Some("chat"));
    assert_eq!(string_attr(a, "gen_ai.request.model").as_deref(), Some("mock-llm"));
    assert_eq!(string_attr(a, "gen_ai.provider.name").as_deref(), Some("vllm"));
    assert_eq!(int_attr(a, "gen_ai.usage.input_tokens"), answer["usage"]["prompt_tokens"].as_i64(), "{answer}");
    assert_eq!(int_attr(a, "gen_ai.usage.output_tokens"), answer["usage"]["completion_tokens"].as_i64(), "{answer}");
    assert!(answer["usage"]["completion_tokens"].as_i64().unwrap() > 0, "{answer}");

    // The backend got the same trace, its parent being the call span.
    let chat = backend.requests().into_iter().find(|r| r.path == "/v1/chat/completions").unwrap();
    let traceparent = chat.header("traceparent").unwrap_or_else(|| panic!("no traceparent: {chat:?}")).to_owned();
    assert_eq!(traceparent, format!("00-{trace_id}-{}-01", hex(&call.span_id)));

    // The inference store's queued write: a trace of its own (a batch holds rows of many
    // requests), the batch span above the database write's client span.
    let batch = received.wait_named("batch_write inference_store").await;
    let insert = received.of_trace(&batch.trace_id).into_iter().map(|(_, s)| s).find(|s| s.name == "INSERT inference_store");
    let insert = insert.unwrap_or_else(|| panic!("no INSERT below {batch:#?}: {:#?}", received.of_trace(&batch.trace_id)));
    assert_eq!(insert.parent_span_id, batch.span_id);
    assert_eq!(insert.kind, SpanKind::Client as i32);
    assert_eq!(string_attr(&insert.attributes, "db.system.name").as_deref(), Some("sqlite"));
    assert_eq!(string_attr(&insert.attributes, "db.collection.name").as_deref(), Some("inference_store"));
    assert_eq!(string_attr(&insert.attributes, "db.operation.name").as_deref(), Some("INSERT"));
}

const AGENTS: &str = "  agents:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      persistence:
        agent_state: {namespace: agents, backend: kv_default}
        responses: {table_name: responses, backend: sql_default}
  tool_runtime:
  - provider_id: model-context-protocol
    provider_type: remote::model-context-protocol
    config: {}
";

/// Whether `span` is `ancestor` or below it.
fn below(spans: &[(String, Span)], span: &Span, ancestor: &Span) -> bool {
    let parents: HashMap<&[u8], &[u8]> = spans.iter().map(|(_, s)| (s.span_id.as_slice(), s.parent_span_id.as_slice())).collect();
    let mut at = span.span_id.as_slice();
    loop {
        if at == ancestor.span_id.as_slice() {
            return true;
        }
        match parents.get(at) {
            Some(parent) if !parent.is_empty() => at = parent,
            _ => return false,
        }
    }
}

#[tokio::test]
async fn a_responses_call_traces_each_loop_step_and_its_mcp_tool_call() {
    let backend = MockOpenAi::start().await.unwrap();
    let mcp = lls_testkit::TestMcpServer::start().await.unwrap();
    let (received, collector) = Received::start().await;
    let server = start_server(&backend, &http_protobuf(&collector), "inference, agents, tool_runtime", AGENTS).await;
    let tools = json!([{"type": "mcp", "server_label": "local", "server_url": mcp.streamable_url(), "allowed_tools": ["greet_everyone"]}]);
    let response = reqwest::Client::new()
        .post(format!("{}/v1/responses", server.base))
        .json(&json!({"model": "vllm/mock-llm", "input": "greet", "tools": tools}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", server.log());
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "completed", "{answer}");

    let request = received.wait_named("POST /v1/responses").await;
    let spans = received.wait_for(&request.trace_id, "execute_tool greet_everyone").await;
    let named = |name: &str| spans.iter().map(|(_, s)| s).find(|s| s.name == name).unwrap_or_else(|| panic!("no '{name}' in {spans:#?}"));
    let (step0, step1, tool) = (named("responses step 0"), named("responses step 1"), named("execute_tool greet_everyone"));
    // The run (a background task) continues the request's trace, its steps below it.
    let run = named("invoke_agent");
    assert!(below(&spans, run, &request), "{spans:#?}");
    assert_eq!(string_attr(&run.attributes, "gen_ai.response.id").as_ref(), answer["id"].as_str().map(str::to_owned).as_ref());
    assert!(below(&spans, step0, run) && below(&spans, step1, run), "{spans:#?}");
    assert!(below(&spans, tool, step0), "the tool call belongs to the step that asked for it: {spans:#?}");
    let chats: Vec<&Span> = spans.iter().map(|(_, s)| s).filter(|s| s.name == "chat mock-llm").collect();
    assert!(chats.iter().any(|c| below(&spans, c, step0)) && chats.iter().any(|c| below(&spans, c, step1)), "{spans:#?}");
    assert_eq!(string_attr(&tool.attributes, "gen_ai.operation.name").as_deref(), Some("execute_tool"));
    assert_eq!(string_attr(&tool.attributes, "gen_ai.tool.name").as_deref(), Some("greet_everyone"));
    assert_eq!(string_attr(&tool.attributes, "gen_ai.tool.type").as_deref(), Some("extension"));

    // The MCP server's tool call carried the same trace.
    let trace = hex(&request.trace_id);
    let hits = mcp.hits();
    assert!(
        hits.iter().any(|h| h.method == "POST" && h.traceparent.as_deref().is_some_and(|t| t.contains(&trace))),
        "no MCP request of trace {trace}: {hits:#?}"
    );
}

#[tokio::test]
async fn over_grpc_the_spans_still_queued_at_sigterm_are_exported_before_exit() {
    let backend = MockOpenAi::start().await.unwrap();
    let (received, collector) = Received::start_grpc().await;
    // Batches would wait a minute: only the shutdown's flush can deliver them in time.
    let otel = [("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_BSP_SCHEDULE_DELAY", "60000")];
    let mut server = start_server(&backend, &otel, "inference", "").await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base))
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .json(&json!({"model": "vllm/mock-llm", "messages": [{"role": "user", "content": "hi"}], "stream": true,
                      "stream_options": {"include_usage": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", server.log());
    let body = response.text().await.unwrap();
    assert!(body.contains("\"completion_tokens\":5"), "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let trace: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap()).collect();
    assert!(received.of_trace(&trace).is_empty(), "exported before the shutdown: the test proves nothing");

    let ok = Command::new("kill").arg("-TERM").arg(server.child.id().to_string()).status().unwrap();
    assert!(ok.success());
    let started = Instant::now();
    while server.child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "no exit after SIGTERM: {}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = received.wait_for(&trace, "chat mock-llm").await;
    let (_, call) = spans.iter().find(|(_, s)| s.name == "chat mock-llm").unwrap();
    assert!(spans.iter().any(|(_, s)| s.name == "POST /v1/chat/completions"), "{spans:#?}");
    // The streamed call's span carries the usage of the stream's last chunk.
    assert_eq!(int_attr(&call.attributes, "gen_ai.usage.output_tokens"), Some(5), "{call:#?}");
    assert_eq!(int_attr(&call.attributes, "gen_ai.usage.input_tokens"), Some(1), "{call:#?}");
}

#[tokio::test]
async fn with_telemetry_off_nothing_is_propagated_and_logs_carry_no_span_attributes() {
    let backend = MockOpenAi::start().await.unwrap();
    let server = start_server(&backend, &[], "inference", "").await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .json(&json!({"model": "vllm/mock-llm", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", server.log());
    let chat = backend.requests().into_iter().find(|r| r.path == "/v1/chat/completions").unwrap();
    assert_eq!(chat.header("traceparent"), None, "{chat:?}");
    let log = server.log();
    assert!(!log.contains("exporting traces") && !log.contains("otel."), "{log}");
}
