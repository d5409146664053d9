//! MCP failures → our error kinds: the only place that knows how rmcp and reqwest report
//! an unreachable server, an HTTP status, a timeout or a JSON-RPC error.

use std::error::Error as StdError;

use lls_api_common::{Error, ErrorKind};
use reqwest::StatusCode;
use rmcp::ServiceError;
use rmcp::model::ErrorCode;
use rmcp::service::ClientInitializeError;
use rmcp::transport::DynamicTransportError;
use rmcp::transport::sse_client::SseTransportError;
use rmcp::transport::streamable_http_client::StreamableHttpError;

/// Why talking to an MCP server failed, in the terms transport fallback and error mapping need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server answered with an HTTP error status.
    Status(StatusCode),
    /// No connection could be made (refused, DNS, TLS).
    Connect(String),
    Timeout,
    /// The server answered, but not as an MCP server of this transport does.
    Protocol(String),
}

impl Failure {
    /// 401: the caller must supply credentials; trying the other transport will not help.
    pub(crate) fn needs_credentials(&self) -> bool {
        *self == Failure::Status(StatusCode::UNAUTHORIZED)
    }

    /// The error a client sees, naming the endpoint.
    pub(crate) fn into_error(self, endpoint: &str) -> Error {
        match self {
            Failure::Status(StatusCode::UNAUTHORIZED) => Error::new(
                ErrorKind::Unauthenticated,
                format!(
                    "Authentication required: the MCP server at {endpoint} answered 401 Unauthorized; send its \
                     credentials in the X-LlamaStack-Provider-Data header as \
                     {{\"mcp_headers\": {{\"{endpoint}\": {{\"Authorization\": \"Bearer <token>\"}}}}}}"
                ),
            ),
            Failure::Status(status) => {
                let kind = match status {
                    StatusCode::FORBIDDEN => ErrorKind::Forbidden,
                    StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited,
                    _ => ErrorKind::UpstreamError,
                };
                Error::new(kind, format!("the MCP server at {endpoint} answered HTTP {status}")).with_upstream_status(status.as_u16())
            }
            Failure::Connect(detail) => {
                Error::new(ErrorKind::UpstreamUnavailable, format!("Failed to connect to MCP server at {endpoint}: {detail}"))
            }
            Failure::Timeout => Error::new(ErrorKind::Timeout, format!("MCP server at {endpoint} timed out")),
            Failure::Protocol(detail) => {
                Error::new(ErrorKind::UpstreamError, format!("MCP server at {endpoint} failed: {detail}"))
            }
        }
    }
}

/// The innermost message of an error chain ("Connection refused" rather than "error sending request").
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn from_reqwest(e: &reqwest::Error) -> Failure {
    if let Some(status) = e.status() {
        Failure::Status(status)
    } else if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        Failure::Connect(root_cause(e))
    } else {
        Failure::Protocol(root_cause(e))
    }
}

/// Classifies an error from either transport, looking through rmcp's wrappers.
pub(crate) fn classify(e: &(dyn StdError + 'static)) -> Failure {
    if let Some(r) = e.downcast_ref::<reqwest::Error>() {
        return from_reqwest(r);
    }
    if let Some(SseTransportError::Client(r)) = e.downcast_ref::<SseTransportError<reqwest::Error>>() {
        return from_reqwest(r);
    }
    if let Some(StreamableHttpError::Client(r)) = e.downcast_ref::<StreamableHttpError<reqwest::Error>>() {
        return from_reqwest(r);
    }
    if let Some(d) = e.downcast_ref::<DynamicTransportError>() {
        return classify(d.error.as_ref());
    }
    if let Some(ClientInitializeError::TransportError { error, .. }) = e.downcast_ref::<ClientInitializeError>() {
        return classify(error.error.as_ref());
    }
    if let Some(ServiceError::TransportSend(d)) = e.downcast_ref::<ServiceError>() {
        return classify(d.error.as_ref());
    }
    if let Some(ServiceError::Timeout { .. }) = e.downcast_ref::<ServiceError>() {
        return Failure::Timeout;
    }
    Failure::Protocol(e.to_string())
}

/// A failed request on an open session: a JSON-RPC error the server chose to send, or a
/// transport failure.
pub(crate) fn from_service(e: ServiceError, endpoint: &str, what: &str) -> Error {
    match e {
        ServiceError::McpError(data) => {
            let kind = match data.code {
                ErrorCode::INVALID_PARAMS | ErrorCode::INVALID_REQUEST => ErrorKind::InvalidRequest,
                ErrorCode::METHOD_NOT_FOUND => ErrorKind::Unsupported,
                ErrorCode::RESOURCE_NOT_FOUND => ErrorKind::NotFound,
                _ => ErrorKind::UpstreamError,
            };
            Error::new(kind, format!("the MCP server at {endpoint} refused {what}: {} (code {})", data.message, data.code.0))
        }
        other => classify(&other).into_error(endpoint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_kinds_and_name_the_endpoint() {
        let e = Failure::Status(StatusCode::UNAUTHORIZED).into_error("http://h/sse");
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(e.message().contains("Unauthorized") && e.message().contains("http://h/sse"), "{e}");
        assert_eq!(Failure::Status(StatusCode::FORBIDDEN).into_error("u").kind(), ErrorKind::Forbidden);
        assert_eq!(Failure::Status(StatusCode::TOO_MANY_REQUESTS).into_error("u").kind(), ErrorKind::RateLimited);
        let e = Failure::Status(StatusCode::INTERNAL_SERVER_ERROR).into_error("u");
        assert_eq!((e.kind(), e.upstream_status()), (ErrorKind::UpstreamError, Some(500)));
        let e = Failure::Connect("Connection refused".into()).into_error("http://h/sse");
        assert_eq!(e.kind(), ErrorKind::UpstreamUnavailable);
        assert!(e.message().contains("http://h/sse") && e.message().contains("Connection refused"), "{e}");
        assert_eq!(Failure::Timeout.into_error("u").kind(), ErrorKind::Timeout);
        assert!(Failure::Status(StatusCode::UNAUTHORIZED).needs_credentials());
        assert!(!Failure::Status(StatusCode::METHOD_NOT_ALLOWED).needs_credentials());
    }

    #[test]
    fn json_rpc_errors_become_kinds() {
        let invalid = ServiceError::McpError(rmcp::ErrorData::invalid_params("tool not found: x", None));
        let e = from_service(invalid, "u", "the call to 'x'");
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("tool not found: x"), "{e}");
        let internal = ServiceError::McpError(rmcp::ErrorData::internal_error("boom", None));
        assert_eq!(from_service(internal, "u", "x").kind(), ErrorKind::UpstreamError);
        assert_eq!(from_service(ServiceError::TransportClosed, "u", "x").kind(), ErrorKind::UpstreamError);
    }
}
