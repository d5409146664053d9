//! A mock of the FMS guardrails APIs TrustyAI's safety provider calls, in one axum server on
//! 127.0.0.1: the detector API (`POST /api/v1/text/contents`, `/api/v1/text/chat`, header
//! `detector-id`) and the orchestrator API (`POST /api/v2/text/detection/content`,
//! `/api/v2/text/detection/chat`, body `detectors`).
//!
//! Every known detector flags the configured trigger words (case-insensitive) with their
//! detection type and score; content detections carry spans (`start`/`end` in characters,
//! `text`). Bad bodies and unknown or missing detectors get 4xx answers; tests can require a
//! bearer token, make the next answers fail with a status, slow every answer down, and read
//! what was sent and how many requests were in flight at most.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

/// A word the mock's detectors flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub word: String,
    pub detection_type: String,
    pub score: f64,
}

impl Trigger {
    pub fn new(word: &str, detection_type: &str, score: f64) -> Trigger {
        Trigger {
            word: word.to_owned(),
            detection_type: detection_type.to_owned(),
            score,
        }
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct FmsRequest {
    pub path: String,
    pub detector_id: Option<String>,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct FmsState {
    detectors: BTreeSet<String>,
    triggers: Mutex<Vec<Trigger>>,
    token: Mutex<Option<String>>,
    /// Statuses the next requests answer with, in order.
    failures: Mutex<Vec<u16>>,
    delay: Mutex<Duration>,
    requests: Mutex<Vec<FmsRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The running mock; stops when dropped.
pub struct FmsMock {
    server: crate::local_server::LocalServer,
    state: Arc<FmsState>,
}

impl std::fmt::Debug for FmsMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FmsMock")
            .field("addr", &self.server.addr)
            .finish_non_exhaustive()
    }
}

impl FmsMock {
    /// Serves the detectors named (the only ids either API accepts), flagging `triggers`.
    pub async fn start(detectors: &[&str], triggers: Vec<Trigger>) -> std::io::Result<FmsMock> {
        let state = Arc::new(FmsState {
            detectors: detectors.iter().map(|d| (*d).to_owned()).collect(),
            triggers: Mutex::new(triggers),
            ..FmsState::default()
        });
        let router = Router::new()
            .route("/api/v1/text/contents", post(detector_contents))
            .route("/api/v1/text/chat", post(detector_chat))
            .route("/api/v2/text/detection/content", post(orchestrator_content))
            .route("/api/v2/text/detection/chat", post(orchestrator_chat))
            // The orchestrator's and detectors' liveness probe.
            .route("/health", axum::routing::get(|| async { "OK" }))
            .with_state(state.clone());
        Ok(FmsMock {
            server: crate::local_server::serve(router).await?,
            state,
        })
    }

    /// `http://127.0.0.1:PORT` (the detector or orchestrator base URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// From now on, requests without `Authorization: Bearer <token>` get 401.
    pub fn require_token(&self, token: &str) {
        *self.state.token.lock() = Some(token.to_owned());
    }

    /// The next requests answer these statuses, one each, before answering normally again.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.failures.lock().extend_from_slice(statuses);
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock() = delay;
    }

    pub fn set_triggers(&self, triggers: Vec<Trigger>) {
        *self.state.triggers.lock() = triggers;
    }

    /// The requests received so far (bad ones included).
    pub fn requests(&self) -> Vec<FmsRequest> {
        self.state.requests.lock().clone()
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A refusal: the status and `{code, message}` body the FMS services answer errors with.
struct Reject(StatusCode, String);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({"code": self.0.as_u16(), "message": self.1})),
        )
            .into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Reject {
    Reject(status, message.into())
}

/// What every route does first: record, count, wait, check the token, take an injected failure.
async fn admit(
    s: &Arc<FmsState>,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Value, InFlight), Reject> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    s.requests.lock().push(FmsRequest {
        path: path.to_owned(),
        detector_id: headers
            .get("detector-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: value.clone().unwrap_or(Value::Null),
    });
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let guard = InFlight(s.clone());
    let delay = *s.delay.lock();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let token = s.token.lock().clone();
    if let Some(token) = token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if sent != Some(token.as_str()) {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token",
            ));
        }
    }
    let failure = {
        let mut f = s.failures.lock();
        if f.is_empty() {
            None
        } else {
            Some(f.remove(0))
        }
    };
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(error(status, "injected failure"));
    }
    match value {
        Some(v @ Value::Object(_)) => Ok((v, guard)),
        _ => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body is not a JSON object",
        )),
    }
}

/// Decrements the in-flight count when the answer is done.
struct InFlight(Arc<FmsState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn detections_in(s: &FmsState, text: &str, spans: bool) -> Vec<Value> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for t in s.triggers.lock().iter() {
        let word = t.word.to_lowercase();
        if let Some(byte) = lower.find(&word) {
            let start = lower[..byte].chars().count();
            let end = start + word.chars().count();
            let mut d = Map::new();
            if spans {
                d.insert("start".into(), json!(start));
                d.insert("end".into(), json!(end));
                d.insert(
                    "text".into(),
                    json!(
                        text.chars()
                            .skip(start)
                            .take(end - start)
                            .collect::<String>()
                    ),
                );
            }
            d.insert("detection_type".into(), json!(t.detection_type));
            d.insert(
                "detection".into(),
                json!(format!("has_{}", t.detection_type)),
            );
            d.insert("score".into(), json!(t.score));
            d.insert("evidence".into(), json!([]));
            d.insert("metadata".into(), json!({}));
            out.push(Value::Object(d));
        }
    }
    out
}

fn only_keys(body: &Value, allowed: &[&str], required: &[&str]) -> Result<(), Reject> {
    let o = body.as_object().into_iter().flatten();
    for (k, _) in o {
        if !allowed.contains(&k.as_str()) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown field '{k}'"),
            ));
        }
    }
    for k in required {
        if body.get(k).is_none() {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("missing field '{k}'"),
            ));
        }
    }
    Ok(())
}

fn detector_header(s: &FmsState, headers: &HeaderMap) -> Result<String, Reject> {
    let id = headers
        .get("detector-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    match id {
        None => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing header 'detector-id'",
        )),
        Some(id) if !s.detectors.contains(id) => Err(error(
            StatusCode::NOT_FOUND,
            format!("detector '{id}' not found"),
        )),
        Some(id) => Ok(id.to_owned()),
    }
}

/// `messages`: a non-empty list of `{role, content: string}`; their texts.
fn chat_texts(body: &Value) -> Result<Vec<String>, Reject> {
    let bad = || {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "'messages' must be a non-empty list of {role, content}",
        )
    };
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(bad)?;
    messages
        .iter()
        .map(|m| {
            match (
                m.get("role").and_then(Value::as_str),
                m.get("content").and_then(Value::as_str),
            ) {
                (Some(_), Some(c)) => Ok(c.to_owned()),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// `detectors`: a non-empty object of known detector ids to parameter objects.
fn orchestrator_detectors(s: &FmsState, body: &Value) -> Result<Vec<String>, Reject> {
    let detectors = body
        .get("detectors")
        .and_then(Value::as_object)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "'detectors' must name at least one detector",
            )
        })?;
    detectors
        .iter()
        .map(|(id, params)| {
            if !params.is_object() {
                Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("detectors.{id} must be an object"),
                ))
            } else if !s.detectors.contains(id) {
                Err(error(
                    StatusCode::NOT_FOUND,
                    format!("detector '{id}' not found"),
                ))
            } else {
                Ok(id.clone())
            }
        })
        .collect()
}

async fn detector_contents(
    State(s): State<Arc<FmsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, _guard) = match admit(&s, "/api/v1/text/contents", &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = detector_header(&s, &headers)
        .and_then(|_| only_keys(&body, &["contents", "detector_params"], &["contents"]))
    {
        return r.into_response();
    }
    let Some(contents) = body["contents"]
        .as_array()
        .and_then(|c| c.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "'contents' must be a list of strings",
        )
        .into_response();
    };
    axum::Json(
        contents
            .iter()
            .map(|c| Value::Array(detections_in(&s, c, true)))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn detector_chat(
    State(s): State<Arc<FmsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, _guard) = match admit(&s, "/api/v1/text/chat", &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = detector_header(&s, &headers).and_then(|_| {
        only_keys(
            &body,
            &["messages", "tools", "detector_params"],
            &["messages"],
        )
    }) {
        return r.into_response();
    }
    match chat_texts(&body) {
        Ok(texts) => axum::Json(detections_in(&s, &texts.join("\n"), false)).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn orchestrator_content(
    State(s): State<Arc<FmsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, _guard) = match admit(&s, "/api/v2/text/detection/content", &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = only_keys(&body, &["detectors", "content"], &["detectors", "content"]) {
        return r.into_response();
    }
    let ids = match orchestrator_detectors(&s, &body) {
        Ok(ids) => ids,
        Err(r) => return r.into_response(),
    };
    let Some(content) = body["content"].as_str() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "'content' must be a string",
        )
        .into_response();
    };
    let detections = with_ids(&ids, |_| detections_in(&s, content, true));
    axum::Json(json!({"detections": detections})).into_response()
}

async fn orchestrator_chat(
    State(s): State<Arc<FmsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (body, _guard) = match admit(&s, "/api/v2/text/detection/chat", &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = only_keys(
        &body,
        &["detectors", "messages", "tools"],
        &["detectors", "messages"],
    ) {
        return r.into_response();
    }
    let ids = match orchestrator_detectors(&s, &body) {
        Ok(ids) => ids,
        Err(r) => return r.into_response(),
    };
    match chat_texts(&body) {
        Ok(texts) => {
            let text = texts.join("\n");
            axum::Json(json!({"detections": with_ids(&ids, |_| detections_in(&s, &text, false))}))
                .into_response()
        }
        Err(r) => r.into_response(),
    }
}

/// Each detector's detections, tagged with its id (the orchestrator's answers name the detector).
fn with_ids(ids: &[String], detect: impl Fn(&str) -> Vec<Value>) -> Vec<Value> {
    ids.iter()
        .flat_map(|id| {
            detect(id).into_iter().map(move |mut d| {
                if let Value::Object(o) = &mut d {
                    o.insert("detector_id".into(), json!(id));
                }
                d
            })
        })
        .collect()
}
