//! S3 failures (as `object_store` reports them) → our error kinds; the only place that knows
//! them. A refused key or a missing bucket is the operator's problem, not the caller's: 502.
//! An endpoint that cannot be reached is 503, one that does not answer in time 504. The full
//! error (URL, S3's XML body) goes to the log; the client gets what failed and why.

use lls_api_common::{Error, ErrorKind};
use object_store::client::{HttpError, HttpErrorKind};

/// What kind of failure `e` is, and a short reason to show.
pub(crate) fn classify(e: &object_store::Error) -> (ErrorKind, &'static str) {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } => (ErrorKind::UpstreamError, "S3 answered 404 (is the bucket gone?)"),
        E::PermissionDenied { .. } => (ErrorKind::UpstreamError, "S3 refused the credentials (403: check the access key, secret and bucket policy)"),
        E::Unauthenticated { .. } => (ErrorKind::UpstreamError, "S3 refused the credentials (401)"),
        E::Precondition { .. } | E::AlreadyExists { .. } | E::NotModified { .. } => (ErrorKind::UpstreamError, "S3 refused the request"),
        E::Generic { .. } => match transport_kind(e) {
            Some(HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Interrupted) => {
                (ErrorKind::UpstreamUnavailable, "the S3 endpoint could not be reached")
            }
            Some(HttpErrorKind::Timeout) => (ErrorKind::Timeout, "the S3 endpoint did not answer in time"),
            Some(_) => (ErrorKind::UpstreamError, "S3 sent an answer that could not be read"),
            None => (ErrorKind::UpstreamError, "S3 answered with an error"),
        },
        _ => (ErrorKind::Internal, "the S3 client refused the request"),
    }
}

/// The transport failure behind `e`, if that is what it is.
fn transport_kind(e: &object_store::Error) -> Option<HttpErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(http) = err.downcast_ref::<HttpError>() {
            return Some(http.kind());
        }
        source = err.source();
    }
    None
}

/// `e`, met while doing `what` (e.g. "store file-…"), as our error; logged in full.
pub(crate) fn s3_error(what: &str, bucket: &str, e: object_store::Error) -> Error {
    let (kind, reason) = classify(&e);
    tracing::warn!(bucket, "remote::s3: could not {what}: {e}");
    Error::new(kind, format!("Files storage (S3 bucket '{bucket}'): could not {what}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(msg: &str) -> Box<dyn std::error::Error + Send + Sync> {
        msg.to_owned().into()
    }

    #[test]
    fn kinds_follow_who_is_at_fault() {
        let e = |err| classify(&err).0;
        assert_eq!(e(object_store::Error::NotFound { path: "k".into(), source: boxed("404") }), ErrorKind::UpstreamError);
        assert_eq!(e(object_store::Error::PermissionDenied { path: "k".into(), source: boxed("403") }), ErrorKind::UpstreamError);
        assert_eq!(e(object_store::Error::Unauthenticated { path: "k".into(), source: boxed("401") }), ErrorKind::UpstreamError);
        let connect = object_store::Error::Generic { store: "S3", source: Box::new(HttpError::new(HttpErrorKind::Connect, std::io::Error::other("refused"))) };
        assert_eq!(e(connect), ErrorKind::UpstreamUnavailable);
        let timeout = object_store::Error::Generic { store: "S3", source: Box::new(HttpError::new(HttpErrorKind::Timeout, std::io::Error::other("slow"))) };
        assert_eq!(e(timeout), ErrorKind::Timeout);
        assert_eq!(e(object_store::Error::Generic { store: "S3", source: boxed("500 InternalError") }), ErrorKind::UpstreamError);
        assert_eq!(e(object_store::Error::NotImplemented { operation: "x".into(), implementer: "y".into() }), ErrorKind::Internal);
    }

    #[test]
    fn the_message_names_the_bucket_and_hides_the_details() {
        let err = s3_error(
            "store file-1",
            "my-files",
            object_store::Error::PermissionDenied { path: "file-1".into(), source: boxed("<Error><Code>InvalidAccessKeyId</Code></Error>") },
        );
        assert_eq!(err.kind(), ErrorKind::UpstreamError);
        assert!(err.message().starts_with("Files storage (S3 bucket 'my-files'): could not store file-1: S3 refused the credentials"), "{}", err.message());
        assert!(!err.message().contains("InvalidAccessKeyId"));
    }
}
