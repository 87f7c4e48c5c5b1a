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
//! Only bulk statements come here, and only where a benchmark showed the lane pays; everything
//! else (every point read and every page of a list) stays on sqlx, and PostgreSQL keeps its
//! multi-row statements. The users, and what moved when they came here (BENCHMARKS.md):
//!
//! | function | measured by | through sqlx | here |
//! |---|---|---|---|
//! | `changes::each_client`, `changes::all_group_clients` | `serve` start-up, medium set: the access index loaded | 3.5-4.2 s | 1.5-2.2 s |
//! | `time_entries::changed_since` | `serve` start-up, medium set: the report ledger loaded | 55 s | 4.4-7.2 s |
//! | `clients::each_by_id`, `time_entries::each_by_id` | `bench export` (clients) | 295k rows/s | 1.67M rows/s |
//! | the import's batch statements: `bulk::insert_flat` (stored rows, memberships, audit), `clients::insert_many`, `clients::find_many`, `clients::member_facts`, `groups::facts`, `members::existing_memberships`, `members::remove_clients`, `members::each_client_member` (memberships export), `process_requests::rows`, `process_requests::record_outcomes` | `bench import` (memberships, 1M rows) | 9,073 rows/s (2026-11-23; profile: driver copies and parsing multi-row statements) | 42-47k rows/s with the rest of that stop's work |
//!
//! A row struct read here is declared once with [`row_struct!`], so both lanes read the same
//! columns. The statements are the ones the
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

/// Declares a row struct that both lanes read: sqlx by column name (`sqlx::FromRow`), the fast
/// lane by position, from `COLUMNS` (the fields' names in order, for the `SELECT`) and
/// `from_sqlite`. The struct is the one place its columns are written, so the two readings
/// cannot drift apart.
macro_rules! row_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $fvis:vis $first:ident: $first_ty:ty
            $(, $rvis:vis $rest:ident: $rest_ty:ty)* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $name {
            $fvis $first: $first_ty,
            $($rvis $rest: $rest_ty,)*
        }

        impl $name {
            /// The columns, in the fields' order.
            #[allow(dead_code)]
            pub(crate) const COLUMNS: &'static str =
                concat!(stringify!($first) $(, ", ", stringify!($rest))*);

            /// Reads a row selected with [`Self::COLUMNS`] in the fast lane.
            #[allow(dead_code)]
            pub(crate) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut column = 0usize..;
                // Struct fields are evaluated in the order written: the columns' order.
                Ok($name {
                    $first: row.get(column.next().unwrap_or_default())?,
                    $($rest: row.get(column.next().unwrap_or_default())?,)*
                })
            }
        }
    };
}
pub(crate) use row_struct;

#[cfg(test)]
mod tests {
    row_struct! {
        struct Sample {
            id: i64,
            name: String,
            note: Option<String>,
        }
    }

    #[test]
    fn both_lanes_read_the_columns_the_struct_declares() {
        assert_eq!(Sample::COLUMNS, "id, name, note");
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let row = db
            .query_row(
                &format!(
                    "SELECT {} FROM (SELECT 7 AS id, 'Seven' AS name, NULL AS note)",
                    Sample::COLUMNS
                ),
                [],
                Sample::from_sqlite,
            )
            .unwrap();
        assert_eq!((row.id, row.name.as_str(), row.note), (7, "Seven", None));
    }
}
