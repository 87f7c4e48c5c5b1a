//! The report arithmetic: one pass over the ledger's columns into per-client (and per-staff)
//! sums, then each group's total over the clients it reaches. Nested groups roll up because a
//! group's `reach` already holds every client of every group below it, and a client reached twice
//! (a diamond) still counts once. Pure: no I/O, no locks; tested below on small stories.

use std::collections::{HashMap, HashSet};

use roaring::RoaringBitmap;

use clientele_access::ReportView;
use clientele_domain::report::{GroupMatch, Grouping, MembershipBasis, ReportQuery};
use clientele_domain::{ClientId, GroupId, Millis, StaffId};

use super::ledger::{BILLABLE, Columns, DAY_BASE, Segment};

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
    /// Rows with time, most time first (the first `limit` of them).
    pub rows: Vec<Row>,
    /// How many rows have time, including those past `limit`.
    pub total_rows: usize,
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
#[derive(Debug)]
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

/// A view of the access index made ready for reports, once per index version and reader:
/// groups by id, each group's children, the order that puts children before their parents, which
/// groups are the disjoint union of their children and direct clients (their totals are sums:
/// no client is reached twice), and every client in some group.
#[derive(Debug)]
pub struct Prepared {
    pub view: ReportView,
    position: HashMap<GroupId, usize>,
    children: Vec<Vec<usize>>,
    children_first: Vec<usize>,
    additive: Vec<bool>,
    in_some_group: Bits,
}

impl Prepared {
    pub fn new(view: ReportView) -> Prepared {
        let position: HashMap<GroupId, usize> = view.groups.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
        let mut children = vec![Vec::new(); view.groups.len()];
        for (i, g) in view.groups.iter().enumerate() {
            for p in &g.parents {
                if let Some(&pi) = position.get(p) {
                    children[pi].push(i);
                }
            }
        }
        // Depth-first, children before parents (nesting is acyclic).
        let mut children_first = Vec::with_capacity(view.groups.len());
        let mut state = vec![0u8; view.groups.len()];
        for root in 0..view.groups.len() {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            state[root] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&child) = children[node].get(*next) {
                    *next += 1;
                    if state[child] == 0 {
                        state[child] = 1;
                        stack.push((child, 0));
                    }
                } else {
                    state[node] = 2;
                    children_first.push(node);
                    stack.pop();
                }
            }
        }
        let additive = view
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let parts: u64 = g.direct.len() + children[i].iter().map(|&c| view.groups[c].reach.len()).sum::<u64>();
                parts == g.reach.len()
            })
            .collect();
        let mut any = RoaringBitmap::new();
        for g in &view.groups {
            any |= &g.direct;
        }
        Prepared {
            position,
            children,
            children_first,
            additive,
            in_some_group: Bits::from_bitmap(&any),
            view,
        }
    }

    fn group(&self, id: GroupId) -> Option<&clientele_access::ReportGroup> {
        self.position.get(&id).map(|&i| &self.view.groups[i])
    }

    /// Whether the reader may see this group.
    pub fn shows(&self, id: GroupId) -> bool {
        self.position.contains_key(&id)
    }

    pub fn kind_of(&self, id: GroupId) -> Option<clientele_domain::group::GroupKind> {
        self.group(id).map(|g| g.kind)
    }
}

/// The clients the report may count: those the viewer may see (already narrowed to the statuses
/// and business unit asked for) in the groups the query names.
pub fn allowed_clients(prepared: &Prepared, query: &ReportQuery) -> RoaringBitmap {
    let view = &prepared.view;
    if query.groups.is_empty() {
        return view.clients.clone();
    }
    let reach = |g: GroupId| prepared.group(g).map(|n| n.reach.clone()).unwrap_or_default();
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

/// Sums of one client: compact, so the per-client array stays small (a million clients: 12 MB).
#[derive(Debug, Clone, Copy, Default)]
struct ClientSums {
    minutes: u32,
    billable: u32,
    entries: u32,
}

impl ClientSums {
    #[inline]
    fn add(&mut self, minutes: u16) {
        let m = (minutes & !BILLABLE) as u32;
        self.minutes += m;
        if minutes & BILLABLE != 0 {
            self.billable += m;
        }
        self.entries += 1;
    }

    fn into_totals(self) -> Totals {
        Totals {
            minutes: self.minutes as u64,
            billable_minutes: self.billable as u64,
            entries: self.entries as u64,
            clients: (self.entries > 0) as u64,
        }
    }
}

impl Totals {
    fn absorb(&mut self, other: &Totals) {
        self.minutes += other.minutes;
        self.billable_minutes += other.billable_minutes;
        self.entries += other.entries;
        self.clients += other.clients;
    }
}

/// The entry pass: what it filters on.
struct Pass<'a> {
    billable: Option<bool>,
    staff_filter: Option<&'a Bits>,
    client_slots: usize,
    check_allowed: bool,
    allowed: &'a Bits,
    affected: &'a Bits,
    by_staff: bool,
}

/// Where one worker of the entry pass puts what counts.
#[derive(Default)]
struct PassOut {
    scattered: Vec<Vec<u32>>,
    per_staff: Vec<Totals>,
    staff_clients: HashSet<(u32, u32)>,
    placed_one_by_one: Vec<(bool, usize)>,
}

impl Pass<'_> {
    /// One entry; called ten million times, so inlined into the loops.
    #[inline(always)]
    fn visit(&self, out: &mut PassOut, seg: &Segment, i: usize, recent: bool) {
        let minutes = seg.minutes[i];
        if minutes == 0 {
            return;
        }
        if let Some(b) = self.billable
            && b != (minutes & BILLABLE != 0)
        {
            return;
        }
        let staff = seg.staff[i];
        if let Some(f) = self.staff_filter
            && !f.contains(staff)
        {
            return;
        }
        let client = seg.client[i];
        // A client this process's index has not seen yet (its entry came first) counts on the
        // next report.
        if client as usize >= self.client_slots {
            return;
        }
        if self.check_allowed && !self.allowed.contains(client) {
            if self.affected.contains(client) {
                out.placed_one_by_one.push((recent, i));
            }
            return;
        }
        out.scattered[(client >> PARTITION_BITS) as usize]
            .push(((minutes as u32) << PARTITION_BITS) | (client & ((1 << PARTITION_BITS) - 1)));
        if self.by_staff {
            let s = staff as usize;
            if out.per_staff.len() <= s {
                out.per_staff.resize(s + 1, Totals::default());
            }
            out.per_staff[s].add_entry(minutes);
            if out.staff_clients.insert((staff, client)) {
                out.per_staff[s].clients += 1;
            }
        }
    }

    /// The loaded entries of `range` (a slice of the day-ordered main segment) and, with
    /// `recent`, the entries written since that fall within the report's days.
    fn run(
        &self,
        cols: &Columns,
        range: std::ops::Range<usize>,
        recent: Option<(u16, u16)>,
        partitions: usize,
    ) -> PassOut {
        let mut out = PassOut {
            scattered: vec![Vec::with_capacity(range.len() / partitions + 16); partitions],
            ..Default::default()
        };
        for i in range {
            self.visit(&mut out, &cols.main, i, false);
        }
        if let Some((from, to)) = recent {
            for i in 0..cols.recent.len() {
                let day = cols.recent.day[i];
                if day >= from && day <= to {
                    self.visit(&mut out, &cols.recent, i, true);
                }
            }
        }
        out
    }
}

/// Workers for a report's passes: the machine's cores, up to four, once there are enough entries
/// to share (a thread costs tens of microseconds). A report by staff counts distinct clients per
/// staff member in one set, so it stays on one.
fn workers(entries: usize, by_staff: bool) -> usize {
    if by_staff || entries < 200_000 {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// `range` cut into `n` consecutive pieces.
fn pieces(range: std::ops::Range<usize>, n: usize) -> Vec<std::ops::Range<usize>> {
    let step = range.len().div_ceil(n.max(1)).max(1);
    (0..n)
        .map(|k| (range.start + k * step).min(range.end)..(range.start + (k + 1) * step).min(range.end))
        .collect()
}

/// Clients per partition of the accumulation: 4096 clients' sums (48 KB) stay in the core's cache
/// while a partition's entries are added up.
const PARTITION_BITS: u32 = 12;

/// Computes a report: its first `limit` rows (all without one). `history` holds the membership
/// periods that began or ended after the start of the range (only used when the query counts
/// time by the groups of the day of the work).
pub fn compute(
    cols: Option<&Columns>,
    prepared: &Prepared,
    query: &ReportQuery,
    history: &[Period],
    limit: Option<usize>,
) -> Computed {
    let allowed_bitmap = allowed_clients(prepared, query);
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
    let partitions = (client_slots >> PARTITION_BITS) + 1;
    // Pass 1: the entries that count, scattered by client partition as (minutes << 12 | offset).
    // Adding straight into a per-client array would jump around megabytes of memory once per
    // entry; partitioning first keeps both passes sequential.
    // An admin's report without client filters counts every client: no need to ask per entry.
    let check_allowed = allowed_bitmap.len() != prepared.view.org_clients || !affected_bitmap.is_empty();
    let pass = Pass {
        billable,
        staff_filter: staff_filter.as_ref(),
        client_slots,
        check_allowed,
        allowed: &allowed,
        affected: &affected,
        by_staff: query.by == Grouping::Staff,
    };
    // The loaded entries are in day order: the range is a slice, shared out between the workers.
    let outs: Vec<PassOut> = match cols {
        None => Vec::new(),
        Some(cols) => {
            let range = cols.main.days(from, to);
            let n = workers(range.len(), pass.by_staff);
            if n == 1 {
                vec![pass.run(cols, range, Some((from, to)), partitions)]
            } else {
                let pass = &pass;
                std::thread::scope(|s| {
                    let handles: Vec<_> = pieces(range, n)
                        .into_iter()
                        .enumerate()
                        .map(|(k, piece)| {
                            let recent = (k == 0).then_some((from, to));
                            s.spawn(move || pass.run(cols, piece, recent, partitions))
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("a report worker panicked"))
                        .collect()
                })
            }
        }
    };
    // Pass 2: each partition's entries into its clients' sums, partitions shared out between the
    // workers (each owns its clients' slice of the sums).
    let mut per_client = vec![ClientSums::default(); partitions << PARTITION_BITS];
    let add_partitions = |first: usize, sums: &mut [ClientSums]| {
        for (k, sums) in sums.chunks_mut(1 << PARTITION_BITS).enumerate() {
            for out in &outs {
                for &packed in &out.scattered[first + k] {
                    sums[(packed & ((1 << PARTITION_BITS) - 1)) as usize].add((packed >> PARTITION_BITS) as u16);
                }
            }
        }
    };
    if outs.len() <= 1 {
        add_partitions(0, &mut per_client);
    } else {
        let share = partitions.div_ceil(outs.len());
        std::thread::scope(|s| {
            for (k, sums) in per_client.chunks_mut(share << PARTITION_BITS).enumerate() {
                let add = &add_partitions;
                s.spawn(move || add(k * share, sums));
            }
        });
    }
    let mut per_staff: Vec<Totals> = Vec::new();
    let mut placed_one_by_one: Vec<(bool, usize)> = Vec::new();
    for out in outs {
        if per_staff.is_empty() {
            per_staff = out.per_staff;
        }
        placed_one_by_one.extend(out.placed_one_by_one);
    }

    // By client, rows are counted before all but the first `limit` are dropped.
    let mut client_rows_with_time = None;
    let mut total = Totals::default();
    for t in &per_client {
        if t.entries > 0 {
            total.absorb(&t.into_totals());
        }
    }

    let mut rows = match query.by {
        Grouping::Client => {
            // A million clients with time: pick the rows to show from (minutes, client) pairs
            // before building them, rather than building a million rows to keep a thousand.
            let mut ranked: Vec<(u32, u32)> = per_client
                .iter()
                .enumerate()
                .filter(|(_, t)| t.entries > 0)
                .map(|(c, t)| (t.minutes, c as u32))
                .collect();
            let with_time = ranked.len();
            let first = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
            if let Some(limit) = limit
                && limit < ranked.len()
            {
                if limit > 0 {
                    ranked.select_nth_unstable_by(limit - 1, first);
                }
                ranked.truncate(limit);
            }
            let rows: Vec<Row> = ranked
                .into_iter()
                .map(|(_, c)| Row {
                    key: Key::Client(ClientId(c as i64)),
                    totals: per_client[c as usize].into_totals(),
                    members: None,
                })
                .collect();
            client_rows_with_time = Some(with_time);
            rows
        }
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
            let mut rows = group_rows(prepared, &allowed_bitmap, &per_client);
            if !placed_one_by_one.is_empty()
                && let Some(cols) = cols
            {
                let extra = place_by_work_date(cols, prepared, &affected_bitmap, history, &placed_one_by_one);
                for t in extra.total_per_client.values() {
                    total.minutes += t.minutes;
                    total.billable_minutes += t.billable_minutes;
                    total.entries += t.entries;
                    total.clients += 1;
                }
                let mut at: HashMap<Key, usize> = rows.iter().enumerate().map(|(i, r)| (r.key, i)).collect();
                for (key, t) in extra.per_key {
                    match at.get(&key) {
                        Some(&i) => rows[i].totals.absorb(&t),
                        None => {
                            at.insert(key, rows.len());
                            rows.push(Row {
                                key,
                                totals: t,
                                members: match key {
                                    Key::Group(g) => {
                                        prepared.group(g).map(|n| n.reach.intersection_len(&allowed_bitmap))
                                    }
                                    _ => None,
                                },
                            });
                        }
                    }
                }
            }
            rows
        }
    };
    rows.retain(|r| r.totals.entries > 0);
    let total_rows = client_rows_with_time.unwrap_or(rows.len());
    let order = |a: &Row, b: &Row| b.totals.minutes.cmp(&a.totals.minutes).then(a.key.cmp(&b.key));
    // A million client rows need not all be sorted to show the first thousand.
    if let Some(limit) = limit
        && limit < rows.len()
    {
        if limit > 0 {
            rows.select_nth_unstable_by(limit - 1, order);
        }
        rows.truncate(limit);
    }
    rows.sort_unstable_by(order);
    Computed {
        rows,
        total_rows,
        total,
    }
}

/// Each group's total over the clients it reaches, children before parents: a group that is the
/// disjoint union of its children and its direct clients adds up their totals; one where a client
/// is reached twice (a diamond below it) counts its clients one by one. Then the time of clients
/// in no group.
fn group_rows(prepared: &Prepared, allowed: &RoaringBitmap, per_client: &[ClientSums]) -> Vec<Row> {
    let view = &prepared.view;
    let sum_over = |clients: &RoaringBitmap| {
        let mut t = Totals::default();
        for c in clients {
            if let Some(ct) = per_client.get(c as usize)
                && ct.entries > 0
            {
                t.absorb(&ct.into_totals());
            }
        }
        t
    };
    let mut totals = vec![Totals::default(); view.groups.len()];
    let mut members = vec![0u64; view.groups.len()];
    for &i in &prepared.children_first {
        let g = &view.groups[i];
        if prepared.additive[i] {
            let mut t = sum_over(&g.direct);
            let mut m = g.direct.intersection_len(allowed);
            for &c in &prepared.children[i] {
                t.absorb(&totals[c]);
                m += members[c];
            }
            totals[i] = t;
            members[i] = m;
        } else {
            totals[i] = sum_over(&g.reach);
            members[i] = g.reach.intersection_len(allowed);
        }
    }
    let mut rows: Vec<Row> = view
        .groups
        .iter()
        .zip(totals)
        .zip(members)
        .map(|((g, totals), members)| Row {
            key: Key::Group(g.id),
            totals,
            members: Some(members),
        })
        .collect();
    let mut none = Totals::default();
    for (c, ct) in per_client.iter().enumerate() {
        if ct.entries > 0 && !prepared.in_some_group.contains(c as u32) {
            none.absorb(&ct.into_totals());
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
    prepared: &Prepared,
    affected: &RoaringBitmap,
    history: &[Period],
    entries: &[(bool, usize)],
) -> Placed {
    let view = &prepared.view;
    let shown = &prepared.position;
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
    for &(recent, i) in entries {
        let seg = if recent { &cols.recent } else { &cols.main };
        let client = seg.client[i];
        let minutes = seg.minutes[i];
        let day_start = (seg.day[i] as i64 + DAY_BASE as i64) * 86_400_000;
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
