//! A `serve` killed with SIGKILL in the middle of a large import: after a restart the import
//! completes, and every row was applied exactly once (no missing client, no duplicate, no
//! duplicate audit event), because each batch's rows and the position reached commit together.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clientele_app::App;
use clientele_app::bulk::Format;
use clientele_app::process_requests::Mode;
use clientele_store::Db;

const BIN: &str = env!("CARGO_BIN_EXE_clientele");
const ROWS: usize = 20_000;

/// A `serve` process on the file, killed when dropped.
struct Server(Child);

impl Server {
    fn start(url: &str) -> Server {
        let child = Command::new(BIN)
            .args([
                "--database-url",
                url,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--lease-secs",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Server(child)
    }

    /// SIGKILL: no shutdown code runs, the batch in flight is cut off.
    fn kill_9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_resumes_a_large_import_and_applies_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kill.db").display());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::open(db).await.unwrap();
    app.bootstrap("Kill firm", "admin@kill.example").await.unwrap().unwrap();
    let actor = app.cli_admin(None).await.unwrap();

    let mut file = String::from("external_ref,name\n");
    for i in 0..ROWS {
        file.push_str(&format!("K{i},Client {i:05}\n"));
    }
    let request = app
        .receive_import(
            actor.admin().unwrap(),
            Format::Clients,
            Mode::Apply,
            false,
            std::io::Cursor::new(file.into_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(request.status.as_str(), "pending");
    let id = request.id;

    let mut server = Server::start(&url);
    let started = Instant::now();
    loop {
        let now = app.process_request(&actor, id).await.unwrap();
        assert_ne!(
            now.status.as_str(),
            "completed",
            "the import finished before it could be killed; make it larger"
        );
        if now.done > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server never started the import"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_9();
    let at_kill = app.process_request(&actor, id).await.unwrap();
    assert_eq!(at_kill.status.as_str(), "running", "killed mid-job: {at_kill:?}");
    assert!(at_kill.done > 0 && at_kill.done < ROWS as i64, "{at_kill:?}");

    let _server = Server::start(&url);
    let started = Instant::now();
    let finished = loop {
        let now = app.process_request(&actor, id).await.unwrap();
        if now.status == clientele_app::process_requests::RequestStatus::Completed {
            break now;
        }
        assert!(matches!(now.status.as_str(), "running" | "pending"), "{now:?}");
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the import did not finish: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished.done, ROWS as i64);
    assert_eq!(finished.failed, 0);
    assert_eq!(finished.attempts, 2, "claimed once, and once more after the kill");

    let Db::Sqlite(pools) = &app.db else { unreachable!() };
    let pool = &pools.read;
    let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(clients, ROWS as i64);
    let (events, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT client_id) FROM audit_events WHERE action = 'client.created'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((events, distinct), (ROWS as i64, ROWS as i64));
    let refs: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT external_ref) FROM clients")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(refs, ROWS as i64);
    let unprocessed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM process_request_rows WHERE request_id = $1 AND row_number > 0 AND outcome IS NULL",
    )
    .bind(id.0)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(unprocessed, 0);
    let lives: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE object_type = 'process_request' AND object_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        lives,
        [
            "process_request.created",
            "process_request.started",
            "process_request.resumed",
            "process_request.completed"
        ]
    );
}
