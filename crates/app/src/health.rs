//! What an operator watches besides HTTP: the process request queue, how far this process's
//! access index trails the change log, and the report ledger's size (served on `/metrics`).

use clientele_domain::Result;
use clientele_store::{changes, process_requests};

use crate::App;

/// A reading of the gauges, taken when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    /// Process requests waiting for a worker.
    pub requests_pending: i64,
    /// Process requests a worker is running.
    pub requests_running: i64,
    /// How long the oldest waiting request has waited (0 with none waiting): a queue nobody
    /// works shows here before anyone complains.
    pub oldest_pending_seconds: f64,
    /// Changes committed to the change log that this process's access index has not applied yet
    /// (another server's writes arrive within 100 ms; a lag that grows means the catch-up fails).
    pub access_index_lag: i64,
    /// Time entries held in memory for reports.
    pub report_ledger_entries: usize,
}

impl App {
    pub async fn gauges(&self) -> Result<Gauges> {
        let mut conn = self.db.read().await?;
        let (pending, running, oldest) = process_requests::queue_depth(&mut conn.conn()).await?;
        let logged = changes::current_seq(&mut conn.conn()).await?;
        Ok(Gauges {
            requests_pending: pending,
            requests_running: running,
            oldest_pending_seconds: oldest.map_or(0.0, |at| (self.clock.now() - at).max(0) as f64 / 1000.0),
            access_index_lag: (logged - self.access.applied()).max(0),
            report_ledger_entries: self.reports.ledger.entries(),
        })
    }
}
