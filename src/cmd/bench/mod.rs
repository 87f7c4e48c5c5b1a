//! `clientele bench WORKLOAD --size S`: measures a workload on a generated data set and, in the
//! same run and on the same database, the baseline a team would hand-write (recursive CTEs), and
//! prints both with the ratio. See BENCHMARKS.md.

use std::time::Duration;

use clap::Args;

mod baseline;
mod bulk;
pub mod data;
mod hostile;
mod load;
mod pages;
mod stats;
mod workloads;

use data::SizeName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Access check in process (the index) against a recursive CTE.
    Check,
    /// Access check over HTTP against a hand-written CTE service.
    CheckHttp,
    /// "My group clients", first and deep pages, for a staff member who sees about a tenth of all clients.
    List,
    /// Membership changes and nesting a large group, until checks see them.
    Change,
    /// HTTP reads and writes for --seconds.
    Mixed,
    /// CSV import of memberships (one per client) into a copy of the data set, against `sqlite3 .import`.
    Import,
    /// CSV export of every client, against `sqlite3 -csv SELECT` (SQLite data sets).
    Export,
    /// Time by client group over a year, against a recursive CTE and GROUP BY.
    Report,
    /// Every screen of the web UI, server time, for an admin and a staff member.
    Pages,
    /// Access-changing writes through one node and through three on one PostgreSQL database.
    Nodes,
    /// A real `serve` under hostile traffic: a sign-in flood, a 1 GiB body, 10,000 slow
    /// connections (not part of `all`: it hashes hundreds of passwords).
    Hostile,
    /// Every workload above, one after the other.
    All,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(value_enum)]
    pub workload: Workload,
    #[arg(long, value_enum, default_value = "small")]
    pub size: SizeName,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// One JSON object per workload on stdout.
    #[arg(long)]
    pub json: bool,
    /// How long each HTTP load runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Import: this many membership rows, run as `clientele import` in a child process whose peak
    /// memory (VmHWM) is reported; default one row per client, in process.
    #[arg(long)]
    pub import_rows: Option<u64>,
    /// Where generated SQLite data sets are cached (by size, shape and seed).
    #[arg(long, default_value = "bench-data")]
    pub data_dir: std::path::PathBuf,
    /// `adversarial` adds a 32-deep chain of groups and one group holding every client.
    #[arg(long, value_enum, default_value = "standard")]
    pub shape: data::Shape,
}

/// Runs the benchmark. `database_url` names the database to use (PostgreSQL: an empty database,
/// filled on first use); without it a cached SQLite file under `--data-dir` is used.
pub async fn run(database_url: Option<String>, args: &BenchArgs) -> anyhow::Result<()> {
    let size = args.size.size();
    let url = match database_url {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&args.data_dir)?;
            let shape = match args.shape {
                data::Shape::Standard => String::new(),
                data::Shape::Adversarial => "-adversarial".to_string(),
            };
            format!(
                "sqlite://{}/{}{shape}-{}.db",
                args.data_dir.display(),
                size.name,
                args.seed
            )
        }
    };
    let (app, ds) = data::open(&url, &size, args.seed, args.shape).await?;
    if !args.json {
        println!(
            "data: {} ({} clients, {} groups, {} staff) at {url}{}",
            size.name,
            size.clients,
            size.levels.iter().sum::<i64>(),
            size.staff,
            if ds.generated_in > 0.0 {
                format!(", generated in {:.1} s", ds.generated_in)
            } else {
                ", cached".to_string()
            }
        );
    }
    let workloads = match args.workload {
        Workload::All => vec![
            Workload::Check,
            Workload::CheckHttp,
            Workload::List,
            Workload::Change,
            Workload::Mixed,
            Workload::Import,
            Workload::Export,
            Workload::Report,
            Workload::Pages,
            Workload::Nodes,
        ],
        w => vec![w],
    };
    let seconds = Duration::from_secs(args.seconds);
    for w in workloads {
        let report = match w {
            Workload::Check => workloads::check(&app, &ds).await?,
            Workload::CheckHttp => workloads::check_http(&url, &ds, seconds).await?,
            Workload::List => workloads::list(&app, &ds).await?,
            Workload::Change => workloads::change(&app, &ds).await?,
            Workload::Mixed => workloads::mixed(&url, &ds, seconds).await?,
            Workload::Import => bulk::import(&app, &ds, &url, args.import_rows).await?,
            Workload::Export => bulk::export(&app, &ds, &url).await?,
            Workload::Report => workloads::report(&app, &ds).await?,
            Workload::Pages => pages::pages(&app, &ds).await?,
            Workload::Nodes => workloads::nodes(&url, &ds, seconds).await?,
            Workload::Hostile => hostile::hostile(&app, &ds, &url).await?,
            Workload::All => unreachable!("expanded above"),
        };
        let mut report = report;
        if ds.generated_in > 0.0 {
            report.note("generated_in_s", (ds.generated_in * 10.0).round() / 10.0);
        }
        report.print(args.json);
    }
    Ok(())
}
