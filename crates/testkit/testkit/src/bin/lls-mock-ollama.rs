//! `lls-mock-ollama`: the test kit's mock of an Ollama server (`lls_testkit::OllamaMock`) as a
//! process, for the e2e suite's `remote::ollama` provider. Never for production use.

use clap::Parser;
use lls_testkit::OllamaMock;

/// Serve Ollama's OpenAI-compatible API (`/v1`) and its native `/api/tags`, `/api/ps`.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-ollama", version)]
struct Args {
    /// A pulled model, `name:tag` (repeatable); names containing `embed` are embedding models.
    #[arg(long = "model", default_values_t = ["llama3.2:3b".to_owned(), "nomic-embed-text:latest".to_owned()])]
    models: Vec<String>,
    /// The length of embeddings (nomic-embed-text's).
    #[arg(long, default_value_t = 768)]
    embedding_dimension: usize,
    /// The port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, env = "LLS_MOCK_OLLAMA_PORT", default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let models: Vec<&str> = args.models.iter().map(String::as_str).collect();
    let mock = OllamaMock::start_on(&models, args.embedding_dimension, args.port).await?;
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-ollama listening on {}", mock.url());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
