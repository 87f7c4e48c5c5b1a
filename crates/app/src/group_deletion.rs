//! Deleting a group (seeds 001, 002, 004): the rules once more under the group's lock, members
//! detached under `detach_members`, assignments ended, a tombstone kept. A group with more members
//! than a request may detach while its caller waits is deleted by a `delete_group` process
//! request instead: `bulk::worker` detaches its members batch by batch and calls
//! [`finish_deletion`] in the transaction that completes it.

use clientele_access::Change;
use clientele_domain::audit::Cause;
use clientele_domain::entities::{ClientGroup, GroupDetail, Organization};
use clientele_domain::policy::DeletePolicy;
use clientele_domain::{ClientId, Error, ErrorCode, GroupId, OrganizationId, Result};
use clientele_store::groups as store;
use clientele_store::{Locked, Tx, assignments, members as member_store, organizations};

use crate::groups::{detail, detail_with};
use crate::members::MemberRef;
use crate::process_requests::{ProcessRequest, SMALL};
use crate::{Actor, Admin, App, access, audit, check_version};

impl App {
    /// Deletes a group if the policies allow it, detaching members under `detach_members`; the
    /// clients themselves are never deleted. Refusals carry the blockers. A group with more than
    /// [`SMALL`] members to detach is deleted by a `delete_group` process request instead
    /// (seed 004: "updates to groups of this size may take more time"), which detaches them batch
    /// by batch and then deletes the group; until then the group shows the blocker
    /// `being_deleted`.
    pub async fn delete_group(&self, admin: Admin<'_>, id: GroupId, if_match: Option<i64>) -> Result<Deletion> {
        crate::retry_conflicts(|| self.delete_group_once(admin, id, if_match)).await
    }

    async fn delete_group_once(&self, admin: Admin<'_>, id: GroupId, if_match: Option<i64>) -> Result<Deletion> {
        let actor = admin.actor();
        let mut tx = self.begin().await?;
        let org = organizations::get_locked(&mut tx.conn(), actor.organization_id, true).await?;
        tx.conn().lock(Locked::Group, id.0).await?;
        let group = store::get(&mut tx.conn(), org.id, id).await?;
        check_version(if_match, group.version)?;
        let info = detail(&mut tx.conn(), &org.policies, group.clone()).await?;
        refuse_blocked(&info)?;
        if org.policies.delete_policy == DeletePolicy::DetachMembers && group.member_count > SMALL {
            drop(tx);
            let request = self.queue_group_deletion(admin, &group).await?;
            return Ok(Deletion::Queued(Box::new(request)));
        }
        let mut changes = Vec::new();
        delete_in(&mut tx, &org, actor, &group, &mut changes, self.clock.now()).await?;
        access::record(&mut tx.conn(), &changes).await?;
        self.commit(tx).await?;
        Ok(Deletion::Deleted)
    }

    /// The process request that deletes a large group: its current members as rows to detach,
    /// then the group itself (`groups::finish_deletion`).
    async fn queue_group_deletion(
        &self,
        admin: Admin<'_>,
        group: &clientele_domain::entities::ClientGroup,
    ) -> Result<ProcessRequest> {
        let (clients, children) = {
            let mut conn = self.db.read().await?;
            clientele_store::process_requests::member_ids(&mut conn.conn(), group.id.0).await?
        };
        let items: Vec<MemberRef> = clients
            .into_iter()
            .map(|c| MemberRef::Client(ClientId(c)))
            .chain(children.into_iter().map(|g| MemberRef::Group(GroupId(g))))
            .collect();
        self.queue_members(admin, "delete_group", group.id, &items).await
    }
}

/// What deleting a group came to.
#[derive(Debug, Clone)]
pub enum Deletion {
    /// Gone, with its memberships detached, in one transaction.
    Deleted,
    /// Too many members to detach while the caller waits: a `delete_group` process request does
    /// it, then deletes the group.
    Queued(Box<ProcessRequest>),
}

fn refuse_blocked(info: &GroupDetail) -> Result<()> {
    if info.deletable {
        return Ok(());
    }
    let reasons: Vec<&str> = info.delete_blockers.iter().map(|b| b.message.as_str()).collect();
    Err(Error::new(
        ErrorCode::NotDeletable,
        format!("\"{}\" cannot be deleted: {}", info.group.name, reasons.join(" ")),
    )
    .with_extra(serde_json::json!({ "delete_blockers": info.delete_blockers })))
}

/// The last step of a `delete_group` process request, in its finishing transaction: the rules
/// once more (a group protected meanwhile stays), then the deletion with whatever members joined
/// since the request began.
pub(crate) async fn finish_deletion(
    tx: &mut Tx,
    org: OrganizationId,
    actor: &Actor,
    id: GroupId,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<()> {
    let org = organizations::get_locked(&mut tx.conn(), org, true).await?;
    let group = store::get(&mut tx.conn(), org.id, id).await?;
    // The request itself is not a reason to refuse.
    let info = detail_with(&mut tx.conn(), &org.policies, group.clone(), None).await?;
    refuse_blocked(&info)?;
    delete_in(tx, &org, actor, &group, changes, now).await
}

/// Deletes a group whose rules were checked: detaches its members under `detach_members`, ends
/// its staff assignments, marks it deleted, audits it.
async fn delete_in(
    tx: &mut Tx,
    org: &Organization,
    actor: &Actor,
    group: &ClientGroup,
    changes: &mut Vec<Change>,
    now: clientele_domain::Millis,
) -> Result<()> {
    let id = group.id;
    if org.policies.delete_policy == DeletePolicy::DetachMembers {
        detach_members(tx, org.id, actor, group, now).await?;
    }
    // Staff in charge of the group lose that charge with it.
    for staff in assignments::delete_for_group(&mut tx.conn(), id).await? {
        audit::Event {
            org: org.id,
            actor: Some(actor),
            action: "assignment.removed",
            object: ("assignment", staff.0),
            group: Some(id),
            client: None,
            cause: Cause::GroupDeleted,
            before: Some(serde_json::json!({ "staff_id": staff, "group_id": id })),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
    }
    store::soft_delete(
        &mut tx.conn(),
        org.id,
        id,
        org.policies.reserve_deleted_names,
        actor.staff_id,
        now,
    )
    .await?;
    audit::Event {
        org: org.id,
        actor: Some(actor),
        action: "group.deleted",
        object: ("group", id.0),
        group: Some(id),
        client: None,
        cause: Cause::Manual,
        before: serde_json::to_value(group).ok(),
        after: None,
    }
    .record(&mut tx.conn())
    .await?;
    changes.push(Change::GroupDeleted { org: org.id, group: id });
    Ok(())
}

async fn detach_members(
    tx: &mut Tx,
    org: OrganizationId,
    actor: &Actor,
    group: &ClientGroup,
    now: clientele_domain::Millis,
) -> Result<()> {
    let (clients, children, parents) = member_store::detach_all(&mut tx.conn(), group.id, now).await?;
    for client in clients {
        audit::Event {
            org,
            actor: Some(actor),
            action: "membership.removed",
            object: ("membership", client.0),
            group: Some(group.id),
            client: Some(client),
            cause: Cause::GroupDeleted,
            before: Some(serde_json::json!({ "group_id": group.id, "member": MemberRef::Client(client) })),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
    }
    for child in children {
        audit::Event {
            org,
            actor: Some(actor),
            action: "membership.removed",
            object: ("nesting", child.0),
            group: Some(group.id),
            client: None,
            cause: Cause::GroupDeleted,
            before: Some(serde_json::json!({ "group_id": group.id, "member": MemberRef::Group(child) })),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
    }
    for parent in parents {
        store::touch(&mut tx.conn(), parent, -1, Some(actor.staff_id), now).await?;
        audit::Event {
            org,
            actor: Some(actor),
            action: "membership.removed",
            object: ("nesting", group.id.0),
            group: Some(parent),
            client: None,
            cause: Cause::GroupDeleted,
            before: Some(serde_json::json!({ "group_id": parent, "member": MemberRef::Group(group.id) })),
            after: None,
        }
        .record(&mut tx.conn())
        .await?;
    }
    Ok(())
}
