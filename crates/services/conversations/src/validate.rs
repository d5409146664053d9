//! Request checks (OpenAI's limits, which 0.3.5 declares): ids, metadata, item counts and
//! the list query, each a 400 naming its field.

use lls_api_common::store::{Order, page_limit};
use lls_api_common::{Error, Result};
use lls_api_conversations::{ListItemsQuery, MAX_ITEMS_PER_CALL, MAX_METADATA_PAIRS, Metadata};
use rand_core::{OsRng, RngCore};

/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY: usize = 64;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE: usize = 512;
/// Page size of a listing without `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit` of a listing.
pub const MAX_LIMIT: usize = 100;

/// `prefix` and 48 hex digits (24 random bytes), as 0.3.5's `secrets.token_bytes(24).hex()`.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    let mut id = String::with_capacity(prefix.len() + 48);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// 0.3.5's check (and OpenAI's): conversation ids begin with `conv_`.
pub fn conversation_id(id: &str) -> Result<()> {
    if id.starts_with("conv_") {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid 'conversation_id': '{id}'. Expected an ID that begins with 'conv_'."
    ))
    .with_param("conversation_id"))
}

pub fn metadata(metadata: &Metadata) -> Result<()> {
    let fail = |message: String| Err(Error::invalid(message).with_param("metadata"));
    if metadata.len() > MAX_METADATA_PAIRS {
        return fail(format!(
            "'metadata' has {} pairs; at most {MAX_METADATA_PAIRS} are allowed",
            metadata.len()
        ));
    }
    for (key, value) in metadata {
        if key.chars().count() > MAX_METADATA_KEY {
            return fail(format!(
                "metadata key '{key}' is longer than {MAX_METADATA_KEY} characters"
            ));
        }
        if value.chars().count() > MAX_METADATA_VALUE {
            return fail(format!(
                "the value of metadata key '{key}' is longer than {MAX_METADATA_VALUE} characters"
            ));
        }
    }
    Ok(())
}

pub fn item_count(count: usize) -> Result<()> {
    if count > MAX_ITEMS_PER_CALL {
        return Err(Error::invalid(format!(
            "'items' has {count} items; at most {MAX_ITEMS_PER_CALL} may be added at a time"
        ))
        .with_param("items"));
    }
    Ok(())
}

/// The page size and order of a listing (default 20, newest first).
pub fn list_query(query: &ListItemsQuery) -> Result<(usize, Order)> {
    Ok((
        page_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?,
        Order::from_query(query.order.as_deref())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefix_and_48_hex() {
        let id = new_id("conv_");
        let hex = id.strip_prefix("conv_").unwrap();
        assert_eq!(hex.len(), 48);
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(new_id("msg_"), new_id("msg_"));
    }

    #[test]
    fn metadata_limits() {
        let pairs = |n: usize| {
            (0..n)
                .map(|i| (format!("k{i}"), "v".to_owned()))
                .collect::<Metadata>()
        };
        assert!(metadata(&pairs(16)).is_ok());
        assert_eq!(metadata(&pairs(17)).unwrap_err().param(), Some("metadata"));
        assert!(metadata(&Metadata::from([("k".repeat(64), "v".repeat(512))])).is_ok());
        assert!(metadata(&Metadata::from([("k".repeat(65), "v".into())])).is_err());
        assert!(metadata(&Metadata::from([("k".into(), "é".repeat(513))])).is_err());
    }

    #[test]
    fn list_query_bounds() {
        let q = |limit: Option<i64>, order: Option<&str>| ListItemsQuery {
            limit,
            order: order.map(Into::into),
            ..Default::default()
        };
        assert_eq!(list_query(&q(None, None)).unwrap(), (20, Order::Desc));
        assert_eq!(
            list_query(&q(Some(100), Some("asc"))).unwrap(),
            (100, Order::Asc)
        );
        for bad in [0, -1, 101] {
            assert_eq!(
                list_query(&q(Some(bad), None)).unwrap_err().param(),
                Some("limit")
            );
        }
        assert_eq!(
            list_query(&q(None, Some("up"))).unwrap_err().param(),
            Some("order")
        );
    }
}
