//! The HTTP side of both MCP transports: rmcp's `SseClient` and `StreamableHttpClient` over the
//! provider's one pooled `reqwest::Client`, adding the caller's per-endpoint headers (from
//! `mcp_headers`) to every request. rmcp's own reqwest glue can only add a bearer token.

use std::borrow::Cow;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use http::Uri;
use lls_api_common::OutboundPolicy;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{RequestBuilder, Response, StatusCode};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::sse_client::{SseClient, SseTransportError};
use rmcp::transport::streamable_http_client::{StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse};
use sse_stream::{Error as SseError, Sse, SseStream};

const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";
const SESSION_ID: &str = "mcp-session-id";
const LAST_EVENT_ID: &str = "last-event-id";

/// The pooled client plus the headers one request's caller gave for this endpoint, and the
/// outbound policy (for the message endpoint an SSE server names, which may be another host).
#[derive(Clone, Debug)]
pub(crate) struct HeaderedClient {
    client: reqwest::Client,
    headers: Arc<HeaderMap>,
    outbound: Arc<OutboundPolicy>,
}

impl HeaderedClient {
    /// A client for one session, made in the call's span: the call's W3C `traceparent` goes with
    /// every request of the session (the transport sends them from its own task, outside it).
    pub(crate) fn new(client: reqwest::Client, mut headers: HeaderMap, outbound: Arc<OutboundPolicy>) -> Self {
        headers.extend(lls_trace_context::headers());
        HeaderedClient { client, headers: Arc::new(headers), outbound }
    }

    fn with_headers(&self, mut request: RequestBuilder, bearer: Option<String>) -> RequestBuilder {
        request = request.headers((*self.headers).clone());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request
    }
}

fn content_type(response: &Response) -> Option<String> {
    response.headers().get(CONTENT_TYPE).map(|ct| String::from_utf8_lossy(ct.as_bytes()).into_owned())
}

fn sse_body(response: Response) -> BoxStream<'static, Result<Sse, SseError>> {
    SseStream::from_bytes_stream(response.bytes_stream()).boxed()
}

impl SseClient for HeaderedClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Uri,
        message: ClientJsonRpcMessage,
        bearer: Option<String>,
    ) -> Result<(), SseTransportError<reqwest::Error>> {
        // Names are checked by the client's resolver; an IP literal is checked here.
        if let Some(host) = uri.host()
            && let Err(e) = self.outbound.check_host(host)
        {
            return Err(SseTransportError::Io(std::io::Error::other(e.message().to_owned())));
        }
        let request = self.with_headers(self.client.post(uri.to_string()), bearer).json(&message);
        let response = request.send().await.map_err(SseTransportError::Client)?;
        response.error_for_status().map(drop).map_err(SseTransportError::Client)
    }

    async fn get_stream(
        &self,
        uri: Uri,
        last_event_id: Option<String>,
        bearer: Option<String>,
    ) -> Result<BoxedSseResponse, SseTransportError<reqwest::Error>> {
        let mut request = self.with_headers(self.client.get(uri.to_string()), bearer).header(ACCEPT, EVENT_STREAM);
        if let Some(id) = last_event_id {
            request = request.header(LAST_EVENT_ID, id);
        }
        let response = request.send().await.map_err(SseTransportError::Client)?;
        let response = response.error_for_status().map_err(SseTransportError::Client)?;
        match content_type(&response) {
            Some(ct) if ct.starts_with(EVENT_STREAM) => Ok(sse_body(response)),
            other => Err(SseTransportError::UnexpectedContentType(other)),
        }
    }
}

impl StreamableHttpClient for HeaderedClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        bearer: Option<String>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>> {
        let mut request = self
            .with_headers(self.client.post(uri.as_ref()), bearer)
            .header(ACCEPT, format!("{EVENT_STREAM}, {JSON}"))
            .json(&message);
        if let Some(session) = session_id {
            request = request.header(SESSION_ID, session.as_ref());
        }
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        let response = response.error_for_status().map_err(StreamableHttpError::Client)?;
        if matches!(response.status(), StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        let session = response.headers().get(SESSION_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
        match content_type(&response) {
            Some(ct) if ct.starts_with(EVENT_STREAM) => Ok(StreamableHttpPostResponse::Sse(sse_body(response), session)),
            Some(ct) if ct.starts_with(JSON) => {
                let message: ServerJsonRpcMessage = response.json().await.map_err(StreamableHttpError::Client)?;
                Ok(StreamableHttpPostResponse::Json(message, session))
            }
            other => Err(StreamableHttpError::UnexpectedContentType(other)),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        bearer: Option<String>,
    ) -> Result<(), StreamableHttpError<reqwest::Error>> {
        let request = self.with_headers(self.client.delete(uri.as_ref()), bearer).header(SESSION_ID, session_id.as_ref());
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        // Servers that keep no sessions refuse DELETE; there is nothing to clean up then.
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(());
        }
        response.error_for_status().map(drop).map_err(StreamableHttpError::Client)
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        last_event_id: Option<String>,
        bearer: Option<String>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<reqwest::Error>> {
        let mut request = self
            .with_headers(self.client.get(uri.as_ref()), bearer)
            .header(ACCEPT, format!("{EVENT_STREAM}, {JSON}"))
            .header(SESSION_ID, session_id.as_ref());
        if let Some(id) = last_event_id {
            request = request.header(LAST_EVENT_ID, id);
        }
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        let response = response.error_for_status().map_err(StreamableHttpError::Client)?;
        match content_type(&response) {
            Some(ct) if ct.starts_with(EVENT_STREAM) || ct.starts_with(JSON) => Ok(sse_body(response)),
            other => Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "unexpected content type {other:?} on the server's event stream"
            )))),
        }
    }
}
