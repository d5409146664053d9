//! Where spans go: [`OtlpOptions`] read from the standard OpenTelemetry variables
//! (`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`,
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) with the specification's defaults, and the
//! OTLP exporter built from them.

use std::fmt;

use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;

/// The service name spans carry when `OTEL_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE_NAME: &str = "llama-stack";

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (default port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318, path `/v1/traces`); the
    /// specification's default.
    HttpProtobuf,
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        })
    }
}

/// Why traces cannot be exported: a variable with a value this build does not take, or an
/// exporter that could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryError(String);

impl fmt::Display for TelemetryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TelemetryError {}

/// The OTLP exporter's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpOptions {
    pub protocol: OtlpProtocol,
    /// The full URL spans are sent to (for HTTP, including `/v1/traces`).
    pub endpoint: String,
}

impl OtlpOptions {
    /// Reads the standard variables through `env`, the per-signal ones (`..._TRACES_...`)
    /// first. A protocol other than `grpc` or `http/protobuf` is an error naming the variable.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, TelemetryError> {
        let var = |name: &str| env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let (name, protocol) = match var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
            Some(p) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Some(p)),
            None => ("OTEL_EXPORTER_OTLP_PROTOCOL", var("OTEL_EXPORTER_OTLP_PROTOCOL")),
        };
        let protocol = match protocol.as_deref() {
            None | Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
            Some("grpc") => OtlpProtocol::Grpc,
            Some(other) => {
                return Err(TelemetryError(format!(
                    "{name}={other} is not supported (expected grpc or http/protobuf)"
                )));
            }
        };
        let endpoint = match (var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), var("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(traces), _) => traces,
            (None, Some(base)) => match protocol {
                OtlpProtocol::Grpc => base,
                OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
            },
            (None, None) => match protocol {
                OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
                OtlpProtocol::HttpProtobuf => "http://localhost:4318/v1/traces".to_owned(),
            },
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(TelemetryError(format!("OTLP endpoint '{endpoint}' must be an http:// or https:// URL")));
        }
        Ok(OtlpOptions { protocol, endpoint })
    }

    /// The process's own environment.
    pub fn from_process_env() -> Result<Self, TelemetryError> {
        Self::from_env(&|name| std::env::var(name).ok())
    }

    pub(crate) fn endpoint_description(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn exporter(&self) -> Result<SpanExporter, TelemetryError> {
        let built = match self.protocol {
            OtlpProtocol::Grpc => {
                let builder = SpanExporter::builder().with_tonic().with_endpoint(&self.endpoint);
                if self.endpoint.starts_with("https://") {
                    // TLS with the system's trust store (a cluster's service CA included).
                    builder.with_tls_config(ClientTlsConfig::new().with_native_roots()).build()
                } else {
                    builder.build()
                }
            }
            OtlpProtocol::HttpProtobuf => SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(&self.endpoint)
                .build(),
        };
        built.map_err(|e| TelemetryError(format!("cannot build the OTLP exporter for {}: {e}", self.endpoint)))
    }
}

/// The resource every span carries: `service.name` from `OTEL_SERVICE_NAME` (else
/// `llama-stack`), `OTEL_RESOURCE_ATTRIBUTES`, and the SDK's own attributes.
pub(crate) fn resource() -> Resource {
    let builder = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_some_and(|v| !v.is_empty()) {
        builder.build()
    } else {
        builder.with_service_name(DEFAULT_SERVICE_NAME).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(vars: &[(&str, &str)]) -> Result<OtlpOptions, TelemetryError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        OtlpOptions::from_env(&move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_follow_the_specification() {
        let o = opts(&[]).unwrap();
        assert_eq!((o.protocol, o.endpoint.as_str()), (OtlpProtocol::HttpProtobuf, "http://localhost:4318/v1/traces"));
        let o = opts(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
        assert_eq!((o.protocol, o.endpoint.as_str()), (OtlpProtocol::Grpc, "http://localhost:4317"));
    }

    #[test]
    fn the_base_endpoint_gets_the_signal_path_over_http_only() {
        let o = opts(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
        assert_eq!(o.endpoint, "http://collector:4318/v1/traces");
        let o = opts(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])
            .unwrap();
        assert_eq!(o.endpoint, "http://collector:4317");
        let o = opts(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom"),
        ])
        .unwrap();
        assert_eq!(o.endpoint, "http://traces:9999/custom");
    }

    #[test]
    fn unsupported_protocols_and_endpoints_are_named() {
        let e = opts(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).unwrap_err();
        assert_eq!(e.to_string(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/json is not supported (expected grpc or http/protobuf)");
        let e = opts(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "zipkin"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err();
        assert!(e.to_string().starts_with("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=zipkin"), "{e}");
        let e = opts(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]).unwrap_err();
        assert!(e.to_string().contains("must be an http:// or https:// URL"), "{e}");
    }
}
