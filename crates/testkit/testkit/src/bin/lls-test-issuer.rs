//! `lls-test-issuer`: a JWT issuer for the e2e suite's `server.auth` tests. Generates an RS256
//! and an ES256 key at start and serves their JWKS (`GET /jwks`), plus test-only `POST /mint`
//! and `POST /rotate` (see `lls_testkit::issuers::TokenMint`). Never for production use.

use clap::Parser;
use lls_testkit::issuers::TokenMint;
use tokio::net::TcpListener;

/// Serve a JWKS and mint tokens signed with its keys.
#[derive(Debug, Parser)]
#[command(name = "lls-test-issuer", version)]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The `iss` of minted tokens (default: `http://HOST:PORT`, the address bound).
    #[arg(long)]
    issuer: Option<String>,
    /// The `aud` of minted tokens.
    #[arg(long, default_value = "llama-stack")]
    audience: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let issuer = args.issuer.unwrap_or_else(|| format!("http://{addr}"));
    let mint = TokenMint::new(&issuer, &args.audience)?;
    // The line a test reads to learn the port (the keys exist by then).
    #[allow(clippy::print_stdout)]
    {
        println!(
            "lls-test-issuer listening on http://{addr} (issuer {issuer}, JWKS http://{addr}/jwks)"
        );
    }
    axum::serve(listener, mint.router()).await?;
    Ok(())
}
