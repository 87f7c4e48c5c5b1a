//! SQLite's fast lane for bulk work: statements prepared once and stepped in a loop on the
//! connection's own handle, instead of going through the async driver.
//!
//! Why: sqlx runs each SQLite connection on a worker thread and hands every statement, every
//! bound value and every returned row across a channel, copying each value of each row. For a
//! request or a page that is nothing; for an import of a million rows it was most of the time (the
//! profile of the memberships import showed more time in the driver's copies, allocations and in
//! parsing multi-row statements with thousands of placeholders than in SQLite's B-trees). Here
//! the same transaction's connection is locked out of the worker (`lock_handle`, sqlx's own door
//! for direct SQLite API calls) and driven through rusqlite, which binds and reads values in place.
//!
//! Only bulk statements come here (multi-row inserts, batch lookups, export pages); everything else
//! stays on sqlx, and PostgreSQL keeps its multi-row statements. The statements are the ones the
//! callers would send through sqlx, so a rule enforced by the schema (a unique index, a foreign
//! key) is enforced here exactly the same, inside the caller's transaction.

use sqlx::SqliteConnection;

use crate::Result;
use crate::sql::Param;

/// Runs `work` on the raw SQLite connection behind `c`, synchronously (on a multi-threaded runtime,
/// with the worker thread handed over to other tasks meanwhile, so a batch of a few tens of
/// milliseconds never holds up requests).
pub(crate) async fn with_sqlite<T>(
    c: &mut SqliteConnection,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T> {
    let mut locked = c.lock_handle().await?;
    let handle = locked.as_raw_handle();
    let run = move || {
        // SAFETY: `locked` gives this thread the connection alone until it is dropped, after
        // `db`: sqlx's worker thread waits for it, and nothing else holds the pointer. The
        // `Connection` made from it does not own it (never closes it), and every statement it
        // prepares is finalized before it is dropped, so sqlx finds the handle as it left it,
        // inside the same open transaction.
        #[allow(unsafe_code)]
        let db = unsafe { rusqlite::Connection::from_handle(handle.as_ptr()) }?;
        let result = work(&db);
        drop(db);
        result
    };
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let result = if multi_threaded {
        tokio::task::block_in_place(run)
    } else {
        run()
    };
    drop(locked);
    Ok(result?)
}

/// Binds `params` to the statement's placeholders 1, 2, ...
pub(crate) fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Param]) -> rusqlite::Result<()> {
    for (i, p) in params.iter().enumerate() {
        let at = i + 1;
        match p {
            Param::I64(v) => stmt.raw_bind_parameter(at, v)?,
            Param::I32(v) => stmt.raw_bind_parameter(at, v)?,
            Param::Text(v) => stmt.raw_bind_parameter(at, v.as_str())?,
            Param::Bool(v) => stmt.raw_bind_parameter(at, v)?,
            Param::OptI64(v) => stmt.raw_bind_parameter(at, v)?,
            Param::OptText(v) => stmt.raw_bind_parameter(at, v.as_deref())?,
            Param::Static(v) => stmt.raw_bind_parameter(at, *v)?,
        }
    }
    Ok(())
}

/// `INSERT INTO table (columns) VALUES (?1, ...) tail`, once per row of `values` (`columns.len()`
/// values a row); returns the rows changed.
pub(crate) async fn insert_rows(
    c: &mut SqliteConnection,
    table: &str,
    columns: &[&str],
    values: &[Param],
    tail: &str,
) -> Result<u64> {
    let width = columns.len();
    let placeholders: Vec<String> = (1..=width).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}){tail}",
        columns.join(", "),
        placeholders.join(", ")
    );
    with_sqlite(c, |db| {
        let mut stmt = db.prepare(&sql)?;
        let mut changed = 0u64;
        for row in values.chunks(width) {
            bind(&mut stmt, row)?;
            changed += stmt.raw_execute()? as u64;
        }
        Ok(changed)
    })
    .await
}
