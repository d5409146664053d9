//! The shared inference conformance suite, run against the test kit's SigV4-checking Bedrock mock.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::Secret;
use lls_inference_remote_bedrock::{BedrockConfig, BedrockProvider};
use lls_testkit::bedrock_mock::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use lls_testkit::{BedrockMock, Capabilities, Harness};

async fn harness() -> Harness {
    let mock = BedrockMock::builder().start().await.expect("mock starts");
    let config = BedrockConfig {
        aws_access_key_id: Some(ACCESS_KEY_ID.into()),
        aws_secret_access_key: Some(Secret::new(SECRET_ACCESS_KEY)),
        region_name: Some(mock.region().to_owned()),
        endpoint_url: Some(mock.url()),
        // The suite's injected 429s and 5xx need no retries.
        total_max_attempts: Some(1),
        ..BedrockConfig::default()
    };
    let provider = BedrockProvider::with_env("bedrock", config, &|_| None).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection(),
        provider: Arc::new(provider),
        llm: "meta.llama3-1-8b-instruct-v1:0".into(),
        embedding: "amazon.titan-embed-text-v2:0".into(),
        _guard: Box::new(mock),
    }
}

lls_testkit::inference_conformance!(harness());
