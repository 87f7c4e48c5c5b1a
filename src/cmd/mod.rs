//! Subcommands, one file each.

use anyhow::Context;
use clientele_app::App;
use clientele_store::Db;

use crate::cli::{AdminCommand, Cli, Command, TokenCommand};
use crate::config::DatabaseUrl;

mod admin;
mod backup;
pub mod bench;
mod demo;
mod export;
mod import;
mod sample_names;
mod serve;
mod worker;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(cli.global.log.as_deref(), cli.global.log_json)?;
    let url = DatabaseUrl::resolve(&cli.global);
    match cli.command {
        Command::Serve(args) => serve::run(&url, args).await,
        Command::Migrate => {
            open(&url).await?;
            println!("migrations applied to {url}");
            Ok(())
        }
        Command::Token(command) => tokens(&open(&url).await?, command).await,
        Command::Admin(AdminCommand::Create {
            email,
            name,
            role,
            password,
        }) => admin::create(&open(&url).await?, &email, &name, &role, password.as_deref()).await,
        Command::Demo(args) => demo::run(&open(&url).await?, &args).await,
        Command::Backup(args) => backup::run(&url, &args).await,
        Command::Import(args) => import::run(&open(&url).await?, &args).await,
        Command::Export(args) => export::run(&open(&url).await?, &args).await,
        Command::Worker(args) => worker::run(&open(&url).await?, &args).await,
        Command::Bench(args) => bench::run(cli.global.database_url.clone(), &args).await,
    }
}

/// Connects and brings the schema up to date.
pub async fn open(url: &DatabaseUrl) -> anyhow::Result<App> {
    let db = Db::connect(&url.0)
        .await
        .with_context(|| format!("cannot use database {url}"))?;
    db.migrate()
        .await
        .map_err(clientele_domain::Error::from)
        .with_context(|| format!("cannot migrate database {url}"))?;
    Ok(App::open(db).await?)
}

/// sqlx's slow-statement warnings print the whole statement, which for bulk loads is megabytes:
/// only its errors are logged unless asked for.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sqlx::query=error,sqlx::postgres::notice=warn";

fn init_logging(filter: Option<&str>, json: bool) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = filter.unwrap_or(DEFAULT_LOG_FILTER);
    let filter = EnvFilter::try_new(filter).with_context(|| {
        format!("the log filter \"{filter}\" is not valid; write it like `info` or `clientele=debug,tower_http=info`")
    })?;
    // Logs go to stderr: stdout carries command output (`token create` prints only the token).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

/// How long a stopping worker may take to commit its batch in progress and hand its request back.
const WORKER_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// Stops a worker loop: it hands its request back after the batch in progress; one that does
/// not within [`WORKER_STOP_GRACE`] is cut off (the batch rolls back and its lease runs out).
pub async fn stop_worker(worker: tokio::task::JoinHandle<()>, stop: &tokio_util::sync::CancellationToken) {
    stop.cancel();
    let abort = worker.abort_handle();
    if tokio::time::timeout(WORKER_STOP_GRACE, worker).await.is_err() {
        tracing::warn!("the worker did not stop in time; its request resumes when its lease runs out");
        abort.abort();
    }
}

/// `clientele token create|list|revoke`, acting as the organisation's first admin (the operator
/// at the console is trusted like one).
async fn tokens(app: &App, command: TokenCommand) -> anyhow::Result<()> {
    let admin = app.cli_admin(None).await?;
    match command {
        TokenCommand::Create {
            email,
            label,
            expires_in_days,
        } => {
            let staff = app.staff_by_email(admin.admin()?, "email", &email).await?;
            let expires_at =
                expires_in_days.map(|days| clientele_domain::now_millis() + i64::from(days) * 24 * 60 * 60 * 1000);
            let token = app.create_api_token(&admin, Some(staff.id), &label, expires_at).await?;
            println!("{}", token.token);
        }
        TokenCommand::List { email } => {
            let staff = app.staff_by_email(admin.admin()?, "email", &email).await?;
            let at = |ms: Option<i64>| {
                ms.map(|ms| clientele_domain::from_millis(ms).date().to_string())
                    .unwrap_or_else(|| "-".to_string())
            };
            println!("id\tname\tcreated\tlast used\texpires\tstatus");
            for t in app.api_tokens(&admin, Some(staff.id)).await? {
                let status = match (t.revoked_at, t.live) {
                    (Some(_), _) => "revoked",
                    (None, true) => "live",
                    (None, false) => "expired",
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{status}",
                    t.id,
                    t.name,
                    at(Some(t.created_at)),
                    at(t.last_used_at),
                    at(t.expires_at)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let t = app.revoke_api_token(&admin, id).await?;
            println!("revoked token {} ({})", t.id, t.name);
        }
    }
    Ok(())
}
