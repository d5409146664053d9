//! The shared inference conformance suite, run against the test kit's watsonx.ai + IAM mock.
// The harness the conformance macro calls is not a #[test] function.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use lls_api_common::Secret;
use lls_inference_remote_watsonx::{WatsonxConfig, WatsonxProvider};
use lls_testkit::{Capabilities, Harness, WatsonxMock};

async fn harness() -> Harness {
    let mock = WatsonxMock::builder().start().await.expect("mock starts");
    let config = WatsonxConfig {
        url: mock.url(),
        iam_url: mock.url(),
        api_key: Some(Secret::new("wx-test-key")),
        project_id: Some(mock.project_id().to_owned()),
        ..WatsonxConfig::default()
    };
    let provider = WatsonxProvider::new("watsonx", config).expect("provider builds");
    Harness {
        caps: Capabilities::of(&provider).with_failure_injection(),
        provider: Arc::new(provider),
        llm: "ibm/granite-3-3-8b-instruct".into(),
        embedding: "ibm/slate-30m-english-rtrvr".into(),
        _guard: Box::new(mock),
    }
}

lls_testkit::inference_conformance!(harness());
