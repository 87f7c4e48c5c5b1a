//! Process requests: durable background jobs and their rows.
//!
//! Claiming is the one place where the engines differ: PostgreSQL takes the oldest claimable row
//! with `FOR UPDATE SKIP LOCKED`, so several workers never wait on each other; SQLite has a single
//! writer, so the same `UPDATE` inside the caller's `BEGIN IMMEDIATE` transaction is already
//! exclusive. Everything else is written once.

use clientele_domain::{Millis, OrganizationId, StaffId};

use crate::sql::{Param, Sql};
use crate::{Conn, Result, bind_params, bulk, on};

/// The columns every read of a request selects.
const COLUMNS: &str = "id, organization_id, operation, mode, replace_members, group_id, initiator_id, retry_of, status,
    created_at, started_at, finished_at, total_rows, done_rows, failed_rows, position, replaced, lease_owner,
    lease_expires_at, attempts, error, input_purged_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub id: i64,
    pub organization_id: i64,
    pub operation: String,
    pub mode: String,
    pub replace_members: bool,
    pub group_id: Option<i64>,
    pub initiator_id: Option<i64>,
    pub retry_of: Option<i64>,
    pub status: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub total_rows: i64,
    pub done_rows: i64,
    pub failed_rows: i64,
    pub position: i64,
    pub replaced: bool,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub attempts: i32,
    pub error: Option<String>,
    pub input_purged_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub organization_id: OrganizationId,
    pub operation: &'a str,
    pub mode: &'a str,
    pub replace_members: bool,
    pub group_id: Option<i64>,
    pub initiator: Option<StaffId>,
    pub retry_of: Option<i64>,
}

/// Inserts a request in status `receiving`: no worker claims it until [`mark_pending`].
pub async fn insert(c: &mut Conn<'_>, new: &NewRequest<'_>, now: Millis) -> Result<i64> {
    let id: i64 = on!(c, c => sqlx::query_scalar(
        "INSERT INTO process_requests (organization_id, operation, mode, replace_members, group_id, initiator_id, retry_of,
            status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'receiving', $8) RETURNING id")
        .bind(new.organization_id.0).bind(new.operation).bind(new.mode).bind(new.replace_members).bind(new.group_id)
        .bind(new.initiator.map(|s| s.0)).bind(new.retry_of).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(id)
}

/// One input row: its number (from 1), the line it starts on, and its fields as a JSON array.
#[derive(Debug, Clone)]
pub struct InputRow {
    pub row_number: i64,
    pub line: i64,
    pub fields: String,
}

pub async fn insert_rows(c: &mut Conn<'_>, request: i64, rows: Vec<InputRow>) -> Result<u64> {
    let mut values = Vec::with_capacity(rows.len() * 4);
    for r in rows {
        values.extend([
            Param::I64(request),
            Param::I64(r.row_number),
            Param::I64(r.line),
            Param::Text(r.fields),
        ]);
    }
    bulk::insert_flat(
        c,
        "process_request_rows",
        &["request_id", "row_number", "line", "fields"],
        values,
        "",
    )
    .await
}

/// Every row is stored: workers may take the request.
pub async fn mark_pending(c: &mut Conn<'_>, id: i64, total: i64) -> Result<()> {
    on!(c, c => sqlx::query("UPDATE process_requests SET status = 'pending', total_rows = $2 WHERE id = $1 AND status = 'receiving'")
        .bind(id).bind(total).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Takes the oldest pending request, or a running one whose lease expired (its worker died), for
/// `owner` until `lease_until`; counts the attempt.
pub async fn claim(c: &mut Conn<'_>, owner: &str, now: Millis, lease_until: Millis) -> Result<Option<Request>> {
    const PG: &str = "UPDATE process_requests SET status = 'running', lease_owner = $1, lease_expires_at = $2,
            attempts = attempts + 1, started_at = COALESCE(started_at, $3)
         WHERE id = (SELECT id FROM process_requests
                     WHERE status = 'pending' OR (status = 'running' AND lease_expires_at < $3)
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING id";
    const SQLITE: &str = "UPDATE process_requests SET status = 'running', lease_owner = $1, lease_expires_at = $2,
            attempts = attempts + 1, started_at = COALESCE(started_at, $3)
         WHERE id = (SELECT id FROM process_requests
                     WHERE status = 'pending' OR (status = 'running' AND lease_expires_at < $3)
                     ORDER BY id LIMIT 1)
         RETURNING id";
    let id: Option<i64> = match c {
        Conn::Postgres(c) => {
            sqlx::query_scalar(PG)
                .bind(owner)
                .bind(lease_until)
                .bind(now)
                .fetch_optional(&mut **c)
                .await?
        }
        Conn::Sqlite(c) => {
            sqlx::query_scalar(SQLITE)
                .bind(owner)
                .bind(lease_until)
                .bind(now)
                .fetch_optional(&mut **c)
                .await?
        }
    };
    match id {
        Some(id) => Ok(Some(get_any(c, id).await?)),
        None => Ok(None),
    }
}

/// Whether [`claim`] would find something: a plain read, so idle workers never take SQLite's write
/// lock.
pub async fn claimable(c: &mut Conn<'_>, now: Millis) -> Result<bool> {
    let found: Option<i64> = on!(c, c => sqlx::query_scalar(
        "SELECT id FROM process_requests
         WHERE status = 'pending' OR (status = 'running' AND lease_expires_at < $1) LIMIT 1")
        .bind(now).fetch_optional(&mut **c).await)?;
    Ok(found.is_some())
}

/// Claims one given request if it is pending (a small request run while its caller waits).
pub async fn claim_one(
    c: &mut Conn<'_>,
    id: i64,
    owner: &str,
    now: Millis,
    lease_until: Millis,
) -> Result<Option<Request>> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET status = 'running', lease_owner = $2, lease_expires_at = $3,
            attempts = attempts + 1, started_at = COALESCE(started_at, $4)
         WHERE id = $1 AND status = 'pending'")
        .bind(id).bind(owner).bind(lease_until).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(get_any(c, id).await?))
}

/// A request by id, whatever its organisation (workers).
pub async fn get_any(c: &mut Conn<'_>, id: i64) -> Result<Request> {
    let sql = format!("SELECT {COLUMNS} FROM process_requests WHERE id = $1");
    // Safe: COLUMNS is a constant.
    Ok(on!(c, c => sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&mut **c).await)?)
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: i64) -> Result<Option<Request>> {
    let sql = format!("SELECT {COLUMNS} FROM process_requests WHERE id = $1 AND organization_id = $2");
    Ok(
        on!(c, c => sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(sql.clone())).bind(id).bind(org.0).fetch_optional(&mut **c).await)?,
    )
}

/// Moves the request's position forward after a batch, in the batch's own transaction, and renews
/// the lease. Returns false when `owner` no longer holds the request (cancelled, or its lease
/// expired and another worker took it): the caller must then roll the batch back.
pub async fn advance(
    c: &mut Conn<'_>,
    id: i64,
    owner: &str,
    position: i64,
    done: i64,
    failed: i64,
    lease_until: Millis,
) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET position = $3, done_rows = done_rows + $4, failed_rows = failed_rows + $5,
            lease_expires_at = $6
         WHERE id = $1 AND status = 'running' AND lease_owner = $2")
        .bind(id).bind(owner).bind(position).bind(done).bind(failed).bind(lease_until)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Marks the replace phase done (same rules as [`advance`]).
pub async fn mark_replaced(c: &mut Conn<'_>, id: i64, owner: &str) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET replaced = TRUE WHERE id = $1 AND status = 'running' AND lease_owner = $2")
        .bind(id).bind(owner).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Ends a running request held by `owner` with `status` (`completed` or `failed`).
pub async fn finish(
    c: &mut Conn<'_>,
    id: i64,
    owner: &str,
    status: &str,
    error: Option<&str>,
    now: Millis,
) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET status = $3, error = $4, finished_at = $5, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND status = 'running' AND lease_owner = $2")
        .bind(id).bind(owner).bind(status).bind(error).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Requests that ended before `before` and still hold their uploaded rows (a few at a time).
pub async fn ended_with_input(c: &mut Conn<'_>, before: Millis, limit: i64) -> Result<Vec<i64>> {
    Ok(on!(c, c => sqlx::query_scalar(
        "SELECT id FROM process_requests
         WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < $1 AND input_purged_at IS NULL
         ORDER BY id LIMIT $2")
        .bind(before).bind(limit).fetch_all(&mut **c).await)?)
}

/// Empties the fields of a request's uploaded rows (the header, outcomes and reasons stay) and
/// says when. Returns how many rows were emptied.
pub async fn purge_input(c: &mut Conn<'_>, id: i64, now: Millis) -> Result<u64> {
    let rows = on!(c, c => sqlx::query(
        "UPDATE process_request_rows SET fields = '[]' WHERE request_id = $1 AND row_number > 0 AND fields <> '[]'")
        .bind(id).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    on!(c, c => sqlx::query("UPDATE process_requests SET input_purged_at = $2 WHERE id = $1")
        .bind(id).bind(now).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Gives a running request back to the queue after a failure that may pass (its worker keeps the
/// attempt counted).
pub async fn release(c: &mut Conn<'_>, id: i64, owner: &str, error: &str) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET status = 'pending', error = $3, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND status = 'running' AND lease_owner = $2")
        .bind(id).bind(owner).bind(error)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Gives a running request back to the queue (its worker is stopping): pending, no lease, and
/// the claim not counted as an attempt. False when the worker no longer held it.
pub async fn hand_back(c: &mut Conn<'_>, id: i64, owner: &str) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
            attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
         WHERE id = $1 AND status = 'running' AND lease_owner = $2")
        .bind(id).bind(owner)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Cancels a request that has not finished. Returns false when it already had.
pub async fn cancel(c: &mut Conn<'_>, org: OrganizationId, id: i64, now: Millis) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE process_requests SET status = 'cancelled', finished_at = $3, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND organization_id = $2 AND status IN ('receiving', 'pending', 'running')")
        .bind(id).bind(org.0).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<String>,
    pub operation: Option<String>,
    pub group: Option<i64>,
    pub initiator: Option<i64>,
}

fn filtered(sql: &mut Sql, org: OrganizationId, filter: &RequestFilter) {
    sql.bind(org.0);
    if let Some(status) = &filter.status {
        sql.push(" AND status = ").bind(status.clone());
    }
    if let Some(operation) = &filter.operation {
        sql.push(" AND operation = ").bind(operation.clone());
    }
    if let Some(group) = filter.group {
        sql.push(" AND group_id = ").bind(group);
    }
    if let Some(initiator) = filter.initiator {
        sql.push(" AND initiator_id = ").bind(initiator);
    }
}

/// Requests in id order (which is the order they were made in): oldest first when
/// `ascending`, else newest first, after the request `after` (none: from the start).
pub async fn list(
    c: &mut Conn<'_>,
    org: OrganizationId,
    filter: &RequestFilter,
    after: Option<i64>,
    ascending: bool,
    limit: i64,
) -> Result<Vec<Request>> {
    let mut sql = Sql::new("SELECT ");
    sql.push(COLUMNS)
        .push(" FROM process_requests WHERE organization_id = ");
    filtered(&mut sql, org, filter);
    if let Some(after) = after {
        sql.push(if ascending { " AND id > " } else { " AND id < " })
            .bind(after);
    }
    sql.push(if ascending {
        " ORDER BY id LIMIT "
    } else {
        " ORDER BY id DESC LIMIT "
    })
    .bind(limit);
    let (text, params) = sql.into_parts();
    Ok(on!(c, c => bind_params!(sqlx::query_as::<_, Request>(text), params).fetch_all(&mut **c).await)?)
}

/// How many requests pass `filter`.
pub async fn count(c: &mut Conn<'_>, org: OrganizationId, filter: &RequestFilter) -> Result<i64> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM process_requests WHERE organization_id = ");
    filtered(&mut sql, org, filter);
    let (text, params) = sql.into_parts();
    Ok(on!(c, c => bind_params!(sqlx::query_scalar::<_, i64>(text), params).fetch_one(&mut **c).await)?)
}

crate::fast::row_struct! {
/// A stored row with its outcome, once it has one.
#[derive(Debug, Clone)]
pub struct Row {
    pub row_number: i64,
    pub line: i64,
    pub fields: String,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub group_id: Option<i64>,
    pub client_id: Option<i64>,
    pub child_id: Option<i64>,
}
}

/// Rows numbered after `after` and at most `upto`, in order.
pub async fn rows(c: &mut Conn<'_>, request: i64, after: i64, upto: i64, limit: i64) -> Result<Vec<Row>> {
    if let Conn::Sqlite(c) = c {
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare(&format!(
                "SELECT {} FROM process_request_rows
                 WHERE request_id = ?1 AND row_number > ?2 AND row_number <= ?3 ORDER BY row_number LIMIT ?4",
                Row::COLUMNS
            ))?;
            let rows = stmt.query_map((request, after, upto, limit), Row::from_sqlite)?;
            rows.collect()
        })
        .await;
    }
    Ok(on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT row_number, line, fields, outcome, reason, group_id, client_id, child_id FROM process_request_rows
         WHERE request_id = $1 AND row_number > $2 AND row_number <= $3 ORDER BY row_number LIMIT $4")
        .bind(request).bind(after).bind(upto).bind(limit)
        .fetch_all(&mut **c).await)?)
}

/// What happened to one row.
#[derive(Debug, Clone, Default)]
pub struct RowOutcome {
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub group_id: Option<i64>,
    pub client_id: Option<i64>,
    pub child_id: Option<i64>,
}

pub async fn record_outcome(c: &mut Conn<'_>, request: i64, row_number: i64, o: &RowOutcome) -> Result<()> {
    on!(c, c => sqlx::query(
        "UPDATE process_request_rows SET outcome = $3, reason = $4, group_id = $5, client_id = $6, child_id = $7
         WHERE request_id = $1 AND row_number = $2")
        .bind(request).bind(row_number).bind(o.outcome).bind(o.reason.as_deref()).bind(o.group_id).bind(o.client_id)
        .bind(o.child_id)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records the outcomes of many stored rows at once: an upsert on the rows' key, so one
/// statement carries thousands of them (the `line` and `fields` given are never written: every row
/// exists already).
pub async fn record_outcomes(c: &mut Conn<'_>, request: i64, outcomes: &[(i64, RowOutcome)]) -> Result<()> {
    if let Conn::Sqlite(c) = c {
        // One prepared UPDATE per row by its key: the upsert below first tries the insert and
        // fails on the key before it updates, which doubled the cost of every row.
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare(
                "UPDATE process_request_rows SET outcome = ?3, reason = ?4, group_id = ?5, client_id = ?6, child_id = ?7
                 WHERE request_id = ?1 AND row_number = ?2",
            )?;
            for (row_number, o) in outcomes {
                stmt.execute((
                    request,
                    row_number,
                    o.outcome,
                    o.reason.as_deref(),
                    o.group_id,
                    o.client_id,
                    o.child_id,
                ))?;
            }
            Ok(())
        })
        .await;
    }
    let mut values = Vec::with_capacity(outcomes.len() * 9);
    for (row_number, o) in outcomes {
        values.extend([
            Param::I64(request),
            Param::I64(*row_number),
            Param::I64(0),
            Param::Static(""),
            Param::Static(o.outcome),
            Param::OptText(o.reason.clone()),
            Param::OptI64(o.group_id),
            Param::OptI64(o.client_id),
            Param::OptI64(o.child_id),
        ]);
    }
    bulk::insert_flat(
        c,
        "process_request_rows",
        &[
            "request_id",
            "row_number",
            "line",
            "fields",
            "outcome",
            "reason",
            "group_id",
            "client_id",
            "child_id",
        ],
        values,
        " ON CONFLICT (request_id, row_number) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason,
            group_id = excluded.group_id, client_id = excluded.client_id, child_id = excluded.child_id",
    )
    .await?;
    Ok(())
}

/// Appends a row the request made up (a removal of a replace), with its outcome.
pub async fn append_outcome(
    c: &mut Conn<'_>,
    request: i64,
    row_number: i64,
    fields: &str,
    o: &RowOutcome,
) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO process_request_rows (request_id, row_number, line, fields, outcome, reason, group_id, client_id, child_id)
         VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8)")
        .bind(request).bind(row_number).bind(fields).bind(o.outcome).bind(o.reason.as_deref()).bind(o.group_id)
        .bind(o.client_id).bind(o.child_id)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The groups a replace names, and for each the members the file keeps.
pub async fn kept_members(
    c: &mut Conn<'_>,
    request: i64,
) -> Result<Vec<(i64, Option<i64>, Option<i64>, Option<String>)>> {
    Ok(on!(c, c => sqlx::query_as(
        "SELECT group_id, client_id, child_id, outcome FROM process_request_rows
         WHERE request_id = $1 AND group_id IS NOT NULL AND line > 0")
        .bind(request).fetch_all(&mut **c).await)?)
}

/// The highest row number stored for a request (input rows and made-up ones).
pub async fn last_row_number(c: &mut Conn<'_>, request: i64) -> Result<i64> {
    let n: Option<i64> = on!(c, c => sqlx::query_scalar("SELECT MAX(row_number) FROM process_request_rows WHERE request_id = $1")
        .bind(request).fetch_one(&mut **c).await)?;
    Ok(n.unwrap_or(0))
}

/// Copies the rows of `from` that a retry runs again (rejected, or never reached) into `into`,
/// renumbered from 1 and keeping their lines.
pub async fn copy_to_retry(c: &mut Conn<'_>, from: i64, into: i64) -> Result<u64> {
    Ok(on!(c, c => sqlx::query(
        "INSERT INTO process_request_rows (request_id, row_number, line, fields)
         SELECT $2, ROW_NUMBER() OVER (ORDER BY row_number), line, fields FROM process_request_rows
         WHERE request_id = $1 AND (outcome = 'rejected' OR outcome IS NULL) AND line > 0 AND row_number > 0")
        .bind(from).bind(into).execute(&mut **c).await.map(|r| r.rows_affected()))?)
}

/// Current direct members of a group: (client ids, child group ids).
pub async fn member_ids(c: &mut Conn<'_>, group: i64) -> Result<(Vec<i64>, Vec<i64>)> {
    let clients: Vec<i64> = on!(c, c => sqlx::query_scalar("SELECT client_id FROM group_clients WHERE group_id = $1 ORDER BY client_id")
        .bind(group).fetch_all(&mut **c).await)?;
    let children: Vec<i64> = on!(c, c => sqlx::query_scalar("SELECT child_id FROM group_children WHERE parent_id = $1 ORDER BY child_id")
        .bind(group).fetch_all(&mut **c).await)?;
    Ok((clients, children))
}

/// The unfinished `delete_group` request of a group, if any.
pub async fn deleting(c: &mut Conn<'_>, group: i64) -> Result<Option<i64>> {
    Ok(on!(c, c => sqlx::query_scalar(
        "SELECT id FROM process_requests
         WHERE status IN ('receiving', 'pending', 'running') AND operation = 'delete_group' AND group_id = $1
         ORDER BY id LIMIT 1")
        .bind(group).fetch_optional(&mut **c).await)?)
}

/// [`deleting`] for many groups: (group, request).
pub async fn deleting_many(c: &mut Conn<'_>, groups: &[i64]) -> Result<Vec<(i64, i64)>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        "SELECT group_id, MIN(id) FROM process_requests
         WHERE status IN ('receiving', 'pending', 'running') AND operation = 'delete_group' AND group_id IN ",
    );
    sql.bind_list(groups.iter().copied()).push(" GROUP BY group_id");
    let (text, params) = sql.into_parts();
    Ok(on!(c, c => bind_params!(sqlx::query_as::<_, (i64, i64)>(text), params).fetch_all(&mut **c).await)?)
}

/// Ends a request whose input could not be read.
pub async fn fail_receiving(c: &mut Conn<'_>, id: i64, error: &str, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query(
        "UPDATE process_requests SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND status = 'receiving'")
        .bind(id).bind(error).bind(now).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Copies the header row (row 0) of `from` into `into`.
pub async fn copy_header(c: &mut Conn<'_>, from: i64, into: i64) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO process_request_rows (request_id, row_number, line, fields)
         SELECT $2, 0, line, fields FROM process_request_rows WHERE request_id = $1 AND row_number = 0")
        .bind(from).bind(into).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Runs a fixed statement with no parameters (savepoints around each row of a batch).
pub async fn execute(c: &mut Conn<'_>, sql: &'static str) -> Result<()> {
    on!(c, c => sqlx::raw_sql(sql).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// How many rows of a request ended with each outcome, and how many of them created the group
/// they named (seed 000's one-file upload: "1 group created, 55 memberships added").
pub async fn outcome_counts(c: &mut Conn<'_>, request: i64) -> Result<(Vec<(String, i64)>, i64)> {
    // One pass over the request's rows: a million-row upload is read once.
    let rows: Vec<(String, i64, Option<i64>)> = on!(c, c => sqlx::query_as(
        "SELECT outcome, COUNT(*), SUM(CASE WHEN reason LIKE 'created the group %' THEN 1 ELSE 0 END)
         FROM process_request_rows WHERE request_id = $1 AND outcome IS NOT NULL
         GROUP BY outcome ORDER BY outcome")
        .bind(request).fetch_all(&mut **c).await)?;
    let created = rows
        .iter()
        .find(|(outcome, _, _)| outcome == "added")
        .and_then(|(_, _, created)| *created)
        .unwrap_or(0);
    Ok((rows.into_iter().map(|(outcome, n, _)| (outcome, n)).collect(), created))
}

/// Requests waiting for a worker and running now, and when the oldest waiting one was created
/// (`/metrics`: queue depth and how long the queue has been stuck).
pub async fn queue_depth(c: &mut Conn<'_>) -> Result<(i64, i64, Option<Millis>)> {
    let (pending, running, oldest): (Option<i64>, Option<i64>, Option<i64>) = on!(c, c => sqlx::query_as(
        "SELECT SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END),
                MIN(CASE WHEN status = 'pending' THEN created_at END)
         FROM process_requests WHERE status IN ('pending', 'running')")
        .fetch_one(&mut **c).await)?;
    Ok((pending.unwrap_or(0), running.unwrap_or(0), oldest))
}
