//! PDF text extraction with `pdf-extract` (on `lopdf`), one string per page joined with "\n"
//! as upstream's `pypdf` path does. The extractor panics on some malformed files, so it runs
//! under `catch_unwind` and any panic becomes an `invalid` error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use lls_api_common::Error;

pub(crate) fn extract_text(bytes: &[u8], filename: &str) -> Result<String, Error> {
    let invalid = |why: &str| Error::invalid(format!("could not read PDF file '{filename}': {why}"));
    if bytes.is_empty() {
        return Err(invalid("the file is empty"));
    }
    // The input is only read and the result is dropped on a panic, so no broken state leaks.
    let pages = catch_unwind(AssertUnwindSafe(|| pdf_extract::extract_text_from_mem_by_pages(bytes)))
        .map_err(|_| invalid("the file is malformed or uses features the extractor does not support"))?
        .map_err(|e| invalid(&e.to_string()))?;
    Ok(pages.join("\n"))
}
