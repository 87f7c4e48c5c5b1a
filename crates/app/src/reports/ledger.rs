//! The report ledger: every live time entry of every organisation, held in memory as columns so a
//! report over ten million entries is one pass over a few flat arrays rather than a SQL GROUP BY
//! (see BENCHMARKS.md for the two side by side).
//!
//! Freshness: every write of a time entry stamps it with the next number of `time_entry_counter`,
//! handed out in commit order, and deletion is soft. Before answering, a report reads the rows
//! stamped after the last number this process saw ([`Ledger::catch_up`]): one indexed query, so a
//! report on any server sees every entry committed before it started.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard};

use clientele_domain::{Error, Result};
use clientele_store::{Db, time_entries};

/// Day numbers are kept relative to this day (1990-01-01), so they fit in 16 bits until 2169.
pub const DAY_BASE: i32 = 7305;

/// Entries of one organisation, one column per field, in id order. A deleted entry stays as a
/// tombstone (`minutes == 0`) until the next full load: ids never move, so an update is found by
/// binary search.
#[derive(Debug, Default)]
pub struct Columns {
    pub id: Vec<u32>,
    pub client: Vec<u32>,
    pub staff: Vec<u32>,
    /// Days since [`DAY_BASE`].
    pub day: Vec<u16>,
    /// Minutes, with the top bit set for billable time; 0 for a deleted entry.
    pub minutes: Vec<u16>,
    /// Entries that are tombstones.
    pub dead: usize,
}

pub const BILLABLE: u16 = 0x8000;

fn small(id: i64) -> u32 {
    u32::try_from(id).expect("ids fit in u32")
}

impl Columns {
    fn upsert(&mut self, row: &time_entries::LedgerRow) {
        let id = small(row.id);
        let minutes = if row.deleted {
            0
        } else {
            (row.minutes as u16 & !BILLABLE) | if row.billable { BILLABLE } else { 0 }
        };
        let day = (row.work_day - DAY_BASE).clamp(0, u16::MAX as i32) as u16;
        let at = if self.id.last().is_none_or(|&last| last < id) {
            self.id.len()
        } else {
            self.id.partition_point(|&x| x < id)
        };
        if self.id.get(at) == Some(&id) {
            if self.minutes[at] != 0 && minutes == 0 {
                self.dead += 1;
            } else if self.minutes[at] == 0 && minutes != 0 {
                self.dead -= 1;
            }
            self.client[at] = small(row.client_id);
            self.staff[at] = small(row.staff_id);
            self.day[at] = day;
            self.minutes[at] = minutes;
        } else if minutes != 0 {
            // Usually an append; an id below the last one (a transaction that took its id before
            // a later one committed) is inserted in place.
            self.id.insert(at, id);
            self.client.insert(at, small(row.client_id));
            self.staff.insert(at, small(row.staff_id));
            self.day.insert(at, day);
            self.minutes.insert(at, minutes);
        }
    }

    #[cfg(test)]
    pub fn upsert_for_test(&mut self, row: &time_entries::LedgerRow) {
        self.upsert(row)
    }

    fn shrink(&mut self) {
        self.id.shrink_to_fit();
        self.client.shrink_to_fit();
        self.staff.shrink_to_fit();
        self.day.shrink_to_fit();
        self.minutes.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    fn bytes(&self) -> usize {
        self.id.capacity() * 4
            + self.client.capacity() * 4
            + self.staff.capacity() * 4
            + self.day.capacity() * 2
            + self.minutes.capacity() * 2
    }
}

#[derive(Debug, Default)]
struct State {
    loaded: bool,
    /// The last time entry number applied.
    seq: i64,
    orgs: HashMap<i64, Columns>,
}

#[derive(Debug, Default)]
pub struct Ledger {
    state: RwLock<State>,
    /// One load or catch-up at a time.
    sync: tokio::sync::Mutex<()>,
}

impl Ledger {
    /// Brings the ledger up to date with every committed entry: a full load the first time, then
    /// only what changed.
    pub async fn catch_up(&self, db: &Db) -> Result<()> {
        let _one = self.sync.lock().await;
        let (loaded, after) = {
            let s = self.state.read().expect("ledger lock");
            (s.loaded, s.seq)
        };
        if !loaded {
            return self.load(db).await;
        }
        let mut rows = Vec::new();
        let mut conn = db.read().await.map_err(Error::from)?;
        time_entries::changed_since(&mut conn.conn(), after, |r| rows.push(r))
            .await
            .map_err(Error::from)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut s = self.state.write().expect("ledger lock");
        for r in &rows {
            s.orgs.entry(r.organization_id).or_default().upsert(r);
        }
        s.seq = s.seq.max(rows.last().map_or(0, |r| r.seq));
        Ok(())
    }

    async fn load(&self, db: &Db) -> Result<()> {
        let started = std::time::Instant::now();
        let mut tx = db.begin_snapshot().await.map_err(Error::from)?;
        let mut c = tx.conn();
        let seq = time_entries::current_seq(&mut c).await.map_err(Error::from)?;
        let mut orgs: HashMap<i64, Columns> = HashMap::new();
        time_entries::changed_since(&mut c, 0, |r| orgs.entry(r.organization_id).or_default().upsert(&r))
            .await
            .map_err(Error::from)?;
        // Columns grew by doubling while loading; ten million entries would keep up to twice
        // their size.
        orgs.values_mut().for_each(Columns::shrink);
        let mut s = self.state.write().expect("ledger lock");
        let entries: usize = orgs.values().map(Columns::len).sum();
        *s = State {
            loaded: true,
            seq,
            orgs,
        };
        tracing::info!(
            entries,
            ms = started.elapsed().as_millis() as u64,
            "report ledger loaded"
        );
        Ok(())
    }

    /// Reads the ledger (after [`Ledger::catch_up`]).
    pub fn read(&self) -> LedgerRead<'_> {
        LedgerRead(self.state.read().expect("ledger lock"))
    }

    /// Rough heap use, for the benchmark report.
    pub fn approximate_bytes(&self) -> usize {
        self.state
            .read()
            .expect("ledger lock")
            .orgs
            .values()
            .map(Columns::bytes)
            .sum()
    }
}

pub struct LedgerRead<'a>(RwLockReadGuard<'a, State>);

impl LedgerRead<'_> {
    pub fn org(&self, org: i64) -> Option<&Columns> {
        self.0.orgs.get(&org)
    }
}
