//! `lls-mock-websearch`: the test kit's mock of the Tavily and Brave search APIs
//! (`lls_testkit::WebSearchMock`) as a process, for the e2e and conformance suites'
//! `remote::tavily-search` and `remote::brave-search` providers. Never for production use.

use clap::Parser;
use lls_testkit::WebSearchMock;

/// Serve Tavily at `/search` and Brave at `/res/v1/web/search` on one port.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-websearch", version)]
struct Args {
    /// The one API key both APIs accept.
    #[arg(
        long,
        env = "LLS_MOCK_WEBSEARCH_API_KEY",
        default_value = "mock-websearch-key"
    )]
    api_key: String,
    /// The port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, env = "LLS_MOCK_WEBSEARCH_PORT", default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mock = WebSearchMock::start_on(&args.api_key, args.port).await?;
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-websearch listening on {}", mock.url());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
