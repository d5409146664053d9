//! The edge: what every request passes through around its route. One middleware gives each
//! request an id (echoed as `x-request-id`) and a tracing span, refuses oversized URIs (414) and
//! headers (431) and incompatible clients (426), renders any error another layer produced
//! (axum's rejections) in our JSON shape, logs 5xx once, counts and times each request by
//! route template ([`crate::metrics`]), writes one access line per request ([`access`]), and
//! lets the shutdown end open SSE streams with an error event. CORS and the request quota come
//! from run.yaml.

mod access;
pub mod auth;
pub mod cors;
pub mod quota;
mod stream_end;
mod trace;

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use lls_api_common::ErrorKind;
use lls_config::CorsPolicy;
use lls_registry::Stack;
use tracing::Instrument;

use lls_http::error::{LoggedError, Rendered, edge_error};
use crate::shutdown::Shutdown;
pub use auth::Auth;
pub use quota::{ClientIdentity, Quota};

/// Longest request target (path and query) accepted; past it, 414.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Most bytes of header names and values accepted; past it, 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CLIENT_VERSION: &str = "x-llamastack-client-version";
/// Read once, when the app is built: set, it turns the client version check off.
const DISABLE_VERSION_CHECK: &str = "LLAMA_STACK_DISABLE_VERSION_CHECK";

/// The request's id, in its extensions for whoever needs it.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// The whole application for a built stack (no shutdown to watch).
pub fn app(stack: Arc<Stack>) -> lls_api_common::Result<Router> {
    app_with(stack, &Shutdown::new())
}

/// The whole application, ending SSE streams when `shutdown`'s grace period expires. Fails
/// when `server.auth` cannot be set up (a `tls_cafile` that cannot be read).
pub fn app_with(stack: Arc<Stack>, shutdown: &Shutdown) -> lls_api_common::Result<Router> {
    let cors = stack.config.server.cors.as_ref().and_then(|c| c.policy());
    let stores: Arc<dyn lls_api_common::store::StoreResolver> = stack.stores.clone();
    let quota = stack.config.server.quota.as_ref().map(|q| Arc::new(Quota::new(q, stores)));
    let auth = Auth::from_config(&stack.config.server)?;
    crate::metrics::describe();
    Ok(wrap(crate::routes::app(stack), Layers { cors: cors.as_ref(), auth, quota }, shutdown))
}

/// The run.yaml-driven edge layers: all optional.
#[derive(Default)]
pub struct Layers<'a> {
    /// Validated with the config (see [`cors::layer`]).
    pub cors: Option<&'a CorsPolicy>,
    pub auth: Option<Arc<Auth>>,
    pub quota: Option<Arc<Quota>>,
}

/// The edge layers around `router`, outermost first: the guard, CORS (preflights are answered
/// before authentication, and 401/429 carry CORS headers), authentication, the quota (counting
/// authenticated callers by principal; a 401 is not counted).
pub fn wrap(router: Router, layers: Layers<'_>, shutdown: &Shutdown) -> Router {
    let Layers { cors, auth, quota } = layers;
    let router = match quota {
        Some(quota) => router.layer(middleware::from_fn_with_state(quota, quota::enforce)),
        None => router,
    };
    let router = match auth {
        Some(auth) => router.layer(middleware::from_fn_with_state(auth, auth::authenticate)),
        None => router,
    };
    let router = match cors.map(cors::layer) {
        Some(Ok(layer)) => router.layer(layer),
        Some(Err(e)) => {
            tracing::error!("CORS is off: {e}");
            router
        }
        None => router,
    };
    let edge = Arc::new(Edge::new(shutdown.clone(), std::env::var_os(DISABLE_VERSION_CHECK).is_none()));
    router.layer(middleware::from_fn_with_state(edge, guard))
}

struct Edge {
    shutdown: Shutdown,
    version_check: bool,
    /// Generated ids are `<prefix>-<n>`: unique per process run, cheap to make.
    id_prefix: String,
    next_id: AtomicU64,
}

impl Edge {
    fn new(shutdown: Shutdown, version_check: bool) -> Self {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let random = std::collections::hash_map::RandomState::new().hash_one(seed);
        Edge { shutdown, version_check, id_prefix: format!("{random:016x}"), next_id: AtomicU64::new(1) }
    }

    /// The client's `x-request-id` when it is a sane token, else a new one.
    fn request_id(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(given) = headers.get(REQUEST_ID)
            && (1..=128).contains(&given.len())
            && given.as_bytes().iter().all(|b| (0x21..=0x7e).contains(b))
        {
            return given.clone();
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_maybe_shared(Bytes::from(format!("{}-{n}", self.id_prefix)))
            .unwrap_or(HeaderValue::from_static("unknown"))
    }

    /// Refusals decided from the request head alone.
    fn check(&self, req: &Request) -> Option<Response> {
        let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
        if target > MAX_URI_BYTES {
            let message = format!("the request URI is {target} bytes long; at most {MAX_URI_BYTES} are accepted");
            return Some(edge_error(StatusCode::URI_TOO_LONG, &message));
        }
        let header_bytes: usize = req.headers().iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
        if header_bytes > MAX_HEADER_BYTES {
            let message = format!("the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted");
            return Some(edge_error(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, &message));
        }
        if self.version_check { client_version(req.headers()) } else { None }
    }

    async fn finish(&self, response: Response) -> Response {
        let mut response = if response.status().as_u16() >= 400 && response.extensions().get::<Rendered>().is_none() {
            render_foreign(response).await
        } else {
            response
        };
        log_server_error(&response);
        let is_sse = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if is_sse {
            let body = std::mem::take(response.body_mut());
            *response.body_mut() = stream_end::EndOnShutdown::wrap(body, &self.shutdown);
        }
        response
    }
}

async fn guard(State(edge): State<Arc<Edge>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = edge.request_id(req.headers());
    let (method, path, route) = (req.method().clone(), req.uri().clone(), req.extensions().get::<MatchedPath>().cloned());
    let span = trace::request_span!(req, id);
    trace::start(&span, &req);
    let mut response = async {
        if let Some(refused) = edge.check(&req) {
            return refused;
        }
        req.extensions_mut().insert(RequestId(id.clone()));
        let response = next.run(req).await;
        edge.finish(response).await
    }
    .instrument(span.clone())
    .await;
    trace::finish(&span, response.status());
    let elapsed = started.elapsed();
    let route = route.as_ref().map(MatchedPath::as_str);
    crate::metrics::record_request(&method, route, response.status(), elapsed);
    access::log(&access::Access {
        method: &method,
        route,
        path: path.path(),
        status: response.status(),
        elapsed,
        request_id: &id,
        principal: response.extensions().get::<ClientIdentity>().map(|c| c.0.as_str()),
    });
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// 0.3.5's `ClientVersionMiddleware`: a client of another major.minor gets 426.
fn client_version(headers: &HeaderMap) -> Option<Response> {
    let v = headers.get(CLIENT_VERSION)?.to_str().ok()?;
    let mut ours = crate::API_VERSION.split('.');
    let mut theirs = v.split('.');
    let (Some(major), Some(minor)) = (theirs.next(), theirs.next()) else {
        return None;
    };
    if ours.next() == Some(major) && ours.next() == Some(minor) {
        return None;
    }
    let message = format!(
        "Client version {v} is not compatible with server version {}. Please update your client.",
        crate::API_VERSION
    );
    Some(edge_error(StatusCode::UPGRADE_REQUIRED, &message))
}

/// Most of another layer's error body kept as the message.
const FOREIGN_BODY_BYTES: usize = 1024;

/// An error response we did not render (axum's rejections: a bad path, a failed serialization):
/// the same status and headers, our JSON body, its text as the message.
async fn render_foreign(response: Response) -> Response {
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let text = match http_body_util::Limited::new(body, 64 * 1024).collect().await {
        Ok(collected) => String::from_utf8(collected.to_bytes().to_vec()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    let text = text.trim();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.chars().take(FOREIGN_BODY_BYTES).collect()
    };
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let rendered = edge_error(status, &message);
    let (rendered_parts, body) = rendered.into_parts();
    parts.headers.extend(rendered_parts.headers);
    parts.extensions.insert(Rendered);
    if status.is_server_error() {
        parts.extensions.insert(LoggedError(lls_api_common::Error::new(ErrorKind::Internal, message)));
    }
    Response::from_parts(parts, Body::new(body))
}

/// Logs server-side failures once, here, rather than where errors are rendered.
fn log_server_error(response: &Response) {
    if !response.status().is_server_error() {
        return;
    }
    let status = response.status().as_u16();
    match response.extensions().get::<LoggedError>() {
        Some(LoggedError(e)) if e.kind() == ErrorKind::Internal => tracing::error!(status, "{e}"),
        Some(LoggedError(e)) => tracing::warn!(status, "{e}"),
        None => tracing::warn!(status, "server error"),
    }
}
