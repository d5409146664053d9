//! `/v1/files`: multipart uploads streamed into the files provider (never buffered whole when
//! `purpose` precedes the file, as OpenAI's SDKs send it), list, retrieve, delete, and raw content.

use std::sync::Arc;

use axum::Json;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use lls_api_common::{Error, ErrorKind, RequestContext};
use lls_api_files::{
    ExpiresAfter, ExpiresAnchor, FileDeleted, FileList, FileObject, FilePurpose, Files, ListFilesQuery, UploadFile,
    UploadStream, file_too_large,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use lls_http::{ApiError, ApiResult, Ctx};

/// The one files provider serves every request.
type AppState = Arc<dyn Files>;

/// Largest value of a non-file form field (`purpose`, `expires_after`, …).
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Most form parts an upload may have.
const MAX_PARTS: usize = 32;

/// Room for the form fields and multipart framing around the file in a `Content-Length`.
const FORM_OVERHEAD: u64 = (MAX_PARTS * MAX_FIELD_BYTES) as u64 + 64 * 1024;

fn files(state: &AppState) -> ApiResult<&Arc<dyn Files>> {
    Ok(state)
}

fn multipart_error(e: MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::new(ErrorKind::PayloadTooLarge, format!("the upload is too large: {}", e.body_text()))
    } else {
        Error::invalid(format!("invalid multipart body: {}", e.body_text()))
    }
}

/// The `expires_after` form values: one JSON field, or `expires_after[anchor]`/`[seconds]`.
#[derive(Default)]
struct ExpiresFields {
    json: Option<String>,
    anchor: Option<String>,
    seconds: Option<String>,
}

impl ExpiresFields {
    fn parse(&self) -> Result<Option<ExpiresAfter>, Error> {
        let invalid = |m: String| Error::invalid(m).with_param("expires_after");
        if self.json.is_some() && (self.anchor.is_some() || self.seconds.is_some()) {
            return Err(invalid(
                "give expires_after either as JSON or as expires_after[anchor] and expires_after[seconds], not both".into(),
            ));
        }
        let parsed = if self.anchor.is_some() || self.seconds.is_some() {
            let anchor = self.anchor.as_deref().map(str::trim);
            if anchor != Some("created_at") {
                return Err(invalid(format!("expires_after[anchor] must be 'created_at' (got {anchor:?})")));
            }
            let seconds = self.seconds.as_deref().map(str::trim).unwrap_or_default();
            let seconds = seconds
                .parse()
                .map_err(|_| invalid(format!("expires_after[seconds] must be an integer number of seconds (got '{seconds}')")))?;
            ExpiresAfter { anchor: ExpiresAnchor::CreatedAt, seconds }
        } else if let Some(json) = &self.json {
            serde_json::from_str(json).map_err(|e| {
                invalid(format!("expires_after must be {{\"anchor\": \"created_at\", \"seconds\": N}}: {e}"))
            })?
        } else {
            return Ok(None);
        };
        parsed.validate()?;
        Ok(Some(parsed))
    }
}

/// What the form said, as far as it has been read.
#[derive(Default)]
struct Form {
    purpose: Option<FilePurpose>,
    expires: ExpiresFields,
    /// The file, when it came before `purpose` and so had to be held until the form was read.
    held: Option<(String, Option<String>, Bytes)>,
    /// The file, when it was streamed to the provider as it arrived.
    uploaded: Option<FileObject>,
}

/// A text field's value, refusing more than [`MAX_FIELD_BYTES`].
async fn read_text(mut field: Field<'_>, name: &str) -> Result<String, Error> {
    let mut value = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if value.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("form field '{name}' is larger than {MAX_FIELD_BYTES} bytes"),
            ));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value.to_vec()).map_err(|_| Error::invalid(format!("form field '{name}' is not UTF-8 text")))
}

/// Reads the form, streaming the file to the provider once `purpose` is known.
async fn read_form(files: &dyn Files, ctx: &RequestContext, multipart: &mut Multipart, form: &mut Form) -> Result<(), Error> {
    let max = files.max_upload_bytes();
    let mut parts = 0;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(Error::invalid(format!("the upload form has more than {MAX_PARTS} parts")));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let misplaced = || Error::invalid(format!("form field '{name}' must come before 'file'")).with_param(name.clone());
        match name.as_str() {
            "file" => {
                if form.uploaded.is_some() || form.held.is_some() {
                    return Err(Error::invalid("only one 'file' part is allowed").with_param("file"));
                }
                let filename = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(str::to_owned);
                if let Some(purpose) = form.purpose {
                    let upload = UploadStream {
                        filename,
                        content_type,
                        purpose,
                        expires_after: form.expires.parse()?,
                        content: field.map(|chunk| chunk.map_err(multipart_error)).boxed(),
                    };
                    form.uploaded = Some(files.upload_stream(ctx, upload).await?);
                } else {
                    let mut content = BytesMut::new();
                    let mut field = field;
                    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                        if (content.len() + chunk.len()) as u64 > max {
                            return Err(file_too_large(max));
                        }
                        content.extend_from_slice(&chunk);
                    }
                    form.held = Some((filename, content_type, content.freeze()));
                }
            }
            "purpose" => {
                let value = read_text(field, &name).await?;
                if form.uploaded.is_some() {
                    return Err(misplaced());
                }
                form.purpose = Some(FilePurpose::parse_upload(value.trim())?);
            }
            "expires_after" | "expires_after[anchor]" | "expires_after[seconds]" => {
                let value = read_text(field, &name).await?;
                if form.uploaded.is_some() {
                    return Err(misplaced());
                }
                let slot = match name.as_str() {
                    "expires_after" => &mut form.expires.json,
                    "expires_after[anchor]" => &mut form.expires.anchor,
                    _ => &mut form.expires.seconds,
                };
                *slot = Some(value);
            }
            // Fields OpenAI may add later are read (bounded) and ignored.
            _ => {
                read_text(field, &name).await?;
            }
        }
    }
    Ok(())
}

/// `POST /v1/files` (multipart: `file`, `purpose`, optional `expires_after`).
pub async fn upload(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<FileObject>> {
    let files = files(&state)?;
    let max = files.max_upload_bytes();
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max.saturating_add(FORM_OVERHEAD)) {
        return Err(ApiError(file_too_large(max)));
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError(Error::invalid(format!("an upload must be a multipart/form-data body with 'file' and 'purpose': {}", e.body_text())))
    })?;
    let mut form = Form::default();
    if let Err(e) = read_form(files.as_ref(), &ctx, &mut multipart, &mut form).await {
        // A file streamed in before the form turned out bad is not kept.
        if let Some(done) = form.uploaded.take()
            && let Err(cleanup) = files.delete(&ctx, &done.id).await
        {
            tracing::warn!(file_id = %done.id, "could not remove the upload of a rejected form: {cleanup}");
        }
        return Err(ApiError(e));
    }
    if let Some(done) = form.uploaded {
        return Ok(Json(done));
    }
    let Some((filename, content_type, content)) = form.held else {
        return Err(ApiError(Error::invalid("the upload form has no 'file' part").with_param("file")));
    };
    let purpose = form.purpose.ok_or_else(|| {
        ApiError(Error::invalid("the upload form has no 'purpose' (one of 'assistants', 'batch')").with_param("purpose"))
    })?;
    let upload = UploadFile { filename, content_type, content, purpose, expires_after: form.expires.parse()? };
    Ok(Json(files.upload(&ctx, upload).await?))
}

/// `GET /v1/files?after&limit&order&purpose`.
pub async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    query: Result<Query<ListFilesQuery>, QueryRejection>,
) -> ApiResult<Json<FileList>> {
    let Query(query) = query.map_err(|e| ApiError(Error::invalid(format!("invalid query parameters: {}", e.body_text()))))?;
    Ok(Json(files(&state)?.list(&ctx, query).await?))
}

/// `GET /v1/files/{file_id}`.
pub async fn retrieve(State(state): State<AppState>, Ctx(ctx): Ctx, Path(file_id): Path<String>) -> ApiResult<Json<FileObject>> {
    lls_api_files::limits::check_file_id(&file_id)?;
    Ok(Json(files(&state)?.retrieve(&ctx, &file_id).await?))
}

/// `DELETE /v1/files/{file_id}`.
pub async fn delete(State(state): State<AppState>, Ctx(ctx): Ctx, Path(file_id): Path<String>) -> ApiResult<Json<FileDeleted>> {
    lls_api_files::limits::check_file_id(&file_id)?;
    Ok(Json(files(&state)?.delete(&ctx, &file_id).await?))
}

/// `GET /v1/files/{file_id}/content`: the bytes, typed by the filename's extension.
pub async fn content(State(state): State<AppState>, Ctx(ctx): Ctx, Path(file_id): Path<String>) -> ApiResult<Response> {
    lls_api_files::limits::check_file_id(&file_id)?;
    let c = files(&state)?.content(&ctx, &file_id).await?;
    let mime = mime_guess::from_path(&c.file.filename).first_or_octet_stream();
    let content_type = HeaderValue::from_str(mime.as_ref()).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&c.file.filename))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok(([(header::CONTENT_TYPE, content_type), (header::CONTENT_DISPOSITION, disposition)], c.content).into_response())
}

/// RFC 5987 `attr-char`s are sent as they are; everything else is percent-encoded.
const ATTR_CHAR_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="…"` with a plain-ASCII fallback (quotes, backslashes and anything
/// unprintable replaced, so the name can never break the header), plus RFC 6266's `filename*`
/// with the exact UTF-8 name when the fallback differs from it.
fn content_disposition(filename: &str) -> String {
    let plain = |c: char| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\');
    let fallback: String = filename.chars().map(|c| if plain(c) { c } else { '_' }).collect();
    if fallback == filename {
        format!("attachment; filename=\"{fallback}\"")
    } else {
        format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{}", utf8_percent_encode(filename, ATTR_CHAR_ESCAPES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_never_breaks_the_header() {
        assert_eq!(content_disposition("notes.txt"), "attachment; filename=\"notes.txt\"");
        assert_eq!(content_disposition("a b.pdf"), "attachment; filename=\"a b.pdf\"");
        assert_eq!(
            content_disposition("résumé \"v2\".pdf"),
            "attachment; filename=\"r_sum_ _v2_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf"
        );
        let injected = content_disposition("x\r\nSet-Cookie: a=b");
        assert!(HeaderValue::from_str(&injected).is_ok(), "{injected}");
        assert!(injected.starts_with("attachment; filename=\"x__Set-Cookie: a=b\""), "{injected}");
    }

    #[test]
    fn expires_after_in_both_spellings() {
        let brackets = ExpiresFields { anchor: Some("created_at".into()), seconds: Some("4545".into()), json: None };
        assert_eq!(brackets.parse().unwrap().unwrap().seconds, 4545);
        let json = ExpiresFields { json: Some(r#"{"anchor": "created_at", "seconds": 3600}"#.into()), ..Default::default() };
        assert_eq!(json.parse().unwrap().unwrap().seconds, 3600);
        assert!(ExpiresFields::default().parse().unwrap().is_none());
        for bad in [
            ExpiresFields { anchor: Some("last_active_at".into()), seconds: Some("4545".into()), json: None },
            ExpiresFields { anchor: None, seconds: Some("4545".into()), json: None },
            ExpiresFields { anchor: Some("created_at".into()), seconds: Some("soon".into()), json: None },
            ExpiresFields { anchor: Some("created_at".into()), seconds: Some("60".into()), json: None },
            ExpiresFields { json: Some("{\"seconds\": 4545}".into()), ..Default::default() },
            ExpiresFields { json: Some("4545".into()), ..Default::default() },
        ] {
            let err = bad.parse().unwrap_err();
            assert_eq!((err.kind(), err.param()), (ErrorKind::InvalidRequest, Some("expires_after")), "{err}");
        }
    }
}
