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
/// groups by id, each group's children, the order that puts children before their parents, how
/// each group's total follows from its parts, and which groups each client is directly in.
#[derive(Debug)]
pub struct Prepared {
    pub view: ReportView,
    position: HashMap<GroupId, usize>,
    children: Vec<Vec<usize>>,
    children_first: Vec<usize>,
    sums: Vec<GroupSum>,
    /// Client `c` is directly in the groups `direct_groups[direct_start[c]..direct_start[c + 1]]`
    /// (positions in `view.groups`): a report adds each client's time to its groups in one pass
    /// over the clients in order, instead of jumping from client to client group by group.
    direct_start: Vec<u32>,
    direct_groups: Vec<u32>,
}

/// How a group's total is found from the totals already found for its children.
#[derive(Debug)]
enum GroupSum {
    /// Its direct clients and its children's clients are disjoint: the sum of theirs.
    Parts,
    /// Some clients are reached through more than one of them (a diamond below): the sum of
    /// theirs, less each such client's time counted once too often (`extra` times).
    PartsLessOverlap(Vec<(u32, u32)>),
    /// Its clients are not all reached through groups the reader sees: counted one by one.
    Reach,
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
        // Two independent pieces of work of tens of milliseconds each on a large firm: each on
        // its own core.
        let (sums, (direct_start, direct_groups)) = std::thread::scope(|s| {
            let table = s.spawn(|| client_groups_table(&view));
            let sums = group_sums(&view, &children);
            (sums, table.join().expect("preparing a report view panicked"))
        });
        Prepared {
            position,
            children,
            children_first,
            sums,
            direct_start,
            direct_groups,
            view,
        }
    }

    /// The groups (positions in `view.groups`) the client is directly in.
    #[inline]
    fn direct_groups_of(&self, client: usize) -> &[u32] {
        match (self.direct_start.get(client), self.direct_start.get(client + 1)) {
            (Some(&from), Some(&to)) => &self.direct_groups[from as usize..to as usize],
            _ => &[],
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

/// How each group's total follows from its parts (see [`GroupSum`]).
fn group_sums(view: &ReportView, children: &[Vec<usize>]) -> Vec<GroupSum> {
    view.groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let parts: u64 = g.direct.len() + children[i].iter().map(|&c| view.groups[c].reach.len()).sum::<u64>();
            if parts == g.reach.len() {
                return GroupSum::Parts;
            }
            let parts: Vec<&RoaringBitmap> = std::iter::once(&g.direct)
                .chain(children[i].iter().map(|&c| &view.groups[c].reach))
                .collect();
            let mut union = RoaringBitmap::new();
            let mut twice = RoaringBitmap::new();
            for part in &parts {
                twice |= &union & *part;
                union |= *part;
            }
            if union.len() != g.reach.len() {
                return GroupSum::Reach;
            }
            GroupSum::PartsLessOverlap(
                twice
                    .iter()
                    .map(|c| (c, parts.iter().filter(|p| p.contains(c)).count() as u32 - 1))
                    .collect(),
            )
        })
        .collect()
}

/// Which groups each client is directly in, as offsets per client and group positions.
fn client_groups_table(view: &ReportView) -> (Vec<u32>, Vec<u32>) {
    let slots = view
        .groups
        .iter()
        .filter_map(|g| g.direct.max())
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut start = vec![0u32; slots + 1];
    for g in &view.groups {
        for c in &g.direct {
            start[c as usize + 1] += 1;
        }
    }
    for c in 1..start.len() {
        start[c] += start[c - 1];
    }
    let mut next = start.clone();
    let mut groups = vec![0u32; start[slots] as usize];
    for (i, g) in view.groups.iter().enumerate() {
        for c in &g.direct {
            groups[next[c as usize] as usize] = i as u32;
            next[c as usize] += 1;
        }
    }
    (start, groups)
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

    /// Takes off `times` times what `other` added.
    fn take_off(&mut self, other: &Totals, times: u64) {
        self.minutes -= other.minutes * times;
        self.billable_minutes -= other.billable_minutes * times;
        self.entries -= other.entries * times;
        self.clients -= other.clients * times;
    }
}

/// The entry pass: what makes an entry count, and which clients' entries are added up.
struct Pass<'a> {
    from: u16,
    to: u16,
    billable: Option<bool>,
    staff_filter: Option<&'a Bits>,
    /// Clients the index knows (an entry may name a client this process has not seen yet: it
    /// counts on the next report).
    client_slots: usize,
    /// `None`: every client counts (an admin's report without client filters).
    allowed: Option<&'a Bits>,
    /// Clients whose entries are placed one by one (their memberships changed within the range).
    affected: &'a Bits,
    by_staff: bool,
}

/// What one worker of the entry pass found besides each client's sums.
#[derive(Default)]
struct PassOut {
    per_staff: Vec<Totals>,
    placed_one_by_one: Vec<(bool, usize)>,
}

impl PassOut {
    fn staff(&mut self, staff: u32) -> &mut Totals {
        let s = staff as usize;
        if self.per_staff.len() <= s {
            self.per_staff.resize(s + 1, Totals::default());
        }
        &mut self.per_staff[s]
    }
}

impl Pass<'_> {
    /// Whether entry `i` of `seg` counts: live, within the range, and through the filters.
    #[inline(always)]
    fn counts(&self, seg: &Segment, i: usize) -> bool {
        let minutes = seg.minutes[i];
        let day = seg.day[i];
        minutes != 0
            && day >= self.from
            && day <= self.to
            && self.billable.is_none_or(|b| b == (minutes & BILLABLE != 0))
            && self.staff_filter.is_none_or(|f| f.contains(seg.staff[i]))
    }

    /// How a client's entries are taken: added up, placed one by one, or not at all.
    #[inline]
    fn take(&self, client: u32) -> Take {
        if client as usize >= self.client_slots {
            return Take::Not;
        }
        match self.allowed {
            None => Take::Sum,
            Some(allowed) if allowed.contains(client) => Take::Sum,
            Some(_) if self.affected.contains(client) => Take::OneByOne,
            Some(_) => Take::Not,
        }
    }

    /// The main segment's entries of clients `first..first + sums.len()`, each client's into its
    /// slot of `sums`.
    fn run_clients(&self, cols: &Columns, first: usize, sums: &mut [ClientSums]) -> PassOut {
        let mut out = PassOut::default();
        let main = &cols.main;
        // The staff members already counted for the client at hand (a client's entries are few).
        let mut seen: Vec<u32> = Vec::new();
        for (k, sum) in sums.iter_mut().enumerate() {
            let client = first + k;
            let take = self.take(client as u32);
            if take == Take::Not {
                continue;
            }
            let entries = cols.client_entries(client);
            if take == Take::Sum && !self.by_staff && self.staff_filter.is_none() && self.from <= self.to {
                // The common case, without a test that can jump: the client's minutes and days
                // side by side, each entry's share multiplied by whether it counts.
                let (from, span) = (self.from, self.to.wrapping_sub(self.from));
                let want = self.billable.map(|b| if b { BILLABLE } else { 0 });
                let mut add = ClientSums::default();
                for (&minutes, &day) in main.minutes[entries.clone()].iter().zip(&main.day[entries]) {
                    let billable_ok = want.is_none_or(|w| minutes & BILLABLE == w);
                    let counts = (minutes != 0 && day.wrapping_sub(from) <= span && billable_ok) as u32;
                    let m = (minutes & !BILLABLE) as u32 * counts;
                    add.minutes += m;
                    add.billable += m * (minutes >> 15) as u32;
                    add.entries += counts;
                }
                *sum = add;
                continue;
            }
            seen.clear();
            for i in entries {
                if !self.counts(main, i) {
                    continue;
                }
                if take == Take::OneByOne {
                    out.placed_one_by_one.push((false, i));
                    continue;
                }
                sum.add(main.minutes[i]);
                if self.by_staff {
                    let staff = main.staff[i];
                    let t = out.staff(staff);
                    t.add_entry(main.minutes[i]);
                    if !seen.contains(&staff) {
                        seen.push(staff);
                        t.clients += 1;
                    }
                }
            }
        }
        out
    }

    /// The entries written since the load (few, in id order), after the main segment's.
    fn run_recent(&self, cols: &Columns, per_client: &mut [ClientSums], out: &mut PassOut) {
        let recent = &cols.recent;
        let mut pairs: HashSet<(u32, u32)> = HashSet::new();
        for i in 0..recent.len() {
            if !self.counts(recent, i) {
                continue;
            }
            let client = recent.client[i];
            match self.take(client) {
                Take::Not => continue,
                Take::OneByOne => {
                    out.placed_one_by_one.push((true, i));
                    continue;
                }
                Take::Sum => {}
            }
            per_client[client as usize].add(recent.minutes[i]);
            if self.by_staff {
                let staff = recent.staff[i];
                // A client counts once per staff member, whichever segment their entries are in.
                let new = pairs.insert((staff, client))
                    && !cols
                        .client_entries(client as usize)
                        .any(|m| cols.main.staff[m] == staff && self.counts(&cols.main, m));
                let t = out.staff(staff);
                t.add_entry(recent.minutes[i]);
                if new {
                    t.clients += 1;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    Sum,
    OneByOne,
    Not,
}

/// Workers for a report's pass: the machine's cores, up to four, once there are enough entries
/// to share (a thread costs tens of microseconds).
fn workers(entries: usize) -> usize {
    if entries < 200_000 {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

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
    // An admin's report without client filters counts every client: no need to ask per client.
    let check_allowed = allowed_bitmap.len() != prepared.view.org_clients || !affected_bitmap.is_empty();
    let allowed = if check_allowed {
        Bits::from_bitmap(&(&allowed_bitmap - &affected_bitmap))
    } else {
        Bits(Vec::new())
    };
    let affected = Bits::from_bitmap(&affected_bitmap);
    let staff_filter = (!query.staff.is_empty()).then(|| Bits::from_ids(query.staff.iter().map(|s| s.0 as u32)));
    let client_slots = allowed_bitmap.max().map_or(0, |m| m as usize + 1);
    let pass = Pass {
        from: (query.from.0 - DAY_BASE).max(0) as u16,
        to: (query.to.0 - DAY_BASE).clamp(0, u16::MAX as i32) as u16,
        billable: query.billable,
        staff_filter: staff_filter.as_ref(),
        client_slots,
        allowed: check_allowed.then_some(&allowed),
        affected: &affected,
        by_staff: query.by == Grouping::Staff,
    };
    // Each client's sums, its entries added up in one run of the client-ordered main segment.
    // The clients are shared out between the workers in ranges of about equal numbers of entries,
    // each worker writing its own slice of the sums.
    let mut per_client = vec![ClientSums::default(); client_slots];
    let mut outs: Vec<PassOut> = Vec::new();
    if let Some(cols) = cols {
        let n = workers(cols.clients_entries(0, client_slots).len());
        if n == 1 {
            outs.push(pass.run_clients(cols, 0, &mut per_client));
        } else {
            let bounds = cols.split_clients(client_slots, n);
            let pass = &pass;
            outs = std::thread::scope(|s| {
                let mut rest: &mut [ClientSums] = &mut per_client;
                let mut handles = Vec::new();
                for w in bounds.windows(2) {
                    let (mine, others) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
                    rest = others;
                    let first = w[0];
                    handles.push(s.spawn(move || pass.run_clients(cols, first, mine)));
                }
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a report worker panicked"))
                    .collect()
            });
        }
        let mut recent = PassOut::default();
        pass.run_recent(cols, &mut per_client, &mut recent);
        outs.push(recent);
    }
    let mut per_staff: Vec<Totals> = Vec::new();
    let mut placed_one_by_one: Vec<(bool, usize)> = Vec::new();
    for out in outs {
        if per_staff.len() < out.per_staff.len() {
            per_staff.resize(out.per_staff.len(), Totals::default());
        }
        for (s, t) in out.per_staff.iter().enumerate() {
            per_staff[s].absorb(t);
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
    // An admin's report without filters counts every client of every group.
    let everyone = allowed.len() == view.org_clients;
    let counted = |clients: &RoaringBitmap| {
        if everyone {
            clients.len()
        } else {
            clients.intersection_len(allowed)
        }
    };
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
    // Each group's direct clients' time, and the time of clients in no group, in one pass over
    // the clients.
    let mut totals = vec![Totals::default(); view.groups.len()];
    let mut none = Totals::default();
    for (c, ct) in per_client.iter().enumerate() {
        if ct.entries == 0 {
            continue;
        }
        let t = ct.into_totals();
        let groups = prepared.direct_groups_of(c);
        if groups.is_empty() {
            none.absorb(&t);
        }
        for &g in groups {
            totals[g as usize].absorb(&t);
        }
    }
    let mut members = vec![0u64; view.groups.len()];
    for &i in &prepared.children_first {
        let g = &view.groups[i];
        let overlap = match &prepared.sums[i] {
            GroupSum::Reach => {
                totals[i] = sum_over(&g.reach);
                members[i] = counted(&g.reach);
                continue;
            }
            GroupSum::Parts => &[][..],
            GroupSum::PartsLessOverlap(overlap) => overlap.as_slice(),
        };
        let mut t = totals[i];
        let mut m = counted(&g.direct);
        for &c in &prepared.children[i] {
            t.absorb(&totals[c]);
            m += members[c];
        }
        for &(client, extra) in overlap {
            if let Some(ct) = per_client.get(client as usize)
                && ct.entries > 0
            {
                t.take_off(&ct.into_totals(), extra as u64);
            }
            if everyone || allowed.contains(client) {
                m -= extra as u64;
            }
        }
        totals[i] = t;
        members[i] = m;
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
