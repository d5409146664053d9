//! [`SwitchProcessor`]: the tracer provider's one span processor, empty until OTLP export is
//! turned on. The OpenTelemetry layer must exist when the subscriber is installed (span context
//! cannot be read through a reloadable layer), but the exporter is known only once run.yaml is
//! read: this processor lets the provider be built first and the exporter plugged in later.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Span, SpanData, SpanExporter, SpanProcessor};
use std::sync::RwLock;

#[derive(Debug, Clone, Default)]
pub(crate) struct SwitchProcessor {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    resource: Option<Resource>,
    batch: Option<BatchSpanProcessor>,
}

impl SwitchProcessor {
    /// Sends every span ended from now on to `exporter`, batched; replaces an earlier one.
    pub(crate) fn install<E: SpanExporter + 'static>(&self, exporter: E) {
        let mut batch = BatchSpanProcessor::builder(exporter).build();
        let Ok(mut inner) = self.inner.write() else { return };
        if let Some(resource) = &inner.resource {
            batch.set_resource(resource);
        }
        if let Some(old) = inner.batch.replace(batch) {
            let _ = old.shutdown();
        }
    }

    /// Flushes and shuts down the exporter; later spans are dropped.
    pub(crate) fn shutdown_exporter(&self) {
        let batch = self.inner.write().ok().and_then(|mut inner| inner.batch.take());
        if let Some(batch) = batch {
            let _ = batch.shutdown();
        }
    }
}

impl SpanProcessor for SwitchProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Ok(inner) = self.inner.read()
            && let Some(batch) = &inner.batch
        {
            batch.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        if let Ok(inner) = self.inner.read()
            && let Some(batch) = &inner.batch
        {
            batch.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self.inner.read() {
            Ok(inner) => inner.batch.as_ref().map_or(Ok(()), |b| b.force_flush()),
            Err(_) => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let batch = self.inner.write().ok().and_then(|mut inner| inner.batch.take());
        batch.map_or(Ok(()), |b| b.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Ok(mut inner) = self.inner.write() {
            inner.resource = Some(resource.clone());
            if let Some(batch) = &mut inner.batch {
                batch.set_resource(resource);
            }
        }
    }
}
