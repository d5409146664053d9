//! The layers as the registry stacks them, around fake provider calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lls_api_common::call::CallPolicy;
use lls_api_common::{Api, Error, ErrorKind};
use lls_api_models::ProviderModel;
use lls_layers::{CallCounters, Defaults, stack_for};

fn fast_defaults() -> Defaults {
    Defaults { timeout: Duration::from_millis(200), retries: 2, backoff: Duration::from_millis(1) }
}

#[tokio::test]
async fn a_stalled_call_times_out_with_a_504_naming_the_provider() {
    let counters = Arc::new(CallCounters::default());
    let stack = stack_for(Api::Inference, "vllm", &CallPolicy::default(), &fast_defaults(), counters.clone());
    let err = stack.once::<(), _>("chat_completion", Some("m"), std::future::pending()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.provider(), Some("vllm"));
    assert!(err.message().contains("vllm"), "{err}");
    let stats = counters.snapshot();
    assert_eq!(stats["vllm"]["chat_completion"].errors, 1);
}

#[tokio::test]
async fn idempotent_calls_are_retried_on_retryable_errors_only() {
    let stack = stack_for(Api::Inference, "p", &CallPolicy::default(), &fast_defaults(), Arc::new(CallCounters::default()));
    let attempts = AtomicU32::new(0);
    let err = stack
        .repeatable::<(), _, _>("embeddings", Some("m"), || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err(Error::new(ErrorKind::UpstreamUnavailable, "down")) }
        })
        .await
        .unwrap_err();
    assert_eq!((err.kind(), attempts.load(Ordering::SeqCst)), (ErrorKind::UpstreamUnavailable, 3));

    let attempts = AtomicU32::new(0);
    let _ = stack
        .repeatable::<(), _, _>("embeddings", Some("m"), || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err(Error::invalid("bad input")) }
        })
        .await;
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "a client error is not retried");
}

#[tokio::test]
async fn allowed_models_refuse_other_models_and_filter_listings() {
    let policy = CallPolicy { allowed_models: Some(vec!["ok".into()]), ..CallPolicy::default() };
    let stack = stack_for(Api::Inference, "p", &policy, &fast_defaults(), Arc::new(CallCounters::default()));
    let called = Arc::new(AtomicU32::new(0));
    let c = called.clone();
    let err = stack
        .once::<(), _>("chat_completion", Some("other"), async move {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(called.load(Ordering::SeqCst), 0);
    let listed: Vec<ProviderModel> = stack
        .repeatable("list_models", None, || async { Ok(vec![ProviderModel::llm("ok"), ProviderModel::llm("other")]) })
        .await
        .unwrap();
    assert_eq!(listed, vec![ProviderModel::llm("ok")]);
}

#[tokio::test]
async fn errors_keep_a_provider_they_already_name() {
    let stack = stack_for(Api::Inference, "outer", &CallPolicy::default(), &fast_defaults(), Arc::new(CallCounters::default()));
    let err = stack
        .once::<(), _>("completion", None, async { Err(Error::invalid("x").with_provider("inner")) })
        .await
        .unwrap_err();
    assert_eq!(err.provider(), Some("inner"));
}

#[tokio::test]
async fn client_mistakes_keep_their_message_backend_failures_name_the_provider() {
    let stack = stack_for(Api::VectorIo, "faiss", &CallPolicy::default(), &fast_defaults(), Arc::new(CallCounters::default()));
    let err = stack.once::<(), _>("query_vector", None, async { Err(Error::not_found("Vector store 'x' not found")) }).await.unwrap_err();
    assert_eq!((err.provider(), err.to_string().as_str()), (None, "Vector store 'x' not found"));
    let err = stack.once::<(), _>("query_vector", None, async { Err(Error::new(ErrorKind::UpstreamError, "boom")) }).await.unwrap_err();
    assert_eq!(err.provider(), Some("faiss"));
}

/// The call metrics, read back from a Prometheus recorder: a call that failed after two retries
/// counts once, with its error kind and the retries; a call that succeeded counts with no error.
#[tokio::test]
async fn calls_errors_and_retries_are_prometheus_metrics() {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().unwrap();
    let stack = stack_for(Api::Inference, "metered", &CallPolicy::default(), &fast_defaults(), Arc::new(CallCounters::default()));
    let down = || async { Err::<(), _>(Error::new(ErrorKind::UpstreamUnavailable, "down")) };
    assert!(stack.repeatable::<(), _, _>("embeddings", Some("m"), down).await.is_err());
    assert_eq!(stack.once::<u32, _>("chat_completion", Some("m"), async { Ok(1) }).await.unwrap(), 1);

    let text = prometheus.render();
    let embeddings = r#"api="inference",provider="metered",method="embeddings""#;
    let chat = r#"api="inference",provider="metered",method="chat_completion""#;
    for line in [
        format!("llama_stack_provider_calls_total{{{embeddings}}} 1"),
        format!("llama_stack_provider_call_retries_total{{{embeddings}}} 2"),
        format!(r#"llama_stack_provider_call_errors_total{{{embeddings},kind="upstream_unavailable"}} 1"#),
        format!("llama_stack_provider_call_duration_seconds_count{{{embeddings}}} 1"),
        format!("llama_stack_provider_calls_total{{{chat}}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} is not in:\n{text}");
    }
    assert!(!text.contains(&format!("llama_stack_provider_call_errors_total{{{chat}")), "{text}");
}
