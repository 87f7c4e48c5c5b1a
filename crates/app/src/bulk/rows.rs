//! What every row-applying path shares: a row under a savepoint, why a row was refused, and where
//! a batch's time went.

use clientele_access::Change;
use clientele_domain::{Error, ErrorCode, Result};
use clientele_store::process_requests::{self as store, RowOutcome};

/// Where a batch's time went, for the `debug` log: each phase's milliseconds since the one before.
pub(crate) struct Phases {
    last: std::time::Instant,
    spent: Vec<(&'static str, f64)>,
}

impl Phases {
    pub(crate) fn start() -> Phases {
        Phases {
            last: std::time::Instant::now(),
            spent: Vec::new(),
        }
    }

    /// Closes the phase that ran since the previous mark.
    pub(crate) fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.spent.push((phase, (now - self.last).as_secs_f64() * 1e3));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (phase, ms)) in self.spent.iter().enumerate() {
            write!(f, "{}{phase} {ms:.1} ms", if i == 0 { "" } else { ", " })?;
        }
        Ok(())
    }
}

/// Runs one row through a single-edit use case under a savepoint, so that a refused row leaves
/// nothing behind: its writes rolled back, its access changes dropped, and the refusal reported
/// as the row's outcome. An internal error is not the row's fault and stops the batch.
pub(crate) async fn under_savepoint(
    tx: &mut clientele_store::Tx,
    changes: &mut Vec<Change>,
    row: impl AsyncFnOnce(&mut clientele_store::Tx, &mut Vec<Change>) -> Result<RowOutcome>,
) -> Result<RowOutcome> {
    let mark = changes.len();
    store::execute(&mut tx.conn(), "SAVEPOINT process_row").await?;
    match row(tx, changes).await {
        Ok(outcome) => {
            store::execute(&mut tx.conn(), "RELEASE SAVEPOINT process_row").await?;
            Ok(outcome)
        }
        Err(e) if e.code == ErrorCode::Internal => Err(e),
        Err(e) => {
            store::execute(&mut tx.conn(), "ROLLBACK TO SAVEPOINT process_row").await?;
            store::execute(&mut tx.conn(), "RELEASE SAVEPOINT process_row").await?;
            changes.truncate(mark);
            Ok(rejected(&e))
        }
    }
}

/// Why a row or a request failed, as stored: control characters a hostile file put in a message
/// (a column's name, a value quoted back) are shown as `U+0000`, so the reason can always be
/// stored (PostgreSQL refuses NUL) and read.
pub(crate) fn reason(e: &Error) -> String {
    let text = match &e.field {
        Some(field) if !e.detail.starts_with(field.as_str()) => format!("{field}: {}", e.detail),
        _ => e.detail.clone(),
    };
    if clientele_domain::names::control_character(&text).is_none() {
        return text;
    }
    text.chars()
        .map(|c| {
            if clientele_domain::names::control_character(&c.to_string()).is_some() {
                format!("U+{:04X}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(crate) fn rejected(e: &Error) -> RowOutcome {
    RowOutcome {
        outcome: "rejected",
        reason: Some(reason(e)),
        ..Default::default()
    }
}
