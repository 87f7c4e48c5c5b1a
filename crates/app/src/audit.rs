//! Reading the audit trail, and the helper every use case writes it with.

use clientele_access::decide;
use clientele_domain::audit::{AuditEvent, Cause};
use clientele_domain::{ClientId, GroupId, Result, now_millis};
use clientele_store::Conn;
use clientele_store::audit::{self as store, AuditFilter, NewEvent};

use crate::paging::{self, Cursor, Page};
use crate::{Actor, App};

/// Records one change made by `actor` (or by the system when `actor` is `None`).
#[expect(
    clippy::too_many_arguments,
    reason = "an audit event has this many facets; named at every call site"
)]
pub(crate) async fn record(
    c: &mut Conn<'_>,
    org: clientele_domain::OrganizationId,
    actor: Option<&Actor>,
    action: &str,
    object: (&str, i64),
    group: Option<GroupId>,
    client: Option<ClientId>,
    cause: Cause,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    let event = NewEvent {
        organization_id: org,
        actor: actor.map(|a| a.staff_id),
        action,
        object_type: object.0,
        object_id: object.1,
        group,
        client,
        cause,
        before,
        after,
        request_id: actor.and_then(|a| a.request_id.as_deref()),
    };
    Ok(store::record(c, &event, now_millis()).await?)
}

impl App {
    /// The organisation's audit trail, newest first.
    pub async fn audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<AuditEvent>> {
        // Admins read the whole trail; staff read the timeline of a group or client they can see.
        if !actor.viewer().admin {
            let now = clientele_domain::now_millis();
            if filter.group.is_none() && filter.client.is_none() {
                actor.admin()?;
            }
            if let Some(group) = filter.group {
                decide::view_group(&self.access, actor.viewer(), group, now)?;
            }
            if let Some(client) = filter.client {
                decide::view_client(&self.access, actor.viewer(), client, now)?;
            }
        }
        let limit = paging::limit(limit)?;
        let cursor = Cursor::decode(cursor)?;
        let before = if cursor.id == 0 { i64::MAX } else { cursor.id };
        let mut conn = self.db.read().await?;
        let rows = store::list(&mut conn.conn(), actor.organization_id, filter, before, limit + 1).await?;
        let mut page = paging::page(rows, limit, |e| Cursor {
            key: String::new(),
            id: e.id.0,
        });
        if !actor.viewer().admin {
            // A client's timeline tells staff nothing about groups they cannot see: not that the
            // client joined or left one, not its id. (The page may come out shorter; its cursor
            // still leads on.)
            let now = clientele_domain::now_millis();
            page.items.retain(|e| {
                e.group_id.is_none_or(|g| {
                    decide::view_group(&self.access, actor.viewer(), clientele_domain::GroupId(g), now).is_ok()
                })
            });
        }
        Ok(page)
    }
}
