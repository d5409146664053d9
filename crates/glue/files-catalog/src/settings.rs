//! The catalog's part of a files provider's config (metadata table, default lifetime, size
//! cap), with the checks every provider's `validate()` runs on it, without I/O.

use lls_api_common::store::SqlStoreRef;
use lls_api_common::{Error, Result};

/// How long a file lives when the upload names no `expires_after`: one year.
pub const DEFAULT_TTL_SECS: i64 = 365 * 24 * 60 * 60;

/// The largest upload accepted by default: 512 MiB (OpenAI allows larger files; raise it in config).
pub const DEFAULT_MAX_FILE_SIZE_BYTES: u64 = 512 * 1024 * 1024;

/// What the catalog needs from a provider's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSettings {
    /// The metadata table (inside the SQL store the provider opened).
    pub table: String,
    /// Lifetime of a file uploaded without `expires_after`, in seconds.
    pub ttl_secs: i64,
    /// Uploads larger than this are refused with 413.
    pub max_file_size_bytes: u64,
}

/// Checks the keys every files provider's config shares: `metadata_store`, `ttl_secs` and
/// `max_file_size_bytes`, naming the key at fault.
pub fn check_catalog_settings(metadata_store: &SqlStoreRef, ttl_secs: i64, max_file_size_bytes: u64) -> Result<()> {
    let table = &metadata_store.table_name;
    let mut chars = table.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') || table.len() > 63 {
        return Err(Error::invalid(format!(
            "config.metadata_store.table_name: '{table}' is not a table name (letters, digits and '_', not starting with a digit, at most 63)"
        ))
        .with_param("metadata_store.table_name"));
    }
    if metadata_store.backend.is_empty() {
        return Err(Error::invalid("config.metadata_store.backend: name a sql_* storage backend (e.g. sql_default)")
            .with_param("metadata_store.backend"));
    }
    if ttl_secs < 1 {
        return Err(Error::invalid(format!("config.ttl_secs: must be at least 1 (got {ttl_secs})")).with_param("ttl_secs"));
    }
    if max_file_size_bytes == 0 {
        return Err(Error::invalid("config.max_file_size_bytes: must be at least 1").with_param("max_file_size_bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(table: &str, backend: &str) -> SqlStoreRef {
        SqlStoreRef { table_name: table.into(), backend: backend.into() }
    }

    #[test]
    fn names_the_key_at_fault() {
        assert!(check_catalog_settings(&store("files_metadata", "sql_default"), 1, 1).is_ok());
        for (bad, key) in [
            ((store("x; drop", "sql_default"), 1, 1), "metadata_store.table_name"),
            ((store("1x", "sql_default"), 1, 1), "metadata_store.table_name"),
            ((store(&"t".repeat(64), "sql_default"), 1, 1), "metadata_store.table_name"),
            ((store("t", ""), 1, 1), "metadata_store.backend"),
            ((store("t", "sql_default"), 0, 1), "ttl_secs"),
            ((store("t", "sql_default"), 1, 0), "max_file_size_bytes"),
        ] {
            let err = check_catalog_settings(&bad.0, bad.1, bad.2).unwrap_err();
            assert_eq!(err.param(), Some(key), "{}", err.message());
            assert!(err.message().starts_with(&format!("config.{key}")), "{}", err.message());
        }
    }
}
