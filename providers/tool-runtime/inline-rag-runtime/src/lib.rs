//! `inline::rag-runtime`: the RAG tool runtime (`knowledge_search`, `insert_into_memory`, and
//! the legacy `rag-tool/insert` and `rag-tool/query`) over the vector stores and files APIs.
#![doc = include_str!("../README.md")]

mod config;
mod context;
mod document;
mod provider;

pub use config::RagRuntimeConfig;
pub use context::{ChunkTemplate, ScoredChunk, format_results};
pub use document::{RawDocument, raw_document};
pub use provider::RagRuntime;


pub const PROVIDER_TYPE: &str = "inline::rag-runtime";

/// The run.yaml `config:` block `list-providers` and the docs show (upstream's is `{}`).
pub const SAMPLE_CONFIG: &str = "{}\n";

lls_api_tool_runtime::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "RAG tool runtime: knowledge_search and insert_into_memory over the vector stores and files APIs (toolgroup builtin::rag).",
    sample_config: SAMPLE_CONFIG,
    config: RagRuntimeConfig,
    deps: [lls_api_vector_io::VectorIoApi, lls_api_files::FilesApi],
    build: RagRuntime::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_tool_runtime_with_its_dependencies() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::ToolRuntime);
        assert_eq!(mine[0].api_dependencies, [lls_api_common::Api::VectorIo, lls_api_common::Api::Files]);
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: RagRuntimeConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c, RagRuntimeConfig::default());
    }
}
