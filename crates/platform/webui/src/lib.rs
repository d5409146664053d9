//! The browser pages the server carries: `/docs`, Swagger UI over the server's own
//! `/openapi.json`, and `/playground`, a page to try models, vector stores and Responses.
//!
//! Every file is compiled into the binary ([`assets`]) and the pages fetch nothing from
//! elsewhere: their Content-Security-Policy allows only this origin. They are pages, not API
//! routes: they hold no data, so they are served without a token ([`is_page`] tells the
//! authentication layer which paths these are) and are not listed in `/v1/inspect/routes` or the
//! OpenAPI document; the API calls the pages make carry the bearer token the user types in
//! (kept in the tab's `sessionStorage`).

pub mod assets;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use lls_api_common::Error;
use lls_http::ApiError;

/// The path prefixes the pages own.
const PAGES: [&str; 2] = ["/docs", "/playground"];

/// Only this origin, for everything; inline styles are allowed because Swagger UI sets them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'self'";

/// Whether `path` is one of the pages or their files (`/docs`, `/docs/...`, `/playground`, ...).
pub fn is_page(path: &str) -> bool {
    PAGES.iter().any(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// The pages' routes, to merge into the application router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for page in PAGES {
        router = router
            .route(page, get(serve))
            .route(&format!("{page}/"), get(move || async move { Redirect::permanent(page) }))
            .route(&format!("{page}/{{*file}}"), get(serve));
    }
    router
}

async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let Some((asset, etag)) = assets::find(uri.path()) else {
        return not_found(uri.path());
    };
    let mut response = if headers.get(IF_NONE_MATCH).is_some_and(|v| matches_etag(v, etag)) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(asset.body));
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        r
    };
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static(asset.caching.header()));
    if let Ok(tag) = HeaderValue::from_str(etag) {
        h.insert(ETAG, tag);
    }
    h.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    if asset.page {
        h.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        h.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    }
    response
}

/// `If-None-Match`: `*` or a list of tags, weak ones compared weakly (RFC 9110 13.1.2).
fn matches_etag(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else { return false };
    value.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// A missing file, in the API's error shape.
fn not_found(path: &str) -> Response {
    ApiError(Error::not_found(format!("no page or file at {path}"))).into_response()
}
