//! An in-memory files API for tests of what reads and writes files (batches): uploads keep
//! their bytes in a map; ids are `file-<32 hex>`; every caller sees every file.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_files::{FileContent, FileDeleted, FileList, FileObject, FilePurpose, Files, ListFilesQuery, UploadFile};
use parking_lot::Mutex;

/// Files in memory.
#[derive(Debug, Default)]
pub struct MemoryFiles {
    files: Mutex<BTreeMap<String, (FileObject, Bytes)>>,
}

impl MemoryFiles {
    pub fn new() -> Arc<Self> {
        Arc::new(MemoryFiles::default())
    }

    /// Stores `content` as a `batch` file named `name`; answers its id.
    pub async fn put(&self, name: &str, content: impl Into<Bytes>) -> Result<String> {
        let upload = UploadFile {
            filename: name.into(),
            content_type: None,
            content: content.into(),
            purpose: FilePurpose::Batch,
            expires_after: None,
        };
        Ok(self.upload(&RequestContext::default(), upload).await?.id)
    }

    /// How many files there are.
    pub fn len(&self) -> usize {
        self.files.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn missing(id: &str) -> Error {
    Error::resource_not_found("File", id, "client.files.list()")
}

#[async_trait]
impl Files for MemoryFiles {
    async fn upload(&self, _: &RequestContext, file: UploadFile) -> Result<FileObject> {
        let id = format!("file-{}", uuid::Uuid::new_v4().simple());
        let object = FileObject {
            id: id.clone(),
            object: "file".into(),
            bytes: file.content.len() as u64,
            created_at: lls_api_common::unix_now(),
            expires_at: None,
            filename: file.filename,
            purpose: file.purpose,
        };
        self.files.lock().insert(id, (object.clone(), file.content));
        Ok(object)
    }

    async fn list(&self, _: &RequestContext, query: ListFilesQuery) -> Result<FileList> {
        let data = self.files.lock().values().map(|(f, _)| f.clone()).filter(|f| query.purpose.is_none_or(|p| p == f.purpose)).collect();
        Ok(FileList::new(data, false))
    }

    async fn retrieve(&self, _: &RequestContext, file_id: &str) -> Result<FileObject> {
        self.files.lock().get(file_id).map(|(f, _)| f.clone()).ok_or_else(|| missing(file_id))
    }

    async fn delete(&self, _: &RequestContext, file_id: &str) -> Result<FileDeleted> {
        self.files.lock().remove(file_id).ok_or_else(|| missing(file_id))?;
        Ok(FileDeleted { id: file_id.into(), object: "file".into(), deleted: true })
    }

    async fn content(&self, _: &RequestContext, file_id: &str) -> Result<FileContent> {
        let (file, content) = self.files.lock().get(file_id).cloned().ok_or_else(|| missing(file_id))?;
        Ok(FileContent { file, content })
    }

    fn max_upload_bytes(&self) -> u64 {
        u64::MAX
    }
}
