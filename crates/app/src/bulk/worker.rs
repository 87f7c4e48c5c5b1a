//! The worker: claims a pending process request, applies its rows batch by batch along the path
//! its operation takes (`RowPath`), and completes it. See the crate's `bulk` module for the
//! promises (exactly once after `kill -9`, the lease).

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, ErrorCode, GroupId, OrganizationId, Result, StaffId};
use clientele_store::process_requests::{self as store, Request, RowOutcome};
use clientele_store::{clients as client_store, groups as group_store, organizations};
use tokio_util::sync::CancellationToken;

use super::rows::{Phases, reason, under_savepoint};
use super::{
    BATCH, SET_BATCH, SET_BATCH_MAX, SET_BATCH_MIN, SET_BATCH_SECONDS, batch, client_rows, formats, time_rows,
};
use crate::members::{MemberRef, Outcome};
use crate::process_requests::{LEASE_MS, MAX_ATTEMPTS, audit_state, worker_name};
use crate::{Actor, App, access};
use clientele_domain::ClientId;

/// How many rows the next batch of a request takes. The per-row path takes [`BATCH`]. A
/// set-based batch costs a few statements whatever its size, and its commit writes every page its
/// rows dirtied once: with rows spread over thousands of groups, 10,000-row batches spent half
/// their time committing (medium data set), 50,000-row ones a fifth. But once a batch dirties more
/// pages than SQLite's cache holds (a table grown past it), it spills them mid-transaction and
/// slows down per row. So batches aim at [`SET_BATCH_SECONDS`] of work at the rate the last one
/// went, changing by half or double at most, within bounds.
struct BatchSize {
    rows: usize,
    adapts: bool,
}

impl BatchSize {
    fn new(path: RowPath) -> BatchSize {
        let adapts = path.set_based();
        BatchSize {
            rows: if adapts { SET_BATCH } else { BATCH },
            adapts,
        }
    }

    fn after(&mut self, rows: usize, took: std::time::Duration) {
        if !self.adapts || rows < self.rows {
            return;
        }
        let per_second = rows as f64 / took.as_secs_f64().max(1e-3);
        let want = (per_second * SET_BATCH_SECONDS) as usize;
        self.rows = want
            .clamp(self.rows / 2, self.rows * 2)
            .clamp(SET_BATCH_MIN, SET_BATCH_MAX);
    }
}

/// How a batch of an operation's rows is applied ([`RowPath::set_based`]: a few statements per
/// batch with the rules checked in memory, or a savepoint per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowPath {
    /// `import_memberships`, or `bulk_add` (members by id): `batch::membership_rows`.
    Memberships { bulk_add: bool },
    /// `bulk_remove` or `delete_group`, audited with this cause: `batch::removal_rows`.
    Removals(Cause),
    /// `import_clients`: `client_rows`.
    Clients,
    /// `import_time_entries`: `time_rows`.
    TimeEntries,
    /// `import_groups`: row by row under savepoints (`formats::group_row`).
    Groups,
    /// `import_program_accounts`: row by row under savepoints (`formats::program_account_row`).
    ProgramAccounts,
}

impl RowPath {
    fn of(operation: &str) -> Result<RowPath> {
        Ok(match operation {
            "import_memberships" => RowPath::Memberships { bulk_add: false },
            "bulk_add" => RowPath::Memberships { bulk_add: true },
            "bulk_remove" => RowPath::Removals(Cause::Bulk),
            "delete_group" => RowPath::Removals(Cause::GroupDeleted),
            "import_clients" => RowPath::Clients,
            "import_time_entries" => RowPath::TimeEntries,
            "import_groups" => RowPath::Groups,
            "import_program_accounts" => RowPath::ProgramAccounts,
            other => return Err(Error::internal(format!("unknown operation {other}"))),
        })
    }

    /// Whether a batch is a few statements (its size then adapts to how long it takes) rather
    /// than a savepoint per row.
    fn set_based(self) -> bool {
        !matches!(self, RowPath::Groups | RowPath::ProgramAccounts)
    }

    /// The columns of the rows' input.
    fn columns(self) -> &'static [&'static str] {
        match self {
            RowPath::Memberships { bulk_add: false } => formats::MEMBERSHIP_COLUMNS,
            RowPath::Memberships { bulk_add: true } | RowPath::Removals(_) => crate::process_requests::MEMBER_COLUMNS,
            RowPath::Clients => formats::CLIENT_COLUMNS,
            RowPath::TimeEntries => formats::TIME_ENTRY_COLUMNS,
            RowPath::Groups => formats::GROUP_COLUMNS,
            RowPath::ProgramAccounts => formats::PROGRAM_ACCOUNT_COLUMNS,
        }
    }
}

/// A request as the worker runs it: who for, how, and how its rows read.
struct Job {
    req: Request,
    path: RowPath,
    /// How long each claim and renewal holds.
    lease_ms: i64,
    actor: Actor,
    header: formats::Header,
}

/// How a batch ended.
enum Batch {
    /// Committed; the position moved to this row.
    Applied(i64),
    /// The worker no longer holds the request (cancelled, or taken over): nothing was written.
    Lost,
}

/// The per-row path (`import_groups`): each row through the single-edit use case under a
/// savepoint.
async fn group_rows(
    tx: &mut clientele_store::Tx,
    ctx: &formats::Ctx<'_>,
    rows: Vec<(i64, Result<formats::Fields>)>,
    changes: &mut Vec<Change>,
) -> Result<Vec<(i64, RowOutcome)>> {
    let mut outcomes = Vec::with_capacity(rows.len());
    for (row_number, fields) in rows {
        let outcome = under_savepoint(tx, changes, async |tx, changes| {
            formats::group_row(tx, ctx, &fields?, changes).await
        })
        .await?;
        outcomes.push((row_number, outcome));
    }
    Ok(outcomes)
}

/// A batch of membership rows (`batch::membership_rows`). When the organisation requires a group
/// of clients to start with a member, a group the file creates must get a client from an accepted
/// row of the same batch; if one does not, the batch is undone and run again refusing to create
/// it, so no empty group is left behind and every row naming it says why.
async fn membership_rows(
    tx: &mut clientele_store::Tx,
    ctx: &formats::Ctx<'_>,
    bulk_add: bool,
    rows: Vec<(i64, Result<formats::Fields>)>,
    changes: &mut Vec<Change>,
    phases: &mut Phases,
) -> Result<Vec<(i64, RowOutcome)>> {
    let mut first = batch::FirstMembers::default();
    // Only a batch that may create a group pays for the savepoint and the copy of its rows.
    let creates = rows
        .iter()
        .any(|(_, fields)| fields.as_ref().is_ok_and(|v| !v.get("new_group_kind").is_empty()));
    if bulk_add || !ctx.org.policies.require_first_member || !creates {
        return batch::membership_rows(tx, ctx, bulk_add, rows, changes, phases, &mut first).await;
    }
    let mark = changes.len();
    // Each pass refuses at least one more name, so this ends.
    loop {
        store::execute(&mut tx.conn(), "SAVEPOINT first_members").await?;
        first.created.clear();
        let outcomes = batch::membership_rows(tx, ctx, false, rows.clone(), changes, phases, &mut first).await?;
        let filled: std::collections::HashSet<i64> = outcomes
            .iter()
            .filter(|(_, o)| o.outcome == "added" && o.client_id.is_some())
            .filter_map(|(_, o)| o.group_id)
            .collect();
        let empty: Vec<String> = first
            .created
            .iter()
            .filter(|(_, g)| !filled.contains(&g.0))
            .map(|(key, _)| key.clone())
            .collect();
        if empty.is_empty() {
            store::execute(&mut tx.conn(), "RELEASE SAVEPOINT first_members").await?;
            return Ok(outcomes);
        }
        store::execute(&mut tx.conn(), "ROLLBACK TO SAVEPOINT first_members").await?;
        store::execute(&mut tx.conn(), "RELEASE SAVEPOINT first_members").await?;
        changes.truncate(mark);
        for key in empty {
            first.refused.insert(
                key,
                Error::invalid(
                    "group",
                    "select at least one available client: no row of the file adds a client to this new group, \
                     and groups of clients are created with at least one member here",
                ),
            );
        }
    }
}

/// The per-row path of `import_program_accounts`, as `group_rows`. Program accounts change no
/// access, so no row pushes a change.
async fn program_account_rows(
    tx: &mut clientele_store::Tx,
    ctx: &formats::Ctx<'_>,
    rows: Vec<(i64, Result<formats::Fields>)>,
) -> Result<Vec<(i64, RowOutcome)>> {
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut no_changes = Vec::new();
    for (row_number, fields) in rows {
        let outcome = under_savepoint(tx, &mut no_changes, async |tx, _| {
            formats::program_account_row(tx, ctx, &fields?).await
        })
        .await?;
        outcomes.push((row_number, outcome));
    }
    Ok(outcomes)
}

/// How long a worker waits before trying a batch again while the database is failing: 250 ms,
/// doubling up to 5 s. Waiting uses no attempt: an outage is not the request's fault, and the
/// lease (renewed by the next batch that commits) decides whether this worker still owns it.
#[derive(Debug, Default)]
struct Backoff {
    waits: u32,
}

impl Backoff {
    async fn wait(&mut self, request: i64, error: &Error, stop: &CancellationToken) {
        let ms = (250u64 << self.waits.min(5)).min(5_000);
        self.waits += 1;
        tracing::warn!(process_request = request, error = %error, wait_ms = ms, "the database failed a batch; trying again");
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(ms)) => {}
            () = stop.cancelled() => {}
        }
    }
}

impl App {
    /// Runs a pending request now, while its caller waits (small imports answer with their
    /// report). Returns false when a worker took it first.
    pub async fn run_now(&self, id: i64) -> Result<bool> {
        let owner = worker_name("inline");
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let Some(req) = store::claim_one(&mut tx.conn(), id, &owner, now, now + LEASE_MS).await? else {
            return Ok(false);
        };
        audit_state(&mut tx.conn(), &req, None, "process_request.started").await?;
        tx.commit().await?;
        self.run_claimed(&owner, req, LEASE_MS, &CancellationToken::new()).await;
        Ok(true)
    }

    /// Claims one request (a pending one, or a running one whose worker's lease expired) and runs
    /// it to its end. Returns whether there was one.
    pub async fn work_once(&self, owner: &str, lease_ms: i64) -> Result<bool> {
        self.work_once_until(owner, lease_ms, &CancellationToken::new()).await
    }

    /// [`App::work_once`], handing the request back between two batches once `stop` is cancelled.
    async fn work_once_until(&self, owner: &str, lease_ms: i64, stop: &CancellationToken) -> Result<bool> {
        let now = self.clock.now();
        {
            let mut conn = self.db.read().await?;
            if !store::claimable(&mut conn.conn(), now).await? {
                return Ok(false);
            }
        }
        let mut tx = self.begin().await?;
        let Some(req) = store::claim(&mut tx.conn(), owner, now, now + lease_ms).await? else {
            return Ok(false);
        };
        let action = if req.attempts > 1 || req.position > 0 {
            "process_request.resumed"
        } else {
            "process_request.started"
        };
        audit_state(&mut tx.conn(), &req, None, action).await?;
        tx.commit().await?;
        self.run_claimed(owner, req, lease_ms, stop).await;
        Ok(true)
    }

    /// The worker loop of `serve` and `clientele worker`: takes requests one after another and
    /// looks for new ones every `idle` when there are none. A worker that dies keeps its request
    /// for `lease_ms` at most; then another takes it over. Once `stop` is cancelled the worker
    /// hands its request back after the batch in progress, so another process resumes it at once.
    pub async fn run_worker(&self, owner: &str, idle: std::time::Duration, lease_ms: i64, stop: CancellationToken) {
        while !stop.is_cancelled() {
            match self.work_once_until(owner, lease_ms, &stop).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "claiming a process request failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                () = stop.cancelled() => {}
            }
        }
    }

    /// Runs a claimed request; a failure gives it back to the queue until it has had
    /// [`MAX_ATTEMPTS`], then marks it failed. Failures of the database (an outage, a deadlock)
    /// are not the request's: the worker waits and goes on without using an attempt.
    async fn run_claimed(&self, owner: &str, req: Request, lease_ms: i64, stop: &CancellationToken) {
        let id = req.id;
        let attempts = req.attempts;
        if let Err(e) = self.run(owner, req, lease_ms, stop).await {
            if e.is_transient() {
                // The database failed before a batch could start (loading the job, handing it
                // back): not the request's fault, and no attempt of it. Back to the queue.
                tracing::warn!(process_request = id, error = %e, "the database failed a process request; handing it back");
                let back = async {
                    let mut tx = self.db.begin().await?;
                    store::hand_back(&mut tx.conn(), id, owner).await?;
                    tx.commit().await.map_err(Error::from)
                };
                if let Err(e) = back.await {
                    tracing::warn!(process_request = id, error = %e, "could not hand the request back; its lease runs out instead");
                }
                return;
            }
            tracing::warn!(process_request = id, error = %e, "process request failed");
            let end = async {
                let mut tx = self.begin().await?;
                let given_up = attempts >= MAX_ATTEMPTS || e.code != ErrorCode::Internal;
                let message = format!("attempt {attempts}: {}", reason(&e));
                let ended = if given_up {
                    store::finish(&mut tx.conn(), id, owner, "failed", Some(&message), self.clock.now()).await?
                } else {
                    store::release(&mut tx.conn(), id, owner, &message).await?
                };
                if ended && given_up {
                    let mut conn = tx.conn();
                    let r = store::get_any(&mut conn, id).await?;
                    audit_state(&mut conn, &r, None, "process_request.failed").await?;
                }
                tx.commit().await.map_err(Error::from)
            };
            if let Err(e) = end.await {
                tracing::warn!(process_request = id, error = %e, "recording a process request's failure failed");
            }
        }
    }

    async fn run(&self, owner: &str, req: Request, lease_ms: i64, stop: &CancellationToken) -> Result<()> {
        let job = self.job(req, lease_ms).await?;
        let mut position = job.req.position;
        let mut size = BatchSize::new(job.path);
        let mut outage = Backoff::default();
        loop {
            if stop.is_cancelled() {
                return self.hand_back(owner, &job).await;
            }
            match self.next_batch(owner, &job, position, &mut size).await {
                Ok(Some(Batch::Applied(p))) => {
                    position = p;
                    outage = Backoff::default();
                }
                Ok(Some(Batch::Lost)) => return Ok(()),
                Ok(None) => break,
                Err(e) if e.is_transient() => outage.wait(job.req.id, &e, stop).await,
                Err(e) => return Err(e),
            }
        }
        loop {
            match self.complete(owner, &job).await {
                Err(e) if e.is_transient() && !stop.is_cancelled() => outage.wait(job.req.id, &e, stop).await,
                done => return done,
            }
        }
    }

    /// Reads and applies the rows after `position`; `None` when there are none left.
    async fn next_batch(&self, owner: &str, job: &Job, position: i64, size: &mut BatchSize) -> Result<Option<Batch>> {
        let started = std::time::Instant::now();
        let mut phases = Phases::start();
        let rows = {
            let mut conn = self.db.read().await?;
            store::rows(
                &mut conn.conn(),
                job.req.id,
                position,
                job.req.total_rows,
                size.rows as i64,
            )
            .await?
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let taken = rows.len();
        phases.mark("read");
        let batch = self.apply_batch(owner, job, rows, phases).await?;
        size.after(taken, started.elapsed());
        Ok(Some(batch))
    }

    /// A stopping worker gives its request back: pending again, no lease, and the claim it made
    /// not counted as an attempt, so another worker resumes it at once after the last batch that
    /// committed.
    async fn hand_back(&self, owner: &str, job: &Job) -> Result<()> {
        let mut tx = self.begin().await?;
        if store::hand_back(&mut tx.conn(), job.req.id, owner).await? {
            tracing::info!(
                process_request = job.req.id,
                "handed the process request back: this worker is stopping"
            );
        }
        Ok(tx.commit().await?)
    }

    /// The last step of a request: the replace phase if it has one, deleting the group of a
    /// `delete_group` request, and `completed`.
    async fn complete(&self, owner: &str, job: &Job) -> Result<()> {
        if job.req.replace_members
            && !job.req.replaced
            && let Batch::Lost = self.replace_members(owner, job).await?
        {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let mut changes = Vec::new();
        if job.req.operation == "delete_group" && job.req.mode == "apply" {
            // The members are detached; now the group goes, in the transaction that completes the
            // request. A refusal (protected meanwhile) fails the request with the reason.
            let group = job
                .req
                .group_id
                .ok_or_else(|| Error::internal("a delete_group request without a group"))?;
            crate::group_deletion::finish_deletion(
                &mut tx,
                job.actor.organization_id,
                &job.actor,
                GroupId(group),
                &mut changes,
                self.clock.now(),
            )
            .await?;
        }
        if store::finish(&mut tx.conn(), job.req.id, owner, "completed", None, self.clock.now()).await? {
            let mut conn = tx.conn();
            let r = store::get_any(&mut conn, job.req.id).await?;
            audit_state(&mut conn, &r, None, "process_request.completed").await?;
        } else {
            // Cancelled or taken over: the group stays.
            return Ok(());
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await
    }

    async fn job(&self, req: Request, lease_ms: i64) -> Result<Job> {
        let mut conn = self.db.read().await?;
        let org = OrganizationId(req.organization_id);
        let staff = req
            .initiator_id
            .ok_or_else(|| Error::internal("a process request without an initiator"))?;
        // The request runs as the admin who started it.
        let actor = Actor {
            staff_id: StaffId(staff),
            organization_id: org,
            role: StaffRole::Admin,
            request_id: Some(format!("process-request-{}", req.id)),
        };
        let header: Vec<String> = store::rows(&mut conn.conn(), req.id, -1, 0, 1)
            .await?
            .pop()
            .map(|r| serde_json::from_str(&r.fields).unwrap_or_default())
            .unwrap_or_default();
        let path = RowPath::of(&req.operation)?;
        let header = formats::Header::new(path.columns(), &header)?;
        Ok(Job {
            req,
            path,
            lease_ms,
            actor,
            header,
        })
    }

    /// Applies one batch of rows in one transaction, each row under a savepoint so a refused row
    /// leaves nothing behind; records their outcomes and the new position in the same transaction.
    async fn apply_batch(&self, owner: &str, job: &Job, rows: Vec<store::Row>, mut phases: Phases) -> Result<Batch> {
        let req = &job.req;
        let validate = req.mode == "validate";
        let last = rows.last().map_or(req.position, |r| r.row_number);
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), OrganizationId(req.organization_id), true).await?;
        let ctx = formats::Ctx {
            org: &org,
            actor: &job.actor,
            group: req.group_id.map(GroupId),
            now: self.clock.now(),
        };
        let mut changes: Vec<Change> = Vec::new();
        let rows: Vec<(i64, Result<formats::Fields>)> = rows
            .into_iter()
            .map(|row| {
                let raw: Vec<String> = serde_json::from_str(&row.fields).unwrap_or_default();
                (row.row_number, job.header.fields(raw))
            })
            .collect();
        let outcomes = match job.path {
            RowPath::Memberships { bulk_add } => {
                membership_rows(&mut tx, &ctx, bulk_add, rows, &mut changes, &mut phases).await?
            }
            RowPath::Removals(cause) => {
                batch::removal_rows(&mut tx, &ctx, cause, rows, &mut changes, &mut phases).await?
            }
            RowPath::Clients => client_rows::client_rows(&mut tx, &ctx, rows, &mut changes, &mut phases).await?,
            RowPath::TimeEntries => time_rows::time_entry_rows(&mut tx, &ctx, rows).await?,
            RowPath::Groups => group_rows(&mut tx, &ctx, rows, &mut changes).await?,
            RowPath::ProgramAccounts => program_account_rows(&mut tx, &ctx, rows).await?,
        };
        phases.mark("rows");
        if validate {
            // A dry run keeps the outcomes and nothing else.
            drop(tx);
            changes.clear();
            tx = self.begin().await?;
        }
        let failed = outcomes.iter().filter(|(_, o)| o.outcome == "rejected").count() as i64;
        store::record_outcomes(&mut tx.conn(), req.id, &outcomes).await?;
        phases.mark("outcomes");
        let lease = self.clock.now() + job.lease_ms;
        if !store::advance(
            &mut tx.conn(),
            req.id,
            owner,
            last,
            outcomes.len() as i64,
            failed,
            lease,
        )
        .await?
        {
            return Ok(Batch::Lost);
        }
        let recorded = access::record(&mut tx.conn(), &changes).await?;
        phases.mark("access_changes");
        self.commit_recorded(tx, recorded, &changes).await?;
        phases.mark("commit and index");
        tracing::debug!(process_request = req.id, rows = outcomes.len(), last, timings = %phases, "batch applied");
        // Its rate is the workers' rows per second.
        metrics::counter!("process_request_rows_total", "operation" => req.operation.clone())
            .increment(outcomes.len() as u64);
        Ok(Batch::Applied(last))
    }

    /// The second phase of a replace: in each group the file names, removes the members the file
    /// does not list (as added or already a member). Its removals join the report as made-up rows.
    async fn replace_members(&self, owner: &str, job: &Job) -> Result<Batch> {
        use std::collections::{BTreeMap, BTreeSet};
        let req = &job.req;
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), OrganizationId(req.organization_id), true).await?;
        let mut keep: BTreeMap<i64, (BTreeSet<i64>, BTreeSet<i64>)> = BTreeMap::new();
        for (group, client, child, outcome) in store::kept_members(&mut tx.conn(), req.id).await? {
            let entry = keep.entry(group).or_default();
            if matches!(outcome.as_deref(), Some("added" | "already_member")) {
                entry.0.extend(client);
                entry.1.extend(child);
            }
        }
        let mut changes = Vec::new();
        let mut made_up: Vec<(Vec<String>, RowOutcome)> = Vec::new();
        for (group, (clients, children)) in &keep {
            let Ok(target) = group_store::get(&mut tx.conn(), org.id, GroupId(*group))
                .await
                .map_err(Error::from)
            else {
                continue;
            };
            let (current_clients, current_children) = store::member_ids(&mut tx.conn(), *group).await?;
            let gone_clients = current_clients.into_iter().filter(|c| !clients.contains(c));
            let gone_children = current_children.into_iter().filter(|c| !children.contains(c));
            let gone_clients: Vec<ClientId> = gone_clients.map(ClientId).collect();
            let were_members = batch::remove_clients(
                &mut tx,
                &job.actor,
                target.id,
                Cause::Import,
                &gone_clients,
                &mut changes,
                self.clock.now(),
            )
            .await?;
            let ids: Vec<i64> = gone_clients.iter().map(|c| c.0).collect();
            let references: std::collections::HashMap<i64, String> =
                client_store::member_facts(&mut tx.conn(), org.id, &ids, &[])
                    .await?
                    .into_iter()
                    .filter_map(|f| Some((f.id, f.external_ref?)))
                    .collect();
            for client in gone_clients {
                let outcome = if were_members.contains(&client) {
                    Outcome::Removed
                } else {
                    // Taken out by someone else since it was read (PostgreSQL).
                    Outcome::NotMember
                };
                let values = [
                    target.id.0.to_string(),
                    target.name.clone(),
                    client.0.to_string(),
                    references.get(&client.0).cloned().unwrap_or_default(),
                    String::new(),
                ];
                made_up.push((
                    job.header.to_file_order(&values),
                    formats::member_outcome(target.id, MemberRef::Client(client), outcome),
                ));
            }
            // Nested groups are few: each through the single-edit removal.
            for child in gone_children {
                let item = MemberRef::Group(GroupId(child));
                let outcome = crate::members::remove_one(
                    &mut tx,
                    org.id,
                    &job.actor,
                    target.id,
                    item,
                    Cause::Import,
                    &mut changes,
                    self.clock.now(),
                )
                .await?;
                let name = group_store::get(&mut tx.conn(), org.id, GroupId(child))
                    .await
                    .map_err(Error::from)
                    .map(|g| g.name)
                    .unwrap_or_default();
                let values = [
                    target.id.0.to_string(),
                    target.name.clone(),
                    String::new(),
                    String::new(),
                    name,
                ];
                made_up.push((
                    job.header.to_file_order(&values),
                    formats::member_outcome(target.id, item, outcome),
                ));
            }
        }
        if req.mode == "validate" {
            drop(tx);
            changes.clear();
            tx = self.begin().await?;
        }
        let mut number = store::last_row_number(&mut tx.conn(), req.id).await?;
        for (fields, outcome) in &made_up {
            number += 1;
            let fields = serde_json::to_string(fields).unwrap_or_default();
            store::append_outcome(&mut tx.conn(), req.id, number, &fields, outcome).await?;
        }
        if !store::mark_replaced(&mut tx.conn(), req.id, owner).await? {
            return Ok(Batch::Lost);
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(Batch::Applied(req.total_rows))
    }
}

#[cfg(test)]
mod batch_size_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn set_based_batches_grow_while_they_are_quick_and_shrink_when_they_are_slow() {
        let mut size = BatchSize::new(RowPath::Memberships { bulk_add: false });
        assert_eq!(size.rows, SET_BATCH);
        // 10,000 rows in 0.2 s: 75,000 would take 1.5 s, but a batch at most doubles.
        size.after(10_000, Duration::from_millis(200));
        assert_eq!(size.rows, 20_000);
        size.after(20_000, Duration::from_millis(200));
        size.after(40_000, Duration::from_millis(400));
        assert_eq!(size.rows, SET_BATCH_MAX);
        // A table grown past the cache: the same batch takes 30 s; it halves at most at a time.
        size.after(SET_BATCH_MAX, Duration::from_secs(30));
        assert_eq!(size.rows, SET_BATCH_MAX / 2);
        size.after(SET_BATCH_MAX / 2, Duration::from_secs(15));
        assert_eq!(size.rows, SET_BATCH_MAX / 4);
        // The last, shorter batch of a request says nothing about the rate.
        size.after(10, Duration::from_secs(5));
        assert_eq!(size.rows, SET_BATCH_MAX / 4);
        for _ in 0..10 {
            size.after(size.rows, Duration::from_secs(60));
        }
        assert_eq!(size.rows, SET_BATCH_MIN);
    }

    #[test]
    fn per_row_batches_keep_their_size() {
        let mut size = BatchSize::new(RowPath::Groups);
        size.after(BATCH, Duration::from_millis(1));
        assert_eq!(size.rows, BATCH);
    }
}
