//! Bounds of the files API's client-supplied strings; past a bound the request is a 400 naming
//! the field, before any provider is asked.

use lls_api_common::Result;
use lls_api_common::limits::{MAX_ID_CHARS, check_chars};

/// A file id in a path (`/v1/files/{file_id}`): ours are `file-` and 32 hex digits, OpenAI's
/// are under 64 characters; anything past this is no file.
pub const MAX_FILE_ID_CHARS: usize = MAX_ID_CHARS;

pub fn check_file_id(file_id: &str) -> Result<()> {
    check_chars("file_id", file_id, MAX_FILE_ID_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_bounded() {
        assert!(check_file_id("file-abc").is_ok());
        assert_eq!(check_file_id(&"f".repeat(MAX_FILE_ID_CHARS + 1)).err().and_then(|e| e.param().map(str::to_owned)).as_deref(), Some("file_id"));
    }
}
