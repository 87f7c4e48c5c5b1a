//! Saved reports: a name, the report's query (as JSON text) and who may open it.

use clientele_domain::report::{ReportParams, SavedReport, Visibility};
use clientele_domain::{Error, Millis, OrganizationId, SavedReportId, StaffId};

use crate::{Conn, Result, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    owner_id: i64,
    name: String,
    visibility: String,
    query: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, owner_id, name, visibility, query, version, created_at, updated_at";

impl TryFrom<Row> for SavedReport {
    type Error = Error;
    fn try_from(r: Row) -> Result<Self, Error> {
        Ok(SavedReport {
            id: SavedReportId(r.id),
            owner_id: StaffId(r.owner_id),
            name: r.name,
            visibility: Visibility::parse(&r.visibility)?,
            params: serde_json::from_str::<ReportParams>(&r.query)
                .map_err(|e| Error::internal(format!("saved report {} has an unreadable query: {e}", r.id)))?,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn query_text(params: &ReportParams) -> String {
    serde_json::to_string(params).expect("report params serialise")
}

/// What a saved report holds besides its owner.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub name: &'a str,
    pub name_key: &'a str,
    pub visibility: Visibility,
    pub params: &'a ReportParams,
}

pub async fn insert(
    c: &mut Conn<'_>,
    org: OrganizationId,
    owner: StaffId,
    f: &Fields<'_>,
    now: Millis,
) -> Result<SavedReport> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO saved_reports (organization_id, owner_id, name, name_key, visibility, query, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}")))
        .bind(org.0).bind(owner.0).bind(f.name).bind(f.name_key).bind(f.visibility.as_str()).bind(query_text(f.params)).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(row.try_into()?)
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: SavedReportId) -> Result<SavedReport> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM saved_reports WHERE organization_id = $1 AND id = $2")))
        .bind(org.0).bind(id.0).fetch_optional(&mut **c).await)?;
    Ok(row.ok_or_else(|| Error::not_found("saved report"))?.try_into()?)
}

/// The reports `viewer` may open: their own and the organisation's, by name.
pub async fn list_visible(c: &mut Conn<'_>, org: OrganizationId, viewer: StaffId) -> Result<Vec<SavedReport>> {
    let rows = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM saved_reports WHERE organization_id = $1 AND (owner_id = $2 OR visibility = 'organization')
         ORDER BY name_key, id")))
        .bind(org.0).bind(viewer.0).fetch_all(&mut **c).await)?;
    Ok(rows.into_iter().map(TryInto::try_into).collect::<Result<_, Error>>()?)
}

pub async fn update(c: &mut Conn<'_>, id: SavedReportId, f: &Fields<'_>, now: Millis) -> Result<SavedReport> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "UPDATE saved_reports SET name = $2, name_key = $3, visibility = $4, query = $5, updated_at = $6, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}")))
        .bind(id.0).bind(f.name).bind(f.name_key).bind(f.visibility.as_str()).bind(query_text(f.params)).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(row.try_into()?)
}

pub async fn delete(c: &mut Conn<'_>, id: SavedReportId) -> Result<()> {
    on!(c, c => sqlx::query("DELETE FROM saved_reports WHERE id = $1").bind(id.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
