//! Reading the audit trail, and the helper every use case writes it with.

use clientele_access::decide;
use clientele_domain::audit::AuditFilter;
use clientele_domain::audit::{AuditEvent, Cause};
use clientele_domain::{ClientId, GroupId, Result};
use clientele_store::Conn;
use clientele_store::audit::{self as store, NewEvent};

use crate::paging::{self, Cursor, Page};
use crate::{Actor, App};

/// One change for the audit trail, each facet named where it is recorded.
pub(crate) struct Event<'a> {
    pub org: clientele_domain::OrganizationId,
    /// Who made the change; `None` for the system (a sweep, a worker acting on its own).
    pub actor: Option<&'a Actor>,
    /// What happened, `noun.verb` (`group.created`, `membership.removed`).
    pub action: &'a str,
    /// The object changed: its type and id.
    pub object: (&'a str, i64),
    /// The group the change is about, for a group's timeline.
    pub group: Option<GroupId>,
    /// The client the change is about, for a client's timeline.
    pub client: Option<ClientId>,
    pub cause: Cause,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Event<'_> {
    /// Writes the event in the caller's transaction, with the request id of its actor.
    pub(crate) async fn record(self, c: &mut Conn<'_>) -> Result<()> {
        let event = NewEvent {
            organization_id: self.org,
            actor: self.actor.map(|a| a.staff_id),
            action: self.action,
            object_type: self.object.0,
            object_id: self.object.1,
            group: self.group,
            client: self.client,
            cause: self.cause,
            before: self.before,
            after: self.after,
            request_id: self.actor.and_then(|a| a.request_id.as_deref()),
        };
        // The trail records when a change was written, by the system clock; no rule reads it back.
        Ok(store::record(c, &event, clientele_domain::now_millis()).await?)
    }
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
            let now = self.clock.now();
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
            let now = self.clock.now();
            page.items.retain(|e| {
                e.group_id.is_none_or(|g| {
                    decide::view_group(&self.access, actor.viewer(), clientele_domain::GroupId(g), now).is_ok()
                })
            });
        }
        Ok(page)
    }
}
