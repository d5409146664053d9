//! `remote::s3`'s `Files`: the shared catalog (`lls-files-catalog`: metadata rows with owners,
//! listing, expiry and its sweep) over the bucket ([`crate::objects`]).

use std::sync::Arc;

use lls_api_common::store::SqlStore;
use lls_api_common::{BuildContext, Result, unix_now};
use lls_api_files::Files;
use lls_files_catalog::{CatalogSettings, Clock, FileCatalog};

use crate::config::S3FilesConfig;
use crate::objects::S3Objects;

/// `remote::s3`: files in an S3 bucket, metadata in a SQL store.
pub struct S3Files {
    catalog: FileCatalog<S3Objects>,
}

impl S3Files {
    /// The descriptor's build function: opens the metadata store named by the config, checks
    /// (or creates) the bucket and starts the expiry sweep.
    pub async fn build(ctx: BuildContext, config: S3FilesConfig) -> Result<Arc<dyn Files>> {
        let store = ctx.stores.sql(&config.metadata_store.backend).await?;
        let files = Self::open(&config, store).await?;
        files.catalog.start_sweeper(&ctx.tasks);
        Ok(Arc::new(files))
    }

    /// Checks the bucket (creating it when `auto_create_bucket`) and creates the metadata table
    /// if needed; fails naming the bucket when it is missing or cannot be reached.
    pub async fn open(config: &S3FilesConfig, store: Arc<dyn SqlStore>) -> Result<Self> {
        Self::open_with_clock(config, store, Arc::new(unix_now)).await
    }

    /// [`S3Files::open`] with the provider's notion of now.
    pub async fn open_with_clock(config: &S3FilesConfig, store: Arc<dyn SqlStore>, clock: Clock) -> Result<Self> {
        let objects = S3Objects::new(config)?;
        objects.ensure_bucket(config.auto_create_bucket).await?;
        let settings = CatalogSettings {
            table: config.metadata_store.table_name.clone(),
            ttl_secs: config.ttl_secs,
            max_file_size_bytes: config.max_file_size_bytes,
        };
        Ok(S3Files { catalog: FileCatalog::open(objects, store, &settings, clock).await? })
    }

    /// The catalog: the expiry sweep (`start_sweeper`, `sweep_expired`) and the bucket.
    pub fn catalog(&self) -> &FileCatalog<S3Objects> {
        &self.catalog
    }
}

lls_files_catalog::files_through_catalog!(S3Files, catalog);
