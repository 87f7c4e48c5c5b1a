//! The test harness: a [`TestApp`] is the whole HTTP application, called in-process, on a fresh
//! database of either backend. Every behaviour test is written once and run on both through
//! [`both_backends!`]; the PostgreSQL runs use a new database per test on the server named by
//! `CLIENTELE_TEST_POSTGRES_URL` (default: the local server) and fail if it cannot be reached.

#![allow(dead_code)]

pub mod node;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use clientele_app::App;
use clientele_domain::OrganizationId;
use clientele_domain::policy::Policies;
use clientele_domain::staff::StaffRole;
use clientele_store::Db;

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn postgres_admin_url() -> String {
    std::env::var("CLIENTELE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// A database that exists for one test and is removed afterwards.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// A SQLite database with every migration applied: a copy of one migrated file.
    pub async fn sqlite() -> TestDb {
        let template = SQLITE_TEMPLATE.get_or_init(build_sqlite_template).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("test.db");
        std::fs::copy(template.1.as_path(), &file).expect("copy the migrated SQLite file");
        let url = format!("sqlite://{}", file.display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A SQLite database file that does not exist yet.
    pub async fn sqlite_unmigrated() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A PostgreSQL database with every migration applied: a copy of one migrated template
    /// (`CREATE DATABASE ... TEMPLATE`), which takes a fraction of the time running the
    /// migrations does.
    pub async fn postgres() -> TestDb {
        let template = TEMPLATE.get_or_init(build_template).await;
        TestDb::postgres_from(Some(template)).await
    }

    /// A PostgreSQL database with nothing in it, for the tests of migrating itself.
    pub async fn postgres_unmigrated() -> TestDb {
        TestDb::postgres_from(None).await
    }

    async fn postgres_from(template: Option<&str>) -> TestDb {
        use sqlx::Executor;
        let admin_url = postgres_admin_url();
        let mut conn = admin_connection(&admin_url).await;
        let name = format!("clientele_test_{}", &clientele_app::auth::new_secret()[..16]);
        let create = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        conn.execute(sqlx::AssertSqlSafe(create))
            .await
            .expect("create test database");
        let url = database_url(&admin_url, &name);
        TestDb::Postgres { admin_url, name, url }
    }
}

/// A connection to the server's administrative database; the PostgreSQL suite fails without one.
async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
    <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is required for the PostgreSQL suite and did not answer: {e}")
        })
}

/// The URL of database `name` on the server `admin_url` names.
fn database_url(admin_url: &str, name: &str) -> String {
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    format!("{base}/{name}")
}

/// The migrated SQLite file this test binary's SQLite databases are copied from (its directory
/// lives as long as the binary).
static SQLITE_TEMPLATE: tokio::sync::OnceCell<(tempfile::TempDir, std::path::PathBuf)> =
    tokio::sync::OnceCell::const_new();

async fn build_sqlite_template() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("template.db");
    let db = Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("create the template");
    db.migrate().await.expect("migrate the template");
    // Closing checkpoints the write-ahead log into the file, so the file alone is the database.
    db.close().await;
    (dir, file)
}

/// The migrated template of this test binary's PostgreSQL databases.
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Makes (or finds) the template for the migrations as they are now: its name carries a digest of
/// the migration files, so a changed migration gets a new template and a stale one is never used.
/// It is built under another name and renamed when complete, so a binary running beside this one
/// never copies a half-migrated database.
async fn build_template() -> String {
    use sqlx::Executor;
    use std::hash::{Hash, Hasher};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the PostgreSQL migrations")
        .map(|e| e.expect("a migration").path())
        .collect();
    files.sort();
    let mut digest = std::hash::DefaultHasher::new();
    for file in &files {
        file.file_name().hash(&mut digest);
        std::fs::read(file).expect("a migration").hash(&mut digest);
    }
    let name = format!("clientele_template_{:016x}", digest.finish());
    let admin_url = postgres_admin_url();
    let mut conn = admin_connection(&admin_url).await;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .expect("look for the template");
    if exists.is_some() {
        return name;
    }
    let building = format!("clientele_building_{}", &clientele_app::auth::new_secret()[..16]);
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
        .await
        .expect("create the template");
    let db = Db::connect(&database_url(&admin_url, &building))
        .await
        .expect("connect to the template");
    db.migrate().await.expect("migrate the template");
    db.close().await;
    // A backend of the closed pool may still be exiting, which a rename refuses ("being accessed
    // by other users"): try a few times, ending such backends.
    for _ in 0..20 {
        let renamed = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {building} RENAME TO {name}"
            )))
            .await;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut conn)
            .await
            .expect("look for the template");
        if renamed.is_ok() || exists.is_some() {
            // Renamed, or another test binary finished the same template first.
            let _ = conn
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
                )))
                .await;
            return name;
        }
        let _ = sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&building)
            .execute(&mut conn)
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("could not make the migrated template {name} from {building}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name, .. } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    use sqlx::Executor;
                    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await {
                        let _ = conn
                            .execute(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The application on a fresh database, with its first organisation and admin.
pub struct TestApp {
    pub app: App,
    pub router: Router,
    /// The first admin's API token.
    pub token: String,
    pub org: OrganizationId,
    /// The business unit created on first start ("Main office").
    pub unit: i64,
    pub backend: Backend,
    pub db: TestDb,
}

/// A response: status, headers and JSON body (Null when empty or not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .expect("etag header")
            .to_str()
            .unwrap()
            .to_string()
    }
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self
    }
}

impl TestApp {
    /// The instant `minutes` from now on the service's clock, as the API writes it.
    pub fn in_minutes(&self, minutes: i64) -> String {
        let at = clientele_domain::from_millis(self.app.clock.now() + minutes * 60_000);
        at.format(&time::format_description::well_known::Rfc3339).unwrap()
    }

    /// Moves the service's clock `minutes` forward: a validity period or an expiry set with
    /// [`TestApp::in_minutes`] passes without the test sleeping.
    pub fn minutes_pass(&self, minutes: i64) {
        self.app.clock.advance(minutes * 60_000);
    }

    pub async fn new(backend: Backend) -> TestApp {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        };
        let pool = Db::connect(db.url()).await.expect("connect");
        pool.migrate().await.expect("migrate");
        let app = App::open_with_clock(pool, clientele_domain::Clock::adjustable())
            .await
            .expect("open");
        let first = app
            .bootstrap("Test firm", "admin@firm.example")
            .await
            .unwrap()
            .expect("fresh database");
        let token = app.create_token("admin@firm.example", "test").await.unwrap();
        let router = clientele_web::router(app.clone(), &clientele_web::WebSettings::default());
        TestApp {
            app,
            router,
            token,
            org: first.organization.id,
            unit: 1,
            backend,
            db,
        }
        .with_unit()
        .await
    }

    async fn with_unit(mut self) -> Self {
        let units = self.get("/api/v1/business-units").await.expect(StatusCode::OK);
        self.unit = units.body["items"][0]["id"].as_i64().unwrap();
        self
    }

    /// Sends a request as the first admin.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Resp {
        self.call_as(&self.token.clone(), method, path, body, headers).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.send(request(token, method, path, body, headers)).await
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        send(self.router.clone(), req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None, &[]).await
    }

    /// Sets the organisation's policies, starting from the defaults.
    pub async fn policies(&self, change: impl FnOnce(&mut Policies)) {
        let mut p = Policies::default();
        change(&mut p);
        self.put("/api/v1/organization/policies", serde_json::to_value(&p).unwrap())
            .await
            .expect(StatusCode::OK);
    }

    /// Creates a client and returns its id.
    pub async fn client(&self, name: &str) -> i64 {
        self.post("/api/v1/clients", serde_json::json!({ "name": name }))
            .await
            .expect(StatusCode::CREATED)
            .body["id"]
            .as_i64()
            .unwrap()
    }

    /// [`TestApp::client`] with an owned name (for many at once).
    pub async fn client_named(&self, name: String) -> i64 {
        self.client(&name).await
    }

    /// An empty group of clients, by an owned name (for many at once).
    pub async fn group_named(&self, name: String) -> i64 {
        self.group(&name, &[]).await
    }

    /// Creates a group of clients with these members and returns its id.
    pub async fn group(&self, name: &str, clients: &[i64]) -> i64 {
        self.post("/api/v1/groups", serde_json::json!({ "name": name, "kind": "clients", "business_unit_id": self.unit, "client_ids": clients }))
            .await
            .expect(StatusCode::CREATED)
            .body["id"]
            .as_i64()
            .unwrap()
    }

    /// Creates a group of client groups with these member groups and returns its id.
    pub async fn group_of_groups(&self, name: &str, groups: &[i64]) -> i64 {
        self.post(
            "/api/v1/groups",
            serde_json::json!({ "name": name, "kind": "groups", "business_unit_id": self.unit, "group_ids": groups }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
            .as_i64()
            .unwrap()
    }

    /// A staff member of the first organisation with the given role, and their token.
    pub async fn staff_token(&self, email: &str, role: StaffRole) -> String {
        self.post(
            "/api/v1/staff",
            serde_json::json!({ "email": email, "name": email, "role": role }),
        )
        .await
        .expect(StatusCode::CREATED);
        self.app.create_token(email, "test").await.unwrap()
    }

    /// A second, unrelated organisation with its own admin; returns the admin's token.
    pub async fn other_organization(&self) -> String {
        use clientele_store::{organizations, staff};
        let mut tx = self.app.db.begin().await.unwrap();
        let org = organizations::insert(&mut tx.conn(), "Other firm", &Policies::default(), 0)
            .await
            .unwrap();
        let new = staff::NewStaff {
            email: "boss@other.example",
            name: "Boss",
            role: StaffRole::Admin,
            password_hash: None,
        };
        staff::insert(&mut tx.conn(), org.id, &new, 0).await.unwrap();
        tx.commit().await.unwrap();
        self.app.create_token("boss@other.example", "test").await.unwrap()
    }

    /// Names of the groups a client is in.
    pub async fn groups_of(&self, client: i64) -> Vec<String> {
        let r = self
            .get(&format!("/api/v1/clients/{client}/groups"))
            .await
            .expect(StatusCode::OK);
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A request as a client would send it: bearer token (none when empty), headers, JSON body.
pub fn request(
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap()
}

/// Calls the router in-process (an owned router, so calls can run in tasks of their own).
pub async fn send(router: Router, req: Request<Body>) -> Resp {
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        bytes,
    }
}

/// Runs stories written as plain `async fn name(t: TestApp)` (so rustfmt formats them) on SQLite
/// and on PostgreSQL: `on_both_backends!(story_one, story_two);`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::TestApp::new($crate::common::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::TestApp::new($crate::common::Backend::Postgres).await).await
            }
        }
    )*};
}
