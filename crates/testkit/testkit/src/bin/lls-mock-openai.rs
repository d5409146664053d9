//! `lls-mock-openai`: the deterministic OpenAI-compatible mock as a standalone server, the
//! backend of benchmarks. It records and logs nothing, so it costs next to nothing per request.

use clap::Parser;
use lls_testkit::mock_openai::{MockConfig, serve};
use tokio::net::TcpListener;

/// Serve the deterministic OpenAI-compatible mock.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-openai", version)]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// Require `Authorization: Bearer <KEY>`.
    #[arg(long, env = "LLS_MOCK_OPENAI_API_KEY")]
    api_key: Option<String>,
    /// Models to list, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "mock-llm,mock-embed")]
    models: Vec<String>,
    /// Answer 404 for models not in --models.
    #[arg(long)]
    strict_models: bool,
    /// Embedding length when a request names no `dimensions`.
    #[arg(long, default_value_t = lls_fake_model::embedding::DEFAULT_DIMENSION)]
    embedding_dimension: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let config = MockConfig {
        models: args.models,
        strict_models: args.strict_models,
        api_key: args.api_key,
        embedding_dimension: args.embedding_dimension,
        record_requests: false,
    };
    // The one line a benchmark script reads to learn the port.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-openai listening on http://{addr}/v1");
    }
    serve(listener, config).await?;
    Ok(())
}
