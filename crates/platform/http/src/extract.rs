//! Request extractors: a JSON body parsed with the path of the first bad field in the error,
//! and the per-request context from `X-LlamaStack-Provider-Data`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use lls_api_common::{Error, RequestContext};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

pub const PROVIDER_DATA_HEADER: &str = "x-llamastack-provider-data";

/// A JSON body; any problem is a 400 naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(Error::new(lls_api_common::ErrorKind::PayloadTooLarge, "request body is too large"))
            } else {
                ApiError(Error::invalid(format!("could not read the request body: {e}")))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the path of the first bad field. The body must be a JSON object
/// (every request type is one; serde alone would also read a struct from an array, field by field).
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
    serde_path_to_error::deserialize(de).map_err(|e| {
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
    })
}

/// The caller's provider data (per-request credentials and the like).
pub struct Ctx(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(raw) = parts.headers.get(PROVIDER_DATA_HEADER) else {
            return Ok(Ctx(RequestContext::default()));
        };
        let parsed: Value = raw
            .to_str()
            .ok()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| ApiError(Error::invalid("X-LlamaStack-Provider-Data must be a JSON object")))?;
        match parsed {
            Value::Object(map) => Ok(Ctx(RequestContext::new(map))),
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
