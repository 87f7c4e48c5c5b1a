//! The audit trail, written in the same transaction as the change it records.

use clientele_domain::audit::{AuditEvent, AuditFilter, Cause};
use clientele_domain::{AuditEventId, ClientId, GroupId, Millis, OrganizationId, StaffId};

use crate::sql::{Param, Sql};
use crate::{Conn, Result, bind_params, bulk, on};

/// A change to record. `object_type`/`object_id` name what changed; `group`/`client` index the
/// event for the group and client timelines.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub organization_id: OrganizationId,
    pub actor: Option<StaffId>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: i64,
    pub group: Option<GroupId>,
    pub client: Option<ClientId>,
    pub cause: Cause,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<&'a str>,
}

pub async fn record(c: &mut Conn<'_>, e: &NewEvent<'_>, now: Millis) -> Result<()> {
    on!(c, c => sqlx::query(
        "INSERT INTO audit_events (organization_id, at, actor_id, action, object_type, object_id, group_id, client_id,
            cause, before_json, after_json, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(e.organization_id.0).bind(now).bind(e.actor.map(|s| s.0)).bind(e.action).bind(e.object_type)
        .bind(e.object_id).bind(e.group.map(|g| g.0)).bind(e.client.map(|c| c.0)).bind(e.cause.as_str())
        .bind(e.before.as_ref().map(|v| v.to_string())).bind(e.after.as_ref().map(|v| v.to_string()))
        .bind(e.request_id)
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An event of a batch, its JSON already rendered (an import writes one per row).
#[derive(Debug, Clone)]
pub struct EventRow {
    pub organization_id: OrganizationId,
    pub actor: Option<StaffId>,
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: i64,
    pub group: Option<GroupId>,
    pub client: Option<ClientId>,
    pub cause: Cause,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// Records many events in a few multi-row statements, in the order given, all at `now` and with
/// one request id.
pub async fn record_many(c: &mut Conn<'_>, events: Vec<EventRow>, request_id: Option<&str>, now: Millis) -> Result<()> {
    let mut values = Vec::with_capacity(events.len() * 12);
    for e in events {
        values.extend([
            Param::I64(e.organization_id.0),
            Param::I64(now),
            Param::OptI64(e.actor.map(|s| s.0)),
            Param::Static(e.action),
            Param::Static(e.object_type),
            Param::I64(e.object_id),
            Param::OptI64(e.group.map(|g| g.0)),
            Param::OptI64(e.client.map(|c| c.0)),
            Param::Static(e.cause.as_str()),
            Param::OptText(e.before_json),
            Param::OptText(e.after_json),
            Param::OptText(request_id.map(str::to_string)),
        ]);
    }
    bulk::insert_flat(
        c,
        "audit_events",
        &[
            "organization_id",
            "at",
            "actor_id",
            "action",
            "object_type",
            "object_id",
            "group_id",
            "client_id",
            "cause",
            "before_json",
            "after_json",
            "request_id",
        ],
        values,
        "",
    )
    .await?;
    Ok(())
}

/// Newest first; `before` is the id of the last event of the previous page.
pub async fn list(
    c: &mut Conn<'_>,
    org: OrganizationId,
    filter: &AuditFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        at: i64,
        actor_id: Option<i64>,
        action: String,
        object_type: String,
        object_id: i64,
        group_id: Option<i64>,
        client_id: Option<i64>,
        cause: String,
        before_json: Option<String>,
        after_json: Option<String>,
        request_id: Option<String>,
    }
    let mut sql = Sql::new(
        "SELECT id, at, actor_id, action, object_type, object_id, group_id, client_id, cause, before_json, after_json, request_id
         FROM audit_events WHERE organization_id = ",
    );
    sql.bind(org.0).push(" AND id < ").bind(before);
    if let Some(group) = filter.group {
        sql.push(" AND group_id = ").bind(group.0);
    }
    if let Some(client) = filter.client {
        sql.push(" AND client_id = ").bind(client.0);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    let (text, params) = sql.into_parts();
    let rows = on!(c, c => bind_params!(sqlx::query_as::<_, Row>(text), params).fetch_all(&mut **c).await)?;
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(rows
        .into_iter()
        .map(|r| AuditEvent {
            id: AuditEventId(r.id),
            at: clientele_domain::from_millis(r.at),
            actor: r.actor_id.map(StaffId),
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            group_id: r.group_id,
            client_id: r.client_id,
            cause: Cause::parse(&r.cause).unwrap_or(Cause::Manual),
            before: json(r.before_json),
            after: json(r.after_json),
            request_id: r.request_id,
        })
        .collect())
}
