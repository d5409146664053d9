//! The bucket, `remote::s3`'s [`BlobStore`]: one object per file id (`<key_prefix>/<file id>`,
//! never the client's filename). Small uploads go up in one PUT; past one part they stream as
//! a multipart upload, a few parts in flight, so a large file is never held in memory. A failed
//! or cancelled upload is aborted (S3 keeps nothing of it), and an object whose metadata row
//! never went in is deleted.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use lls_api_common::{Error, ErrorKind, Result};
use lls_api_files::file_too_large;
use lls_files_catalog::{BlobStore, StagedBlob};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{BackoffConfig, ClientOptions, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};

use crate::config::S3FilesConfig;
use crate::error::s3_error;

/// Parts uploading at once in a multipart upload: memory per upload stays within
/// `(PARTS_IN_FLIGHT + 1) × part size`.
const PARTS_IN_FLIGHT: usize = 2;

/// Connect and request timeouts, and how long and how often a failed request is retried
/// (object_store retries 5xx and transport errors); an unreachable endpoint fails in seconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_RETRIES: usize = 3;
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);

/// The object key of file `id` under `prefix` (no surrounding slashes).
pub(crate) fn object_key(prefix: &str, id: &str) -> String {
    if prefix.is_empty() { id.to_owned() } else { format!("{prefix}/{id}") }
}

/// The bucket of a `remote::s3` provider.
pub struct S3Objects {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
    region: String,
    endpoint: Option<String>,
    part_size: usize,
    /// For the bucket requests object_store does not make (startup only).
    http: reqwest::Client,
}

impl S3Objects {
    /// A client for the configured bucket (no request is made).
    pub(crate) fn new(config: &S3FilesConfig) -> Result<Self> {
        let endpoint = config.endpoint().map(|e| e.trim_end_matches('/').to_owned());
        // The AWS env (keys, session token, web identity) first; the config's keys win.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket_name)
            .with_region(config.region.trim())
            .with_virtual_hosted_style_request(false)
            .with_retry(RetryConfig { backoff: BackoffConfig::default(), max_retries: MAX_RETRIES, retry_timeout: RETRY_TIMEOUT })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(CONNECT_TIMEOUT)
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_allow_http(endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))),
            );
        if let Some(endpoint) = &endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some((id, secret)) = config.credentials() {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| Error::invalid(format!("remote::s3: the S3 client could not be configured: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::internal(format!("remote::s3: the HTTP client could not be built: {e}")))?;
        Ok(S3Objects {
            http,
            store: Arc::new(store),
            bucket: config.bucket_name.clone(),
            prefix: config.prefix().to_owned(),
            region: config.region.trim().to_owned(),
            endpoint,
            part_size: config.multipart_part_size_bytes,
        })
    }

    fn path(&self, id: &str) -> Path {
        Path::from(object_key(&self.prefix, id))
    }

    fn where_(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("at {e}"),
            None => format!("in AWS region {}", self.region),
        }
    }

    /// Checks that the bucket exists (S3's HeadBucket); creates it when it does not and
    /// `create` is set, and fails naming the bucket otherwise.
    pub(crate) async fn ensure_bucket(&self, create: bool) -> Result<()> {
        let what = format!("reach the bucket {}", self.where_());
        let (status, _) = self.bucket_request(reqwest::Method::HEAD, String::new(), &what).await?;
        match status.as_u16() {
            200..=299 => Ok(()),
            404 if create => self.create_bucket().await,
            404 => Err(Error::invalid(format!(
                "remote::s3: the S3 bucket '{}' does not exist {}: create it, or set auto_create_bucket: true (S3_AUTO_CREATE_BUCKET=true in the starter)",
                self.bucket,
                self.where_()
            ))
            .with_param("bucket_name")),
            401 | 403 => Err(self.refused(&what, &format!("S3 refused the credentials ({status}: check the access key, secret and bucket policy)"))),
            301 | 400 => Err(self.refused(&what, &format!("S3 answered {status} (is the region right?)"))),
            _ => Err(self.refused(&what, &format!("S3 answered {status}"))),
        }
    }

    fn refused(&self, what: &str, reason: &str) -> Error {
        Error::new(ErrorKind::UpstreamError, format!("Files storage (S3 bucket '{}'): could not {what}: {reason}", self.bucket))
    }

    /// S3's CreateBucket (a region other than us-east-1 goes in the body, as S3 wants it).
    async fn create_bucket(&self) -> Result<()> {
        let what = format!("create the bucket {}", self.where_());
        let body = if self.region == "us-east-1" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
        };
        let (status, text) = self.bucket_request(reqwest::Method::PUT, body, &what).await?;
        // Already there and ours (another replica won the race) is fine.
        if status.is_success() || text.contains("BucketAlreadyOwnedByYou") {
            tracing::info!(bucket = %self.bucket, "remote::s3: created the bucket {}", self.where_());
            return Ok(());
        }
        tracing::warn!(bucket = %self.bucket, "remote::s3: could not {what}: {status}: {text}");
        Err(self.refused(&what, &format!("S3 answered {status}")))
    }

    /// A request on the bucket itself. object_store has no bucket calls, so this is its
    /// pre-signed URL for `<method> /<bucket>/`, sent with a plain HTTP client; the status and
    /// body come back, a transport failure is 503 (504 on a timeout).
    async fn bucket_request(&self, method: reqwest::Method, body: String, what: &str) -> Result<(reqwest::StatusCode, String)> {
        let url = self
            .store
            .signed_url(method.clone(), &Path::default(), Duration::from_secs(300))
            .await
            .map_err(|e| s3_error(what, &self.bucket, e))?;
        let unreachable = |e: reqwest::Error| {
            tracing::warn!(bucket = %self.bucket, "remote::s3: could not {what}: {e}");
            let (kind, reason) = if e.is_timeout() {
                (ErrorKind::Timeout, "the S3 endpoint did not answer in time")
            } else {
                (ErrorKind::UpstreamUnavailable, "the S3 endpoint could not be reached")
            };
            Error::new(kind, format!("Files storage (S3 bucket '{}'): could not {what}: {reason}", self.bucket))
        };
        let mut request = self.http.request(method.clone(), url);
        if method != reqwest::Method::HEAD {
            // S3 wants a length even for an empty body (411 otherwise).
            request = request.header(reqwest::header::CONTENT_LENGTH, body.len()).body(body);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        Ok((status, text))
    }

    /// Streams what is left of `content` after `head` as a multipart upload.
    async fn write_multipart(
        &self,
        path: &Path,
        head: Vec<Bytes>,
        mut len: u64,
        content: &mut BoxStream<'_, Result<Bytes>>,
        max: u64,
    ) -> Result<u64> {
        let what = || format!("store {path}");
        let upload = self.store.put_multipart(path).await.map_err(|e| s3_error(&what(), &self.bucket, e))?;
        let mut writer = Unfinished(Some(WriteMultipart::new_with_chunk_size(upload, self.part_size)));
        let streamed: Result<()> = async {
            for chunk in head {
                writer.get()?.put(chunk);
            }
            while let Some(chunk) = content.next().await {
                let chunk = chunk?;
                len += chunk.len() as u64;
                if len > max {
                    return Err(file_too_large(max));
                }
                let w = writer.get()?;
                w.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| s3_error(&what(), &self.bucket, e))?;
                w.put(chunk);
            }
            Ok(())
        }
        .await;
        let finished = match streamed {
            Ok(()) => writer.take()?.finish().await.map_err(|e| s3_error(&what(), &self.bucket, e)),
            Err(e) => {
                if let Err(abort) = writer.take()?.abort().await {
                    tracing::warn!(bucket = %self.bucket, "remote::s3: could not abort the upload of {path}: {abort}");
                }
                Err(e)
            }
        };
        finished.map(|_| len)
    }
}

/// A multipart upload under way: dropped unfinished (the request was cancelled), it is
/// aborted in the background so S3 does not keep its parts.
struct Unfinished(Option<WriteMultipart>);

impl Unfinished {
    fn get(&mut self) -> Result<&mut WriteMultipart> {
        self.0.as_mut().ok_or_else(|| Error::internal("remote::s3: the multipart upload is already over"))
    }

    fn take(&mut self) -> Result<WriteMultipart> {
        self.0.take().ok_or_else(|| Error::internal("remote::s3: the multipart upload is already over"))
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let (Some(writer), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::warn!("remote::s3: could not abort a cancelled upload: {e}");
                }
            });
        }
    }
}

/// An object whose metadata row is not in yet; dropped without `keep`, it is deleted in the
/// background.
struct StagedObject {
    store: Arc<AmazonS3>,
    path: Option<Path>,
    bytes: u64,
}

impl StagedBlob for StagedObject {
    fn bytes(&self) -> u64 {
        self.bytes
    }

    fn keep(mut self: Box<Self>) {
        self.path = None;
    }
}

impl Drop for StagedObject {
    fn drop(&mut self) {
        if let (Some(path), Ok(runtime)) = (self.path.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            runtime.spawn(async move {
                if let Err(e) = store.delete(&path).await {
                    tracing::warn!("remote::s3: could not delete {path}, whose upload did not complete: {e}");
                }
            });
        }
    }
}

#[async_trait]
impl BlobStore for S3Objects {
    async fn write(&self, id: &str, mut content: BoxStream<'_, Result<Bytes>>, max: u64) -> Result<Box<dyn StagedBlob>> {
        let path = self.path(id);
        // Up to one part is gathered first: a file that fits goes up in one PUT.
        let mut head = Vec::new();
        let mut len = 0u64;
        let mut more = true;
        while len < self.part_size as u64 {
            let Some(chunk) = content.next().await else {
                more = false;
                break;
            };
            let chunk = chunk?;
            len += chunk.len() as u64;
            if len > max {
                return Err(file_too_large(max));
            }
            head.push(chunk);
        }
        let bytes = if more {
            self.write_multipart(&path, head, len, &mut content, max).await?
        } else {
            let payload: PutPayload = head.into_iter().collect();
            self.store.put(&path, payload).await.map_err(|e| s3_error(&format!("store {path}"), &self.bucket, e))?;
            len
        };
        Ok(Box::new(StagedObject { store: self.store.clone(), path: Some(path), bytes }))
    }

    async fn read(&self, id: &str) -> Result<Option<Bytes>> {
        let path = self.path(id);
        let what = || format!("read {path}");
        let found = match self.store.get(&path).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(s3_error(&what(), &self.bucket, e)),
        };
        found.bytes().await.map(Some).map_err(|e| s3_error(&what(), &self.bucket, e))
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let path = self.path(id);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(&format!("delete {path}"), &self.bucket, e)),
        }
    }

    fn location(&self) -> String {
        match self.prefix.as_str() {
            "" => format!("s3://{}", self.bucket),
            prefix => format!("s3://{}/{prefix}", self.bucket),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_file_id_under_the_prefix() {
        let id = "file-0123456789abcdef0123456789abcdef";
        assert_eq!(object_key("", id), id);
        assert_eq!(object_key("llama/files", id), format!("llama/files/{id}"));
        let mut config = S3FilesConfig::new("my-files", "sql_default");
        config.key_prefix = "/team-a/".into();
        let objects = S3Objects::new(&config).unwrap();
        assert_eq!(objects.path(id).as_ref(), format!("team-a/{id}"));
        assert_eq!(objects.location(), "s3://my-files/team-a");
        assert_eq!(objects.where_(), "in AWS region us-east-1");
    }
}
