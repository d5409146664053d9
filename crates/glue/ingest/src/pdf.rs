//! PDF text extraction with `pdf-extract` (on `lopdf`): the text of each page, pages joined
//! with "\n" as upstream's `pypdf` path does.
//!
//! The extractor panics on some malformed files and on font encodings it does not know, so the
//! document load and every page run under `catch_unwind`: a page that fails is left out (and
//! logged), a file where no page can be read is an `invalid` error. Never a panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use lls_api_common::Error;
use pdf_extract::{Document, PlainTextOutput, output_doc_page};

pub(crate) fn extract_text(bytes: &[u8], filename: &str) -> Result<String, Error> {
    let invalid = |why: &str| Error::invalid(format!("could not read PDF file '{filename}': {why}"));
    if bytes.is_empty() {
        return Err(invalid("the file is empty"));
    }
    let doc = guarded(|| load(bytes))
        .ok_or_else(|| invalid("the file is malformed"))?
        .map_err(|e| invalid(&e))?;
    let page_numbers: Vec<u32> = doc.get_pages().into_keys().collect();
    let mut pages = Vec::with_capacity(page_numbers.len());
    let mut failed = Vec::new();
    for number in page_numbers {
        match guarded(|| page_text(&doc, number)) {
            Some(Ok(text)) => pages.push(text),
            Some(Err(why)) => failed.push(format!("page {number}: {why}")),
            None => failed.push(format!("page {number}: the extractor does not support its content")),
        }
    }
    if pages.is_empty() && !failed.is_empty() {
        return Err(invalid(&format!("no page could be read ({})", failed.join("; "))));
    }
    if !failed.is_empty() {
        tracing::warn!(file = filename, skipped = ?failed, "PDF pages left out of the extracted text");
    }
    Ok(pages.join("\n"))
}

/// Runs `f`, turning a panic into `None`. Nothing is shared with the caller but read-only
/// input, and a panicked run's partial output is dropped, so no broken state escapes.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

fn load(bytes: &[u8]) -> Result<Document, String> {
    let mut doc = Document::load_mem(bytes).map_err(|e| e.to_string())?;
    if doc.is_encrypted() {
        // Files "encrypted" with an empty user password open without one, as in PDF readers.
        doc.decrypt("").map_err(|_| "the file is encrypted with a password".to_owned())?;
    }
    Ok(doc)
}

fn page_text(doc: &Document, number: u32) -> Result<String, String> {
    let mut text = String::new();
    output_doc_page(doc, &mut PlainTextOutput::new(&mut text), number).map_err(|e| e.to_string())?;
    Ok(text)
}
