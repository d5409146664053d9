//! A `RAGDocument`'s bytes, media type and upload filename, as 0.3.5 derives them: text as
//! `text/plain`, `data:` URLs (as a URL or as the text itself) decoded. Remote `http(s)` URLs
//! are refused: fetching arbitrary URLs from the server is left to the client.

use base64::Engine;
use lls_api_common::{Error, Result};
use lls_api_tool_runtime::{ContentItem, InterleavedContent, RagDocument, RagDocumentContent};
use serde_json::Value;

/// What is uploaded for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDocument {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub filename: String,
}

/// The document's bytes, media type and filename (`metadata.filename`, else the document id
/// plus the extension of its media type, `.txt` when there is none).
pub fn raw_document(doc: &RagDocument) -> Result<RawDocument> {
    let fail = |message: String| Error::invalid(format!("document '{}': {message}", doc.document_id)).with_param("documents");
    let (bytes, mime_type) = match &doc.content {
        RagDocumentContent::Url(url) if url.uri.starts_with("data:") => parse_data_url(&url.uri).map_err(fail)?,
        RagDocumentContent::Url(url) => {
            return Err(fail(format!(
                "content URL '{}' cannot be fetched by this server; send the text, or a data: URL",
                url.uri
            )));
        }
        RagDocumentContent::Content(content) => {
            let text = content_as_str(content);
            if text.starts_with("data:") {
                parse_data_url(&text).map_err(fail)?
            } else {
                (text.into_bytes(), "text/plain".to_owned())
            }
        }
    };
    let filename = match doc.metadata.get("filename") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        Some(Value::String(_)) | None => format!("{}{}", doc.document_id, extension_of(&mime_type)),
        Some(other) => return Err(fail(format!("metadata.filename must be a string (got {other})"))),
    };
    Ok(RawDocument { bytes, mime_type, filename })
}

/// 0.3.5's `interleaved_content_as_str`: text parts as they are, images as `<image>`, items
/// joined with a space.
pub fn content_as_str(content: &InterleavedContent) -> String {
    let item = |i: &ContentItem| match i {
        ContentItem::Text { text } => text.clone(),
        ContentItem::Image { .. } => "<image>".to_owned(),
    };
    match content {
        InterleavedContent::Text(t) => t.clone(),
        InterleavedContent::Item(i) => item(i),
        InterleavedContent::Items(items) => items.iter().map(item).collect::<Vec<_>>().join(" "),
    }
}

/// `data:[<media type>][;charset=…][;base64],<data>`; without `;base64` the data is taken as is
/// (0.3.5 does not percent-decode it). The media type defaults to `text/plain`.
fn parse_data_url(url: &str) -> std::result::Result<(Vec<u8>, String), String> {
    let rest = url.strip_prefix("data:").unwrap_or(url);
    let (header, data) = rest.split_once(',').ok_or("a data: URL needs a ',' before its data")?;
    let mut parts = header.split(';');
    let mime = parts.next().unwrap_or_default().trim();
    let mut base64 = false;
    for p in parts {
        if p.eq_ignore_ascii_case("base64") {
            base64 = true;
        } else if !p.to_ascii_lowercase().starts_with("charset=") {
            return Err(format!("unsupported data: URL parameter '{p}'"));
        }
    }
    let mime = if mime.is_empty() { "text/plain".to_owned() } else { mime.to_ascii_lowercase() };
    let bytes = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("the data: URL is not valid base64: {e}"))?
    } else {
        data.as_bytes().to_vec()
    };
    Ok((bytes, mime))
}

/// The extension Python's `mimetypes.guess_extension` gives the media types documents come in.
fn extension_of(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or_default().trim() {
        "application/pdf" => ".pdf",
        "text/html" => ".html",
        "application/json" => ".json",
        "text/markdown" => ".md",
        "text/csv" => ".csv",
        "application/xml" | "text/xml" => ".xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => ".docx",
        "application/msword" => ".doc",
        "application/octet-stream" => ".bin",
        _ => ".txt",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(v: Value) -> RagDocument {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn text_is_plain_text_named_after_the_document() {
        let raw = raw_document(&doc(json!({"document_id": "d1", "content": "hello"}))).unwrap();
        assert_eq!(raw, RawDocument { bytes: b"hello".to_vec(), mime_type: "text/plain".into(), filename: "d1.txt".into() });
        let raw = raw_document(&doc(json!({"document_id": "d", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "metadata": {"filename": "x.md"}}))).unwrap();
        assert_eq!((raw.bytes, raw.filename.as_str()), (b"a b".to_vec(), "x.md"));
    }

    #[test]
    fn data_urls_are_decoded_in_both_places() {
        let raw = raw_document(&doc(json!({"document_id": "d", "content": {"uri": "data:application/pdf;base64,JVBERg=="}}))).unwrap();
        assert_eq!((raw.bytes, raw.mime_type.as_str(), raw.filename.as_str()), (b"%PDF".to_vec(), "application/pdf", "d.pdf"));
        let raw = raw_document(&doc(json!({"document_id": "d", "content": "data:text/html;charset=utf-8,<p>x</p>"}))).unwrap();
        assert_eq!((raw.bytes, raw.filename.as_str()), (b"<p>x</p>".to_vec(), "d.html"));
    }

    #[test]
    fn bad_documents_are_client_errors_naming_the_document() {
        for content in [json!({"uri": "https://example.com/a.pdf"}), json!("data:text/plain;base64,%%%"), json!("data:nocomma")] {
            let e = raw_document(&doc(json!({"document_id": "bad-doc", "content": content}))).unwrap_err();
            assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest);
            assert!(e.message().contains("bad-doc"), "{e}");
        }
        assert!(raw_document(&doc(json!({"document_id": "d", "content": "x", "metadata": {"filename": 3}}))).is_err());
    }
}
