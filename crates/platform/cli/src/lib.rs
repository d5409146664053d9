//! The `llama-stack` command line, shared by every distribution binary: `run [CONFIG|DISTRIBUTION]`,
//! `validate [CONFIG|DISTRIBUTION]`, `list-providers [API]`, `print-config`, `ingest DIR`.

mod check;
mod ingest;
mod startup;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, LazyLock};

use clap::{Parser, Subcommand};
use lls_api_common::Api;
use lls_api_common::provider::descriptors;
use lls_config::RunConfig;

use crate::check::Source;

/// What a distribution binary brings: its name and its default run.yaml.
#[derive(Debug, Clone, Copy)]
pub struct Distribution {
    pub name: &'static str,
    pub default_run_yaml: &'static str,
}

/// `--version`: the Llama Stack API version served (what `/v1/version` answers), then this build's
/// own version and, when it was built from a git checkout, its commit.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let commit = option_env!("LLS_GIT_COMMIT").filter(|c| !c.is_empty()).map(|c| format!(", commit {c}")).unwrap_or_default();
    format!("{} (llama-stack-rs {}{commit})", lls_server::API_VERSION, env!("CARGO_PKG_VERSION"))
});

#[derive(Parser, Debug)]
#[command(name = "llama-stack", version = VERSION.as_str(), about = "Llama Stack server (llama-stack-rs)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the server with a run.yaml, or a distribution's name for its embedded run.yaml
    /// (default: this distribution's).
    Run {
        #[arg(value_name = "CONFIG|DISTRIBUTION")]
        config: Option<String>,
        /// Port to listen on (default: $LLAMA_STACK_PORT, server.port, then 8321).
        #[arg(long)]
        port: Option<u16>,
        /// Address to bind (default: server.host, then 0.0.0.0).
        #[arg(long)]
        host: Option<IpAddr>,
        /// Environment variables for ${env.X} substitution, as KEY=VALUE (repeatable).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Log lines as text (for people) or json (one object a line, for log collectors).
        #[arg(long, value_name = "text|json", env = "LLAMA_STACK_LOG_FORMAT", default_value = "text", value_parser = parse_log_format)]
        log_format: lls_telemetry::LogFormat,
    },
    /// Check a run.yaml without starting anything (no I/O beyond reading the file): every problem
    /// and every warning `run` would log, in one pass.
    Validate {
        #[arg(value_name = "CONFIG|DISTRIBUTION")]
        config: Option<String>,
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
    /// Upload every file of a folder to a running server and index it into a vector store.
    Ingest(ingest::IngestArgs),
}

/// Entry point of a distribution binary.
pub fn main(dist: Distribution) -> ExitCode {
    let cli = Cli::parse();
    let outcome = run(dist, cli);
    // The log lines still queued for the writer thread go out before anything else is printed.
    if let Some(telemetry) = lls_telemetry::global() {
        telemetry.close_logs();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(dist: Distribution, cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Run { config, port, host, env, log_format } => {
            init_tracing(log_format);
            let source = Source::resolve(&dist, config.as_deref())?;
            let checked = check::check(&dist, &source, &env)?;
            for warning in &checked.warnings {
                tracing::warn!("{}: {warning}", checked.origin);
            }
            let config = checked.into_config()?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(serve(config, port, host))
        }
        Command::Validate { config, env } => validate(&dist, config.as_deref(), &env),
        Command::ListProviders { api } => list_providers(api.as_deref()),
        Command::PrintConfig => {
            let _ = write!(std::io::stdout(), "{}", dist.default_run_yaml);
            Ok(())
        }
        Command::Ingest(args) => ingest::run(args),
    }
}

/// `validate`: warnings, then every problem; OK only when there is none.
fn validate(dist: &Distribution, config: Option<&str>, env: &[String]) -> Result<(), String> {
    let source = Source::resolve(dist, config)?;
    let checked = check::check(dist, &source, env)?;
    let mut err = std::io::stderr();
    for warning in &checked.warnings {
        let _ = writeln!(err, "warning: {}: {warning}", checked.origin);
    }
    let origin = checked.origin.clone();
    let config = checked.into_config()?;
    let providers = config.providers.values().map(Vec::len).sum::<usize>();
    let _ = writeln!(std::io::stdout(), "{origin}: OK ({}: {providers} providers)", config.image_name);
    Ok(())
}

/// `list-providers [API]`: the providers linked into this binary; an unknown API is an error
/// naming the APIs that take providers.
fn list_providers(api: Option<&str>) -> Result<(), String> {
    let wanted = match api {
        None => None,
        Some(name) => match name.replace('-', "_").parse::<Api>() {
            Ok(api) if api.takes_providers() => Some(api),
            _ => {
                let known: Vec<&str> = Api::PROVIDER_APIS.iter().map(|a| a.as_str()).collect();
                return Err(format!("unknown API '{name}'; APIs that take providers: {}", known.join(", ")));
            }
        },
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{:<14} {:<36} DESCRIPTION", "API", "PROVIDER TYPE");
    for d in descriptors() {
        if wanted.is_none_or(|a| a == d.api) {
            let _ = writeln!(out, "{:<14} {:<36} {}", d.api.as_str(), d.provider_type, d.description);
        }
    }
    Ok(())
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
    startup::warn_unusable_providers(&stack);
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

fn parse_log_format(s: &str) -> Result<lls_telemetry::LogFormat, String> {
    s.parse::<lls_telemetry::LogFormat>().map_err(|e| e.to_string())
}

fn init_tracing(format: lls_telemetry::LogFormat) {
    // Colour only for a person at a terminal (lls-telemetry checks stderr and NO_COLOR).
    lls_telemetry::init(format);
}
