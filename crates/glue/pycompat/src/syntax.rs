//! What `repr` and `json.dumps` write alike: containers with `", "` and `": "`, ints as they
//! are and floats as `float.__repr__`; a [`Syntax`] supplies the rest (literals, strings).

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use crate::repr_float;

/// How one of the two Python writers spells what differs between them.
pub(crate) struct Syntax {
    pub null: &'static str,
    pub true_: &'static str,
    pub false_: &'static str,
    /// A str, quotes and escapes included.
    pub write_str: fn(&mut String, &str),
}

impl Syntax {
    pub fn write_value(&self, out: &mut String, value: &Value) {
        match value {
            Value::Null => out.push_str(self.null),
            Value::Bool(true) => out.push_str(self.true_),
            Value::Bool(false) => out.push_str(self.false_),
            Value::Number(n) => write_number(out, n),
            Value::String(s) => (self.write_str)(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_value(out, item);
                }
                out.push(']');
            }
            Value::Object(map) => self.write_map(out, map),
        }
    }

    pub fn write_map(&self, out: &mut String, map: &Map<String, Value>) {
        out.push('{');
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            (self.write_str)(out, k);
            out.push_str(": ");
            self.write_value(out, v);
        }
        out.push('}');
    }
}

/// JSON numbers with a fraction or exponent are Python floats, written as `float.__repr__`
/// (`1e-05`, `2.0`), which `json.dumps` uses too; the rest are ints.
fn write_number(out: &mut String, n: &Number) {
    match n.as_f64() {
        Some(f) if n.is_f64() => out.push_str(&repr_float(f)),
        _ => {
            let _ = write!(out, "{n}");
        }
    }
}
