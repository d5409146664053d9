//! What the files providers share: one SQL table of file metadata (owner, purpose, size,
//! creation and expiry) and the [`Files`](lls_api_files::Files) API over it ([`FileCatalog`]),
//! generic over where the bytes live ([`BlobStore`]: a local directory, an S3 bucket). Listing,
//! pagination, purpose filters, owners and expiry are therefore the same for every provider.

mod blobs;
mod catalog;
mod settings;

pub use blobs::{BlobStore, StagedBlob, is_file_id};
pub use catalog::{Clock, FileCatalog, MAX_LIST_LIMIT, SWEEP_INTERVAL};
pub use settings::{CatalogSettings, DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_TTL_SECS, check_catalog_settings};

#[doc(hidden)]
pub use async_trait::async_trait as __async_trait;
#[doc(hidden)]
pub use lls_api_common as __api_common;
#[doc(hidden)]
pub use lls_api_files as __api_files;

/// Implements [`Files`](lls_api_files::Files) for a provider type by handing every call to its
/// [`FileCatalog`] field: `lls_files_catalog::files_through_catalog!(LocalFsFiles, catalog);`.
#[macro_export]
macro_rules! files_through_catalog {
    ($provider:ty, $field:ident) => {
        #[$crate::__async_trait]
        impl $crate::__api_files::Files for $provider {
            async fn upload(
                &self,
                ctx: &$crate::__api_common::RequestContext,
                file: $crate::__api_files::UploadFile,
            ) -> $crate::__api_common::Result<$crate::__api_files::FileObject> {
                self.$field.upload(ctx, file).await
            }

            async fn upload_stream(
                &self,
                ctx: &$crate::__api_common::RequestContext,
                file: $crate::__api_files::UploadStream<'_>,
            ) -> $crate::__api_common::Result<$crate::__api_files::FileObject> {
                self.$field.upload_stream(ctx, file).await
            }

            async fn list(
                &self,
                ctx: &$crate::__api_common::RequestContext,
                query: $crate::__api_files::ListFilesQuery,
            ) -> $crate::__api_common::Result<$crate::__api_files::FileList> {
                self.$field.list(ctx, query).await
            }

            async fn retrieve(
                &self,
                ctx: &$crate::__api_common::RequestContext,
                file_id: &str,
            ) -> $crate::__api_common::Result<$crate::__api_files::FileObject> {
                self.$field.retrieve(ctx, file_id).await
            }

            async fn delete(
                &self,
                ctx: &$crate::__api_common::RequestContext,
                file_id: &str,
            ) -> $crate::__api_common::Result<$crate::__api_files::FileDeleted> {
                self.$field.delete(ctx, file_id).await
            }

            async fn content(
                &self,
                ctx: &$crate::__api_common::RequestContext,
                file_id: &str,
            ) -> $crate::__api_common::Result<$crate::__api_files::FileContent> {
                self.$field.content(ctx, file_id).await
            }

            fn max_upload_bytes(&self) -> u64 {
                $crate::__api_files::Files::max_upload_bytes(&self.$field)
            }
        }
    };
}
