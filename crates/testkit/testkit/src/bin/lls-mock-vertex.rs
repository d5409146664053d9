//! `lls-mock-vertex`: the test kit's mock of Google Vertex AI and Google's OAuth token
//! endpoint (`lls_testkit::VertexMock`) as a process, for the e2e suite's `remote::vertexai`
//! provider and the `google-auth`/`openai` compatibility check. It writes its service
//! account's key file where told. Never for production use.

use std::time::Duration;

use clap::Parser;
use lls_testkit::VertexMock;

/// Serve one Vertex AI project on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-vertex", version)]
struct Args {
    /// The project served.
    #[arg(long, default_value = "vertex-test-project")]
    project: String,
    /// The location served (besides `global`).
    #[arg(long, default_value = "us-central1")]
    location: String,
    /// Where to write the service account's key file (JSON, as the Cloud console gives it).
    #[arg(long)]
    key_file: std::path::PathBuf,
    /// Where to write an authorized-user credentials file, if anywhere.
    #[arg(long)]
    user_file: Option<std::path::PathBuf>,
    /// How long issued tokens live, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_s: u64,
    /// The port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mock = VertexMock::builder()
        .project(&args.project)
        .location(&args.location)
        .token_ttl(Duration::from_secs(args.token_ttl_s))
        .port(args.port)
        .start()
        .await?;
    std::fs::write(&args.key_file, serde_json::to_vec_pretty(&mock.service_account())?)?;
    if let Some(path) = &args.user_file {
        std::fs::write(path, serde_json::to_vec_pretty(&mock.authorized_user())?)?;
    }
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-vertex listening on {}", mock.endpoint());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
