//! `parse` against every supported family, generated PDFs included, and the error paths.
// The fixture builders are not #[test] functions.
#![allow(clippy::unwrap_used)]

use lls_api_common::ErrorKind;
use lls_ingest::parse;
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

/// A PDF with one page per string, each drawn in Helvetica, written by lopdf.
fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
    let pages: Vec<(&str, bool)> = pages.iter().map(|text| (*text, true)).collect();
    build_pdf(&pages)
}

/// Pages of `(text, readable)`; an unreadable page lacks the MediaBox every page must have
/// (pdf-extract panics on it).
fn build_pdf(pages: &[(&str, bool)]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let kids: Vec<Object> = pages
        .iter()
        .map(|&(text, readable)| {
            let content = Content {
                operations: vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new("Td", vec![72.into(), 700.into()]),
                    Operation::new("Tj", vec![Object::string_literal(text)]),
                    Operation::new("ET", vec![]),
                ],
            };
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
            let mut page = dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id };
            if readable {
                page.set("MediaBox", vec![0.into(), 0.into(), 612.into(), 792.into()]);
            }
            doc.add_object(page).into()
        })
        .collect();
    let count = i64::try_from(kids.len()).unwrap();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "Resources" => resources_id,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[test]
fn plain_markdown_csv_and_source_code_are_read_as_utf8() {
    let doc = parse("# Títle\n\nBody 🦀\n".as_bytes(), "readme.md", None).unwrap();
    assert_eq!(doc.text, "# Títle\n\nBody 🦀\n");
    assert_eq!(doc.mime_type, "text/markdown");

    let doc = parse(b"a,b\n1,2\n", "data.csv", None).unwrap();
    assert_eq!((doc.text.as_str(), doc.mime_type.as_str()), ("a,b\n1,2\n", "text/csv"));

    let doc = parse(b"def f():\n    return 1\n", "f.py", None).unwrap();
    assert_eq!(doc.text, "def f():\n    return 1\n");
    assert!(doc.mime_type.starts_with("text/"), "{}", doc.mime_type);

    let doc = parse(b"public class A {}", "A.java", Some("application/octet-stream")).unwrap();
    assert_eq!((doc.text.as_str(), doc.mime_type.as_str()), ("public class A {}", "text/plain"));
}

#[test]
fn latin1_text_is_detected_and_decoded() {
    let latin1 = b"Le caf\xe9 \xe0 c\xf4t\xe9 de la gare \xe9tait d\xe9j\xe0 ferm\xe9. \
                   Les \xe9l\xe8ves fran\xe7ais y mangeaient des cr\xeapes.";
    let doc = parse(latin1, "notes.txt", None).unwrap();
    assert!(doc.text.starts_with("Le café à côté de la gare était déjà fermé."), "{}", doc.text);
    assert!(doc.text.contains("élèves français"), "{}", doc.text);
    assert!(!doc.text.contains('\u{FFFD}'));
}

#[test]
fn declared_charset_and_boms_are_honoured() {
    let doc = parse(b"na\xefve", "a.txt", Some("text/plain; charset=ISO-8859-1")).unwrap();
    assert_eq!(doc.text, "naïve");
    let doc = parse(b"\xEF\xBB\xBFhello", "a.txt", None).unwrap();
    assert_eq!(doc.text, "hello");
    let doc = parse(b"\xFF\xFEh\0i\0", "a.txt", None).unwrap();
    assert_eq!(doc.text, "hi");
    // Unknown labels are ignored rather than failing the file.
    let doc = parse(b"plain", "a.txt", Some("text/plain; charset=klingon")).unwrap();
    assert_eq!(doc.text, "plain");
}

#[test]
fn nul_characters_are_dropped() {
    let doc = parse(b"a\0b", "a.txt", None).unwrap();
    assert_eq!(doc.text, "ab");
}

#[test]
fn html_keeps_readable_text_and_drops_scripts_and_styles() {
    let html = br#"<!DOCTYPE html><html><head><title>T</title>
        <style>body { color: red; } .secret { display: none }</style>
        <script>var tracking = "do-not-index"; alert(1);</script></head>
        <body><h1>Release notes</h1><p>The <b>new</b> parser handles <a href="https://x.invalid">links</a>.</p>
        <ul><li>first item</li><li>second item</li></ul>
        <table><tr><td>cell one</td><td>cell two</td></tr></table>
        <script type="module">import("evil")</script></body></html>"#;
    let doc = parse(html, "page.html", None).unwrap();
    assert_eq!(doc.mime_type, "text/html");
    let text = &doc.text;
    for kept in ["Release notes", "The new parser handles links.", "first item", "second item", "cell one", "cell two"] {
        assert!(text.contains(kept), "missing {kept:?} in {text:?}");
    }
    for dropped in ["color: red", "do-not-index", "alert", "evil", "<p>", "<b>", "https://x.invalid"] {
        assert!(!text.contains(dropped), "kept {dropped:?} in {text:?}");
    }
}

#[test]
fn html_is_sniffed_and_non_utf8_html_is_decoded() {
    let doc = parse(b"<!doctype html><p>caf\xe9 cr\xe8me br\xfbl\xe9e et th\xe9 glac\xe9</p>", "page", None).unwrap();
    assert_eq!(doc.mime_type, "text/html");
    assert_eq!(doc.text, "café crème brûlée et thé glacé");
}

#[test]
fn json_is_pretty_printed_in_key_order() {
    let json = br#"{"z":1,"a":{"list":[1,{"deep":{"deeper":["x",null,true]}}],"s":"caf\u00e9"}}"#;
    let doc = parse(json, "data.json", None).unwrap();
    assert_eq!(doc.mime_type, "application/json");
    let expected = r#"{
  "z": 1,
  "a": {
    "list": [
      1,
      {
        "deep": {
          "deeper": [
            "x",
            null,
            true
          ]
        }
      }
    ],
    "s": "café"
  }
}"#;
    assert_eq!(doc.text, expected);
}

#[test]
fn invalid_json_is_a_clear_invalid_error() {
    let err = parse(b"{\"a\": ", "broken.json", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.message().contains("broken.json") && err.message().contains("not valid JSON"), "{}", err.message());
}

#[test]
fn generated_pdf_yields_text_per_page() {
    let pdf = pdf_with_pages(&["Hello from page one", "Second page speaks"]);
    let doc = parse(&pdf, "report.pdf", None).unwrap();
    assert_eq!(doc.mime_type, "application/pdf");
    assert_eq!(words(&doc.text), ["Hello", "from", "page", "one", "Second", "page", "speaks"]);
    let first = doc.text.find("one").unwrap();
    let second = doc.text.find("Second").unwrap();
    assert!(doc.text[first..second].contains('\n'), "pages not separated: {:?}", doc.text);

    // Sniffed without a name or type, and a declared type wins over a misleading name.
    assert_eq!(parse(&pdf, "upload", None).unwrap().mime_type, "application/pdf");
    assert_eq!(parse(&pdf, "x.txt", Some("application/pdf")).unwrap().text, doc.text);
}

#[test]
fn a_pdf_page_that_breaks_the_extractor_is_left_out() {
    let pdf = build_pdf(&[("Readable first page", true), ("Broken page", false), ("Readable last page", true)]);
    let doc = parse(&pdf, "mixed.pdf", None).unwrap();
    assert_eq!(words(&doc.text), ["Readable", "first", "page", "Readable", "last", "page"]);

    let pdf = build_pdf(&[("Broken", false), ("Also broken", false)]);
    let err = parse(&pdf, "broken.pdf", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.message().contains("no page could be read") && err.message().contains("page 2"), "{}", err.message());
}

#[test]
fn a_pdf_without_pages_has_no_text() {
    let doc = parse(&build_pdf(&[]), "blank.pdf", None).unwrap();
    assert_eq!(doc.text, "");
}

#[test]
fn garbage_and_truncated_pdfs_are_invalid_errors_not_panics() {
    let pdf = pdf_with_pages(&["Some text"]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"%PDF-1.4\n this is not really a pdf \x00\x01\x02".to_vec()),
        ("truncated", pdf[..pdf.len() / 2].to_vec()),
        ("no header", b"definitely not a pdf".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        let err = parse(&bytes, "bad.pdf", None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{what}");
        assert!(err.message().contains("bad.pdf") && err.message().contains("PDF"), "{what}: {}", err.message());
    }
}

#[test]
fn empty_text_file_gives_empty_text() {
    let doc = parse(b"", "empty.txt", None).unwrap();
    assert_eq!((doc.text.as_str(), doc.mime_type.as_str()), ("", "text/plain"));
    let doc = parse(b"", "blob", None).unwrap();
    assert_eq!(doc.text, "");
}

#[test]
fn unsupported_types_are_invalid_errors_naming_the_type() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    let zip = b"PK\x03\x04\x14\0\0\0\x08\0";
    let cases: [(&[u8], &str, Option<&str>, &str); 4] = [
        (png, "cat.png", None, "image/png"),
        (zip, "archive.zip", None, "application/zip"),
        (b"anything", "x.bin", Some("image/jpeg"), "image/jpeg"),
        (zip, "blob", Some("application/octet-stream"), "application/octet-stream"),
    ];
    for (bytes, name, content_type, mime) in cases {
        let err = parse(bytes, name, content_type).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        let msg = err.message();
        assert!(msg.contains("unsupported file type") && msg.contains(mime) && msg.contains(name), "{msg}");
    }
}
