//! Memberships: clients in groups of clients, and groups nested in groups of groups.

use clientele_domain::audit::Cause;
use clientele_domain::client::ClientStatus;
use clientele_domain::entities::{GroupRef, Member};
use clientele_domain::group::GroupKind;
use clientele_domain::{ClientId, GroupId, Millis, OrganizationId, StaffId};

use crate::sql::{Param, Sql};
use crate::{Backend, Conn, Result, bind_params, on};

/// Who added a membership, why and when: recorded on the membership row itself.
#[derive(Debug, Clone, Copy)]
pub struct Provenance {
    pub by: Option<StaffId>,
    pub cause: Cause,
    pub at: Millis,
}

/// Adds a client to a group. `exclusive` fills the column whose unique index allows one group per
/// client. Returns false when nothing was inserted: the client is already in this group or, in
/// exclusive mode, in another one ([`group_of_exclusive_client`] tells which).
pub async fn add_client(
    c: &mut Conn<'_>,
    org: OrganizationId,
    group: GroupId,
    client: ClientId,
    exclusive: bool,
    how: Provenance,
) -> Result<bool> {
    // ON CONFLICT DO NOTHING without a target covers both unique indexes, so a lost race is an
    // answer ("not added") rather than an error that would abort the whole transaction.
    let done = on!(c, c => sqlx::query(
        "INSERT INTO group_clients (group_id, client_id, organization_id, exclusive_client_id, added_by, added_at, cause)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING")
        .bind(group.0).bind(client.0).bind(org.0).bind(exclusive.then_some(client.0))
        .bind(how.by.map(|s| s.0)).bind(how.at).bind(how.cause.as_str())
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Membership history. A membership is its own open period (the client has been in the group
/// since `added_at`, until `valid_until` when it has one); `membership_periods` keeps the closed
/// ones, written by every function here that removes memberships, from the rows it deletes, in the
/// same transaction. Reports read both to count work for the groups a client was in on the date
/// of the work.
///
/// A removed membership, as its `DELETE ... RETURNING` gives it back.
type Removed = (i64, i64, i64, i64, Option<Millis>);

/// The columns a removal returns, in [`Removed`]'s order.
const REMOVED: &str = "RETURNING organization_id, group_id, client_id, added_at, valid_until";

/// Writes the closed periods of memberships just removed: each ended now, or when its validity
/// ran out if that came first (a lapsed membership the sweep removes late).
async fn close_periods(c: &mut Conn<'_>, removed: &[Removed], now: Millis) -> Result<()> {
    if removed.is_empty() {
        return Ok(());
    }
    let values = removed
        .iter()
        .flat_map(|&(org, group, client, added_at, valid_until)| {
            [
                Param::I64(org),
                Param::I64(group),
                Param::I64(client),
                Param::I64(added_at),
                Param::I64(valid_until.map_or(now, |until| until.min(now))),
            ]
        })
        .collect();
    crate::bulk::insert_flat(
        c,
        "membership_periods",
        &["organization_id", "group_id", "client_id", "started_at", "ended_at"],
        values,
        "",
    )
    .await?;
    Ok(())
}

/// A period of the membership history: the client was directly in the group from `started_at`
/// until `ended_at` (open when still a member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub group: GroupId,
    pub client: ClientId,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
}

/// The periods of an organisation that began or ended after `since`: the only ones by which the
/// memberships of any instant after `since` differ from today's. Closed periods that ended after
/// it (those that started after it ended after it too), memberships added after it, and
/// memberships whose validity runs out after it.
pub async fn periods_changed_since(c: &mut Conn<'_>, org: OrganizationId, since: Millis) -> Result<Vec<Period>> {
    let rows: Vec<(i64, i64, i64, Option<i64>)> = on!(c, c => sqlx::query_as(
        "SELECT group_id, client_id, started_at, ended_at FROM membership_periods
         WHERE organization_id = $1 AND ended_at IS NOT NULL AND ended_at > $2
         UNION ALL
         SELECT group_id, client_id, added_at, valid_until FROM group_clients
         WHERE organization_id = $1 AND added_at > $2
         UNION ALL
         SELECT group_id, client_id, added_at, valid_until FROM group_clients
         WHERE valid_until IS NOT NULL AND valid_until > $2 AND organization_id = $1 AND added_at <= $2")
        .bind(org.0).bind(since).fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(group, client, started_at, ended_at)| Period {
            group: GroupId(group),
            client: ClientId(client),
            started_at,
            ended_at,
        })
        .collect())
}

/// Adds many (group, client) memberships in a few multi-row statements (a batch of an import, its
/// rules already checked). Like [`add_client`], a pair that conflicts with either unique index is
/// skipped rather than failing the transaction; returns the pairs actually inserted, so the caller
/// can tell a lost race (PostgreSQL, another writer in between) from an addition.
pub async fn add_clients(
    c: &mut Conn<'_>,
    org: OrganizationId,
    pairs: &[(GroupId, ClientId)],
    exclusive: bool,
    how: Provenance,
) -> Result<Vec<(GroupId, ClientId)>> {
    const COLUMNS: &[&str] = &[
        "group_id",
        "client_id",
        "organization_id",
        "exclusive_client_id",
        "added_by",
        "added_at",
        "cause",
    ];
    let row = |&(group, client): &(GroupId, ClientId)| {
        [
            Param::I64(group.0),
            Param::I64(client.0),
            Param::I64(org.0),
            Param::OptI64(exclusive.then_some(client.0)),
            Param::OptI64(how.by.map(|s| s.0)),
            Param::I64(how.at),
            Param::Static(how.cause.as_str()),
        ]
    };
    let inserted = match c {
        // The caller read the memberships in this same `BEGIN IMMEDIATE` transaction, and SQLite
        // has one writer: nothing can have come in between, so every pair goes in.
        Conn::Sqlite(_) => {
            let values = pairs.iter().flat_map(row).collect();
            let n = crate::bulk::insert_flat(c, "group_clients", COLUMNS, values, " ON CONFLICT DO NOTHING").await?;
            if n as usize != pairs.len() {
                return Err(clientele_domain::Error::internal(format!(
                    "{} of {} memberships were already there after they were read",
                    pairs.len() as u64 - n,
                    pairs.len()
                ))
                .into());
            }
            pairs.to_vec()
        }
        // Another transaction may have added some of them since they were read.
        Conn::Postgres(pg) => {
            let per_statement = (crate::bulk::max_params(Backend::Postgres) / COLUMNS.len()).min(4_000);
            let mut inserted = Vec::with_capacity(pairs.len());
            for chunk in pairs.chunks(per_statement) {
                let mut sql = Sql::for_backend(
                    Backend::Postgres,
                    "INSERT INTO group_clients (group_id, client_id, organization_id, exclusive_client_id, added_by, added_at, cause) VALUES ",
                );
                let mut values = chunk.iter().flat_map(row);
                crate::bulk::values_list(&mut sql, &mut values, COLUMNS.len(), chunk.len());
                sql.push(" ON CONFLICT DO NOTHING RETURNING group_id, client_id");
                let (text, params) = sql.into_parts();
                let rows: Vec<(i64, i64)> = bind_params!(sqlx::query_as::<_, (i64, i64)>(text), params)
                    .fetch_all(&mut **pg)
                    .await?;
                inserted.extend(rows.into_iter().map(|(g, cl)| (GroupId(g), ClientId(cl))));
            }
            inserted
        }
    };
    Ok(inserted)
}

/// Which of these (group, client) pairs are memberships already: one indexed lookup per pair, so
/// the answer costs the same however many groups each client is in.
pub async fn existing_memberships(c: &mut Conn<'_>, pairs: &[(i64, i64)]) -> Result<Vec<(i64, i64)>> {
    if let Conn::Sqlite(c) = c {
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare("SELECT 1 FROM group_clients WHERE group_id = ?1 AND client_id = ?2")?;
            let mut found = Vec::new();
            for &pair in pairs {
                if stmt.exists(pair)? {
                    found.push(pair);
                }
            }
            Ok(found)
        })
        .await;
    }
    let mut found = Vec::new();
    for chunk in pairs.chunks(10_000) {
        // A join with the list rather than `(group_id, client_id) IN (...)`, which SQLite answers
        // with a scan of the whole table.
        let mut sql = Sql::for_backend(c.backend(), "SELECT gc.group_id, gc.client_id FROM (VALUES ");
        for (n, (group, client)) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" });
            sql.bind(*group).push(", ").bind(*client).push(")");
        }
        sql.push(") AS v JOIN group_clients gc ON gc.group_id = v.column1 AND gc.client_id = v.column2");
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => bind_params!(sqlx::query_as::<_, (i64, i64)>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    Ok(found)
}

/// Every membership of these clients: (group, client, whether it holds the exclusive slot). Under
/// exclusive membership (at most one per client) one read answers both "already a member?" and
/// "in which group?" for a whole batch.
pub async fn memberships_of_clients(c: &mut Conn<'_>, clients: &[i64]) -> Result<Vec<(i64, i64, bool)>> {
    let mut found = Vec::new();
    for chunk in clients.chunks(10_000) {
        let mut sql = Sql::for_backend(
            c.backend(),
            "SELECT group_id, client_id, exclusive_client_id IS NOT NULL FROM group_clients WHERE client_id IN ",
        );
        sql.bind_list(chunk.iter().copied());
        let (text, params) = sql.into_parts();
        found.extend(
            on!(c, c => bind_params!(sqlx::query_as::<_, (i64, i64, bool)>(text), params).fetch_all(&mut **c).await)?,
        );
    }
    Ok(found)
}

/// Streams the client members of these groups in (group, client) order to `each` as (group,
/// client, the client's external reference): one query for a page of groups (exports).
pub async fn each_client_member(
    c: &mut Conn<'_>,
    groups: &[i64],
    mut each: impl FnMut(i64, i64, Option<&str>),
) -> Result<()> {
    use futures_util::TryStreamExt;
    use sqlx::Row as _;
    if groups.is_empty() {
        return Ok(());
    }
    if let Conn::Sqlite(c) = c {
        // Group by group in (group, client) order from the primary key, rows read in place.
        return crate::fast::with_sqlite(c, |db| {
            let mut stmt = db.prepare(
                "SELECT gc.client_id, cl.external_ref FROM group_clients gc JOIN clients cl ON cl.id = gc.client_id
                 WHERE gc.group_id = ?1 ORDER BY gc.client_id",
            )?;
            let mut sorted = groups.to_vec();
            sorted.sort_unstable();
            for group in sorted {
                let mut rows = stmt.query([group])?;
                while let Some(r) = rows.next()? {
                    each(group, r.get(0)?, r.get_ref(1)?.as_str_or_null()?);
                }
            }
            Ok(())
        })
        .await;
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        "SELECT gc.group_id, gc.client_id, cl.external_ref FROM group_clients gc JOIN clients cl ON cl.id = gc.client_id
         WHERE gc.group_id IN ",
    );
    sql.bind_list(groups.iter().copied())
        .push(" ORDER BY gc.group_id, gc.client_id");
    let (text, params) = sql.into_parts();
    on!(c, c => {
        let mut rows = bind_params!(sqlx::query(text), params).fetch(&mut **c);
        while let Some(row) = rows.try_next().await? {
            each(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        }
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// The live groups nested directly in these groups: (parent, child's name), in (parent, child)
/// order (exports).
pub async fn children_names(c: &mut Conn<'_>, parents: &[i64]) -> Result<Vec<(i64, String)>> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        "SELECT gc.parent_id, ch.name FROM group_children gc JOIN client_groups ch ON ch.id = gc.child_id
         WHERE ch.deleted_at IS NULL AND gc.parent_id IN ",
    );
    sql.bind_list(parents.iter().copied())
        .push(" ORDER BY gc.parent_id, gc.child_id");
    let (text, params) = sql.into_parts();
    Ok(on!(c, c => bind_params!(sqlx::query_as::<_, (i64, String)>(text), params).fetch_all(&mut **c).await)?)
}

pub async fn is_client_member(c: &mut Conn<'_>, group: GroupId, client: ClientId) -> Result<bool> {
    let n: i64 = on!(c, c => sqlx::query_scalar("SELECT COUNT(*) FROM group_clients WHERE group_id = $1 AND client_id = $2")
        .bind(group.0).bind(client.0).fetch_one(&mut **c).await)?;
    Ok(n > 0)
}

/// The group a client occupies under exclusive membership, if any.
pub async fn group_of_exclusive_client(c: &mut Conn<'_>, client: ClientId) -> Result<Option<GroupRef>> {
    let row: Option<(i64, String)> = on!(c, c => sqlx::query_as(
        "SELECT g.id, g.name FROM group_clients gc JOIN client_groups g ON g.id = gc.group_id WHERE gc.exclusive_client_id = $1")
        .bind(client.0).fetch_optional(&mut **c).await)?;
    Ok(row.map(|(id, name)| GroupRef {
        id: GroupId(id),
        name,
        kind: GroupKind::Clients,
    }))
}

pub async fn remove_client(c: &mut Conn<'_>, group: GroupId, client: ClientId, now: Millis) -> Result<bool> {
    let sql = format!("DELETE FROM group_clients WHERE group_id = $1 AND client_id = $2 {REMOVED}");
    let removed: Vec<Removed> = on!(c, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(group.0).bind(client.0).fetch_all(&mut **c).await)?;
    close_periods(c, &removed, now).await?;
    Ok(!removed.is_empty())
}

/// Removes many clients from one group (a batch of a bulk removal, or of a large group being
/// deleted), closing each membership's period as [`remove_client`] does. Returns the clients that
/// were members, each once, whatever order or repeats `clients` has.
pub async fn remove_clients(
    c: &mut Conn<'_>,
    group: GroupId,
    clients: &[ClientId],
    now: Millis,
) -> Result<Vec<ClientId>> {
    let removed: Vec<Removed> = match c {
        Conn::Sqlite(s) => {
            crate::fast::with_sqlite(s, |db| {
                let mut stmt = db.prepare(&format!(
                    "DELETE FROM group_clients WHERE group_id = ?1 AND client_id = ?2 {REMOVED}"
                ))?;
                let mut removed = Vec::new();
                for client in clients {
                    let mut rows = stmt.query((group.0, client.0))?;
                    while let Some(r) = rows.next()? {
                        removed.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
                    }
                }
                Ok(removed)
            })
            .await?
        }
        Conn::Postgres(pg) => {
            let ids: Vec<i64> = clients.iter().map(|c| c.0).collect();
            let sql = format!("DELETE FROM group_clients WHERE group_id = $1 AND client_id = ANY($2) {REMOVED}");
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(group.0)
                .bind(ids)
                .fetch_all(&mut **pg)
                .await?
        }
    };
    close_periods(c, &removed, now).await?;
    Ok(removed.iter().map(|r| ClientId(r.2)).collect())
}

pub async fn add_child(
    c: &mut Conn<'_>,
    org: OrganizationId,
    parent: GroupId,
    child: GroupId,
    how: Provenance,
) -> Result<bool> {
    let done = on!(c, c => sqlx::query(
        "INSERT INTO group_children (parent_id, child_id, organization_id, added_by, added_at, cause)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
        .bind(parent.0).bind(child.0).bind(org.0).bind(how.by.map(|s| s.0)).bind(how.at).bind(how.cause.as_str())
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn remove_child(c: &mut Conn<'_>, parent: GroupId, child: GroupId) -> Result<bool> {
    let done = on!(c, c => sqlx::query("DELETE FROM group_children WHERE parent_id = $1 AND child_id = $2")
        .bind(parent.0).bind(child.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Removes every membership of and in a group being deleted; returns (clients, child groups,
/// parent groups) that were detached. Clients themselves are never touched.
pub async fn detach_all(
    c: &mut Conn<'_>,
    group: GroupId,
    now: Millis,
) -> Result<(Vec<ClientId>, Vec<GroupId>, Vec<GroupId>)> {
    let sql = format!("DELETE FROM group_clients WHERE group_id = $1 {REMOVED}");
    let removed: Vec<Removed> = on!(c, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(group.0).fetch_all(&mut **c).await)?;
    close_periods(c, &removed, now).await?;
    let clients: Vec<i64> = removed.iter().map(|r| r.2).collect();
    let children: Vec<i64> = on!(c, c => sqlx::query_scalar("DELETE FROM group_children WHERE parent_id = $1 RETURNING child_id")
        .bind(group.0).fetch_all(&mut **c).await)?;
    let parents: Vec<i64> = on!(c, c => sqlx::query_scalar("DELETE FROM group_children WHERE child_id = $1 RETURNING parent_id")
        .bind(group.0).fetch_all(&mut **c).await)?;
    Ok((
        clients.into_iter().map(ClientId).collect(),
        children.into_iter().map(GroupId).collect(),
        parents.into_iter().map(GroupId).collect(),
    ))
}

/// Groups the client is directly in.
pub async fn groups_of_client(c: &mut Conn<'_>, client: ClientId) -> Result<Vec<GroupRef>> {
    let rows: Vec<(i64, String)> = on!(c, c => sqlx::query_as(
        "SELECT g.id, g.name FROM group_clients gc JOIN client_groups g ON g.id = gc.group_id
         WHERE gc.client_id = $1 ORDER BY g.name_key, g.id")
        .bind(client.0).fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| GroupRef {
            id: GroupId(id),
            name,
            kind: GroupKind::Clients,
        })
        .collect())
}

/// The groups holding each of these clients directly (memberships whose validity has not run
/// out), by group name: a list page's group badges in one statement.
pub async fn groups_of_clients(
    c: &mut Conn<'_>,
    clients: &[ClientId],
    now: Millis,
) -> Result<Vec<(ClientId, GroupRef)>> {
    if clients.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::for_backend(
        c.backend(),
        "SELECT gc.client_id, g.id, g.name FROM group_clients gc JOIN client_groups g ON g.id = gc.group_id
         WHERE (gc.valid_until IS NULL OR gc.valid_until > ",
    );
    sql.bind(now)
        .push(") AND gc.client_id IN ")
        .bind_list(clients.iter().map(|c| c.0))
        .push(" ORDER BY g.name_key, g.id");
    let (text, params) = sql.into_parts();
    let rows: Vec<(i64, i64, String)> =
        on!(c, c => bind_params!(sqlx::query_as::<_, (i64, i64, String)>(text), params).fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(client, id, name)| {
            (
                ClientId(client),
                GroupRef {
                    id: GroupId(id),
                    name,
                    kind: GroupKind::Clients,
                },
            )
        })
        .collect())
}

/// A page of a group's members ordered by name; `after` is the previous page's last (name_key, id).
pub async fn list(
    c: &mut Conn<'_>,
    group: GroupId,
    kind: GroupKind,
    after: (&str, i64),
    limit: i64,
    now: Millis,
) -> Result<Vec<(Member, String)>> {
    match kind {
        GroupKind::Clients => {
            #[derive(sqlx::FromRow)]
            struct Row {
                id: i64,
                name: String,
                name_key: String,
                external_ref: Option<String>,
                status: String,
                added_by: Option<i64>,
                added_at: i64,
                cause: String,
                valid_until: Option<i64>,
            }
            // A membership past its validity, or of a client whose required relationship ended,
            // is over even before the sweep deletes it.
            let rows = on!(c, c => sqlx::query_as::<_, Row>(
                "SELECT cl.id, cl.name, cl.name_key, cl.external_ref, cl.status, gc.added_by, gc.added_at, gc.cause, gc.valid_until
                 FROM group_clients gc JOIN clients cl ON cl.id = gc.client_id
                 JOIN organizations o ON o.id = gc.organization_id
                 WHERE gc.group_id = $1 AND (gc.valid_until IS NULL OR gc.valid_until > $5)
                   AND NOT (o.require_active_relationship
                            AND (cl.relationship = 'expired' OR cl.relationship_expires_at <= $5))
                   AND (cl.name_key > $2 OR (cl.name_key = $2 AND cl.id > $3))
                 ORDER BY cl.name_key, cl.id LIMIT $4")
                .bind(group.0).bind(after.0).bind(after.1).bind(limit).bind(now)
                .fetch_all(&mut **c).await)?;
            rows.into_iter()
                .map(|r| {
                    Ok((
                        Member::Client {
                            valid_until: r.valid_until,
                            id: ClientId(r.id),
                            name: r.name,
                            external_ref: r.external_ref,
                            status: ClientStatus::parse(&r.status)?,
                            added_by: r.added_by.map(StaffId),
                            added_at: r.added_at,
                            cause: r.cause,
                        },
                        r.name_key,
                    ))
                })
                .collect()
        }
        GroupKind::Groups => {
            #[derive(sqlx::FromRow)]
            struct Row {
                id: i64,
                name: String,
                name_key: String,
                kind: String,
                added_by: Option<i64>,
                added_at: i64,
                cause: String,
            }
            let rows = on!(c, c => sqlx::query_as::<_, Row>(
                "SELECT g.id, g.name, g.name_key, g.kind, gc.added_by, gc.added_at, gc.cause
                 FROM group_children gc JOIN client_groups g ON g.id = gc.child_id
                 WHERE gc.parent_id = $1 AND (g.name_key > $2 OR (g.name_key = $2 AND g.id > $3))
                 ORDER BY g.name_key, g.id LIMIT $4")
                .bind(group.0).bind(after.0).bind(after.1).bind(limit)
                .fetch_all(&mut **c).await)?;
            rows.into_iter()
                .map(|r| {
                    Ok((
                        Member::Group {
                            id: GroupId(r.id),
                            name: r.name,
                            kind: GroupKind::parse(&r.kind)?,
                            added_by: r.added_by.map(StaffId),
                            added_at: r.added_at,
                            cause: r.cause,
                        },
                        r.name_key,
                    ))
                })
                .collect()
        }
    }
}

/// Clients that are in more than one group of the organisation, with how many: they stop a switch
/// to exclusive membership.
pub async fn clients_in_several_groups(
    c: &mut Conn<'_>,
    org: OrganizationId,
    limit: i64,
) -> Result<Vec<(ClientId, String, i64)>> {
    let rows: Vec<(i64, String, i64)> = on!(c, c => sqlx::query_as(
        "SELECT cl.id, cl.name, COUNT(*) AS n FROM group_clients gc JOIN clients cl ON cl.id = gc.client_id
         WHERE gc.organization_id = $1 GROUP BY cl.id, cl.name HAVING COUNT(*) > 1 ORDER BY cl.id LIMIT $2")
        .bind(org.0).bind(limit).fetch_all(&mut **c).await)?;
    Ok(rows.into_iter().map(|(id, name, n)| (ClientId(id), name, n)).collect())
}

/// Fills or clears the exclusive-membership column for a whole organisation after a policy change.
pub async fn set_exclusive(c: &mut Conn<'_>, org: OrganizationId, exclusive: bool) -> Result<()> {
    if exclusive {
        on!(c, c => sqlx::query("UPDATE group_clients SET exclusive_client_id = client_id WHERE organization_id = $1")
            .bind(org.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    } else {
        on!(c, c => sqlx::query("UPDATE group_clients SET exclusive_client_id = NULL WHERE organization_id = $1")
            .bind(org.0).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Removes the client from every group it is in; returns those groups.
pub async fn remove_client_everywhere(c: &mut Conn<'_>, client: ClientId, now: Millis) -> Result<Vec<GroupId>> {
    let sql = format!("DELETE FROM group_clients WHERE client_id = $1 {REMOVED}");
    let removed: Vec<Removed> = on!(c, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(client.0).fetch_all(&mut **c).await)?;
    close_periods(c, &removed, now).await?;
    Ok(removed.iter().map(|r| GroupId(r.1)).collect())
}

/// Makes a client's membership end by itself at `until` (or never, with `None`). Returns false
/// when the client is not in the group.
pub async fn set_valid_until(
    c: &mut Conn<'_>,
    group: GroupId,
    client: ClientId,
    until: Option<Millis>,
) -> Result<bool> {
    let n = on!(c, c => sqlx::query("UPDATE group_clients SET valid_until = $3 WHERE group_id = $1 AND client_id = $2")
        .bind(group.0).bind(client.0).bind(until).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// When the client's membership in the group ends by itself: `None` when it is not a member,
/// `Some(None)` when it never ends.
pub async fn valid_until(c: &mut Conn<'_>, group: GroupId, client: ClientId) -> Result<Option<Option<Millis>>> {
    Ok(
        on!(c, c => sqlx::query_scalar("SELECT valid_until FROM group_clients WHERE group_id = $1 AND client_id = $2")
        .bind(group.0).bind(client.0).fetch_optional(&mut **c).await)?,
    )
}

/// Memberships whose validity ended by `now`: (organization, group, client), at most `limit`.
pub async fn lapsed(c: &mut Conn<'_>, now: Millis, limit: i64) -> Result<Vec<(OrganizationId, GroupId, ClientId)>> {
    let rows: Vec<(i64, i64, i64)> = on!(c, c => sqlx::query_as(
        "SELECT organization_id, group_id, client_id FROM group_clients WHERE valid_until IS NOT NULL AND valid_until <= $1
         ORDER BY valid_until LIMIT $2")
        .bind(now).bind(limit).fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(o, g, c)| (OrganizationId(o), GroupId(g), ClientId(c)))
        .collect())
}

/// The memberships of one client whose validity ended by `now`.
pub async fn lapsed_of_client(
    c: &mut Conn<'_>,
    client: ClientId,
    now: Millis,
) -> Result<Vec<(OrganizationId, GroupId, ClientId)>> {
    let rows: Vec<(i64, i64)> = on!(c, c => sqlx::query_as(
        "SELECT organization_id, group_id FROM group_clients WHERE client_id = $1 AND valid_until IS NOT NULL AND valid_until <= $2")
        .bind(client.0).bind(now).fetch_all(&mut **c).await)?;
    Ok(rows
        .into_iter()
        .map(|(o, g)| (OrganizationId(o), GroupId(g), client))
        .collect())
}
