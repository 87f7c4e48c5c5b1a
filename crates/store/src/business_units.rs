//! Business units: offices, locations or brands. Every group belongs to exactly one.

use clientele_domain::entities::BusinessUnit;
use clientele_domain::{BusinessUnitId, Error, Millis, OrganizationId};

use crate::{Conn, Result, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    version: i64,
    created_at: i64,
}

impl From<Row> for BusinessUnit {
    fn from(r: Row) -> Self {
        BusinessUnit {
            id: BusinessUnitId(r.id),
            name: r.name,
            version: r.version,
            created_at: r.created_at,
        }
    }
}

pub async fn insert(
    c: &mut Conn<'_>,
    org: OrganizationId,
    name: &str,
    name_key: &str,
    now: Millis,
) -> Result<BusinessUnit> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "INSERT INTO business_units (organization_id, name, name_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         RETURNING id, name, version, created_at")
        .bind(org.0).bind(name).bind(name_key).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(row.into())
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: BusinessUnitId) -> Result<BusinessUnit> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, version, created_at FROM business_units WHERE organization_id = $1 AND id = $2")
        .bind(org.0).bind(id.0)
        .fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("business unit"))?.into())
}

pub async fn find_by_name(c: &mut Conn<'_>, org: OrganizationId, name_key: &str) -> Result<Option<BusinessUnit>> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, version, created_at FROM business_units WHERE organization_id = $1 AND name_key = $2")
        .bind(org.0).bind(name_key)
        .fetch_optional(&mut **c).await)?;
    Ok(row.map(Into::into))
}

/// A page ordered by name; `after` is the (name_key, id) of the last row of the previous page.
pub async fn list(
    c: &mut Conn<'_>,
    org: OrganizationId,
    after: (&str, i64),
    limit: i64,
) -> Result<Vec<(BusinessUnit, String)>> {
    #[derive(sqlx::FromRow)]
    struct Keyed {
        #[sqlx(flatten)]
        row: Row,
        name_key: String,
    }
    let rows = on!(c, c => sqlx::query_as::<_, Keyed>(
        "SELECT id, name, name_key, version, created_at FROM business_units
         WHERE organization_id = $1 AND (name_key > $2 OR (name_key = $2 AND id > $3))
         ORDER BY name_key, id LIMIT $4")
        .bind(org.0).bind(after.0).bind(after.1).bind(limit)
        .fetch_all(&mut **c).await)?;
    Ok(rows.into_iter().map(|k| (k.row.into(), k.name_key)).collect())
}

pub async fn rename(
    c: &mut Conn<'_>,
    org: OrganizationId,
    id: BusinessUnitId,
    name: &str,
    name_key: &str,
    now: Millis,
) -> Result<BusinessUnit> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "UPDATE business_units SET name = $3, name_key = $4, version = version + 1, updated_at = $5
         WHERE organization_id = $1 AND id = $2 RETURNING id, name, version, created_at")
        .bind(org.0).bind(id.0).bind(name).bind(name_key).bind(now)
        .fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("business unit"))?.into())
}

/// How many live groups and clients use the unit: a unit in use cannot be deleted.
pub async fn usage(c: &mut Conn<'_>, id: BusinessUnitId) -> Result<(i64, i64)> {
    let groups: i64 = on!(c, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM client_groups WHERE business_unit_id = $1 AND deleted_at IS NULL")
        .bind(id.0).fetch_one(&mut **c).await)?;
    let clients: i64 = on!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE business_unit_id = $1")
        .bind(id.0).fetch_one(&mut **c).await)?;
    Ok((groups, clients))
}

/// Deletes a unit that nothing uses any more (deleted groups' tombstones are moved off it first by
/// the caller's check: tombstones keep their unit, so a unit with tombstones is kept too).
pub async fn delete(c: &mut Conn<'_>, org: OrganizationId, id: BusinessUnitId) -> Result<bool> {
    let tombstones: i64 = on!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM client_groups WHERE business_unit_id = $1")
        .bind(id.0).fetch_one(&mut **c).await)?;
    if tombstones > 0 {
        return Err(Error::new(
            clientele_domain::ErrorCode::Conflict,
            "this business unit keeps the history of deleted groups and cannot be deleted",
        )
        .into());
    }
    let done = on!(c, c => sqlx::query("DELETE FROM business_units WHERE organization_id = $1 AND id = $2")
        .bind(org.0).bind(id.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
