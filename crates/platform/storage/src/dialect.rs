//! What differs between SQLite and PostgreSQL in the SQL we write (placeholders, type names,
//! key collation), and a small statement builder that only accepts validated identifiers.

use std::fmt::Write as _;

use lls_api_common::store::ColumnType;
use lls_api_common::{Error, Result};

/// The SQL flavour of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn type_name(self, ty: ColumnType) -> &'static str {
        match (self, ty) {
            (Dialect::Sqlite, ColumnType::Integer) => "INTEGER",
            (Dialect::Sqlite, ColumnType::Float) => "REAL",
            (Dialect::Sqlite, ColumnType::Boolean) => "BOOLEAN",
            (Dialect::Postgres, ColumnType::Integer) => "BIGINT",
            (Dialect::Postgres, ColumnType::Float) => "DOUBLE PRECISION",
            (Dialect::Postgres, ColumnType::Boolean) => "BOOLEAN",
            (_, ColumnType::Text | ColumnType::Json) => "TEXT",
        }
    }

    /// Appended to text comparisons and `ORDER BY` on kv keys so keys sort bytewise
    /// (SQLite's default already does; a PostgreSQL database may have a locale collation).
    pub(crate) fn bytewise_collation(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        }
    }

    /// How `ALTER TABLE` adds a column: on PostgreSQL without failing when another server
    /// added it since we looked (SQLite has no `IF NOT EXISTS` there, nor other servers).
    pub(crate) fn add_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => "ADD COLUMN",
            Dialect::Postgres => "ADD COLUMN IF NOT EXISTS",
        }
    }

    /// A query listing the column names `table` already has (bind: the table name).
    pub(crate) fn existing_columns_sql(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT name FROM pragma_table_info(?)",
            Dialect::Postgres => {
                "SELECT column_name::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        }
    }
}

/// Checks `name` is a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes, PostgreSQL's
/// limit) and returns it double-quoted. This check is what makes building SQL text safe.
pub(crate) fn quote_ident(name: &str) -> Result<String> {
    let mut chars = name.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let valid_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_start || !valid_rest || name.len() > 63 {
        return Err(Error::invalid(format!(
            "invalid SQL identifier '{name}': use letters, digits and '_', not starting with a digit"
        )));
    }
    Ok(format!("\"{name}\""))
}

/// A value bound to a statement parameter. A NULL carries its column type because PostgreSQL
/// checks the declared type of every parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Null(ColumnType),
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

/// SQL text plus its parameters, ready to run on a backend of the dialect it was built for.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
}

/// Builds a [`Statement`]: identifiers go through [`quote_ident`], values become parameters.
#[derive(Debug)]
pub(crate) struct StatementBuilder {
    dialect: Dialect,
    sql: String,
    params: Vec<Param>,
    has_where: bool,
}

impl StatementBuilder {
    pub(crate) fn new(dialect: Dialect) -> Self {
        StatementBuilder {
            dialect,
            sql: String::with_capacity(128),
            params: Vec::new(),
            has_where: false,
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends trusted SQL text (keywords, punctuation, already-quoted identifiers).
    pub(crate) fn sql(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    /// Appends a validated, quoted identifier.
    pub(crate) fn ident(&mut self, name: &str) -> Result<&mut Self> {
        let quoted = quote_ident(name)?;
        self.sql.push_str(&quoted);
        Ok(self)
    }

    /// Appends a placeholder bound to `param`.
    pub(crate) fn param(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        match self.dialect {
            Dialect::Sqlite => self.sql.push('?'),
            Dialect::Postgres => {
                let _ = write!(self.sql, "${}", self.params.len());
            }
        }
        self
    }

    /// Starts the next `WHERE` condition: `WHERE` the first time, `AND` afterwards.
    pub(crate) fn and_where(&mut self) -> &mut Self {
        self.sql
            .push_str(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
        self
    }

    pub(crate) fn build(self) -> Statement {
        Statement {
            sql: self.sql,
            params: self.params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(
            quote_ident("chat_completions").ok().as_deref(),
            Some("\"chat_completions\"")
        );
        assert!(quote_ident("_x1").is_ok());
        for bad in [
            "",
            "1abc",
            "a b",
            "a;drop table x",
            "a\"b",
            "ключ",
            "a-b",
            &"x".repeat(64),
        ] {
            let err = quote_ident(bad).err().map(|e| e.kind());
            assert_eq!(
                err,
                Some(lls_api_common::ErrorKind::InvalidRequest),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn placeholders_follow_the_dialect() -> Result<()> {
        for (dialect, expected) in [
            (
                Dialect::Sqlite,
                "SELECT * FROM \"t\" WHERE \"a\" = ? AND \"b\" = ?",
            ),
            (
                Dialect::Postgres,
                "SELECT * FROM \"t\" WHERE \"a\" = $1 AND \"b\" = $2",
            ),
        ] {
            let mut b = StatementBuilder::new(dialect);
            b.sql("SELECT * FROM ").ident("t")?;
            b.and_where().ident("a")?.sql(" = ").param(Param::Int(1));
            b.and_where()
                .ident("b")?
                .sql(" = ")
                .param(Param::Text("x".into()));
            let stmt = b.build();
            assert_eq!(stmt.sql, expected);
            assert_eq!(stmt.params.len(), 2);
        }
        Ok(())
    }
}
