//! Clientele's storage: one query layer over SQLite (the embedded default) and PostgreSQL (several
//! stateless servers on one database).
//!
//! Every statement is written once, as a `&'static str` that both backends accept (`$n` placeholders,
//! `RETURNING`, `ON CONFLICT`, `WITH RECURSIVE`), and executed through the [`on!`] macro, which
//! type-checks the same code against each driver. The few places where the engines really differ
//! (write-transaction start, row locks) are methods here, not scattered `if postgres` branches.
//!
//! One exception, measured: on SQLite, bulk writes, the large scans of start-up and exports, and an
//! import batch's lookups also have a second form through rusqlite (`fast.rs`, reached by
//! `fast::with_sqlite`), where sqlx's per-row overhead dominated. `fast.rs` lists each of them with
//! the benchmark that showed it pays; a row struct both forms read is declared once
//! (`fast::row_struct!`). Both forms are held to the same answers by the test suite, which runs
//! every story on both engines.
//!
//! Functions take a [`Conn`]: a borrowed connection from a [`Tx`] (writes, consistent reads) or
//! from [`Db::read`] (plain reads).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use clientele_domain::Error;

mod error;
mod fast;
pub mod sql;

pub mod assignments;
pub mod audit;
pub mod bulk;
pub mod business_units;
pub mod changes;
pub mod clients;
pub mod credentials;
pub mod groups;
pub mod idempotency;
pub mod labels;
pub mod members;
pub mod organizations;
pub mod process_requests;
pub mod program_accounts;
pub mod saved_reports;
pub mod sessions;
pub mod staff;
pub mod time_entries;

pub use error::StoreError;
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs `$body` with `$c` bound to the concrete connection of whichever backend `$conn` holds.
/// The body is compiled once per backend, so the SQL in it is shared while the types stay exact.
#[macro_export]
macro_rules! on {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::Conn::Sqlite($c) => $body,
            $crate::Conn::Postgres($c) => $body,
        }
    };
}

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Refuses anything but `sqlite:` and `postgres:`/`postgresql:` URLs: a typo must never silently
    /// create an empty SQLite file next to the real database.
    pub fn from_url(url: &str) -> Result<Backend, Error> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(Error::invalid(
                "database_url",
                format!("unknown database URL scheme \"{scheme}:\"; use sqlite://FILE or postgres://..."),
            )),
        }
    }
}

/// A pool of connections to one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePools),
    Postgres(PgPool),
}

/// SQLite's connections: readers, and the one connection every write transaction uses.
///
/// SQLite has one writer at a time whatever the pool holds; giving it one connection makes
/// writers queue in order on the pool instead of polling the file lock, and lets that connection
/// keep a large page cache ([`WRITER_CACHE_KIB`]) warm from one transaction to the next. A batch of
/// an import touches tens of thousands of index pages all over a large database; with SQLite's
/// default 2 MB cache each of them was read again through a system call in every batch (a third
/// of a million-client import's time). Readers keep the default, so the many reader connections
/// do not each grow a large cache.
#[derive(Clone, Debug)]
pub struct SqlitePools {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

/// The writer connection's page cache, in KiB (filled only as pages are used).
pub const WRITER_CACHE_KIB: u32 = 128 * 1024;

/// A borrowed connection of either backend.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// An open transaction. Dropping it without [`Tx::commit`] rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A pooled connection for reads outside a transaction.
pub enum ReadConn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a free connection. On PostgreSQL this is also how long a
    /// request waits during an outage before it is answered 503 `database_unavailable`, so it is
    /// short; SQLite's writer queues every write on its one connection, so it waits longer.
    pub acquire_timeout: Duration,
    pub sqlite_acquire_timeout: Duration,
    /// PostgreSQL: a transaction that sits idle this long (its process frozen, or cut off from
    /// the database mid-write) is ended by the server, releasing its locks, so one stalled node
    /// cannot stall the others' writes for longer.
    pub idle_in_transaction_timeout: Duration,
    /// PostgreSQL: how long a statement waits for a lock before it gives up (longer than the idle
    /// timeout above, so a waiter outlives a stalled holder).
    pub lock_timeout: Duration,
    /// PostgreSQL: the longest statement (loading the access index of a large firm reads
    /// millions of rows in one).
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            sqlite_acquire_timeout: Duration::from_secs(30),
            idle_in_transaction_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(300),
        }
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, Error> {
        Db::connect_with(url, &PoolSettings::default()).await
    }

    pub async fn connect_with(url: &str, settings: &PoolSettings) -> Result<Db, Error> {
        let unreachable = |e: sqlx::Error| Error::internal(format!("cannot open database: {}", redact(&e.to_string())));
        match Backend::from_url(url)? {
            Backend::Sqlite => {
                let options =
                    SqliteConnectOptions::from_str(url).map_err(|e| Error::invalid("database_url", e.to_string()))?;
                create_private(options.get_filename())?;
                let options = options
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // The driver's worker thread hands rows over through a channel; with room for
                    // only 50 it stops and waits for the reader every 50 rows, and a bulk read of
                    // thousands of rows becomes a stream of thread switches.
                    .row_buffer_size(4096)
                    // A checkpoint runs inside the commit that fills the WAL past this many pages
                    // and syncs the database file. At SQLite's default (1000 pages, 4 MB) a bulk
                    // import's batch of 10,000 rows, spread over thousands of groups' pages, paid
                    // a checkpoint at every commit (over a second on a million-client database);
                    // 16,384 pages (64 MB) lets pages written again and again be copied once.
                    .pragma("wal_autocheckpoint", "16384");
                let read = SqlitePoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.sqlite_acquire_timeout)
                    .connect_with(options.clone())
                    .await
                    .map_err(unreachable)?;
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(settings.sqlite_acquire_timeout)
                    .connect_with(options.pragma("cache_size", format!("-{WRITER_CACHE_KIB}")))
                    .await
                    .map_err(unreachable)?;
                Ok(Db::Sqlite(SqlitePools { read, write }))
            }
            Backend::Postgres => {
                let ms = |d: Duration| format!("{}ms", d.as_millis());
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| Error::invalid("database_url", redact(&e.to_string())))?
                    .options([
                        (
                            "idle_in_transaction_session_timeout",
                            ms(settings.idle_in_transaction_timeout),
                        ),
                        ("lock_timeout", ms(settings.lock_timeout)),
                        ("statement_timeout", ms(settings.statement_timeout)),
                    ]);
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(unreachable)?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(pools) => sqlx::migrate!("../../migrations/sqlite").run(&pools.write).await?,
            Db::Postgres(pool) => sqlx::migrate!("../../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// True when every embedded migration has been applied (for `/readyz`).
    pub async fn migrations_current(&self) -> Result<bool> {
        let (expected, applied): (usize, i64) = match self {
            Db::Sqlite(pools) => (
                sqlx::migrate!("../../migrations/sqlite").iter().count(),
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&pools.read)
                    .await?,
            ),
            Db::Postgres(pool) => (
                sqlx::migrate!("../../migrations/postgres").iter().count(),
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(pool)
                    .await?,
            ),
        };
        Ok(applied as usize == expected)
    }

    /// The names of the embedded migrations of both backends, in order: they must match.
    pub fn migration_names() -> (Vec<String>, Vec<String>) {
        let names = |m: sqlx::migrate::Migrator| m.iter().map(|m| format!("{} {}", m.version, m.description)).collect();
        (
            names(sqlx::migrate!("../../migrations/sqlite")),
            names(sqlx::migrate!("../../migrations/postgres")),
        )
    }

    /// Starts a transaction that will write. SQLite takes the write lock up front (`BEGIN
    /// IMMEDIATE`) so two writers queue on `busy_timeout` instead of failing when one upgrades a
    /// read lock.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pools) => Tx::Sqlite(pools.write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a read-only transaction that sees one consistent snapshot (for loading the access
    /// index while writers go on).
    pub async fn begin_snapshot(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pools) => Tx::Sqlite(pools.read.begin_with("BEGIN DEFERRED").await?),
            Db::Postgres(pool) => Tx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    pub async fn read(&self) -> Result<ReadConn> {
        Ok(match self {
            Db::Sqlite(pools) => ReadConn::Sqlite(pools.read.acquire().await?),
            Db::Postgres(pool) => ReadConn::Postgres(pool.acquire().await?),
        })
    }

    /// Answers whether the database is reachable.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        let mut c = conn.conn();
        on!(&mut c, c => sqlx::query("SELECT 1").execute(&mut **c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Connections in use and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p) => (p.read.size() + p.write.size(), p.read.num_idle() + p.write.num_idle()),
            Db::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => {
                p.write.close().await;
                p.read.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }

    /// Writes a consistent copy of a SQLite database to `path` while it is in use (`VACUUM INTO`
    /// reads one snapshot, so concurrent writers neither block nor tear the copy).
    pub async fn backup_sqlite(&self, path: &str) -> Result<(), Error> {
        match self {
            Db::Sqlite(pools) => {
                if std::path::Path::new(path).exists() {
                    return Err(Error::invalid(
                        "file",
                        format!("{path} already exists; choose a new file name"),
                    ));
                }
                // Empty and readable by its owner only; `VACUUM INTO` fills an empty file.
                create_private(std::path::Path::new(path))?;
                sqlx::query("VACUUM INTO $1")
                    .bind(path)
                    .execute(&pools.read)
                    .await
                    .map_err(Error::internal)?;
                Ok(())
            }
            Db::Postgres(_) => Err(Error::invalid(
                "database_url",
                "backup copies SQLite databases; for PostgreSQL use pg_dump",
            )),
        }
    }
}

/// Creates a missing database file readable and writable by its owner only (0600): it holds every
/// client of the firm. SQLite gives its `-wal` and `-shm` files the database file's permissions.
/// An existing file keeps the permissions its operator gave it.
fn create_private(path: &std::path::Path) -> Result<(), Error> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::invalid(
            "database_url",
            format!("cannot create {}: {e}", path.display()),
        )),
    }
}

/// A text (an error message, a URL) with every password it names replaced by `***`:
/// `user:secret@host`, `password=secret` in a query or a key/value connection string.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // `scheme://user:password@` anywhere in the text.
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', ' ', '"', '\'']).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                let credentials = &tail[..at];
                match credentials.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push_str(":***");
                    }
                    None => out.push_str(credentials),
                }
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    // `password=...` up to the next separator, in a query string or a key/value string.
    let lower = out.to_ascii_lowercase();
    let mut redacted = String::with_capacity(out.len());
    let mut last = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("password=") {
        let value_start = search + found + "password=".len();
        let value_end = out[value_start..]
            .find(['&', ' ', ';', '"', '\''])
            .map_or(out.len(), |i| value_start + i);
        redacted.push_str(&out[last..value_start]);
        redacted.push_str("***");
        last = value_end;
        search = value_end;
    }
    redacted.push_str(&out[last..]);
    redacted
}

#[cfg(test)]
mod redact_tests {
    use super::redact;

    #[test]
    fn every_form_of_a_password_is_hidden() {
        assert_eq!(redact("postgres://app:s3cret@db/x"), "postgres://app:***@db/x");
        assert_eq!(
            redact("postgres://db/x?user=app&password=s3cret&sslmode=require"),
            "postgres://db/x?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            redact("host=db password=s3cret user=app"),
            "host=db password=*** user=app"
        );
        assert_eq!(
            redact("error at postgres://app:s3cret@db:5432/x: refused"),
            "error at postgres://app:***@db:5432/x: refused"
        );
        assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact("PASSWORD=Loud"), "PASSWORD=***");
    }
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(&mut *t),
            Tx::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl ReadConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            ReadConn::Sqlite(c) => Conn::Sqlite(&mut *c),
            ReadConn::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Locks one row until the transaction ends, before the use case reads it.
    ///
    /// PostgreSQL runs READ COMMITTED: two writers that read a row's `version` unlocked both see
    /// the same one, both pass an `If-Match` checked in Rust, and the second overwrites the first
    /// (a lost update). With the lock taken first, the second waits, then reads the version the
    /// first wrote. `FOR NO KEY UPDATE` rather than `FOR UPDATE`: it does not block the
    /// foreign-key checks of concurrent inserts that name the row (a membership of the group).
    /// SQLite needs nothing: its write transaction already excludes every other writer.
    pub async fn lock(&mut self, row: Locked, id: i64) -> Result<()> {
        if let Conn::Postgres(c) = self {
            let sql = match row {
                Locked::Group => "SELECT 1 FROM client_groups WHERE id = $1 FOR NO KEY UPDATE",
                Locked::Client => "SELECT 1 FROM clients WHERE id = $1 FOR NO KEY UPDATE",
                Locked::Staff => "SELECT 1 FROM staff WHERE id = $1 FOR NO KEY UPDATE",
                Locked::BusinessUnit => "SELECT 1 FROM business_units WHERE id = $1 FOR NO KEY UPDATE",
                Locked::SavedReport => "SELECT 1 FROM saved_reports WHERE id = $1 FOR NO KEY UPDATE",
                Locked::TimeEntry => "SELECT 1 FROM time_entries WHERE id = $1 FOR NO KEY UPDATE",
            };
            sqlx::query(sql).bind(id).fetch_optional(&mut **c).await?;
        }
        Ok(())
    }
}

/// The rows a versioned write locks before reading them (see [`Conn::lock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    Group,
    Client,
    Staff,
    BusinessUnit,
    SavedReport,
    TimeEntry,
}
