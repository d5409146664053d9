//! Why a Llama Guard prompt could not be built or its answer read, and the error each is for
//! the client (a 400 for the request, a 502 for an unreadable model answer).

use lls_api_common::{Error, ErrorKind};

/// Everything that can go wrong building a Llama Guard prompt or reading its verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// `excluded_categories` holds something other than the exact codes S1..S14.
    /// Upstream checks this with an `assert` on every request (not at startup),
    /// so the client sees a 500.
    #[error(
        "Invalid categories in excluded categories. Expected format is ['S1', 'S2', ..]; invalid entries: {invalid:?}"
    )]
    InvalidExcludedCategories { invalid: Vec<String> },

    /// run-shield with an empty message list.
    #[error("Messages must not be empty")]
    EmptyMessages,

    /// The guard model answered something that is neither `safe` nor
    /// `unsafe\n<codes>`.
    #[error("Unexpected response: {0}")]
    UnexpectedResponse(String),

    /// The guard model's chat completion had no text content (upstream crashes
    /// on `None.strip()`: 500).
    #[error("Llama Guard model returned no message content")]
    MissingModelContent,

    /// A message that upstream's request validation would reject (bad role,
    /// bad content shape, content part type not allowed for the role, or a
    /// non-user first message with null content).
    #[error("Invalid message at index {index}: {reason}")]
    InvalidMessage { index: usize, reason: String },

    /// run-shield on a shield whose model id is exactly `Llama-Guard-3-11B-Vision`:
    /// upstream 0.3.5 takes a vision code path that always fails (it builds a
    /// user message whose content is a list holding a bare string, which fails
    /// validation -> 400; list-of-parts content fails earlier with
    /// `Unknown content type: ...`).
    #[error(
        "Llama Guard vision shield input cannot be built for model Llama-Guard-3-11B-Vision (upstream 0.3.5 fails on this path too)"
    )]
    VisionModelUnsupported,

    /// Strict moderation only (not upstream): the model named codes outside S1..S14.
    #[error("Llama Guard returned unknown category codes: {0:?}")]
    UnknownCategoryCodes(Vec<String>),
}

impl From<GuardError> for Error {
    /// What the client gets: a 400 for what the request or the configured model got wrong
    /// (upstream's `Invalid value: …` texts), a 502 when the guard model answers something
    /// that cannot be read (never a silent pass).
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::EmptyMessages | GuardError::InvalidMessage { .. } | GuardError::VisionModelUnsupported => {
                Error::invalid(e.to_string())
            }
            GuardError::InvalidExcludedCategories { .. } => Error::invalid(e.to_string()).with_param("excluded_categories"),
            GuardError::UnexpectedResponse(_) | GuardError::MissingModelContent | GuardError::UnknownCategoryCodes(_) => {
                Error::new(ErrorKind::UpstreamError, format!("the Llama Guard model's answer cannot be read: {e}"))
            }
        }
    }
}
