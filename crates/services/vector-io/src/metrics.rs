//! Vector store metrics, through the `metrics` facade, by vector_io `provider`: files
//! ingested (by outcome), their chunks and time, and the time of each search (query embedding
//! included, as a client waits for it).

use std::time::Duration;

use lls_api_vector_io::{FileLastError, SearchMode};

/// Files whose ingestion ended, by `provider` and `status` (`completed`, `failed`).
pub const INGESTED_FILES: &str = "llama_stack_vector_io_ingested_files_total";
/// Chunks indexed from ingested files, by `provider`.
pub const INGESTED_CHUNKS: &str = "llama_stack_vector_io_ingested_chunks_total";
/// Time to read, parse, chunk, embed and index one file, by `provider` and `status`.
pub const INGESTION_DURATION: &str = "llama_stack_vector_io_ingestion_duration_seconds";
/// Time of one search of a store's index, by `provider`, `mode` and `status` (`ok`, `error`).
pub const SEARCH_DURATION: &str = "llama_stack_vector_io_search_duration_seconds";

/// Registers the help text of the vector store metrics with the installed recorder.
pub(crate) fn describe() {
    metrics::describe_counter!(INGESTED_FILES, "Vector store files whose ingestion ended, by vector_io provider and status (completed, failed).");
    metrics::describe_counter!(INGESTED_CHUNKS, "Chunks indexed from vector store files, by vector_io provider.");
    metrics::describe_histogram!(
        INGESTION_DURATION,
        metrics::Unit::Seconds,
        "Time to read, parse, chunk, embed and index one file, by vector_io provider and status."
    );
    metrics::describe_histogram!(
        SEARCH_DURATION,
        metrics::Unit::Seconds,
        "Time of one vector store search (query embedding included), by vector_io provider, mode and status."
    );
}

/// One file's ingestion ended: `Ok(chunks)` indexed, or failed.
pub(crate) fn ingested(provider_id: &str, elapsed: Duration, outcome: Result<usize, &FileLastError>) {
    let status = if outcome.is_ok() { "completed" } else { "failed" };
    let labels = [("provider", provider_id.to_owned()), ("status", status.to_owned())];
    metrics::counter!(INGESTED_FILES, &labels).increment(1);
    metrics::histogram!(INGESTION_DURATION, &labels).record(elapsed.as_secs_f64());
    if let Ok(chunks) = outcome {
        metrics::counter!(INGESTED_CHUNKS, "provider" => provider_id.to_owned()).increment(chunks as u64);
    }
}

/// One search of a store's index ended.
pub(crate) fn searched(provider_id: &str, mode: SearchMode, elapsed: Duration, ok: bool) {
    let labels = [
        ("provider", provider_id.to_owned()),
        ("mode", mode.as_str().to_owned()),
        ("status", if ok { "ok" } else { "error" }.to_owned()),
    ];
    metrics::histogram!(SEARCH_DURATION, &labels).record(elapsed.as_secs_f64());
}
