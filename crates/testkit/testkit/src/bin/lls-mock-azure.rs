//! `lls-mock-azure`: the test kit's mock of Azure OpenAI (`lls_testkit::AzureMock`) as a
//! process, for the e2e suite's `remote::azure` provider and the `openai.AzureOpenAI` checks.
//! Never for production use.

use clap::Parser;
use lls_testkit::AzureMock;

/// Serve one Azure OpenAI resource on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-azure", version)]
struct Args {
    /// The resource's one API key.
    #[arg(long, env = "LLS_MOCK_AZURE_API_KEY", default_value = "mock-azure-key")]
    api_key: String,
    /// A deployment (repeatable); names containing `embed` are embedding deployments.
    #[arg(long = "deployment", default_values_t = ["gpt-4o".to_owned(), "text-embedding-3-small".to_owned()])]
    deployments: Vec<String>,
    /// The length of embeddings.
    #[arg(long, default_value_t = 1536)]
    embedding_dimension: usize,
    /// The port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, env = "LLS_MOCK_AZURE_PORT", default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let deployments: Vec<&str> = args.deployments.iter().map(String::as_str).collect();
    let mock = AzureMock::start_on(&args.api_key, &deployments, args.embedding_dimension, args.port).await?;
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-azure listening on {}", mock.endpoint());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
