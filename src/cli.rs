//! The command line: one struct for flags and `CLIENTELE_*` environment variables.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "clientele",
    version,
    about = "Client groups and group-based access for firms"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Database URL: sqlite://FILE (default ./clientele.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "CLIENTELE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Optional TOML file with the same settings, each under its flag's name with `_` for `-`
    /// (`database_url`, `listen`, `csv_max_mb`, ...); flags and environment variables win over it.
    #[arg(long, global = true, env = "CLIENTELE_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Log filter, e.g. `info` or `clientele=debug,tower_http=info`.
    #[arg(long, global = true, env = "CLIENTELE_LOG")]
    pub log: Option<String>,
    /// Log as JSON lines (for log shippers) instead of text.
    #[arg(long, global = true, env = "CLIENTELE_LOG_JSON", value_parser = BoolishValueParser::new(),
          action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true")]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service (API and operations endpoints). Sets up an empty database on first start.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Staff administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Fill the database with a realistic demo organisation.
    Demo(DemoArgs),
    /// Take a consistent copy of a SQLite database, even while `serve` runs.
    Backup(BackupArgs),
    /// Import a CSV file (clients, groups or memberships) as a process request.
    Import(ImportArgs),
    /// Write every client, group or membership as CSV (stdout unless --output).
    Export(ExportArgs),
    /// Run process requests (imports, large bulk changes) without serving HTTP.
    Worker(WorkerArgs),
    /// Measure a workload against its hand-written SQL baseline on generated data (BENCHMARKS.md).
    Bench(crate::cmd::bench::BenchArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLIENTELE_LISTEN")]
    pub listen: Option<String>,
    /// Name of the organisation created on first start.
    #[arg(long, env = "CLIENTELE_ORG_NAME")]
    pub org_name: Option<String>,
    /// E-mail of the admin created on first start.
    #[arg(long, env = "CLIENTELE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Largest CSV upload accepted, in MiB.
    #[arg(long, env = "CLIENTELE_CSV_MAX_MB", default_value_t = 256)]
    pub csv_max_mb: u64,
    /// Do not run process requests in this server (run `clientele worker` instead).
    #[arg(long, env = "CLIENTELE_NO_WORKER", value_parser = BoolishValueParser::new(),
          action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true")]
    pub no_worker: bool,
    /// How long a process request stays with a worker that stopped answering (it renews the lease
    /// with every batch); after that another worker, or this one restarted, takes it over.
    #[arg(long, env = "CLIENTELE_LEASE_SECS", default_value_t = 30)]
    pub lease_secs: u64,
    /// Connections open at once; more wait to be accepted.
    #[arg(long, env = "CLIENTELE_MAX_CONNECTIONS", default_value_t = 16_384)]
    pub max_connections: usize,
    /// After SIGTERM, how long the server goes on answering (with `Connection: close`, `/readyz`
    /// 503) before it stops accepting, in milliseconds.
    #[arg(long, env = "CLIENTELE_DRAIN_MS", default_value_t = 1000)]
    pub drain_ms: u64,
    /// How long a client may take to send a request's headers, and how long an idle keep-alive
    /// connection stays open, in seconds.
    #[arg(long, env = "CLIENTELE_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For/-Host/-Proto` headers are believed
    /// (client addresses for sign-in limits, the host of the cross-site check): addresses or
    /// networks, comma-separated, e.g. `10.0.0.0/8,127.0.0.1`. None by default.
    #[arg(long, env = "CLIENTELE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Serve `/metrics` on this address (e.g. `127.0.0.1:9090`) instead of the main listener.
    #[arg(long, env = "CLIENTELE_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Serve `/metrics` on the main listener to requests with `Authorization: Bearer <this>`.
    /// Without this or `--metrics-listen`, `/metrics` is not served.
    #[arg(long, env = "CLIENTELE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Days the uploaded rows of an ended process request are kept; then they are purged (the
    /// request, its counts and every row's outcome stay).
    #[arg(long, env = "CLIENTELE_INPUT_RETENTION_DAYS", default_value_t = 30)]
    pub input_retention_days: u64,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for a staff member: one line on stdout, nothing else.
    Create {
        #[arg(long)]
        email: String,
        /// A name to recognise the token by.
        #[arg(long, alias = "name", default_value = "cli")]
        label: String,
        /// Days until it stops working (default: until revoked).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a staff member's tokens: id, name, created, last used, expires, status.
    List {
        #[arg(long)]
        email: String,
    },
    /// Revoke a token by its id (from `token list`), on every server at once.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a staff member (an admin unless --role staff) in the organisation.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "admin", value_parser = ["admin", "staff"])]
        role: String,
        /// Password for the web UI; read from CLIENTELE_ADMIN_PASSWORD so it stays out of shell history.
        #[arg(long, env = "CLIENTELE_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many clients to create.
    #[arg(long, default_value_t = 500)]
    pub clients: usize,
    /// Seed of the deterministic generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// clients, groups, memberships, time_entries or program_accounts (`GET /api/v1/csv/FORMAT/guide` explains each).
    #[arg(value_parser = ["clients", "groups", "memberships", "time_entries", "program_accounts"])]
    pub format: String,
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// validate: a dry run that reports what each row would do; apply: do it.
    #[arg(long, default_value = "validate", value_parser = ["validate", "apply"])]
    pub mode: String,
    /// Memberships: each group in the file ends with exactly the file's members.
    #[arg(long, value_parser = BoolishValueParser::new(), action = ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true")]
    pub replace: bool,
    /// Act as this admin (default: the first active admin).
    #[arg(long = "as")]
    pub as_admin: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// clients, groups, memberships, time_entries or program_accounts.
    #[arg(value_parser = ["clients", "groups", "memberships", "time_entries", "program_accounts"])]
    pub format: String,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
    /// Act as this admin (default: the first active admin).
    #[arg(long = "as")]
    pub as_admin: Option<String>,
    /// Only what matches this search (clients: name, exact reference or e-mail; groups: name
    /// or CRM ID). With no filter, everything.
    #[arg(long)]
    pub search: Option<String>,
    /// Clients: comma-separated statuses (active,inactive,closed).
    #[arg(long)]
    pub status: Option<String>,
    /// Clients: only those in one of these groups (comma-separated ids), through any nesting.
    #[arg(long)]
    pub group: Option<String>,
    /// Only clients, or groups and their memberships, of this business unit (its id).
    #[arg(long)]
    pub business_unit: Option<i64>,
    /// Clients: only those that could join a group now.
    #[arg(long)]
    pub available: bool,
    /// Groups and memberships: clients or groups.
    #[arg(long)]
    pub kind: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// How long a process request stays with a worker that stopped answering.
    #[arg(long, env = "CLIENTELE_LEASE_SECS", default_value_t = 30)]
    pub lease_secs: u64,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (must not exist).
    pub file: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
