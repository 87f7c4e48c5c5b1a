//! Bulk loading for data generators and imports: many rows per statement inside the caller's
//! transaction. The statement is the same on both engines (multi-row `VALUES`); only the
//! placeholders (see [`Sql::for_backend`]) and the number of rows per statement follow each
//! engine's limit on bound parameters.

use crate::sql::{Param, Sql};
use crate::{Backend, Conn, Result, bind_params, on};

/// Parameters per statement: SQLite's limit is 32766 (the bundled library's default), PostgreSQL's
/// 65535. Bigger statements mean fewer round trips to the driver; each distinct statement is
/// prepared once per connection and reused from sqlx's statement cache.
pub fn max_params(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32_000,
        Backend::Postgres => 60_000,
    }
}

/// Rows per statement, whatever the columns: beyond this the statement text only grows.
const MAX_ROWS: usize = 4_000;

/// Inserts `rows` (each with one value per column, in order) into `table`.
pub async fn insert(
    c: &mut Conn<'_>,
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Param>>,
) -> Result<u64> {
    let mut flat = Vec::with_capacity(rows.len() * columns.len());
    for row in rows {
        assert_eq!(row.len(), columns.len(), "one value per column");
        flat.extend(row);
    }
    insert_flat(c, table, columns, flat, "").await
}

/// Inserts rows given as one flat list of values (`columns.len()` per row, row after row), with
/// `tail` appended to each statement (`ON CONFLICT ...`). Returns the rows affected.
pub async fn insert_flat(
    c: &mut Conn<'_>,
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Param>,
    tail: &'static str,
) -> Result<u64> {
    let width = columns.len();
    assert_eq!(values.len() % width, 0, "one value per column");
    if let Conn::Sqlite(c) = c {
        // One prepared single-row statement stepped per row (see `fast.rs`).
        return crate::fast::insert_rows(c, table, columns, &values, tail).await;
    }
    let per_statement = (max_params(c.backend()) / width).clamp(1, MAX_ROWS);
    let mut inserted = 0;
    let mut values = values.into_iter().peekable();
    while values.peek().is_some() {
        let mut sql = Sql::for_backend(c.backend(), "INSERT INTO ");
        sql.push(table).push(" (");
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(col);
        }
        sql.push(") VALUES ");
        values_list(&mut sql, &mut values, width, per_statement);
        sql.push(tail);
        let (text, params) = sql.into_parts();
        inserted +=
            on!(c, c => bind_params!(sqlx::query(text), params).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    }
    Ok(inserted)
}

/// Appends `(v, v, ...), (v, ...)` for up to `rows` rows of `width` values taken from `values`.
pub(crate) fn values_list(sql: &mut Sql, values: &mut impl Iterator<Item = Param>, width: usize, rows: usize) {
    for n in 0..rows {
        let mut row = values.by_ref().take(width).peekable();
        if row.peek().is_none() {
            break;
        }
        sql.push(if n == 0 { "(" } else { ", (" });
        for (i, value) in row.enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(value);
        }
        sql.push(")");
    }
}

/// After rows were inserted with explicit ids, moves PostgreSQL's identity sequence past them
/// (SQLite's rowid needs nothing).
pub async fn advance_ids(c: &mut Conn<'_>, table: &'static str) -> Result<()> {
    if let Conn::Postgres(pg) = c {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
        );
        // Safe: `table` is a &'static str from our own code.
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **pg).await?;
    }
    Ok(())
}
