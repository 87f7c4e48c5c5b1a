//! Settings in layers. Every setting is one argument of the command line (`cli.rs`), and so has a
//! flag, a `CLIENTELE_*` environment variable and a key in the optional TOML file (`--config`; the
//! key is the flag's name with `_` for `-`: `csv_max_mb = 64`). Flags win over the environment,
//! which wins over the file, which wins over the built-in defaults: the file's values become the
//! arguments' defaults before the command line is read, so no setting can work in one layer and
//! not another. Secrets are redacted when printed.

use std::ffi::OsString;
use std::fmt;

use anyhow::{Context, bail};
use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Global};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./clientele.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Reads the command line, with the config file's values as defaults.
pub fn parse() -> anyhow::Result<Cli> {
    parse_from(std::env::args_os().collect(), std::env::var_os("CLIENTELE_CONFIG"))
}

fn parse_from(args: Vec<OsString>, config_env: Option<OsString>) -> anyhow::Result<Cli> {
    let mut command = Cli::command();
    if let Some(path) = config_path(&args).or(config_env) {
        let path = std::path::PathBuf::from(path);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("config file {} is not valid TOML", path.display()))?;
        for (key, value) in table {
            command = with_default(command, &key, &value).with_context(|| format!("config file {}", path.display()))?;
        }
    }
    let matches = command.try_get_matches_from(args).unwrap_or_else(|e| e.exit());
    Ok(Cli::from_arg_matches(&matches)?)
}

/// `--config FILE` or `--config=FILE` on the command line, read before the command line itself.
fn config_path(args: &[OsString]) -> Option<OsString> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return args.next().cloned();
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    None
}

/// Makes a file value the default of the argument with that name, wherever it is (a global
/// argument, or one of one or more subcommands).
fn with_default(command: clap::Command, key: &str, value: &toml::Value) -> anyhow::Result<clap::Command> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!(
            "`{key}` must be a string, a number or true/false, not {}",
            other.type_str()
        ),
    };
    if key == "config" {
        bail!("`config` cannot name another config file");
    }
    // Arguments live as long as the process; their defaults must too.
    let text: &'static str = Box::leak(text.into_boxed_str());
    let id = key.replace('-', "_");
    let is_it = |arg: &clap::Arg| arg.get_id().as_str() == id && arg.get_long().is_some();
    let mut found = command.get_arguments().any(is_it);
    let mut command = if found {
        command.mut_arg(id.clone(), |a| a.default_value(text))
    } else {
        command
    };
    let names: Vec<String> = command
        .get_subcommands()
        .filter(|sc| sc.get_arguments().any(is_it))
        .map(|sc| sc.get_name().to_string())
        .collect();
    for name in names {
        found = true;
        let id = id.clone();
        command = command.mut_subcommand(name, move |sc| sc.mut_arg(id, |a| a.default_value(text)));
    }
    if !found {
        bail!(
            "`{key}` is not a setting; the settings are: {}",
            settings(&Cli::command()).join(", ")
        );
    }
    Ok(command)
}

/// Every setting a config file may hold.
fn settings(command: &clap::Command) -> Vec<String> {
    let mut names: Vec<String> = command
        .get_arguments()
        .chain(command.get_subcommands().flat_map(|sc| sc.get_arguments()))
        .filter(|a| a.get_long().is_some() && a.get_id() != "config" && a.get_id() != "help")
        .map(|a| a.get_id().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A database URL that never shows its password when printed or logged.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    pub fn resolve(global: &Global) -> DatabaseUrl {
        DatabaseUrl(
            global
                .database_url
                .clone()
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
        )
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clientele_store::redact(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_never_printed() {
        let url = DatabaseUrl("postgres://app:s3cret@db.internal/clientele".into());
        assert_eq!(url.to_string(), "postgres://app:***@db.internal/clientele");
        assert!(!format!("{url:?}").contains("s3cret"));
        let query = DatabaseUrl("postgres://db.internal/clientele?user=app&password=s3cret".into());
        assert!(!query.to_string().contains("s3cret"), "{query}");
        assert_eq!(DatabaseUrl("sqlite://./x.db".into()).to_string(), "sqlite://./x.db");
    }

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn every_setting_works_in_the_file_and_flags_win_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clientele.toml");
        std::fs::write(
            &path,
            "database_url = \"sqlite://from-file.db\"\nlisten = \"127.0.0.1:9000\"\ncsv_max_mb = 64\nlog_json = true\nno_worker = true\nlease_secs = 7\n",
        )
        .unwrap();
        let config = path.display().to_string();
        let cli = parse_from(
            args(&format!("clientele --config {config} serve --listen 127.0.0.1:9100")),
            None,
        )
        .unwrap();
        assert_eq!(cli.global.database_url.as_deref(), Some("sqlite://from-file.db"));
        assert!(cli.global.log_json);
        let crate::cli::Command::Serve(serve) = cli.command else {
            panic!("serve")
        };
        assert_eq!(serve.listen.as_deref(), Some("127.0.0.1:9100"), "the flag wins");
        assert_eq!(serve.csv_max_mb, 64);
        assert!(serve.no_worker);
        assert_eq!(serve.lease_secs, 7);
        // The worker subcommand shares `lease_secs`.
        let cli = parse_from(args("clientele worker"), Some(config.clone().into())).unwrap();
        let crate::cli::Command::Worker(worker) = cli.command else {
            panic!("worker")
        };
        assert_eq!(worker.lease_secs, 7);

        std::fs::write(&path, "csv_max_megabytes = 1\n").unwrap();
        let e = parse_from(args(&format!("clientele --config {config} migrate")), None).unwrap_err();
        assert!(format!("{e:#}").contains("csv_max_megabytes"), "{e:#}");
        assert!(
            format!("{e:#}").contains("csv_max_mb"),
            "the error lists the real settings: {e:#}"
        );
    }

    #[test]
    fn booleans_read_as_people_write_them() {
        for (text, expected) in [
            ("1", true),
            ("true", true),
            ("yes", true),
            ("0", false),
            ("false", false),
            ("no", false),
        ] {
            let cli = parse_from(args(&format!("clientele --log-json={text} migrate")), None).unwrap();
            assert_eq!(cli.global.log_json, expected, "{text}");
        }
        assert!(
            parse_from(args("clientele --log-json migrate"), None)
                .unwrap()
                .global
                .log_json
        );
        assert!(!parse_from(args("clientele migrate"), None).unwrap().global.log_json);
    }
}
