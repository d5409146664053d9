//! Contracts shared by every API crate and provider: one error type, the list of APIs, typed
//! provider registration ([`ApiSpec`], descriptors collected with `inventory`), the call
//! layers' contract, background-task supervision, per-request context, the store traits and
//! the types every access check speaks in (`access`: the caller, owners, actions), reads of
//! owned SQL rows for a caller (`authorized_sql`), and replicas sharing work through a store
//! (`replicas`).
//!
//! Nothing here does I/O or knows HTTP; the server maps [`Error`] to HTTP in one place.

pub mod access;
pub mod api;
pub mod authorized_sql;
pub mod call;
pub mod context;
pub mod error;
pub mod limits;
pub mod outbound;
pub mod provider;
pub mod replicas;
pub mod secret;
pub mod spec;
pub mod store;
pub mod tasks;

pub use api::Api;
pub use call::{CallPolicy, CallStack};
pub use context::{Refusal, RequestContext};
pub use error::{Error, ErrorKind, Result, error_body};
pub use outbound::OutboundPolicy;
pub use provider::{
    BuildContext, Deps, Export, HealthState, HealthStatus, ProviderConfig, ProviderDescriptor,
    ProviderInstance,
};
pub use secret::Secret;
pub use spec::ApiSpec;
pub use tasks::Tasks;

/// Re-exported so provider crates can register themselves without naming `inventory`.
pub use inventory;

/// A JSON Schema `pattern` that matches text with at least one character that is not
/// whitespace as [`str::trim`] sees it (Unicode `White_Space`), spelled out so that ECMA-262,
/// Python and Rust regexes agree on it (their `\s` differ at the edges).
pub const NOT_BLANK_PATTERN: &str =
    "[^\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// `deserialize_with` for an optional struct field: `null` or absent is `None`, and anything but
/// a JSON object is refused (serde alone would also read a struct from an array, field by field).
pub fn object_or_null<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::Deserialize;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value @ serde_json::Value::Object(_)) => serde_json::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an object, got {other}"
        ))),
    }
}

/// Seconds since the Unix epoch, as OpenAI's `created` fields carry them.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// The characters [`super::NOT_BLANK_PATTERN`]'s negated class lists.
    fn excluded() -> Vec<char> {
        let class = super::NOT_BLANK_PATTERN
            .strip_prefix("[^")
            .unwrap()
            .strip_suffix(']')
            .unwrap();
        let mut chars = class.chars().peekable();
        let one = |chars: &mut std::iter::Peekable<std::str::Chars>| -> Option<char> {
            let c = chars.next()?;
            if c != '\\' {
                return Some(c);
            }
            let hex = |chars: &mut std::iter::Peekable<std::str::Chars>, n| {
                char::from_u32(u32::from_str_radix(&chars.take(n).collect::<String>(), 16).unwrap())
            };
            match chars.next()? {
                't' => Some('\t'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                'x' => hex(chars, 2),
                'u' => hex(chars, 4),
                _ => None, // an escape this test does not know: the comparison below fails
            }
        };
        let mut out = Vec::new();
        while let Some(first) = one(&mut chars) {
            if chars.peek() == Some(&'-') {
                chars.next();
                let last = one(&mut chars).unwrap();
                out.extend(first..=last);
            } else {
                out.push(first);
            }
        }
        out
    }

    #[test]
    fn object_or_null_refuses_arrays() {
        #[derive(Debug, Default, serde::Deserialize)]
        struct Inner {
            #[serde(default)]
            #[allow(dead_code)]
            a: Option<u32>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Outer {
            #[serde(default, deserialize_with = "super::object_or_null")]
            inner: Option<Inner>,
        }
        let parse = |s: &str| serde_json::from_str::<Outer>(s);
        assert!(parse(r#"{"inner": {"a": 1}}"#).unwrap().inner.is_some());
        assert!(parse(r#"{"inner": null}"#).unwrap().inner.is_none());
        assert!(parse("{}").unwrap().inner.is_none());
        assert!(parse(r#"{"inner": [null]}"#).is_err());
    }

    #[test]
    fn not_blank_pattern_excludes_exactly_what_trim_removes() {
        let excluded = excluded();
        let whitespace: Vec<char> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        let mut sorted = excluded.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, whitespace);
    }
}
