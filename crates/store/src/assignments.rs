//! Assignments: a staff member in charge of a group, with a role.

use clientele_domain::{GroupId, Millis, OrganizationId, StaffId};

use crate::{Conn, Result, on};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub staff_id: i64,
    pub group_id: i64,
    pub role: String,
    pub valid_until: Option<i64>,
    pub assigned_by: Option<i64>,
    pub assigned_at: i64,
    pub staff_name: String,
    pub staff_email: String,
    pub group_name: String,
}

const SELECT: &str = "SELECT a.staff_id, a.group_id, a.role, a.valid_until, a.assigned_by, a.assigned_at,
        s.name AS staff_name, s.email AS staff_email, g.name AS group_name
    FROM assignments a JOIN staff s ON s.id = a.staff_id JOIN client_groups g ON g.id = a.group_id ";

/// An assignment to write: who, to which group, with which role, until when, by whom.
#[derive(Debug, Clone, Copy)]
pub struct NewAssignment<'a> {
    pub org: OrganizationId,
    pub staff: StaffId,
    pub group: GroupId,
    pub role: &'a str,
    pub valid_until: Option<Millis>,
    pub by: StaffId,
    pub at: Millis,
}

/// Assigns or re-assigns (new role or validity); returns the previous role, if any.
pub async fn upsert(c: &mut Conn<'_>, a: &NewAssignment<'_>) -> Result<Option<String>> {
    let before: Option<String> = on!(c, c => sqlx::query_scalar("SELECT role FROM assignments WHERE staff_id = $1 AND group_id = $2")
        .bind(a.staff.0).bind(a.group.0).fetch_optional(&mut **c).await)?;
    on!(c, c => sqlx::query(
        "INSERT INTO assignments (staff_id, group_id, organization_id, role, valid_until, assigned_by, assigned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (staff_id, group_id) DO UPDATE SET role = excluded.role, valid_until = excluded.valid_until,
            assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at")
        .bind(a.staff.0).bind(a.group.0).bind(a.org.0).bind(a.role).bind(a.valid_until).bind(a.by.0).bind(a.at)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(before)
}

pub async fn delete(c: &mut Conn<'_>, staff: StaffId, group: GroupId) -> Result<bool> {
    let done = on!(c, c => sqlx::query("DELETE FROM assignments WHERE staff_id = $1 AND group_id = $2")
        .bind(staff.0).bind(group.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Removes every assignment to a group being deleted; returns the staff who had one.
pub async fn delete_for_group(c: &mut Conn<'_>, group: GroupId) -> Result<Vec<StaffId>> {
    let staff: Vec<i64> = on!(c, c => sqlx::query_scalar("DELETE FROM assignments WHERE group_id = $1 RETURNING staff_id")
        .bind(group.0).fetch_all(&mut **c).await)?;
    Ok(staff.into_iter().map(StaffId).collect())
}

pub async fn for_group(c: &mut Conn<'_>, group: GroupId) -> Result<Vec<Row>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.group_id = $1 ORDER BY s.email, s.id"));
    Ok(on!(c, c => sqlx::query_as::<_, Row>(sql).bind(group.0).fetch_all(&mut **c).await)?)
}

pub async fn for_staff(c: &mut Conn<'_>, staff: StaffId) -> Result<Vec<Row>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE a.staff_id = $1 AND g.deleted_at IS NULL ORDER BY g.name_key, g.id"
    ));
    Ok(on!(c, c => sqlx::query_as::<_, Row>(sql).bind(staff.0).fetch_all(&mut **c).await)?)
}

/// Assignments whose validity ended at or before `now`: (organization, staff, group).
pub async fn lapsed(c: &mut Conn<'_>, now: Millis, limit: i64) -> Result<Vec<(i64, i64, i64)>> {
    Ok(on!(c, c => sqlx::query_as(
        "SELECT organization_id, staff_id, group_id FROM assignments WHERE valid_until IS NOT NULL AND valid_until <= $1 ORDER BY valid_until LIMIT $2")
        .bind(now).bind(limit).fetch_all(&mut **c).await)?)
}
