//! `clientele import FORMAT FILE [--mode validate|apply] [--replace]`: the same process request as
//! an upload through the API, run in this process (or by a `serve`/`worker` that claims it first),
//! with progress on a terminal and plain lines otherwise. Rejected rows are listed with their line
//! and reason; the exit status is non-zero when any row was rejected.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use clientele_app::App;
use clientele_app::bulk::Format;
use clientele_app::process_requests::Mode;

use crate::cli::ImportArgs;

pub async fn run(app: &App, args: &ImportArgs) -> anyhow::Result<()> {
    let actor = app.cli_admin(args.as_admin.as_deref()).await?;
    let format = Format::parse(&args.format)?;
    let mode = Mode::parse(&args.mode)?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let input = std::io::BufReader::with_capacity(256 * 1024, file);
    let request = app
        .receive_import(actor.admin()?, format, mode, args.replace, input)
        .await
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let id = request.id;
    let total = request.total.max(0) as u64;
    eprintln!(
        "process request {id}: {} rows of {} to {}",
        total,
        format.as_str(),
        mode.as_str()
    );
    let runner = {
        let app = app.clone();
        tokio::spawn(async move { app.run_now(id.0).await })
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({percent}%) {eta}") {
            bar.set_style(style);
        }
        bar
    });
    let mut last_line = std::time::Instant::now();
    let finished = loop {
        let now = app.process_request(&actor, id).await?;
        match &bar {
            Some(bar) => bar.set_position(now.done.max(0) as u64),
            None if last_line.elapsed() >= Duration::from_secs(2) => {
                eprintln!("{}/{} rows ({}%)", now.done, now.total, now.progress);
                last_line = std::time::Instant::now();
            }
            None => {}
        }
        if matches!(now.status.as_str(), "completed" | "failed" | "cancelled") {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    runner.await.context("the import stopped")??;
    let mut after = 0;
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    loop {
        let rows = app.report_rows(&actor, id, after, 5000).await?;
        let Some(last) = rows.last() else { break };
        after = last.row;
        for row in rows {
            if row.outcome == "rejected" {
                eprintln!("line {}: {}", row.line, row.reason.as_deref().unwrap_or_default());
            }
            *counts.entry(row.outcome).or_default() += 1;
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!(
        "process request {id} {}: {} ({})",
        finished.status,
        if summary.is_empty() {
            "no rows".to_string()
        } else {
            summary.join(", ")
        },
        if mode == Mode::Validate {
            "dry run, nothing changed"
        } else {
            "applied"
        }
    );
    if finished.status != clientele_app::process_requests::RequestStatus::Completed {
        anyhow::bail!(
            "process request {id} {}: {}",
            finished.status,
            finished.error.unwrap_or_default()
        );
    }
    if finished.failed > 0 {
        anyhow::bail!(
            "{} of {} rows were rejected (report: GET /api/v1/process-requests/{id}/report.csv)",
            finished.failed,
            finished.total
        );
    }
    Ok(())
}
