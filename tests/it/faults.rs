//! PostgreSQL under faults (issue 15): a stalled transaction holder, a flaky database during a
//! large import, an outage, a worker that stops, and a server shutting down under traffic. Each
//! story provokes the fault itself, on loopback, and stops what it started.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clientele_app::App;
use clientele_app::bulk::Format;
use clientele_app::process_requests::Mode;
use clientele_store::{Db, changes};
use common::node::{self, Node};
use common::{Backend, TestApp, TestDb};
use http::{Method, StatusCode};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A CSV of `n` new clients.
fn clients_csv(n: usize) -> Vec<u8> {
    let mut csv = String::from("name,external_ref\n");
    for i in 0..n {
        csv.push_str(&format!("Flaky client {i:06},FLK-{i:06}\n"));
    }
    csv.into_bytes()
}

/// Queues an import of `n` new clients (more than run inline) and returns its process request.
async fn queue_import(app: &App, n: usize) -> i64 {
    let actor = app.cli_admin(None).await.unwrap();
    let admin = actor.admin().unwrap();
    let request = app
        .receive_import(
            admin,
            Format::Clients,
            Mode::Apply,
            false,
            std::io::Cursor::new(clients_csv(n)),
        )
        .await
        .unwrap();
    assert_eq!(request.status.as_str(), "pending");
    request.id.0
}

async fn request_status(app: &App, id: i64) -> clientele_app::process_requests::ProcessRequest {
    let actor = app.cli_admin(None).await.unwrap();
    loop {
        // The database may be failing on purpose: ask again.
        if let Ok(r) = app
            .process_request(&actor, clientele_domain::ProcessRequestId(id))
            .await
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many clients the database holds (these stories run on PostgreSQL).
async fn client_count(t: &TestApp) -> i64 {
    let Db::Postgres(pool) = &t.app.db else {
        unreachable!("a PostgreSQL story")
    };
    sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Ends every other connection to the test's database, as a failover or a network cut would.
async fn cut_connections(admin_url: &str, database: &str) {
    if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url).await {
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(database)
        .execute(&mut conn)
        .await;
    }
}

fn pg_names(db: &TestDb) -> (String, String) {
    match db {
        TestDb::Postgres { admin_url, name, .. } => (admin_url.clone(), name.clone()),
        TestDb::Sqlite { .. } => panic!("a PostgreSQL story"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_transaction_holder_is_cut_off_and_other_writers_go_on() {
    let db = TestDb::postgres().await;
    let url = db.url().to_string();
    // A node frozen in the middle of a write: it took the change counter's lock (as every write
    // that changes access does) and then stopped sending anything.
    let frozen = Db::connect(&url).await.unwrap();
    frozen.migrate().await.unwrap();
    let node_url = url.clone();
    let node = tokio::task::spawn_blocking(move || Node::start(&node_url))
        .await
        .unwrap();
    let mut stalled = frozen.begin().await.unwrap();
    changes::next_seq(&mut stalled.conn()).await.unwrap();

    let token = node.admin_token();
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let created = node.call(
            "POST",
            "/api/v1/clients",
            &token,
            Some(&json!({ "name": "Waits a moment" })),
            &[],
        );
        (created, node)
    })
    .await
    .unwrap()
    .0;
    let waited = started.elapsed();
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(
        waited < Duration::from_secs(9),
        "the write waited {waited:?} for a stalled holder"
    );
    // The stalled transaction was ended by the server, so nothing it did can commit any more.
    assert!(
        stalled.commit().await.is_err(),
        "the stalled transaction should have been cut off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_survives_a_flaky_database_without_using_its_attempts() {
    let t = TestApp::new(Backend::Postgres).await;
    let (admin_url, database) = pg_names(&t.db);
    let id = queue_import(&t.app, 12_000).await;

    // Six cuts of every connection while the worker runs.
    let flaking = tokio::spawn({
        let (admin_url, database) = (admin_url.clone(), database.clone());
        async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(400)).await;
                cut_connections(&admin_url, &database).await;
            }
        }
    });
    let worker = tokio::spawn({
        let app = t.app.clone();
        async move {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(120) {
                match app.work_once("flaky-worker", 30_000).await {
                    Ok(true) | Err(_) => {}
                    Ok(false) => return,
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    flaking.await.unwrap();
    worker.await.unwrap();

    let done = request_status(&t.app, id).await;
    assert_eq!(done.status.as_str(), "completed", "{done:?}");
    assert_eq!((done.done, done.failed), (12_000, 0));
    assert_eq!(done.attempts, 1, "outages must not use up attempts");
    assert_eq!(client_count(&t).await, 12_000, "every row applied exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_runs_the_rows_a_request_never_reached() {
    let t = TestApp::new(Backend::Postgres).await;
    let id = queue_import(&t.app, 1_500).await;
    // Cancelled before any worker took it: none of its rows ran.
    t.post(&format!("/api/v1/process-requests/{id}/cancel"), json!({}))
        .await
        .expect(StatusCode::OK);
    let retry = t
        .post(&format!("/api/v1/process-requests/{id}/retry"), json!({}))
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(retry.body["total"], 1_500, "{}", retry.body);
    while t.app.work_once("test-worker", 30_000).await.unwrap() {}
    assert_eq!(client_count(&t).await, 1_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_hands_its_request_back_at_once() {
    let t = TestApp::new(Backend::Postgres).await;
    let id = queue_import(&t.app, 30_000).await;
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (app, stop) = (t.app.clone(), stop.clone());
        async move {
            app.run_worker("stopping-worker", Duration::from_millis(50), 30_000, stop)
                .await
        }
    });
    // Stop it once it has committed a batch.
    loop {
        let r = request_status(&t.app, id).await;
        if r.done > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .unwrap()
        .unwrap();
    let handed_back = request_status(&t.app, id).await;
    assert_eq!(handed_back.status.as_str(), "pending", "{handed_back:?}");
    assert!(handed_back.lease_owner.is_none());
    assert!(handed_back.done < 30_000);
    assert_eq!(handed_back.attempts, 0, "a handover is not a failed attempt");
    // Another worker takes it over at once, from where it stopped.
    assert!(t.app.work_once("next-worker", 30_000).await.unwrap());
    let done = request_status(&t.app, id).await;
    assert_eq!(
        (done.status.as_str(), done.done, done.attempts),
        ("completed", 30_000, 1)
    );
    assert_eq!(client_count(&t).await, 30_000);
}

/// A TCP relay to the PostgreSQL server that the story can cut off (as a network outage would:
/// open connections are dropped and new ones are closed at once) and restore.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let task = tokio::spawn({
            let up = up.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue;
                    }
                    let target = target.clone();
                    let mut cuts = cuts.clone();
                    // Only cuts made from now on end this connection.
                    cuts.mark_unchanged();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cuts.changed() => {}
                        }
                    });
                }
            }
        });
        Relay { port, up, cut, task }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_quickly_and_recovers_by_itself() {
    let db = TestDb::postgres().await;
    let relay = Relay::start("127.0.0.1:5432".to_string()).await;
    let (_, name) = pg_names(&db);
    let through_relay = format!("postgres://postgres@127.0.0.1:{}/{name}", relay.port);
    let pool = Db::connect(&through_relay).await.unwrap();
    pool.migrate().await.unwrap();
    let app = App::open(pool).await.unwrap();
    app.bootstrap("Outage firm", "admin@outage.example")
        .await
        .unwrap()
        .unwrap();
    let token = app.create_token("admin@outage.example", "test").await.unwrap();
    let router = clientele_web::router(app.clone(), &clientele_web::WebSettings::default());
    let call = |path: &str| common::send(router.clone(), common::request(&token, Method::GET, path, None, &[]));
    call("/api/v1/clients").await.expect(StatusCode::OK);

    relay.down();
    let started = Instant::now();
    let refused = call("/api/v1/clients").await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    assert_eq!(refused.code(), "database_unavailable");
    assert!(refused.headers.contains_key("retry-after"));
    let started = Instant::now();
    let ready = call("/readyz").await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "readyz took {:?}",
        started.elapsed()
    );
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        String::from_utf8_lossy(&ready.bytes).contains("database"),
        "readyz says why"
    );

    relay.up();
    let started = Instant::now();
    loop {
        if call("/api/v1/clients").await.status == StatusCode::OK {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    call("/readyz").await.expect(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_every_request_already_sent_and_hands_the_import_back() {
    let db = TestDb::postgres().await;
    let url = db.url().to_string();
    let (answers, late, handed_back) = tokio::task::spawn_blocking(move || {
        let mut node = Node::start_with(&url, &["--drain-ms", "1500"]);
        let token = node.admin_token();
        let host = node.address.clone();
        // A large import for the node's worker.
        let mut csv = String::from("name\n");
        for i in 0..40_000 {
            csv.push_str(&format!("Shutdown client {i:06}\n"));
        }
        let mut upload = node.connect();
        use std::io::Write;
        write!(
            upload,
            "POST /api/v1/csv/clients/import?mode=apply HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{csv}",
            csv.len()
        )
        .unwrap();
        let queued = node::read_answer(&mut upload).unwrap();
        assert_eq!(queued.status, 202, "{}", queued.text);
        let id = queued.body["request"]["id"].as_i64().unwrap();
        loop {
            let r = node.call("GET", &format!("/api/v1/process-requests/{id}"), &token, None, &[]);
            if r.body["done"].as_i64().unwrap_or(0) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }

        // A keep-alive connection that has been used once (opened only now: an idle one would be
        // closed by the server's header timeout while the import starts on a loaded machine).
        let mut kept = node.connect();
        node::write_request(&mut kept, &host, "GET", "/api/v1/clients", &token, None, &[], false);
        assert_eq!(node::read_answer(&mut kept).unwrap().status, 200);
        // A request on the kept connection, and SIGTERM right behind it.
        node::write_request(&mut kept, &host, "GET", "/api/v1/groups", &token, None, &[], false);
        node.signal("TERM");
        let mut answers = vec![node::read_answer(&mut kept)];
        // New connections during the drain are still answered, and told to close after it.
        let mut fresh = node.connect();
        node::write_request(&mut fresh, &host, "GET", "/healthz", "", None, &[], false);
        let late = node::read_answer(&mut fresh).expect("a connection opened during the drain is answered");
        assert!(node::read_answer(&mut fresh).is_none());
        // The kept connection is closed between requests, once the drain ends.
        answers.push(node::read_answer(&mut kept));
        let status = node.wait_exit(Duration::from_secs(30));
        assert!(status.success(), "serve exited with {status}");
        (answers, late, id)
    })
    .await
    .unwrap();
    let first = answers[0]
        .as_ref()
        .expect("the request sent before SIGTERM was answered");
    assert_eq!(first.status, 200);
    assert!(
        answers[1].is_none(),
        "the server closed the kept connection after its answer"
    );
    assert_eq!(late.status, 200);
    assert_eq!(
        late.header("connection"),
        Some("close"),
        "draining closes connections between requests"
    );

    // The node handed its import back: pending, no lease, ready for the next node at once.
    let pool = Db::connect(db.url()).await.unwrap();
    let app = App::open(pool).await.unwrap();
    let actor = app.cli_admin(None).await.unwrap();
    let r = app
        .process_request(&actor, clientele_domain::ProcessRequestId(handed_back))
        .await
        .unwrap();
    assert!(
        r.status == clientele_app::process_requests::RequestStatus::Pending
            || r.status == clientele_app::process_requests::RequestStatus::Completed,
        "{r:?}"
    );
    if r.status == clientele_app::process_requests::RequestStatus::Pending {
        assert!(r.lease_owner.is_none(), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_catch_up_failed_still_answers_a_sequence_that_covers_it() {
    // On SQLite reads and writes use separate pools: closing the readers makes the index's
    // catch-up after a commit fail while the write itself commits.
    let t = TestApp::new(Backend::Sqlite).await;
    let before = t.get("/api/v1/clients").await.expect(StatusCode::OK);
    let seq_before: i64 = before.headers["clientele-seq"].to_str().unwrap().parse().unwrap();
    let Db::Sqlite(pools) = &t.app.db else {
        unreachable!("a SQLite story")
    };
    pools.read.close().await;
    let created = t
        .post("/api/v1/clients", json!({ "name": "Committed anyway" }))
        .await
        .expect(StatusCode::CREATED);
    let seq: i64 = created.headers["clientele-seq"].to_str().unwrap().parse().unwrap();
    assert!(
        seq > seq_before,
        "the answer's sequence ({seq}) covers the write (index stood at {seq_before})"
    );
    assert_eq!(t.app.access.applied(), seq_before, "the index could not catch up");
    // The next request here must not be answered from the stale index: it catches up first, and
    // while it cannot, it says the database is unavailable.
    let next = t.get("/api/v1/me/clients").await;
    assert_eq!(next.status, StatusCode::SERVICE_UNAVAILABLE, "{}", next.body);
    assert_eq!(next.code(), "database_unavailable");
}
