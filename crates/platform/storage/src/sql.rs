//! The SQL table store: tables declared with [`Column`]s, rows as JSON maps, keyset pagination.
//! Every identifier is validated and quoted; every value is a bound parameter.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use lls_api_common::access::OwnerFilter;
use lls_api_common::store::{Column, ColumnType, Filter, OWNER_COLUMNS, Order, Page, PageQuery, Row, SqlStore};
use lls_api_common::{Error, Result};
use serde_json::Value;

use crate::db::Db;
use crate::dialect::{Dialect, Param, Statement, StatementBuilder, quote_ident};
use crate::value::{cursor_param, to_param};

/// A [`SqlStore`] over one backend. It remembers the columns each table was declared with
/// (by [`SqlStore::create_table`]) to type parameters and decode rows.
pub(crate) struct SqlTableStore {
    db: Arc<Db>,
    tables: RwLock<HashMap<String, Schema>>,
}

/// A table's declared columns, in declaration order.
#[derive(Clone)]
struct Schema(Arc<[Column]>);

impl Schema {
    fn column(&self, table: &str, name: &str) -> Result<&Column> {
        self.0
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::invalid(format!("table '{table}' has no column '{name}'")))
    }

    fn types(&self) -> Vec<ColumnType> {
        self.0.iter().map(|c| c.ty).collect()
    }

    fn select_list(&self) -> Result<String> {
        let names: Result<Vec<String>> = self.0.iter().map(|c| quote_ident(c.name)).collect();
        Ok(names?.join(", "))
    }

    fn to_row(&self, values: Vec<Value>) -> Row {
        self.0
            .iter()
            .map(|c| c.name.to_owned())
            .zip(values)
            .collect()
    }
}

impl SqlTableStore {
    pub(crate) fn new(db: Arc<Db>) -> Self {
        SqlTableStore {
            db,
            tables: RwLock::new(HashMap::new()),
        }
    }

    fn schema(&self, table: &str) -> Result<Schema> {
        quote_ident(table)?;
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables.get(table).cloned().ok_or_else(|| {
            Error::internal(format!(
                "table '{table}' is unknown to storage backend '{}': call create_table first",
                self.db.name()
            ))
        })
    }

    fn builder(&self) -> StatementBuilder {
        StatementBuilder::new(self.db.dialect())
    }

    async fn existing_columns(&self, table: &str) -> Result<HashSet<String>> {
        let stmt = Statement {
            sql: self.db.dialect().existing_columns_sql().to_owned(),
            params: vec![Param::Text(table.to_owned())],
        };
        let rows = self.db.fetch(stmt, &[ColumnType::Text]).await?;
        Ok(rows
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    fn insert_statement(
        &self,
        table: &str,
        schema: &Schema,
        row: &Row,
    ) -> Result<StatementBuilder> {
        if row.is_empty() {
            return Err(Error::invalid(format!(
                "cannot insert an empty row into '{table}'"
            )));
        }
        let mut b = self.builder();
        b.sql("INSERT INTO ").ident(table)?.sql(" (");
        for (i, name) in row.keys().enumerate() {
            if i > 0 {
                b.sql(", ");
            }
            b.ident(name)?;
        }
        b.sql(") VALUES (");
        for (i, (name, value)) in row.iter().enumerate() {
            if i > 0 {
                b.sql(", ");
            }
            b.param(to_param(schema.column(table, name)?, value)?);
        }
        b.sql(")");
        Ok(b)
    }

    /// `INSERT ... VALUES (..), (..) ON CONFLICT (keys) DO UPDATE SET c = excluded.c, ...`
    /// for rows that all have the columns of the first.
    fn upsert_statement(&self, table: &str, schema: &Schema, rows: &[&Row], key_columns: &[&str]) -> Result<Statement> {
        let Some(first) = rows.first() else {
            return Err(Error::internal(format!("an upsert into '{table}' with no rows")));
        };
        let columns: Vec<&String> = first.keys().collect();
        let typed: Vec<&Column> = columns.iter().map(|name| schema.column(table, name)).collect::<Result<_>>()?;
        let mut b = self.builder();
        b.sql("INSERT INTO ").ident(table)?.sql(" (");
        for (i, name) in columns.iter().enumerate() {
            if i > 0 {
                b.sql(", ");
            }
            b.ident(name)?;
        }
        b.sql(") VALUES ");
        for (r, row) in rows.iter().enumerate() {
            b.sql(if r == 0 { "(" } else { ", (" });
            for (i, (name, column)) in columns.iter().zip(&typed).enumerate() {
                if i > 0 {
                    b.sql(", ");
                }
                let value = row.get(name.as_str()).unwrap_or(&Value::Null);
                b.param(to_param(column, value)?);
            }
            b.sql(")");
        }
        b.sql(" ON CONFLICT (");
        for (i, key) in key_columns.iter().enumerate() {
            if i > 0 {
                b.sql(", ");
            }
            b.ident(key)?;
        }
        b.sql(")");
        let updates: Vec<&&String> = columns.iter().filter(|name| !key_columns.contains(&name.as_str())).collect();
        if updates.is_empty() {
            b.sql(" DO NOTHING");
        } else {
            b.sql(" DO UPDATE SET ");
            for (i, name) in updates.into_iter().enumerate() {
                if i > 0 {
                    b.sql(", ");
                }
                b.ident(name)?.sql(" = excluded.").ident(name)?;
            }
        }
        Ok(b.build())
    }

    /// The order-by value of the cursor row; a missing cursor is the client's mistake.
    async fn cursor_value(
        &self,
        table: &str,
        order_by: &Column,
        id: &Column,
        after: &str,
    ) -> Result<Value> {
        let mut b = self.builder();
        b.sql("SELECT ")
            .ident(order_by.name)?
            .sql(" FROM ")
            .ident(table)?;
        b.and_where()
            .ident(id.name)?
            .sql(" = ")
            .param(cursor_param(id, after)?);
        b.sql(" LIMIT 1");
        let rows = self.db.fetch(b.build(), &[order_by.ty]).await?;
        rows.into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Record with {}='{after}' not found in table '{table}'",
                    id.name
                ))
            })
    }
}

/// Appends `WHERE`/`AND` conditions for every equality in `filter` (`IS NULL` for null), and
/// its owner condition.
fn push_filter(
    b: &mut StatementBuilder,
    table: &str,
    schema: &Schema,
    filter: &Filter,
) -> Result<()> {
    for (name, value) in &filter.eq {
        let column = schema.column(table, name)?;
        b.and_where().ident(name)?;
        match to_param(column, value)? {
            Param::Null(_) => b.sql(" IS NULL"),
            param => b.sql(" = ").param(param),
        };
    }
    if let Some(owner) = &filter.owner {
        for column in &OWNER_COLUMNS {
            schema.column(table, column.name)?;
        }
        b.and_where();
        push_owner_condition(b, owner);
    }
    Ok(())
}

/// [`OwnerFilter::admits`] in SQL over the text columns `owner_principal` and
/// `access_attributes` (JSON text): public rows, or rows whose owner, for every attribute the
/// reader has, has none (missing or `null`) or a list holding one of the reader's values.
/// Attribute names are bound as parameters; a name SQLite's JSON path cannot quote (one with
/// a `"`) is left to the row check every reader of these tables makes afterwards.
fn push_owner_condition(b: &mut StatementBuilder, owner: &OwnerFilter) {
    const ATTRS: &str = "\"access_attributes\"";
    b.sql("(\"owner_principal\" = '' OR ")
        .sql(ATTRS)
        .sql(" IS NULL OR ")
        .sql(ATTRS)
        .sql(" = 'null'");
    if owner.shared.is_empty() {
        b.sql(")");
        return;
    }
    b.sql(" OR (TRUE");
    for (name, values) in &owner.shared {
        b.sql(" AND ");
        match b.dialect() {
            Dialect::Sqlite => {
                if name.contains('"') {
                    b.sql("TRUE");
                    continue;
                }
                let path = format!("$.\"{name}\"");
                // json_type: NULL when missing, 'null' for JSON null, 'array', …
                b.sql("(COALESCE(json_type(").sql(ATTRS).sql(", ").param(Param::Text(path.clone()));
                b.sql("), 'null') = 'null' OR (json_type(").sql(ATTRS).sql(", ").param(Param::Text(path.clone()));
                b.sql(") = 'array' AND EXISTS (SELECT 1 FROM json_each(").sql(ATTRS).sql(", ").param(Param::Text(path));
                b.sql(") AS e WHERE e.type = 'text' AND e.value IN (");
                push_list(b, values);
                b.sql("))))");
            }
            Dialect::Postgres => {
                let attr = |b: &mut StatementBuilder| {
                    b.sql("((").sql(ATTRS).sql(")::jsonb -> ").param(Param::Text(name.clone())).sql("::text)");
                };
                b.sql("(COALESCE(jsonb_typeof(");
                attr(b);
                b.sql("), 'null') = 'null' OR CASE WHEN jsonb_typeof(");
                attr(b);
                b.sql(") = 'array' THEN ");
                attr(b);
                b.sql(" ?| ARRAY[");
                push_list(b, values);
                b.sql("]::text[] ELSE FALSE END)");
            }
        }
    }
    b.sql("))");
}

/// `?, ?, …` bound to `values` (never empty: an empty list would be `IN ()`).
fn push_list(b: &mut StatementBuilder, values: &[String]) {
    if values.is_empty() {
        b.sql("NULL");
    }
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            b.sql(", ");
        }
        b.param(Param::Text(value.clone()));
    }
}

/// The rows to write: for equal keys only the last (a statement may not touch a row twice).
fn last_per_key<'a>(rows: &'a [Row], key_columns: &[&str]) -> Vec<&'a Row> {
    let key = |row: &Row| -> Vec<String> { key_columns.iter().map(|k| row.get(*k).map(Value::to_string).unwrap_or_default()).collect() };
    let mut seen = HashSet::new();
    let mut kept: Vec<&Row> = rows.iter().rev().filter(|row| seen.insert(key(row))).collect();
    kept.reverse();
    kept
}

/// `rows` grouped by their column names (in order), each group in the rows' order.
fn same_columns<'a>(rows: &[&'a Row]) -> Vec<Vec<&'a Row>> {
    let mut groups: Vec<Vec<&'a Row>> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|g| g[0].keys().eq(row.keys())) {
            Some(group) => group.push(row),
            None => groups.push(vec![row]),
        }
    }
    groups
}

/// Rows per statement: the largest power of two up to 128 that fits, so a table sees at most
/// eight statement texts, each prepared once per connection (sqlx caches them).
fn chunk_len(remaining: usize) -> usize {
    const MAX: usize = 128;
    if remaining >= MAX { MAX } else { 1 << (usize::BITS - 1 - remaining.leading_zeros()) }
}

fn create_table_sql(dialect: Dialect, table: &str, columns: &[Column]) -> Result<String> {
    let mut parts = Vec::with_capacity(columns.len() + 1);
    for c in columns {
        let not_null = if c.nullable && !c.primary_key {
            ""
        } else {
            " NOT NULL"
        };
        parts.push(format!(
            "{} {}{not_null}",
            quote_ident(c.name)?,
            dialect.type_name(c.ty)
        ));
    }
    let keys: Result<Vec<String>> = columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| quote_ident(c.name))
        .collect();
    let keys = keys?;
    if !keys.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {} ({})",
        quote_ident(table)?,
        parts.join(", ")
    ))
}

#[async_trait]
impl SqlStore for SqlTableStore {
    async fn create_table(&self, table: &str, columns: &[Column]) -> Result<()> {
        if columns.is_empty() {
            return Err(Error::invalid(format!(
                "table '{table}' needs at least one column"
            )));
        }
        let dialect = self.db.dialect();
        let create = create_table_sql(dialect, table, columns)?;
        self.db
            .change_schema(Statement {
                sql: create,
                params: Vec::new(),
            })
            .await?;
        let existing = self.existing_columns(table).await?;
        for column in columns.iter().filter(|c| !existing.contains(c.name)) {
            // Added columns are nullable: rows written before them have no value.
            let sql = format!(
                "ALTER TABLE {} {} {} {}",
                quote_ident(table)?,
                dialect.add_column(),
                quote_ident(column.name)?,
                dialect.type_name(column.ty)
            );
            self.db
                .change_schema(Statement {
                    sql,
                    params: Vec::new(),
                })
                .await?;
        }
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        tables.insert(table.to_owned(), Schema(columns.into()));
        Ok(())
    }

    async fn insert(&self, table: &str, rows: &[Row]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let schema = self.schema(table)?;
        let stmts: Result<Vec<Statement>> = rows
            .iter()
            .map(|row| Ok(self.insert_statement(table, &schema, row)?.build()))
            .collect();
        self.db.execute_in_transaction(stmts?).await.map(|_| ())
    }

    async fn upsert(&self, table: &str, row: &Row, key_columns: &[&str]) -> Result<()> {
        self.upsert_many(table, std::slice::from_ref(row), key_columns).await
    }

    async fn upsert_many(&self, table: &str, rows: &[Row], key_columns: &[&str]) -> Result<()> {
        let schema = self.schema(table)?;
        if key_columns.is_empty() || rows.iter().any(|row| key_columns.iter().any(|k| !row.contains_key(*k))) {
            return Err(Error::invalid(format!(
                "upsert into '{table}' needs values for all of {key_columns:?}"
            )));
        }
        let rows = last_per_key(rows, key_columns);
        let mut stmts = Vec::new();
        for group in same_columns(&rows) {
            let mut rest = group.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
                stmts.push(self.upsert_statement(table, &schema, chunk, key_columns)?);
                rest = tail;
            }
        }
        match stmts.len() {
            0 => Ok(()),
            1 => self.db.execute(stmts.remove(0)).await.map(|_| ()),
            _ => self.db.execute_in_transaction(stmts).await.map(|_| ()),
        }
    }

    async fn fetch_one(&self, table: &str, filter: &Filter) -> Result<Option<Row>> {
        let schema = self.schema(table)?;
        let mut b = self.builder();
        b.sql(&format!("SELECT {} FROM ", schema.select_list()?))
            .ident(table)?;
        push_filter(&mut b, table, &schema, filter)?;
        b.sql(" LIMIT 1");
        let rows = self.db.fetch(b.build(), &schema.types()).await?;
        Ok(rows.into_iter().next().map(|values| schema.to_row(values)))
    }

    async fn fetch_page(&self, table: &str, query: &PageQuery) -> Result<Page> {
        let schema = self.schema(table)?;
        let order_by = schema.column(table, &query.order_by)?;
        let id = schema.column(table, &query.id_column)?;
        let (cmp, dir) = match query.order {
            Order::Asc => (">", "ASC"),
            Order::Desc => ("<", "DESC"),
        };
        let mut b = self.builder();
        b.sql(&format!("SELECT {} FROM ", schema.select_list()?))
            .ident(table)?;
        push_filter(&mut b, table, &schema, &query.filter)?;
        if let Some(after) = &query.after {
            let value = self.cursor_value(table, order_by, id, after).await?;
            let (value, cursor) = (to_param(order_by, &value)?, cursor_param(id, after)?);
            // Rows strictly after the cursor in (order_by, id) order.
            b.and_where()
                .sql("(")
                .ident(order_by.name)?
                .sql(&format!(" {cmp} "))
                .param(value.clone());
            b.sql(" OR (").ident(order_by.name)?.sql(" = ").param(value);
            b.sql(" AND ")
                .ident(id.name)?
                .sql(&format!(" {cmp} "))
                .param(cursor)
                .sql("))");
        }
        b.sql(" ORDER BY ")
            .ident(order_by.name)?
            .sql(&format!(" {dir}, "))
            .ident(id.name)?
            .sql(&format!(" {dir}"));
        if let Some(limit) = query.limit {
            // One extra row tells whether there is another page.
            let fetch = i64::try_from(limit)
                .unwrap_or(i64::MAX - 1)
                .saturating_add(1);
            b.sql(" LIMIT ").param(Param::Int(fetch));
        }
        let mut rows: Vec<Row> = self
            .db
            .fetch(b.build(), &schema.types())
            .await?
            .into_iter()
            .map(|v| schema.to_row(v))
            .collect();
        let has_more = query.limit.is_some_and(|limit| rows.len() > limit);
        if let Some(limit) = query.limit {
            rows.truncate(limit);
        }
        Ok(Page { rows, has_more })
    }

    async fn update(&self, table: &str, set: &Row, filter: &Filter) -> Result<u64> {
        let schema = self.schema(table)?;
        if set.is_empty() {
            return Err(Error::invalid(format!(
                "update of '{table}' sets no columns"
            )));
        }
        let mut b = self.builder();
        b.sql("UPDATE ").ident(table)?.sql(" SET ");
        for (i, (name, value)) in set.iter().enumerate() {
            if i > 0 {
                b.sql(", ");
            }
            b.ident(name)?
                .sql(" = ")
                .param(to_param(schema.column(table, name)?, value)?);
        }
        push_filter(&mut b, table, &schema, filter)?;
        self.db.execute(b.build()).await
    }

    async fn delete(&self, table: &str, filter: &Filter) -> Result<u64> {
        let schema = self.schema(table)?;
        let mut b = self.builder();
        b.sql("DELETE FROM ").ident(table)?;
        push_filter(&mut b, table, &schema, filter)?;
        self.db.execute(b.build()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_powers_of_two() {
        let split = |mut n: usize| {
            let mut out = Vec::new();
            while n > 0 {
                let c = chunk_len(n);
                out.push(c);
                n -= c;
            }
            out
        };
        assert_eq!(split(1), [1]);
        assert_eq!(split(37), [32, 4, 1]);
        assert_eq!(split(300), [128, 128, 32, 8, 4]);
    }

    #[test]
    fn the_last_row_of_a_key_wins() {
        let row = |id: &str, v: i64| -> Row { [("id".to_owned(), Value::from(id)), ("v".to_owned(), Value::from(v))].into_iter().collect() };
        let rows = [row("a", 1), row("b", 2), row("a", 3)];
        let kept: Vec<i64> = last_per_key(&rows, &["id"]).iter().filter_map(|r| r["v"].as_i64()).collect();
        assert_eq!(kept, [2, 3]);
    }

    #[test]
    fn create_table_statement() -> Result<()> {
        let columns = [
            Column::primary_key("id", ColumnType::Text),
            Column::new("created", ColumnType::Integer),
            Column {
                nullable: false,
                ..Column::new("body", ColumnType::Json)
            },
        ];
        assert_eq!(
            create_table_sql(Dialect::Postgres, "t", &columns)?,
            "CREATE TABLE IF NOT EXISTS \"t\" (\"id\" TEXT NOT NULL, \"created\" BIGINT, \"body\" TEXT NOT NULL, PRIMARY KEY (\"id\"))"
        );
        assert!(create_table_sql(Dialect::Sqlite, "t; drop", &columns).is_err());
        Ok(())
    }
}
