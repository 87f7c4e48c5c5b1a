//! The bulk workloads: a CSV import of memberships (one per client by default) into a copy of the
//! data set through a process request (every rule, audit event and access change included), then
//! of new clients (a tenth as many as the data set has), twice (created, then unchanged), and an
//! export of every client, each against the `sqlite3` command line doing the bare minimum
//! (`.import` into a table without constraints, `-csv SELECT`) in the same run. The memberships
//! import is also set against two floors (`membership_floors`): the same memberships written with
//! bare SQL into the real table, and into the smallest table any design could keep them in.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use clientele_app::App;
use clientele_app::bulk::Format;
use clientele_app::process_requests::Mode;
use clientele_store::Db;

use super::data::{ADMIN_EMAIL, Dataset};
use super::stats::{Report, Samples};

const SQLITE3: &str = "sqlite3";

/// Writes the data set's clients as an export file.
async fn export_to(app: &App, path: &std::path::Path) -> anyhow::Result<()> {
    let actor = app.cli_admin(Some(ADMIN_EMAIL)).await?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut after = Some(0);
    while let Some(from) = after {
        let (page, next) = app.export_page(actor.admin()?, Format::Clients, from).await?;
        out.write_all(&page)?;
        after = next;
    }
    out.flush()?;
    Ok(())
}

/// The data rows of a CSV file (counted outside the timings).
fn count_rows(path: &std::path::Path) -> anyhow::Result<usize> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record)? {
        rows += 1;
    }
    Ok(rows)
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

/// The one value `sql` selects from `db`, as the `sqlite3` command line prints it (untimed).
fn sqlite3_value(db: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new(SQLITE3).args([db, sql]).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{SQLITE3} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// Runs of the import workload: several on small data sets (the median is reported), one on large
/// ones.
fn import_runs(ds: &Dataset) -> usize {
    if ds.size.clients <= 100_000 { 3 } else { 1 }
}

/// Writes the memberships file the import workload loads: `rows` rows (by default one per client),
/// each putting a client (by external reference, as people's files name them) into a group of
/// clients (by id) it is not in yet: row r takes client `r % clients + 1` into the leaf
/// `r / clients + 1` places after its own.
fn write_memberships(path: &std::path::Path, ds: &Dataset, rows: u64) -> anyhow::Result<()> {
    let leaves = ds.levels.last().context("a data set without groups")?;
    let clients = ds.size.clients as u64;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(b"group_id,client_ref\n")?;
    for r in 0..rows {
        let client = r % clients + 1;
        let shift = r / clients + 1;
        let leaf = leaves[((client + shift) % leaves.len() as u64) as usize];
        writeln!(out, "{},B-{client}", leaf.0)?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `rows` new clients as a clients file, as a firm's CRM export might give them.
fn write_new_clients(path: &std::path::Path, rows: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(b"external_ref,name,email,phone,status\n")?;
    for i in 0..rows {
        writeln!(
            out,
            "NEW-{i},New client {i:07},new{i}@clients.example,+1 555 {i:07},active"
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Imports `file` of new clients into `app` twice: every row creates a client, then every row
/// finds its client unchanged. Returns the seconds each took.
async fn import_clients_twice(
    app: &App,
    actor: &clientele_app::Actor,
    file: &std::path::Path,
) -> anyhow::Result<[f64; 2]> {
    let mut took = [0.0; 2];
    for (run, expected) in ["created", "unchanged"].into_iter().enumerate() {
        let started = Instant::now();
        let input = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(file)?);
        let request = app
            .receive_import(actor.admin()?, Format::Clients, Mode::Apply, false, input)
            .await?;
        app.run_now(request.id.0).await?;
        took[run] = started.elapsed().as_secs_f64();
        let finished = app.process_request(actor, request.id).await?;
        anyhow::ensure!(
            finished.status == clientele_app::process_requests::RequestStatus::Completed && finished.failed == 0,
            "the clients import ended {} with {} rejected",
            finished.status,
            finished.failed
        );
        let (mut after, mut as_expected) = (0, 0);
        loop {
            let rows = app.report_rows(actor, request.id, after, 5000).await?;
            let Some(last) = rows.last() else { break };
            after = last.row;
            as_expected += rows.iter().filter(|r| r.outcome == expected).count();
        }
        anyhow::ensure!(
            as_expected as i64 == finished.total,
            "{as_expected} of the clients import's {} rows were {expected}",
            finished.total
        );
    }
    Ok(took)
}

/// A database holding the data set: a consistent copy of a SQLite one (`VACUUM INTO`), or the
/// same data set generated into a new SQLite file when the source is PostgreSQL.
async fn copy_of(app: &App, ds: &Dataset, url: &str, path: &std::path::Path) -> anyhow::Result<String> {
    let _ = std::fs::remove_file(path);
    let target = format!("sqlite://{}", path.display());
    if url.starts_with("sqlite") {
        app.db.backup_sqlite(&path.display().to_string()).await?;
    } else {
        let (generated, _) = super::data::open(&target, &ds.size, ds.seed, super::data::Shape::Standard).await?;
        generated.db.close().await;
    }
    Ok(target)
}

/// Rows per transaction of the floor runs: about what the import's own batches settle at.
const FLOOR_BATCH: u64 = 40_000;

/// The floor of any importer that keeps memberships, in seconds: the file's rows, resolved to
/// (group, client) ids beforehand and untimed, inserted by `sqlite3` with bare SQL, in sorted
/// transactions of [`FLOOR_BATCH`] rows and with the writer's pragmas, into a copy of the data set:
/// once into the real `group_clients` table (its indexes and foreign keys, no rules, no audit, no
/// report), once into the least any design needs (a `WITHOUT ROWID` table of (group, client) with
/// an index by client: "the clients of a group" and "the groups of a client" both answered by an
/// index). Neither stores the input or writes an outcome, an audit event or an access change.
fn membership_floors(db: &std::path::Path, file: &std::path::Path) -> anyhow::Result<[f64; 2]> {
    let db = db.to_str().unwrap_or_default();
    sqlite3(&[
        db,
        &format!(".import --csv {} floor_input", file.display()),
        "CREATE TABLE floor_rows AS SELECT i.rowid AS n, CAST(i.group_id AS INTEGER) AS group_id, c.id AS client_id
           FROM floor_input i JOIN clients c ON c.organization_id = (SELECT MIN(id) FROM organizations) AND c.external_ref = i.client_ref;
         CREATE TABLE floor_minimal (group_id INTEGER NOT NULL, client_id INTEGER NOT NULL, PRIMARY KEY (group_id, client_id)) WITHOUT ROWID;
         INSERT INTO floor_minimal SELECT group_id, client_id FROM group_clients ORDER BY group_id, client_id;
         CREATE INDEX floor_minimal_by_client ON floor_minimal (client_id);",
    ])?;
    let rows: u64 = sqlite3_value(db, "SELECT MAX(n) FROM floor_rows")?
        .parse()
        .context("resolving the floor's rows")?;
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{};",
        clientele_store::WRITER_CACHE_KIB
    );
    let mut took = [0.0; 2];
    for (i, insert) in [
        "INSERT INTO group_clients (group_id, client_id, organization_id, added_at, cause)
           SELECT group_id, client_id, (SELECT MIN(id) FROM organizations), 0, 'import'",
        "INSERT INTO floor_minimal (group_id, client_id) SELECT group_id, client_id",
    ]
    .into_iter()
    .enumerate()
    {
        let mut script = pragmas.clone();
        for from in (0..rows).step_by(FLOOR_BATCH as usize) {
            script.push_str(&format!(
                "BEGIN; {insert} FROM floor_rows WHERE n > {from} AND n <= {} ORDER BY group_id, client_id; COMMIT;",
                from + FLOOR_BATCH
            ));
        }
        took[i] = sqlite3(&[db, &script])?;
    }
    Ok(took)
}

/// Peak resident memory of a process, from `/proc/PID/status` (Linux), in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The import workload: memberships validated and applied through a process request (every rule,
/// audit event and access change included) into a copy of the data set, against `sqlite3 .import`
/// of the same file into a bare table. With `rows` given, the import runs as `clientele import` in
/// a child process whose peak memory is measured (the rate then includes its start-up).
pub async fn import(app: &App, ds: &Dataset, url: &str, rows: Option<u64>) -> anyhow::Result<Report> {
    let mut rep = Report::new("import", ds.size.name, "sqlite");
    let dir = std::env::temp_dir().join(format!("clientele-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("memberships.csv");
    let child = rows.is_some();
    let rows = rows.unwrap_or(ds.size.clients as u64);
    write_memberships(&file, ds, rows)?;
    let runs = if child { 1 } else { import_runs(ds) };

    let clients_file = dir.join("clients.csv");
    let new_clients = (ds.size.clients as u64 / 10).max(1);
    let mut clients_took = None;
    let ours_db = dir.join("ours.db");
    let mut ours = Samples::default();
    let mut done = None;
    let mut peak = 0;
    for _ in 0..runs {
        let target = copy_of(app, ds, url, &ours_db).await?;
        if child {
            let started = Instant::now();
            let mut process = std::process::Command::new(std::env::current_exe()?)
                .args(["--log", "warn", "--database-url", &target, "import", "memberships"])
                .arg(&file)
                .args(["--mode", "apply", "--as", ADMIN_EMAIL])
                .stdout(std::process::Stdio::null())
                .spawn()
                .context("starting clientele import")?;
            let status = loop {
                if let Some(bytes) = peak_rss(process.id()) {
                    peak = peak.max(bytes);
                }
                if let Some(status) = process.try_wait()? {
                    break status;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            };
            ours.0.push(started.elapsed().as_secs_f64() * 1e6);
            anyhow::ensure!(status.success(), "clientele import failed: {status}");
            continue;
        }
        let db = Db::connect(&target).await?;
        let fresh = App::open(db).await?;
        let actor = fresh.cli_admin(Some(ADMIN_EMAIL)).await?;
        // The first run also answers access checks over HTTP, served by this same App, before
        // and during the import: the import must not hold them up.
        let checking = if ours.0.is_empty() {
            Some(ChecksBeside::start(&fresh, ds).await?)
        } else {
            None
        };
        let started = Instant::now();
        let input = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&file)?);
        let request = fresh
            .receive_import(actor.admin()?, Format::Memberships, Mode::Apply, false, input)
            .await?;
        fresh.run_now(request.id.0).await?;
        ours.0.push(started.elapsed().as_secs_f64() * 1e6);
        if let Some(checking) = checking {
            checking.finish(&mut rep);
        }
        let finished = fresh.process_request(&actor, request.id).await?;
        anyhow::ensure!(
            finished.status == clientele_app::process_requests::RequestStatus::Completed,
            "the import ended {}",
            finished.status
        );
        done = Some(finished);
        if clients_took.is_none() {
            write_new_clients(&clients_file, new_clients)?;
            clients_took = Some(import_clients_twice(&fresh, &actor, &clients_file).await?);
        }
        fresh.db.close().await;
    }

    // The floors, on a copy of the data set as the import found it (in-process runs only: the
    // 10M-row runs measure memory).
    let floors = if child {
        None
    } else {
        let floor_db = dir.join("floor.db");
        copy_of(app, ds, url, &floor_db).await?;
        Some(membership_floors(&floor_db, &file)?)
    };

    let base_db = dir.join("base.db");
    let mut base = Samples::default();
    for _ in 0..runs {
        let _ = std::fs::remove_file(&base_db);
        let seconds = sqlite3(&[
            base_db.to_str().unwrap_or_default(),
            &format!(".import --csv {} bare", file.display()),
        ])?;
        base.0.push(seconds * 1e6);
    }
    let base_rows = sqlite3_value(base_db.to_str().unwrap_or_default(), "SELECT COUNT(*) FROM bare")?;
    anyhow::ensure!(
        base_rows == rows.to_string(),
        "sqlite3 imported {base_rows} rows, the file has {rows}"
    );
    if let Some([created, unchanged]) = clients_took {
        let _ = std::fs::remove_file(&base_db);
        let bare = sqlite3(&[
            base_db.to_str().unwrap_or_default(),
            &format!(".import --csv {} bare", clients_file.display()),
        ])?;
        let per_second = |seconds: f64| (new_clients as f64 / seconds).round();
        rep.note("clients_rows", new_clients as i64);
        rep.note("clients_created_rows_per_s", per_second(created));
        rep.note("clients_unchanged_rows_per_s", per_second(unchanged));
        rep.note("clients_sqlite3_import_rows_per_s", per_second(bare));
        rep.note("clients_created_ratio", ((bare / created) * 1000.0).round() / 1000.0);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |s: &Samples| rows as f64 / (s.percentile(50.0) / 1e6);
    rep.ours(&ours, rate(&ours));
    rep.baseline("sqlite3 .import into a bare table", &base, rate(&base));
    rep.note("rows", rows as i64);
    rep.note("format", "memberships");
    if let Some([table, minimal]) = floors {
        let ours_s = ours.percentile(50.0) / 1e6;
        let per_second = |seconds: f64| (rows as f64 / seconds).round();
        let ratio = |seconds: f64| ((seconds / ours_s) * 1000.0).round() / 1000.0;
        rep.note("floor_group_clients_rows_per_s", per_second(table));
        rep.note("floor_group_clients_ratio", ratio(table));
        rep.note("floor_minimal_rows_per_s", per_second(minimal));
        rep.note("floor_minimal_ratio", ratio(minimal));
    }
    if let Some(done) = done {
        rep.note("applied", done.done - done.failed);
        rep.note("rejected", done.failed);
    }
    if child {
        rep.note("peak_rss_mb", (peak as f64 / (1024.0 * 1024.0)).round());
        rep.note("measured", "clientele import in a child process, start-up included");
    }
    Ok(rep.finish())
}

/// Access checks over HTTP against a server on the importing App (its own thread and runtime,
/// as `serve` answers requests beside its worker): a few seconds with nothing else going on,
/// then for as long as the import runs.
struct ChecksBeside {
    idle: super::load::LoadResult,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    during: std::thread::JoinHandle<super::load::LoadResult>,
    _server: super::load::Server,
}

/// Keep-alive connections sending checks one after another: a steady load that leaves the
/// import the other core.
const CHECK_CONNECTIONS: usize = 4;

impl ChecksBeside {
    async fn start(app: &App, ds: &Dataset) -> anyhow::Result<ChecksBeside> {
        use super::load::{Req, Server, Until, run, run_until};
        use rand::SeedableRng;
        use std::sync::Arc;
        let token = app.create_token(ADMIN_EMAIL, "bench").await?;
        let server = {
            let app = app.clone();
            Server::start(move || async move {
                Ok((
                    clientele_web::router(app, &clientele_web::WebSettings::default()),
                    token,
                ))
            })?
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(ds.seed ^ 0x1A7);
        let pairs = Arc::new(super::workloads::sample_pairs(ds, &mut rng, 100_000));
        let next: Arc<dyn Fn(usize, u64) -> Req + Send + Sync> = Arc::new(move |worker, n| {
            let (s, c) = pairs[(worker * 7919 + n as usize * 31) % pairs.len()];
            Req::get(format!("/api/v1/access/check?staff={s}&client={c}"))
        });
        let (address, token) = (server.address.clone(), server.token.clone());
        let idle = tokio::task::spawn_blocking({
            let (address, token, next) = (address.clone(), token.clone(), next.clone());
            move || {
                run(
                    address,
                    token,
                    CHECK_CONNECTIONS,
                    std::time::Duration::from_secs(3),
                    next,
                )
            }
        })
        .await?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let during = run_until(address, token, CHECK_CONNECTIONS, Until::Flag(stop.clone()), next);
        Ok(ChecksBeside {
            idle,
            stop,
            during,
            _server: server,
        })
    }

    fn finish(self, rep: &mut Report) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let during = self.during.join().unwrap_or_default();
        let ms = |r: &super::load::LoadResult, p: f64| (r.samples.percentile(p) / 10.0).round() / 100.0;
        rep.note("checks_idle_p99_ms", ms(&self.idle, 99.0));
        rep.note("checks_during_import_p50_ms", ms(&during, 50.0));
        rep.note("checks_during_import_p99_ms", ms(&during, 99.0));
        rep.note("checks_during_import", during.samples.0.len() as i64);
        rep.note("checks_during_import_per_s", during.ops_per_s().round());
        rep.note("checks_during_import_errors", during.errors as i64);
    }
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
    for _ in 0..3 {
        let t = Instant::now();
        export_to(app, &file).await?;
        ours.push(t);
    }
    let rows = count_rows(&file)?;
    // Rates from the medians, ours and the baseline alike.
    let rate = |s: &Samples| rows as f64 / (s.percentile(50.0) / 1e6);
    rep.ours(&ours, rate(&ours));
    rep.note("rows", rows as i64);
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut base = Samples::default();
        for _ in 0..3 {
            let seconds = sqlite3(&[
                "-csv",
                "-header",
                path,
                "SELECT id, external_ref, name, email, phone, status, relationship, relationship_expires_at, business_unit_id, notes FROM clients ORDER BY id",
            ])?;
            base.0.push(seconds * 1e6);
        }
        rep.baseline("sqlite3 -csv SELECT", &base, rate(&base));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rep.finish())
}
