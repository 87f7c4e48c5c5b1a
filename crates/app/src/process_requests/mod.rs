//! Process requests: the durable background jobs that carry out imports, large bulk membership
//! changes and group deletions (seed 004), as records: queued with their input rows, listed,
//! cancelled, retried and reported on. Running them is `bulk::worker`'s; this module knows nothing
//! of what one row does, so group deletion and the bulk paths both build on it.

use clientele_domain::audit::Cause;
use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, ErrorCode, GroupId, OrganizationId, ProcessRequestId, Result, StaffId};
use clientele_store::Conn;
use clientele_store::process_requests::{self as store, InputRow, NewRequest, Request, RequestFilter};
use serde::Serialize;

use crate::cell;
use crate::paging::Cursor;
use crate::{Actor, Admin, App, audit};
use clientele_domain::group::MemberRef;

pub mod summary;

/// The columns of the rows of a request over members of one group (a large bulk add or remove,
/// a group deletion), made by the API, never uploaded.
pub const MEMBER_COLUMNS: &[&str] = &["member_type", "member_id"];

/// Rows stored per transaction while an upload is received.
pub const RECEIVE_BATCH: usize = 20_000;

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

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Its rows are being stored; no worker may claim it yet.
    Receiving,
    /// Waiting for a worker.
    Pending,
    /// A worker holds it (under a lease).
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 6] = [
        RequestStatus::Receiving,
        RequestStatus::Pending,
        RequestStatus::Running,
        RequestStatus::Completed,
        RequestStatus::Failed,
        RequestStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Receiving => "receiving",
            RequestStatus::Pending => "pending",
            RequestStatus::Running => "running",
            RequestStatus::Completed => "completed",
            RequestStatus::Failed => "failed",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<RequestStatus> {
        RequestStatus::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            Error::invalid(
                "status",
                "must be receiving, pending, running, completed, failed or cancelled",
            )
        })
    }

    /// Not ended yet: receiving, pending or running.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RequestStatus::Receiving | RequestStatus::Pending | RequestStatus::Running
        )
    }
}

/// What a request does with its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    ImportClients,
    ImportGroups,
    ImportMemberships,
    ImportTimeEntries,
    ImportProgramAccounts,
    BulkAdd,
    BulkRemove,
    DeleteGroup,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::ImportClients,
        Operation::ImportGroups,
        Operation::ImportMemberships,
        Operation::ImportTimeEntries,
        Operation::ImportProgramAccounts,
        Operation::BulkAdd,
        Operation::BulkRemove,
        Operation::DeleteGroup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ImportClients => "import_clients",
            Operation::ImportGroups => "import_groups",
            Operation::ImportMemberships => "import_memberships",
            Operation::ImportTimeEntries => "import_time_entries",
            Operation::ImportProgramAccounts => "import_program_accounts",
            Operation::BulkAdd => "bulk_add",
            Operation::BulkRemove => "bulk_remove",
            Operation::DeleteGroup => "delete_group",
        }
    }

    pub fn parse(s: &str) -> Result<Operation> {
        Operation::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::invalid("operation", format!("\"{s}\" is not an operation")))
    }

    /// An upload of a CSV file (not a bulk change or a deletion).
    pub fn is_import(self) -> bool {
        self.as_str().starts_with("import_")
    }
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "validate" => Ok(Mode::Validate),
            "apply" => Ok(Mode::Apply),
            _ => Err(Error::invalid("mode", "must be validate or apply")),
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(RequestStatus, Operation, Mode);

/// A durable background job and how far it got.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProcessRequest {
    pub id: ProcessRequestId,
    pub operation: Operation,
    /// `validate` (a dry run) or `apply`.
    pub mode: Mode,
    /// Memberships: each named group ends with exactly the file's members.
    pub replace: bool,
    /// The group of a bulk add or remove.
    pub group_id: Option<GroupId>,
    /// Who asked for it.
    pub initiator: Option<StaffId>,
    /// The request whose failed rows this one retries.
    pub retry_of: Option<ProcessRequestId>,
    pub status: RequestStatus,
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

impl TryFrom<Request> for ProcessRequest {
    type Error = Error;

    /// Fails only on a value the database's CHECK constraints do not allow.
    fn try_from(r: Request) -> Result<Self> {
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
        Ok(ProcessRequest {
            id: ProcessRequestId(r.id),
            operation: Operation::parse(&r.operation).map_err(Error::internal)?,
            mode: Mode::parse(&r.mode).map_err(Error::internal)?,
            replace: r.replace_members,
            group_id: r.group_id.map(GroupId),
            initiator: r.initiator_id.map(StaffId),
            retry_of: r.retry_of.map(ProcessRequestId),
            status: RequestStatus::parse(&r.status).map_err(Error::internal)?,
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
        })
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

/// Filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct ProcessRequestFilter {
    pub status: Option<RequestStatus>,
    pub operation: Option<Operation>,
    pub group: Option<GroupId>,
    pub initiator: Option<StaffId>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

/// A name for this worker in leases: process id and a random part.
pub fn worker_name(role: &str) -> String {
    format!("{role}-{}-{}", std::process::id(), &crate::auth::new_secret()[..8])
}

impl App {
    pub(crate) async fn new_request(&self, new: &NewRequest<'_>) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = store::insert(&mut tx.conn(), new, self.clock.now()).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn store_rows(&self, id: i64, rows: Vec<InputRow>) -> Result<()> {
        let mut tx = self.begin().await?;
        store::insert_rows(&mut tx.conn(), id, rows).await?;
        Ok(tx.commit().await?)
    }

    /// Every row is stored: the request becomes claimable, and the audit trail says so.
    pub(crate) async fn queue(&self, actor: &Actor, id: i64, total: i64) -> Result<ProcessRequest> {
        let mut tx = self.begin().await?;
        store::mark_pending(&mut tx.conn(), id, total).await?;
        let req = store::get(&mut tx.conn(), actor.organization_id, id)
            .await?
            .ok_or_else(|| Error::not_found("process request"))?;
        audit_state(&mut tx.conn(), &req, Some(actor), "process_request.created").await?;
        tx.commit().await?;
        req.try_into()
    }

    /// Stores a process request over members of one group (`member_type`, `member_id` rows).
    pub(crate) async fn queue_members(
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
        let header = serde_json::to_string(MEMBER_COLUMNS).unwrap_or_default();
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

    pub async fn process_request(&self, actor: &Actor, id: ProcessRequestId) -> Result<ProcessRequest> {
        actor.admin()?;
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id.0)
            .await?
            .map(ProcessRequest::try_from)
            .transpose()?
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
            status: filter.status.map(|s| s.as_str().to_string()),
            operation: filter.operation.map(|o| o.as_str().to_string()),
            group: filter.group.map(|g| g.0),
            initiator: filter.initiator.map(|s| s.0),
        };
        let mut conn = self.db.read().await?;
        let rows = store::list(
            &mut conn.conn(),
            actor.organization_id,
            &store_filter,
            position.cursor.as_ref().map(|c| c.id),
            filter.oldest_first != position.backward,
            limit + 1,
        )
        .await?;
        let total = store::count(&mut conn.conn(), actor.organization_id, &store_filter).await?;
        let items: Vec<ProcessRequest> = rows.into_iter().map(ProcessRequest::try_from).collect::<Result<_>>()?;
        let page = crate::paging::directed_page(items, limit, &position, |r| Cursor {
            key: String::new(),
            id: r.id.0,
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
        let before = self.clock.now() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let ids = {
            let mut conn = self.db.read().await?;
            store::ended_with_input(&mut conn.conn(), before, 100).await?
        };
        for &id in &ids {
            let mut tx = self.db.begin().await?;
            let rows = store::purge_input(&mut tx.conn(), id, self.clock.now()).await?;
            tx.commit().await?;
            tracing::info!(
                process_request = id,
                rows,
                "purged the uploaded rows of an ended process request"
            );
        }
        Ok(ids.len())
    }

    /// Cancels a request that has not finished; rows already applied stay applied.
    pub async fn cancel_process_request(&self, admin: Admin<'_>, id: ProcessRequestId) -> Result<ProcessRequest> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let req = store::get(&mut tx.conn(), actor.organization_id, id.0)
            .await?
            .ok_or_else(|| Error::not_found("process request"))?;
        if !store::cancel(&mut tx.conn(), actor.organization_id, id.0, self.clock.now()).await? {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "process request {id} already ended ({}); only pending or running ones can be cancelled",
                    req.status
                ),
            ));
        }
        let after = store::get(&mut tx.conn(), actor.organization_id, id.0)
            .await?
            .ok_or_else(|| Error::not_found("process request"))?;
        audit_state(&mut tx.conn(), &after, Some(actor), "process_request.cancelled").await?;
        tx.commit().await?;
        after.try_into()
    }

    /// A new request over what an ended one did not do: its rejected rows (after the data they
    /// needed was fixed) and, when it failed or was cancelled part-way, the rows it never reached,
    /// with their original line numbers.
    pub async fn retry_process_request(&self, admin: Admin<'_>, id: ProcessRequestId) -> Result<ProcessRequest> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let req = store::get(&mut tx.conn(), actor.organization_id, id.0)
            .await?
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
            retry_of: Some(id.0),
        };
        let new_id = store::insert(&mut tx.conn(), &new, self.clock.now()).await?;
        store::copy_header(&mut tx.conn(), id.0, new_id).await?;
        let total = store::copy_to_retry(&mut tx.conn(), id.0, new_id).await? as i64;
        if total == 0 {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("process request {id} has no rejected or unprocessed rows to retry"),
            ));
        }
        store::mark_pending(&mut tx.conn(), new_id, total).await?;
        let created = store::get(&mut tx.conn(), actor.organization_id, new_id)
            .await?
            .ok_or_else(|| Error::not_found("process request"))?;
        audit_state(&mut tx.conn(), &created, Some(actor), "process_request.created").await?;
        tx.commit().await?;
        created.try_into()
    }

    /// Every row's outcome so far, in row order (at most `limit` rows after row `after`).
    pub async fn report_rows(
        &self,
        actor: &Actor,
        id: ProcessRequestId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ReportRow>> {
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
        id: ProcessRequestId,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<String>, Vec<store::Row>)> {
        actor.admin()?;
        let mut conn = self.db.read().await?;
        store::get(&mut conn.conn(), actor.organization_id, id.0)
            .await?
            .ok_or_else(|| Error::not_found("process request"))?;
        let header = store::rows(&mut conn.conn(), id.0, -1, 0, 1)
            .await?
            .pop()
            .map(|r| serde_json::from_str(&r.fields).unwrap_or_default())
            .unwrap_or_default();
        let rows = store::rows(&mut conn.conn(), id.0, after.max(0), i64::MAX, limit)
            .await?
            .into_iter()
            .filter(|r| r.outcome.is_some())
            .collect();
        Ok((header, rows))
    }

    /// The report as CSV: `row,line,outcome,reason` and then the row as uploaded. Pages of rows
    /// follow `after` (0 for the first, which carries the header); `None` after the last.
    pub async fn report_csv_page(
        &self,
        actor: &Actor,
        id: ProcessRequestId,
        after: i64,
    ) -> Result<(Vec<u8>, Option<i64>)> {
        const PAGE: i64 = 5000;
        let (header, rows) = self.report_page(actor, id, after, PAGE).await?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(Vec::new());
        let io = |e: csv::Error| Error::internal("writing the CSV failed").caused_by(e);
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
        Ok((
            w.into_inner()
                .map_err(|e| Error::internal("writing the CSV failed").caused_by(e))?,
            next,
        ))
    }
}

/// Writes a request's state change to the audit trail (by its initiator when `actor` is absent).
pub(crate) async fn audit_state(c: &mut Conn<'_>, req: &Request, actor: Option<&Actor>, action: &str) -> Result<()> {
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
    audit::Event {
        org: OrganizationId(req.organization_id),
        actor: actor.or(initiator.as_ref()),
        action,
        object: ("process_request", req.id),
        group: req.group_id.map(GroupId),
        client: None,
        cause: Cause::Bulk,
        before: None,
        after: Some(state),
    }
    .record(c)
    .await
}
