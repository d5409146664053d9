//! Azure OpenAI's own error answers, read before the shared table of `lls-openai-compat`
//! (which already knows Azure's 401, 404 `DeploymentNotFound`, 429 with `Retry-After` and
//! `context_length_exceeded`): the content filter's 400, whose verdict reaches the client.

use lls_api_common::{Error, ErrorKind};
use lls_openai_compat::HttpFailure;
use serde_json::Value;

/// The `error.code` of a prompt the content filter refused; also the code our 400 carries.
pub const CONTENT_FILTER: &str = "content_filter";

/// The client's 400 for a prompt Azure's content filter refused: Azure's message, the
/// categories that fired (from `innererror.content_filter_result`) and that verdict as JSON,
/// with `code: content_filter` and Azure's `param`. Other answers: `None` (the shared table).
pub(crate) fn read_failure(failure: &HttpFailure<'_>) -> Option<Error> {
    let body: Value = serde_json::from_slice(failure.body).ok()?;
    let error = body.get("error")?;
    if error.get("code").and_then(Value::as_str) != Some(CONTENT_FILTER) {
        return None;
    }
    let message = error.get("message").and_then(Value::as_str).unwrap_or("The prompt was filtered by Azure OpenAI's content management policy.");
    let verdict = error.get("innererror").and_then(|i| i.get("content_filter_result"));
    let mut text = format!("provider {} refused the prompt (content filter", failure.provider);
    let fired = verdict.map(fired_categories).unwrap_or_default();
    if !fired.is_empty() {
        text.push_str(&format!(": {}", fired.join(", ")));
    }
    text.push_str(&format!("): {message}"));
    if let Some(v) = verdict {
        text.push_str(&format!(" content_filter_result: {v}"));
    }
    let param = error.get("param").and_then(Value::as_str).unwrap_or("messages");
    Some(Error::new(ErrorKind::InvalidRequest, text).with_code(CONTENT_FILTER).with_param(param).with_upstream_status(failure.status))
}

/// `category (severity)` for every category the verdict filtered.
fn fired_categories(verdict: &Value) -> Vec<String> {
    let Some(categories) = verdict.as_object() else { return Vec::new() };
    categories
        .iter()
        .filter(|(_, r)| r.get("filtered").and_then(Value::as_bool) == Some(true))
        .map(|(name, r)| match r.get("severity").and_then(Value::as_str) {
            Some(severity) => format!("{name} ({severity})"),
            None => name.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_openai_compat::Credential;

    fn read(status: u16, body: &str) -> Option<Error> {
        let headers = Default::default();
        read_failure(&HttpFailure { provider: "azure", status, headers: &headers, body: body.as_bytes(), credential: Credential::Config })
    }

    #[test]
    fn the_content_filter_verdict_reaches_the_client() {
        let body = r#"{"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", "type": null, "param": "prompt", "code": "content_filter", "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {"hate": {"filtered": false, "severity": "safe"}, "violence": {"filtered": true, "severity": "high"}}}}}"#;
        let e = read(400, body).unwrap();
        assert_eq!((e.kind(), e.code(), e.param(), e.upstream_status()), (ErrorKind::InvalidRequest, Some("content_filter"), Some("prompt"), Some(400)));
        assert!(e.message().starts_with("provider azure refused the prompt (content filter: violence (high)): The response was filtered"), "{e}");
        assert!(e.message().contains(r#""violence":{"filtered":true,"severity":"high"}"#), "{e}");
        assert_eq!(e.body()["error"]["code"], "content_filter");
    }

    #[test]
    fn other_answers_are_left_to_the_shared_table() {
        assert!(read(404, r#"{"error": {"code": "DeploymentNotFound", "message": "no"}}"#).is_none());
        assert!(read(429, r#"{"error": {"code": "429", "message": "slow down"}}"#).is_none());
        assert!(read(400, "not json").is_none());
    }
}
