//! The process's tracing subscriber, installed once by the CLI: the log filter, the log format
//! (text or JSON) and OpenTelemetry trace export over OTLP, switched on once run.yaml is read.
//!
//! The subscriber is a `tracing_subscriber` registry with two layers. The fmt layer writes logs
//! to stderr through `tracing-appender`'s non-blocking writer: a request formats its line and
//! hands it to a writer thread, which writes whatever has queued with one buffered write, so a
//! busy server does not pay a system call per access line ([`Telemetry::close_logs`] flushes it
//! at exit; past 128k queued lines, lines are dropped rather than blocking requests). Filtered by `LLAMA_STACK_LOG` (else `RUST_LOG`, else `info`), coloured only for a
//! person at a terminal. The OpenTelemetry layer is always installed (so span context is
//! readable for `traceparent` propagation) but sees no span until [`Telemetry::enable_otlp`]
//! turns export on: while off it costs one relaxed atomic load per span callsite check.
//!
//! Spans follow OpenTelemetry's conventions through `tracing-opentelemetry`'s special fields:
//! `otel.name`, `otel.kind` (`server`, `client`, `internal`) and `otel.status_code`; other
//! fields become span attributes.

mod export;
mod format;
mod switch;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, OnceLock};
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{self, EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

pub use export::{OtlpOptions, OtlpProtocol, TelemetryError};
pub use format::LogFormat;

use switch::SwitchProcessor;

/// The installed subscriber's handle: turns OTLP export on, and flushes and stops it at the
/// end ([`Telemetry::shutdown`]; the process's handle is a static, never dropped).
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    processor: SwitchProcessor,
    exporting: Arc<AtomicBool>,
    installed: bool,
    /// Flushes the log writer thread when dropped ([`Telemetry::close_logs`]).
    log_writer: Mutex<Option<tracing_appender::non_blocking::WorkerGuard>>,
}

static GLOBAL: OnceLock<Telemetry> = OnceLock::new();

/// Installs the process-wide subscriber writing logs to stderr in `format`, once; later calls
/// return the first handle. [`Telemetry::is_installed`] is false when another subscriber was
/// already set (then nothing here logs or exports).
pub fn init(format: LogFormat) -> &'static Telemetry {
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (writer, guard) = tracing_appender::non_blocking(std::io::BufWriter::new(std::io::stderr()));
    let telemetry = init_with_writer(format, ansi, writer);
    if telemetry.installed
        && let Ok(mut slot) = telemetry.log_writer.lock()
        && slot.is_none()
    {
        *slot = Some(guard);
    }
    telemetry
}

/// [`init`] with the log writer and colour choice given, for tests that read the output.
pub fn init_with_writer<W>(format: LogFormat, ansi: bool, writer: W) -> &'static Telemetry
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    GLOBAL.get_or_init(|| {
        let (mut telemetry, otel) = Telemetry::new();
        let logs = format.layer(ansi, writer).with_filter(env_filter()).boxed();
        telemetry.installed = tracing_subscriber::registry().with(vec![otel, logs]).try_init().is_ok();
        if telemetry.installed {
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        }
        telemetry
    })
}

/// The handle [`init`] returned, if it ran.
pub fn global() -> Option<&'static Telemetry> {
    GLOBAL.get()
}

/// Whether spans are exported now: code that would do extra work only for traces (span
/// names, attributes) asks first.
pub fn exporting() -> bool {
    GLOBAL.get().is_some_and(Telemetry::is_exporting)
}

/// The span `make` builds while traces are exported, else a disabled span: for spans that
/// exist for traces only (store writes, loop steps), so frequent work creates no span, and
/// logs no span context, when nothing is exported.
pub fn span_if_exporting(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    if exporting() { make() } else { tracing::Span::none() }
}

/// The log filter: `LLAMA_STACK_LOG`, else `RUST_LOG`, else `info`.
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_env("LLAMA_STACK_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

type OtelLayer = Box<dyn Layer<Registry> + Send + Sync>;

impl Telemetry {
    /// A handle and the OpenTelemetry layer it drives, for a subscriber built elsewhere.
    fn new() -> (Telemetry, OtelLayer) {
        let processor = SwitchProcessor::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor.clone())
            .with_resource(export::resource())
            .build();
        let exporting = Arc::new(AtomicBool::new(false));
        let gate = exporting.clone();
        // Spans at INFO and above are exported; events (logs) reach traces from WARN up, as
        // span events, so a debug log filter does not flood the collector.
        let wanted = filter::filter_fn(move |meta| {
            gate.load(Ordering::Relaxed)
                && if meta.is_span() { *meta.level() <= tracing::Level::INFO } else { *meta.level() <= tracing::Level::WARN }
        })
        .with_max_level_hint(LevelFilter::INFO);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("llama-stack"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_filter(wanted)
            .boxed();
        (Telemetry { provider, processor, exporting, installed: false, log_writer: Mutex::new(None) }, layer)
    }

    /// Whether [`init`] installed this handle's subscriber (false when one was already set).
    pub fn is_installed(&self) -> bool {
        self.installed
    }

    /// Starts exporting spans over OTLP to `opts`' endpoint (run.yaml `telemetry.enabled`).
    /// The gRPC exporter connects lazily on the Tokio runtime, so call this inside one.
    pub fn enable_otlp(&self, opts: &OtlpOptions) -> Result<(), TelemetryError> {
        let exporter = opts.exporter()?;
        self.processor.install(exporter);
        self.exporting.store(true, Ordering::Relaxed);
        tracing::callsite::rebuild_interest_cache();
        tracing::info!(endpoint = %opts.endpoint_description(), protocol = %opts.protocol, "exporting traces over OTLP");
        Ok(())
    }

    /// [`Telemetry::enable_otlp`] with the process's `OTEL_EXPORTER_OTLP_*` variables.
    pub fn enable_otlp_from_env(&self) -> Result<(), TelemetryError> {
        self.enable_otlp(&OtlpOptions::from_process_env()?)
    }

    /// Whether spans are being exported.
    pub fn is_exporting(&self) -> bool {
        self.exporting.load(Ordering::Relaxed)
    }

    /// Exports the spans still queued; waits for the exporter.
    pub fn flush(&self) {
        if self.is_exporting()
            && let Err(e) = self.provider.force_flush()
        {
            tracing::warn!("flushing traces failed: {e}");
        }
    }

    /// Writes the log lines still queued and stops the log writer thread: call it last, before
    /// the process exits (the handle is a static, never dropped). Later lines are lost.
    pub fn close_logs(&self) {
        if let Ok(mut slot) = self.log_writer.lock() {
            drop(slot.take());
        }
    }

    /// Stops exporting after sending what is queued. Later spans are not recorded.
    pub fn shutdown(&self) {
        if self.exporting.swap(false, Ordering::Relaxed) {
            tracing::callsite::rebuild_interest_cache();
            if let Err(e) = self.provider.force_flush() {
                tracing::warn!("flushing traces failed: {e}");
            }
            self.processor.shutdown_exporter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::Mutex;

    /// Collects what the fmt layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    // The only test that installs the process's subscriber (it can be installed once).
    #[test]
    fn json_lines_carry_the_event_fields_at_the_top_level_and_the_current_span() {
        let out = Captured::default();
        let telemetry = init_with_writer(LogFormat::Json, false, out.clone());
        assert!(telemetry.is_installed());
        assert!(!exporting(), "nothing is exported before enable_otlp");
        let span = tracing::info_span!("request", method = "GET", id = "r-1");
        span.in_scope(|| tracing::info!(status = 200, route = "/v1/models", "served"));
        tracing::debug!("below the default filter");
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "one line per event at INFO and above: {text}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["message"], "served", "{line}");
        assert_eq!(line["status"], 200, "{line}");
        assert_eq!(line["route"], "/v1/models", "{line}");
        assert_eq!(line["span"]["name"], "request", "{line}");
        assert_eq!(line["span"]["id"], "r-1", "{line}");
        assert_eq!(line["span"]["method"], "GET", "{line}");
        assert!(line["timestamp"].is_string() && line["target"].is_string(), "{line}");
        assert!(line.get("fields").is_none() && line.get("spans").is_none(), "flattened, no span list: {line}");
        assert!(!text.contains('\u{1b}'), "no colour escapes in JSON");
    }
}
