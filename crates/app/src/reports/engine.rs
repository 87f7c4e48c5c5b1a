//! The report arithmetic: one pass over the ledger's columns into per-client (and per-staff)
//! sums, then each group's total over the clients it reaches. Nested groups roll up because a
//! group's `reach` already holds every client of every group below it, and a client reached twice
//! (a diamond) still counts once. Pure: no I/O, no locks; tested below on small stories.

use std::collections::{HashMap, HashSet};

use roaring::RoaringBitmap;

use clientele_access::ReportView;
use clientele_domain::report::{GroupMatch, Grouping, MembershipBasis, ReportQuery};
use clientele_domain::{ClientId, GroupId, Millis, StaffId};

use super::ledger::{BILLABLE, Columns, DAY_BASE};

/// What one row adds up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub minutes: u64,
    pub billable_minutes: u64,
    pub entries: u64,
    /// Distinct clients with time in the row.
    pub clients: u64,
}

impl Totals {
    fn add_entry(&mut self, minutes: u16) {
        let m = (minutes & !BILLABLE) as u64;
        self.minutes += m;
        if minutes & BILLABLE != 0 {
            self.billable_minutes += m;
        }
        self.entries += 1;
    }
}

/// What a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Group(GroupId),
    /// Time of clients in none of the groups shown.
    NoGroup,
    Client(ClientId),
    Staff(StaffId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: Key,
    pub totals: Totals,
    /// Group rows: how many clients the group holds (among those the report may count).
    pub members: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    /// Rows with time, most time first.
    pub rows: Vec<Row>,
    /// The whole report, each entry and client counted once.
    pub total: Totals,
}

/// A stretch of the membership history that differs from today's memberships within the report's
/// range: client `client` was directly in `group` from `started_at` until `ended_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub group: GroupId,
    pub client: ClientId,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
}

/// A dense bit set over small ids: the entry pass asks it ten million times, a roaring bitmap
/// would cost several times more per question.
struct Bits(Vec<u64>);

impl Bits {
    fn from_bitmap(b: &RoaringBitmap) -> Bits {
        let mut words = vec![0u64; b.max().map_or(0, |m| m as usize / 64 + 1)];
        for x in b {
            words[x as usize / 64] |= 1 << (x % 64);
        }
        Bits(words)
    }
    fn from_ids(ids: impl IntoIterator<Item = u32>) -> Bits {
        Bits::from_bitmap(&ids.into_iter().collect())
    }
    #[inline]
    fn contains(&self, x: u32) -> bool {
        self.0.get(x as usize / 64).is_some_and(|w| w & (1 << (x % 64)) != 0)
    }
}

/// The clients the report may count: those the viewer may see (already narrowed to the statuses
/// and business unit asked for) in the groups the query names.
pub fn allowed_clients(view: &ReportView, query: &ReportQuery) -> RoaringBitmap {
    if query.groups.is_empty() {
        return view.clients.clone();
    }
    let reach = |g: GroupId| {
        view.groups
            .iter()
            .find(|n| n.id == g)
            .map(|n| n.reach.clone())
            .unwrap_or_default()
    };
    let mut picked = match query.group_match {
        GroupMatch::Any | GroupMatch::None => {
            let mut any = RoaringBitmap::new();
            for &g in &query.groups {
                any |= reach(g);
            }
            any
        }
        GroupMatch::All => {
            let mut all = reach(query.groups[0]);
            for &g in &query.groups[1..] {
                all &= reach(g);
            }
            all
        }
    };
    if query.group_match == GroupMatch::None {
        let mut rest = view.clients.clone();
        rest -= picked;
        rest
    } else {
        picked &= &view.clients;
        picked
    }
}

/// Computes a report. `history` holds the membership periods that began or ended after the start
/// of the range (only used when the query counts time by the groups of the day of the work).
pub fn compute(cols: Option<&Columns>, view: &ReportView, query: &ReportQuery, history: &[Period]) -> Computed {
    let allowed_bitmap = allowed_clients(view, query);
    let by_work_date = query.by == Grouping::Group && query.basis == MembershipBasis::WorkDate;
    // Clients whose memberships changed within the range: their entries are placed one by one.
    let affected_bitmap: RoaringBitmap = if by_work_date {
        history.iter().map(|p| p.client.0 as u32).collect::<RoaringBitmap>() & &allowed_bitmap
    } else {
        RoaringBitmap::new()
    };
    let allowed = Bits::from_bitmap(&(&allowed_bitmap - &affected_bitmap));
    let affected = Bits::from_bitmap(&affected_bitmap);
    let staff_filter = (!query.staff.is_empty()).then(|| Bits::from_ids(query.staff.iter().map(|s| s.0 as u32)));
    let from = (query.from.0 - DAY_BASE).max(0) as u16;
    let to = (query.to.0 - DAY_BASE).clamp(0, u16::MAX as i32) as u16;
    let billable = query.billable;

    let client_slots = allowed_bitmap.max().map_or(0, |m| m as usize + 1);
    let mut per_client = vec![Totals::default(); client_slots];
    let mut per_staff: Vec<Totals> = Vec::new();
    let mut staff_clients: HashSet<(u32, u32)> = HashSet::new();
    let mut placed_one_by_one: Vec<usize> = Vec::new();
    if let Some(cols) = cols {
        for i in 0..cols.len() {
            let day = cols.day[i];
            let minutes = cols.minutes[i];
            if day < from || day > to || minutes == 0 {
                continue;
            }
            if let Some(b) = billable
                && b != (minutes & BILLABLE != 0)
            {
                continue;
            }
            let staff = cols.staff[i];
            if let Some(f) = &staff_filter
                && !f.contains(staff)
            {
                continue;
            }
            let client = cols.client[i];
            if !allowed.contains(client) {
                if affected.contains(client) {
                    placed_one_by_one.push(i);
                }
                continue;
            }
            per_client[client as usize].add_entry(minutes);
            if query.by == Grouping::Staff {
                let s = staff as usize;
                if per_staff.len() <= s {
                    per_staff.resize(s + 1, Totals::default());
                }
                per_staff[s].add_entry(minutes);
                if staff_clients.insert((staff, client)) {
                    per_staff[s].clients += 1;
                }
            }
        }
    }

    let mut total = Totals::default();
    for t in &per_client {
        if t.entries > 0 {
            total.minutes += t.minutes;
            total.billable_minutes += t.billable_minutes;
            total.entries += t.entries;
            total.clients += 1;
        }
    }

    let mut rows = match query.by {
        Grouping::Client => per_client
            .iter()
            .enumerate()
            .filter(|(_, t)| t.entries > 0)
            .map(|(c, t)| Row {
                key: Key::Client(ClientId(c as i64)),
                totals: Totals { clients: 1, ..*t },
                members: None,
            })
            .collect(),
        Grouping::Staff => per_staff
            .iter()
            .enumerate()
            .filter(|(_, t)| t.entries > 0)
            .map(|(s, t)| Row {
                key: Key::Staff(StaffId(s as i64)),
                totals: *t,
                members: None,
            })
            .collect(),
        Grouping::Group => {
            let mut rows = group_rows(view, &allowed_bitmap, &per_client);
            if !placed_one_by_one.is_empty()
                && let Some(cols) = cols
            {
                let extra = place_by_work_date(cols, view, &affected_bitmap, history, &placed_one_by_one);
                for t in extra.total_per_client.values() {
                    total.minutes += t.minutes;
                    total.billable_minutes += t.billable_minutes;
                    total.entries += t.entries;
                    total.clients += 1;
                }
                for row in &mut rows {
                    if let Some(t) = extra.per_key.get(&row.key) {
                        row.totals.minutes += t.minutes;
                        row.totals.billable_minutes += t.billable_minutes;
                        row.totals.entries += t.entries;
                        row.totals.clients += t.clients;
                    }
                }
                for (key, t) in extra.per_key {
                    if !rows.iter().any(|r| r.key == key) {
                        rows.push(Row {
                            key,
                            totals: t,
                            members: match key {
                                Key::Group(g) => view
                                    .groups
                                    .iter()
                                    .find(|n| n.id == g)
                                    .map(|n| n.reach.intersection_len(&allowed_bitmap)),
                                _ => None,
                            },
                        });
                    }
                }
            }
            rows
        }
    };
    rows.retain(|r| r.totals.entries > 0);
    rows.sort_by(|a, b| b.totals.minutes.cmp(&a.totals.minutes).then(a.key.cmp(&b.key)));
    Computed { rows, total }
}

/// Each group's total over the clients it reaches, and the time of clients in no group.
fn group_rows(view: &ReportView, allowed: &RoaringBitmap, per_client: &[Totals]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(view.groups.len() + 1);
    let mut in_some_group = RoaringBitmap::new();
    for g in &view.groups {
        in_some_group |= &g.direct;
        let mut t = Totals::default();
        for c in &g.reach {
            if let Some(ct) = per_client.get(c as usize)
                && ct.entries > 0
            {
                t.minutes += ct.minutes;
                t.billable_minutes += ct.billable_minutes;
                t.entries += ct.entries;
                t.clients += 1;
            }
        }
        rows.push(Row {
            key: Key::Group(g.id),
            totals: t,
            members: Some(g.reach.intersection_len(allowed)),
        });
    }
    let mut none = Totals::default();
    for (c, ct) in per_client.iter().enumerate() {
        if ct.entries > 0 && !in_some_group.contains(c as u32) {
            none.minutes += ct.minutes;
            none.billable_minutes += ct.billable_minutes;
            none.entries += ct.entries;
            none.clients += 1;
        }
    }
    rows.push(Row {
        key: Key::NoGroup,
        totals: none,
        members: None,
    });
    rows
}

struct Placed {
    per_key: HashMap<Key, Totals>,
    total_per_client: HashMap<u32, Totals>,
}

/// Places the entries of clients whose memberships changed within the range, one by one, in the
/// groups the client was directly in on the day of the work and every group those were nested in
/// (nesting as it is now).
fn place_by_work_date(
    cols: &Columns,
    view: &ReportView,
    affected: &RoaringBitmap,
    history: &[Period],
    entries: &[usize],
) -> Placed {
    let shown: HashMap<GroupId, usize> = view.groups.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
    // Memberships with a period in the history are decided by it; the others held all along.
    let changed: HashSet<(u32, GroupId)> = history.iter().map(|p| (p.client.0 as u32, p.group)).collect();
    let mut steady: HashMap<u32, Vec<GroupId>> = HashMap::new();
    for g in &view.groups {
        for c in &(&g.direct & affected) {
            if !changed.contains(&(c, g.id)) {
                steady.entry(c).or_default().push(g.id);
            }
        }
    }
    let mut periods: HashMap<u32, Vec<&Period>> = HashMap::new();
    for p in history {
        periods.entry(p.client.0 as u32).or_default().push(p);
    }
    // Ancestors through today's nesting, among the groups shown, memoised per group.
    let mut up: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
    let mut ancestors = |g: GroupId| -> Vec<GroupId> {
        up.entry(g)
            .or_insert_with(|| {
                let mut seen = vec![g];
                let mut i = 0;
                while i < seen.len() {
                    if let Some(&n) = shown.get(&seen[i]) {
                        for &p in &view.groups[n].parents {
                            if !seen.contains(&p) {
                                seen.push(p);
                            }
                        }
                    }
                    i += 1;
                }
                seen.retain(|g| shown.contains_key(g));
                seen
            })
            .clone()
    };

    let mut per_key: HashMap<Key, Totals> = HashMap::new();
    let mut clients_of: HashSet<(Key, u32)> = HashSet::new();
    let mut total_per_client: HashMap<u32, Totals> = HashMap::new();
    for &i in entries {
        let client = cols.client[i];
        let minutes = cols.minutes[i];
        let day_start = (cols.day[i] as i64 + DAY_BASE as i64) * 86_400_000;
        let day_end = day_start + 86_400_000;
        let mut direct: Vec<GroupId> = steady.get(&client).cloned().unwrap_or_default();
        for p in periods.get(&client).map(Vec::as_slice).unwrap_or_default() {
            if p.started_at < day_end && p.ended_at.is_none_or(|e| e > day_start) && !direct.contains(&p.group) {
                direct.push(p.group);
            }
        }
        let mut groups: Vec<GroupId> = Vec::new();
        for g in direct {
            for a in ancestors(g) {
                if !groups.contains(&a) {
                    groups.push(a);
                }
            }
        }
        let keys: Vec<Key> = if groups.is_empty() {
            vec![Key::NoGroup]
        } else {
            groups.into_iter().map(Key::Group).collect()
        };
        for key in keys {
            let t = per_key.entry(key).or_default();
            t.add_entry(minutes);
            if clients_of.insert((key, client)) {
                t.clients += 1;
            }
        }
        total_per_client.entry(client).or_default().add_entry(minutes);
    }
    Placed {
        per_key,
        total_per_client,
    }
}

#[cfg(test)]
mod tests;
