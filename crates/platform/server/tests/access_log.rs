//! The edge's access line and request metrics, on a small router behind the real edge layers
//! (authentication on, with a test authenticator): exactly one `lls_server::access` event per
//! request whose facts are fields (method, route template, path, status, duration, request id,
//! the principal once authenticated), never the token; and the request counter by route
//! template, read back from the process's Prometheus recorder.
// Helpers here (the capture layer, the authenticator) are not #[test] functions.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use lls_api_common::access::User;
use lls_auth::{AuthError, Authenticator, RequestInfo};
use lls_server::Shutdown;
use lls_server::edge::{Auth, Layers, wrap};
use parking_lot::Mutex;
use tower::ServiceExt;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

const TOKEN: &str = "s3cret-t0ken-value";

/// Admits [`TOKEN`] as `alice`.
struct OneToken;

#[async_trait]
impl Authenticator for OneToken {
    async fn validate(&self, token: &str, _: &RequestInfo<'_>) -> Result<User, AuthError> {
        match token {
            TOKEN => Ok(User { principal: "alice".into(), attributes: BTreeMap::new() }),
            _ => Err(AuthError::Invalid("Invalid token".into())),
        }
    }
}

/// An event's fields, values as text.
type EventFields = BTreeMap<String, String>;

/// Every event, as its target and its fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(String, EventFields)>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().push((event.metadata().target().to_owned(), fields));
    }
}

impl Capture {
    fn access_lines(&self) -> Vec<EventFields> {
        self.0.lock().iter().filter(|(target, _)| target == "lls_server::access").map(|(_, f)| f.clone()).collect()
    }
}

fn app() -> Router {
    let router = Router::new().route("/v1/things/{thing_id}", get(|| async { "a thing" }));
    let auth = Arc::new(Auth::new(Arc::new(OneToken), lls_testkit::callers::default_policy()));
    wrap(router, Layers { auth: Some(auth), ..Layers::default() }, &Shutdown::new())
}

async fn get_status(app: &Router, path: &str, token: Option<&str>) -> StatusCode {
    let mut req = Request::get(path).header("x-request-id", "test-request-1");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap().status()
}

#[tokio::test]
async fn one_access_line_per_request_with_fields_and_no_token() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let app = app();

    assert_eq!(get_status(&app, "/v1/things/42?secret=x", Some(TOKEN)).await, StatusCode::OK);
    let lines = capture.access_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/v1/things/{thing_id}");
    assert_eq!(line["path"], "/v1/things/42", "no query: it may carry secrets");
    assert_eq!(line["status"], "200");
    assert_eq!(line["request_id"], "test-request-1");
    assert_eq!(line["principal"], "alice");
    assert!(line["duration_ms"].parse::<f64>().unwrap() >= 0.0, "{line:?}");

    // Refused: no principal; unknown path: the fixed route label.
    assert_eq!(get_status(&app, "/v1/things/7", Some("wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get_status(&app, "/v1/nothing/here", Some(TOKEN)).await, StatusCode::NOT_FOUND);
    let lines = capture.access_lines();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!((lines[1]["status"].as_str(), lines[1].get("principal")), ("401", None));
    assert_eq!((lines[2]["route"].as_str(), lines[2]["status"].as_str()), ("unmatched", "404"));

    // No event of any target carries the token or the Authorization header.
    for (target, fields) in capture.0.lock().iter() {
        for (name, value) in fields {
            assert!(!value.contains(TOKEN) && !name.eq_ignore_ascii_case("authorization"), "{target}: {name}={value}");
        }
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_template() {
    // A subscriber of its own, though nothing here reads events: a thread with none that is
    // first to reach the access line's callsite while the other test installs its capture can
    // leave tracing's cached interest at "never" for every thread (1 run in ~150 lost the
    // access line). With a subscriber on each thread the cached interest is always "always".
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry());
    let recorder = lls_registry::metrics::prometheus().unwrap();
    let app = app();
    for id in ["1", "2", "3"] {
        assert_eq!(get_status(&app, &format!("/v1/things/{id}"), Some(TOKEN)).await, StatusCode::OK);
    }
    let text = recorder.render();
    let counted = text
        .lines()
        .find(|l| {
            l.starts_with("llama_stack_http_requests_total{")
                && l.contains(r#"route="/v1/things/{thing_id}""#)
                && l.contains(r#"status="200""#)
        })
        .unwrap_or_else(|| panic!("no counter for the route template: {text}"));
    let count: f64 = counted.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{counted}");
    assert!(!text.contains("/v1/things/1\""), "a raw path as a label: {text}");
}
