//! Bulk work: CSV imports and exports, large bulk membership changes, and the durable background
//! "process requests" that carry them out.
//!
//! A request's input is stored row by row when it is accepted (`receive_import`, streaming), then
//! a worker claims the request (a lease of [`LEASE_MS`], renewed with every batch) and applies
//! [`BATCH`] rows per transaction. The rows' writes, their outcomes, the access changes and the new
//! position commit together, and only while the worker still holds the lease, so a crash or a
//! `kill -9` loses nothing and never applies a row twice: whoever claims the request next (after
//! the lease expires) resumes after the last committed row.
//!
//! `validate` runs the very same code and rolls each batch's writes back, keeping only the
//! outcomes; rows of one batch see each other's effects, rows of later batches do not see those of
//! earlier ones (a dry run of a file that creates a group in row 5 and fills it in row 5000 reports
//! the later rows against the database as it is).

use std::io::Read;

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::staff::StaffRole;
use clientele_domain::{ClientId, Error, ErrorCode, GroupId, OrganizationId, Result, StaffId, now_millis};
use clientele_store::process_requests::{self as store, InputRow, NewRequest, Request, RequestFilter, RowOutcome};
use clientele_store::{Conn, clients as client_store, groups as group_store, organizations};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::members::{MemberOutcome, MemberRef, Outcome};
use crate::paging::Cursor;
use crate::{Actor, Admin, App, access, audit, st};

mod batch;
pub mod cell;
mod client_rows;
pub mod export;
pub mod formats;
pub mod read;
pub mod summary;
mod time_rows;
mod validated;

pub use formats::{Format, guide};

/// Rows applied per transaction by the per-row path (groups).
pub const BATCH: usize = 1000;
/// Rows applied per transaction by the set-based paths (clients, memberships, bulk additions and
/// removals, group deletions, time entries): the first batch's, and the bounds within which [`BatchSize`] moves.
pub const SET_BATCH: usize = 10_000;
const SET_BATCH_MIN: usize = 2_000;
const SET_BATCH_MAX: usize = 50_000;
/// What a set-based batch aims at: long enough that its commit's page writes are shared by many
/// rows, short enough that SQLite's one write lock is soon free for others.
const SET_BATCH_SECONDS: f64 = 1.5;
/// Rows stored per transaction while an upload is received.
pub const RECEIVE_BATCH: usize = 20_000;

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
            RowPath::Memberships { bulk_add: true } | RowPath::Removals(_) => formats::BULK_COLUMNS,
            RowPath::Clients => formats::CLIENT_COLUMNS,
            RowPath::TimeEntries => formats::TIME_ENTRY_COLUMNS,
            RowPath::Groups => formats::GROUP_COLUMNS,
            RowPath::ProgramAccounts => formats::PROGRAM_ACCOUNT_COLUMNS,
        }
    }
}
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

/// How long a claim holds without being renewed; an expired one is taken over.
pub const LEASE_MS: i64 = 30_000;
/// Attempts before a request that keeps failing is given up.
pub const MAX_ATTEMPTS: i32 = 5;
/// Requests of at most this many rows may be run while their caller waits.
pub const SMALL: i64 = 1000;

/// Dry run or the real thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Validate,
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Validate => "validate",
            Mode::Apply => "apply",
        }
    }
}

/// A durable background job and how far it got.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProcessRequest {
    pub id: i64,
    /// `import_clients`, `import_groups`, `import_memberships`, `import_time_entries`, `bulk_add`,
    /// `bulk_remove` or `delete_group`.
    pub operation: String,
    /// `validate` (a dry run) or `apply`.
    pub mode: String,
    /// Memberships: each named group ends with exactly the file's members.
    pub replace: bool,
    /// The group of a bulk add or remove.
    pub group_id: Option<GroupId>,
    /// Who asked for it.
    pub initiator: Option<StaffId>,
    /// The request whose failed rows this one retries.
    pub retry_of: Option<i64>,
    /// `receiving`, `pending`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<time::OffsetDateTime>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<time::OffsetDateTime>,
    /// Rows in the input.
    pub total: i64,
    /// Rows processed (accepted or refused).
    pub done: i64,
    /// Rows refused.
    pub failed: i64,
    /// Percent of rows processed.
    pub progress: u8,
    /// Claims so far (more than one after a worker died or a failure passed).
    pub attempts: i32,
    /// The worker holding the request while it runs.
    pub lease_owner: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub lease_expires_at: Option<time::OffsetDateTime>,
    /// Why the request failed, or the last failure it recovered from.
    pub error: Option<String>,
    /// The uploaded rows were purged after the retention period: the outcomes and the report
    /// stay, the rows' fields do not (see `serve --input-retention-days`).
    pub input_purged: bool,
}

impl From<Request> for ProcessRequest {
    fn from(r: Request) -> Self {
        let at = |ms: Option<i64>| ms.map(clientele_domain::from_millis);
        let progress = if r.total_rows == 0 {
            if matches!(r.status.as_str(), "completed") {
                100
            } else {
                0
            }
        } else {
            ((r.done_rows * 100) / r.total_rows).clamp(0, 100) as u8
        };
        ProcessRequest {
            id: r.id,
            operation: r.operation,
            mode: r.mode,
            replace: r.replace_members,
            group_id: r.group_id.map(GroupId),
            initiator: r.initiator_id.map(StaffId),
            retry_of: r.retry_of,
            status: r.status,
            created_at: clientele_domain::from_millis(r.created_at),
            started_at: at(r.started_at),
            finished_at: at(r.finished_at),
            total: r.total_rows,
            done: r.done_rows,
            failed: r.failed_rows,
            progress,
            attempts: r.attempts,
            lease_owner: r.lease_owner,
            lease_expires_at: at(r.lease_expires_at),
            error: r.error,
            input_purged: r.input_purged_at.is_some(),
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// The row's number among the data rows, from 1.
    pub row: i64,
    /// The line of the file where the row starts (0 for rows the request made up: the removals of
    /// a replace).
    pub line: i64,
    /// `created`, `updated`, `unchanged`, `added`, `already_member`, `removed`, `not_member` or
    /// `rejected`.
    pub outcome: String,
    /// Why the row was rejected.
    pub reason: Option<String>,
}

/// What an import answered: the request and, when it ran while the caller waited, every row's
/// outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportAnswer {
    pub request: ProcessRequest,
    /// Present when the request finished before the answer.
    pub rows: Option<Vec<ReportRow>>,
    /// Present when the request finished before the answer: "1 group created, 55 memberships
    /// added".
    pub summary: Option<summary::Summary>,
}

/// A bulk add or remove: small ones answer at once, large ones become a process request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkAnswer {
    /// Per-item outcomes when done at once.
    pub results: Option<Vec<MemberOutcome>>,
    /// The process request when queued.
    pub request: Option<ProcessRequest>,
}

/// Filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct ProcessRequestFilter {
    pub status: Option<String>,
    pub operation: Option<String>,
    pub group: Option<GroupId>,
    pub initiator: Option<StaffId>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
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

/// Runs one row through a single-edit use case under a savepoint, so that a refused row leaves
/// nothing behind: its writes rolled back, its access changes dropped, and the refusal reported
/// as the row's outcome. An internal error is not the row's fault and stops the batch.
pub(crate) async fn under_savepoint(
    tx: &mut clientele_store::Tx,
    changes: &mut Vec<Change>,
    row: impl AsyncFnOnce(&mut clientele_store::Tx, &mut Vec<Change>) -> Result<RowOutcome>,
) -> Result<RowOutcome> {
    let mark = changes.len();
    st(store::execute(&mut tx.conn(), "SAVEPOINT process_row").await)?;
    match row(tx, changes).await {
        Ok(outcome) => {
            st(store::execute(&mut tx.conn(), "RELEASE SAVEPOINT process_row").await)?;
            Ok(outcome)
        }
        Err(e) if e.code == ErrorCode::Internal => Err(e),
        Err(e) => {
            st(store::execute(&mut tx.conn(), "ROLLBACK TO SAVEPOINT process_row").await)?;
            st(store::execute(&mut tx.conn(), "RELEASE SAVEPOINT process_row").await)?;
            changes.truncate(mark);
            Ok(rejected(&e))
        }
    }
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
    if bulk_add || !ctx.org.policies.require_first_member {
        return batch::membership_rows(tx, ctx, bulk_add, rows, changes, phases, &mut first).await;
    }
    let mark = changes.len();
    // Each pass refuses at least one more name, so this ends.
    loop {
        st(store::execute(&mut tx.conn(), "SAVEPOINT first_members").await)?;
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
            st(store::execute(&mut tx.conn(), "RELEASE SAVEPOINT first_members").await)?;
            return Ok(outcomes);
        }
        st(store::execute(&mut tx.conn(), "ROLLBACK TO SAVEPOINT first_members").await)?;
        st(store::execute(&mut tx.conn(), "RELEASE SAVEPOINT first_members").await)?;
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

/// Why a row or a request failed, as stored: control characters a hostile file put in a message
/// (a column's name, a value quoted back) are shown as `U+0000`, so the reason can always be
/// stored (PostgreSQL refuses NUL) and read.
fn reason(e: &Error) -> String {
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

fn rejected(e: &Error) -> RowOutcome {
    RowOutcome {
        outcome: "rejected",
        reason: Some(reason(e)),
        ..Default::default()
    }
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

/// A name for this worker in leases: process id and a random part.
pub fn worker_name(role: &str) -> String {
    format!("{role}-{}-{}", std::process::id(), &crate::auth::new_secret()[..8])
}

impl App {
    /// Stores an uploaded file as a new process request, reading it once, streaming, in a
    /// blocking thread. A file that cannot be read at all (not UTF-8, an unknown column) refuses
    /// the upload with the reason; the stored request is then `failed` with it.
    pub async fn receive_import(
        &self,
        admin: Admin<'_>,
        format: Format,
        mode: Mode,
        replace: bool,
        input: impl Read + Send + 'static,
    ) -> Result<ProcessRequest> {
        let actor = admin.actor();
        if replace && format != Format::Memberships {
            return Err(Error::invalid("replace", "applies to the memberships format only"));
        }
        let new = NewRequest {
            organization_id: actor.organization_id,
            operation: format.operation(),
            mode: mode.as_str(),
            replace_members: replace,
            group_id: None,
            initiator: Some(actor.staff_id),
            retry_of: None,
        };
        let id = self.new_request(&new).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<InputRow>>(4);
        let columns = format.columns();
        let reader = tokio::task::spawn_blocking(move || {
            let mut next = 0i64;
            read::read_rows(input, RECEIVE_BATCH, |rows| {
                if next == 0
                    && let Some(header) = rows.first()
                {
                    formats::Header::new(columns, &header.fields)?;
                }
                let batch = rows
                    .into_iter()
                    .map(|r| {
                        let row = InputRow {
                            row_number: next,
                            line: r.line,
                            fields: serde_json::to_string(&r.fields).unwrap_or_else(|_| "[]".into()),
                        };
                        next += 1;
                        row
                    })
                    .collect();
                tx.blocking_send(batch)
                    .map_err(|_| Error::internal("the upload stopped while its rows were stored"))
            })
        });
        let mut stored = Ok(());
        while let Some(batch) = rx.recv().await {
            if stored.is_ok() {
                stored = self.store_rows(id, batch).await;
            }
            if stored.is_err() {
                // Stops the reader at its next batch.
                rx.close();
            }
        }
        let read = reader
            .await
            .map_err(|e| Error::internal(format!("the CSV reader stopped: {e}")))?;
        let queued = match (read, stored) {
            (Ok(total), Ok(())) => self.queue(actor, id, total).await,
            (_, Err(e)) | (Err(e), _) => Err(e),
        };
        match queued {
            Ok(request) => Ok(request),
            // Unreadable, or a twin with the same Idempotency-Key was queued first: the rows
            // received stay, for the report, and the request ends with the reason.
            Err(e) => {
                let mut tx = st(self.db.begin().await)?;
                st(store::fail_receiving(&mut tx.conn(), id, &reason(&e), now_millis()).await)?;
                let failed = st(store::get_any(&mut tx.conn(), id).await)?;
                audit_state(&mut tx.conn(), &failed, Some(actor), "process_request.failed").await?;
                st(tx.commit().await)?;
                Err(e)
            }
        }
    }

    async fn new_request(&self, new: &NewRequest<'_>) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = st(store::insert(&mut tx.conn(), new, now_millis()).await)?;
        st(tx.commit().await)?;
        Ok(id)
    }

    async fn store_rows(&self, id: i64, rows: Vec<InputRow>) -> Result<()> {
        let mut tx = self.begin().await?;
        st(store::insert_rows(&mut tx.conn(), id, rows).await)?;
        st(tx.commit().await)
    }

    /// Every row is stored: the request becomes claimable, and the audit trail says so.
    async fn queue(&self, actor: &Actor, id: i64, total: i64) -> Result<ProcessRequest> {
        let mut tx = self.begin().await?;
        st(store::mark_pending(&mut tx.conn(), id, total).await)?;
        let req = st(store::get(&mut tx.conn(), actor.organization_id, id).await)?
            .ok_or_else(|| Error::not_found("process request"))?;
        audit_state(&mut tx.conn(), &req, Some(actor), "process_request.created").await?;
        st(tx.commit().await)?;
        Ok(req.into())
    }

    /// A large bulk add or remove becomes a process request over these members.
    pub async fn bulk_members(
        &self,
        actor: &Actor,
        group: GroupId,
        add: bool,
        items: &[MemberRef],
        if_match: Option<i64>,
    ) -> Result<BulkAnswer> {
        if items.len() as i64 <= SMALL {
            let results = if add {
                self.add_members(actor, group, items, Cause::Bulk, if_match).await?
            } else {
                self.remove_members(actor, group, items, Cause::Bulk, if_match).await?
            };
            return Ok(BulkAnswer {
                results: Some(results),
                request: None,
            });
        }
        let admin = actor.admin().map_err(|e| Error {
            detail: format!("more than {SMALL} members at once runs as a process request, which only admins start"),
            ..e
        })?;
        {
            let mut conn = st(self.db.read().await)?;
            let target = st(group_store::get(&mut conn.conn(), actor.organization_id, group).await)?;
            crate::check_version(if_match, target.version)?;
        }
        let request = self
            .queue_members(admin, if add { "bulk_add" } else { "bulk_remove" }, group, items)
            .await?;
        Ok(BulkAnswer {
            results: None,
            request: Some(request),
        })
    }

    /// The process request that deletes a large group: its current members as rows to detach,
    /// then the group itself (`groups::finish_deletion`).
    pub(crate) async fn queue_group_deletion(
        &self,
        admin: Admin<'_>,
        group: &clientele_domain::entities::ClientGroup,
    ) -> Result<ProcessRequest> {
        let (clients, children) = {
            let mut conn = st(self.db.read().await)?;
            st(store::member_ids(&mut conn.conn(), group.id.0).await)?
        };
        let items: Vec<MemberRef> = clients
            .into_iter()
            .map(|c| MemberRef::Client(ClientId(c)))
            .chain(children.into_iter().map(|g| MemberRef::Group(GroupId(g))))
            .collect();
        self.queue_members(admin, "delete_group", group.id, &items).await
    }

    /// Stores a process request over members of one group (`member_type`, `member_id` rows).
    async fn queue_members(
        &self,
        admin: Admin<'_>,
        operation: &'static str,
        group: GroupId,
        items: &[MemberRef],
    ) -> Result<ProcessRequest> {
        let actor = admin.actor();
        let new = NewRequest {
            organization_id: actor.organization_id,
            operation,
            mode: "apply",
            replace_members: false,
            group_id: Some(group.0),
            initiator: Some(actor.staff_id),
            retry_of: None,
        };
        let id = self.new_request(&new).await?;
        let header = serde_json::to_string(formats::BULK_COLUMNS).unwrap_or_default();
        let mut rows = vec![InputRow {
            row_number: 0,
            line: 1,
            fields: header,
        }];
        for (i, item) in items.iter().enumerate() {
            let (kind, member) = match item {
                MemberRef::Client(c) => ("client", c.0),
                MemberRef::Group(g) => ("group", g.0),
            };
            rows.push(InputRow {
                row_number: i as i64 + 1,
                line: i as i64 + 2,
                fields: serde_json::to_string(&[kind.to_string(), member.to_string()]).unwrap_or_default(),
            });
            if rows.len() >= RECEIVE_BATCH {
                self.store_rows(id, std::mem::take(&mut rows)).await?;
            }
        }
        if !rows.is_empty() {
            self.store_rows(id, rows).await?;
        }
        self.queue(actor, id, items.len() as i64).await
    }

    pub async fn process_request(&self, actor: &Actor, id: i64) -> Result<ProcessRequest> {
        actor.admin()?;
        let mut conn = st(self.db.read().await)?;
        st(store::get(&mut conn.conn(), actor.organization_id, id).await)?
            .map(Into::into)
            .ok_or_else(|| Error::not_found("process request"))
    }

    /// The organisation's process requests, newest first (or oldest first), with the total.
    pub async fn process_requests(
        &self,
        actor: &Actor,
        filter: &ProcessRequestFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<crate::access::CountedPage<ProcessRequest>> {
        actor.admin()?;
        let limit = crate::paging::limit(limit)?;
        let position = crate::paging::Position::decode(cursor)?;
        let store_filter = RequestFilter {
            status: filter.status.clone(),
            operation: filter.operation.clone(),
            group: filter.group.map(|g| g.0),
            initiator: filter.initiator.map(|s| s.0),
        };
        let mut conn = st(self.db.read().await)?;
        let rows = st(store::list(
            &mut conn.conn(),
            actor.organization_id,
            &store_filter,
            position.cursor.as_ref().map(|c| c.id),
            filter.oldest_first != position.backward,
            limit + 1,
        )
        .await)?;
        let total = st(store::count(&mut conn.conn(), actor.organization_id, &store_filter).await)?;
        let items: Vec<ProcessRequest> = rows.into_iter().map(ProcessRequest::from).collect();
        let page = crate::paging::directed_page(items, limit, &position, |r| Cursor {
            key: String::new(),
            id: r.id,
        });
        Ok(crate::access::CountedPage {
            items: page.items,
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
            total: total as u64,
        })
    }

    /// Empties the uploaded rows of requests that ended more than `retention` ago, one request per
    /// transaction; returns how many requests were purged. Their counts, outcomes and reasons
    /// stay.
    pub async fn purge_old_inputs(&self, retention: std::time::Duration) -> Result<usize> {
        let before = now_millis() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let ids = {
            let mut conn = st(self.db.read().await)?;
            st(store::ended_with_input(&mut conn.conn(), before, 100).await)?
        };
        for &id in &ids {
            let mut tx = st(self.db.begin().await)?;
            let rows = st(store::purge_input(&mut tx.conn(), id, now_millis()).await)?;
            st(tx.commit().await)?;
            tracing::info!(
                process_request = id,
                rows,
                "purged the uploaded rows of an ended process request"
            );
        }
        Ok(ids.len())
    }

    /// Cancels a request that has not finished; rows already applied stay applied.
    pub async fn cancel_process_request(&self, admin: Admin<'_>, id: i64) -> Result<ProcessRequest> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let req = st(store::get(&mut tx.conn(), actor.organization_id, id).await)?
            .ok_or_else(|| Error::not_found("process request"))?;
        if !st(store::cancel(&mut tx.conn(), actor.organization_id, id, now_millis()).await)? {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "process request {id} already ended ({}); only pending or running ones can be cancelled",
                    req.status
                ),
            ));
        }
        let after = st(store::get(&mut tx.conn(), actor.organization_id, id).await)?
            .ok_or_else(|| Error::not_found("process request"))?;
        audit_state(&mut tx.conn(), &after, Some(actor), "process_request.cancelled").await?;
        st(tx.commit().await)?;
        Ok(after.into())
    }

    /// A new request over what an ended one did not do: its rejected rows (after the data they
    /// needed was fixed) and, when it failed or was cancelled part-way, the rows it never reached,
    /// with their original line numbers.
    pub async fn retry_process_request(&self, admin: Admin<'_>, id: i64) -> Result<ProcessRequest> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let req = st(store::get(&mut tx.conn(), actor.organization_id, id).await)?
            .ok_or_else(|| Error::not_found("process request"))?;
        if !matches!(req.status.as_str(), "completed" | "failed" | "cancelled") {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("process request {id} is {}; retry it once it has ended", req.status),
            ));
        }
        if req.input_purged_at.is_some() {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "the uploaded rows of process request {id} were purged after the retention period; upload the file again"
                ),
            ));
        }
        let new = NewRequest {
            organization_id: actor.organization_id,
            operation: &req.operation,
            mode: &req.mode,
            // A retry only adds what was refused: removing members again would undo the rows
            // that were applied.
            replace_members: false,
            group_id: req.group_id,
            initiator: Some(actor.staff_id),
            retry_of: Some(id),
        };
        let new_id = st(store::insert(&mut tx.conn(), &new, now_millis()).await)?;
        st(store::copy_header(&mut tx.conn(), id, new_id).await)?;
        let total = st(store::copy_to_retry(&mut tx.conn(), id, new_id).await)? as i64;
        if total == 0 {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("process request {id} has no rejected or unprocessed rows to retry"),
            ));
        }
        st(store::mark_pending(&mut tx.conn(), new_id, total).await)?;
        let created = st(store::get(&mut tx.conn(), actor.organization_id, new_id).await)?
            .ok_or_else(|| Error::not_found("process request"))?;
        audit_state(&mut tx.conn(), &created, Some(actor), "process_request.created").await?;
        st(tx.commit().await)?;
        Ok(created.into())
    }

    /// Every row's outcome so far, in row order (at most `limit` rows after row `after`).
    pub async fn report_rows(&self, actor: &Actor, id: i64, after: i64, limit: i64) -> Result<Vec<ReportRow>> {
        let (_, rows) = self.report_page(actor, id, after, limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| ReportRow {
                row: r.row_number,
                line: r.line,
                outcome: r.outcome.unwrap_or_default(),
                reason: r.reason,
            })
            .collect())
    }

    /// The header of the request's input and a page of its rows that have an outcome.
    async fn report_page(
        &self,
        actor: &Actor,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<String>, Vec<store::Row>)> {
        actor.admin()?;
        let mut conn = st(self.db.read().await)?;
        st(store::get(&mut conn.conn(), actor.organization_id, id).await)?
            .ok_or_else(|| Error::not_found("process request"))?;
        let header = st(store::rows(&mut conn.conn(), id, -1, 0, 1).await)?
            .pop()
            .map(|r| serde_json::from_str(&r.fields).unwrap_or_default())
            .unwrap_or_default();
        let rows = st(store::rows(&mut conn.conn(), id, after.max(0), i64::MAX, limit).await)?
            .into_iter()
            .filter(|r| r.outcome.is_some())
            .collect();
        Ok((header, rows))
    }

    /// The report as CSV: `row,line,outcome,reason` and then the row as uploaded. Pages of rows
    /// follow `after` (0 for the first, which carries the header); `None` after the last.
    pub async fn report_csv_page(&self, actor: &Actor, id: i64, after: i64) -> Result<(Vec<u8>, Option<i64>)> {
        const PAGE: i64 = 5000;
        let (header, rows) = self.report_page(actor, id, after, PAGE).await?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(Vec::new());
        let io = |e: csv::Error| Error::internal(e);
        if after == 0 {
            let mut head = vec!["row".to_string(), "line".into(), "outcome".into(), "reason".into()];
            head.extend(header);
            cell::write_record(&mut w, &head).map_err(io)?;
        }
        let next = if rows.len() as i64 == PAGE {
            rows.last().map(|r| r.row_number)
        } else {
            None
        };
        for r in rows {
            let fields: Vec<String> = serde_json::from_str(&r.fields).unwrap_or_default();
            let mut record = vec![
                r.row_number.to_string(),
                r.line.to_string(),
                r.outcome.unwrap_or_default(),
                r.reason.unwrap_or_default(),
            ];
            record.extend(fields);
            cell::write_record(&mut w, &record).map_err(io)?;
        }
        Ok((w.into_inner().map_err(|e| Error::internal(e.to_string()))?, next))
    }

    /// Runs a pending request now, while its caller waits (small imports answer with their
    /// report). Returns false when a worker took it first.
    pub async fn run_now(&self, id: i64) -> Result<bool> {
        let owner = worker_name("inline");
        let now = now_millis();
        let mut tx = self.begin().await?;
        let Some(req) = st(store::claim_one(&mut tx.conn(), id, &owner, now, now + LEASE_MS).await)? else {
            return Ok(false);
        };
        audit_state(&mut tx.conn(), &req, None, "process_request.started").await?;
        st(tx.commit().await)?;
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
        let now = now_millis();
        {
            let mut conn = st(self.db.read().await)?;
            if !st(store::claimable(&mut conn.conn(), now).await)? {
                return Ok(false);
            }
        }
        let mut tx = self.begin().await?;
        let Some(req) = st(store::claim(&mut tx.conn(), owner, now, now + lease_ms).await)? else {
            return Ok(false);
        };
        let action = if req.attempts > 1 || req.position > 0 {
            "process_request.resumed"
        } else {
            "process_request.started"
        };
        audit_state(&mut tx.conn(), &req, None, action).await?;
        st(tx.commit().await)?;
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
                    let mut tx = st(self.db.begin().await)?;
                    st(store::hand_back(&mut tx.conn(), id, owner).await)?;
                    st(tx.commit().await)
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
                    st(store::finish(&mut tx.conn(), id, owner, "failed", Some(&message), now_millis()).await)?
                } else {
                    st(store::release(&mut tx.conn(), id, owner, &message).await)?
                };
                if ended && given_up {
                    let mut conn = tx.conn();
                    let r = st(store::get_any(&mut conn, id).await)?;
                    audit_state(&mut conn, &r, None, "process_request.failed").await?;
                }
                st(tx.commit().await)
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
            let mut conn = st(self.db.read().await)?;
            st(store::rows(
                &mut conn.conn(),
                job.req.id,
                position,
                job.req.total_rows,
                size.rows as i64,
            )
            .await)?
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
        if st(store::hand_back(&mut tx.conn(), job.req.id, owner).await)? {
            tracing::info!(
                process_request = job.req.id,
                "handed the process request back: this worker is stopping"
            );
        }
        st(tx.commit().await)
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
            crate::groups::finish_deletion(
                &mut tx,
                job.actor.organization_id,
                &job.actor,
                GroupId(group),
                &mut changes,
            )
            .await?;
        }
        if st(store::finish(&mut tx.conn(), job.req.id, owner, "completed", None, now_millis()).await)? {
            let mut conn = tx.conn();
            let r = st(store::get_any(&mut conn, job.req.id).await)?;
            audit_state(&mut conn, &r, None, "process_request.completed").await?;
        } else {
            // Cancelled or taken over: the group stays.
            return Ok(());
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await
    }

    async fn job(&self, req: Request, lease_ms: i64) -> Result<Job> {
        let mut conn = st(self.db.read().await)?;
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
        let header: Vec<String> = st(store::rows(&mut conn.conn(), req.id, -1, 0, 1).await)?
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
        let org = st(organizations::get_locked(&mut tx.conn(), OrganizationId(req.organization_id), true).await)?;
        let ctx = formats::Ctx {
            org: &org,
            actor: &job.actor,
            group: req.group_id.map(GroupId),
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
        st(store::record_outcomes(&mut tx.conn(), req.id, &outcomes).await)?;
        phases.mark("outcomes");
        let lease = now_millis() + job.lease_ms;
        if !st(store::advance(
            &mut tx.conn(),
            req.id,
            owner,
            last,
            outcomes.len() as i64,
            failed,
            lease,
        )
        .await)?
        {
            return Ok(Batch::Lost);
        }
        let recorded = access::record(&mut tx.conn(), &changes).await?;
        phases.mark("access_changes");
        self.commit_recorded(tx, recorded, &changes).await?;
        phases.mark("commit and index");
        tracing::debug!(process_request = req.id, rows = outcomes.len(), last, timings = %phases, "batch applied");
        Ok(Batch::Applied(last))
    }

    /// The second phase of a replace: in each group the file names, removes the members the file
    /// does not list (as added or already a member). Its removals join the report as made-up rows.
    async fn replace_members(&self, owner: &str, job: &Job) -> Result<Batch> {
        use std::collections::{BTreeMap, BTreeSet};
        let req = &job.req;
        let mut tx = self.begin().await?;
        let org = st(organizations::get_locked(&mut tx.conn(), OrganizationId(req.organization_id), true).await)?;
        let mut keep: BTreeMap<i64, (BTreeSet<i64>, BTreeSet<i64>)> = BTreeMap::new();
        for (group, client, child, outcome) in st(store::kept_members(&mut tx.conn(), req.id).await)? {
            let entry = keep.entry(group).or_default();
            if matches!(outcome.as_deref(), Some("added" | "already_member")) {
                entry.0.extend(client);
                entry.1.extend(child);
            }
        }
        let mut changes = Vec::new();
        let mut made_up: Vec<(Vec<String>, RowOutcome)> = Vec::new();
        for (group, (clients, children)) in &keep {
            let Ok(target) = st(group_store::get(&mut tx.conn(), org.id, GroupId(*group)).await) else {
                continue;
            };
            let (current_clients, current_children) = st(store::member_ids(&mut tx.conn(), *group).await)?;
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
            )
            .await?;
            let ids: Vec<i64> = gone_clients.iter().map(|c| c.0).collect();
            let references: std::collections::HashMap<i64, String> =
                st(client_store::member_facts(&mut tx.conn(), org.id, &ids, &[]).await)?
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
                )
                .await?;
                let name = st(group_store::get(&mut tx.conn(), org.id, GroupId(child)).await)
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
        let mut number = st(store::last_row_number(&mut tx.conn(), req.id).await)?;
        for (fields, outcome) in &made_up {
            number += 1;
            let fields = serde_json::to_string(fields).unwrap_or_default();
            st(store::append_outcome(&mut tx.conn(), req.id, number, &fields, outcome).await)?;
        }
        if !st(store::mark_replaced(&mut tx.conn(), req.id, owner).await)? {
            return Ok(Batch::Lost);
        }
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(Batch::Applied(req.total_rows))
    }

    /// The admin the command line acts as: the one with this e-mail, or else the first active
    /// admin of the first organisation.
    pub async fn cli_admin(&self, email: Option<&str>) -> Result<Actor> {
        let mut conn = st(self.db.read().await)?;
        let org = st(organizations::first(&mut conn.conn()).await)?
            .ok_or_else(|| Error::not_found("organisation (run `clientele serve` once to set one up)"))?;
        let admins = st(clientele_store::staff::active_admins(&mut conn.conn(), org.id).await)?;
        let mut chosen = admins.first().copied();
        if let Some(email) = email {
            chosen = None;
            for id in &admins {
                let s = st(clientele_store::staff::get(&mut conn.conn(), org.id, *id).await)?;
                if s.email.eq_ignore_ascii_case(email) {
                    chosen = Some(*id);
                }
            }
        }
        let staff_id = chosen.ok_or_else(|| Error::not_found("active admin"))?;
        Ok(Actor {
            staff_id,
            organization_id: org.id,
            role: StaffRole::Admin,
            request_id: None,
        })
    }
}

/// Writes a request's state change to the audit trail (by its initiator when `actor` is absent).
async fn audit_state(c: &mut Conn<'_>, req: &Request, actor: Option<&Actor>, action: &str) -> Result<()> {
    let initiator = req.initiator_id.map(|staff| Actor {
        staff_id: StaffId(staff),
        organization_id: OrganizationId(req.organization_id),
        role: StaffRole::Admin,
        request_id: None,
    });
    let state = serde_json::json!({
        "operation": req.operation,
        "mode": req.mode,
        "status": req.status,
        "total": req.total_rows,
        "done": req.done_rows,
        "failed": req.failed_rows,
        "attempts": req.attempts,
        "retry_of": req.retry_of,
    });
    audit::record(
        c,
        OrganizationId(req.organization_id),
        actor.or(initiator.as_ref()),
        action,
        ("process_request", req.id),
        req.group_id.map(GroupId),
        None,
        Cause::Bulk,
        None,
        Some(state),
    )
    .await
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
