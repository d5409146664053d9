//! `lls-mock-bedrock`: the test kit's mock of Amazon Bedrock (`lls_testkit::BedrockMock`: SigV4
//! checked, Converse, ConverseStream, InvokeModel embeddings, ListFoundationModels) as a
//! process, for the e2e suite's `remote::bedrock` and `scripts/bedrock-mock-compat.sh` (boto3).
//! Never for production use.

use clap::Parser;
use lls_testkit::BedrockMock;
use lls_testkit::bedrock_mock::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// Serve `bedrock-runtime` and `bedrock` on one port.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-bedrock", version)]
struct Args {
    /// The access key id signatures must name.
    #[arg(long, env = "LLS_MOCK_BEDROCK_ACCESS_KEY_ID", default_value = ACCESS_KEY_ID)]
    access_key_id: String,
    /// Its secret access key.
    #[arg(long, env = "LLS_MOCK_BEDROCK_SECRET_ACCESS_KEY", default_value = SECRET_ACCESS_KEY)]
    secret_access_key: String,
    /// The region signatures must be scoped to.
    #[arg(long, env = "LLS_MOCK_BEDROCK_REGION", default_value = "us-east-1")]
    region: String,
    /// The port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, env = "LLS_MOCK_BEDROCK_PORT", default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mock = BedrockMock::builder().key(&args.access_key_id, &args.secret_access_key).region(&args.region).port(args.port).start().await?;
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-bedrock listening on {}", mock.url());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
