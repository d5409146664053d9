//! Where a files provider keeps the bytes: a store addressed by file id only (never by the
//! client's filename), written in one go from a stream and staged until the metadata row is in.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use lls_api_common::Result;

/// Whether `id` is one the catalog could have made: `file-` and 32 lowercase hex digits. Only
/// such ids ever reach a [`BlobStore`], so `..`, `/` or any other trick never becomes a path
/// or an object key.
pub fn is_file_id(id: &str) -> bool {
    id.strip_prefix("file-")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Bytes written under a file id whose metadata row is not in yet. Dropped without
/// [`StagedBlob::keep`] (the insert failed, the request was cancelled) it removes the bytes.
pub trait StagedBlob: Send {
    /// How many bytes were written.
    fn bytes(&self) -> u64;
    /// The row is in: the bytes stay.
    fn keep(self: Box<Self>);
}

/// The bytes of every file, by id. Ids passed in have passed [`is_file_id`].
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Streams `content` under `id`, refusing more than `max` bytes
    /// ([`file_too_large`](lls_api_files::file_too_large)). On any error (including an `Err`
    /// item of `content`, which is returned as is) nothing is left under `id`.
    async fn write(&self, id: &str, content: BoxStream<'_, Result<Bytes>>, max: u64) -> Result<Box<dyn StagedBlob>>;
    /// The bytes of `id`; `Ok(None)` when there are none.
    async fn read(&self, id: &str) -> Result<Option<Bytes>>;
    /// Deletes the bytes of `id`; already gone is fine.
    async fn remove(&self, id: &str) -> Result<()>;
    /// Where the bytes live, for logs (a directory, `s3://bucket/prefix`).
    fn location(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_generated_ids_pass() {
        assert!(is_file_id("file-0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "file-",
            "file-0123456789ABCDEF0123456789abcdef",
            "file-0123456789abcdef0123456789abcde",
            "file-0123456789abcdef0123456789abcdef0",
            "file-../../../../etc/passwd",
            "../file-0123456789abcdef0123456789abcdef",
            "file-0123456789abcdef/123456789abcdef",
            "file-..3456789abcdef0123456789abcdef",
            "vs_0123456789abcdef0123456789abcdef",
        ] {
            assert!(!is_file_id(bad), "{bad}");
        }
    }
}
