//! The provider against the test kit's FMS mock: both APIs, thresholds, message types, errors,
//! retries, the bearer token and the concurrency bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use lls_api_common::{ErrorKind, OutboundPolicy, ProviderConfig, RequestContext};
use lls_api_inference::{ChatMessage, Role};
use lls_api_safety::{RunShieldResponse, SafetyProvider, Shield, ViolationLevel};
use lls_safety_remote_trustyai_fms::{FmsConfig, TrustyAiFms};
use lls_testkit::{FmsMock, Trigger};
use serde_json::{Map, Value, json};

fn provider(config: Value) -> TrustyAiFms {
    let config: FmsConfig = serde_json::from_value(config).expect("config");
    config.validate().expect("valid config");
    TrustyAiFms::new("trustyai_fms", config, Arc::new(OutboundPolicy::default())).expect("provider")
}

fn shield(id: &str) -> Shield {
    Shield::new(id, id, "trustyai_fms", Map::new())
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

/// The shield's verdict on one message.
async fn judge(p: &TrustyAiFms, s: &Shield, role: Role, text: &str) -> RunShieldResponse {
    p.run_shield(&ctx(), s, &[ChatMessage::text(role, text)], &Map::new()).await.unwrap()
}

async fn mock() -> FmsMock {
    FmsMock::start(
        &["hap", "regex"],
        vec![
            Trigger::new("stupid", "HAP", 0.9),
            Trigger::new("meh", "HAP", 0.5),
            Trigger::new("email", "pii", 0.99),
        ],
    )
    .await
    .expect("mock")
}

#[tokio::test]
async fn direct_content_shield_flags_above_the_threshold_in_the_selected_messages() {
    let m = mock().await;
    let p = provider(
        json!({"shields": {"hap": {"type": "content", "detector_url": m.url(), "confidence_threshold": 0.5,
        "message_types": ["user", "completion"], "detector_params": {"threshold": 0.1}}}}),
    );
    let s = shield("hap");
    p.register_shield(&ctx(), &s).await.unwrap();

    // A score equal to the threshold does not count (TrustyAI compares with `>`).
    let ok = judge(&p, &s, Role::User, "meh, fine").await;
    assert!(ok.violation.is_none(), "{ok:?}");
    // A system message is not looked at.
    let skipped = judge(&p, &s, Role::System, "stupid").await;
    assert!(skipped.violation.is_none());
    assert_eq!(
        m.requests().len(),
        1,
        "no request for a conversation without selected messages"
    );

    let msgs = [
        ChatMessage::text(Role::System, "stupid"),
        ChatMessage::text(Role::User, "hi"),
        ChatMessage::text(Role::Assistant, "You are stupid"),
    ];
    let v = p
        .run_shield(&ctx(), &s, &msgs, &Map::new())
        .await
        .unwrap()
        .violation
        .expect("violation");
    assert_eq!(v.violation_level, ViolationLevel::Error);
    assert_eq!(
        v.user_message.as_deref(),
        Some("Content flagged by shield hap: hap (HAP, 0.90)")
    );
    let d = &v.metadata["detections"][0];
    assert_eq!(
        (
            d["message_index"].clone(),
            d["start"].clone(),
            d["end"].clone(),
            d["text"].clone()
        ),
        (json!(2), json!(8), json!(14), json!("stupid"))
    );
    assert_eq!(v.metadata["summary"]["processed_messages"], json!(2));

    let sent: Vec<_> = m.requests().into_iter().skip(1).collect();
    assert_eq!(sent.len(), 2, "one request per selected message");
    for r in &sent {
        assert_eq!(r.path, "/api/v1/text/contents");
        assert_eq!(r.detector_id.as_deref(), Some("hap"));
        assert_eq!(r.body["detector_params"], json!({"threshold": 0.1}));
        assert!(r.authorization.is_none());
    }
}

#[tokio::test]
async fn chat_shields_send_the_selected_conversation() {
    let m = mock().await;
    for (key, url) in [("detector_url", m.url()), ("orchestrator_url", m.url())] {
        let p = provider(
            json!({"shields": {"hap": {"type": "chat", key: url, "message_types": ["user", "completion"]}}}),
        );
        let msgs = [
            ChatMessage::text(Role::System, "be nice"),
            ChatMessage::text(Role::User, "hello"),
            ChatMessage::text(Role::Assistant, "stupid"),
        ];
        let v = p
            .run_shield(&ctx(), &shield("hap"), &msgs, &Map::new())
            .await
            .unwrap()
            .violation
            .expect("violation");
        assert_eq!(v.metadata["detections"][0]["detector_id"], json!("hap"));
        let r = m.requests().pop().unwrap();
        assert_eq!(
            r.body["messages"],
            json!([{"role": "user", "content": "hello"}, {"role": "assistant", "content": "stupid"}]),
            "{key}"
        );
        let path = if key == "detector_url" {
            "/api/v1/text/chat"
        } else {
            "/api/v2/text/detection/chat"
        };
        assert_eq!(r.path, path);
    }
}

#[tokio::test]
async fn orchestrator_shields_with_several_detectors() {
    let m = mock().await;
    let p = provider(
        json!({"orchestrator_url": m.url(), "shields": {"email_hap": {"type": "content", "message_types": ["user"],
        "detectors": {"hap": {"detector_params": {}}, "regex": {"detector_params": {"regex": ["email"]}}}}}}),
    );
    let s = shield("email_hap");
    let v = judge(&p, &s, Role::User, "my email is stupid").await
        .violation
        .unwrap();
    assert_eq!(
        v.user_message.as_deref(),
        Some(
            "Content flagged by shield email_hap: hap (HAP, 0.90), hap (pii, 0.99), regex (HAP, 0.90), regex (pii, 0.99)"
        )
    );
    let r = m.requests().pop().unwrap();
    assert_eq!(r.path, "/api/v2/text/detection/content");
    assert_eq!(
        r.body,
        json!({"detectors": {"hap": {}, "regex": {"regex": ["email"]}}, "content": "my email is stupid"})
    );
    assert!(r.detector_id.is_none());

    // Moderation: one result per input, categories by detection type with their top scores.
    let out = p
        .run_moderation(
            &ctx(),
            &s,
            &["all good".into(), "meh email".into(), String::new()],
        )
        .await
        .unwrap();
    assert_eq!(out.model, "email_hap");
    assert_eq!(
        out.results.iter().map(|r| r.flagged).collect::<Vec<_>>(),
        [false, true, false]
    );
    let r = &out.results[1];
    assert_eq!(
        r.categories
            .as_ref()
            .unwrap()
            .clone()
            .into_iter()
            .collect::<Vec<_>>(),
        [("HAP".to_owned(), false), ("pii".to_owned(), true)]
    );
    assert_eq!(r.category_scores.as_ref().unwrap()["pii"], 0.99);
    assert_eq!(
        r.category_applied_input_types.as_ref().unwrap()["pii"],
        ["text"]
    );
    assert!(out.results[0].categories.as_ref().unwrap().is_empty());
}

#[tokio::test]
async fn shields_are_registered_from_the_config_or_from_params() {
    let m = mock().await;
    let p = provider(json!({"orchestrator_url": m.url(), "shields": {}}));
    let e = p.register_shield(&ctx(), &shield("hap")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("not described in the config"), "{e}");

    let params = json!({"type": "content", "confidence_threshold": 0.3})
        .as_object()
        .unwrap()
        .clone();
    let dynamic = Shield::new("hap", "hap", "trustyai_fms", params);
    p.register_shield(&ctx(), &dynamic).await.unwrap();
    // Shields made from params look at system messages unless they say otherwise (as TrustyAI's).
    let user = judge(&p, &dynamic, Role::User, "stupid").await;
    assert!(user.violation.is_none());
    let system = judge(&p, &dynamic, Role::System, "meh").await;
    assert!(system.violation.is_some(), "0.5 > 0.3");

    let bad = Shield::new(
        "x",
        "x",
        "trustyai_fms",
        json!({"type": "content", "threshold": 1})
            .as_object()
            .unwrap()
            .clone(),
    );
    assert_eq!(
        p.register_shield(&ctx(), &bad).await.unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let metadata = Shield::new(
        "y",
        "y",
        "trustyai_fms",
        json!({"detector_url": "http://169.254.169.254"})
            .as_object()
            .unwrap()
            .clone(),
    );
    assert!(
        p.register_shield(&ctx(), &metadata).await.is_err(),
        "the outbound policy refuses link-local hosts"
    );
}

#[tokio::test]
async fn backend_failures_map_to_error_kinds_with_retries() {
    let m = mock().await;
    let cfg = |id: &str, extra: Value| {
        let mut s = json!({"detector_url": m.url(), "max_retries": 3, "backoff_factor": 0.01, "message_types": ["user"]});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        provider(json!({"shields": {id: s}}))
    };
    let text = [ChatMessage::text(Role::User, "stupid")];

    // 5xx then success: retried.
    let p = cfg("hap", json!({}));
    m.fail_next(&[500, 503]);
    assert!(
        p.run_shield(&ctx(), &shield("hap"), &text, &Map::new())
            .await
            .unwrap()
            .violation
            .is_some()
    );
    assert_eq!(m.requests().len(), 3);

    // 503 every time: unavailable after max_retries attempts.
    m.fail_next(&[503, 503, 503]);
    let e = p
        .run_shield(&ctx(), &shield("hap"), &text, &Map::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
    assert!(
        e.message().contains("the FMS detector 'hap' at http://")
            && e.message().contains("after 3 attempts"),
        "{e}"
    );
    assert_eq!(m.requests().len(), 6);
    m.fail_next(&[502, 500, 500]);
    assert_eq!(
        p.run_shield(&ctx(), &shield("hap"), &text, &Map::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UpstreamError
    );

    // A detector the server does not know: its 404 is not retried, and names the backend.
    let before = m.requests().len();
    let p = cfg("nope", json!({}));
    let e = p
        .run_shield(&ctx(), &shield("nope"), &text, &Map::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert!(
        e.message().contains("the FMS detector 'nope'")
            && e.message().contains("rejected the request: HTTP 404"),
        "{e}"
    );
    assert_eq!(m.requests().len(), before + 1);

    // Too slow: a timeout (504), once per attempt.
    let p = cfg("hap", json!({"request_timeout": 0.2, "max_retries": 2}));
    m.set_delay(Duration::from_secs(2));
    let e = p
        .run_shield(&ctx(), &shield("hap"), &text, &Map::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    m.set_delay(Duration::ZERO);

    // Nobody listening: unavailable.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let p = provider(json!({"shields": {"hap": {"detector_url": gone, "max_retries": 1}}}));
    assert_eq!(
        p.run_shield(&ctx(), &shield("hap"), &text, &Map::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UpstreamUnavailable
    );
}

#[tokio::test]
async fn the_token_is_sent_as_a_bearer() {
    let m = mock().await;
    m.require_token("s3cret");
    let text = [ChatMessage::text(Role::User, "stupid")];
    let p = provider(
        json!({"orchestrator_url": m.url(), "auth_token": "s3cret", "shields": {"hap": {}}}),
    );
    assert!(
        p.run_shield(&ctx(), &shield("hap"), &text, &Map::new())
            .await
            .unwrap()
            .violation
            .is_some()
    );
    assert_eq!(
        m.requests()[0].authorization.as_deref(),
        Some("Bearer s3cret")
    );

    let p = provider(
        json!({"orchestrator_url": m.url(), "auth_token": "s3cret", "shields": {"hap": {"auth_token": "wrong", "max_retries": 1}}}),
    );
    let e = p
        .run_shield(&ctx(), &shield("hap"), &text, &Map::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UpstreamError);
    assert!(e.message().contains("HTTP 401"), "{e}");
}

#[tokio::test]
async fn requests_per_shield_are_bounded() {
    let m = mock().await;
    m.set_delay(Duration::from_millis(100));
    let p =
        provider(json!({"orchestrator_url": m.url(), "shields": {"hap": {"max_concurrency": 2}}}));
    let inputs: Vec<String> = (0..8).map(|i| format!("text {i}")).collect();
    let out = p
        .run_moderation(&ctx(), &shield("hap"), &inputs)
        .await
        .unwrap();
    assert_eq!(out.results.len(), 8);
    assert_eq!(m.requests().len(), 8);
    assert_eq!(m.max_in_flight(), 2);
}
