//! Bulk loading for data generators and imports: many rows per statement inside the caller's
//! transaction. The statement is the same on both engines (multi-row `VALUES`); only the number of
//! rows per statement follows each engine's limit on bound parameters.

use crate::sql::{Param, Sql};
use crate::{Backend, Conn, Result, bind_params, on};

/// Inserts `rows` (each with one value per column, in order) into `table`.
pub async fn insert(
    c: &mut Conn<'_>,
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Param>>,
) -> Result<u64> {
    // SQLite resolves each `$n` by name while parsing, which is quadratic in the number of
    // parameters: small statements (prepared once, reused) are much faster there. PostgreSQL
    // takes up to 65535 parameters and gains from fewer round trips.
    let limit = match c.backend() {
        Backend::Sqlite => 900,
        Backend::Postgres => 60_000,
    };
    let per_statement = (limit / columns.len()).clamp(1, 2_000);
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::new("INSERT INTO ");
        sql.push(table).push(" (");
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(col);
        }
        sql.push(") VALUES ");
        for (n, row) in rows.by_ref().take(per_statement).enumerate() {
            assert_eq!(row.len(), columns.len(), "one value per column");
            sql.push(if n == 0 { "(" } else { ", (" });
            for (i, value) in row.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(value);
            }
            sql.push(")");
        }
        let (text, params) = sql.into_parts();
        inserted +=
            on!(c, c => bind_params!(sqlx::query(text), params).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    }
    Ok(inserted)
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
