//! Staff and their API tokens (stored as SHA-256 hashes; the token itself is shown once).

use clientele_domain::entities::Staff;
use clientele_domain::staff::StaffRole;
use clientele_domain::{Error, Millis, OrganizationId, StaffId};

use crate::{Conn, Result, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    email: String,
    name: String,
    role: String,
    active: bool,
    version: i64,
    created_at: i64,
    must_change_password: bool,
}

impl Row {
    fn into_entity(self) -> Result<Staff> {
        Ok(Staff {
            id: StaffId(self.id),
            organization_id: OrganizationId(self.organization_id),
            email: self.email,
            name: self.name,
            role: StaffRole::parse(&self.role)?,
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            must_change_password: self.must_change_password,
        })
    }
}

pub struct NewStaff<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: StaffRole,
    pub password_hash: Option<&'a str>,
}

pub async fn insert(c: &mut Conn<'_>, org: OrganizationId, s: &NewStaff<'_>, now: Millis) -> Result<Staff> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "INSERT INTO staff (organization_id, email, name, role, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         RETURNING id, organization_id, email, name, role, active, version, created_at, must_change_password")
        .bind(org.0).bind(s.email).bind(s.name).bind(s.role.as_str()).bind(s.password_hash).bind(now)
        .fetch_one(&mut **c).await)?;
    row.into_entity()
}

/// A staff member of any organisation (a reset code names the person, not the organisation).
pub async fn get_any(c: &mut Conn<'_>, id: StaffId) -> Result<Staff> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, organization_id, email, name, role, active, version, created_at, must_change_password FROM staff WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("staff member"))?.into_entity()
}

pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: StaffId) -> Result<Staff> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, organization_id, email, name, role, active, version, created_at, must_change_password FROM staff WHERE organization_id = $1 AND id = $2")
        .bind(org.0).bind(id.0)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("staff member"))?.into_entity()
}

/// Finds a staff member by e-mail in any organisation (the CLI names people by e-mail). Returns the
/// first match by id; e-mails are unique per organisation.
pub async fn find_by_email(c: &mut Conn<'_>, email: &str) -> Result<Option<Staff>> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, organization_id, email, name, role, active, version, created_at, must_change_password FROM staff WHERE email = $1 ORDER BY id LIMIT 1")
        .bind(email)
        .fetch_optional(&mut **c).await)?;
    row.map(Row::into_entity).transpose()
}

pub async fn list(c: &mut Conn<'_>, org: OrganizationId, after: (&str, i64), limit: i64) -> Result<Vec<Staff>> {
    let rows = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, organization_id, email, name, role, active, version, created_at, must_change_password FROM staff
         WHERE organization_id = $1 AND (email > $2 OR (email = $2 AND id > $3))
         ORDER BY email, id LIMIT $4")
        .bind(org.0).bind(after.0).bind(after.1).bind(limit)
        .fetch_all(&mut **c).await)?;
    rows.into_iter().map(Row::into_entity).collect()
}

pub async fn update(
    c: &mut Conn<'_>,
    org: OrganizationId,
    id: StaffId,
    name: &str,
    role: StaffRole,
    active: bool,
    now: Millis,
) -> Result<Staff> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "UPDATE staff SET name = $3, role = $4, active = $5, version = version + 1, updated_at = $6
         WHERE organization_id = $1 AND id = $2
         RETURNING id, organization_id, email, name, role, active, version, created_at, must_change_password")
        .bind(org.0).bind(id.0).bind(name).bind(role.as_str()).bind(active).bind(now)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("staff member"))?.into_entity()
}

pub async fn count_active_admins(c: &mut Conn<'_>, org: OrganizationId) -> Result<i64> {
    Ok(
        on!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE organization_id = $1 AND role = 'admin' AND active")
        .bind(org.0).fetch_one(&mut **c).await)?,
    )
}

/// The token a hash belongs to and its owner, when the token is live: not revoked, not expired,
/// and its owner active.
pub struct TokenOwner {
    pub staff: Staff,
    pub token_id: i64,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
}

#[derive(sqlx::FromRow)]
struct TokenOwnerRow {
    #[sqlx(flatten)]
    staff: Row,
    token_id: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
}

pub async fn by_token_hash(c: &mut Conn<'_>, token_hash: &str, now: Millis) -> Result<Option<TokenOwner>> {
    let row = on!(c, c => sqlx::query_as::<_, TokenOwnerRow>(
        "SELECT s.id, s.organization_id, s.email, s.name, s.role, s.active, s.version, s.created_at, s.must_change_password,
                t.id AS token_id, t.expires_at, t.last_used_at
         FROM api_tokens t JOIN staff s ON s.id = t.staff_id
         WHERE t.token_hash = $1 AND s.active AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)")
        .bind(token_hash).bind(now)
        .fetch_optional(&mut **c).await)?;
    row.map(|r| {
        Ok(TokenOwner {
            staff: r.staff.into_entity()?,
            token_id: r.token_id,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        })
    })
    .transpose()
}

/// The active admins of the organisation.
pub async fn active_admins(c: &mut Conn<'_>, org: OrganizationId) -> Result<Vec<StaffId>> {
    let ids: Vec<i64> = on!(c, c => sqlx::query_scalar(
        "SELECT id FROM staff WHERE organization_id = $1 AND role = 'admin' AND active ORDER BY id")
        .bind(org.0).fetch_all(&mut **c).await)?;
    Ok(ids.into_iter().map(StaffId).collect())
}

/// A staff member as an import row names them: by e-mail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailFacts {
    pub id: i64,
    pub email: String,
    pub active: bool,
}

/// The organisation's staff with these e-mails (already lower-cased, as they are stored).
pub async fn by_emails(c: &mut Conn<'_>, org: OrganizationId, emails: &[String]) -> Result<Vec<EmailFacts>> {
    let mut found = Vec::with_capacity(emails.len());
    for chunk in emails.chunks(10_000) {
        let mut sql = crate::sql::Sql::for_backend(
            c.backend(),
            "SELECT id, email, active FROM staff WHERE organization_id = ",
        );
        sql.bind(org.0)
            .push(" AND email IN ")
            .bind_list(chunk.iter().map(String::as_str));
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => crate::bind_params!(sqlx::query_as::<_, EmailFacts>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    Ok(found)
}
