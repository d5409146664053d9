//! `lls-mock-fms`: the test kit's mock of the FMS guardrails detector and orchestrator APIs
//! (`lls_testkit::FmsMock`) as a process, for the e2e suite's `remote::trustyai_fms` shields.
//! Never for production use.

use clap::Parser;
use lls_testkit::{FmsMock, Trigger};

/// Serve the detector and orchestrator APIs with keyword detectors.
#[derive(Debug, Parser)]
#[command(name = "lls-mock-fms", version)]
struct Args {
    /// A detector id the APIs accept (repeatable).
    #[arg(long = "detector", default_values_t = ["hap".to_owned()])]
    detectors: Vec<String>,
    /// `word:detection_type:score`, a word every detector flags (repeatable).
    #[arg(long = "trigger", default_values_t = ["kidnap:HAP:0.98".to_owned()])]
    triggers: Vec<String>,
}

fn trigger(spec: &str) -> anyhow::Result<Trigger> {
    let mut parts = spec.rsplitn(3, ':');
    let (Some(score), Some(kind), Some(word)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("--trigger {spec:?}: want word:detection_type:score");
    };
    Ok(Trigger::new(word, kind, score.parse()?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let triggers = args
        .triggers
        .iter()
        .map(|t| trigger(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let detectors: Vec<&str> = args.detectors.iter().map(String::as_str).collect();
    let mock = FmsMock::start(&detectors, triggers).await?;
    // The line a test reads to learn the address.
    #[allow(clippy::print_stdout)]
    {
        println!("lls-mock-fms listening on {}", mock.url());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
