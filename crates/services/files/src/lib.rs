//! The files service: the files API has no router, so one provider (the last listed, as
//! upstream) serves every request and is what dependents (vector stores, the RAG tool)
//! receive; the `/v1/files` routes stream uploads into it.

mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use lls_api_common::{Api, Error, Result};
use lls_api_files::{FileDeleted, FileList, FileObject, Files, FilesApi, ListFilesQuery, UploadFileForm};
use lls_http::{RouteBook, RouteGroup, op};
use lls_registry::{BuiltService, ServiceContext};

lls_registry::register_service! {
    api: FilesApi,
    depends_on: [],
    description: "The files provider behind /v1/files",
    build: build,
    routes: book,
}

async fn build(ctx: ServiceContext) -> Result<Option<BuiltService>> {
    let mut providers = ctx.providers_of::<FilesApi>()?;
    // Several: the one listed last serves, as in upstream 0.3.5 (the Red Hat distribution lists
    // inline::localfs, then remote::s3 when ENABLE_S3 is set); the others are named in a warning.
    let Some(serving) = ctx.providers.last().map(|p| p.provider_id.clone()) else {
        return Ok(None);
    };
    if providers.len() > 1 {
        let ignored: Vec<&str> =
            ctx.providers.iter().map(|p| p.provider_id.as_str()).filter(|id| *id != serving).collect();
        tracing::warn!(
            "providers.files: {} files providers are configured; '{serving}' (listed last) serves /v1/files, not {}",
            providers.len(),
            ignored.join(", ")
        );
    }
    let files: Arc<dyn Files> =
        providers.remove(&serving).ok_or_else(|| Error::internal(format!("the files provider '{serving}' vanished")))?;
    Ok(Some(BuiltService::new(Arc::new(files.clone())).export::<FilesApi>(files.clone()).with_routes(RouteGroup::new(book(), files))))
}

fn book() -> RouteBook<Arc<dyn Files>> {
    RouteBook::new()
        .add_with_alias(
            op("POST", "/v1/files", Api::Files, "openai_upload_file", "Upload a file (multipart: file, purpose, expires_after).")
                .multipart::<UploadFileForm>()
                .returns::<FileObject>(),
            // The upload streams through the provider, which enforces its own size cap.
            post(routes::upload).layer(DefaultBodyLimit::disable()),
        )
        .add_with_alias(
            op("GET", "/v1/files", Api::Files, "openai_list_files", "List files.").query::<ListFilesQuery>().returns::<FileList>(),
            get(routes::list),
        )
        .add_with_alias(
            op("GET", "/v1/files/{file_id}", Api::Files, "openai_retrieve_file", "Retrieve a file's metadata.").returns::<FileObject>(),
            get(routes::retrieve),
        )
        .add_with_alias(
            op("DELETE", "/v1/files/{file_id}", Api::Files, "openai_delete_file", "Delete a file.").returns::<FileDeleted>(),
            delete(routes::delete),
        )
        .add_with_alias(
            op("GET", "/v1/files/{file_id}/content", Api::Files, "openai_retrieve_file_content", "Retrieve a file's content.")
                .returns_bytes(),
            get(routes::content),
        )
}
