//! The APIs a stack can serve, named as run.yaml names them.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// An API of the stack, as it appears under `apis:` and `providers:` in run.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    Inference,
    Safety,
    Agents,
    Batches,
    VectorIo,
    DatasetIo,
    Scoring,
    Eval,
    PostTraining,
    ToolRuntime,
    Files,
    Telemetry,
    // Routing-table and built-in APIs: served by the stack itself, never by providers.
    Models,
    Shields,
    VectorStores,
    Datasets,
    ScoringFunctions,
    Benchmarks,
    ToolGroups,
    Inspect,
    Providers,
    Prompts,
    Conversations,
}

impl Api {
    pub const PROVIDER_APIS: &'static [Api] = &[
        Api::Inference,
        Api::Safety,
        Api::Agents,
        Api::Batches,
        Api::VectorIo,
        Api::DatasetIo,
        Api::Scoring,
        Api::Eval,
        Api::PostTraining,
        Api::ToolRuntime,
        Api::Files,
        Api::Telemetry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Api::Inference => "inference",
            Api::Safety => "safety",
            Api::Agents => "agents",
            Api::Batches => "batches",
            Api::VectorIo => "vector_io",
            Api::DatasetIo => "datasetio",
            Api::Scoring => "scoring",
            Api::Eval => "eval",
            Api::PostTraining => "post_training",
            Api::ToolRuntime => "tool_runtime",
            Api::Files => "files",
            Api::Telemetry => "telemetry",
            Api::Models => "models",
            Api::Shields => "shields",
            Api::VectorStores => "vector_stores",
            Api::Datasets => "datasets",
            Api::ScoringFunctions => "scoring_functions",
            Api::Benchmarks => "benchmarks",
            Api::ToolGroups => "tool_groups",
            Api::Inspect => "inspect",
            Api::Providers => "providers",
            Api::Prompts => "prompts",
            Api::Conversations => "conversations",
        }
    }

    /// The API whose providers serve this one: a routing table's provider API (models are
    /// inference providers' models, shields safety providers', …), else the API itself.
    pub fn backed_by(self) -> Api {
        match self {
            Api::Models => Api::Inference,
            Api::Shields => Api::Safety,
            Api::VectorStores => Api::VectorIo,
            Api::ToolGroups => Api::ToolRuntime,
            Api::Datasets => Api::DatasetIo,
            Api::ScoringFunctions => Api::Scoring,
            Api::Benchmarks => Api::Eval,
            other => other,
        }
    }

    /// Whether providers may be declared for this API in run.yaml.
    pub fn takes_providers(self) -> bool {
        Self::PROVIDER_APIS.contains(&self)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Api {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        const ALL: &[Api] = &[
            Api::Inference,
            Api::Safety,
            Api::Agents,
            Api::Batches,
            Api::VectorIo,
            Api::DatasetIo,
            Api::Scoring,
            Api::Eval,
            Api::PostTraining,
            Api::ToolRuntime,
            Api::Files,
            Api::Telemetry,
            Api::Models,
            Api::Shields,
            Api::VectorStores,
            Api::Datasets,
            Api::ScoringFunctions,
            Api::Benchmarks,
            Api::ToolGroups,
            Api::Inspect,
            Api::Providers,
            Api::Prompts,
            Api::Conversations,
        ];
        ALL.iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown API '{s}'")))
    }
}
