//! The bulk workloads: a CSV import of every client of the data set into a fresh SQLite database
//! through a process request (every rule, audit event and access change included), and an export
//! of every client, each against the `sqlite3` command line doing the bare minimum (`.import` into
//! a table without constraints, `-csv SELECT`) in the same run.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use clientele_app::App;
use clientele_app::bulk::{Format, Mode};
use clientele_store::Db;

use super::data::{ADMIN_EMAIL, Dataset};
use super::stats::{Report, Samples};

const SQLITE3: &str = "sqlite3";

/// Writes the data set's clients as an export file; returns its rows.
async fn export_to(app: &App, path: &std::path::Path) -> anyhow::Result<usize> {
    let actor = app.cli_admin(Some(ADMIN_EMAIL)).await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut after = Some(0);
    while let Some(from) = after {
        let (page, next) = app.export_page(actor.admin()?, Format::Clients, from).await?;
        out.write_all(&page)?;
        after = next;
    }
    out.flush()?;
    let text = std::fs::read_to_string(path)?;
    Ok(csv::Reader::from_reader(text.as_bytes()).records().count())
}

fn sqlite3(args: &[&str]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let out = Command::new(SQLITE3)
        .args(args)
        .output()
        .with_context(|| format!("running {SQLITE3} (install the sqlite3 command line)"))?;
    anyhow::ensure!(
        out.status.success(),
        "{SQLITE3} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(started.elapsed().as_secs_f64())
}

pub async fn import(app: &App, ds: &Dataset) -> anyhow::Result<Report> {
    let mut rep = Report::new("import", ds.size.name, "sqlite");
    let dir = std::env::temp_dir().join(format!("clientele-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let exported = dir.join("export.csv");
    let rows = export_to(app, &exported).await?;
    // New clients: the same file without the `id` column (ids belong to the source database).
    let file = dir.join("clients.csv");
    {
        let mut reader = csv::Reader::from_path(&exported)?;
        let mut writer = csv::Writer::from_path(&file)?;
        writer.write_record(reader.headers()?.iter().skip(1))?;
        for record in reader.records() {
            writer.write_record(record?.iter().skip(1))?;
        }
        writer.flush()?;
    }

    let ours_db = dir.join("ours.db");
    let _ = std::fs::remove_file(&ours_db);
    let db = Db::connect(&format!("sqlite://{}", ours_db.display())).await?;
    db.migrate().await.map_err(clientele_domain::Error::from)?;
    let fresh = App::open(db).await?;
    fresh.bootstrap("Import bench", "admin@import.example").await?;
    let actor = fresh.cli_admin(None).await?;
    // The business units the clients name, as in the source.
    {
        let source = app.cli_admin(Some(ADMIN_EMAIL)).await?;
        let mut cursor: Option<String> = None;
        loop {
            let page = app.business_units(&source, cursor.as_deref(), Some(500)).await?;
            for unit in &page.items {
                let _ = fresh.create_business_unit(actor.admin()?, &unit.name).await;
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let started = Instant::now();
    let input = std::io::BufReader::new(std::fs::File::open(&file)?);
    let request = fresh
        .receive_import(actor.admin()?, Format::Clients, Mode::Apply, false, input)
        .await?;
    fresh.run_now(request.id).await?;
    let ours = started.elapsed().as_secs_f64();
    let done = fresh.process_request(&actor, request.id).await?;
    anyhow::ensure!(done.status == "completed", "the import ended {}", done.status);
    fresh.db.close().await;

    let base_db = dir.join("base.db");
    let _ = std::fs::remove_file(&base_db);
    let base = sqlite3(&[
        base_db.to_str().unwrap_or_default(),
        &format!(".import --csv {} bare", file.display()),
    ])?;
    let base_rows: String = String::from_utf8(
        Command::new(SQLITE3)
            .args([base_db.to_str().unwrap_or_default(), "SELECT COUNT(*) FROM bare"])
            .output()?
            .stdout,
    )?;
    anyhow::ensure!(
        base_rows.trim() == rows.to_string(),
        "sqlite3 imported {} rows, the file has {rows}",
        base_rows.trim()
    );
    let _ = std::fs::remove_dir_all(&dir);

    rep.ours(&Samples(vec![ours * 1e6]), rows as f64 / ours);
    rep.baseline(
        "sqlite3 .import into a bare table",
        &Samples(vec![base * 1e6]),
        rows as f64 / base,
    );
    rep.note("rows", rows as i64);
    rep.note("applied", done.done - done.failed);
    rep.note("rejected", done.failed);
    Ok(rep.finish())
}

pub async fn export(app: &App, ds: &Dataset, url: &str) -> anyhow::Result<Report> {
    let mut rep = Report::new(
        "export",
        ds.size.name,
        if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
    );
    let dir = std::env::temp_dir().join(format!("clientele-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("clients.csv");
    let mut ours = Samples::default();
    let mut rows = 0;
    let started = Instant::now();
    for _ in 0..3 {
        let t = Instant::now();
        rows = export_to(app, &file).await?;
        ours.push(t);
    }
    let rate = 3.0 * rows as f64 / started.elapsed().as_secs_f64();
    rep.ours(&ours, rate);
    rep.note("rows", rows as i64);
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut base = Samples::default();
        let started = Instant::now();
        for _ in 0..3 {
            let seconds = sqlite3(&[
                "-csv",
                "-header",
                path,
                "SELECT id, external_ref, name, email, phone, status, relationship, relationship_expires_at, business_unit_id, notes FROM clients ORDER BY id",
            ])?;
            base.0.push(seconds * 1e6);
        }
        let base_rate = 3.0 * rows as f64 / started.elapsed().as_secs_f64();
        rep.baseline("sqlite3 -csv SELECT", &base, base_rate);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rep.finish())
}
