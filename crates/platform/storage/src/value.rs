//! Conversions between JSON values (how rows travel through the stack) and typed SQL values:
//! JSON columns are stored as text and parsed on the way out.

use lls_api_common::store::{Column, ColumnType};
use lls_api_common::{Error, Result};
use serde_json::{Number, Value};

use crate::dialect::Param;

/// The parameter that stores `value` in `column`; a type mismatch is the caller's mistake.
pub(crate) fn to_param(column: &Column, value: &Value) -> Result<Param> {
    let ty = column.ty;
    let param = match (ty, value) {
        (_, Value::Null) => Some(Param::Null(ty)),
        (ColumnType::Json, v) => Some(Param::Text(serde_json::to_string(v)?)),
        (ColumnType::Text, Value::String(s)) => Some(Param::Text(s.clone())),
        (ColumnType::Integer, Value::Number(n)) => integer(n).map(Param::Int),
        (ColumnType::Float, Value::Number(n)) => n.as_f64().map(Param::Float),
        (ColumnType::Boolean, Value::Bool(b)) => Some(Param::Bool(*b)),
        _ => None,
    };
    param.ok_or_else(|| {
        Error::invalid(format!(
            "column '{}' expects {}, got {value}",
            column.name,
            type_word(ty)
        ))
    })
}

/// A cursor id (always a string in the API) as a parameter for the id column's type.
pub(crate) fn cursor_param(column: &Column, id: &str) -> Result<Param> {
    match column.ty {
        ColumnType::Text | ColumnType::Json => Ok(Param::Text(id.to_owned())),
        _ => {
            let parsed: Value = serde_json::from_str(id).map_err(|_| {
                Error::invalid(format!(
                    "cursor '{id}' is not a valid {}",
                    type_word(column.ty)
                ))
            })?;
            to_param(column, &parsed)
        }
    }
}

/// Integers, and floats without a fractional part (JSON writers sometimes emit `3.0`).
fn integer(n: &Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

fn type_word(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer => "an integer",
        ColumnType::Float => "a number",
        ColumnType::Text => "a string",
        ColumnType::Boolean => "a boolean",
        ColumnType::Json => "JSON",
    }
}

/// A float as JSON; NaN and infinities have no JSON form and come back as null.
pub(crate) fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// The text of a JSON column, parsed. Text that is not JSON (written by something else)
/// comes back as a string rather than failing the whole read.
pub(crate) fn json_from_text(text: String) -> Value {
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(_) => {
            tracing::debug!("JSON column holds text that is not JSON; returning it as a string");
            Value::String(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_follow_column_types() -> Result<()> {
        let int = Column::new("n", ColumnType::Integer);
        assert_eq!(to_param(&int, &json!(3))?, Param::Int(3));
        assert_eq!(to_param(&int, &json!(3.0))?, Param::Int(3));
        assert!(to_param(&int, &json!(3.5)).is_err());
        assert!(to_param(&int, &json!("3")).is_err());
        assert_eq!(
            to_param(&int, &Value::Null)?,
            Param::Null(ColumnType::Integer)
        );
        let js = Column::new("j", ColumnType::Json);
        assert_eq!(
            to_param(&js, &json!({"a": [1]}))?,
            Param::Text("{\"a\":[1]}".into())
        );
        assert_eq!(to_param(&js, &json!("s"))?, Param::Text("\"s\"".into()));
        let b = Column::new("b", ColumnType::Boolean);
        assert_eq!(to_param(&b, &json!(true))?, Param::Bool(true));
        assert!(to_param(&b, &json!(1)).is_err());
        Ok(())
    }

    #[test]
    fn cursors_parse_for_numeric_ids() -> Result<()> {
        assert_eq!(
            cursor_param(&Column::new("id", ColumnType::Integer), "42")?,
            Param::Int(42)
        );
        assert!(cursor_param(&Column::new("id", ColumnType::Integer), "x").is_err());
        assert_eq!(
            cursor_param(&Column::new("id", ColumnType::Text), "42")?,
            Param::Text("42".into())
        );
        Ok(())
    }

    #[test]
    fn json_text() {
        assert_eq!(json_from_text("[1,2]".into()), json!([1, 2]));
        assert_eq!(json_from_text("not json".into()), json!("not json"));
        assert_eq!(float(f64::NAN), Value::Null);
    }
}
