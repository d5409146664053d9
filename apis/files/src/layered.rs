//! A files provider behind the registry's call layers: metadata reads and content downloads go
//! through the provider's `CallStack` (error context, metrics, retry of reads, timeout). A
//! streamed upload borrows the request body as it arrives, so it reaches the provider directly;
//! the provider bounds it with its size cap and the server with its body timeout.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::call::CallStack;
use lls_api_common::{RequestContext, Result};

use crate::{FileContent, FileDeleted, FileList, FileObject, Files, ListFilesQuery, UploadFile, UploadStream};

pub(crate) struct Layered {
    pub inner: Arc<dyn Files>,
    pub calls: CallStack,
}

#[async_trait]
impl Files for Layered {
    async fn upload(&self, ctx: &RequestContext, file: UploadFile) -> Result<FileObject> {
        let (inner, ctx) = (self.inner.clone(), ctx.clone());
        self.calls.once("upload", None, async move { inner.upload(&ctx, file).await }).await
    }

    async fn upload_stream(&self, ctx: &RequestContext, file: UploadStream<'_>) -> Result<FileObject> {
        self.inner.upload_stream(ctx, file).await
    }

    async fn list(&self, ctx: &RequestContext, query: ListFilesQuery) -> Result<FileList> {
        self.calls
            .repeatable("list", None, || {
                let (inner, ctx, query) = (self.inner.clone(), ctx.clone(), query.clone());
                async move { inner.list(&ctx, query).await }
            })
            .await
    }

    async fn retrieve(&self, ctx: &RequestContext, file_id: &str) -> Result<FileObject> {
        self.calls
            .repeatable("retrieve", None, || {
                let (inner, ctx, id) = (self.inner.clone(), ctx.clone(), file_id.to_owned());
                async move { inner.retrieve(&ctx, &id).await }
            })
            .await
    }

    async fn delete(&self, ctx: &RequestContext, file_id: &str) -> Result<FileDeleted> {
        let (inner, ctx, id) = (self.inner.clone(), ctx.clone(), file_id.to_owned());
        self.calls.once("delete", None, async move { inner.delete(&ctx, &id).await }).await
    }

    async fn content(&self, ctx: &RequestContext, file_id: &str) -> Result<FileContent> {
        self.calls
            .repeatable("content", None, || {
                let (inner, ctx, id) = (self.inner.clone(), ctx.clone(), file_id.to_owned());
                async move { inner.content(&ctx, &id).await }
            })
            .await
    }

    fn max_upload_bytes(&self) -> u64 {
        self.inner.max_upload_bytes()
    }
}
