//! An in-process MCP server (the official Rust SDK, `rmcp`) for testing MCP clients over real
//! HTTP: the SSE transport at `/sse` (+ `/message`), the streamable-HTTP transport at `/mcp`,
//! an optional bearer token, paginated tool listings, and a log of the requests it received.
//!
//! ```ignore
//! let server = TestMcpServer::builder().token("secret").sse_only().start().await?;
//! // a client must send `Authorization: Bearer secret` to `server.sse_url()`
//! assert_eq!(server.hits("POST", "/sse"), 1); // a streamable-HTTP attempt was refused (405)
//! ```

pub mod tools;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use rmcp::model::{
    CallToolRequestParam, CallToolResult, Implementation, ListToolsResult, PaginatedRequestParam,
    ServerCapabilities, ServerInfo, ToolsCapability,
};
use rmcp::service::RequestContext;
use rmcp::transport::sse_server::{SseServer, SseServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The MCP service: lists [`tools::all`] `page_size` at a time and runs them with [`tools::call`].
#[derive(Clone, Debug)]
struct ToolServer {
    page_size: usize,
}

impl ServerHandler for ToolServer {
    fn get_info(&self) -> ServerInfo {
        ServerInfo {
            capabilities: ServerCapabilities {
                tools: Some(ToolsCapability::default()),
                ..Default::default()
            },
            server_info: Implementation {
                name: "lls-test-mcp".into(),
                title: None,
                version: env!("CARGO_PKG_VERSION").into(),
                icons: None,
                website_url: None,
            },
            ..Default::default()
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParam>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let all = tools::all();
        let start = match request.and_then(|r| r.cursor) {
            Some(cursor) => cursor
                .parse::<usize>()
                .map_err(|_| ErrorData::invalid_params("bad cursor", None))?,
            None => 0,
        };
        let end = (start + self.page_size).min(all.len());
        let page = all.get(start..end).map(<[_]>::to_vec).unwrap_or_default();
        Ok(ListToolsResult {
            next_cursor: (end < all.len()).then(|| end.to_string()),
            tools: page,
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParam,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        tools::call(&request.name, &request.arguments.unwrap_or_default())
    }
}

/// Which transports the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transports {
    Both,
    SseOnly,
    StreamableOnly,
}

/// Configures a [`TestMcpServer`].
#[derive(Debug, Clone)]
pub struct TestMcpServerBuilder {
    token: Option<String>,
    transports: Transports,
    page_size: usize,
}

impl TestMcpServerBuilder {
    /// Every request must carry `Authorization: Bearer <token>`; others get 401 "Unauthorized".
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Only the SSE transport, like upstream's test server: `POST /sse` answers 405.
    pub fn sse_only(mut self) -> Self {
        self.transports = Transports::SseOnly;
        self
    }

    /// Only the streamable-HTTP transport at `/mcp`.
    pub fn streamable_only(mut self) -> Self {
        self.transports = Transports::StreamableOnly;
        self
    }

    /// How many tools one `tools/list` page holds (default 3, so clients must follow cursors).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    pub async fn start(self) -> std::io::Result<TestMcpServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let ct = CancellationToken::new();
        let service = ToolServer {
            page_size: self.page_size,
        };
        let mut app = Router::new();
        if self.transports != Transports::StreamableOnly {
            let (sse, routes) = SseServer::new(SseServerConfig {
                bind: addr,
                sse_path: "/sse".into(),
                post_path: "/message".into(),
                ct: ct.clone(),
                sse_keep_alive: None,
            });
            let service = service.clone();
            sse.with_service(move || service.clone());
            app = app.merge(routes);
        }
        if self.transports != Transports::SseOnly {
            let streamable = StreamableHttpService::new(
                move || Ok(service.clone()),
                Arc::new(LocalSessionManager::default()),
                StreamableHttpServerConfig::default(),
            );
            app = app.nest_service("/mcp", streamable);
        }
        let hits = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate {
            token: self.token,
            hits: hits.clone(),
        };
        let app = app.layer(middleware::from_fn_with_state(
            Arc::new(gate),
            check_and_record,
        ));
        let stop = ct.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        Ok(TestMcpServer {
            addr,
            hits,
            ct,
            task,
        })
    }
}

/// The auth check and the request log, in front of both transports.
struct Gate {
    token: Option<String>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    /// The W3C `traceparent` header, when the caller sent one.
    pub traceparent: Option<String>,
}

async fn check_and_record(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let traceparent = request.headers().get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    gate.hits.lock().push(Hit {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        authorization: authorization.clone(),
        traceparent,
    });
    if let Some(token) = &gate.token
        && authorization.as_deref() != Some(format!("Bearer {token}").as_str())
    {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    next.run(request).await
}

/// A running MCP server on `127.0.0.1:<ephemeral port>`; stops when dropped.
#[derive(Debug)]
pub struct TestMcpServer {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    ct: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestMcpServer {
    /// Both transports, no token, three tools per page.
    pub fn builder() -> TestMcpServerBuilder {
        TestMcpServerBuilder {
            token: None,
            transports: Transports::Both,
            page_size: 3,
        }
    }

    pub async fn start() -> std::io::Result<TestMcpServer> {
        Self::builder().start().await
    }

    /// The SSE endpoint, `http://127.0.0.1:PORT/sse` (what upstream's tests register).
    pub fn sse_url(&self) -> String {
        format!("http://{}/sse", self.addr)
    }

    /// The streamable-HTTP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn streamable_url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, oldest first.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().clone()
    }

    /// How many requests had this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.hits
            .lock()
            .iter()
            .filter(|h| h.method == method && h.path == path)
            .count()
    }

    pub fn clear_hits(&self) {
        self.hits.lock().clear();
    }
}

impl Drop for TestMcpServer {
    fn drop(&mut self) {
        // SSE streams never end on their own, so a graceful shutdown would wait forever.
        self.ct.cancel();
        self.task.abort();
    }
}
