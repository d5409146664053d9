//! Bytes of an uploaded file → its text: decoding of `text/*` (with encoding detection),
//! readable text from HTML, pretty-printed JSON, and PDF text (see `pdf.rs`).

use encoding_rs::Encoding;
use lls_api_common::Error;

use crate::detect::{Format, detect};
use crate::{html, pdf};

/// A file's extracted text and the MIME type it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDocument {
    /// The text to chunk. May be empty (an empty file, a PDF of scanned images).
    pub text: String,
    /// The type the file was read as: `text/markdown`, `application/pdf`, `text/plain`, …
    pub mime_type: String,
}

/// Extracts the text of a file.
///
/// The type comes from `content_type` when it is given and says something (not
/// `application/octet-stream`), else from the `filename` extension, else from the bytes (PDF
/// magic, an HTML prologue, text that is not binary); an extension guessed as a type we cannot
/// read (`.java`, `.ts`) still yields text when the bytes are text.
///
/// * `text/*` and textual `application/*` types (XML, YAML, scripts, …): decoded with the
///   declared charset, else a BOM, else UTF-8, else the encoding `chardetng` detects.
/// * HTML: the readable text, without tags, scripts or styles (upstream 0.3.5 indexes raw HTML).
/// * JSON: the document pretty-printed (upstream 0.3.5 indexes nothing for JSON).
/// * PDF: the text of each page, pages joined with `"\n"`; a page the extractor cannot read
///   is left out (an error only when no page can be read).
///
/// NUL characters are dropped (no store can keep them in text). Unsupported types (images,
/// archives, Office files) and files that do not parse as their type are `invalid` errors that
/// name the file and the type; this never panics.
pub fn parse(bytes: &[u8], filename: &str, content_type: Option<&str>) -> Result<ParsedDocument, Error> {
    let detected = detect(bytes, filename, content_type);
    let charset = detected.charset.as_deref();
    let text = match detected.format {
        Some(Format::Text) => decode_text(bytes, charset),
        Some(Format::Html) => html::to_text(&decode_text(bytes, charset), filename)?,
        Some(Format::Json) => pretty_json(&decode_text(bytes, charset), filename)?,
        Some(Format::Pdf) => pdf::extract_text(bytes, filename)?,
        None => {
            return Err(Error::invalid(format!(
                "unsupported file type '{}' for file '{filename}': supported are text (plain, markdown, CSV, \
                 source code, XML, YAML), HTML, JSON and PDF",
                detected.mime_type
            )));
        }
    };
    let text = if text.contains('\0') { text.replace('\0', "") } else { text };
    Ok(ParsedDocument { text, mime_type: detected.mime_type })
}

/// How much of a non-UTF-8 file the encoding detector reads.
const DETECT_LEN: usize = 1 << 20;

/// Decodes text: a declared charset (a BOM still overrides it, as browsers do), else a BOM,
/// else UTF-8, else the encoding `chardetng` guesses. Undecodable bytes become U+FFFD.
fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    if let Some(encoding) = charset.and_then(|label| Encoding::for_label(label.as_bytes())) {
        return encoding.decode(bytes).0.into_owned();
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        return encoding.decode_without_bom_handling(body).0.into_owned();
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    let sample = bytes.get(..DETECT_LEN).unwrap_or(bytes);
    detector.feed(sample, sample.len() == bytes.len());
    let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

fn pretty_json(json: &str, filename: &str) -> Result<String, Error> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::invalid(format!("file '{filename}' is not valid JSON: {e}")))?;
    serde_json::to_string_pretty(&value)
        .map_err(|e| Error::invalid(format!("could not re-serialize JSON file '{filename}': {e}")))
}
