//! Organisations and their policies.

use clientele_domain::entities::Organization;
use clientele_domain::policy::{DeletePolicy, MembershipMode, Policies};
use clientele_domain::{Error, Millis, OrganizationId};

use crate::{Conn, Result, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    membership_mode: String,
    delete_policy: String,
    reserve_deleted_names: bool,
    require_active_relationship: bool,
    max_nesting_depth: i32,
    require_first_member: bool,
    version: i64,
}

impl Row {
    fn into_entity(self) -> Result<Organization> {
        Ok(Organization {
            id: OrganizationId(self.id),
            name: self.name,
            policies: Policies {
                membership_mode: MembershipMode::parse(&self.membership_mode)?,
                delete_policy: DeletePolicy::parse(&self.delete_policy)?,
                reserve_deleted_names: self.reserve_deleted_names,
                require_active_relationship: self.require_active_relationship,
                max_nesting_depth: self.max_nesting_depth,
                require_first_member: self.require_first_member,
            },
            version: self.version,
        })
    }
}

pub async fn insert(c: &mut Conn<'_>, name: &str, policies: &Policies, now: Millis) -> Result<Organization> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "INSERT INTO organizations (name, membership_mode, delete_policy, reserve_deleted_names, require_active_relationship, max_nesting_depth, require_first_member, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $8, $7, $7)
         RETURNING id, name, membership_mode, delete_policy, reserve_deleted_names, require_active_relationship, max_nesting_depth, require_first_member, version")
        .bind(name)
        .bind(policies.membership_mode.as_str())
        .bind(policies.delete_policy.as_str())
        .bind(policies.reserve_deleted_names)
        .bind(policies.require_active_relationship)
        .bind(policies.max_nesting_depth)
        .bind(now)
        .bind(policies.require_first_member)
        .fetch_one(&mut **c).await)?;
    row.into_entity()
}

pub async fn get(c: &mut Conn<'_>, id: OrganizationId) -> Result<Organization> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, membership_mode, delete_policy, reserve_deleted_names, require_active_relationship, max_nesting_depth, require_first_member, version
         FROM organizations WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("organization"))?.into_entity()
}

/// Reads the organisation inside a write transaction and holds a lock on it until commit.
///
/// Every write takes the shared lock, so its view of the policies cannot change under it; policy
/// changes and nesting changes take the exclusive lock, which serialises them against each other
/// (two concurrent nestings could otherwise each pass the cycle check and together form a cycle).
/// SQLite needs nothing: a write transaction there already excludes every other writer.
pub async fn get_locked(c: &mut Conn<'_>, id: OrganizationId, exclusive: bool) -> Result<Organization> {
    if let Conn::Postgres(pg) = c {
        let sql = if exclusive {
            "SELECT id FROM organizations WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT id FROM organizations WHERE id = $1 FOR SHARE"
        };
        sqlx::query(sql).bind(id.0).execute(&mut **pg).await?;
    }
    get(c, id).await
}

pub async fn first(c: &mut Conn<'_>) -> Result<Option<Organization>> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "SELECT id, name, membership_mode, delete_policy, reserve_deleted_names, require_active_relationship, max_nesting_depth, require_first_member, version
         FROM organizations ORDER BY id LIMIT 1")
        .fetch_optional(&mut **c).await)?;
    row.map(Row::into_entity).transpose()
}

pub async fn update_policies(c: &mut Conn<'_>, id: OrganizationId, p: &Policies, now: Millis) -> Result<Organization> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(
        "UPDATE organizations SET membership_mode = $2, delete_policy = $3, reserve_deleted_names = $4,
            require_active_relationship = $5, max_nesting_depth = $6, require_first_member = $8,
            version = version + 1, updated_at = $7
         WHERE id = $1
         RETURNING id, name, membership_mode, delete_policy, reserve_deleted_names, require_active_relationship, max_nesting_depth, require_first_member, version")
        .bind(id.0)
        .bind(p.membership_mode.as_str())
        .bind(p.delete_policy.as_str())
        .bind(p.reserve_deleted_names)
        .bind(p.require_active_relationship)
        .bind(p.max_nesting_depth)
        .bind(now)
        .bind(p.require_first_member)
        .fetch_one(&mut **c).await)?;
    row.into_entity()
}
