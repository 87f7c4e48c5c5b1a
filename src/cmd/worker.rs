//! `clientele worker`: runs process requests (imports, large bulk changes) without serving HTTP.
//! `serve` runs the same loop in a task; any number of workers may share one PostgreSQL database
//! (claims skip locked rows), and on SQLite they take turns.

use std::time::Duration;

use clientele_app::App;
use clientele_app::process_requests::worker_name;

use crate::cli::WorkerArgs;
use tokio_util::sync::CancellationToken;

pub async fn run(app: &App, args: &WorkerArgs) -> anyhow::Result<()> {
    let lease_ms = (args.lease_secs.max(1) * 1000) as i64;
    let name = worker_name("worker");
    eprintln!("worker {name} is waiting for process requests (Ctrl-C or SIGTERM stops it)");
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let app = app.clone();
        let stop = stop.clone();
        async move { app.run_worker(&name, Duration::from_millis(500), lease_ms, stop).await }
    });
    super::shutdown_signal().await;
    super::stop_worker(worker, &stop).await;
    app.db.close().await;
    Ok(())
}
