//! Python-compatible text for output that must match Llama Stack 0.3.5 byte for byte: what
//! CPython 3.12's `repr()` (and so `str()` of a dict or list, and `str.format` of one) writes
//! for a JSON value — `{'a': [1, 2.5, True, None], 'b': "it's"}`.
//!
//! - [`repr`]: a JSON value as Python writes the object `json.loads` makes of it.
//! - [`repr_str`]: a str's repr: quote choice (`'` unless the text has `'` and no `"`),
//!   `\\`, `\t`, `\n`, `\r`, `\xNN` for other ASCII controls, and `\xNN` / `\uNNNN` /
//!   `\UNNNNNNNN` for characters Unicode 15.0 does not call printable (categories C* and Z*
//!   but the space: e.g. U+00A0, U+200D, U+2028, private use, unassigned).
//! - [`repr_float`]: shortest round-trip digits, `.0` on integral values, exponent form
//!   (`1e-05`, `1e+16`) below 1e-4 and from 1e16 up.
//! - [`json_dumps`]: `json.dumps` with its defaults (ASCII only, `", "` and `": "`), what
//!   0.3.5's web search tools return; [`json_dumps_unicode`] with `ensure_ascii=False`, what
//!   chat templates' `tojson` writes.
//!
//! ```
//! let v = serde_json::json!({"title": "it's", "n": 1e-5, "tags": ["a\tb"], "ok": true});
//! assert_eq!(lls_pycompat::repr(&v), r#"{'title': "it's", 'n': 1e-05, 'tags': ['a\tb'], 'ok': True}"#);
//! ```

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::syntax::Syntax;

mod dumps;
mod printable;
mod syntax;

pub use dumps::{json_dumps, json_dumps_unicode};

/// Python's `repr` of the object `json.loads` makes of `value` (`str()` of a dict or list is
/// the same text).
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    REPR.write_value(&mut out, value);
    out
}

/// Python's `repr` of a dict with these entries, in order.
pub fn repr_map(map: &Map<String, Value>) -> String {
    let mut out = String::new();
    REPR.write_map(&mut out, map);
    out
}

/// Python's `repr` of a str.
pub fn repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(&mut out, s);
    out
}

/// Python's `repr` of a float.
pub fn repr_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python writes 1e-05 and 1e+16; Rust's LowerExp writes 1e-5 and 1e16.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// Python's `repr` syntax: `None`, `True`, `False`, strs as [`repr_str`] writes them.
const REPR: Syntax = Syntax {
    null: "None",
    true_: "True",
    false_: "False",
    write_str,
};

/// CPython's `unicode_repr`, character by character.
fn write_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_ascii() || is_printable(c) => out.push(c),
            c => {
                let cp = u32::from(c);
                let _ = if cp <= 0xff {
                    write!(out, "\\x{cp:02x}")
                } else if cp <= 0xffff {
                    write!(out, "\\u{cp:04x}")
                } else {
                    write!(out, "\\U{cp:08x}")
                };
            }
        }
    }
    out.push(quote);
}

/// `str.isprintable()` of a non-ASCII character, per Unicode 15.0 (CPython 3.12).
fn is_printable(c: char) -> bool {
    let cp = u32::from(c);
    let table = printable::NOT_PRINTABLE;
    let i = table.partition_point(|&(_, end)| end < cp);
    table.get(i).is_none_or(|&(start, _)| cp < start)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dicts_lists_and_scalars() {
        let v =
            json!({"a": [1, 2.5, 1.0, true, null], "b": "it's", "c": "q\"'\n", "d": {}, "e": []});
        assert_eq!(
            repr(&v),
            r#"{'a': [1, 2.5, 1.0, True, None], 'b': "it's", 'c': 'q"\'\n', 'd': {}, 'e': []}"#
        );
    }

    #[test]
    fn floats() {
        for (f, s) in [
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1.5e300, "1.5e+300"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(repr_float(f), s);
        }
    }

    #[test]
    fn the_table_is_sorted_and_disjoint() {
        let table = printable::NOT_PRINTABLE;
        assert!(table.iter().all(|(a, b)| a <= b));
        assert!(table.windows(2).all(|w| w[0].1 + 1 < w[1].0));
    }

    /// Unicode 15.0 (CPython 3.12, what 0.3.5 runs on) assigned U+1FA77 PINK HEART; Python
    /// 3.11 (Unicode 14) would still escape it.
    #[test]
    fn unicode_15_characters_are_printable() {
        assert_eq!(repr_str("\u{1fa77}"), "'\u{1fa77}'");
        assert_eq!(repr_str("\u{1fa7d}"), "'\\U0001fa7d'"); // unassigned in 15.0
    }
}
