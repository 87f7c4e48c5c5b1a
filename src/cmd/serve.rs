//! `clientele serve`: the web service. On an empty database it creates the organisation and the
//! first admin and prints how to sign in. SIGTERM or Ctrl-C drains: the server answers with
//! `Connection: close` for a moment (`--drain-ms`), then stops accepting, lets requests in flight
//! finish and hands its process request back to the queue.

use std::time::Duration;

use anyhow::Context;
use clientele_app::App;
use clientele_web::WebSettings;
use clientele_web::server::{Lifecycle, ServerSettings};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::{DEFAULT_LISTEN, DatabaseUrl};

/// How often relationship expiry is applied (seed 004).
const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often changes made by other server processes are applied to this one's access index.
const FOLLOW_CHANGES_EVERY: Duration = Duration::from_millis(100);
/// How often an idle server looks for process requests to run.
const PROCESS_REQUESTS_EVERY: Duration = Duration::from_millis(500);

pub async fn run(url: &DatabaseUrl, args: ServeArgs) -> anyhow::Result<()> {
    let listen = args.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let trusted_proxies = clientele_web::proxy::TrustedProxies::parse(&args.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
    let app = super::open(url).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");

    let org_name = args.org_name.unwrap_or_else(|| "My firm".to_string());
    let admin_email = args.admin_email.unwrap_or_else(|| "admin@example.com".to_string());
    if let Some(first) = app.bootstrap(&org_name, &admin_email).await? {
        let token = app.create_token(&first.admin.email, "first start").await?;
        println!("Set up \"{}\" in {url}.", first.organization.name);
        println!("  admin e-mail:    {}", first.admin.email);
        println!("  admin password:  {}   (shown once; for the web UI)", first.password);
        println!("  admin API token: {token}   (shown once)");
        println!("  try: curl -H 'Authorization: Bearer {token}' {base}/api/v1/groups");
    }
    println!("Clientele is listening on {base}  (API at {base}/api/v1, OpenAPI at {base}/api/v1/openapi.json)");
    tracing::info!(%address, database = %url, "serving");

    let retention = Duration::from_secs(args.input_retention_days.saturating_mul(24 * 60 * 60));
    let sweeper = tokio::spawn(sweep_expired_relationships(app.clone(), retention));
    let follower = tokio::spawn(follow_changes(app.clone()));
    // Reports read time entries from memory; loading them (ten million take seconds) must not
    // hold up serving, so it starts now and the first report waits for it if it comes first.
    let warm = app.clone();
    tokio::spawn(async move {
        if let Err(e) = warm.warm_reports().await {
            tracing::warn!(error = %e, "loading the report ledger failed; the first report will retry");
        }
    });
    let lease_ms = (args.lease_secs.max(1) * 1000) as i64;
    let stop_worker = CancellationToken::new();
    let worker = (!args.no_worker).then(|| {
        let app = app.clone();
        let stop = stop_worker.clone();
        tokio::spawn(async move {
            let name = clientele_app::process_requests::worker_name("serve");
            app.run_worker(&name, PROCESS_REQUESTS_EVERY, lease_ms, stop).await
        })
    });
    let lifecycle = Lifecycle::default();
    // `/metrics` on its own address when one is given (open there: the operator chose who can
    // reach it), and on the main listener behind a token when one is given; otherwise nowhere.
    let metrics_server = match &args.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            println!("Metrics on http://{}/metrics", listener.local_addr()?);
            let metrics = clientele_web::metrics_router(app.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, metrics).await {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let metrics_access = args.metrics_token.clone().map(Some);
    let settings = WebSettings {
        csv_max_bytes: args.csv_max_mb.saturating_mul(1024 * 1024),
        lifecycle: lifecycle.clone(),
        trusted_proxies,
        metrics_access,
        ..WebSettings::default()
    };
    let router = clientele_web::router(app.clone(), &settings);
    let server = ServerSettings {
        max_connections: args.max_connections,
        drain: Duration::from_millis(args.drain_ms),
        header_read_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        ..ServerSettings::default()
    };
    // The worker stops with the signal, while the server drains: its batch in progress commits
    // and it hands the request back, so another process resumes it at once.
    let signalled = {
        let stop = stop_worker.clone();
        async move {
            super::shutdown_signal().await;
            stop.cancel();
        }
    };
    clientele_web::server::serve(listener, router, server, lifecycle, signalled).await;
    sweeper.abort();
    follower.abort();
    if let Some(metrics) = metrics_server {
        metrics.abort();
    }
    if let Some(worker) = worker {
        super::stop_worker(worker, &stop_worker).await;
    }
    app.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn sweep_expired_relationships(app: App, input_retention: Duration) {
    let mut every = tokio::time::interval(EXPIRY_SWEEP_EVERY);
    loop {
        every.tick().await;
        match app.sweep_lapsed_relationships().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                memberships = n,
                "removed clients whose relationship expired from their groups"
            ),
            Err(e) => tracing::warn!(error = %e, "relationship expiry sweep failed"),
        }
        match app.sweep_lapsed_assignments().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(assignments = n, "ended assignments whose validity passed"),
            Err(e) => tracing::warn!(error = %e, "assignment expiry sweep failed"),
        }
        match app.sweep_lapsed_memberships().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(memberships = n, "ended memberships whose validity passed"),
            Err(e) => tracing::warn!(error = %e, "membership validity sweep failed"),
        }
        if let Err(e) = app.purge_old_inputs(input_retention).await {
            tracing::warn!(error = %e, "purging old uploaded rows failed");
        }
    }
}

/// Applies changes committed by other server processes (several `serve` on one PostgreSQL).
/// Requests that must see a given write send `Clientele-Min-Seq` and need not wait for this.
async fn follow_changes(app: App) {
    let mut every = tokio::time::interval(FOLLOW_CHANGES_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = app.sync_access().await {
            tracing::warn!(error = %e, "catching up with the change log failed");
        }
    }
}
