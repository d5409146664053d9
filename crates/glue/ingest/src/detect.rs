//! Which extractor a file goes to: the declared content type, else the filename extension,
//! else a look at the bytes (PDF magic, an HTML prologue, text that is not binary).

use mime_guess::MimeGuess;

/// The extractor families this crate has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Html,
    Json,
    Pdf,
}

/// What detection decided: the extractor (or `None` when the type is unsupported), the MIME
/// type reported to callers, and a declared charset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detected {
    pub format: Option<Format>,
    pub mime_type: String,
    pub charset: Option<String>,
}

/// Types that say nothing about the content; detection goes on to the filename.
const OPAQUE_TYPES: &[&str] = &["application/octet-stream", "binary/octet-stream", "application/unknown"];

/// `application/*` types that are plain text to index as is.
const TEXTUAL_APPLICATION_TYPES: &[&str] = &[
    "application/xml",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/typescript",
    "application/x-typescript",
    "application/x-sh",
    "application/x-shellscript",
    "application/x-csh",
    "application/sql",
    "application/x-sql",
    "application/x-tex",
    "application/x-latex",
    "application/x-httpd-php",
    "application/x-python",
    "application/x-python-code",
    "application/x-perl",
    "application/x-ruby",
    "application/graphql",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-seq",
    "application/x-subrip",
    "application/rtf",
];

pub(crate) fn detect(bytes: &[u8], filename: &str, content_type: Option<&str>) -> Detected {
    if let Some((essence, charset)) = content_type.and_then(split_content_type)
        && !OPAQUE_TYPES.contains(&essence.as_str())
    {
        return Detected { format: classify(&essence), mime_type: essence, charset };
    }
    let guessed = MimeGuess::from_path(filename).first_raw().map(str::to_ascii_lowercase);
    if let Some(guessed) = &guessed
        && let Some(format) = classify(guessed)
    {
        return Detected { format: Some(format), mime_type: guessed.clone(), charset: None };
    }
    // Unknown extension, or one guessed as something we cannot read (`.java` and `.ts` are
    // guessed as octet-stream and video): the content decides.
    if let Some(sniffed) = sniff(bytes) {
        return sniffed;
    }
    let mime_type = guessed
        .filter(|g| !OPAQUE_TYPES.contains(&g.as_str()))
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Detected { format: None, mime_type, charset: None }
}

/// `"Text/HTML; charset=\"latin1\""` → `("text/html", Some("latin1"))`; `None` when empty.
fn split_content_type(content_type: &str) -> Option<(String, Option<String>)> {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence.is_empty() {
        return None;
    }
    let charset = parts.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    });
    Some((essence, charset))
}

fn classify(essence: &str) -> Option<Format> {
    match essence {
        "application/pdf" | "application/x-pdf" => Some(Format::Pdf),
        "text/html" | "application/xhtml+xml" => Some(Format::Html),
        "application/json" | "text/json" | "text/x-json" => Some(Format::Json),
        e if e.starts_with("application/") && e.ends_with("+json") => Some(Format::Json),
        e if e.starts_with("text/") => Some(Format::Text),
        e if e.ends_with("+xml") || TEXTUAL_APPLICATION_TYPES.contains(&e) => Some(Format::Text),
        _ => None,
    }
}

/// How much of the file the sniffer reads.
const SNIFF_LEN: usize = 8192;

fn sniff(bytes: &[u8]) -> Option<Detected> {
    let detected = |format, mime_type: &str| {
        Some(Detected { format: Some(format), mime_type: mime_type.to_owned(), charset: None })
    };
    let head = bytes.get(..SNIFF_LEN).unwrap_or(bytes);
    // The PDF header may follow some junk within the first 1024 bytes.
    if head.get(..1024).unwrap_or(head).windows(5).any(|w| w == b"%PDF-") {
        return detected(Format::Pdf, "application/pdf");
    }
    if !looks_like_text(head) {
        return None;
    }
    let start = String::from_utf8_lossy(head.get(..512).unwrap_or(head)).trim_start().to_ascii_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        return detected(Format::Html, "text/html");
    }
    detected(Format::Text, "text/plain")
}

/// Text in any 8-bit or UTF-8 encoding (or UTF-16 with a BOM): no NUL bytes and hardly any
/// control characters. Binary formats (images, archives, Office files) fail this at once.
fn looks_like_text(head: &[u8]) -> bool {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    if head.contains(&0) {
        return false;
    }
    let control = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)) || b == 0x7F)
        .count();
    control * 100 <= head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(bytes: &[u8], filename: &str, content_type: Option<&str>) -> (Option<Format>, String) {
        let d = detect(bytes, filename, content_type);
        (d.format, d.mime_type)
    }

    #[test]
    fn declared_type_wins_unless_opaque() {
        assert_eq!(format_of(b"x", "a.pdf", Some("text/plain")), (Some(Format::Text), "text/plain".into()));
        assert_eq!(format_of(b"x", "a.md", Some("application/octet-stream")).1, "text/markdown");
        assert_eq!(format_of(b"x", "a.bin", Some("Image/PNG")), (None, "image/png".into()));
        assert_eq!(format_of(b"{}", "a", Some("application/ld+json")).0, Some(Format::Json));
        assert_eq!(format_of(b"<a/>", "a", Some("application/atom+xml")).0, Some(Format::Text));
    }

    #[test]
    fn charset_parameter_is_kept() {
        let d = detect(b"x", "a.txt", Some("text/plain; Charset=\"ISO-8859-1\""));
        assert_eq!(d.charset.as_deref(), Some("ISO-8859-1"));
        assert_eq!(d.mime_type, "text/plain");
    }

    #[test]
    fn extension_then_sniffing() {
        assert_eq!(format_of(b"a,b", "t.csv", None), (Some(Format::Text), "text/csv".into()));
        assert_eq!(format_of(b"<p>", "t.HTM", None).0, Some(Format::Html));
        assert_eq!(format_of(b"{}", "t.json", None).0, Some(Format::Json));
        assert_eq!(format_of(b"%PDF-1.4", "t.pdf", None).0, Some(Format::Pdf));
        // Guessed as octet-stream / video, but the bytes are text.
        assert_eq!(format_of(b"class A {}", "A.java", None), (Some(Format::Text), "text/plain".into()));
        assert_eq!(format_of(b"let a = 1;", "a.ts", None).0, Some(Format::Text));
        assert_eq!(format_of(b"%PDF-1.7\n", "upload", None).0, Some(Format::Pdf));
        assert_eq!(format_of(b"  <!DOCTYPE html><p>hi", "page", None).0, Some(Format::Html));
        assert_eq!(format_of(b"caf\xe9", "notes", None).0, Some(Format::Text));
        assert_eq!(format_of(b"", "empty", None), (Some(Format::Text), "text/plain".into()));
    }

    #[test]
    fn binary_content_is_unsupported_and_named() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(format_of(png, "cat.png", None), (None, "image/png".into()));
        assert_eq!(format_of(png, "cat", None), (None, "application/octet-stream".into()));
        assert_eq!(format_of(b"PK\x03\x04\x14\0\0\0", "a.zip", None), (None, "application/zip".into()));
    }
}
