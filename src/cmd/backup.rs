//! `clientele backup FILE`: a consistent online copy of a SQLite database.

use clientele_store::Db;

use crate::cli::BackupArgs;
use crate::config::DatabaseUrl;

pub async fn run(url: &DatabaseUrl, args: &BackupArgs) -> anyhow::Result<()> {
    let db = Db::connect(&url.0).await?;
    db.backup_sqlite(&args.file).await?;
    println!("backup of {url} written to {}", args.file);
    Ok(())
}
