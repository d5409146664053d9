//! HTML → readable text with `html2text` (html5ever's spec parser): tags, scripts and styles
//! dropped, block structure kept as line breaks, no link or emphasis markup.
//!
//! html5ever's tree building costs O(depth) per tag (the spec's scope checks walk the stack of
//! open elements), so a small file of 100,000 nested `<div>`s takes a minute. A linear pre-scan
//! refuses documents nested deeper than [`MAX_DEPTH`]; real pages stay far below it.

use lls_api_common::Error;

/// Deepest element nesting accepted (browsers cap their DOM trees at a few hundred levels).
const MAX_DEPTH: usize = 2048;

/// Line width for rendering: wide enough that paragraphs are not re-wrapped.
const RENDER_WIDTH: usize = 10_000;

/// Elements that never hold content.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose end tag may be left out (the parser closes them), plus the document
/// wrappers: not counted, so sloppy but ordinary HTML never looks deep.
const IMPLIED_END: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup",
    "caption", "rb", "rt", "rtc", "rp", "html", "head", "body",
];

pub(crate) fn to_text(html: &str, filename: &str) -> Result<String, Error> {
    if nesting_depth(html) > MAX_DEPTH {
        return Err(Error::invalid(format!(
            "HTML file '{filename}' nests elements more than {MAX_DEPTH} levels deep"
        )));
    }
    let text = html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
        .no_table_borders()
        .link_footnotes(false)
        .string_from_read(html.as_bytes(), RENDER_WIDTH)
        .map_err(|e| Error::invalid(format!("could not read HTML file '{filename}': {e}")))?;
    Ok(text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_owned())
}

/// Deepest nesting of elements that need an end tag, counted from start and end tags without
/// building a tree: O(n), an estimate that is exact for well-formed markup.
fn nesting_depth(html: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for (at, _) in html.match_indices('<') {
        let rest = html.get(at + 1..).unwrap_or_default();
        let (closing, rest) = match rest.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        if name_len == 0 || !rest.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
            continue; // a comment, doctype, processing instruction or a stray '<'
        }
        let name = rest.get(..name_len).unwrap_or_default().to_ascii_lowercase();
        if VOID.contains(&name.as_str()) || IMPLIED_END.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else if !self_closed(rest.get(name_len..).unwrap_or_default()) {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Whether the tag whose attributes start `rest` ends with `/>`.
fn self_closed(rest: &str) -> bool {
    let tag = rest.split('>').next().unwrap_or_default();
    tag.len() < rest.len() && tag.ends_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_elements_that_need_end_tags() {
        assert_eq!(nesting_depth("plain text"), 0);
        assert_eq!(nesting_depth("<div><span>a</span><span>b</span></div>"), 2);
        assert_eq!(nesting_depth("<DIV><Section><div></div></section></div>"), 3);
        assert_eq!(nesting_depth("<div><br><img src=x><svg/><p>a<p>b<li>c</div>"), 1);
        assert_eq!(nesting_depth("<!-- <div> --> a < b <3 </ div>"), 1);
    }

    #[test]
    fn deep_nesting_is_refused_quickly_and_sloppy_pages_are_not() {
        let deep = format!("{}x{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
        let started = std::time::Instant::now();
        let err = to_text(&deep, "deep.html").unwrap_err();
        assert!(err.message().contains("deep.html") && err.message().contains("levels deep"), "{}", err.message());
        assert!(started.elapsed().as_secs() < 5);

        let fine = format!("{}x{}", "<div>".repeat(500), "</div>".repeat(500));
        assert_eq!(to_text(&fine, "ok.html").unwrap(), "x");

        // Thousands of unclosed paragraphs and list items: shallow once parsed.
        let sloppy = "<p>para <li>item <br>\n".repeat(5_000);
        let text = to_text(&sloppy, "sloppy.html").unwrap();
        assert_eq!(text.matches("item").count(), 5_000);
    }
}
