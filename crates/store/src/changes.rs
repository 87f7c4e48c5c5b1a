//! The access change log: written by every transaction that changes who sees which client, read
//! by every server process to keep its access index fresh. Also the full-state reads that build
//! an index from scratch.

use clientele_domain::Millis;

use crate::sql::Param;
use crate::{Conn, Result, bulk, on};

/// One stored change (see `clientele_access::ChangeRow` for the meaning of the columns).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub seq: i64,
    pub kind: String,
    pub organization_id: i64,
    pub a: i64,
    pub b: i64,
    pub c: Option<i64>,
    pub text: Option<String>,
}

/// Takes the next sequence number. The counter row stays locked until the transaction ends, so
/// numbers are handed out in commit order (see the migration).
pub async fn next_seq(c: &mut Conn<'_>) -> Result<i64> {
    Ok(
        on!(c, c => sqlx::query_scalar("UPDATE change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(&mut **c).await)?,
    )
}

/// The last sequence number handed out by a committed transaction.
pub async fn current_seq(c: &mut Conn<'_>) -> Result<i64> {
    Ok(on!(c, c => sqlx::query_scalar("SELECT seq FROM change_counter WHERE id = 1").fetch_one(&mut **c).await)?)
}

/// A change to append to the log (see `clientele_access::ChangeRow` for the columns).
#[derive(Debug, Clone, Copy)]
pub struct NewRow<'a> {
    pub seq: i64,
    pub kind: &'a str,
    pub organization_id: i64,
    pub a: i64,
    pub b: i64,
    pub c: Option<i64>,
    pub text: Option<&'a str>,
    pub at: Millis,
}

pub async fn insert(c: &mut Conn<'_>, r: &NewRow<'_>) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO access_changes (seq, kind, organization_id, a, b, c, text, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(r.seq).bind(r.kind).bind(r.organization_id).bind(r.a).bind(r.b).bind(r.c).bind(r.text).bind(r.at)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Appends many changes in a few multi-row statements (a batch of an import records thousands).
pub async fn insert_many(c: &mut Conn<'_>, rows: &[NewRow<'_>]) -> Result<()> {
    let mut values = Vec::with_capacity(rows.len() * 8);
    for r in rows {
        values.extend([
            Param::I64(r.seq),
            Param::Text(r.kind.to_string()),
            Param::I64(r.organization_id),
            Param::I64(r.a),
            Param::I64(r.b),
            Param::OptI64(r.c),
            Param::OptText(r.text.map(str::to_string)),
            Param::I64(r.at),
        ]);
    }
    bulk::insert_flat(
        c,
        "access_changes",
        &["seq", "kind", "organization_id", "a", "b", "c", "text", "at"],
        values,
        "",
    )
    .await?;
    Ok(())
}

/// Every change of one transaction (one sequence number), in order.
pub async fn of_seq(c: &mut Conn<'_>, seq: i64) -> Result<Vec<Row>> {
    Ok(on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT seq, kind, organization_id, a, b, c, text FROM access_changes WHERE seq = $1 ORDER BY id")
        .bind(seq).fetch_all(&mut **c).await)?)
}

/// Changes after `after`, in commit order, at most `limit` of them.
pub async fn since(c: &mut Conn<'_>, after: i64, limit: i64) -> Result<Vec<Row>> {
    Ok(on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT seq, kind, organization_id, a, b, c, text FROM access_changes WHERE seq > $1 ORDER BY seq, id LIMIT $2")
        .bind(after).bind(limit).fetch_all(&mut **c).await)?)
}

/// Forgets changes every process has had time to apply (a process that falls further behind
/// reloads from the tables).
pub async fn prune(c: &mut Conn<'_>, before: Millis) -> Result<u64> {
    Ok(
        on!(c, c => sqlx::query("DELETE FROM access_changes WHERE at < $1").bind(before)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?,
    )
}

/// The oldest change still in the log, if any.
pub async fn oldest_seq(c: &mut Conn<'_>) -> Result<Option<i64>> {
    Ok(on!(c, c => sqlx::query_scalar("SELECT MIN(seq) FROM access_changes").fetch_one(&mut **c).await)?)
}

/// Calls `each` with every client: (organization, id, name_key, status code, business unit),
/// the status as 0 active, 1 inactive, 2 closed. Streams: a million clients are never held twice.
pub async fn each_client(c: &mut Conn<'_>, mut each: impl FnMut(i64, i64, String, i64, Option<i64>)) -> Result<()> {
    use futures_util::TryStreamExt;
    const SQL: &str = "SELECT organization_id, id, name_key,
            CAST(CASE status WHEN 'active' THEN 0 WHEN 'inactive' THEN 1 ELSE 2 END AS BIGINT), business_unit_id FROM clients";
    if let Conn::Sqlite(c) = c {
        // A million clients at start-up: read in place (see `fast.rs`).
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare(SQL)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                each(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            }
            Ok(())
        })
        .await;
    }
    on!(c, c => {
        let mut rows = sqlx::query_as::<_, (i64, i64, String, i64, Option<i64>)>(SQL).fetch(&mut **c);
        while let Some((org, id, name_key, status, unit)) = rows.try_next().await? {
            each(org, id, name_key, status, unit);
        }
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// Every live group: (organization, id, name_key, kind, business unit).
pub async fn all_groups(c: &mut Conn<'_>) -> Result<Vec<(i64, i64, String, String, i64)>> {
    Ok(
        on!(c, c => sqlx::query_as("SELECT organization_id, id, name_key, kind, business_unit_id FROM client_groups WHERE deleted_at IS NULL")
        .fetch_all(&mut **c).await)?,
    )
}

/// Every membership that ends by itself: (organization, group, client, valid_until).
pub async fn all_membership_validity(c: &mut Conn<'_>) -> Result<Vec<(i64, i64, i64, i64)>> {
    Ok(on!(c, c => sqlx::query_as(
        "SELECT organization_id, group_id, client_id, valid_until FROM group_clients WHERE valid_until IS NOT NULL")
        .fetch_all(&mut **c).await)?)
}

/// Until when each client whose organisation requires an active relationship may be in groups:
/// (organization, client, instant): its relationship's expiry, or 0 for a relationship already
/// expired (its memberships end at once, before the sweep deletes them).
pub async fn all_client_eligibility(c: &mut Conn<'_>) -> Result<Vec<(i64, i64, i64)>> {
    Ok(on!(c, c => sqlx::query_as(
        "SELECT c.organization_id, c.id, CASE WHEN c.relationship = 'expired' THEN 0 ELSE c.relationship_expires_at END
         FROM clients c JOIN organizations o ON o.id = c.organization_id
         WHERE o.require_active_relationship AND (c.relationship = 'expired' OR c.relationship_expires_at IS NOT NULL)")
        .fetch_all(&mut **c).await)?)
}

/// Every membership of a client in a group: (organization, group, client).
pub async fn all_group_clients(c: &mut Conn<'_>) -> Result<Vec<(i64, i64, i64)>> {
    const SQL: &str = "SELECT organization_id, group_id, client_id FROM group_clients";
    if let Conn::Sqlite(c) = c {
        // A million memberships at start-up: read in place (see `fast.rs`).
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare(SQL)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
        .await;
    }
    Ok(on!(c, c => sqlx::query_as(SQL).fetch_all(&mut **c).await)?)
}

/// Every nesting: (organization, parent, child).
pub async fn all_group_children(c: &mut Conn<'_>) -> Result<Vec<(i64, i64, i64)>> {
    Ok(
        on!(c, c => sqlx::query_as("SELECT organization_id, parent_id, child_id FROM group_children").fetch_all(&mut **c).await)?,
    )
}

/// Every assignment: (organization, staff, group, role, valid_until).
pub async fn all_assignments(c: &mut Conn<'_>) -> Result<Vec<(i64, i64, i64, String, Option<i64>)>> {
    Ok(
        on!(c, c => sqlx::query_as("SELECT organization_id, staff_id, group_id, role, valid_until FROM assignments").fetch_all(&mut **c).await)?,
    )
}
