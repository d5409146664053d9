//! Request extractors: a JSON body parsed with the path of the first bad field in the error,
//! and the per-request context from `X-LlamaStack-Provider-Data`.

use axum::body::HttpBody as _;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;

use lls_api_common::access::Caller;
use lls_api_common::{Error, ErrorKind, RequestContext};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, edge_error};

pub const PROVIDER_DATA_HEADER: &str = "x-llamastack-provider-data";

/// A JSON body; any problem is a 400 naming the field. The body must be declared JSON
/// (`application/json` or `application/*+json`): a browser can send text/plain, form or multipart
/// bodies to another origin without a CORS preflight, so accepting them would allow CSRF.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A request without a body says nothing about its type; it gets the empty-body 400.
        if !req.body().is_end_stream() {
            check_json_content_type(req.headers()).map_err(IntoResponse::into_response)?;
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_read_error)?;
        parse_json(&bytes).map(ApiJson).map_err(IntoResponse::into_response)
    }
}

fn body_read_error(e: BytesRejection) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError(Error::new(ErrorKind::PayloadTooLarge, "request body is too large")).into_response();
    }
    if caused_by::<tower_http::timeout::TimeoutError>(&e) {
        return edge_error(StatusCode::REQUEST_TIMEOUT, "the request body was not received in time");
    }
    ApiError(Error::invalid(format!("could not read the request body: {e}"))).into_response()
}

/// Whether `T` is somewhere in `e`'s chain of sources.
fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.is::<T>() {
            return true;
        }
        next = err.source();
    }
    false
}

/// `application/json` or `application/<anything>+json`, with any parameters.
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let essence = value.map(|v| v.split(';').next().unwrap_or_default().trim());
    let is_json = essence.is_some_and(|m| {
        let Some((kind, subtype)) = m.split_once('/') else {
            return false;
        };
        kind.eq_ignore_ascii_case("application")
            && (subtype.eq_ignore_ascii_case("json") || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
    });
    if is_json {
        return Ok(());
    }
    let found = match value {
        Some(v) => format!("Content-Type '{v}'"),
        None => "no Content-Type".to_owned(),
    };
    Err(ApiError(Error::new(
        ErrorKind::UnsupportedMediaType,
        format!("the request body must be JSON with Content-Type: application/json; got {found}"),
    )))
}

/// Parses a JSON body, naming the path of the first bad field; anything after the value but
/// whitespace is an error. The body must be a JSON object (every request type is one; serde
/// alone would also read a struct from an array, field by field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(ApiError(Error::invalid("the request body is empty; a JSON object is required")));
    };
    if *first != b'{' {
        return Err(ApiError(Error::invalid(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => "the request body must be a JSON object".to_owned(),
            Err(e) => format!("the request body is not valid JSON: {e}"),
        })));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("the request body is not valid JSON: {inner}")
        } else if path == "." {
            format!("invalid request body: {inner}")
        } else {
            format!("invalid value for '{path}': {inner}")
        };
        let param = (path != ".").then_some(path);
        let err = Error::invalid(message);
        ApiError(match param {
            Some(p) => err.with_param(p),
            None => err,
        })
    })?;
    de.end()
        .map_err(|e| ApiError(Error::invalid(format!("the request body is not valid JSON: {e}"))))?;
    Ok(value)
}

/// The request's context: the caller's provider data (per-request credentials and the like)
/// and, with authentication on, the caller the edge authenticated.
pub struct Ctx(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Self::provider_data(parts)?;
        Ok(Ctx(match parts.extensions.get::<Arc<Caller>>() {
            Some(caller) => ctx.with_caller(caller.clone()),
            None => ctx,
        }))
    }
}

impl Ctx {
    fn provider_data(parts: &Parts) -> Result<RequestContext, ApiError> {
        let Some(raw) = parts.headers.get(PROVIDER_DATA_HEADER) else {
            return Ok(RequestContext::default());
        };
        let parsed: Value = raw
            .to_str()
            .ok()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| ApiError(Error::invalid("X-LlamaStack-Provider-Data must be a JSON object")))?;
        match parsed {
            Value::Object(map) => Ok(RequestContext::new(map)),
            _ => Err(ApiError(Error::invalid("X-LlamaStack-Provider-Data must be a JSON object"))),
        }
    }
}

/// Query parameters; a problem is a 400 in the usual error shape (not axum's plain text).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(t)| ApiQuery(t))
            .map_err(|e| ApiError(Error::invalid(format!("invalid query parameters: {}", e.body_text()))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_type(value: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(header::CONTENT_TYPE, v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn json_content_types() {
        for ok in ["application/json", "application/json;charset=UTF-8", "APPLICATION/JSON", "application/merge-patch+json"] {
            assert!(check_json_content_type(&with_type(Some(ok))).is_ok(), "{ok}");
        }
        for bad in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), Some("application/jsonx"), Some("+json"), Some("application/+json")] {
            let e = check_json_content_type(&with_type(bad)).unwrap_err();
            assert_eq!(e.0.kind(), ErrorKind::UnsupportedMediaType, "{bad:?}");
        }
    }

    #[test]
    fn nothing_but_whitespace_may_follow_the_value() {
        assert!(parse_json::<Value>(b"{\"a\":1}\n ").is_ok());
        let e = parse_json::<Value>(b"{\"a\":1} xyz").unwrap_err();
        assert!(e.0.message().contains("trailing characters"), "{}", e.0.message());
        assert!(parse_json::<Value>(b"{\"a\":1}{\"b\":2}").is_err());
    }

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default)]
        #[allow(dead_code)]
        name: Option<String>,
    }

    fn message(bytes: &[u8]) -> String {
        parse_json::<Body>(bytes).unwrap_err().0.to_string()
    }

    #[test]
    fn only_an_object_is_a_body() {
        assert!(parse_json::<Body>(b" {\"name\": \"a\"}").is_ok());
        assert!(message(b"[null]").contains("must be a JSON object"), "serde would read a struct from an array");
        assert!(message(b"null").contains("must be a JSON object"));
        assert!(message(b"nope").contains("not valid JSON"));
        assert!(message(b" \n").contains("empty"));
    }
}
