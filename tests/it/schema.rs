//! The two migration sets must describe the same schema: same migration names, same tables,
//! columns, and index/constraint names, so that a rule that holds on one backend holds on both.

use crate::common;

use std::collections::BTreeSet;

use clientele_store::Db;
use common::TestDb;

#[test]
fn both_backends_have_the_same_migrations() {
    let (sqlite, postgres) = Db::migration_names();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

async fn sqlite_schema(url: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let Db::Sqlite(pools) = &db else { unreachable!() };
    let pool = &pools.read;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns = BTreeSet::new();
    for table in &tables {
        let names: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}')"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        columns.extend(names.into_iter().map(|c| format!("{table}.{c}")));
    }
    // Named indexes, and the named constraints that SQLite keeps in the table's SQL text.
    let mut names: BTreeSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let sql: Vec<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_sqlx%' AND sql IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for text in sql {
        let mut words = text.split_whitespace();
        while let Some(w) = words.next() {
            if w.eq_ignore_ascii_case("CONSTRAINT")
                && let Some(name) = words.next()
            {
                names.insert(name.to_string());
            }
        }
    }
    (columns, names)
}

async fn postgres_schema(url: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let Db::Postgres(pool) = &db else { unreachable!() };
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'")
        .fetch_all(pool).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let constraints: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = 'public' AND contype IN ('u', 'c', 'p') AND conrelid::regclass::text NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let columns = columns.into_iter().map(|(t, c)| format!("{t}.{c}")).collect();
    (columns, indexes.into_iter().chain(constraints).collect())
}

/// Whether the migrations name this index or constraint themselves (PostgreSQL also names every
/// primary key and unique column on its own; SQLite does not, so only our names are compared).
/// Every migration file counts, so a new migration is compared without touching this test.
fn named_in_migrations(name: &str) -> bool {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    std::fs::read_dir(dir).expect("migrations/postgres").any(|file| {
        let sql = std::fs::read_to_string(file.expect("migration file").path()).expect("readable migration");
        sql.contains(&format!("CONSTRAINT {name} ")) || sql.contains(&format!("INDEX {name} "))
    })
}

#[tokio::test]
async fn both_backends_have_the_same_tables_columns_and_constraint_names() {
    let sqlite_db = TestDb::sqlite_unmigrated().await;
    let pg_db = TestDb::postgres_unmigrated().await;
    let (sqlite_columns, sqlite_names) = sqlite_schema(sqlite_db.url()).await;
    let (pg_columns, pg_names) = postgres_schema(pg_db.url()).await;
    assert_eq!(
        sqlite_columns, pg_columns,
        "columns differ between the SQLite and PostgreSQL migrations"
    );
    let sqlite_names: BTreeSet<String> = sqlite_names.into_iter().filter(|n| named_in_migrations(n)).collect();
    let pg_names: BTreeSet<String> = pg_names.into_iter().filter(|n| named_in_migrations(n)).collect();
    assert_eq!(sqlite_names, pg_names, "index or constraint names differ");
    assert!(pg_names.contains("group_clients_exclusive_key"));
    assert!(pg_names.contains("client_groups_name_key"));
    assert!(pg_names.contains("sessions_token_hash_key") && sqlite_names.contains("sessions_token_hash_key"));
    assert!(pg_names.contains("login_attempts_pkey"));
}
