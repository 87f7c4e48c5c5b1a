//! Time entries. Every write takes a number from `time_entry_counter` (held until commit, so
//! numbers become visible in commit order) and stamps the row with it; deletion is soft. A server
//! process keeps its in-memory ledger current by reading the rows stamped after the last number
//! it saw ([`changed_since`]), deletions included.

use clientele_domain::time_entry::{Day, TimeEntry, TimeEntryInput};
use clientele_domain::{ClientId, Error, Millis, OrganizationId, StaffId, TimeEntryId};

use crate::{Conn, Result, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    staff_id: i64,
    client_id: i64,
    work_day: i32,
    minutes: i32,
    billable: bool,
    service: String,
    note: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str =
    "id, staff_id, client_id, work_day, minutes, billable, service, note, version, created_at, updated_at";

impl From<Row> for TimeEntry {
    fn from(r: Row) -> Self {
        TimeEntry {
            id: TimeEntryId(r.id),
            staff_id: StaffId(r.staff_id),
            client_id: ClientId(r.client_id),
            date: Day(r.work_day),
            minutes: r.minutes,
            billable: r.billable,
            service: r.service,
            note: r.note,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Takes the next time entry number; the counter row stays locked until the transaction ends.
pub async fn next_seq(c: &mut Conn<'_>) -> Result<i64> {
    Ok(
        on!(c, c => sqlx::query_scalar("UPDATE time_entry_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(&mut **c).await)?,
    )
}

pub async fn insert(
    c: &mut Conn<'_>,
    org: OrganizationId,
    e: &TimeEntryInput,
    by: StaffId,
    seq: i64,
    now: Millis,
) -> Result<TimeEntry> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO time_entries (organization_id, staff_id, client_id, work_day, minutes, billable, service, note, seq, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}")))
        .bind(org.0).bind(e.staff.0).bind(e.client.0).bind(e.day.0).bind(e.minutes).bind(e.billable)
        .bind(&e.service).bind(&e.note).bind(seq).bind(by.0).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(row.into())
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: TimeEntryId) -> Result<TimeEntry> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM time_entries WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL")))
        .bind(org.0).bind(id.0).fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("time entry"))?.into())
}

pub async fn update(c: &mut Conn<'_>, id: TimeEntryId, e: &TimeEntryInput, seq: i64, now: Millis) -> Result<TimeEntry> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "UPDATE time_entries SET staff_id = $2, client_id = $3, work_day = $4, minutes = $5, billable = $6, service = $7,
                note = $8, seq = $9, updated_at = $10, version = version + 1
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}")))
        .bind(id.0).bind(e.staff.0).bind(e.client.0).bind(e.day.0).bind(e.minutes).bind(e.billable)
        .bind(&e.service).bind(&e.note).bind(seq).bind(now)
        .fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("time entry"))?.into())
}

pub async fn delete(c: &mut Conn<'_>, id: TimeEntryId, seq: i64, now: Millis) -> Result<bool> {
    let n = on!(c, c => sqlx::query(
        "UPDATE time_entries SET deleted_at = $2, seq = $3, updated_at = $2, version = version + 1 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id.0).bind(now).bind(seq).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A page of entries, newest day first: of one client, one staff member, or both.
pub async fn list(
    c: &mut Conn<'_>,
    org: OrganizationId,
    client: Option<ClientId>,
    staff: Option<StaffId>,
    after: Option<(i32, i64)>,
    limit: i64,
) -> Result<Vec<TimeEntry>> {
    let (after_day, after_id) = after.unwrap_or((i32::MAX, i64::MAX));
    // One statement per case, each walking its own index backwards from the cursor: a single
    // statement with `($2 IS NULL OR client_id = $2)` cannot use either index, and scanned every
    // entry of the organisation for each page (half a second on a client's profile with 200,000
    // entries in the firm).
    let filter = match (client, staff) {
        (Some(_), Some(_)) => "client_id = $2 AND staff_id = $3",
        (Some(_), None) => "client_id = $2 AND $3 IS NULL",
        (None, Some(_)) => "staff_id = $3 AND $2 IS NULL",
        (None, None) => "$2 IS NULL AND $3 IS NULL",
    };
    let rows = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM time_entries
         WHERE {filter} AND organization_id = $1 AND deleted_at IS NULL
           AND (work_day < $4 OR (work_day = $4 AND id < $5))
         ORDER BY work_day DESC, id DESC LIMIT $6")))
        .bind(org.0).bind(client.map(|c| c.0)).bind(staff.map(|s| s.0)).bind(after_day).bind(after_id).bind(limit)
        .fetch_all(&mut **c).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A time entry as the report ledger keeps it; `deleted` entries are to be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerRow {
    pub seq: i64,
    pub id: i64,
    pub organization_id: i64,
    pub staff_id: i64,
    pub client_id: i64,
    pub work_day: i32,
    pub minutes: i32,
    pub billable: bool,
    pub deleted: bool,
}

/// Streams every entry written after `after`, in `seq` order, deletions included; or, when
/// `after` is 0 (loading from scratch), every live entry in id order.
pub async fn changed_since(c: &mut Conn<'_>, after: i64, mut each: impl FnMut(LedgerRow)) -> Result<()> {
    use futures_util::TryStreamExt;
    type Tuple = (i64, i64, i64, i64, i64, i32, i32, bool, bool);
    let sql = if after == 0 {
        "SELECT seq, id, organization_id, staff_id, client_id, work_day, minutes, billable, FALSE
         FROM time_entries WHERE deleted_at IS NULL AND seq > $1 ORDER BY id"
    } else {
        "SELECT seq, id, organization_id, staff_id, client_id, work_day, minutes, billable, deleted_at IS NOT NULL
         FROM time_entries WHERE seq > $1 ORDER BY seq, id"
    };
    if let Conn::Sqlite(c) = c {
        // Ten million rows when a process loads its ledger: read in place (see `fast.rs`), not
        // decoded and handed across the driver's thread one by one (a minute on the medium data
        // set that way).
        let sql = sql.replace("$1", "?1");
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare(&sql)?;
            let mut rows = stmt.query([after])?;
            while let Some(r) = rows.next()? {
                each(LedgerRow {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    organization_id: r.get(2)?,
                    staff_id: r.get(3)?,
                    client_id: r.get(4)?,
                    work_day: r.get(5)?,
                    minutes: r.get(6)?,
                    billable: r.get(7)?,
                    deleted: r.get(8)?,
                });
            }
            Ok(())
        })
        .await;
    }
    on!(c, c => {
        let mut rows = sqlx::query_as::<_, Tuple>(sql).bind(after).fetch(&mut **c);
        while let Some((seq, id, organization_id, staff_id, client_id, work_day, minutes, billable, deleted)) = rows.try_next().await? {
            each(LedgerRow { seq, id, organization_id, staff_id, client_id, work_day, minutes, billable, deleted });
        }
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// The last time entry number handed out by a committed transaction.
pub async fn current_seq(c: &mut Conn<'_>) -> Result<i64> {
    Ok(on!(c, c => sqlx::query_scalar("SELECT seq FROM time_entry_counter WHERE id = 1").fetch_one(&mut **c).await)?)
}

/// Takes `n` consecutive time entry numbers at once (an import's batch); returns the first. The
/// counter row stays locked until the transaction ends, as with [`next_seq`].
pub async fn take_seqs(c: &mut Conn<'_>, n: i64) -> Result<i64> {
    let last: i64 = on!(c, c => sqlx::query_scalar("UPDATE time_entry_counter SET seq = seq + $1 WHERE id = 1 RETURNING seq")
        .bind(n).fetch_one(&mut **c).await)?;
    Ok(last - n + 1)
}

/// The organisation's live entries with these ids.
pub async fn by_ids(c: &mut Conn<'_>, org: OrganizationId, ids: &[i64]) -> Result<Vec<TimeEntry>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let mut sql = crate::sql::Sql::for_backend(c.backend(), "SELECT ");
        sql.push(COLUMNS)
            .push(" FROM time_entries WHERE deleted_at IS NULL AND organization_id = ")
            .bind(org.0)
            .push(" AND id IN ")
            .bind_list(chunk.iter().copied());
        let (text, params) = sql.into_parts();
        let rows = on!(c, c => crate::bind_params!(sqlx::query_as::<_, Row>(text), params).fetch_all(&mut **c).await)?;
        found.extend(rows.into_iter().map(TimeEntry::from));
    }
    Ok(found)
}

/// Inserts many entries in a few statements, numbered `first_seq`, `first_seq + 1`, ... in the
/// order given (numbers from [`take_seqs`]); returns them as stored, in that order.
pub async fn insert_many(
    c: &mut Conn<'_>,
    org: OrganizationId,
    entries: &[TimeEntryInput],
    by: StaffId,
    first_seq: i64,
    now: Millis,
) -> Result<Vec<TimeEntry>> {
    use crate::sql::Param;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut values = Vec::with_capacity(entries.len() * 12);
    for (i, e) in entries.iter().enumerate() {
        values.extend([
            Param::I64(org.0),
            Param::I64(e.staff.0),
            Param::I64(e.client.0),
            Param::I32(e.day.0),
            Param::I32(e.minutes),
            Param::Bool(e.billable),
            Param::Text(e.service.clone()),
            Param::Text(e.note.clone()),
            Param::I64(first_seq + i as i64),
            Param::I64(by.0),
            Param::I64(now),
            Param::I64(now),
        ]);
    }
    crate::bulk::insert_flat(
        c,
        "time_entries",
        &[
            "organization_id",
            "staff_id",
            "client_id",
            "work_day",
            "minutes",
            "billable",
            "service",
            "note",
            "seq",
            "created_by",
            "created_at",
            "updated_at",
        ],
        values,
        "",
    )
    .await?;
    // The numbers were taken under the counter's lock, so they name exactly these rows.
    let last = first_seq + entries.len() as i64 - 1;
    let rows = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM time_entries WHERE seq >= $1 AND seq <= $2 ORDER BY seq")))
        .bind(first_seq).bind(last).fetch_all(&mut **c).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A time entry as an export writes it, with the names people read.
#[derive(Debug)]
pub struct ExportRow<'r> {
    pub id: i64,
    pub day: Day,
    pub client_id: i64,
    pub client_ref: Option<&'r str>,
    pub client_name: &'r str,
    pub staff_email: &'r str,
    pub staff_name: &'r str,
    pub minutes: i32,
    pub billable: bool,
    pub service: &'r str,
    pub note: &'r str,
}

/// Calls `each` with up to `limit` live entries in id order after `after`; returns how many. Like
/// the clients' export: rows stepped in place on SQLite, one JSON value built by PostgreSQL.
pub async fn each_by_id(
    c: &mut Conn<'_>,
    org: OrganizationId,
    after: i64,
    limit: i64,
    mut each: impl FnMut(&ExportRow<'_>),
) -> Result<i64> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    struct Json<'a>(
        i64,
        i32,
        i64,
        #[serde(borrow)] Option<Cow<'a, str>>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        i32,
        // 0 or 1.
        i64,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
    );
    const PAGE: &str = "FROM (SELECT t.id, t.work_day, t.client_id, c.external_ref, c.name AS client_name, s.email, s.name AS staff_name,
                t.minutes, t.billable, t.service, t.note
            FROM time_entries t JOIN clients c ON c.id = t.client_id JOIN staff s ON s.id = t.staff_id
            WHERE t.organization_id = $1 AND t.deleted_at IS NULL AND t.id > $2 ORDER BY t.id LIMIT $3) page";
    let pg = match c {
        Conn::Postgres(pg) => pg,
        // Stepped in place on the handle (`fast.rs`), like the clients' export.
        Conn::Sqlite(c) => {
            let sql = format!("SELECT * {PAGE}")
                .replace("$1", "?1")
                .replace("$2", "?2")
                .replace("$3", "?3");
            return crate::fast::with_sqlite(c, |db| {
                let mut stmt = db.prepare(&sql)?;
                let mut rows = stmt.query((org.0, after, limit))?;
                let mut n = 0;
                while let Some(r) = rows.next()? {
                    let text = |i: usize| -> rusqlite::Result<Option<&str>> {
                        r.get_ref(i)?.as_str_or_null().map_err(rusqlite::Error::from)
                    };
                    each(&ExportRow {
                        id: r.get(0)?,
                        day: Day(r.get(1)?),
                        client_id: r.get(2)?,
                        client_ref: text(3)?,
                        client_name: text(4)?.unwrap_or_default(),
                        staff_email: text(5)?.unwrap_or_default(),
                        staff_name: text(6)?.unwrap_or_default(),
                        minutes: r.get(7)?,
                        billable: r.get(8)?,
                        service: text(9)?.unwrap_or_default(),
                        note: text(10)?.unwrap_or_default(),
                    });
                    n += 1;
                }
                Ok(n)
            })
            .await;
        }
    };
    let json: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(json_agg(json_build_array(id, work_day, client_id, external_ref, client_name, email,
            staff_name, minutes, CASE WHEN billable THEN 1 ELSE 0 END, service, note) ORDER BY id)::text, '[]') {PAGE}"
    )))
    .bind(org.0)
    .bind(after)
    .bind(limit)
    .fetch_one(&mut **pg)
    .await?;
    let rows: Vec<Json<'_>> =
        serde_json::from_str(&json).map_err(|e| Error::internal("an export page could not be read").caused_by(e))?;
    for r in &rows {
        each(&ExportRow {
            id: r.0,
            day: Day(r.1),
            client_id: r.2,
            client_ref: r.3.as_deref(),
            client_name: &r.4,
            staff_email: &r.5,
            staff_name: &r.6,
            minutes: r.7,
            billable: r.8 != 0,
            service: &r.9,
            note: &r.10,
        });
    }
    Ok(rows.len() as i64)
}
