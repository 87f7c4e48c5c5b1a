//! Assignments (seeds 003, 004): staff put in charge of a group with a role. Only admins assign;
//! admins themselves are never assigned, since they already see every client.

use clientele_access::{AccessRole, Change, decide};
use clientele_domain::audit::Cause;
use clientele_domain::entities::rfc3339_millis;
use clientele_domain::{Error, ErrorCode, GroupId, Millis, OrganizationId, Result, StaffId};
use clientele_store::{assignments as store, groups, staff as staff_store};
use serde::Serialize;

use crate::{Actor, Admin, App, access, audit};

/// A staff member's assignment to a group.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub staff_id: StaffId,
    pub staff_name: String,
    pub staff_email: String,
    pub group_id: GroupId,
    pub group_name: String,
    pub role: AccessRole,
    /// When the access ends by itself; absent for no end.
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Millis>,
    pub assigned_by: Option<StaffId>,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub assigned_at: Millis,
}

impl TryFrom<store::Row> for Assignment {
    type Error = Error;
    fn try_from(r: store::Row) -> Result<Assignment> {
        Ok(Assignment {
            staff_id: StaffId(r.staff_id),
            staff_name: r.staff_name,
            staff_email: r.staff_email,
            group_id: GroupId(r.group_id),
            group_name: r.group_name,
            role: AccessRole::parse(&r.role).ok_or_else(|| Error::internal(format!("unknown role {}", r.role)))?,
            valid_until: r.valid_until,
            assigned_by: r.assigned_by.map(StaffId),
            assigned_at: r.assigned_at,
        })
    }
}

impl App {
    /// Assigns a staff member to a group with a role (or changes the role or validity).
    pub async fn assign(
        &self,
        admin: Admin<'_>,
        group: GroupId,
        staff: StaffId,
        role: AccessRole,
        valid_until: Option<Millis>,
    ) -> Result<Assignment> {
        crate::retry_conflicts(|| self.assign_once(admin, group, staff, role, valid_until)).await
    }

    async fn assign_once(
        &self,
        admin: Admin<'_>,
        group: GroupId,
        staff: StaffId,
        role: AccessRole,
        valid_until: Option<Millis>,
    ) -> Result<Assignment> {
        let actor = admin.actor();
        let now = self.clock.now();
        if valid_until.is_some_and(|u| u <= now) {
            return Err(Error::invalid("valid_until", "must be in the future"));
        }
        let mut tx = self.begin().await?;
        let org = actor.organization_id;
        groups::get(&mut tx.conn(), org, group).await?;
        // A deactivation at the same moment waits for this, or this sees it.
        tx.conn().lock(clientele_store::Locked::Staff, staff.0).await?;
        let person = staff_store::get(&mut tx.conn(), org, staff).await?;
        if !person.active {
            return Err(
                Error::new(ErrorCode::Conflict, format!("{} is deactivated", person.email)).with_field("staff_id"),
            );
        }
        let new = store::NewAssignment {
            org,
            staff,
            group,
            role: role.as_str(),
            valid_until,
            by: actor.staff_id,
            at: now,
        };
        let before = store::upsert(&mut tx.conn(), &new).await?;
        let after =
            serde_json::json!({ "staff_id": staff, "group_id": group, "role": role, "valid_until": valid_until });
        let action = if before.is_some() {
            "assignment.changed"
        } else {
            "assignment.created"
        };
        audit::Event {
            org,
            actor: Some(actor),
            action,
            object: ("assignment", staff.0),
            group: Some(group),
            client: None,
            cause: Cause::Manual,
            before: before.map(|role| serde_json::json!({ "staff_id": staff, "group_id": group, "role": role })),
            after: Some(after),
        }
        .record(&mut tx.conn())
        .await?;
        access::record(
            &mut tx.conn(),
            &[Change::Assigned {
                org,
                staff,
                group,
                role,
                valid_until,
            }],
        )
        .await?;
        let assignment = store::for_group(&mut tx.conn(), group)
            .await?
            .into_iter()
            .find(|r| r.staff_id == staff.0)
            .ok_or_else(|| Error::internal("assignment vanished"))?;
        self.commit(tx).await?;
        assignment.try_into()
    }

    /// Ends an assignment.
    pub async fn unassign(&self, admin: Admin<'_>, group: GroupId, staff: StaffId) -> Result<()> {
        crate::retry_conflicts(|| self.unassign_once(admin, group, staff)).await
    }

    async fn unassign_once(&self, admin: Admin<'_>, group: GroupId, staff: StaffId) -> Result<()> {
        let actor = admin.actor();
        let org = actor.organization_id;
        let mut tx = self.begin().await?;
        groups::get(&mut tx.conn(), org, group).await?;
        if !store::delete(&mut tx.conn(), staff, group).await? {
            return Err(Error::not_found("assignment"));
        }
        audit::Event {
            org,
            actor: Some(actor),
            action: "assignment.removed",
            object: ("assignment", staff.0),
            group: Some(group),
            client: None,
            cause: Cause::Manual,
            before: Some(serde_json::json!({ "staff_id": staff, "group_id": group })),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
        access::record(&mut tx.conn(), &[Change::Unassigned { org, staff, group }]).await?;
        self.commit(tx).await
    }

    /// The staff assigned to a group (seed 003's "Account managers in group").
    pub async fn group_staff(&self, actor: &Actor, group: GroupId) -> Result<Vec<Assignment>> {
        decide::view_group(&self.access, actor.viewer(), group, self.clock.now())?;
        let mut conn = self.db.read().await?;
        groups::get(&mut conn.conn(), actor.organization_id, group).await?;
        store::for_group(&mut conn.conn(), group)
            .await?
            .into_iter()
            .map(Assignment::try_from)
            .collect()
    }

    /// The groups a staff member is assigned to (admins, or the staff member themself).
    pub async fn staff_assignments(&self, actor: &Actor, staff: StaffId) -> Result<Vec<Assignment>> {
        if staff != actor.staff_id {
            actor.admin()?;
        }
        let mut conn = self.db.read().await?;
        staff_store::get(&mut conn.conn(), actor.organization_id, staff).await?;
        store::for_staff(&mut conn.conn(), staff)
            .await?
            .into_iter()
            .map(Assignment::try_from)
            .collect()
    }

    /// Ends the assignments whose validity has passed, so the audit trail says when access ended.
    /// (The index already stops granting at that instant; this makes it durable.)
    pub async fn sweep_lapsed_assignments(&self) -> Result<usize> {
        let mut ended = 0;
        loop {
            let mut tx = self.begin().await?;
            let batch = store::lapsed(&mut tx.conn(), self.clock.now(), 500).await?;
            if batch.is_empty() {
                return Ok(ended);
            }
            let mut changes = Vec::with_capacity(batch.len());
            for (org, staff, group) in batch {
                let (org, staff, group) = (OrganizationId(org), StaffId(staff), GroupId(group));
                store::delete(&mut tx.conn(), staff, group).await?;
                audit::Event {
                    org,
                    actor: None,
                    action: "assignment.removed",
                    object: ("assignment", staff.0),
                    group: Some(group),
                    client: None,
                    cause: Cause::ValidityEnded,
                    before: Some(serde_json::json!({ "staff_id": staff, "group_id": group })),
                    after: None,
                }
                .record(&mut tx.conn())
                .await?;
                changes.push(Change::Unassigned { org, staff, group });
                ended += 1;
            }
            access::record(&mut tx.conn(), &changes).await?;
            self.commit(tx).await?;
        }
    }
}
