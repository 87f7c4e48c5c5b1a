//! Settings in layers: built-in defaults, then the optional TOML file, then `CLIENTELE_*`
//! environment variables and flags (clap merges those two). Secrets are redacted when printed.

use std::fmt;

use anyhow::Context;
use serde::Deserialize;

use crate::cli::Global;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./clientele.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub org_name: Option<String>,
    pub admin_email: Option<String>,
    pub log: Option<String>,
}

impl FileSettings {
    pub fn load(global: &Global) -> anyhow::Result<FileSettings> {
        let Some(path) = &global.config else {
            return Ok(FileSettings::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// A database URL that never shows its password when printed or logged.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    pub fn resolve(global: &Global, file: &FileSettings) -> DatabaseUrl {
        DatabaseUrl(
            global
                .database_url
                .clone()
                .or_else(|| file.database_url.clone())
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
        )
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // scheme://user:password@host -> scheme://user:***@host
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let credentials = &self.0[scheme_end + 3..at];
                match credentials.split_once(':') {
                    Some((user, _)) => write!(f, "{}://{user}:***{}", &self.0[..scheme_end], &self.0[at..]),
                    None => f.write_str(&self.0),
                }
            }
            _ => f.write_str(&self.0),
        }
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
        assert_eq!(DatabaseUrl("sqlite://./x.db".into()).to_string(), "sqlite://./x.db");
    }
}
