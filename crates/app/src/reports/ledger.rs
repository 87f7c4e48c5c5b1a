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

/// Entries as columns, one per field. Minutes of 0 mark a tombstone (an entry deleted or
/// replaced since it was stored here).
#[derive(Debug, Default)]
pub struct Segment {
    pub id: Vec<u32>,
    pub client: Vec<u32>,
    pub staff: Vec<u32>,
    /// Days since [`DAY_BASE`].
    pub day: Vec<u16>,
    /// Minutes, with the top bit set for billable time; 0 for a tombstone.
    pub minutes: Vec<u16>,
}

impl Segment {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    fn push(&mut self, at: usize, id: u32, client: u32, staff: u32, day: u16, minutes: u16) {
        if at == self.id.len() {
            self.id.push(id);
            self.client.push(client);
            self.staff.push(staff);
            self.day.push(day);
            self.minutes.push(minutes);
        } else {
            self.id.insert(at, id);
            self.client.insert(at, client);
            self.staff.insert(at, staff);
            self.day.insert(at, day);
            self.minutes.insert(at, minutes);
        }
    }

    fn bytes(&self) -> usize {
        self.id.capacity() * 4
            + self.client.capacity() * 4
            + self.staff.capacity() * 4
            + self.day.capacity() * 2
            + self.minutes.capacity() * 2
    }
}

/// The last day a day number can hold; later days are kept as this one.
const LAST_DAY: u16 = u16::MAX - 1;

/// In `main_pos`: an id that is not (or no longer) in the main segment.
const NOT_IN_MAIN: u32 = u32::MAX;

/// Entries of one organisation in two segments. `main` holds what was loaded, sorted by client,
/// then day, then id: a report adds up each client's entries in one run, reading every column from
/// front to back and writing each client's sums once, and a report of a few clients reads only
/// theirs. `recent` holds what was written since, in id order. An update or deletion of a main
/// entry leaves a tombstone there (found through `main_pos`) and the new version in `recent`.
#[derive(Debug, Default)]
pub struct Columns {
    pub main: Segment,
    /// Client `c`'s entries in `main` are those from `client_start[c]` to `client_start[c + 1]`.
    client_start: Vec<u32>,
    pub recent: Segment,
    /// The position in `main` of each entry, by id.
    main_pos: Vec<u32>,
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
        let day = (row.work_day - DAY_BASE).clamp(0, LAST_DAY as i32) as u16;
        // A main entry is replaced: tombstone there, the new version (if any) goes to recent.
        if let Some(pos) = self.main_pos.get_mut(id as usize)
            && *pos != NOT_IN_MAIN
        {
            self.main.minutes[*pos as usize] = 0;
            *pos = NOT_IN_MAIN;
        }
        let r = &mut self.recent;
        let at = if r.id.last().is_none_or(|&last| last < id) {
            r.id.len()
        } else {
            r.id.partition_point(|&x| x < id)
        };
        if r.id.get(at) == Some(&id) {
            r.client[at] = small(row.client_id);
            r.staff[at] = small(row.staff_id);
            r.day[at] = day;
            r.minutes[at] = minutes;
        } else if minutes != 0 {
            // Usually an append; an id below the last one (a transaction that took its id before
            // a later one committed) is inserted in place.
            r.push(at, id, small(row.client_id), small(row.staff_id), day, minutes);
        }
    }

    /// Makes everything loaded so far the main segment, in client, day and id order (two stable
    /// counting sorts, by day then by client, over entries already in id order).
    fn freeze(&mut self) {
        let mut all = std::mem::take(&mut self.recent);
        let old = std::mem::take(&mut self.main);
        // A second freeze (tests) folds the old main back in; tombstones are dropped.
        for i in 0..old.len() {
            if old.minutes[i] != 0 {
                let at = all.id.partition_point(|&x| x < old.id[i]);
                all.push(at, old.id[i], old.client[i], old.staff[i], old.day[i], old.minutes[i]);
            }
        }
        let live: Vec<u32> = (0..all.len() as u32)
            .filter(|&i| all.minutes[i as usize] != 0)
            .collect();
        let clients = live
            .iter()
            .map(|&i| all.client[i as usize] as usize + 1)
            .max()
            .unwrap_or(0);
        let max_id = live.iter().map(|&i| all.id[i as usize]).max().unwrap_or(0) as usize;
        let by_day = stable_counting_sort(&live, LAST_DAY as usize + 1, |i| all.day[i as usize] as usize);
        drop(live);
        let order = stable_counting_sort(&by_day, clients, |i| all.client[i as usize] as usize);
        drop(by_day);
        let n = order.len();
        let mut main = Segment {
            id: Vec::with_capacity(n),
            client: Vec::with_capacity(n),
            staff: Vec::with_capacity(n),
            day: Vec::with_capacity(n),
            minutes: Vec::with_capacity(n),
        };
        self.main_pos = vec![NOT_IN_MAIN; if n == 0 { 0 } else { max_id + 1 }];
        self.client_start = vec![0; clients + 1];
        for (at, &i) in order.iter().enumerate() {
            let i = i as usize;
            main.id.push(all.id[i]);
            main.client.push(all.client[i]);
            main.staff.push(all.staff[i]);
            main.day.push(all.day[i]);
            main.minutes.push(all.minutes[i]);
            self.main_pos[all.id[i] as usize] = at as u32;
            self.client_start[all.client[i] as usize + 1] = at as u32 + 1;
        }
        // Clients without entries start where the one before them ended.
        for c in 1..self.client_start.len() {
            self.client_start[c] = self.client_start[c].max(self.client_start[c - 1]);
        }
        self.main = main;
    }

    /// Client slots the main segment covers (one past the highest client with an entry).
    pub fn client_slots(&self) -> usize {
        self.client_start.len().saturating_sub(1)
    }

    /// The positions in `main` of one client's entries, in day order.
    #[inline]
    pub fn client_entries(&self, client: usize) -> std::ops::Range<usize> {
        match (self.client_start.get(client), self.client_start.get(client + 1)) {
            (Some(&from), Some(&to)) => from as usize..to as usize,
            _ => 0..0,
        }
    }

    /// Client slots `0..clients` cut into `pieces` consecutive ranges of about as many entries
    /// each: the bounds, from 0 to `clients`.
    pub fn split_clients(&self, clients: usize, pieces: usize) -> Vec<usize> {
        let total = self.clients_entries(0, clients).len();
        let mut bounds = vec![0];
        for k in 1..pieces {
            let target = (total * k / pieces) as u32;
            let at = self.client_start.partition_point(|&start| start < target).min(clients);
            bounds.push(at.max(bounds[k - 1]));
        }
        bounds.push(clients);
        bounds
    }

    /// Where the main segment's entries of clients `from..to` are.
    pub fn clients_entries(&self, from: usize, to: usize) -> std::ops::Range<usize> {
        let at = |c: usize| {
            self.client_start
                .get(c.min(self.client_slots()))
                .map_or(0, |&x| x as usize)
        };
        at(from)..at(to)
    }

    #[cfg(test)]
    pub fn upsert_for_test(&mut self, row: &time_entries::LedgerRow) {
        self.upsert(row)
    }

    #[cfg(test)]
    pub fn freeze_for_test(&mut self) {
        self.freeze()
    }

    /// Entries stored, tombstones included.
    pub fn len(&self) -> usize {
        self.main.len() + self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn bytes(&self) -> usize {
        self.main.bytes() + self.recent.bytes() + self.main_pos.capacity() * 4 + self.client_start.capacity() * 4
    }
}

/// `items` ordered by `key` (below `keys`), items with equal keys in their order in `items`.
fn stable_counting_sort(items: &[u32], keys: usize, key: impl Fn(u32) -> usize) -> Vec<u32> {
    let mut start = vec![0usize; keys + 1];
    for &i in items {
        start[key(i) + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut out = vec![0u32; items.len()];
    for &i in items {
        let k = key(i);
        out[start[k]] = i;
        start[k] += 1;
    }
    out
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
    /// Time entries held in memory, tombstones included, across organisations (`/metrics`).
    pub fn entries(&self) -> usize {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        s.orgs.values().map(Columns::len).sum()
    }

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
        // Loaded in id order; reports want day order (and the load-time slack goes with it).
        orgs.values_mut().for_each(Columns::freeze);
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
