//! One MCP session per operation, as upstream opens them: connect with streamable HTTP first
//! and fall back to SSE (or the other way round when SSE is what worked for this endpoint
//! within the last hour), initialize, run the request, close in the background.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lls_api_common::{Error, ErrorKind, OutboundPolicy, Result, Tasks};
use parking_lot::Mutex;
use reqwest::header::HeaderMap;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParam, CallToolResult, ClientInfo, Implementation, JsonObject, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::common::client_side_sse::NeverRetry;
use rmcp::transport::sse_client::SseClientConfig;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{SseClientTransport, StreamableHttpClientTransport};

use crate::error::{Failure, classify, from_service};
use crate::http::HeaderedClient;
use crate::outbound::{PolicyResolver, redirect_policy};

/// How long a transport that worked is tried first for its endpoint (upstream's TTL).
const TRANSPORT_MEMORY: Duration = Duration::from_secs(3600);
/// Longest a TCP (and TLS) connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest closing a session may take in the background (the server times it out anyway).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The two ways to speak MCP over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpTransport {
    StreamableHttp,
    Sse,
}

impl McpTransport {
    fn as_str(self) -> &'static str {
        match self {
            McpTransport::StreamableHttp => "streamable HTTP",
            McpTransport::Sse => "SSE",
        }
    }
}

type Session = RunningService<RoleClient, ClientInfo>;

/// The provider's pooled HTTP client and what it learned about each endpoint.
#[derive(Debug)]
pub(crate) struct McpClient {
    http: reqwest::Client,
    timeout: Duration,
    transports: Mutex<HashMap<String, (McpTransport, Instant)>>,
    /// Supervises the background closing of sessions.
    tasks: Tasks,
    outbound: Arc<OutboundPolicy>,
}

fn client_info() -> ClientInfo {
    ClientInfo {
        client_info: Implementation {
            name: "llama-stack-rs".into(),
            title: None,
            version: env!("CARGO_PKG_VERSION").into(),
            icons: None,
            website_url: None,
        },
        ..ClientInfo::default()
    }
}

impl McpClient {
    /// A client that connects only where `outbound` allows: every name is resolved through
    /// the policy, and redirects to refused hosts are not followed.
    pub(crate) fn new(timeout: Duration, tasks: Tasks, outbound: Arc<OutboundPolicy>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(PolicyResolver(outbound.clone())))
            .redirect(redirect_policy(outbound.clone()))
            .build()
            .map_err(|e| Error::internal(format!("could not build the MCP HTTP client: {e}")))?;
        Ok(McpClient { http, timeout, transports: Mutex::new(HashMap::new()), tasks, outbound })
    }

    /// The transport that last worked for `endpoint`, if within the last hour.
    pub(crate) fn remembered(&self, endpoint: &str) -> Option<McpTransport> {
        let mut memory = self.transports.lock();
        match memory.get(endpoint) {
            Some((t, at)) if at.elapsed() < TRANSPORT_MEMORY => Some(*t),
            Some(_) => {
                memory.remove(endpoint);
                None
            }
            None => None,
        }
    }

    fn remember(&self, endpoint: &str, transport: McpTransport) {
        self.transports.lock().insert(endpoint.to_owned(), (transport, Instant::now()));
    }

    /// Every tool of the server, following `tools/list` cursors.
    pub(crate) async fn list_tools(&self, endpoint: &str, headers: HeaderMap) -> Result<Vec<Tool>> {
        self.bounded(endpoint, async {
            let session = self.connect(endpoint, headers).await?;
            let tools = session.list_all_tools().await.map_err(|e| from_service(e, endpoint, "tools/list"));
            self.close(session);
            tools
        })
        .await
    }

    pub(crate) async fn call_tool(&self, endpoint: &str, headers: HeaderMap, name: &str, arguments: JsonObject) -> Result<CallToolResult> {
        let params = CallToolRequestParam { name: name.to_owned().into(), arguments: Some(arguments) };
        self.bounded(endpoint, async {
            let session = self.connect(endpoint, headers).await?;
            let result = session.call_tool(params).await.map_err(|e| from_service(e, endpoint, &format!("the call to '{name}'")));
            self.close(session);
            result
        })
        .await
    }

    /// Runs `work` within the configured timeout; a session still open when it fires is dropped,
    /// which cancels it.
    async fn bounded<T>(&self, endpoint: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.timeout, work).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("MCP server at {endpoint} did not answer within {} s", self.timeout.as_secs()),
            )
        })?
    }

    /// Ends a session in the background (for streamable HTTP this deletes it on the server),
    /// under the provider's supervisor, so shutdown waits for it; given up after a few seconds
    /// (within shutdown's grace period).
    fn close(&self, session: Session) {
        self.tasks.spawn("close an MCP session", async move {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, session.cancel()).await;
        });
    }

    async fn connect(&self, endpoint: &str, headers: HeaderMap) -> Result<Session> {
        let order = match self.remembered(endpoint) {
            Some(McpTransport::Sse) => [McpTransport::Sse, McpTransport::StreamableHttp],
            _ => [McpTransport::StreamableHttp, McpTransport::Sse],
        };
        let client = HeaderedClient::new(self.http.clone(), headers, self.outbound.clone());
        let mut last = None;
        for transport in order {
            match self.open(transport, endpoint, client.clone()).await {
                Ok(session) => {
                    self.remember(endpoint, transport);
                    return Ok(session);
                }
                Err(failure) if failure.needs_credentials() => return Err(failure.into_error(endpoint)),
                Err(failure) => {
                    tracing::debug!(%endpoint, transport = transport.as_str(), ?failure, "MCP connection attempt failed");
                    last = Some(failure);
                }
            }
        }
        Err(last.unwrap_or(Failure::Protocol("no transport was tried".into())).into_error(endpoint))
    }

    async fn open(&self, transport: McpTransport, endpoint: &str, client: HeaderedClient) -> std::result::Result<Session, Failure> {
        match transport {
            McpTransport::StreamableHttp => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(endpoint);
                config.retry_config = Arc::new(NeverRetry);
                let transport = StreamableHttpClientTransport::with_client(client, config);
                client_info().serve(transport).await.map_err(|e| classify(&e))
            }
            McpTransport::Sse => {
                let config =
                    SseClientConfig { sse_endpoint: endpoint.into(), retry_policy: Arc::new(NeverRetry), use_message_endpoint: None };
                let transport = SseClientTransport::start_with_client(client, config).await.map_err(|e| classify(&e))?;
                client_info().serve(transport).await.map_err(|e| classify(&e))
            }
        }
    }
}
