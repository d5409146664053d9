//! Python's `json.dumps(value)` with its defaults (`ensure_ascii=True`, separators `", "` and
//! `": "`, floats as `repr` writes them): the text upstream tools hand models as their result.

use std::fmt::Write as _;

use serde_json::Value;

use crate::syntax::Syntax;

/// `json.dumps` of the object `json.loads` makes of `value`.
pub fn json_dumps(value: &Value) -> String {
    let mut out = String::new();
    JSON.write_value(&mut out, value);
    out
}

/// `json.dumps(value, ensure_ascii=False)`: the same, with every character but the quote, the
/// backslash and the controls below U+0020 written as itself — what Hugging Face chat
/// templates' `tojson` filter writes into prompts.
pub fn json_dumps_unicode(value: &Value) -> String {
    let mut out = String::new();
    JSON_UNICODE.write_value(&mut out, value);
    out
}

/// JSON's syntax: `null`, `true`, `false`, ASCII-only double-quoted strings.
const JSON: Syntax = Syntax {
    null: "null",
    true_: "true",
    false_: "false",
    write_str,
};

/// The same with `ensure_ascii=False` strings.
const JSON_UNICODE: Syntax = Syntax {
    write_str: write_str_unicode,
    ..JSON
};

/// `py_encode_basestring_ascii`: short escapes where JSON has them, `\u00XX` for other
/// controls and DEL, `\uXXXX` (surrogate pairs past the BMP) for everything not ASCII.
fn write_str(out: &mut String, s: &str) {
    write_escaped(out, s, true);
}

/// `py_encode_basestring`: short escapes where JSON has them, `\u00XX` for other controls
/// below U+0020; everything else (DEL and non-ASCII included) as itself.
fn write_str_unicode(out: &mut String, s: &str) {
    write_escaped(out, s, false);
}

fn write_escaped(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c if !ascii && c >= ' ' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn python_spacing_and_literals() {
        let v = json!({"a": [1, 2.5, 1.0, true, null], "b": {}, "c": [], "d": 1e-5});
        assert_eq!(
            json_dumps(&v),
            r#"{"a": [1, 2.5, 1.0, true, null], "b": {}, "c": [], "d": 1e-05}"#
        );
    }

    #[test]
    fn strings_are_ascii_only() {
        // Checked against CPython 3.12: json.dumps("q\"\\\n\t\x01\x7fé€😀")
        let s = "q\"\\\n\t\u{1}\u{7f}é€😀";
        assert_eq!(
            json_dumps(&json!(s)),
            r#""q\"\\\n\t\u0001\u007f\u00e9\u20ac\ud83d\ude00""#
        );
        assert_eq!(json_dumps(&json!("\u{8}\u{c}\r")), r#""\b\f\r""#);
    }

    #[test]
    fn unicode_strings_keep_their_characters() {
        // Checked against CPython 3.12: json.dumps(s, ensure_ascii=False)
        let s = "q\"\\\n\t\u{1}\u{7f}é€😀";
        assert_eq!(
            json_dumps_unicode(&json!({"k": s, "n": [1.0]})),
            "{\"k\": \"q\\\"\\\\\\n\\t\\u0001\u{7f}é€😀\", \"n\": [1.0]}"
        );
    }
}
