//! The pages' routes in-process: what each answers, its content type, caching and security
//! headers, conditional requests, and that nothing the pages load comes from another origin.

// Helpers here are not #[test] functions, so clippy's test allowances do not reach them.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use lls_webui::assets::{ASSETS, Caching, SWAGGER_UI_VERSION};
use tower::ServiceExt;

async fn get(path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let app: Router = lls_webui::router();
    let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test]
async fn pages_are_html_revalidated_and_locked_to_this_origin() {
    for path in ["/docs", "/playground"] {
        let (status, h, body) = get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8", "{path}");
        assert_eq!(header(&h, "cache-control"), "no-cache", "{path}");
        assert!(header(&h, "etag").starts_with('"'), "{path}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff");
        let csp = header(&h, "content-security-policy");
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self';") && csp.contains("connect-src 'self';"), "{csp}");
        let html = String::from_utf8(body).unwrap();
        assert!(html.starts_with("<!doctype html>"), "{path}");
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{path} names another origin");
    }
}

/// Every `src`/`href` in the pages is served by this router (or is one of the server's own
/// pages or documents: the other page, `/openapi.json`).
#[tokio::test]
async fn every_file_a_page_references_is_served() {
    let re = |html: &str| -> Vec<String> {
        let mut found = Vec::new();
        for attr in ["src=\"", "href=\""] {
            for (i, _) in html.match_indices(attr) {
                let rest = &html[i + attr.len()..];
                found.push(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
        found
    };
    for page in ["/docs", "/playground"] {
        let (_, _, body) = get(page, &[]).await;
        let refs = re(&String::from_utf8(body).unwrap());
        assert!(refs.len() >= 3, "{page}: {refs:?}");
        for r in refs.iter().filter(|r| !r.starts_with("data:") && r.as_str() != "/openapi.json") {
            assert!(r.starts_with('/') && lls_webui::is_page(r), "{page} references {r}");
            let (status, _, _) = get(r, &[]).await;
            assert_eq!(status, StatusCode::OK, "{page} references {r}");
        }
    }
}

#[tokio::test]
async fn our_scripts_call_only_this_origin() {
    for a in ASSETS.iter().filter(|a| a.caching == Caching::Revalidate && !a.page) {
        let (status, h, body) = get(a.path, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&h, "content-type"), a.content_type);
        let text = String::from_utf8(body).unwrap();
        assert!(!text.contains("http://") && !text.contains("https://"), "{} names another origin", a.path);
        assert!(!text.contains("@import"), "{} imports a stylesheet", a.path);
    }
}

#[tokio::test]
async fn swagger_ui_files_are_immutable_under_their_version() {
    let base = format!("/docs/swagger-ui-{SWAGGER_UI_VERSION}");
    let (status, h, body) = get(&format!("{base}/swagger-ui-bundle.js"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&h, "cache-control"), "public, max-age=31536000, immutable");
    assert!(body.len() > 1_000_000, "the whole bundle: {} bytes", body.len());
    assert!(header(&h, "content-security-policy").is_empty(), "only pages carry the CSP");
    let (status, h, _) = get(&format!("{base}/swagger-ui.css"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "content-type"), "text/css; charset=utf-8");
    let (status, _, license) = get(&format!("{base}/LICENSE"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(license).unwrap().contains("Apache License"));
}

#[tokio::test]
async fn a_matching_etag_is_answered_304_without_a_body() {
    let (_, h, _) = get("/playground/playground.js", &[]).await;
    let etag = header(&h, "etag").to_owned();
    let (status, h, body) = get("/playground/playground.js", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&h, "etag"), etag);
    assert_eq!(header(&h, "cache-control"), "no-cache");
    let weak = format!("\"other\", W/{etag}");
    assert_eq!(get("/playground/playground.js", &[("if-none-match", &weak)]).await.0, StatusCode::NOT_MODIFIED);
    assert_eq!(get("/playground/playground.js", &[("if-none-match", "\"other\"")]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_trailing_slash_redirects_and_unknown_files_are_404_in_the_api_shape() {
    let (status, h, _) = get("/playground/", &[]).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&h, "location"), "/playground");
    let (status, h, body) = get("/docs/nope.js", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(header(&h, "content-type").starts_with("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("/docs/nope.js"), "{body}");
}

#[test]
fn is_page_covers_the_pages_and_nothing_else() {
    for p in ["/docs", "/docs/docs.js", "/playground", "/playground/", "/playground/api.js"] {
        assert!(lls_webui::is_page(p), "{p}");
    }
    for p in ["/docsx", "/v1/docs", "/playgrounds", "/openapi.json", "/", "/v1/models"] {
        assert!(!lls_webui::is_page(p), "{p}");
    }
}
