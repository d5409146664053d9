//! The `llama-stack` command line, shared by every distribution binary:
//! `run [CONFIG] [--port] [--host] [--env K=V]`, `validate CONFIG`, `list-providers [API]`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use lls_api_common::provider::descriptors;
use lls_config::RunConfig;

/// What a distribution binary brings: its name and its default run.yaml.
#[derive(Debug, Clone, Copy)]
pub struct Distribution {
    pub name: &'static str,
    pub default_run_yaml: &'static str,
}

#[derive(Parser, Debug)]
#[command(name = "llama-stack", version, about = "Llama Stack server (llama-stack-rs)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the server with a run.yaml (default: this distribution's embedded run.yaml).
    Run {
        config: Option<PathBuf>,
        /// Port to listen on (default: $LLAMA_STACK_PORT, server.port, then 8321).
        #[arg(long)]
        port: Option<u16>,
        /// Address to bind (default: server.host, then 0.0.0.0).
        #[arg(long)]
        host: Option<IpAddr>,
        /// Environment variables for ${env.X} substitution, as KEY=VALUE (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
    /// Check a run.yaml without starting anything (no I/O beyond reading the file).
    Validate {
        config: Option<PathBuf>,
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
    /// List the providers linked into this binary.
    ListProviders {
        /// Only this API (e.g. inference).
        api: Option<String>,
    },
    /// Print this distribution's default run.yaml.
    PrintConfig,
}

/// Entry point of a distribution binary.
pub fn main(dist: Distribution) -> ExitCode {
    let cli = Cli::parse();
    match run(dist, cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(dist: Distribution, cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Run { config, port, host, env } => {
            init_tracing();
            let config = load(dist, config.as_ref(), &env)?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(serve(config, port, host))
        }
        Command::Validate { config, env } => {
            let config = load(dist, config.as_ref(), &env)?;
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{}: OK ({} providers)", config.image_name, config.providers.values().map(Vec::len).sum::<usize>());
            Ok(())
        }
        Command::ListProviders { api } => {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{:<14} {:<36} DESCRIPTION", "API", "PROVIDER TYPE");
            for d in descriptors() {
                if api.as_deref().is_none_or(|a| a == d.api.as_str()) {
                    let _ = writeln!(out, "{:<14} {:<36} {}", d.api.as_str(), d.provider_type, d.description);
                }
            }
            Ok(())
        }
        Command::PrintConfig => {
            let _ = write!(std::io::stdout(), "{}", dist.default_run_yaml);
            Ok(())
        }
    }
}

/// Reads, expands, parses and validates a run.yaml, including every provider's config.
fn load(dist: Distribution, path: Option<&PathBuf>, env: &[String]) -> Result<RunConfig, String> {
    let overrides = parse_env(env)?;
    let lookup = move |name: &str| overrides.get(name).cloned().or_else(|| lls_config::process_env(name));
    let (text, origin) = match path {
        Some(p) => (std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?, p.display().to_string()),
        None => (dist.default_run_yaml.to_owned(), format!("the embedded {} run.yaml", dist.name)),
    };
    let config = RunConfig::from_yaml_str(&text, &lookup).map_err(|e| format!("{origin}:\n{e}"))?;
    config.validate().map_err(|e| format!("{origin}:\n{e}"))?;
    lls_registry::check_provider_configs(&config).map_err(|problems| format!("{origin}:\n{}", problems.join("\n")))?;
    if let Some(policy) = config.server.cors.as_ref().and_then(|c| c.policy()) {
        lls_server::edge::cors::check(&policy).map_err(|e| format!("{origin}:\n{e}"))?;
    }
    for key in &config.ignored_keys {
        tracing::warn!("{origin}: ignoring unknown top-level key '{key}' (0.2.x keys moved under storage/registered_resources)");
    }
    Ok(config)
}

fn parse_env(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("--env expects KEY=VALUE, got '{p}'"))
        })
        .collect()
}

async fn serve(config: RunConfig, port: Option<u16>, host: Option<IpAddr>) -> Result<(), String> {
    let port = port
        .or_else(|| std::env::var("LLAMA_STACK_PORT").ok().and_then(|p| p.parse().ok()))
        .unwrap_or(config.server.port);
    let host = match (host, &config.server.host) {
        (Some(h), _) => h,
        (None, Some(h)) => h.parse().map_err(|e| format!("server.host: '{h}' is not an IP address: {e}"))?,
        (None, None) => IpAddr::from([0, 0, 0, 0]),
    };
    let tls = match (&config.server.tls_certfile, &config.server.tls_keyfile) {
        (Some(c), Some(k)) => {
            Some(lls_server::TlsFiles { certfile: c.clone(), keyfile: k.clone(), cafile: config.server.tls_cafile.clone() })
        }
        _ => None,
    };
    let limits = config.server.limits();
    // Background work gets the same grace period as in-flight requests.
    let grace = limits.shutdown_grace_period;
    // Bind before building the stack, so a busy port fails at once.
    let options = lls_server::ServeOptions { addr: SocketAddr::new(host, port), tls, limits };
    let server = lls_server::Server::bind(options).await.map_err(|e| e.to_string())?;
    // run.yaml `telemetry.enabled`: spans go to the OTEL_EXPORTER_OTLP_* collector from here on.
    let traces = lls_telemetry::global().filter(|_| config.telemetry.as_ref().is_some_and(|t| t.enabled));
    if let Some(traces) = traces {
        traces.enable_otlp_from_env().map_err(|e| format!("telemetry: {e}"))?;
    }
    let started = std::time::Instant::now();
    let stack = Arc::new(lls_registry::Stack::build(config).await.map_err(|e| e.to_string())?);
    tracing::info!("stack ready in {:?}", started.elapsed());
    let app = match lls_server::app_with(stack.clone(), &server.shutdown()) {
        Ok(app) => app,
        Err(e) => {
            stack.shutdown(grace).await;
            return Err(e.to_string());
        }
    };
    let served = server.run_until_signal(app).await.map_err(|e| e.to_string());
    stack.shutdown(grace).await;
    if let Some(traces) = traces {
        // Sends the spans still queued; the exporter's I/O runs on this runtime.
        let _ = tokio::task::spawn_blocking(|| traces.shutdown()).await;
    }
    served
}

fn init_tracing() {
    // Colour only for a person at a terminal (lls-telemetry checks stderr and NO_COLOR).
    lls_telemetry::init(lls_telemetry::LogFormat::Text);
}
