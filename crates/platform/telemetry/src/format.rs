//! [`LogFormat`]: how log lines are written — text for people, JSON (one object a line, the
//! event's fields at the top level) for log collectors.

use std::fmt;
use std::str::FromStr;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{Layer, Registry};

/// The log line format (`--log-format text|json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-12-05T09:00:00Z  INFO request{...}: message key=value`.
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, the event's fields (`message`
    /// included) flattened at the top level, and the current span (`span`) with its fields.
    Json,
}

impl LogFormat {
    /// Every accepted spelling, for help texts and errors.
    pub const NAMES: [&'static str; 2] = ["text", "json"];

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }

    pub(crate) fn layer<W>(self, ansi: bool, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let layer = tracing_subscriber::fmt::layer().with_writer(writer);
        match self {
            LogFormat::Text => layer.with_ansi(ansi).boxed(),
            LogFormat::Json => {
                layer.json().flatten_event(true).with_current_span(true).with_span_list(false).boxed()
            }
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`LogFormat`]: names what was given and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLogFormat(String);

impl fmt::Display for UnknownLogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown log format '{}' (expected one of: {})", self.0, LogFormat::NAMES.join(", "))
    }
}

impl std::error::Error for UnknownLogFormat {}

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    /// Case-insensitive `text` or `json`, so clap's `value_parser` takes it as is.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(UnknownLogFormat(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_names_in_any_case_and_refuses_others() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("Text".parse::<LogFormat>(), Ok(LogFormat::Text));
        let err = "yaml".parse::<LogFormat>().unwrap_err();
        assert_eq!(err.to_string(), "unknown log format 'yaml' (expected one of: text, json)");
        assert_eq!(LogFormat::Json.to_string(), "json");
    }
}
