//! The storage directory, `inline::localfs`'s [`BlobStore`]: one file per file id, named by the
//! id only (never by the client's filename), written under a temporary name and renamed into
//! place, so a failed, oversized or cancelled upload never leaves bytes under a real id.

use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use lls_api_common::{Error, Result};
use lls_api_files::file_too_large;
use lls_files_catalog::{BlobStore, StagedBlob};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Prefix of files being written; whatever carries it at startup was left by a crash.
const TEMP_PREFIX: &str = ".upload-";

/// Writes are batched into blocking-pool calls of this size.
const WRITE_BUFFER: usize = 256 * 1024;

pub(crate) struct Disk {
    dir: PathBuf,
}

/// A file written to disk whose metadata row is not in yet: dropped without [`StagedBlob::keep`]
/// (an error, a cancelled request), it deletes itself.
pub(crate) struct StoredFile {
    path: PathBuf,
    pub(crate) bytes: u64,
    keep: bool,
}

impl StagedBlob for StoredFile {
    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn keep(mut self: Box<Self>) {
        self.keep = true;
    }
}

impl Drop for StoredFile {
    fn drop(&mut self) {
        if !self.keep
            && let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != IoKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), "could not remove an unfinished upload: {e}");
        }
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("files storage: could not {what} {}: {e}", path.display()))
}

impl Disk {
    /// Creates the directory if needed and removes uploads a crash left unfinished.
    pub(crate) async fn open(dir: PathBuf) -> Result<Self> {
        tokio::fs::create_dir_all(&dir).await.map_err(|e| io_error("create the directory", &dir, e))?;
        let mut entries = tokio::fs::read_dir(&dir).await.map_err(|e| io_error("list", &dir, e))?;
        while let Some(entry) = entries.next_entry().await.map_err(|e| io_error("list", &dir, e))? {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let path = entry.path();
                tracing::info!(path = %path.display(), "removing an upload left unfinished");
                tokio::fs::remove_file(&path).await.map_err(|e| io_error("remove", &path, e))?;
            }
        }
        Ok(Disk { dir })
    }

    /// Where the bytes of `id` live; `id` must have passed [`lls_files_catalog::is_file_id`].
    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Streams `content` into a temporary file, refusing more than `max` bytes, and renames it
    /// to `id` once complete and synced.
    async fn write_file(&self, id: &str, mut content: BoxStream<'_, Result<Bytes>>, max: u64) -> Result<StoredFile> {
        let temp = self.dir.join(format!("{TEMP_PREFIX}{id}"));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
            .map_err(|e| io_error("create", &temp, e))?;
        let mut stored = StoredFile { path: temp.clone(), bytes: 0, keep: false };
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        while let Some(chunk) = content.next().await {
            let chunk = chunk?;
            stored.bytes += chunk.len() as u64;
            if stored.bytes > max {
                return Err(file_too_large(max));
            }
            out.write_all(&chunk).await.map_err(|e| io_error("write", &temp, e))?;
        }
        out.flush().await.map_err(|e| io_error("write", &temp, e))?;
        out.get_ref().sync_all().await.map_err(|e| io_error("sync", &temp, e))?;
        drop(out);
        let path = self.path(id);
        tokio::fs::rename(&temp, &path).await.map_err(|e| io_error("rename", &temp, e))?;
        stored.path = path;
        Ok(stored)
    }

    /// The bytes of `id`; `Ok(None)` when they are missing.
    async fn read_file(&self, id: &str) -> Result<Option<Bytes>> {
        let path = self.path(id);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == IoKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    /// Deletes the bytes of `id`; already gone is fine.
    async fn remove_file(&self, id: &str) -> Result<()> {
        let path = self.path(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == IoKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }
}

#[async_trait]
impl BlobStore for Disk {
    async fn write(&self, id: &str, content: BoxStream<'_, Result<Bytes>>, max: u64) -> Result<Box<dyn StagedBlob>> {
        Ok(Box::new(self.write_file(id, content, max).await?))
    }

    async fn read(&self, id: &str) -> Result<Option<Bytes>> {
        self.read_file(id).await
    }

    async fn remove(&self, id: &str) -> Result<()> {
        self.remove_file(id).await
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> BoxStream<'static, Result<Bytes>> {
        futures::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))).collect::<Vec<_>>()).boxed()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    const ID: &str = "file-0123456789abcdef0123456789abcdef";

    #[tokio::test]
    async fn writes_by_id_and_cleans_up_unkept_or_failed_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let disk = Disk::open(tmp.path().join("nested/files")).await.unwrap();
        let stored = disk.write_file(ID, chunks(&[b"ab", b"cd"]), 4).await.unwrap();
        assert_eq!(stored.bytes, 4);
        assert_eq!(names(&disk.dir), [ID]);
        drop(stored);
        assert!(names(&disk.dir).is_empty(), "a write whose row never went in is removed");

        let err = disk.write_file(ID, chunks(&[b"ab", b"cde"]), 4).await.err().unwrap();
        assert_eq!(err.kind(), lls_api_common::ErrorKind::PayloadTooLarge);
        let broken = futures::stream::iter(vec![Ok(Bytes::from_static(b"x")), Err(Error::invalid("client went away"))]).boxed();
        assert_eq!(disk.write_file(ID, broken, 4).await.err().unwrap().message(), "client went away");
        assert!(names(&disk.dir).is_empty(), "nothing half-written remains");

        StagedBlob::keep(Box::new(disk.write_file(ID, chunks(&[b"kept"]), 4).await.unwrap()));
        assert_eq!(disk.read_file(ID).await.unwrap().unwrap(), Bytes::from_static(b"kept"));
        disk.remove_file(ID).await.unwrap();
        disk.remove_file(ID).await.unwrap();
        assert!(disk.read_file(ID).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn open_removes_uploads_a_crash_left_behind() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(format!("{TEMP_PREFIX}{ID}")), b"half").unwrap();
        std::fs::write(tmp.path().join(ID), b"whole").unwrap();
        let disk = Disk::open(tmp.path().to_owned()).await.unwrap();
        assert_eq!(names(&disk.dir), [ID]);
    }
}
