//! Client groups, their logos, and the nesting neighbourhood the nesting rule needs.

use std::collections::HashMap;

use clientele_domain::entities::{ClientGroup, GroupRef};
use clientele_domain::group::{GroupFilter, GroupKind, GroupSort};
use clientele_domain::logo::{Logo, LogoVariant};
use clientele_domain::nesting::Neighbourhood;
use clientele_domain::{BusinessUnitId, Error, GroupId, Millis, OrganizationId, StaffId};

use crate::sql::{Sql, contains_pattern};
use crate::{Conn, Result, bind_params, on};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    name_key: String,
    kind: String,
    description: Option<String>,
    crm_id: Option<String>,
    business_unit_id: i64,
    protected: bool,
    member_count: i64,
    has_light_logo: bool,
    has_dark_logo: bool,
    version: i64,
    created_by: Option<i64>,
    created_at: i64,
    updated_by: Option<i64>,
    updated_at: i64,
}

impl Row {
    fn into_entity(self) -> Result<ClientGroup> {
        Ok(ClientGroup {
            id: GroupId(self.id),
            name: self.name,
            kind: GroupKind::parse(&self.kind)?,
            description: self.description,
            crm_id: self.crm_id,
            business_unit_id: BusinessUnitId(self.business_unit_id),
            protected: self.protected,
            member_count: self.member_count,
            has_light_logo: self.has_light_logo,
            has_dark_logo: self.has_dark_logo,
            version: self.version,
            created_by: self.created_by.map(StaffId),
            created_at: self.created_at,
            updated_by: self.updated_by.map(StaffId),
            updated_at: self.updated_at,
        })
    }
}

/// The columns of [`Row`], with the logo flags computed from `group_logos` (logos themselves are
/// never loaded with a group).
macro_rules! select_group {
    ($tail:literal) => {
        concat!(
            "SELECT g.id, g.name, g.name_key, g.kind, g.description, g.crm_id, g.business_unit_id, g.protected, g.member_count,
                EXISTS (SELECT 1 FROM group_logos l WHERE l.group_id = g.id AND l.variant = 'light') AS has_light_logo,
                EXISTS (SELECT 1 FROM group_logos l WHERE l.group_id = g.id AND l.variant = 'dark') AS has_dark_logo,
                g.version, g.created_by, g.created_at, g.updated_by, g.updated_at
             FROM client_groups g ",
            $tail
        )
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFields {
    pub name: String,
    pub name_key: String,
    pub description: Option<String>,
    pub crm_id: Option<String>,
    pub business_unit_id: BusinessUnitId,
    pub protected: bool,
}

pub async fn insert(
    c: &mut Conn<'_>,
    org: OrganizationId,
    kind: GroupKind,
    f: &GroupFields,
    by: StaffId,
    now: Millis,
) -> Result<GroupId> {
    let id: i64 = on!(c, c => sqlx::query_scalar(
        "INSERT INTO client_groups (organization_id, name, name_key, kind, description, crm_id, business_unit_id, protected,
            created_by, created_at, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $10) RETURNING id")
        .bind(org.0).bind(&f.name).bind(&f.name_key).bind(kind.as_str()).bind(&f.description).bind(&f.crm_id)
        .bind(f.business_unit_id.0).bind(f.protected).bind(by.0).bind(now)
        .fetch_one(&mut **c).await)?;
    Ok(GroupId(id))
}

pub async fn update(
    c: &mut Conn<'_>,
    org: OrganizationId,
    id: GroupId,
    f: &GroupFields,
    by: StaffId,
    now: Millis,
) -> Result<()> {
    let done = on!(c, c => sqlx::query(
        "UPDATE client_groups SET name = $3, name_key = $4, description = $5, crm_id = $6, business_unit_id = $7,
            protected = $8, updated_by = $9, updated_at = $10, version = version + 1
         WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(org.0).bind(id.0).bind(&f.name).bind(&f.name_key).bind(&f.description).bind(&f.crm_id)
        .bind(f.business_unit_id.0).bind(f.protected).bind(by.0).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(Error::not_found("client group").into());
    }
    Ok(())
}

/// Marks the group changed (a member or logo changed): new version, who and when.
pub async fn touch(c: &mut Conn<'_>, id: GroupId, member_delta: i64, by: Option<StaffId>, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query(
        "UPDATE client_groups SET member_count = member_count + $2, version = version + 1,
            updated_by = COALESCE($3, updated_by), updated_at = $4 WHERE id = $1")
        .bind(id.0).bind(member_delta).bind(by.map(|s| s.0)).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A live (not deleted) group of the organisation.
pub async fn get(c: &mut Conn<'_>, org: OrganizationId, id: GroupId) -> Result<ClientGroup> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(select_group!("WHERE g.organization_id = $1 AND g.id = $2 AND g.deleted_at IS NULL"))
        .bind(org.0).bind(id.0)
        .fetch_optional(&mut **c).await)?;
    row.ok_or_else(|| Error::not_found("client group"))?.into_entity()
}

pub async fn find_by_name(c: &mut Conn<'_>, org: OrganizationId, name_key: &str) -> Result<Option<ClientGroup>> {
    let row = on!(c, c => sqlx::query_as::<_, Row>(select_group!("WHERE g.organization_id = $1 AND g.name_key = $2 AND g.deleted_at IS NULL"))
        .bind(org.0).bind(name_key)
        .fetch_optional(&mut **c).await)?;
    row.map(Row::into_entity).transpose()
}

/// Whether a deleted group still holds this name (organisations that never reuse names).
pub async fn name_reserved_by_tombstone(c: &mut Conn<'_>, org: OrganizationId, name_key: &str) -> Result<bool> {
    let n: i64 = on!(c, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM client_groups WHERE organization_id = $1 AND name_key = $2 AND holds_name AND deleted_at IS NOT NULL")
        .bind(org.0).bind(name_key).fetch_one(&mut **c).await)?;
    Ok(n > 0)
}

/// The organisation's live groups that pass `filter`.
fn filtered(sql: &mut Sql, org: OrganizationId, filter: &GroupFilter) {
    sql.bind(org.0);
    if let Some(kind) = filter.kind {
        sql.push(" AND g.kind = ").bind(kind.as_str());
    }
    if let Some(unit) = filter.business_unit {
        sql.push(" AND g.business_unit_id = ").bind(unit.0);
    }
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        sql.push(" AND (g.name_key LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(g.crm_id) LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(parent) = filter.within {
        sql.push(" AND g.id IN (SELECT child_id FROM group_children WHERE parent_id = ")
            .bind(parent.0)
            .push(")");
    }
}

/// A page of groups in `filter.order`, after the cursor `after` (`("", 0)`: from the start), or
/// with `backward` the rows just before it, nearest first. Each comes with its cursor key
/// ([`GroupOrder::key`]).
pub async fn list(
    c: &mut Conn<'_>,
    org: OrganizationId,
    filter: &GroupFilter,
    after: (&str, i64),
    backward: bool,
    limit: i64,
) -> Result<Vec<(ClientGroup, String)>> {
    let order = filter.order;
    let mut sql = Sql::new(select_group!("WHERE g.deleted_at IS NULL AND g.organization_id = "));
    filtered(&mut sql, org, filter);
    // Read in reverse for a descending list, and again for a backward page.
    let reverse = order.descending != backward;
    let started = !after.0.is_empty() || after.1 != 0;
    match order.by {
        GroupSort::Name => {
            if started {
                sql.push(if reverse {
                    " AND (g.name_key, g.id) < ("
                } else {
                    " AND (g.name_key, g.id) > ("
                })
                .bind(after.0)
                .push(", ")
                .bind(after.1)
                .push(")");
            }
            sql.push(if reverse {
                " ORDER BY g.name_key DESC, g.id DESC LIMIT "
            } else {
                " ORDER BY g.name_key, g.id LIMIT "
            });
        }
        GroupSort::Members => {
            if started {
                let (count, name) = order.split_key(after.0);
                sql.push(if reverse {
                    " AND (g.member_count, g.name_key, g.id) < ("
                } else {
                    " AND (g.member_count, g.name_key, g.id) > ("
                })
                .bind(count)
                .push(", ")
                .bind(name.to_string())
                .push(", ")
                .bind(after.1)
                .push(")");
            }
            sql.push(if reverse {
                " ORDER BY g.member_count DESC, g.name_key DESC, g.id DESC LIMIT "
            } else {
                " ORDER BY g.member_count, g.name_key, g.id LIMIT "
            });
        }
    }
    sql.bind(limit);
    let (text, params) = sql.into_parts();
    let rows = on!(c, c => bind_params!(sqlx::query_as::<_, Row>(text), params).fetch_all(&mut **c).await)?;
    rows.into_iter()
        .map(|r| {
            let key = order.key(r.member_count, &r.name_key);
            r.into_entity().map(|g| (g, key))
        })
        .collect()
}

/// How many of the organisation's live groups pass `filter` (the lists' totals).
pub async fn count(c: &mut Conn<'_>, org: OrganizationId, filter: &GroupFilter) -> Result<i64> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM client_groups g WHERE g.deleted_at IS NULL AND g.organization_id = ");
    filtered(&mut sql, org, filter);
    let (text, params) = sql.into_parts();
    Ok(on!(c, c => bind_params!(sqlx::query_scalar::<_, i64>(text), params).fetch_one(&mut **c).await)?)
}

/// Soft-deletes the group: it disappears from every list, its row stays for the audit trail and,
/// when `reserve_name`, keeps holding its name forever.
pub async fn soft_delete(
    c: &mut Conn<'_>,
    org: OrganizationId,
    id: GroupId,
    reserve_name: bool,
    by: StaffId,
    now: Millis,
) -> Result<()> {
    on!(c, c => sqlx::query(
        "UPDATE client_groups SET deleted_at = $3, deleted_by = $4, holds_name = $5, version = version + 1
         WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(org.0).bind(id.0).bind(now).bind(by.0).bind(reserve_name)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    on!(c, c => sqlx::query("DELETE FROM group_logos WHERE group_id = $1").bind(id.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The groups of groups that directly contain `id`.
/// The parents of each of these groups: (child, parent), each child's parents in name order.
pub async fn parents_of(c: &mut Conn<'_>, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupRef)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        "SELECT gc.child_id, g.id, g.name, g.kind FROM group_children gc JOIN client_groups g ON g.id = gc.parent_id
         WHERE gc.child_id IN ",
    );
    sql.bind_list(ids.iter().map(|g| g.0))
        .push(" ORDER BY gc.child_id, g.name_key, g.id");
    let (text, params) = sql.into_parts();
    let rows: Vec<(i64, i64, String, String)> =
        on!(c, c => bind_params!(sqlx::query_as(text), params).fetch_all(&mut **c).await)?;
    rows.into_iter()
        .map(|(child, id, name, kind)| {
            Ok((
                GroupId(child),
                GroupRef {
                    id: GroupId(id),
                    name,
                    kind: GroupKind::parse(&kind)?,
                },
            ))
        })
        .collect()
}

pub async fn parents(c: &mut Conn<'_>, id: GroupId) -> Result<Vec<GroupRef>> {
    let rows: Vec<(i64, String, String)> = on!(c, c => sqlx::query_as(
        "SELECT g.id, g.name, g.kind FROM group_children gc JOIN client_groups g ON g.id = gc.parent_id
         WHERE gc.child_id = $1 ORDER BY g.name_key, g.id")
        .bind(id.0).fetch_all(&mut **c).await)?;
    rows.into_iter()
        .map(|(id, name, kind)| {
            Ok(GroupRef {
                id: GroupId(id),
                name,
                kind: GroupKind::parse(&kind)?,
            })
        })
        .collect()
}

/// Edges among the ancestors of `parent` and among the descendants of `child`, with names.
pub async fn neighbourhood(c: &mut Conn<'_>, parent: GroupId, child: GroupId) -> Result<Neighbourhood> {
    // Each edge comes with both names, so the whole neighbourhood is two queries however large.
    let up: Vec<(i64, i64, String, String)> = on!(c, c => sqlx::query_as(
        "WITH RECURSIVE up(id) AS (SELECT $1 UNION SELECT gc.parent_id FROM group_children gc JOIN up ON gc.child_id = up.id)
         SELECT gc.parent_id, gc.child_id, p.name, ch.name FROM group_children gc
         JOIN client_groups p ON p.id = gc.parent_id JOIN client_groups ch ON ch.id = gc.child_id
         WHERE gc.child_id IN (SELECT id FROM up)")
        .bind(parent.0).fetch_all(&mut **c).await)?;
    let down: Vec<(i64, i64, String, String)> = on!(c, c => sqlx::query_as(
        "WITH RECURSIVE down(id) AS (SELECT $1 UNION SELECT gc.child_id FROM group_children gc JOIN down ON gc.parent_id = down.id)
         SELECT gc.parent_id, gc.child_id, p.name, ch.name FROM group_children gc
         JOIN client_groups p ON p.id = gc.parent_id JOIN client_groups ch ON ch.id = gc.child_id
         WHERE gc.parent_id IN (SELECT id FROM down)")
        .bind(child.0).fetch_all(&mut **c).await)?;
    let mut names = HashMap::new();
    let mut edges = Vec::with_capacity(up.len() + down.len());
    for (p, ch, p_name, ch_name) in up.into_iter().chain(down) {
        edges.push((GroupId(p), GroupId(ch)));
        names.insert(GroupId(p), p_name);
        names.insert(GroupId(ch), ch_name);
    }
    Ok(Neighbourhood { edges, names })
}

pub async fn put_logo(c: &mut Conn<'_>, id: GroupId, variant: LogoVariant, logo: &Logo, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO group_logos (group_id, variant, png, width, height, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (group_id, variant) DO UPDATE SET png = excluded.png, width = excluded.width,
            height = excluded.height, updated_at = excluded.updated_at")
        .bind(id.0).bind(variant.as_str()).bind(&logo.png).bind(logo.width as i32).bind(logo.height as i32).bind(now)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete_logo(c: &mut Conn<'_>, id: GroupId, variant: LogoVariant) -> Result<bool> {
    let done = on!(c, c => sqlx::query("DELETE FROM group_logos WHERE group_id = $1 AND variant = $2")
        .bind(id.0).bind(variant.as_str()).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

/// The PNG bytes and the instant they were stored.
pub async fn logo(c: &mut Conn<'_>, id: GroupId, variant: LogoVariant) -> Result<Option<(Vec<u8>, Millis)>> {
    Ok(
        on!(c, c => sqlx::query_as("SELECT png, updated_at FROM group_logos WHERE group_id = $1 AND variant = $2")
        .bind(id.0).bind(variant.as_str()).fetch_optional(&mut **c).await)?,
    )
}

/// The live groups with these ids, in the order given.
pub async fn by_ids(c: &mut Conn<'_>, org: OrganizationId, ids: &[GroupId]) -> Result<Vec<ClientGroup>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        select_group!("WHERE g.deleted_at IS NULL AND g.organization_id = "),
    );
    sql.bind(org.0)
        .push(" AND g.id IN ")
        .bind_list(ids.iter().map(|id| id.0));
    let (text, params) = sql.into_parts();
    let rows = on!(c, c => bind_params!(sqlx::query_as::<_, Row>(text), params).fetch_all(&mut **c).await)?;
    let mut by_id: HashMap<i64, ClientGroup> = rows
        .into_iter()
        .map(|r| r.into_entity().map(|g| (g.id.0, g)))
        .collect::<Result<_>>()?;
    Ok(ids.iter().filter_map(|id| by_id.remove(&id.0)).collect())
}

crate::fast::row_struct! {
/// What a batch of membership rows needs to know of a group.
#[derive(Debug, Clone)]
pub struct GroupFacts {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub kind: String,
}
}

/// [`GroupFacts`] of the organisation's live groups with these ids or these name keys (a batch of
/// an import resolves all its rows' groups at once; no logo flags, which cost a subquery each).
pub async fn facts(c: &mut Conn<'_>, org: OrganizationId, ids: &[i64], keys: &[String]) -> Result<Vec<GroupFacts>> {
    // Stays a literal (the query builder takes only fixed text); `GroupFacts::COLUMNS` in order.
    const HEAD: &str =
        "SELECT id, name, name_key, kind FROM client_groups WHERE deleted_at IS NULL AND organization_id = ";
    if let Conn::Sqlite(c) = c {
        // Point lookups by key, prepared once (see `fast.rs`): an `IN` list of 10,000 ids cost
        // more to bind and parse than the lookups themselves.
        return crate::fast::with_sqlite(c, |db| {
            let columns = format!("SELECT {} FROM client_groups", GroupFacts::COLUMNS);
            let mut by_id = db.prepare(&format!(
                "{columns} WHERE id = ?2 AND organization_id = ?1 AND deleted_at IS NULL"
            ))?;
            let mut by_key = db.prepare(&format!(
                "{columns} WHERE organization_id = ?1 AND name_key = ?2 AND deleted_at IS NULL"
            ))?;
            let read = GroupFacts::from_sqlite;
            let mut found = Vec::with_capacity(ids.len() + keys.len());
            for id in ids {
                found.extend(rusqlite::OptionalExtension::optional(
                    by_id.query_row((org.0, id), read),
                )?);
            }
            for key in keys {
                found.extend(rusqlite::OptionalExtension::optional(
                    by_key.query_row((org.0, key.as_str()), read),
                )?);
            }
            Ok(found)
        })
        .await;
    }
    let mut found = Vec::with_capacity(ids.len() + keys.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let mut sql = Sql::for_backend(c.backend(), HEAD);
        sql.bind(org.0).push(" AND id IN ").bind_list(chunk.iter().copied());
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => bind_params!(sqlx::query_as::<_, GroupFacts>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    for chunk in keys.chunks(IN_CHUNK) {
        let mut sql = Sql::for_backend(c.backend(), HEAD);
        sql.bind(org.0)
            .push(" AND name_key IN ")
            .bind_list(chunk.iter().map(String::as_str));
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => bind_params!(sqlx::query_as::<_, GroupFacts>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    Ok(found)
}

/// Values per `IN` list of the set-based reads (well under either engine's parameter limit).
pub const IN_CHUNK: usize = 10_000;

/// Marks groups whose members changed at once (a batch of an import or a bulk removal), one
/// statement for all: each group's count moves by its number (negative for removals) and its
/// version moves as far as that many single changes would move it.
pub async fn touch_many(c: &mut Conn<'_>, changed: &[(GroupId, i64)], by: Option<StaffId>, now: Millis) -> Result<()> {
    for chunk in changed.chunks(IN_CHUNK) {
        let mut sql = Sql::for_backend(
            c.backend(),
            "UPDATE client_groups SET member_count = member_count + v.column2, version = version + abs(v.column2),
                updated_by = COALESCE(",
        );
        sql.bind(by.map(|s| s.0))
            .push(", updated_by), updated_at = ")
            .bind(now)
            .push(" FROM (VALUES ");
        for (n, (group, count)) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" });
            sql.bind(group.0).push(", ").bind(*count).push(")");
        }
        sql.push(") AS v WHERE client_groups.id = v.column1");
        let (text, params) = sql.into_parts();
        on!(c, c => bind_params!(sqlx::query(text), params).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Live groups in id order after `after` (exports).
pub async fn page_by_id(c: &mut Conn<'_>, org: OrganizationId, after: i64, limit: i64) -> Result<Vec<ClientGroup>> {
    let rows = on!(c, c => sqlx::query_as::<_, Row>(select_group!(
        "WHERE g.organization_id = $1 AND g.deleted_at IS NULL AND g.id > $2 ORDER BY g.id LIMIT $3"))
        .bind(org.0).bind(after).bind(limit)
        .fetch_all(&mut **c).await)?;
    rows.into_iter().map(Row::into_entity).collect()
}
