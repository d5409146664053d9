//! `lls-mock-watsonx`: the test kit's mock of IBM watsonx.ai and the IBM Cloud IAM token
//! service (`lls_testkit::WatsonxMock`) as a process, for the e2e suite's `remote::watsonx` and
//! `scripts/watsonx-mock-compat.sh` (the official `ibm-watsonx-ai` SDK). Never for production use.

use std::time::Duration;

use clap::Parser;
use lls_testkit::WatsonxMock;

/// Serve watsonx.ai (`/ml/v1/...`) and IAM (`/identity/token`) on one port.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-watsonx", version)]
struct Args {
    /// An API key IAM exchanges for tokens (repeatable).
    #[arg(long = "api-key", env = "LLS_MOCK_WATSONX_API_KEY", default_values_t = ["wx-test-key".to_owned()])]
    api_keys: Vec<String>,
    /// The one project id watsonx.ai calls may name.
    #[arg(long, env = "LLS_MOCK_WATSONX_PROJECT_ID", default_value = "wx-test-project")]
    project_id: String,
    /// How long issued tokens live, in seconds.
    #[arg(long, env = "LLS_MOCK_WATSONX_TOKEN_TTL", default_value_t = 3600)]
    token_ttl: u64,
    /// The port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, env = "LLS_MOCK_WATSONX_PORT", default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut builder = WatsonxMock::builder()
        .project_id(&args.project_id)
        .token_ttl(Duration::from_secs(args.token_ttl))
        .port(args.port);
    for (i, key) in args.api_keys.iter().enumerate() {
        builder = if i == 0 { builder.api_key(key) } else { builder.also_api_key(key) };
    }
    let mock = builder.start().await?;
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-watsonx listening on {}", mock.url());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
