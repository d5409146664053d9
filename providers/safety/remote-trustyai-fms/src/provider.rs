//! The provider: resolves a shield to its settings (config, or registration params), calls the
//! detector API (`/api/v1/text/contents|chat`, header `detector-id`) or the orchestrator API
//! (`/api/v2/text/detection/content|chat`), and turns detections above the shield's threshold
//! into a run-shield violation or flagged moderation results.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lls_api_common::outbound::OutboundPolicy;
use lls_api_common::{BuildContext, Error, ErrorKind, RequestContext, Result};
use lls_api_inference::{ChatMessage, Role};
use lls_api_safety::{
    ModerationObject, ModerationResult, RunShieldResponse, SafetyProvider, SafetyViolation, Shield,
    ViolationLevel,
};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use crate::config::{FmsConfig, MessageType, ShieldConfig, ShieldKind};

/// Shields judged by TrustyAI / FMS guardrails detectors.
pub struct TrustyAiFms {
    provider_id: String,
    config: FmsConfig,
    outbound: Arc<OutboundPolicy>,
    /// One pooled client per distinct TLS setup (usually exactly one).
    clients: Mutex<HashMap<TlsKey, reqwest::Client>>,
    /// Shields resolved so far, by id; each keeps its concurrency bound.
    shields: Mutex<HashMap<String, Arc<ShieldRuntime>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TlsKey {
    verify: bool,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    keepalive: usize,
}

/// Where a shield's requests go.
#[derive(Debug, Clone)]
enum Target {
    Orchestrator(String),
    Detector(String),
}

struct ShieldRuntime {
    id: String,
    config: ShieldConfig,
    target: Target,
    client: reqwest::Client,
    permits: Semaphore,
}

/// One detection as the backend reported it, with the detector that made it.
#[derive(Debug, Clone)]
struct Detection {
    detector_id: String,
    detection_type: String,
    score: Option<f64>,
    raw: Map<String, Value>,
    message_index: Option<usize>,
}

impl Detection {
    fn flagged(&self, threshold: f64) -> bool {
        self.score.is_some_and(|s| s > threshold)
    }

    fn to_json(&self) -> Value {
        let mut v = self.raw.clone();
        v.insert("detector_id".into(), json!(self.detector_id));
        v.insert("detection_type".into(), json!(self.detection_type));
        if let Some(i) = self.message_index {
            v.insert("message_index".into(), json!(i));
        }
        Value::Object(v)
    }
}

/// Why one attempt failed, for the retry decision and the final error.
enum Failure {
    Status(u16, String),
    Connect(String),
    Timeout,
    Other(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Status(s, _) => *s >= 500 || *s == 429,
            Failure::Connect(_) | Failure::Timeout => true,
            Failure::Other(_) => false,
        }
    }

    fn into_error(self, backend: &str, attempts: u32) -> Error {
        let tries = if attempts > 1 {
            format!(" (after {attempts} attempts)")
        } else {
            String::new()
        };
        match self {
            Failure::Status(status, body) => {
                let body = clip(&body);
                let kind = match status {
                    503 => ErrorKind::UpstreamUnavailable,
                    429 => ErrorKind::RateLimited,
                    _ => ErrorKind::UpstreamError,
                };
                let what = if (400..500).contains(&status) {
                    "rejected the request"
                } else {
                    "failed"
                };
                Error::new(
                    kind,
                    format!("{backend} {what}: HTTP {status}{tries}: {body}"),
                )
                .with_upstream_status(status)
            }
            Failure::Connect(detail) => Error::new(
                ErrorKind::UpstreamUnavailable,
                format!("{backend} is unreachable{tries}: {detail}"),
            ),
            Failure::Timeout => Error::new(
                ErrorKind::Timeout,
                format!("{backend} did not answer in time{tries}"),
            ),
            Failure::Other(detail) => Error::new(
                ErrorKind::UpstreamError,
                format!("{backend} failed: {detail}"),
            ),
        }
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 500;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn message_type(role: Role) -> MessageType {
    match role {
        Role::User => MessageType::User,
        Role::System => MessageType::System,
        Role::Tool => MessageType::Tool,
        Role::Assistant => MessageType::Completion,
        Role::Developer => MessageType::Developer,
    }
}

fn message_text(m: &ChatMessage) -> String {
    m.content.as_ref().map(|c| c.to_text()).unwrap_or_default()
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    }
}

impl TrustyAiFms {
    /// The provider over `config` (already validated); clients of configured shields are built
    /// now, so unreadable certificates fail at startup.
    pub fn new(
        provider_id: impl Into<String>,
        config: FmsConfig,
        outbound: Arc<OutboundPolicy>,
    ) -> Result<Self> {
        let fms = TrustyAiFms {
            provider_id: provider_id.into(),
            config,
            outbound,
            clients: Mutex::new(HashMap::new()),
            shields: Mutex::new(HashMap::new()),
        };
        for (id, shield) in fms.config.shields.clone() {
            let rt = fms.runtime_for(&id, shield.inherit(&fms.config))?;
            fms.shields.lock().insert(id, Arc::new(rt));
        }
        Ok(fms)
    }

    pub async fn build(ctx: BuildContext, config: FmsConfig) -> Result<Arc<dyn SafetyProvider>> {
        Ok(Arc::new(TrustyAiFms::new(
            ctx.provider_id,
            config,
            ctx.outbound,
        )?))
    }

    fn client(&self, c: &ShieldConfig) -> Result<reqwest::Client> {
        let key = TlsKey {
            verify: c.verify_ssl.unwrap_or(true),
            ca: c.ssl_cert_path.clone(),
            cert: c.ssl_client_cert.clone(),
            key: c.ssl_client_key.clone(),
            keepalive: c.max_keepalive_connections,
        };
        if let Some(client) = self.clients.lock().get(&key) {
            return Ok(client.clone());
        }
        let provider = &self.provider_id;
        let read = |path: &str, what: &str| {
            std::fs::read(path).map_err(|e| {
                Error::invalid(format!(
                    "provider {provider}: cannot read {what} {path}: {e}"
                ))
            })
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("llama-stack-rs/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(key.keepalive)
            .connect_timeout(Duration::from_secs(10));
        if !key.verify {
            builder = builder.danger_accept_invalid_certs(true);
        } else if let Some(ca) = &key.ca {
            let certs =
                reqwest::Certificate::from_pem_bundle(&read(ca, "CA bundle")?).map_err(|e| {
                    Error::invalid(format!(
                        "provider {provider}: CA bundle {ca} is not PEM: {e}"
                    ))
                })?;
            // Like httpx's `verify=<path>`: that bundle instead of the built-in roots.
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(cert) = &key.cert {
            let mut pem = read(cert, "client certificate")?;
            if let Some(k) = &key.key {
                pem.push(b'\n');
                pem.extend(read(k, "client key")?);
            }
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| Error::invalid(format!("provider {provider}: client certificate {cert} (and key) is not usable PEM: {e}")))?;
            builder = builder.identity(identity);
        }
        let client = builder.build().map_err(|e| {
            Error::invalid(format!(
                "provider {provider}: cannot build the HTTP client: {e}"
            ))
        })?;
        self.clients.lock().insert(key, client.clone());
        Ok(client)
    }

    fn runtime_for(&self, id: &str, config: ShieldConfig) -> Result<ShieldRuntime> {
        config.validate(&format!("shields.{id}"))?;
        let target = match (&config.orchestrator_url, &config.detector_url) {
            (Some(o), _) => Target::Orchestrator(o.trim_end_matches('/').to_owned()),
            (None, Some(d)) => Target::Detector(d.trim_end_matches('/').to_owned()),
            (None, None) => {
                return Err(Error::invalid(format!("shield '{id}' has no URL to call")));
            }
        };
        Ok(ShieldRuntime {
            id: id.to_owned(),
            client: self.client(&config)?,
            permits: Semaphore::new(config.max_concurrency),
            config,
            target,
        })
    }

    /// The shield's settings: the config's entry for its `provider_resource_id`, else its
    /// registration params (TrustyAI's dynamic shields), else a 400.
    fn runtime(&self, shield: &Shield) -> Result<Arc<ShieldRuntime>> {
        let id = shield.provider_resource();
        if let Some(rt) = self.shields.lock().get(id) {
            return Ok(rt.clone());
        }
        let params = shield.params.as_ref().filter(|p| !p.is_empty()).ok_or_else(|| {
            let known: Vec<&str> = self.config.shields.keys().map(String::as_str).collect();
            Error::invalid(format!(
                "shield '{id}' is not described in the config of provider '{}' (remote::trustyai_fms; it describes: {}), and was registered without params describing one",
                self.provider_id,
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
            .with_param("provider_shield_id")
        })?;
        let config = ShieldConfig::from_params(id, params)?;
        // URLs a client chose are held to the server's outbound policy.
        for url in [&config.detector_url, &config.orchestrator_url]
            .into_iter()
            .flatten()
        {
            self.outbound.check_host(host_of(url))?;
        }
        let rt = Arc::new(self.runtime_for(id, config.inherit(&self.config))?);
        Ok(self
            .shields
            .lock()
            .entry(id.to_owned())
            .or_insert(rt)
            .clone())
    }

    /// POSTs `body` to the shield's backend, retrying 5xx, 429, connect failures and timeouts.
    async fn post(&self, rt: &ShieldRuntime, path: &str, body: &Value) -> Result<Value> {
        let (base, backend) = match &rt.target {
            Target::Orchestrator(u) => (u, format!("the FMS orchestrator at {u}")),
            Target::Detector(u) => (u, format!("the FMS detector '{}' at {u}", rt.id)),
        };
        let url = format!("{base}{path}");
        let c = &rt.config;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = {
                let _permit = rt
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| Error::new(ErrorKind::Internal, "shield semaphore closed"))?;
                let mut request = rt
                    .client
                    .post(&url)
                    .headers(lls_trace_context::headers())
                    .timeout(Duration::from_secs_f64(c.request_timeout))
                    .header("accept", "application/json")
                    .json(body);
                if matches!(rt.target, Target::Detector(_)) {
                    request = request.header("detector-id", &rt.id);
                }
                if let Some(token) = &c.auth_token {
                    request = request.bearer_auth(token);
                }
                match request.send().await {
                    Ok(resp) if resp.status().is_success() => match resp.json::<Value>().await {
                        Ok(v) => return Ok(v),
                        Err(e) if e.is_timeout() => Failure::Timeout,
                        Err(e) => {
                            return Err(Failure::Other(format!(
                                "its answer is not JSON: {}",
                                root_cause(&e)
                            ))
                            .into_error(&backend, attempt));
                        }
                    },
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        Failure::Status(status, resp.text().await.unwrap_or_default())
                    }
                    Err(e) if e.is_timeout() => Failure::Timeout,
                    Err(e) if e.is_connect() => Failure::Connect(root_cause(&e)),
                    Err(e) => Failure::Other(root_cause(&e)),
                }
            };
            if !failure.retryable() || attempt >= c.max_retries {
                return Err(failure.into_error(&backend, attempt));
            }
            tracing::warn!(shield = %rt.id, attempt, "{backend}: attempt failed; retrying");
            let jitter = 0.8 + 0.4 * ((uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0);
            tokio::time::sleep(Duration::from_secs_f64(
                c.backoff_factor.powi(attempt as i32) * jitter,
            ))
            .await;
        }
    }

    /// The orchestrator's `detectors` map: the shield's nested detectors, else the shield
    /// itself with its `detector_params`.
    fn orchestrator_detectors(rt: &ShieldRuntime) -> Value {
        match &rt.config.detectors {
            Some(d) if !d.is_empty() => Value::Object(
                d.iter()
                    .map(|(id, n)| (id.clone(), Value::Object(n.detector_params.clone())))
                    .collect(),
            ),
            _ => json!({ rt.id.clone(): rt.config.detector_params }),
        }
    }

    /// Reads the backend's detections (objects) from its answer.
    fn detections(
        rt: &ShieldRuntime,
        answer: Value,
        message_index: Option<usize>,
    ) -> Result<Vec<Detection>> {
        let backend = match &rt.target {
            Target::Orchestrator(u) => format!("the FMS orchestrator at {u}"),
            Target::Detector(u) => format!("the FMS detector '{}' at {u}", rt.id),
        };
        let bad = |what: &str| {
            Error::new(
                ErrorKind::UpstreamError,
                format!("{backend} answered {what}"),
            )
        };
        let list: Vec<Value> = match (&rt.target, answer) {
            (Target::Orchestrator(_), Value::Object(mut o)) => match o.remove("detections") {
                Some(Value::Array(a)) => a,
                Some(Value::Null) | None => return Err(bad("without a 'detections' list")),
                Some(_) => return Err(bad("'detections' that is not a list")),
            },
            // Direct: one list per text sent (contents), or one list for the conversation (chat).
            (Target::Detector(_), Value::Array(a)) => a
                .into_iter()
                .flat_map(|v| {
                    if let Value::Array(inner) = v {
                        inner
                    } else {
                        vec![v]
                    }
                })
                .collect(),
            _ => return Err(bad("a body of the wrong shape")),
        };
        let single = match &rt.config.detectors {
            Some(d) if d.len() == 1 => d.keys().next().cloned(),
            Some(d) if !d.is_empty() => None,
            _ => Some(rt.id.clone()),
        };
        list.into_iter()
            .map(|v| {
                let Value::Object(raw) = v else {
                    return Err(bad("a detection that is not an object"));
                };
                let detector_id = raw
                    .get("detector_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| single.clone())
                    .unwrap_or_else(|| rt.id.clone());
                let detection_type = raw
                    .get("detection_type")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned();
                let score = raw.get("score").and_then(Value::as_f64);
                Ok(Detection {
                    detector_id,
                    detection_type,
                    score,
                    raw,
                    message_index,
                })
            })
            .collect()
    }

    /// Detections on one text (content shields).
    async fn judge_text(
        &self,
        rt: &ShieldRuntime,
        text: &str,
        message_index: Option<usize>,
    ) -> Result<Vec<Detection>> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let (path, body) = match rt.target {
            Target::Orchestrator(_) => (
                "/api/v2/text/detection/content",
                json!({"detectors": Self::orchestrator_detectors(rt), "content": text}),
            ),
            Target::Detector(_) => (
                "/api/v1/text/contents",
                json!({"contents": [text], "detector_params": rt.config.detector_params}),
            ),
        };
        let answer = self.post(rt, path, &body).await?;
        Self::detections(rt, answer, message_index)
    }

    /// Detections on a conversation (chat shields): `messages` as `{role, content}`.
    async fn judge_chat(&self, rt: &ShieldRuntime, messages: Vec<Value>) -> Result<Vec<Detection>> {
        let (path, body) = match rt.target {
            Target::Orchestrator(_) => (
                "/api/v2/text/detection/chat",
                json!({"detectors": Self::orchestrator_detectors(rt), "messages": messages}),
            ),
            Target::Detector(_) => (
                "/api/v1/text/chat",
                json!({"messages": messages, "detector_params": rt.config.detector_params}),
            ),
        };
        let answer = self.post(rt, path, &body).await?;
        Self::detections(rt, answer, None)
    }
}

/// "hap (HAP, 0.97), regex (pii, 0.99)": each detector and type once, with its top score.
fn describe(flagged: &[&Detection]) -> String {
    let mut top: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for d in flagged {
        let s = top
            .entry((&d.detector_id, &d.detection_type))
            .or_insert(0.0);
        *s = s.max(d.score.unwrap_or(0.0));
    }
    top.iter()
        .map(|((det, kind), s)| format!("{det} ({kind}, {s:.2})"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl SafetyProvider for TrustyAiFms {
    async fn register_shield(&self, _ctx: &RequestContext, shield: &Shield) -> Result<()> {
        self.runtime(shield).map(|_| ())
    }

    async fn run_shield(
        &self,
        _ctx: &RequestContext,
        shield: &Shield,
        messages: &[ChatMessage],
        _params: &Map<String, Value>,
    ) -> Result<RunShieldResponse> {
        let rt = self.runtime(shield)?;
        let selected: Vec<(usize, &ChatMessage)> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| rt.config.message_types.contains(&message_type(m.role)))
            .collect();
        if selected.is_empty() {
            return Ok(RunShieldResponse { violation: None });
        }
        let detections: Vec<Detection> = match rt.config.shield_kind() {
            ShieldKind::Content => {
                let calls = selected.iter().map(|(i, m)| {
                    let rt = rt.clone();
                    let text = message_text(m);
                    async move { self.judge_text(&rt, &text, Some(*i)).await }
                });
                futures::future::try_join_all(calls)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect()
            }
            ShieldKind::Chat => {
                let conversation = selected
                    .iter()
                    .map(|(_, m)| Ok(json!({"role": serde_json::to_value(m.role)?, "content": message_text(m)})))
                    .collect::<Result<Vec<_>>>()?;
                self.judge_chat(&rt, conversation).await?
            }
        };
        let threshold = rt.config.confidence_threshold;
        let flagged: Vec<&Detection> = detections.iter().filter(|d| d.flagged(threshold)).collect();
        if flagged.is_empty() {
            return Ok(RunShieldResponse { violation: None });
        }
        let mut flagged_messages: Vec<usize> =
            flagged.iter().filter_map(|d| d.message_index).collect();
        flagged_messages.dedup();
        let mut metadata = Map::new();
        metadata.insert("status".into(), json!("violation"));
        metadata.insert("shield_id".into(), json!(rt.id));
        metadata.insert("confidence_threshold".into(), json!(threshold));
        metadata.insert(
            "detections".into(),
            Value::Array(flagged.iter().map(|d| d.to_json()).collect()),
        );
        metadata.insert(
            "summary".into(),
            json!({
                "total_messages": messages.len(),
                "processed_messages": selected.len(),
                "skipped_messages": messages.len() - selected.len(),
                "messages_with_violations": flagged_messages,
            }),
        );
        Ok(RunShieldResponse {
            violation: Some(SafetyViolation {
                violation_level: ViolationLevel::Error,
                user_message: Some(format!(
                    "Content flagged by shield {}: {}",
                    rt.id,
                    describe(&flagged)
                )),
                metadata,
            }),
        })
    }

    /// One result per input, in order; each input is a user message (a shield that does not
    /// look at user messages flags nothing). Categories are the detection types reported,
    /// scored with their highest score, flagged above the threshold.
    async fn run_moderation(
        &self,
        _ctx: &RequestContext,
        shield: &Shield,
        inputs: &[String],
    ) -> Result<ModerationObject> {
        let rt = self.runtime(shield)?;
        let judged = rt.config.message_types.contains(&MessageType::User);
        let calls = inputs.iter().map(|text| {
            let rt = rt.clone();
            async move {
                if !judged {
                    return Ok(Vec::new());
                }
                match rt.config.shield_kind() {
                    ShieldKind::Content => self.judge_text(&rt, text, None).await,
                    ShieldKind::Chat if text.trim().is_empty() => Ok(Vec::new()),
                    ShieldKind::Chat => {
                        self.judge_chat(&rt, vec![json!({"role": "user", "content": text})])
                            .await
                    }
                }
            }
        });
        let threshold = rt.config.confidence_threshold;
        let results = futures::future::try_join_all(calls)
            .await?
            .into_iter()
            .map(|detections| {
                let mut categories = BTreeMap::new();
                let mut scores = BTreeMap::new();
                let mut applied = BTreeMap::new();
                for d in detections.iter() {
                    let Some(score) = d.score else { continue };
                    let flagged = categories.entry(d.detection_type.clone()).or_insert(false);
                    *flagged |= score > threshold;
                    let top = scores.entry(d.detection_type.clone()).or_insert(score);
                    *top = top.max(score);
                    applied.insert(d.detection_type.clone(), vec!["text".to_owned()]);
                }
                let flagged: Vec<&Detection> =
                    detections.iter().filter(|d| d.flagged(threshold)).collect();
                let mut metadata = Map::new();
                metadata.insert(
                    "detections".into(),
                    Value::Array(detections.iter().map(Detection::to_json).collect()),
                );
                ModerationResult {
                    flagged: !flagged.is_empty(),
                    user_message: (!flagged.is_empty()).then(|| {
                        format!(
                            "Content flagged by shield {}: {}",
                            rt.id,
                            describe(&flagged)
                        )
                    }),
                    categories: Some(categories),
                    category_applied_input_types: Some(applied),
                    category_scores: Some(scores),
                    metadata,
                }
            })
            .collect();
        Ok(ModerationObject {
            id: format!("modr-{}", uuid::Uuid::new_v4()),
            model: shield.provider_resource().to_owned(),
            results,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts() {
        assert_eq!(host_of("http://a.b:8080/x"), "a.b");
        assert_eq!(host_of("https://u:p@[::1]:9/"), "::1");
        assert_eq!(host_of("https://orch"), "orch");
    }
}
