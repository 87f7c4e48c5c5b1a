//! The in-memory access index. See the crate documentation for what it answers and why.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use roaring::RoaringBitmap;

use clientele_domain::client::{ClientOrder, ClientSort, ClientStatus};
use clientele_domain::group::{GroupKind, GroupOrder, GroupSort};
use clientele_domain::{BusinessUnitId, ClientId, GroupId, Millis, OrganizationId, StaffId};

use crate::{AccessRole, Change};

mod dense;
use dense::Dense;

/// Ids are dense database integers; the index keys bitmaps with them as `u32`. An id that does
/// not fit (a negative one, or one past four billion, which only a request can name: the
/// database hands out ids from 1 and no firm has four billion rows) becomes `u32::MAX`, a slot
/// no row holds, so it is simply not found.
/// The candidates that pass `matches`, in id order. A text search tests every name of the
/// organisation for the exact total (a million in the medium set): above a few thousand
/// candidates the ids are split across the cores, as the reports split their passes.
fn scan_in_parallel(candidates: &RoaringBitmap, matches: &(dyn Fn(u32) -> bool + Sync)) -> Vec<u32> {
    const SPLIT_ABOVE: u64 = 50_000;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    if threads == 1 || candidates.len() < SPLIT_ABOVE {
        return candidates.iter().filter(|&id| matches(id)).collect();
    }
    let ids: Vec<u32> = candidates.iter().collect();
    let chunk = ids.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = ids
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().copied().filter(|&id| matches(id)).collect::<Vec<u32>>()))
            .collect();
        // Chunks are in id order, and so are their matches: joined in turn, the whole is too.
        parts
            .into_iter()
            // A panic in a part is the search's own panic, raised again here.
            .flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

fn small(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

#[derive(Debug, Clone)]
struct ClientSlot {
    org: u32,
    name_key: Box<str>,
    unit: Option<u32>,
}

#[derive(Debug, Clone)]
struct GroupNode {
    org: u32,
    name_key: Box<str>,
    kind: GroupKind,
    unit: u32,
    /// Clients directly in the group.
    direct: RoaringBitmap,
    /// Clients reachable through the group: `direct` and the `reach` of every child.
    reach: RoaringBitmap,
    children: Vec<u32>,
    parents: Vec<u32>,
    /// Staff assigned to this group.
    staff: Vec<u32>,
}

impl GroupNode {
    fn new(org: u32, name_key: &str, kind: GroupKind) -> GroupNode {
        GroupNode {
            org,
            name_key: name_key.into(),
            kind,
            unit: 0,
            direct: RoaringBitmap::new(),
            reach: RoaringBitmap::new(),
            children: Vec::new(),
            parents: Vec::new(),
            staff: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Grant {
    group: u32,
    role: AccessRole,
    valid_until: Option<Millis>,
}

impl Grant {
    fn valid_at(&self, now: Millis) -> bool {
        self.valid_until.is_none_or(|until| until > now)
    }
}

#[derive(Debug, Default)]
struct State {
    /// The sequence number of the last change applied.
    applied: i64,
    clients: Vec<Option<ClientSlot>>,
    /// Client ids ordered by (name_key, id): the order every client list is served in.
    sorted: Vec<u32>,
    /// Clients by status: [active, inactive, closed].
    by_status: [RoaringBitmap; 3],
    /// Clients by organisation: what an admin sees, without walking every client slot.
    by_org: HashMap<u32, RoaringBitmap>,
    groups: Dense<GroupNode>,
    grants: Dense<Vec<Grant>>,
    /// Memberships that end by themselves: (instant, group, client), soonest first, and the
    /// instant of each (group, client) so a later change can replace it.
    lapsing: BTreeSet<(Millis, u32, u32)>,
    lapses_at: HashMap<(u32, u32), Millis>,
    /// How many groups hold each client directly (by client id), and the clients held by at
    /// least one: "in no group at all" (seed 004's available clients) is a bitmap difference.
    memberships: Vec<u32>,
    grouped: RoaringBitmap,
    /// Clients that may be in groups only until an instant (their relationship expires), soonest
    /// first, and the instant of each.
    leaving: BTreeSet<(Millis, u32)>,
    leaves_at: HashMap<u32, Millis>,
    /// The latest instant lapses were applied for: a client whose relationship ended by then is
    /// added to no group.
    lapsed_through: Millis,
}

fn status_slot(s: ClientStatus) -> usize {
    match s {
        ClientStatus::Active => 0,
        ClientStatus::Inactive => 1,
        ClientStatus::Closed => 2,
    }
}

/// Whose view a list is computed for.
#[derive(Debug, Clone, Copy)]
pub enum Seeing {
    /// A staff member: the clients of the groups they are assigned to, through any nesting.
    Staff(StaffId),
    /// Everything in the organisation (admins).
    All(OrganizationId),
    /// The organisation's clients that no group holds (seed 004's "available" clients): what a
    /// group's manager may add to it besides the clients they already manage.
    Ungrouped(OrganizationId),
    /// What a staff member may add to a group they manage (`decide::add_client`): the clients of
    /// the groups they manage, and the organisation's clients that no group holds.
    Addable(StaffId, OrganizationId),
    /// The organisation's clients whose relationship lets them join a group (seed 004's
    /// "available" clients when a client may be in several groups).
    Eligible(OrganizationId),
}

/// What the index is asked for when it lists clients: a list's `ClientFilter` (in the domain)
/// as `App` translates it, with what only the database knows (`also`) already looked up.
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    /// Text that the name must contain (case ignored), unless the client is one of `also`.
    pub text: Option<String>,
    /// Clients that match `text` by something the index does not hold: their external reference
    /// or their e-mail, looked up in the database by the caller.
    pub also: Vec<ClientId>,
    /// Empty means every status.
    pub statuses: Vec<ClientStatus>,
    /// Only clients reachable through at least one of these groups (none: no such filter).
    pub groups: Vec<GroupId>,
    /// Leave out the clients this group holds directly (a group's "add clients" candidates).
    pub not_in: Option<GroupId>,
    pub unit: Option<BusinessUnitId>,
    /// The order of the list (not a filter, but every list that filters also sorts).
    pub order: ClientOrder,
}

/// A request for one page of clients.
#[derive(Debug, Clone)]
pub struct ListClients<'a> {
    pub seeing: Seeing,
    pub filter: &'a ClientQuery,
    /// The key (see [`ClientPage::keys`]) and id of the client the page starts after; `("", 0)`
    /// for the first page.
    pub after: (&'a str, i64),
    /// The page that ends just before `after` instead ("previous page"), still in `order`.
    pub backward: bool,
    pub limit: usize,
    pub now: Millis,
}

/// A request for one page of the groups a staff member can see.
#[derive(Debug, Clone)]
pub struct ListGroups<'a> {
    pub staff: StaffId,
    pub kind: Option<GroupKind>,
    pub unit: Option<BusinessUnitId>,
    pub text: Option<&'a str>,
    /// Only the groups nested directly in this one.
    pub within: Option<GroupId>,
    pub order: GroupOrder,
    /// The key (see [`GroupOrder::key`]) and id of the group the page starts after; `("", 0)`
    /// for the first page.
    pub after: (&'a str, i64),
    /// The page that ends just before `after` instead, still in `order`.
    pub backward: bool,
    pub limit: usize,
    pub now: Millis,
}

/// One page of groups and how many match in all (see [`ClientPage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPage {
    pub ids: Vec<GroupId>,
    pub keys: Vec<(String, i64)>,
    pub total: u64,
    pub more: bool,
}

/// One page of clients, in the order asked for, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPage {
    pub ids: Vec<ClientId>,
    /// The sort key and id of each returned client, for cursors: the name key when sorting by
    /// name, `"<status>|<name key>"` when sorting by status.
    pub keys: Vec<(String, i64)>,
    pub total: u64,
    /// There are more clients past this page in the direction it was read (after it, or for a
    /// backward page, before it).
    pub more: bool,
}

/// How a page is read: the order (reversed for descending lists and for backward pages) and
/// the cursor it starts after.
struct Walk<'a> {
    by: ClientSort,
    reverse: bool,
    after: Option<SortKey<'a>>,
}

/// A cursor's key, read back: the status rank when sorting by status, the name key, the id.
struct SortKey<'a> {
    status: u8,
    name: &'a str,
    id: i64,
}

impl<'a> SortKey<'a> {
    fn parse(by: ClientSort, (key, id): (&'a str, i64)) -> SortKey<'a> {
        match by {
            ClientSort::Name => SortKey {
                status: 0,
                name: key,
                id,
            },
            ClientSort::Status => {
                let (status, name) = key.split_once('|').unwrap_or(("0", key));
                SortKey {
                    status: status.parse().unwrap_or(0),
                    name,
                    id,
                }
            }
        }
    }
}

/// Why a staff member can see a client: the assignment's group and role, and the chain of nested
/// groups from it down to a group that holds the client directly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct GrantPath {
    pub staff: StaffId,
    pub role: AccessRole,
    /// From the assigned group down to the group that directly contains the client.
    pub groups: Vec<GroupId>,
}

/// A copy of what a report needs (see [`AccessIndex::report_view`]).
#[derive(Debug, Clone)]
pub struct ReportView {
    /// The clients the report may count.
    pub clients: RoaringBitmap,
    /// The groups the report may show.
    pub groups: Vec<ReportGroup>,
    /// How many clients the organisation has (when `clients` holds them all, a report need not
    /// ask per entry).
    pub org_clients: u64,
}

#[derive(Debug, Clone)]
pub struct ReportGroup {
    pub id: GroupId,
    pub kind: GroupKind,
    /// Groups of groups this group is nested in.
    pub parents: Vec<GroupId>,
    /// Clients directly in the group.
    pub direct: RoaringBitmap,
    /// Clients in the group or in any group nested below it.
    pub reach: RoaringBitmap,
}

/// Changes applied per hold of the write lock when a large batch may be applied in slices (a few
/// hundred microseconds of a reader's wait at most).
const APPLY_SLICE: usize = 256;

/// The index. Readers share it; applying changes takes the write lock briefly.
#[derive(Debug)]
pub struct AccessIndex {
    state: RwLock<State>,
    /// The soonest instant a membership ends by itself (`i64::MAX` for none): every answer first
    /// compares `now` with it, without a lock, and only past it takes the write lock to end them.
    next_lapse: AtomicI64,
}

impl Default for AccessIndex {
    fn default() -> Self {
        AccessIndex {
            state: RwLock::default(),
            next_lapse: AtomicI64::new(i64::MAX),
        }
    }
}

impl AccessIndex {
    pub fn new() -> AccessIndex {
        AccessIndex::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The state as it stands at `now`: memberships whose validity ended by then are gone, exactly
    /// at their instant, whether or not the sweep that deletes them from the database has run.
    fn read_at(&self, now: Millis) -> RwLockReadGuard<'_, State> {
        if now >= self.next_lapse.load(AtomicOrdering::Acquire) {
            let mut s = self.write();
            s.end_lapsed(now);
            self.publish_next_lapse(&s);
        }
        self.read()
    }

    fn publish_next_lapse(&self, s: &State) {
        let membership = s.lapsing.first().map_or(i64::MAX, |&(at, _, _)| at);
        let client = s.leaving.first().map_or(i64::MAX, |&(at, _)| at);
        self.next_lapse.store(membership.min(client), AtomicOrdering::Release);
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The sequence number of the last change applied.
    pub fn applied(&self) -> i64 {
        self.read().applied
    }

    /// Replaces the whole state from a full load: `changes` describe every client, group,
    /// membership and assignment as of sequence `seq`. Builds the closures once, bottom-up, rather
    /// than change by change.
    pub fn load(&self, seq: i64, changes: impl IntoIterator<Item = Change>) {
        let mut s = State {
            applied: seq,
            ..State::default()
        };
        for change in changes {
            s.apply_raw(&change);
        }
        s.rebuild_reach();
        s.resort();
        let mut w = self.write();
        *w = s;
        self.publish_next_lapse(&w);
    }

    /// Applies changes that committed after the last applied one, in order, and records `seq`.
    pub fn apply(&self, seq: i64, changes: &[Change]) {
        // A batch of an import adds (or removes) thousands of memberships: applied under one hold
        // of the write lock it would stall every access check for tens of milliseconds. When a
        // batch only adds clients to groups, or only removes them, every state between the old
        // and the new one grants no more than one of them does, so readers may see it applied in
        // slices (they wait for at most one slice); `applied` moves only once all of it is in.
        let mut changes = changes;
        let only = |pick: fn(&Change) -> bool| changes.iter().all(pick);
        if changes.len() > APPLY_SLICE
            && (only(|c| matches!(c, Change::ClientAdded { .. }))
                || only(|c| matches!(c, Change::ClientRemoved { .. })))
        {
            if seq <= self.read().applied {
                return;
            }
            while changes.len() > APPLY_SLICE {
                let (slice, rest) = changes.split_at(APPLY_SLICE);
                let mut s = self.write();
                for change in slice {
                    s.apply_one(change, false);
                }
                drop(s);
                changes = rest;
            }
        }
        let mut s = self.write();
        if seq <= s.applied {
            return;
        }
        // Many new or renamed clients (an import of clients) re-sort once at the end instead of
        // moving entries per client. Only client changes touch the order: a batch of thousands of
        // memberships must not pay a sort of every client (a second on a million).
        let bulk = changes.iter().filter(|c| matches!(c, Change::Client { .. })).count() > 2_000;
        for change in changes {
            s.apply_one(change, bulk);
        }
        if bulk {
            s.resort();
        }
        s.applied = seq;
        self.publish_next_lapse(&s);
    }

    /// The organisation a client belongs to, if the client exists.
    pub fn client_org(&self, client: ClientId) -> Option<OrganizationId> {
        let s = self.read();
        let slot = s.clients.get(usize::try_from(client.0).ok()?)?.as_ref()?;
        Some(OrganizationId(slot.org as i64))
    }

    /// Until when what `seeing` sees stays as it is at `now` unless a change arrives through the
    /// log: the soonest instant a membership or one of the staff member's assignments runs out.
    /// A view computed now (a report's) may be kept until then, never past it.
    pub fn unchanged_until(&self, seeing: Seeing, now: Millis) -> Millis {
        let s = self.read_at(now);
        let lapse = self.next_lapse.load(AtomicOrdering::Acquire);
        let grants = match seeing {
            Seeing::Staff(staff) | Seeing::Addable(staff, _) => s
                .grants
                .get(&small(staff.0))
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|g| g.valid_until)
                .filter(|&until| until > now)
                .min()
                .unwrap_or(i64::MAX),
            Seeing::All(_) | Seeing::Ungrouped(_) | Seeing::Eligible(_) => i64::MAX,
        };
        lapse.min(grants)
    }

    /// Whether the staff member manages at least one group (and so may list the clients in no
    /// group, to add them).
    pub fn manages_any(&self, staff: StaffId, now: Millis) -> bool {
        self.read()
            .grants
            .get(&small(staff.0))
            .is_some_and(|grants| grants.iter().any(|g| g.valid_at(now) && g.role == AccessRole::Manager))
    }

    /// Whether the client belongs to `org` and no group holds it (at `now`: memberships whose
    /// validity ended no longer count).
    pub fn is_ungrouped(&self, org: OrganizationId, client: ClientId, now: Millis) -> bool {
        let s = self.read_at(now);
        let c = small(client.0);
        s.by_org.get(&small(org.0)).is_some_and(|clients| clients.contains(c)) && !s.grouped.contains(c)
    }

    /// The groups that hold the client directly.
    pub fn groups_holding(&self, client: ClientId, now: Millis) -> Vec<GroupId> {
        let s = self.read_at(now);
        let c = small(client.0);
        if !s.grouped.contains(c) {
            return Vec::new();
        }
        s.groups
            .iter()
            .filter(|(_, node)| node.direct.contains(c))
            .map(|(g, _)| GroupId(g as i64))
            .collect()
    }

    /// The staff member's strongest role on the client, if any path grants one.
    pub fn role(&self, staff: StaffId, client: ClientId, now: Millis) -> Option<AccessRole> {
        let s = self.read_at(now);
        let c = u32::try_from(client.0).ok()?;
        let mut best = None;
        for grant in s.grants.get(&small(staff.0)).map(Vec::as_slice).unwrap_or_default() {
            if grant.valid_at(now)
                && best < Some(grant.role)
                && let Some(node) = s.groups.get(&grant.group)
                && node.reach.contains(c)
            {
                best = Some(grant.role);
                if grant.role == AccessRole::Manager {
                    break;
                }
            }
        }
        best
    }

    /// Every path by which the staff member reaches the client.
    pub fn paths(&self, staff: StaffId, client: ClientId, now: Millis) -> Vec<GrantPath> {
        let s = self.read_at(now);
        let Ok(c) = u32::try_from(client.0) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for grant in s.grants.get(&small(staff.0)).map(Vec::as_slice).unwrap_or_default() {
            if grant.valid_at(now)
                && let Some(path) = s.path_down(grant.group, c)
            {
                out.push(GrantPath {
                    staff,
                    role: grant.role,
                    groups: path,
                });
            }
        }
        out
    }

    /// Who can see the client through assignments, with the role and the path for each grant.
    pub fn who_can_see(&self, client: ClientId, now: Millis) -> Vec<GrantPath> {
        let s = self.read_at(now);
        let Ok(c) = u32::try_from(client.0) else {
            return Vec::new();
        };
        let mut staff: Vec<u32> = Vec::new();
        let mut seen_groups = HashSet::new();
        // Groups holding the client directly, then every ancestor: the only places a grant can be.
        let mut queue: VecDeque<u32> = s
            .groups
            .iter()
            .filter(|(_, n)| n.direct.contains(c))
            .map(|(id, _)| id)
            .collect();
        while let Some(g) = queue.pop_front() {
            if !seen_groups.insert(g) {
                continue;
            }
            if let Some(node) = s.groups.get(&g) {
                staff.extend(&node.staff);
                queue.extend(&node.parents);
            }
        }
        staff.sort_unstable();
        staff.dedup();
        let mut out = Vec::new();
        for st in staff {
            for grant in s.grants.get(&st).map(Vec::as_slice).unwrap_or_default() {
                if grant.valid_at(now)
                    && seen_groups.contains(&grant.group)
                    && let Some(path) = s.path_down(grant.group, c)
                {
                    out.push(GrantPath {
                        staff: StaffId(st as i64),
                        role: grant.role,
                        groups: path,
                    });
                }
            }
        }
        out
    }

    /// The staff member's strongest role on a group: from an assignment to it or to any group of
    /// groups it is nested in.
    pub fn group_role(&self, staff: StaffId, group: GroupId, now: Millis) -> Option<AccessRole> {
        let s = self.read();
        let grants = s.grants.get(&small(staff.0))?;
        let ancestors = s.up_closure(small(group.0));
        grants
            .iter()
            .filter(|g| g.valid_at(now) && ancestors.contains(&g.group))
            .map(|g| g.role)
            .max()
    }

    /// The groups a staff member can see: those assigned and everything nested below them.
    pub fn visible_groups(&self, staff: StaffId, now: Millis) -> RoaringBitmap {
        let s = self.read();
        let mut out = RoaringBitmap::new();
        let mut queue: VecDeque<u32> = s
            .grants
            .get(&small(staff.0))
            .map(|g| g.iter().filter(|g| g.valid_at(now)).map(|g| g.group).collect())
            .unwrap_or_default();
        while let Some(g) = queue.pop_front() {
            if out.insert(g)
                && let Some(node) = s.groups.get(&g)
            {
                queue.extend(&node.children);
            }
        }
        out
    }

    /// One page of the groups a staff member can see (assigned, and nested below those), in name
    /// order: `(ids, (name_key, id) keys, more)`.
    pub fn list_groups(&self, q: &ListGroups<'_>) -> GroupPage {
        let visible = self.visible_groups(q.staff, q.now);
        let s = self.read();
        let text = q.text.map(str::to_lowercase);
        let within = q.within.map(|g| small(g.0));
        // A staff member sees tens of groups, not thousands: sorting them all is cheap. The
        // member count is the index's own (direct clients and nested groups), so the cursor
        // keys agree with the order they page through.
        let mut rows: Vec<(i64, &str, u32)> = visible
            .iter()
            .filter_map(|g| s.groups.get(&g).map(|n| (g, n)))
            .filter(|(_, n)| q.kind.is_none_or(|k| n.kind == k))
            .filter(|(_, n)| q.unit.is_none_or(|u| n.unit as i64 == u.0))
            .filter(|(_, n)| text.as_deref().is_none_or(|t| n.name_key.contains(t)))
            .filter(|(_, n)| within.is_none_or(|p| n.parents.contains(&p)))
            .map(|(g, n)| {
                let count = match q.order.by {
                    GroupSort::Name => 0,
                    GroupSort::Members => (n.direct.len() + n.children.len() as u64) as i64,
                };
                (count, &*n.name_key, g)
            })
            .collect();
        let total = rows.len() as u64;
        let reverse = q.order.descending != q.backward;
        let started = !q.after.0.is_empty() || q.after.1 != 0;
        if started {
            let (count, name) = q.order.split_key(q.after.0);
            let cursor = (count, name, q.after.1);
            rows.retain(|&(c, n, g)| {
                let here = (c, n, g as i64);
                if reverse { here < cursor } else { here > cursor }
            });
        }
        rows.sort_unstable();
        if reverse {
            rows.reverse();
        }
        let more = rows.len() > q.limit;
        rows.truncate(q.limit);
        if q.backward {
            rows.reverse();
        }
        GroupPage {
            ids: rows.iter().map(|&(_, _, g)| GroupId(g as i64)).collect(),
            keys: rows
                .into_iter()
                .map(|(count, name, g)| (q.order.key(count, name), g as i64))
                .collect(),
            total,
            more,
        }
    }

    /// How many clients the staff member can see (for reports and the UI's counts).
    pub fn visible_count(&self, staff: StaffId, now: Millis) -> u64 {
        let s = self.read_at(now);
        s.visible(Seeing::Staff(staff), now).len()
    }

    /// One page of the clients `seeing` may see, filtered before paging, in the order asked for.
    pub fn list_clients(&self, q: &ListClients<'_>) -> ClientPage {
        let s = self.read_at(q.now);
        let mut candidates = s.visible(q.seeing, q.now);
        if !q.filter.groups.is_empty() {
            let mut reached = RoaringBitmap::new();
            for group in &q.filter.groups {
                if let Some(node) = u32::try_from(group.0).ok().and_then(|g| s.groups.get(&g)) {
                    reached |= &node.reach;
                }
            }
            candidates &= reached;
        }
        if let Some(node) = q
            .filter
            .not_in
            .and_then(|g| u32::try_from(g.0).ok())
            .and_then(|g| s.groups.get(&g))
        {
            candidates -= &node.direct;
        }
        // Only clients that exist (a status set holds every live client), of the statuses asked for.
        let statuses: &[ClientStatus] = if q.filter.statuses.is_empty() {
            &[ClientStatus::Active, ClientStatus::Inactive, ClientStatus::Closed]
        } else {
            &q.filter.statuses
        };
        let mut allowed = RoaringBitmap::new();
        for status in statuses {
            allowed |= &s.by_status[status_slot(*status)];
        }
        candidates &= allowed;
        let text = q.filter.text.as_deref().map(str::to_lowercase);
        // Searched a million times a page: a finder built once (SIMD) rather than `str::contains`.
        let finder = text.as_deref().map(memchr::memmem::Finder::new);
        let unit = q.filter.unit.map(|u| small(u.0));
        let per_row = text.is_some() || unit.is_some();
        let matches = |id: u32| -> bool {
            match s.clients.get(id as usize).and_then(Option::as_ref) {
                Some(slot) => {
                    finder.as_ref().is_none_or(|f| {
                        f.find(slot.name_key.as_bytes()).is_some() || q.filter.also.contains(&ClientId(id as i64))
                    }) && unit.is_none_or(|u| slot.unit == Some(u))
                }
                None => false,
            }
        };
        // A backward page is read in the opposite order from the cursor, then turned round.
        let walk = Walk {
            by: q.filter.order.by,
            reverse: q.filter.order.descending != q.backward,
            after: (!q.after.0.is_empty() || q.after.1 != 0).then(|| SortKey::parse(q.filter.order.by, q.after)),
        };
        let limit = q.limit;
        if per_row {
            // Filtered by the row: one pass finds every match (the exact total), and the page is
            // the first of them after the cursor, without walking the sorted list a second time.
            let rows = scan_in_parallel(&candidates, &matches);
            let total = rows.len() as u64;
            let picked = s.first_past(rows, &walk, limit);
            return s.page_of(picked, limit, total, q.filter.order.by, q.backward);
        }
        let total = candidates.len();
        let visible = candidates.len() as usize;
        // Walking the name-ordered list costs about limit * all / visible steps (once per status
        // when sorting by status); sorting the candidates costs visible * log(visible). Take
        // the cheaper.
        let segments = match walk.by {
            ClientSort::Name => 1,
            ClientSort::Status => 3,
        };
        let walk_cost = limit
            .saturating_mul(s.sorted.len())
            .saturating_mul(segments)
            .checked_div(visible)
            .unwrap_or(usize::MAX);
        let sort_cost = visible.saturating_mul((usize::BITS - visible.leading_zeros()) as usize);
        let picked = if walk_cost <= sort_cost {
            s.walk_sorted(&candidates, &walk, limit)
        } else {
            s.first_past(candidates.iter().collect(), &walk, limit)
        };
        s.page_of(picked, limit, total, q.filter.order.by, q.backward)
    }

    /// What a report needs from the index: the clients `seeing` may see (of the statuses and
    /// business unit asked for; every status when `statuses` is empty), and the groups they may
    /// see with whom each reaches. Copied out, so the report's arithmetic runs without the lock.
    pub fn report_view(
        &self,
        seeing: Seeing,
        statuses: &[ClientStatus],
        unit: Option<BusinessUnitId>,
        now: Millis,
    ) -> ReportView {
        let s = self.read_at(now);
        let mut clients = s.visible(seeing, now);
        let statuses: &[ClientStatus] = if statuses.is_empty() {
            &[ClientStatus::Active, ClientStatus::Inactive, ClientStatus::Closed]
        } else {
            statuses
        };
        let mut allowed = RoaringBitmap::new();
        for status in statuses {
            allowed |= &s.by_status[status_slot(*status)];
        }
        clients &= allowed;
        if let Some(unit) = unit {
            let unit = small(unit.0);
            clients = clients
                .iter()
                .filter(|&c| {
                    s.clients[c as usize]
                        .as_ref()
                        .is_some_and(|slot| slot.unit == Some(unit))
                })
                .collect();
        }
        let org_clients = match seeing {
            Seeing::All(org) => s.by_org.get(&small(org.0)).map_or(0, RoaringBitmap::len),
            // A staff member's view is never "everyone" for this purpose: always ask.
            Seeing::Staff(_) | Seeing::Ungrouped(_) | Seeing::Addable(..) | Seeing::Eligible(_) => u64::MAX,
        };
        let group_ids: Vec<u32> = match seeing {
            Seeing::Staff(staff) | Seeing::Addable(staff, _) => {
                drop(s);
                let visible = self.visible_groups(staff, now);
                return self.finish_report_view(clients, visible.iter().collect(), org_clients);
            }
            // No group holds these clients: a report over them has no group rows.
            Seeing::Ungrouped(_) => Vec::new(),
            Seeing::All(org) | Seeing::Eligible(org) => {
                let org = small(org.0);
                s.groups.iter().filter(|(_, n)| n.org == org).map(|(g, _)| g).collect()
            }
        };
        drop(s);
        self.finish_report_view(clients, group_ids, org_clients)
    }

    fn finish_report_view(&self, clients: RoaringBitmap, group_ids: Vec<u32>, org_clients: u64) -> ReportView {
        let s = self.read();
        let groups = group_ids
            .into_iter()
            .filter_map(|g| {
                let n = s.groups.get(&g)?;
                Some(ReportGroup {
                    id: GroupId(g as i64),
                    kind: n.kind,
                    parents: n.parents.iter().map(|&p| GroupId(p as i64)).collect(),
                    direct: n.direct.clone(),
                    reach: n.reach.clone(),
                })
            })
            .collect();
        ReportView {
            clients,
            groups,
            org_clients,
        }
    }

    /// Rough heap use, for the benchmark report.
    pub fn approximate_bytes(&self) -> usize {
        let s = self.read();
        let clients: usize = s
            .clients
            .iter()
            .map(|c| std::mem::size_of::<Option<ClientSlot>>() + c.as_ref().map_or(0, |c| c.name_key.len()))
            .sum();
        let groups: usize = s
            .groups
            .values()
            .map(|g| {
                std::mem::size_of::<GroupNode>()
                    + g.direct.serialized_size()
                    + g.reach.serialized_size()
                    + 4 * (g.children.len() + g.parents.len() + g.staff.len())
                    + g.name_key.len()
            })
            .sum();
        let grants: usize = s
            .grants
            .values()
            .map(|g| 32 + g.len() * std::mem::size_of::<Grant>())
            .sum();
        let status: usize = s
            .by_status
            .iter()
            .chain(s.by_org.values())
            .map(RoaringBitmap::serialized_size)
            .sum();
        clients + s.sorted.len() * 4 + groups + grants + status
    }
}

impl State {
    /// A page from up to `limit + 1` clients in walking order (the extra one says there is
    /// more); a backward page is turned round into the list's order.
    fn page_of(&self, mut picked: Vec<u32>, limit: usize, total: u64, by: ClientSort, backward: bool) -> ClientPage {
        let more = picked.len() > limit;
        picked.truncate(limit);
        if backward {
            picked.reverse();
        }
        let keys = picked
            .iter()
            .map(|&id| {
                let name = self.name_key(id);
                let key = match by {
                    ClientSort::Name => name.to_string(),
                    ClientSort::Status => format!("{}|{name}", self.status_rank(id)),
                };
                (key, id as i64)
            })
            .collect();
        ClientPage {
            ids: picked.into_iter().map(|id| ClientId(id as i64)).collect(),
            keys,
            total,
            more,
        }
    }

    fn name_key(&self, id: u32) -> &str {
        self.clients
            .get(id as usize)
            .and_then(Option::as_ref)
            .map(|c| &*c.name_key)
            .unwrap_or("")
    }

    /// 0 active, 1 inactive, 2 closed (3 for no client).
    fn status_rank(&self, id: u32) -> u8 {
        (0..3u8)
            .find(|&slot| self.by_status[slot as usize].contains(id))
            .unwrap_or(3)
    }

    /// Where a client stands in a walk's order: compared with another client.
    fn walk_cmp(&self, a: u32, b: u32, walk: &Walk<'_>) -> Ordering {
        let primary = match walk.by {
            ClientSort::Name => Ordering::Equal,
            ClientSort::Status => self.status_rank(a).cmp(&self.status_rank(b)),
        };
        let ordering = primary.then_with(|| self.order(a, b));
        if walk.reverse { ordering.reverse() } else { ordering }
    }

    /// Whether a client comes after the walk's cursor (every client does without one).
    fn past_cursor(&self, id: u32, walk: &Walk<'_>) -> bool {
        let Some(key) = &walk.after else { return true };
        let primary = match walk.by {
            ClientSort::Name => Ordering::Equal,
            ClientSort::Status => self.status_rank(id).cmp(&key.status),
        };
        let ordering = primary
            .then_with(|| self.name_key(id).cmp(key.name))
            .then((id as i64).cmp(&key.id));
        let ordering = if walk.reverse { ordering.reverse() } else { ordering };
        ordering == Ordering::Greater
    }

    /// The first `limit + 1` of `rows` past the cursor, in walking order.
    fn first_past(&self, mut rows: Vec<u32>, walk: &Walk<'_>, limit: usize) -> Vec<u32> {
        rows.retain(|&id| self.past_cursor(id, walk));
        let order = |a: &u32, b: &u32| self.walk_cmp(*a, *b, walk);
        if rows.len() > limit + 1 {
            rows.select_nth_unstable_by(limit, order);
            rows.truncate(limit + 1);
        }
        rows.sort_unstable_by(order);
        rows
    }

    /// The first `limit + 1` candidates past the cursor, walking the name-ordered list (once
    /// per status, in the walk's order of statuses, when sorting by status).
    fn walk_sorted(&self, candidates: &RoaringBitmap, walk: &Walk<'_>, limit: usize) -> Vec<u32> {
        let mut picked: Vec<u32> = Vec::with_capacity(limit + 1);
        let segments: Vec<Option<u8>> = match (walk.by, walk.reverse) {
            (ClientSort::Name, _) => vec![None],
            (ClientSort::Status, false) => vec![Some(0), Some(1), Some(2)],
            (ClientSort::Status, true) => vec![Some(2), Some(1), Some(0)],
        };
        for segment in segments {
            let in_segment;
            let wanted = match segment {
                Some(slot) => {
                    in_segment = candidates & &self.by_status[slot as usize];
                    &in_segment
                }
                None => candidates,
            };
            // The cursor's name bounds the walk only within its own status; statuses before it
            // are skipped whole, and those after it are walked from their start.
            let mut bound = walk.after.as_ref().map(|k| (k.name, k.id));
            if let (Some(slot), Some(key)) = (segment, &walk.after) {
                let before = if walk.reverse {
                    slot > key.status
                } else {
                    slot < key.status
                };
                if before {
                    continue;
                }
                if slot != key.status {
                    bound = None;
                }
            }
            let cmp = |id: u32, (name, key_id): (&str, i64)| self.name_key(id).cmp(name).then((id as i64).cmp(&key_id));
            let ids: Box<dyn Iterator<Item = &u32>> = match (walk.reverse, bound) {
                (false, None) => Box::new(self.sorted.iter()),
                (false, Some(b)) => {
                    let start = self.sorted.partition_point(|&id| cmp(id, b) != Ordering::Greater);
                    Box::new(self.sorted[start..].iter())
                }
                (true, None) => Box::new(self.sorted.iter().rev()),
                (true, Some(b)) => {
                    let end = self.sorted.partition_point(|&id| cmp(id, b) == Ordering::Less);
                    Box::new(self.sorted[..end].iter().rev())
                }
            };
            for &id in ids {
                if wanted.contains(id) {
                    picked.push(id);
                    if picked.len() > limit {
                        return picked;
                    }
                }
            }
        }
        picked
    }

    fn order(&self, a: u32, b: u32) -> Ordering {
        let name = |id: u32| {
            self.clients
                .get(id as usize)
                .and_then(Option::as_ref)
                .map(|c| &*c.name_key)
                .unwrap_or("")
        };
        name(a).cmp(name(b)).then(a.cmp(&b))
    }

    fn resort(&mut self) {
        let mut sorted: Vec<u32> = self
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(id, _)| id as u32)
            .collect();
        sorted.sort_unstable_by(|&a, &b| self.order(a, b));
        self.sorted = sorted;
    }

    fn visible(&self, seeing: Seeing, now: Millis) -> RoaringBitmap {
        match seeing {
            Seeing::Staff(staff) => {
                let mut out = RoaringBitmap::new();
                for grant in self.grants.get(&small(staff.0)).map(Vec::as_slice).unwrap_or_default() {
                    if grant.valid_at(now)
                        && let Some(node) = self.groups.get(&grant.group)
                    {
                        out |= &node.reach;
                    }
                }
                out
            }
            Seeing::All(org) => self.by_org.get(&small(org.0)).cloned().unwrap_or_default(),
            Seeing::Ungrouped(org) => {
                let mut all = self.by_org.get(&small(org.0)).cloned().unwrap_or_default();
                all -= &self.grouped;
                all -= &self.departed();
                all
            }
            Seeing::Eligible(org) => {
                let mut all = self.by_org.get(&small(org.0)).cloned().unwrap_or_default();
                all -= &self.departed();
                all
            }
            Seeing::Addable(staff, org) => {
                let mut out = self.visible(Seeing::Ungrouped(org), now);
                for grant in self.grants.get(&small(staff.0)).map(Vec::as_slice).unwrap_or_default() {
                    if grant.valid_at(now)
                        && grant.role == AccessRole::Manager
                        && let Some(node) = self.groups.get(&grant.group)
                    {
                        out |= &node.reach;
                    }
                }
                out -= &self.departed();
                out
            }
        }
    }

    /// Clients whose relationship has ended: no group may take them any more.
    fn departed(&self) -> RoaringBitmap {
        self.leaves_at
            .iter()
            .filter(|&(_, &at)| at <= self.lapsed_through)
            .map(|(&c, _)| c)
            .collect()
    }

    /// One more group holds client `c` directly.
    fn joined(&mut self, c: u32) {
        let i = c as usize;
        if self.memberships.len() <= i {
            self.memberships.resize(i + 1, 0);
        }
        self.memberships[i] += 1;
        self.grouped.insert(c);
    }

    /// One group fewer holds client `c` directly.
    fn left(&mut self, c: u32) {
        if let Some(n) = self.memberships.get_mut(c as usize) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.grouped.remove(c);
            }
        }
    }

    /// A chain of groups from `from` down to one that holds client `c` directly.
    fn path_down(&self, from: u32, c: u32) -> Option<Vec<GroupId>> {
        let mut came_from: HashMap<u32, u32> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = HashSet::from([from]);
        while let Some(g) = queue.pop_front() {
            let node = self.groups.get(&g)?;
            if node.direct.contains(c) {
                let mut path = vec![GroupId(g as i64)];
                let mut cur = g;
                while let Some(&prev) = came_from.get(&cur) {
                    path.push(GroupId(prev as i64));
                    cur = prev;
                }
                path.reverse();
                return Some(path);
            }
            for &child in &node.children {
                let reaches = self.groups.get(&child).is_some_and(|n| n.reach.contains(c));
                if reaches && seen.insert(child) {
                    came_from.insert(child, g);
                    queue.push_back(child);
                }
            }
        }
        None
    }

    /// `g` and every group above it.
    fn up_closure(&self, g: u32) -> HashSet<u32> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([g]);
        while let Some(n) = queue.pop_front() {
            if seen.insert(n)
                && let Some(node) = self.groups.get(&n)
            {
                queue.extend(&node.parents);
            }
        }
        seen
    }

    /// `start` and its ancestors, each after all of its children among them (bottom-up).
    fn bottom_up(&self, start: u32) -> Vec<u32> {
        // Reverse post-order of a depth-first walk along parent edges.
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(start, false)];
        while let Some((n, done)) = stack.pop() {
            if done {
                order.push(n);
                continue;
            }
            if !seen.insert(n) {
                continue;
            }
            stack.push((n, true));
            if let Some(node) = self.groups.get(&n) {
                for &p in &node.parents {
                    if !seen.contains(&p) {
                        stack.push((p, false));
                    }
                }
            }
        }
        order.reverse();
        order
    }

    /// Recomputes `reach` for `start` and everything above it, children first.
    fn recompute_up(&mut self, start: u32) {
        for g in self.bottom_up(start) {
            self.recompute(g);
        }
    }

    fn recompute(&mut self, g: u32) {
        let Some(node) = self.groups.get(&g) else { return };
        let mut reach = node.direct.clone();
        for child in &node.children {
            if let Some(c) = self.groups.get(child) {
                reach |= &c.reach;
            }
        }
        if let Some(node) = self.groups.get_mut(&g) {
            node.reach = reach;
        }
    }

    /// Every group's reach from scratch, children before parents (after a full load).
    fn rebuild_reach(&mut self) {
        let mut pending: HashMap<u32, usize> = self.groups.iter().map(|(id, n)| (id, n.children.len())).collect();
        let mut ready: VecDeque<u32> = pending.iter().filter(|(_, n)| **n == 0).map(|(&id, _)| id).collect();
        while let Some(g) = ready.pop_front() {
            self.recompute(g);
            let parents = self.groups.get(&g).map(|n| n.parents.clone()).unwrap_or_default();
            for p in parents {
                if let Some(count) = pending.get_mut(&p) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push_back(p);
                    }
                }
            }
        }
    }

    /// Ends every membership whose validity ran out by `now`, as if it had been removed.
    fn end_lapsed(&mut self, now: Millis) {
        // Clients whose relationship ended leave every group that holds them.
        self.lapsed_through = self.lapsed_through.max(now);
        while let Some(&(at, c)) = self.leaving.first()
            && at <= now
        {
            self.leaving.pop_first();
            self.leave_all_groups(c);
        }
        while let Some(&(at, g, c)) = self.lapsing.first()
            && at <= now
        {
            self.lapsing.pop_first();
            self.lapses_at.remove(&(g, c));
            // Already removed (or its group deleted) since the validity was set.
            if !self.groups.get(&g).is_some_and(|n| n.direct.contains(c)) {
                continue;
            }
            self.apply_one(
                &Change::ClientRemoved {
                    org: OrganizationId(self.groups.get(&g).map_or(0, |n| n.org as i64)),
                    group: GroupId(g as i64),
                    client: ClientId(c as i64),
                },
                false,
            );
        }
    }

    fn leave_all_groups(&mut self, c: u32) {
        let holding: Vec<u32> = self
            .groups
            .iter()
            .filter(|(_, n)| n.direct.contains(c))
            .map(|(g, _)| g)
            .collect();
        for g in holding {
            self.apply_one(
                &Change::ClientRemoved {
                    org: OrganizationId(self.groups.get(&g).map_or(0, |n| n.org as i64)),
                    group: GroupId(g as i64),
                    client: ClientId(c as i64),
                },
                false,
            );
        }
    }

    /// Whether the client's relationship ended by the last instant lapses were applied for.
    fn has_left(&self, c: u32) -> bool {
        self.leaves_at.get(&c).is_some_and(|&at| at <= self.lapsed_through)
    }

    fn node(&mut self, g: u32) -> &mut GroupNode {
        self.groups
            .get_or_insert_with(g, || GroupNode::new(0, "", GroupKind::Clients))
    }

    /// Applies a change to the raw relations only (no closure maintenance): for full loads.
    fn apply_raw(&mut self, change: &Change) {
        match change {
            Change::ClientAdded { group, client, .. } => {
                let c = small(client.0);
                if self.node(small(group.0)).direct.insert(c) {
                    self.joined(c);
                }
            }
            Change::ChildAdded { parent, child, .. } => {
                let (p, c) = (small(parent.0), small(child.0));
                self.node(p).children.push(c);
                self.node(c).parents.push(p);
            }
            other => self.apply_one(other, true),
        }
    }

    fn apply_one(&mut self, change: &Change, bulk: bool) {
        match change {
            Change::Client {
                org,
                client,
                name_key,
                status,
                unit,
            } => {
                let id = small(client.0) as usize;
                if self.clients.len() <= id {
                    self.clients.resize(id + 1, None);
                }
                let renamed = self.clients[id].as_ref().is_none_or(|c| *c.name_key != **name_key);
                if !bulk
                    && renamed
                    && self.clients[id].is_some()
                    && let Ok(pos) = self.sorted.binary_search_by(|&x| self.order(x, id as u32))
                {
                    self.sorted.remove(pos);
                }
                for set in &mut self.by_status {
                    set.remove(id as u32);
                }
                self.by_status[status_slot(*status)].insert(id as u32);
                self.by_org.entry(small(org.0)).or_default().insert(id as u32);
                self.clients[id] = Some(ClientSlot {
                    org: small(org.0),
                    name_key: name_key.as_str().into(),
                    unit: unit.map(|u| small(u.0)),
                });
                if !bulk && renamed {
                    let pos = self
                        .sorted
                        .partition_point(|&x| self.order(x, id as u32) == Ordering::Less);
                    self.sorted.insert(pos, id as u32);
                }
            }
            Change::Group {
                org,
                group,
                name_key,
                kind,
                unit,
            } => {
                let node = self.node(small(group.0));
                node.unit = small(unit.0);
                node.org = small(org.0);
                node.name_key = name_key.as_str().into();
                node.kind = *kind;
            }
            Change::GroupDeleted { group, .. } => {
                let g = small(group.0);
                let Some(node) = self.groups.remove(&g) else { return };
                for c in &node.direct {
                    self.left(c);
                }
                for p in &node.parents {
                    if let Some(parent) = self.groups.get_mut(p) {
                        parent.children.retain(|&c| c != g);
                    }
                }
                for c in &node.children {
                    if let Some(child) = self.groups.get_mut(c) {
                        child.parents.retain(|&p| p != g);
                    }
                }
                for st in &node.staff {
                    if let Some(grants) = self.grants.get_mut(st) {
                        grants.retain(|gr| gr.group != g);
                    }
                }
                for p in node.parents {
                    self.recompute_up(p);
                }
            }
            Change::MembershipValidity {
                group,
                client,
                valid_until,
                ..
            } => {
                let key = (small(group.0), small(client.0));
                if let Some(at) = self.lapses_at.remove(&key) {
                    self.lapsing.remove(&(at, key.0, key.1));
                }
                if let Some(at) = *valid_until
                    && self.groups.get(&key.0).is_some_and(|n| n.direct.contains(key.1))
                {
                    self.lapses_at.insert(key, at);
                    self.lapsing.insert((at, key.0, key.1));
                }
            }
            Change::ClientEligibility { client, until, .. } => {
                let c = small(client.0);
                if let Some(at) = self.leaves_at.remove(&c) {
                    self.leaving.remove(&(at, c));
                }
                if let Some(at) = *until {
                    self.leaves_at.insert(c, at);
                    if at <= self.lapsed_through {
                        self.leave_all_groups(c);
                    } else {
                        self.leaving.insert((at, c));
                    }
                }
            }
            Change::ClientAdded { group, client, .. } if self.has_left(small(client.0)) => {
                // Its relationship has ended: it may be in no group (a late change that raced it).
                let _ = group;
            }
            Change::ClientAdded { group, client, .. } => {
                let (g, c) = (small(group.0), small(client.0));
                // A membership added anew holds until told otherwise.
                if let Some(at) = self.lapses_at.remove(&(g, c)) {
                    self.lapsing.remove(&(at, g, c));
                }
                if self.node(g).direct.insert(c) {
                    self.joined(c);
                }
                for a in self.up_closure(g) {
                    if let Some(node) = self.groups.get_mut(&a) {
                        node.reach.insert(c);
                    }
                }
            }
            Change::ClientRemoved { group, client, .. } => {
                let (g, c) = (small(group.0), small(client.0));
                if self.node(g).direct.remove(c) {
                    self.left(c);
                }
                for a in self.bottom_up(g) {
                    let still = {
                        let Some(node) = self.groups.get(&a) else { continue };
                        node.direct.contains(c)
                            || node
                                .children
                                .iter()
                                .any(|ch| self.groups.get(ch).is_some_and(|n| n.reach.contains(c)))
                    };
                    if let Some(node) = self.groups.get_mut(&a) {
                        if still {
                            node.reach.insert(c);
                        } else {
                            node.reach.remove(c);
                        }
                    }
                }
            }
            Change::ChildAdded { parent, child, .. } => {
                let (p, c) = (small(parent.0), small(child.0));
                if self.node(p).children.contains(&c) {
                    return;
                }
                self.node(p).children.push(c);
                self.node(c).parents.push(p);
                let reach = self.groups.get(&c).map(|n| n.reach.clone()).unwrap_or_default();
                for a in self.up_closure(p) {
                    if let Some(node) = self.groups.get_mut(&a) {
                        node.reach |= &reach;
                    }
                }
            }
            Change::ChildRemoved { parent, child, .. } => {
                let (p, c) = (small(parent.0), small(child.0));
                self.node(p).children.retain(|&x| x != c);
                self.node(c).parents.retain(|&x| x != p);
                self.recompute_up(p);
            }
            Change::Assigned {
                staff,
                group,
                role,
                valid_until,
                ..
            } => {
                let (st, g) = (small(staff.0), small(group.0));
                let grants = self.grants.get_or_insert_with(st, Vec::new);
                grants.retain(|gr| gr.group != g);
                grants.push(Grant {
                    group: g,
                    role: *role,
                    valid_until: *valid_until,
                });
                let node = self.node(g);
                if !node.staff.contains(&st) {
                    node.staff.push(st);
                }
            }
            Change::Unassigned { staff, group, .. } => {
                let (st, g) = (small(staff.0), small(group.0));
                if let Some(grants) = self.grants.get_mut(&st) {
                    grants.retain(|gr| gr.group != g);
                }
                if let Some(node) = self.groups.get_mut(&g) {
                    node.staff.retain(|&x| x != st);
                }
            }
            // Credentials are cached outside the index; roles on groups do not change.
            Change::Staff { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
