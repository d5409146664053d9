//! The `Files` implementation: the shared catalog (`lls-files-catalog`: metadata rows with
//! owners, listing, expiry and its sweep) over the storage directory ([`crate::disk`]).

use std::path::PathBuf;
use std::sync::Arc;

use lls_api_common::store::SqlStore;
use lls_api_common::{BuildContext, Result, Tasks, unix_now};
use lls_api_files::Files;
use lls_files_catalog::{CatalogSettings, Clock, FileCatalog};

use crate::config::LocalFsConfig;
use crate::disk::Disk;

/// `inline::localfs`: files on the local disk, metadata in a SQL store.
pub struct LocalFsFiles {
    catalog: FileCatalog<Disk>,
}

/// `~/x` is `$HOME/x`, as upstream's sample configs assume.
fn expand_home(dir: &str) -> PathBuf {
    match (dir.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if dir == "~" => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(dir)),
        _ => PathBuf::from(dir),
    }
}

impl LocalFsFiles {
    /// The descriptor's build function: opens the metadata store named by the config.
    pub async fn build(ctx: BuildContext, config: LocalFsConfig) -> Result<Arc<dyn Files>> {
        let store = ctx.stores.sql(&config.metadata_store.backend).await?;
        let files = Self::open(&config, store).await?;
        files.start_sweeper(&ctx.tasks);
        Ok(Arc::new(files))
    }

    /// Creates the directory and the table if needed; [`Self::start_sweeper`] starts the sweep.
    pub async fn open(config: &LocalFsConfig, store: Arc<dyn SqlStore>) -> Result<Self> {
        Self::open_with_clock(config, store, Arc::new(unix_now)).await
    }

    /// [`LocalFsFiles::open`] with the provider's notion of now.
    pub async fn open_with_clock(config: &LocalFsConfig, store: Arc<dyn SqlStore>, clock: Clock) -> Result<Self> {
        let disk = Disk::open(expand_home(&config.storage_dir)).await?;
        let settings = CatalogSettings {
            table: config.metadata_store.table_name.clone(),
            ttl_secs: config.ttl_secs,
            max_file_size_bytes: config.max_file_size_bytes,
        };
        Ok(LocalFsFiles { catalog: FileCatalog::open(disk, store, &settings, clock).await? })
    }

    /// Deletes expired files every [`lls_files_catalog::SWEEP_INTERVAL`] in a task supervised
    /// by `tasks`; it ends when shutdown begins (between sweeps) or when the provider is dropped.
    pub fn start_sweeper(&self, tasks: &Tasks) {
        self.catalog.start_sweeper(tasks);
    }

    /// Deletes every expired file now; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize> {
        self.catalog.sweep_expired().await
    }
}

lls_files_catalog::files_through_catalog!(LocalFsFiles, catalog);
